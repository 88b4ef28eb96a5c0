#include "db/load_vectors.h"

#include <algorithm>
#include <string>

namespace pathwise {

namespace {

// Per held vector beyond its values: the node id, the row map and the overlay entry.
constexpr size_t kBytesPerEntry = 96;

}  // namespace

void LoadVectors::Put(SpaceId space, NodeId node, std::span<const float> values) {
  Space& s = spaces_[space];
  s.dim = values.size();
  auto [it, added] = s.rows.try_emplace(node, s.nodes.size());
  if (added) {
    s.nodes.push_back(node);
    s.values.insert(s.values.end(), values.begin(), values.end());
    ++count_;
    bytes_ += values.size() * sizeof(float) + kBytesPerEntry;
  } else {
    std::copy(values.begin(), values.end(), s.values.begin() + it->second * s.dim);
  }
  overlay_.vectors[{space, node}] = true;
}

Status LoadVectors::Remove(SpaceId space, NodeId node, vector::VectorIndex* index) {
  overlay_.vectors.erase({space, node});
  auto held = spaces_.find(space);
  if (held != spaces_.end()) {
    Space& s = held->second;
    if (auto it = s.rows.find(node); it != s.rows.end()) {
      // The last row takes the removed row's place.
      const size_t row = it->second, last = s.nodes.size() - 1;
      s.rows.erase(it);
      if (row != last) {
        s.nodes[row] = s.nodes[last];
        std::copy_n(s.values.begin() + last * s.dim, s.dim, s.values.begin() + row * s.dim);
        s.rows[s.nodes[row]] = row;
      }
      s.nodes.pop_back();
      s.values.resize(last * s.dim);
      --count_;
      bytes_ -= s.dim * sizeof(float) + kBytesPerEntry;
    }
  }
  return index == nullptr ? Status::OK() : index->Remove(node);
}

Status LoadVectors::Insert(vector::VectorSet* vectors, int threads, size_t slice,
                           const std::function<void(size_t)>& done) {
  slice = std::max<size_t>(slice, 1);
  size_t inserted = 0;
  for (auto& [space, s] : spaces_) {
    vector::VectorIndex* index = vectors->Get(space);
    if (index == nullptr) return Status::Internal("no index for vector space " + std::to_string(space));
    for (size_t at = 0; at < s.nodes.size(); at += slice) {
      const size_t n = std::min(slice, s.nodes.size() - at);
      Status st = index->UpsertBatch(std::span<const NodeId>(s.nodes).subspan(at, n),
                                     std::span<const float>(s.values).subspan(at * s.dim, n * s.dim),
                                     threads);
      if (!st.ok()) return Status::Internal("bulk vector insert failed: " + st.ToString());
      inserted += n;
      if (done) done(inserted);
    }
  }
  spaces_.clear();
  overlay_.vectors.clear();
  count_ = bytes_ = 0;
  return Status::OK();
}

}  // namespace pathwise
