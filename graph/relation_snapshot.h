// Internal to graph/: compact read-only copies of one walked relation (an edge type in one
// direction) in CSR form, read by walks.h's algorithms without the per-node stripe locks.
//
// A snapshot is built on first use of its (edge type, direction), in the background: the reader
// that finds it missing (or too stale) queues the build for the graph's one builder thread and
// goes on with what there is (the live lists, or the stale copy), so no query waits for a build.
// Snapshots are shared through a shared_ptr: a reader keeps the copy it started with alive
// until it is done, so a rebuild never frees memory a walk is reading. Staleness: a snapshot records the graph's topo_version V at
// the start of its build (graph_impl.h, "change stamps"). A reader trusts it for every node
// while no list of its edge type changed after V, and otherwise node by node: a node stamped
// after V is read from its live list under its stripe instead. So a write acknowledged before a
// query starts is seen by that query (read-your-writes), at the price of the locked path for
// the nodes changed since the build. After kRebuildMinChanges + entries / kRebuildFraction
// changes to the type, the next reader queues a rebuild (readers keep using the old one
// meanwhile); see docs/graph-algorithms.md for the trade-off and its measured cost.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "graph/graph_impl.h"
#include "graph/huge_pages.h"
#include "graph/walks.h"

namespace pathwise::graph {

// An edge weight as a sampling weight: <= 0 and NaN count as 0. Snapshot builds and the scans
// of live lists sum these in float, in rank order, so both give bit-identical sums.
inline float SamplingWeight(float w) { return w > 0 ? w : 0.0f; }

// One node's list as the algorithms read it: from a live AdjList (valid while its stripe is
// held) or from a snapshot (valid while the snapshot is held).
struct ListView {
  // A live list's entries in insertion order; a snapshot's in rank order (RanksBefore).
  const Neighbor* items = nullptr;
  // Positions into items in rank order; nullptr when items is in rank order already (a
  // snapshot's list, or a list of < 2), so a hop reads the entry of a rank directly.
  const uint32_t* ranked = nullptr;
  // Snapshots only (nullptr for live lists): cum[r] = the SamplingWeight sum of ranks 0..r.
  const float* cum = nullptr;
  size_t size = 0;
  float total = 0;  // snapshots only: cum[size - 1] (0 when empty)

  // Position of the entry with rank r. REQUIRES: r < size.
  uint32_t RankedAt(size_t r) const {
    return ranked == nullptr ? static_cast<uint32_t>(r) : ranked[r];
  }
  static ListView Of(const AdjList* list);  // an empty view for nullptr
};

// 16 bytes: one read gives a hop all it needs before its entry.
struct CsrNode {
  uint32_t begin = 0;  // into entries and cum
  uint32_t size = 0;
  float total_weight = 0;      // the SamplingWeight sum of the whole list
  TypeId type = kInvalidType;  // the node's type when copied
};

struct RelationSnapshot {
  // A relation with more entries is not copied (its readers use the live lists).
  static constexpr size_t kMaxEntries = UINT32_MAX;

  TypeId edge_type = kInvalidType;
  Direction dir = Direction::kOut;
  uint64_t version = 0;           // topo_version when the build started
  uint64_t changes_at_build = 0;  // TypeChanges(edge_type) when the build started
  double build_seconds = 0;
  // On huge pages where the kernel allows (graph/huge_pages.h): a hop reads each at random.
  std::vector<CsrNode, HugePageAllocator<CsrNode>> nodes;  // by NodeId, below the id bound
  // Every list, one run per node, each run in rank order: the entry of rank r is one read away
  // (a live list needs its rank order's position first).
  std::vector<Neighbor, HugePageAllocator<Neighbor>> entries;
  std::vector<float, HugePageAllocator<float>> cum;  // per run: weight sums in rank order

  NodeId Bound() const { return static_cast<NodeId>(nodes.size()); }
  // REQUIRES: node < Bound().
  ListView List(NodeId node) const {
    const CsrNode& n = nodes[node];
    return {entries.data() + n.begin, nullptr, cum.data() + n.begin, n.size, n.total_weight};
  }
  size_t Bytes() const;
};

struct SnapshotTotals {
  size_t relations = 0;
  size_t entries = 0;
  size_t bytes = 0;
  double last_build_seconds = 0;
};

// The snapshots of one graph, one per (edge type, direction).
class RelationSnapshots {
 public:
  // A type's snapshot is rebuilt once it has seen this many list changes plus 1/kRebuildFraction
  // of its entries since its build (each edge write changes two lists).
  static constexpr uint64_t kRebuildMinChanges = 4096;
  static constexpr uint64_t kRebuildFraction = 16;

  RelationSnapshots() = default;
  // Stops the build in progress, if any, at its next check (every 4,096 node ids) and waits for
  // it; queued ones are dropped. The graph destroys this before it frees its nodes.
  ~RelationSnapshots();
  RelationSnapshots(const RelationSnapshots&) = delete;
  RelationSnapshots& operator=(const RelationSnapshots&) = delete;

