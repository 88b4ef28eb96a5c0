// Graph::Load: rebuilds the serving structures from the store in two sequential scans (nodes, then
// forward edges) and three passes over memory that size every list exactly (see
// docs/architecture-serving.md, "Load").
#include <algorithm>
#include <cstdint>
#include <mutex>
#include <system_error>
#include <thread>

#include "graph/graph.h"
#include "graph/graph_impl.h"

namespace pathwise::graph {

namespace {

// Edge types whose in-degrees are counted in a dense per-node array (4 bytes per node and type).
// Stores with more distinct edge types fall back to appending in-entries one by one.
constexpr size_t kMaxCountedTypes = 64;

}  // namespace

Result<std::unique_ptr<Graph>> Graph::Load(const storage::Store& store, const Schema& schema) {
  std::unique_ptr<Graph> graph = CreateEmpty();
  Impl& impl = *graph->impl_;

  // Nodes arrive in id order: slots are filled without locks (nobody else sees this graph yet).
  std::vector<uint8_t> live;  // live[id] != 0: the node exists (a dense check for the edge scan)
  Status s = store.ScanNodes([&](const storage::NodeRecord& rec) {
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
    TypeDict& dict = impl.dicts[rec.type];
    dict.by_key.insert_or_assign(rec.key, rec.id);
    dict.ids.push_back(rec.id);  // ids ascend
    if (live.size() <= rec.id) live.resize(std::max<size_t>(rec.id + 1, live.size() * 2), 0);
    live[rec.id] = 1;
    return true;
  });
  PW_RETURN_IF_ERROR(s);
  const NodeId bound = impl.id_bound.load(std::memory_order_relaxed);
  live.resize(bound, 0);

  // Pass 1 (the edge scan): forward edges arrive sorted by (src, type, dst), so each (src, type)
  // run becomes one out-list allocated at its exact size, in dst order. The in-degree of every
  // (dst, type) is counted so that the in-lists can be allocated exactly too.
  std::vector<uint32_t> type_index;       // TypeId -> dense index, UINT32_MAX if unseen
  std::vector<std::vector<uint32_t>> in_degree;  // [dense type][dst]
  auto dense_type = [&](TypeId type) -> uint32_t {
    if (type_index.size() <= type) type_index.resize(static_cast<size_t>(type) + 1, UINT32_MAX);
    uint32_t& idx = type_index[type];
    if (idx == UINT32_MAX && in_degree.size() < kMaxCountedTypes) {
      idx = static_cast<uint32_t>(in_degree.size());
      in_degree.emplace_back(bound, 0);
    }
    return idx;
  };
  size_t edges = 0;
  size_t dangling = 0;
  std::vector<Neighbor> run;
  NodeId run_src = kInvalidNode;
  TypeId run_type = kInvalidType;
  auto flush_run = [&] {
    if (run.empty()) return;
    AdjList& list = impl.Slot(run_src).GetOrAddList(run_type, Direction::kOut);
    list.items.insert(list.items.end(), run.begin(), run.end());
    list.BuildRanked();  // while the entries are still in cache
    run.clear();
  };
  uint32_t run_dense = UINT32_MAX;
  s = store.ScanEdges([&](const storage::EdgeRecord& rec) {
    if (rec.src >= bound || rec.dst >= bound || !live[rec.src] || !live[rec.dst] ||
        rec.type == kInvalidType) {
      ++dangling;  // an edge whose endpoint is gone: not servable, skip it
      return true;
    }
    if (rec.src != run_src || rec.type != run_type) {
      flush_run();
      run_src = rec.src;
      run_type = rec.type;
      run_dense = dense_type(rec.type);
    }
    run.push_back({rec.dst, static_cast<float>(rec.weight), rec.count, rec.ts});
    if (run_dense != UINT32_MAX) ++in_degree[run_dense][rec.dst];
    ++edges;
    return true;
  });
  PW_RETURN_IF_ERROR(s);
  flush_run();
  run.shrink_to_fit();
  impl.edge_count.store(edges, std::memory_order_relaxed);

  // Pass 2: allocate every counted in-list at its exact size; cursor[t][dst] is where the next
  // in-entry of (dst, t) goes. A list's buffer does not move when its node's list vector grows.
  const size_t counted = in_degree.size();
  std::vector<TypeId> dense_to_type(counted);
  for (TypeId t = 0; t < type_index.size(); ++t) {
    if (type_index[t] != UINT32_MAX) dense_to_type[type_index[t]] = t;
  }
  std::vector<std::vector<Neighbor*>> cursor(counted);
  for (auto& c : cursor) c.assign(bound, nullptr);
  for (NodeId id = 0; id < bound; ++id) {
    if (!live[id]) continue;
    size_t in_lists = 0;
    for (size_t t = 0; t < counted; ++t) in_lists += in_degree[t][id] != 0;
    if (in_lists == 0) continue;
    NodeSlot& slot = impl.Slot(id);
    slot.lists.reserve(slot.lists.size() + in_lists);
    for (size_t t = 0; t < counted; ++t) {
      uint32_t degree = in_degree[t][id];
      if (degree == 0) continue;
      AdjList& list = slot.lists.emplace_back();
      list.type = dense_to_type[t];
      list.dir = Direction::kIn;
      list.items.resize(degree);
      cursor[t][id] = list.items.data();
    }
  }
  in_degree.clear();
  in_degree.shrink_to_fit();

  // Pass 3: derive the in-lists from the out-lists, in src order (as the scan would give them).
  for (NodeId src = 0; src < bound; ++src) {
    if (!live[src]) continue;
    // Index loop: a fallback in-list appended to src itself (self-loop) may grow src's lists.
    NodeSlot& slot = impl.Slot(src);
    for (size_t li = 0; li < slot.lists.size(); ++li) {
      if (slot.lists[li].dir != Direction::kOut) continue;
      const TypeId type = slot.lists[li].type;
      const uint32_t t = type_index[type];
      if (t != UINT32_MAX) {
        std::vector<Neighbor*>& cur = cursor[t];
        for (const Neighbor& n : slot.lists[li].items) *cur[n.node]++ = {src, n.weight, n.count, n.ts};
      } else {
        // More edge types than we count: append (growth slack is trimmed below).
        for (size_t i = 0; i < slot.lists[li].items.size(); ++i) {
          const Neighbor n = slot.lists[li].items[i];
          impl.Slot(n.node).GetOrAddList(type, Direction::kIn).items.push_back(
              {src, n.weight, n.count, n.ts});
        }
      }
    }
  }
  cursor.clear();
  cursor.shrink_to_fit();

  // Pass 4: rank order of the in-lists, side index of the large lists, trim any growth slack.
  // Node ranges are independent (nobody else sees this graph yet): split them over a few threads.
  auto finalize = [&](NodeId from, NodeId to) {
    for (NodeId id = from; id < to; ++id) {
      if (!live[id]) continue;
      for (AdjList& l : impl.Slot(id).lists) {
        if (l.items.capacity() > l.items.size() + l.items.size() / 4 + 4) l.items.shrink_to_fit();
        // Out-lists were ranked in pass 1 (unless more entries were appended to them since).
        if (l.dir == Direction::kIn || l.ranked.size() != l.items.size()) l.BuildRanked();
        l.BuildIndexIfLarge();
      }
    }
  };
  const size_t threads =
      edges < 100000 ? 1 : std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 4);
  std::vector<std::thread> pool;
  const NodeId step = static_cast<NodeId>((static_cast<size_t>(bound) + threads - 1) / threads);
  for (size_t t = 1; t < threads; ++t) {
    NodeId from = static_cast<NodeId>(std::min<size_t>(t * size_t{step}, bound));
    NodeId to = static_cast<NodeId>(std::min<size_t>((t + 1) * size_t{step}, bound));
    try {
      pool.emplace_back(finalize, from, to);
    } catch (const std::system_error&) {
      finalize(from, to);  // no thread available: do this range here
    }
  }
  finalize(0, std::min(step, bound));
  for (std::thread& t : pool) t.join();
  (void)schema;
  (void)dangling;
  return graph;
}

}  // namespace pathwise::graph
