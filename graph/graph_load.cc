// Graph::Load: rebuilds the serving structures from the store in two scans (nodes, then the
// forward edges in src ranges on a few threads while the key maps are built beside them) and
// three passes over memory that size every list exactly (see docs/architecture-serving.md,
// "Load").
#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <system_error>
#include <thread>

#include "graph/graph.h"
#include "graph/graph_impl.h"

namespace pathwise::graph {

namespace {

using Impl = GraphAccess::Impl;

// Edge types whose in-degrees are counted in a dense per-node array (4 bytes per node and type).
// Stores with more distinct edge types fall back to appending in-entries one by one.
constexpr size_t kMaxCountedTypes = 64;
constexpr uint32_t kUnseen = UINT32_MAX;
constexpr uint32_t kUncounted = UINT32_MAX - 1;

// The edge scan's work is cut into this many src ranges, taken in turn by the scan threads.
constexpr size_t kEdgeScanChunks = 64;

// In-degree of every (edge type, dst), counted by the edge-scan threads at once.
class InDegrees {
 public:
  explicit InDegrees(NodeId bound) : bound_(bound) {
    for (auto& idx : index_) idx.store(kUnseen, std::memory_order_relaxed);
  }

  // Dense index of type (registered on first sight), or kUncounted past kMaxCountedTypes.
  uint32_t Dense(TypeId type) {
    uint32_t idx = index_[type].load(std::memory_order_acquire);
    if (idx != kUnseen) return idx;
    std::lock_guard<std::mutex> lock(mu_);
    idx = index_[type].load(std::memory_order_relaxed);
    if (idx != kUnseen) return idx;
    idx = kUncounted;
    if (registered_ < kMaxCountedTypes) {
      idx = static_cast<uint32_t>(registered_);
      counts_[registered_++] = std::make_unique<std::atomic<uint32_t>[]>(bound_);  // zeroed
      types_.push_back(type);
    }
    index_[type].store(idx, std::memory_order_release);
    return idx;
  }
  void Add(uint32_t dense, NodeId dst) {
    counts_[dense][dst].fetch_add(1, std::memory_order_relaxed);
  }

  // After the scan threads have joined:
  size_t counted() const { return registered_; }
  TypeId type(size_t dense) const { return types_[dense]; }
  uint32_t Get(size_t dense, NodeId dst) const {
    return counts_[dense][dst].load(std::memory_order_relaxed);
  }
  // kUnseen / kUncounted for a type with no counted in-degrees.
  uint32_t Find(TypeId type) const { return index_[type].load(std::memory_order_relaxed); }