  // The snapshot of (edge_type, dir) as it is now: maybe stale, maybe nullptr (the caller reads
  // the live lists). When it is missing or no longer fresh enough, its build is queued for the
  // builder thread (started on first need, one per graph) and this call returns at once.
  // nullptr for good for a relation over RelationSnapshot::kMaxEntries.
  std::shared_ptr<const RelationSnapshot> Get(const GraphAccess::Impl& g, TypeId edge_type,
                                              Direction dir);
  // Builds (edge_type, dir) now on the caller's thread, waiting for a build in progress, and
  // installs it (nullptr over kMaxEntries).
  std::shared_ptr<const RelationSnapshot> Rebuild(const GraphAccess::Impl& g, TypeId edge_type,
                                                  Direction dir);
  SnapshotTotals Totals() const;

 private:
  using Key = std::pair<TypeId, Direction>;
  std::shared_ptr<const RelationSnapshot> Current(const Key& key) const;
  std::shared_ptr<const RelationSnapshot> BuildLocked(const GraphAccess::Impl& g, const Key& key);
  // Queues key's build and starts the builder thread when none runs. REQUIRES: mu_ held.
  void QueueLocked(const GraphAccess::Impl& g, const Key& key);
  // The builder thread: builds queued relations until none is left (or the graph is going).
  void BuildQueued(const GraphAccess::Impl* g);

  // Guards map_, last_build_seconds_ and the queue below (held only to swap pointers).
  mutable std::mutex mu_;
  std::map<Key, std::shared_ptr<const RelationSnapshot>> map_;
  double last_build_seconds_ = 0;
  std::set<Key> queued_;
  bool builder_running_ = false;  // builder_ is building (or about to); false: it has returned
  bool stopping_ = false;         // the graph is being destroyed: build nothing more
  std::thread builder_;
  std::atomic<bool> cancel_{false};  // set by the destructor: builds return early, uninstalled
  std::mutex build_mu_;  // one build at a time
};

// A node as an algorithm reads it over a fixed list of relations (one per hop, each with its
// snapshot or nullptr): a relation's list comes from the snapshot when the snapshot holds the
// node unchanged, else from the live list under the node's stripe, taken on first need and
// held until Release or destruction.
struct HopRelation {
  Hop hop;
  std::shared_ptr<const RelationSnapshot> snapshot;
  bool clean = false;  // no list of the edge type changed since the snapshot's build
};

class NodeReader {
 public:
  NodeReader(const GraphAccess::Impl& g, const std::vector<HopRelation>& relations, NodeId node)
      : g_(g), relations_(relations), node_(node) {}
  // The node's list for relations[i] (empty when it has none or does not exist).
  ListView List(size_t i) {
    if (const RelationSnapshot* snap = Fresh(i)) return snap->List(node_);
    return LiveList(i);
  }
  // The node's type, read as List(i) would be.
  TypeId Type(size_t i) {
    if (const RelationSnapshot* snap = Fresh(i)) return snap->nodes[node_].type;
    return LiveType();
  }
  // Prefetches what List(i) and a draw from it read first: from a snapshot the lines of the
  // weight sums that a draw's binary search probes first (eighths of the run: its first three
  // levels), nearly every line of a run of up to 128 sums. On the 1M bench graph (2026-12-05)
  // eight were 1.07-1.1x faster than four, four 1.05-1.1x faster than two (the start and
  // middle), and sixteen no faster than eight.
  void PrefetchList(size_t i) {
    if (const RelationSnapshot* snap = Fresh(i)) {
      const CsrNode& n = snap->nodes[node_];
      const float* cum = snap->cum.data() + n.begin;
      for (size_t k = 0; k < 8; ++k) __builtin_prefetch(cum + n.size * k / 8, 0, 3);
      return;
    }
    PrefetchLive();
  }
  void Release() {
    if (lock_.owns_lock()) lock_.unlock();
  }

  // Prefetches what a NodeReader over node reads first for relations[i].
  static void PrefetchNode(const GraphAccess::Impl& g, const HopRelation& relation, NodeId node);

 private:
  // The snapshot of relations[i] when it holds this node unchanged, else nullptr.
  const RelationSnapshot* Fresh(size_t i) const {
    const HopRelation& r = relations_[i];
    const RelationSnapshot* snap = r.snapshot.get();
    if (snap == nullptr || node_ >= snap->Bound()) return nullptr;
    if (r.clean) return snap;
    return g_.Slot(node_).lists_changed.load(std::memory_order_acquire) <= snap->version
               ? snap
               : nullptr;
  }
  // The live paths, under the node's stripe.
  ListView LiveList(size_t i);
  TypeId LiveType();
  void PrefetchLive();
  void Lock();

  const GraphAccess::Impl& g_;
  const std::vector<HopRelation>& relations_;
  NodeId node_;
  std::shared_lock<RwSpinLock> lock_;
};

// The relations of hops for an algorithm run: snapshots when use_snapshot, else none.
std::vector<HopRelation> OpenRelations(const GraphAccess::Impl& g, const std::vector<Hop>& hops,
                                       bool use_snapshot);

}  // namespace pathwise::graph
