// graph/: an open-addressing hash map NodeId -> uint32_t (and a set on top of it), for
// candidate tables, per-query node sets, the visit tallies of walks (graph/walks.h) and the
// position index of large adjacency lists. No per-entry allocation; linear probing over a
// power-of-two table of (key, value) slots that doubles at 50% load; erasing shifts back.
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
    slots_.assign(cap, Slot{});
    size_ = 0;
  }

  size_t size() const { return size_; }
  // Bytes of the table (not counting the object itself).
  size_t MemoryBytes() const { return slots_.capacity() * sizeof(Slot); }

  uint32_t Find(NodeId key) const {
    size_t mask = slots_.size() - 1;
    for (size_t i = Hash(key) & mask;; i = (i + 1) & mask) {
      if (slots_[i].key == key) return slots_[i].value;
      if (slots_[i].key == kInvalidNode) return kMissing;
    }
  }

  // Returns the value for key, inserting `value` first when absent; *inserted says which.
  uint32_t FindOrInsert(NodeId key, uint32_t value, bool* inserted) {
    if ((size_ + 1) * 2 > slots_.size()) Grow();
    Slot& slot = slots_[Probe(key)];
    *inserted = slot.key == kInvalidNode;
    if (*inserted) {
      slot = Slot{key, value};
      ++size_;
    }
    return slot.value;
  }

  // Inserts key with value, or overwrites its value.
  void Set(NodeId key, uint32_t value) {
    if ((size_ + 1) * 2 > slots_.size()) Grow();
    Slot& slot = slots_[Probe(key)];
    if (slot.key == kInvalidNode) ++size_;
    slot = Slot{key, value};
  }

  // Removes key; true when it was there. Later entries of its probe run move back (no
  // tombstones), so lookups stay as short as if key had never been inserted.
  bool Erase(NodeId key) {
    size_t mask = slots_.size() - 1;
    size_t hole = Probe(key);
    if (slots_[hole].key == kInvalidNode) return false;
    for (size_t i = (hole + 1) & mask; slots_[i].key != kInvalidNode; i = (i + 1) & mask) {
      size_t home = Hash(slots_[i].key) & mask;
      // slots_[i] may fill the hole unless its home lies cyclically in (hole, i].
      bool home_after_hole = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
      if (!home_after_hole) {
        slots_[hole] = slots_[i];
        hole = i;
      }
    }
    slots_[hole] = Slot{};
    --size_;
    return true;
  }

 private:
  // Key and value side by side: a lookup reads one cache line.
  struct Slot {
    NodeId key = kInvalidNode;
    uint32_t value = kMissing;
  };

  static size_t Hash(NodeId key) {
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    return static_cast<size_t>(h >> 32);
  }
  // The slot holding key, or the empty slot that ends its probe run.
  size_t Probe(NodeId key) const {
    size_t mask = slots_.size() - 1;
    size_t i = Hash(key) & mask;
    while (slots_[i].key != key && slots_[i].key != kInvalidNode) i = (i + 1) & mask;
    return i;
  }
  void Grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.size() * 2, Slot{});
    size_t mask = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.key == kInvalidNode) continue;
      size_t i = Hash(s.key) & mask;
      while (slots_[i].key != kInvalidNode) i = (i + 1) & mask;
      slots_[i] = s;
    }
  }

  std::vector<Slot> slots_;
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
