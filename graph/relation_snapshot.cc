// Compact relation snapshots for the walks (graph/relation_snapshot.h).
#include "graph/relation_snapshot.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <new>

namespace pathwise::graph {
namespace {

using Impl = GraphAccess::Impl;

void Prefetch(const void* address) { __builtin_prefetch(address, 0, 3); }

// Copies the relation node by node, each under its stripe. The version is read before the
// first copy, so a change a node's copy missed carries a later stamp (graph_impl.h). nullptr
// when *cancel turns true meanwhile (checked every 4,096 node ids).
std::shared_ptr<RelationSnapshot> Build(const Impl& g, TypeId edge_type, Direction dir,
                                        const std::atomic<bool>& cancel) {
  auto cancelled = [&](NodeId id) {
    return (id & 4095) == 0 && cancel.load(std::memory_order_relaxed);
  };
  auto start = std::chrono::steady_clock::now();
  auto snap = std::make_shared<RelationSnapshot>();
  snap->edge_type = edge_type;
  snap->dir = dir;
  snap->changes_at_build = g.TypeChanges(edge_type);
  snap->version = g.topo_version.load();
  NodeId bound = g.id_bound.load(std::memory_order_acquire);
  snap->nodes.resize(bound);
  // Sized once (a hint: lists may grow between the two passes), so the large arrays are
  // allocated on huge pages and never copied while they grow.
  size_t total = 0;
  for (NodeId id = 0; id < bound; ++id) {
    if (cancelled(id)) return nullptr;
    std::shared_lock lock(g.Stripe(id));
    const AdjList* list = g.Slot(id).FindList(edge_type, dir);
    if (list != nullptr) total += list->items.size();
  }
  total = std::min<size_t>(total, RelationSnapshot::kMaxEntries);
  snap->entries.reserve(total);
  snap->cum.reserve(total);
  for (NodeId id = 0; id < bound; ++id) {
    if (cancelled(id)) return nullptr;
    std::shared_lock lock(g.Stripe(id));
    const NodeSlot& slot = g.Slot(id);
    CsrNode& node = snap->nodes[id];
    node.type = slot.type;
    const AdjList* list = slot.FindList(edge_type, dir);
    if (list == nullptr || list->items.empty()) continue;
    if (snap->entries.size() + list->items.size() > RelationSnapshot::kMaxEntries) return nullptr;
    node.begin = static_cast<uint32_t>(snap->entries.size());
    node.size = static_cast<uint32_t>(list->items.size());
    float sum = 0;
    for (size_t r = 0; r < list->items.size(); ++r) {  // in rank order
      const Neighbor& entry = list->items[list->RankedAt(r)];
      snap->entries.push_back(entry);
      sum += SamplingWeight(entry.weight);
      snap->cum.push_back(sum);
    }
    node.total_weight = sum;
  }
  snap->build_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return snap;
}

bool FreshEnough(const Impl& g, const RelationSnapshot& snap) {
  uint64_t changes = g.TypeChanges(snap.edge_type) - snap.changes_at_build;
  return changes < RelationSnapshots::kRebuildMinChanges +
                       snap.entries.size() / RelationSnapshots::kRebuildFraction;
}

}  // namespace

ListView ListView::Of(const AdjList* list) {
  if (list == nullptr || list->items.empty()) return {};
  return {list->items.data(), list->ranked.empty() ? nullptr : list->ranked.data(), nullptr,
          list->items.size()};
}

size_t RelationSnapshot::Bytes() const {
  return sizeof(*this) + nodes.capacity() * sizeof(CsrNode) +
         entries.capacity() * sizeof(Neighbor) + cum.capacity() * sizeof(float);
}

std::shared_ptr<const RelationSnapshot> RelationSnapshots::Current(const Key& key) const {
  std::lock_guard lock(mu_);
  auto it = map_.find(key);
  return it == map_.end() ? nullptr : it->second;
}

RelationSnapshots::~RelationSnapshots() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cancel_.store(true, std::memory_order_relaxed);  // a build in progress stops early
  if (builder_.joinable()) builder_.join();
}

std::shared_ptr<const RelationSnapshot> RelationSnapshots::Get(const Impl& g, TypeId edge_type,
                                                               Direction dir) {
  Key key{edge_type, dir};
  std::lock_guard lock(mu_);
  auto it = map_.find(key);
  std::shared_ptr<const RelationSnapshot> snap = it == map_.end() ? nullptr : it->second;
  if (snap == nullptr || !FreshEnough(g, *snap)) QueueLocked(g, key);
  return snap;
}

