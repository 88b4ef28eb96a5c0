// Internal to storage/: the representation of a WriteBatch and the column family numbering.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "storage/storage.h"

namespace rocksdb {
class WriteBatch;
}

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
  // One operation; its key and value bytes are in `blocks`, back to back.
  struct Op {
    const char* data;
    size_t key_size;
    size_t value_size;
    Cf cf;
    BatchOp op;
    std::string_view key() const { return {data, key_size}; }
    std::string_view value() const { return {data + key_size, value_size}; }
  };
  std::vector<Op> ops;
  size_t bytes = 0;
  // RocksDB's form of ops, built ahead by Store::Prepare for the store `prepared_by`; dropped by
  // any change to ops. (The deleter is defined in store.cc, which includes RocksDB.)
  struct PreparedDeleter {
    void operator()(rocksdb::WriteBatch* wb) const;
  };
  std::unique_ptr<rocksdb::WriteBatch, PreparedDeleter> prepared;
  const Store* prepared_by = nullptr;

  void Add(Cf cf, BatchOp op, std::string_view key, std::string_view value);
  // Drops the operations from index `count` on, and their bytes.
  void Truncate(size_t count);
  void Clear();

 private:
  // The operations' bytes, in blocks filled in order and never moved (an Op points into them):
  // an operation costs its bytes and 40 bytes, not two strings of 32 bytes and their heap copies.
  struct Block {
    std::unique_ptr<char[]> data;
    size_t capacity = 0;
  };
  static constexpr size_t kFirstBlock = 4u << 10, kMaxBlock = 1u << 20;
  char* Allocate(size_t n);

  std::vector<Block> blocks_;
  size_t used_ = 0;  // bytes used in blocks_.back()
};

}  // namespace pathwise::storage
