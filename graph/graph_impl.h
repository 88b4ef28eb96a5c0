// Internal to graph/: the layout behind Graph (see docs/architecture-serving.md).
//
// Nodes live in fixed-size chunks reached through a preallocated directory, so growing the id
// space never moves a node that a concurrent reader is looking at. Each node slot holds its type,
// key, interned properties and one contiguous adjacency list per (edge type, direction). Lists of
// at least kIndexThreshold entries carry a side hash index dst -> position, so replacing an edge
// of a 10k-degree node costs O(1) instead of a scan. Every list of two or more entries also keeps
// its positions in rank order (weight desc, ts desc, node asc), maintained on each write, so the
// top-N of a list is a prefix of that order. A list's arrays are ListArrays: after an open from a
// topology snapshot they borrow from the one block that holds every list read from the file
// (Impl::image) until their first change.
//
// Change stamps (for the walks' relation snapshots, graph/relation_snapshot.h): every change to a
// node's lists takes the next value of topo_version while the node's stripe is held, and stamps
// it on the node and on the edge type's bucket, so a snapshot built at version V knows that a
// node stamped <= V is exactly as it copied it.
#pragma once

#include <array>
#include <atomic>
#include <limits>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "graph/graph.h"
#include "graph/list_array.h"
#include "graph/node_map.h"
#include "graph/rw_spinlock.h"

namespace pathwise::graph {

// Lists at least this long keep a dst -> position index (measured in docs/architecture-serving.md).
constexpr size_t kIndexThreshold = 64;

// The rank order of TopNeighbors: weight descending (NaN last), then most recent first, then
// node id ascending. A strict total order over the entries of one list (node ids are unique in
// a list), so an entry's rank position is found by binary search on its own value.
inline bool RanksBefore(const Neighbor& a, const Neighbor& b) {
  // NaN compares false with everything; map it below every number so the order stays total.
  float wa = a.weight == a.weight ? a.weight : -std::numeric_limits<float>::infinity();
  float wb = b.weight == b.weight ? b.weight : -std::numeric_limits<float>::infinity();
  if (wa != wb) return wa > wb;
  if (a.ts != b.ts) return a.ts > b.ts;
  return a.node < b.node;
}

struct AdjList {
  TypeId type = kInvalidType;
  Direction dir = Direction::kOut;
  ListArray<Neighbor> items;  // insertion order
  // Positions into items in rank order (RanksBefore). Kept when items has >= 2 entries and
  // empty otherwise (a single entry is its own order; saves an allocation per 1-entry list).
  ListArray<uint32_t> ranked;
  std::unique_ptr<NodeIndexMap> index;  // node -> position in items; only when items is large

  // Position in items of the entry with rank r. REQUIRES: r < items.size().
  uint32_t RankedAt(size_t r) const { return ranked.empty() ? 0 : ranked[r]; }
  // Position of the entry for node, or -1.
  int64_t Find(NodeId node) const;
  // Inserts or overwrites; returns true when a new entry was appended. O(log degree) plus a
  // shift of the rank positions between the entry's old and new rank (4 bytes each).
  bool Put(const Neighbor& n);
  // Removes the entry for node keeping the order of the others; returns true if it existed.
  // O(degree).
  bool Erase(NodeId node);
  // Bulk construction (Load): builds the rank order from scratch.
  void BuildRanked();
  void BuildIndexIfLarge();

 private:
  // Rank of the entry at items[pos]. REQUIRES: ranked non-empty and items[pos] unchanged
  // since ranked was last updated.
  size_t RankOf(uint32_t pos) const;
};

struct NodeSlot {
  TypeId type = kInvalidType;  // kInvalidType: no node (never created or removed)
  // Impl::topo_version of the last change to any of this node's lists (read without the lock).
  std::atomic<uint64_t> lists_changed{0};
  std::string key;
  std::vector<std::pair<PropId, Value>> props;  // sorted by PropId
  std::vector<AdjList> lists;                    // a handful: one per (edge type, direction)