void RelationSnapshots::QueueLocked(const Impl& g, const Key& key) {
  if (stopping_) return;
  queued_.insert(key);
  if (builder_running_) return;
  // A builder that is not running has returned (or is about to: it cleared the flag under mu_
  // as its last step), so joining it here is immediate.
  if (builder_.joinable()) builder_.join();
  builder_running_ = true;
  builder_ = std::thread(&RelationSnapshots::BuildQueued, this, &g);
}

void RelationSnapshots::BuildQueued(const Impl* g) {
  while (true) {
    Key key;
    {
      std::lock_guard lock(mu_);
      if (queued_.empty() || stopping_) {
        queued_.clear();
        builder_running_ = false;
        return;
      }
      key = *queued_.begin();
      queued_.erase(queued_.begin());
    }
    std::lock_guard build(build_mu_);
    std::shared_ptr<const RelationSnapshot> snap = Current(key);
    if (snap != nullptr && FreshEnough(*g, *snap)) continue;  // rebuilt meanwhile (Rebuild)
    try {
      BuildLocked(*g, key);
    } catch (const std::bad_alloc&) {
      // No memory for the copy: readers go on with the live lists; a later reader queues it again.
    }
  }
}

std::shared_ptr<const RelationSnapshot> RelationSnapshots::Rebuild(const Impl& g,
                                                                   TypeId edge_type,
                                                                   Direction dir) {
  std::lock_guard build(build_mu_);
  return BuildLocked(g, {edge_type, dir});
}

std::shared_ptr<const RelationSnapshot> RelationSnapshots::BuildLocked(const Impl& g,
                                                                       const Key& key) {
  std::shared_ptr<const RelationSnapshot> snap = Build(g, key.first, key.second, cancel_);
  if (snap == nullptr) return nullptr;
  std::lock_guard lock(mu_);
  map_[key] = snap;  // the old copy lives on while readers still hold it
  last_build_seconds_ = snap->build_seconds;
  return snap;
}

SnapshotTotals RelationSnapshots::Totals() const {
  std::lock_guard lock(mu_);
  SnapshotTotals totals;
  totals.last_build_seconds = last_build_seconds_;
  for (const auto& [key, snap] : map_) {
    ++totals.relations;
    totals.entries += snap->entries.size();
    totals.bytes += snap->Bytes();
  }
  return totals;
}

void NodeReader::Lock() {
  if (lock_.owns_lock()) return;
  lock_ = std::shared_lock(g_.Stripe(node_));
}

ListView NodeReader::LiveList(size_t i) {
  if (!g_.Valid(node_)) return {};
  Lock();
  const Hop& hop = relations_[i].hop;
  return ListView::Of(g_.Slot(node_).FindList(hop.edge_type, hop.dir));
}

TypeId NodeReader::LiveType() {
  if (!g_.Valid(node_)) return kInvalidType;
  Lock();
  return g_.Slot(node_).type;
}

void NodeReader::PrefetchLive() {
  if (!g_.Valid(node_)) return;
  Lock();
  Prefetch(g_.Slot(node_).lists.data());
}

void NodeReader::PrefetchNode(const Impl& g, const HopRelation& relation, NodeId node) {
  const RelationSnapshot* snap = relation.snapshot.get();
  if (snap != nullptr && node < snap->Bound()) {
    Prefetch(snap->nodes.data() + node);
    if (relation.clean) return;
  }
  if (g.Valid(node)) Prefetch(&g.Slot(node));
}

std::vector<HopRelation> OpenRelations(const Impl& g, const std::vector<Hop>& hops,
                                       bool use_snapshot) {
  std::vector<HopRelation> out;
  out.reserve(hops.size());
  for (const Hop& hop : hops) {
    HopRelation r{hop, nullptr, false};
    if (use_snapshot) {
      r.snapshot = g.snapshots->Get(g, hop.edge_type, hop.dir);
      // Read after the snapshot: a change acknowledged before this call is seen here.
      r.clean = r.snapshot != nullptr && g.TypeChangedAt(hop.edge_type) <= r.snapshot->version;
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace pathwise::graph
