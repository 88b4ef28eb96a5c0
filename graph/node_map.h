// graph/: an open-addressing hash map NodeId -> uint32_t (and a set on top of it), for
// candidate tables, per-query node sets and the visit tallies of walks (graph/walks.h). No
// per-entry allocation; linear probing over a power-of-two table that doubles at 50% load.
#pragma once

#include <cstdint>
#include <vector>

#include "storage/schema.h"

namespace pathwise::graph {

class NodeIndexMap {
 public:
  static constexpr uint32_t kMissing = UINT32_MAX;

  explicit NodeIndexMap(size_t expected = 16) { Reset(expected); }

  // Clears the map and sizes it for `expected` entries.
  void Reset(size_t expected) {
    size_t cap = 16;
    while (cap < expected * 2) cap <<= 1;
    keys_.assign(cap, kInvalidNode);
    values_.assign(cap, kMissing);
    size_ = 0;
  }

  size_t size() const { return size_; }

  uint32_t Find(NodeId key) const {
    size_t mask = keys_.size() - 1;
    for (size_t i = Hash(key) & mask;; i = (i + 1) & mask) {
      if (keys_[i] == key) return values_[i];
      if (keys_[i] == kInvalidNode) return kMissing;
    }
  }

  // Returns the value for key, inserting `value` first when absent; *inserted says which.
  uint32_t FindOrInsert(NodeId key, uint32_t value, bool* inserted) {
    if ((size_ + 1) * 2 > keys_.size()) Grow();
    size_t mask = keys_.size() - 1;
    for (size_t i = Hash(key) & mask;; i = (i + 1) & mask) {
      if (keys_[i] == key) {
        *inserted = false;
        return values_[i];
      }
      if (keys_[i] == kInvalidNode) {
        keys_[i] = key;
        values_[i] = value;
        ++size_;
        *inserted = true;
        return value;
      }
    }
  }

 private:
  static size_t Hash(NodeId key) {
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    return static_cast<size_t>(h >> 32);
  }
  void Grow() {
    std::vector<NodeId> keys = std::move(keys_);
    std::vector<uint32_t> values = std::move(values_);
    keys_.assign(keys.size() * 2, kInvalidNode);
    values_.assign(keys.size() * 2, kMissing);
    size_ = 0;
    bool inserted;
    for (size_t i = 0; i < keys.size(); ++i) {
      if (keys[i] != kInvalidNode) FindOrInsert(keys[i], values[i], &inserted);
    }
  }

  std::vector<NodeId> keys_;
  std::vector<uint32_t> values_;
  size_t size_ = 0;
};

class NodeSet {
 public:
  bool Insert(NodeId id) {
    bool inserted;
    map_.FindOrInsert(id, 0, &inserted);
    return inserted;
  }
  bool Contains(NodeId id) const { return map_.Find(id) != NodeIndexMap::kMissing; }
  size_t size() const { return map_.size(); }

 private:
  NodeIndexMap map_;
};

}  // namespace pathwise::graph
