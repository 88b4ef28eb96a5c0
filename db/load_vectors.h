// Internal to db/: the vectors a bulk load has written to the store and not yet inserted into
// their HNSW indexes (docs/data-format.md, "How a load is executed"). The loader puts every
// vector it applies here and inserts them in batches on every core (VectorIndex::UpsertBatch):
// after each chunk when other writers may interleave, or all at the end (in slices, with
// progress) when the load holds the writer role throughout -- one bulk build, as fast as
// hnswlib's own multi-threaded build, instead of thousands of small ones between chunks.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <span>
#include <unordered_map>
#include <vector>

#include "db/staged_write.h"
#include "vector/vector.h"

namespace pathwise {

class LoadVectors {
 public:
  // Holds values as node's vector in space, replacing what it held for node.
  void Put(SpaceId space, NodeId node, std::span<const float> values);
  // Forgets what it held for node and removes node's vector from index (which may be null).
  Status Remove(SpaceId space, NodeId node, vector::VectorIndex* index);

  size_t count() const { return count_; }
  size_t bytes() const { return bytes_; }  // roughly, what holding them costs in memory
  // Whether a vector exists for the nodes it holds (always true), for staging: lines staged
  // while vectors wait here see them as existing (StagingView::pending).
  const Overlay& overlay() const { return overlay_; }

  // Inserts everything held into the indexes of vectors, at most slice vectors per UpsertBatch,
  // calling done(inserted so far) after each; then holds nothing. Internal when an index is
  // missing or rejects a vector (they were validated when staged).
  Status Insert(vector::VectorSet* vectors, int threads, size_t slice,
                const std::function<void(size_t)>& done);

 private:
  struct Space {
    std::vector<NodeId> nodes;
    std::vector<float> values;  // nodes.size() rows of dim values
    std::unordered_map<NodeId, size_t> rows;
    size_t dim = 0;
  };

  std::map<SpaceId, Space> spaces_;
  Overlay overlay_;  // only overlay_.vectors is used
  size_t count_ = 0;
  size_t bytes_ = 0;
};

}  // namespace pathwise