  AdjList* FindList(TypeId type, Direction dir);
  const AdjList* FindList(TypeId type, Direction dir) const;
  AdjList& GetOrAddList(TypeId type, Direction dir);
};

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};

struct TypeDict {
  std::unordered_map<std::string, NodeId, StringHash, std::equal_to<>> by_key;
  std::vector<NodeId> ids;  // sorted
};

class RelationSnapshots;

struct Graph::Impl {
  static constexpr size_t kChunkBits = 14;
  static constexpr size_t kChunkSize = size_t{1} << kChunkBits;
  static constexpr size_t kMaxChunks = (size_t{1} << 32) / kChunkSize;
  static constexpr size_t kStripes = 4096;
  // Edge types share this many change counters (type % kTypeBuckets): a collision only makes a
  // snapshot look stale sooner, never fresh when it is not.
  static constexpr size_t kTypeBuckets = 256;

  Impl();
  ~Impl();

  // REQUIRES: id < IdBound() (or the caller is the writer and ensured the chunk exists).
  NodeSlot& Slot(NodeId id) const {
    return chunks[id >> kChunkBits].load(std::memory_order_acquire)[id & (kChunkSize - 1)];
  }
  RwSpinLock& Stripe(NodeId id) const { return stripes[id & (kStripes - 1)]; }
  // Writer only: makes ids below bound addressable and publishes the bound.
  void GrowTo(NodeId bound);
  bool Valid(NodeId id) const { return id < id_bound.load(std::memory_order_acquire); }

  PropId InternProperty(std::string_view name);  // writer only
  std::vector<std::pair<PropId, Value>> InternProperties(const Properties& props);

  // Writer only, without locks (Load) or with the stripe held by the caller.
  void DictInsert(TypeId type, std::string_view key, NodeId id);
  void DictErase(TypeId type, std::string_view key, NodeId id);

  // Writer only, with slot's stripe held exclusively: records a change to one of slot's lists of
  // edge type `type` (see the change stamps above).
  void MarkChanged(NodeSlot& slot, TypeId type);
  // The version of the last change to a list of edge type `type` (or of a type in its bucket).
  uint64_t TypeChangedAt(TypeId type) const {
    return type_changed[type % kTypeBuckets].load(std::memory_order_acquire);
  }
  // How many list changes edge type `type` (or its bucket) has had.
  uint64_t TypeChanges(TypeId type) const {
    return type_changes[type % kTypeBuckets].load(std::memory_order_acquire);
  }

  std::unique_ptr<std::atomic<NodeSlot*>[]> chunks;
  mutable std::unique_ptr<RwSpinLock[]> stripes;
  std::atomic<NodeId> id_bound{0};
  std::atomic<size_t> node_count{0};
  std::atomic<size_t> edge_count{0};

  mutable std::shared_mutex dict_mu;
  std::vector<TypeDict> dicts;  // by TypeId; guarded by dict_mu

  mutable std::shared_mutex prop_mu;
  std::vector<std::string> prop_names;  // guarded by prop_mu
  std::unordered_map<std::string, PropId, StringHash, std::equal_to<>> prop_ids;

  std::atomic<uint64_t> topo_version{0};
  std::array<std::atomic<uint64_t>, kTypeBuckets> type_changed{};  // version of the last change
  std::array<std::atomic<uint64_t>, kTypeBuckets> type_changes{};  // number of list changes
  std::unique_ptr<RelationSnapshots> snapshots;  // the walks' compact relation copies
  // The block holding the lists of the topology snapshot this graph was opened from
  // (LoadSnapshot), or null: lists borrow their arrays from it until changed, so it is released
  // only with the graph.
  std::shared_ptr<const void> image;
  size_t image_bytes = 0;
};

// Lets graph/'s algorithms (the BGL adapter) reach the internals.
struct GraphAccess {
  using Impl = Graph::Impl;
  static const Impl& Get(const Graph& g) { return *g.impl_; }
};

}  // namespace pathwise::graph