 private:
  const NodeId bound_;
  std::array<std::atomic<uint32_t>, size_t{1} << 16> index_;  // TypeId -> dense index
  std::mutex mu_;
  size_t registered_ = 0;                                       // guarded by mu_
  std::array<std::unique_ptr<std::atomic<uint32_t>[]>, kMaxCountedTypes> counts_;
  std::vector<TypeId> types_;                                   // dense index -> TypeId
};

// Nodes arrive in id order: slots are filled without locks (nobody else sees this graph yet).
// Fills each type's sorted id list; the key maps are built later (BuildKeyMaps).
Status LoadNodes(const storage::Store& store, Impl& impl, std::vector<uint8_t>* live) {
  PW_RETURN_IF_ERROR(store.ScanNodes([&](const storage::NodeRecord& rec) {
    if (rec.id == kInvalidNode || rec.type == kInvalidType) return true;
    if (rec.id >= impl.id_bound.load(std::memory_order_relaxed)) {
      // Grow in chunk steps so GrowTo's loop stays amortised.
      impl.GrowTo(rec.id + 1);
    }
    NodeSlot& slot = impl.Slot(rec.id);
    if (slot.type == kInvalidType) impl.node_count.fetch_add(1, std::memory_order_relaxed);
    slot.type = rec.type;
    slot.key = rec.key;
    slot.props = impl.InternProperties(rec.props);
    if (impl.dicts.size() <= rec.type) impl.dicts.resize(static_cast<size_t>(rec.type) + 1);
    impl.dicts[rec.type].ids.push_back(rec.id);  // ids ascend
    if (live->size() <= rec.id) live->resize(std::max<size_t>(rec.id + 1, live->size() * 2), 0);
    (*live)[rec.id] = 1;
    return true;
  }));
  live->resize(impl.id_bound.load(std::memory_order_relaxed), 0);
  return Status::OK();
}

// key -> id of every type, each map sized once. Reads only the slots' keys, so it runs beside
// the edge scan (which touches only the slots' lists).
void BuildKeyMaps(Impl& impl) {
  for (TypeDict& dict : impl.dicts) {
    dict.by_key.reserve(dict.ids.size());
    for (NodeId id : dict.ids) dict.by_key.insert_or_assign(impl.Slot(id).key, id);
  }
}

// Scans the forward edges with src in [from, to): each (src, type) run becomes one out-list at
// its exact size, in dst order, ranked while still in cache; in-degrees are counted. Returns
// the number of servable edges (an edge whose endpoint is gone is skipped).
Result<size_t> ScanEdgeRange(const storage::Store& store, Impl& impl,
                             const std::vector<uint8_t>& live, InDegrees& degrees, NodeId from,
                             NodeId to) {
  const NodeId bound = static_cast<NodeId>(live.size());
  size_t edges = 0;
  std::vector<Neighbor> run;
  NodeId run_src = kInvalidNode;
  TypeId run_type = kInvalidType;
  uint32_t run_dense = kUncounted;
  auto flush_run = [&] {
    if (run.empty()) return;
    AdjList& list = impl.Slot(run_src).GetOrAddList(run_type, Direction::kOut);
    list.items.append(run.data(), run.size());
    list.BuildRanked();
    run.clear();
  };
  Status s = store.ScanEdges(from, to, [&](const storage::EdgeRecord& rec) {
    if (rec.src >= bound || rec.dst >= bound || !live[rec.src] || !live[rec.dst] ||
        rec.type == kInvalidType) {
      return true;
    }
    if (rec.src != run_src || rec.type != run_type) {
      flush_run();
      run_src = rec.src;
      run_type = rec.type;
      run_dense = degrees.Dense(rec.type);
    }
    run.push_back({rec.dst, static_cast<float>(rec.weight), rec.count, rec.ts});
    if (run_dense != kUncounted) degrees.Add(run_dense, rec.dst);
    ++edges;
    return true;
  });
  PW_RETURN_IF_ERROR(s);
  flush_run();
  return edges;
}

// Runs fn(worker) on `threads` threads (the caller's included); a thread that cannot be
// started leaves its share to the others.
template <typename Fn>
void RunOnThreads(size_t threads, Fn&& fn) {
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) {
    try {
      pool.emplace_back(fn, t);
    } catch (const std::system_error&) {
      break;
    }
  }
  fn(size_t{0});
  for (std::thread& t : pool) t.join();
}

size_t LoadThreads() {
  return std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 4);
}

// Pass 1: the edge scan, src ranges taken in turn by a few threads.
Result<size_t> ScanEdges(const storage::Store& store, Impl& impl,
                         const std::vector<uint8_t>& live, InDegrees& degrees) {
  const size_t bound = live.size();
  const size_t chunks = std::clamp<size_t>(bound, 1, kEdgeScanChunks);
  std::atomic<size_t> next{0};
  std::atomic<size_t> edges{0};
  std::mutex error_mu;
  Status error;
  RunOnThreads(std::min(LoadThreads(), chunks), [&](size_t) {
    for (size_t c = next++; c < chunks; c = next++) {
      auto from = static_cast<NodeId>(bound * c / chunks);
      auto to = static_cast<NodeId>(bound * (c + 1) / chunks);
      Result<size_t> n = ScanEdgeRange(store, impl, live, degrees, from, to);
      if (n.ok()) {
        edges += n.value();
        continue;
      }
      std::lock_guard<std::mutex> lock(error_mu);
      if (error.ok()) error = n.status();
      next = chunks;  // the others stop at their current range
    }
  });
  if (!error.ok()) return error;
  return edges.load();
}

// Pass 2: allocate every counted in-list at its exact size; the returned cursor[t][dst] is
// where the next in-entry of (dst, t) goes. A list's buffer does not move when its node's list
// vector grows.
std::vector<std::vector<Neighbor*>> AllocateInLists(Impl& impl, const std::vector<uint8_t>& live,
                                                    const InDegrees& degrees) {
  const size_t counted = degrees.counted();
  const auto bound = static_cast<NodeId>(live.size());
  std::vector<std::vector<Neighbor*>> cursor(counted);
  for (auto& c : cursor) c.assign(bound, nullptr);
  for (NodeId id = 0; id < bound; ++id) {
    if (!live[id]) continue;
    size_t in_lists = 0;
    for (size_t t = 0; t < counted; ++t) in_lists += degrees.Get(t, id) != 0;
    if (in_lists == 0) continue;
    NodeSlot& slot = impl.Slot(id);
    slot.lists.reserve(slot.lists.size() + in_lists);
    for (size_t t = 0; t < counted; ++t) {
      uint32_t degree = degrees.Get(t, id);
      if (degree == 0) continue;
      AdjList& list = slot.lists.emplace_back();
      list.type = degrees.type(t);
      list.dir = Direction::kIn;
      list.items.resize(degree);
      cursor[t][id] = list.items.MutableData();
    }
  }
  return cursor;
}

