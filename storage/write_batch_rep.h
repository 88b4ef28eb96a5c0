// Internal to storage/: the representation of a WriteBatch and the column family numbering.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "storage/storage.h"

namespace pathwise::storage {

// Column families, in the order they are opened (index into Store's handle array).
enum class Cf : uint8_t {
  kMeta = 0,
  kNodes,
  kNodeIds,
  kEdges,
  kRedges,
  kVectors,
  kDirtyVectors,
  kImpressions,
  kEvents,
  kCount,
};

inline const char* CfName(Cf cf) {
  static const char* const kNames[] = {"meta",   "nodes",   "node_ids",     "edges",
                                       "redges", "vectors", "dirty_vectors", "impressions",
                                       "events"};
  return kNames[static_cast<int>(cf)];
}

enum class BatchOp : uint8_t { kPut, kDelete };

struct WriteBatch::Rep {
  struct Op {
    Cf cf;
    BatchOp op;
    std::string key;
    std::string value;
  };
  std::vector<Op> ops;
  size_t bytes = 0;

  void Add(Cf cf, BatchOp op, std::string key, std::string value) {
    bytes += key.size() + value.size() + 8;
    ops.push_back(Op{cf, op, std::move(key), std::move(value)});
  }
};

}  // namespace pathwise::storage
