// Graph::ReplaceEdgesOfType: swaps in a whole edge type list by list (graph/graph.h).
#include <algorithm>
#include <atomic>
#include <mutex>
#include <shared_mutex>
#include <thread>

#include "graph/graph_impl.h"

namespace pathwise::graph {
namespace {

using Impl = GraphAccess::Impl;

// The new list of one node in one direction, built outside any lock.
AdjList BuildList(TypeId type, Direction dir, std::vector<Neighbor> items) {
  AdjList list;
  list.type = type;
  list.dir = dir;
  list.items.assign(items.data(), items.size());
  list.BuildRanked();
  list.BuildIndexIfLarge();
  return list;
}

// Swaps node's (type, dir) list for `list` (removed when empty); returns the old size.
size_t SwapList(Impl& impl, NodeId node, AdjList list) {
  std::unique_lock lock(impl.Stripe(node));
  NodeSlot& slot = impl.Slot(node);
  impl.MarkChanged(slot, list.type);
  for (auto it = slot.lists.begin(); it != slot.lists.end(); ++it) {
    if (it->type != list.type || it->dir != list.dir) continue;
    size_t old = it->items.size();
    if (list.items.empty()) {
      slot.lists.erase(it);
    } else {
      *it = std::move(list);
    }
    return old;
  }
  if (!list.items.empty()) slot.lists.push_back(std::move(list));
  return 0;
}

// True when node holds a list of the type (either direction) today.
bool HoldsType(const Impl& impl, NodeId node, TypeId type) {
  std::shared_lock lock(impl.Stripe(node));
  for (const AdjList& l : impl.Slot(node).lists) {
    if (l.type == type && !l.items.empty()) return true;
  }
  return false;
}

// The new edges grouped by node in one direction: node n's entries are
// order[offsets[n] .. offsets[n + 1]), indexes into the edges, in edge order (a counting sort).
struct Runs {
  std::vector<size_t> offsets;
  std::vector<uint32_t> order;

  Runs(const std::vector<Graph::NewEdge>& edges, NodeId bound, bool by_src)
      : offsets(static_cast<size_t>(bound) + 1, 0), order(edges.size()) {
    auto node = [&](const Graph::NewEdge& e) { return by_src ? e.src : e.dst; };
    for (const Graph::NewEdge& e : edges) ++offsets[node(e) + 1];
    for (NodeId n = 0; n < bound; ++n) offsets[n + 1] += offsets[n];
    std::vector<size_t> fill(offsets.begin(), offsets.end() - 1);
    for (size_t i = 0; i < edges.size(); ++i) order[fill[node(edges[i])]++] = static_cast<uint32_t>(i);
  }
  bool Empty(NodeId node) const { return offsets[node] == offsets[node + 1]; }
  // Node's neighbours in this direction.
  std::vector<Neighbor> Take(const std::vector<Graph::NewEdge>& edges, NodeId node,
                             bool by_src) const {
    std::vector<Neighbor> items;
    items.reserve(offsets[node + 1] - offsets[node]);
    for (size_t p = offsets[node]; p < offsets[node + 1]; ++p) {
      const Graph::NewEdge& e = edges[order[p]];
      items.push_back({by_src ? e.dst : e.src, e.weight, 1, e.ts});
    }
    return items;
  }
};

}  // namespace

bool Graph::NewEdgeBefore(const NewEdge& a, const NewEdge& b) {
  return a.src != b.src ? a.src < b.src : a.dst < b.dst;
}

void Graph::SortUniqueEdges(std::vector<NewEdge>* edges) {
  if (!std::is_sorted(edges->begin(), edges->end(), NewEdgeBefore)) {
    std::stable_sort(edges->begin(), edges->end(), NewEdgeBefore);
  }
  size_t kept = 0;
  for (size_t i = 0; i < edges->size(); ++i) {
    if (i + 1 < edges->size() && !NewEdgeBefore((*edges)[i], (*edges)[i + 1])) continue;
    (*edges)[kept++] = (*edges)[i];
  }
  edges->resize(kept);
}

size_t Graph::ReplaceEdgesOfType(TypeId edge_type, std::vector<NewEdge> edges, size_t threads) {
  Impl& impl = *impl_;
  const NodeId bound = IdBound();
  std::erase_if(edges, [&](const NewEdge& e) { return !Exists(e.src) || !Exists(e.dst); });
  SortUniqueEdges(&edges);
  const Runs out(edges, bound, /*by_src=*/true), in(edges, bound, /*by_src=*/false);
  std::atomic<size_t> old_edges{0};
  // Each thread swaps the lists of one contiguous range of node ids, in id order.
  auto swap_range = [&](NodeId first, NodeId last) {
    size_t old = 0;
    for (NodeId node = first; node < last; ++node) {
      if (out.Empty(node) && in.Empty(node) && !HoldsType(impl, node, edge_type)) continue;
      old += SwapList(impl, node,
                      BuildList(edge_type, Direction::kOut, out.Take(edges, node, true)));
      SwapList(impl, node, BuildList(edge_type, Direction::kIn, in.Take(edges, node, false)));
    }
    old_edges.fetch_add(old);
  };
  threads = std::clamp<size_t>(threads, 1, 64);
  std::vector<std::thread> pool;
  NodeId step = static_cast<NodeId>((static_cast<size_t>(bound) + threads - 1) / threads);
  for (size_t t = 1; t < threads && t * step < bound; ++t) {
    NodeId first = static_cast<NodeId>(t * step);
    pool.emplace_back(swap_range, first, std::min<NodeId>(bound, first + step));
  }
  swap_range(0, std::min<NodeId>(bound, step));
  for (std::thread& t : pool) t.join();
  impl.edge_count.fetch_sub(old_edges.load(), std::memory_order_relaxed);
  impl.edge_count.fetch_add(edges.size(), std::memory_order_relaxed);
  return edges.size();
}

}  // namespace pathwise::graph