// Pass 3: derive the in-lists from the out-lists, in src order (as a scan would give them).
void FillInLists(Impl& impl, const std::vector<uint8_t>& live, const InDegrees& degrees,
                 std::vector<std::vector<Neighbor*>>& cursor) {
  const auto bound = static_cast<NodeId>(live.size());
  for (NodeId src = 0; src < bound; ++src) {
    if (!live[src]) continue;
    // Index loop: a fallback in-list appended to src itself (self-loop) may grow src's lists.
    NodeSlot& slot = impl.Slot(src);
    for (size_t li = 0; li < slot.lists.size(); ++li) {
      if (slot.lists[li].dir != Direction::kOut) continue;
      const TypeId type = slot.lists[li].type;
      const uint32_t t = degrees.Find(type);
      if (t < degrees.counted()) {
        std::vector<Neighbor*>& cur = cursor[t];
        for (const Neighbor& n : slot.lists[li].items) *cur[n.node]++ = {src, n.weight, n.count, n.ts};
      } else {
        // More edge types than we count: append (growth slack is trimmed in pass 4).
        for (size_t i = 0; i < slot.lists[li].items.size(); ++i) {
          const Neighbor n = slot.lists[li].items[i];
          impl.Slot(n.node).GetOrAddList(type, Direction::kIn).items.push_back(
              {src, n.weight, n.count, n.ts});
        }
      }
    }
  }
}

// Pass 4: rank order of the in-lists, side index of the large lists, trim any growth slack.
// Node ranges are independent (nobody else sees this graph yet): split over a few threads.
void FinalizeLists(Impl& impl, const std::vector<uint8_t>& live, size_t edges) {
  const size_t bound = live.size();
  const size_t threads = edges < 100000 ? 1 : LoadThreads();
  RunOnThreads(threads, [&](size_t t) {
    const auto from = static_cast<NodeId>(bound * t / threads);
    const auto to = static_cast<NodeId>(bound * (t + 1) / threads);
    for (NodeId id = from; id < to; ++id) {
      if (!live[id]) continue;
      for (AdjList& l : impl.Slot(id).lists) {
        if (l.items.capacity() > l.items.size() + l.items.size() / 4 + 4) l.items.shrink_to_fit();
        // Out-lists were ranked in pass 1 (unless more entries were appended to them since).
        if (l.dir == Direction::kIn || l.ranked.size() != l.items.size()) l.BuildRanked();
        l.BuildIndexIfLarge();
      }
    }
  });
}

}  // namespace

Result<std::unique_ptr<Graph>> Graph::Load(const storage::Store& store, const Schema& schema) {
  std::unique_ptr<Graph> graph = CreateEmpty();
  Impl& impl = *graph->impl_;
  std::vector<uint8_t> live;  // live[id] != 0: the node exists (a dense check for the edge scan)
  PW_RETURN_IF_ERROR(LoadNodes(store, impl, &live));

  // The key maps are built beside the edge scan; the scan threads never read them.
  std::thread key_maps;
  try {
    key_maps = std::thread(BuildKeyMaps, std::ref(impl));
  } catch (const std::system_error&) {
    BuildKeyMaps(impl);  // no thread available: build them here
  }
  auto degrees = std::make_unique<InDegrees>(static_cast<NodeId>(live.size()));
  Result<size_t> edges = ScanEdges(store, impl, live, *degrees);
  if (key_maps.joinable()) key_maps.join();
  if (!edges.ok()) return edges.status();
  impl.edge_count.store(edges.value(), std::memory_order_relaxed);

  std::vector<std::vector<Neighbor*>> cursor = AllocateInLists(impl, live, *degrees);
  FillInLists(impl, live, *degrees, cursor);
  cursor = {};
  degrees.reset();
  FinalizeLists(impl, live, edges.value());
  (void)schema;
  return graph;
}

}  // namespace pathwise::graph
