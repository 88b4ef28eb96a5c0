// Graph::ReplaceEdgesOfType: swaps in a whole edge type list by list (graph/graph.h).
#include <algorithm>
#include <mutex>
#include <shared_mutex>

#include "graph/graph_impl.h"

namespace pathwise::graph {
namespace {

using Impl = GraphAccess::Impl;

// The new list of one node in one direction, built outside any lock.
AdjList BuildList(TypeId type, Direction dir, std::vector<Neighbor> items) {
  AdjList list;
  list.type = type;
  list.dir = dir;
  list.items = std::move(items);
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

// Nodes that hold a list of the type (either direction) today, in id order.
std::vector<NodeId> NodesWithType(const Impl& impl, TypeId type, NodeId bound) {
  std::vector<NodeId> out;
  for (NodeId id = 0; id < bound; ++id) {
    std::shared_lock lock(impl.Stripe(id));
    for (const AdjList& l : impl.Slot(id).lists) {
      if (l.type == type && !l.items.empty()) {
        out.push_back(id);
        break;
      }
    }
  }
  return out;
}

// The entries of one direction grouped by node: (node, neighbour) sorted, one run per node.
struct Runs {
  std::vector<std::pair<NodeId, Neighbor>> entries;
  void Sort() {
    std::stable_sort(entries.begin(), entries.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
  }
  // The items of node's run starting at *pos (advanced past it); empty if node has none.
  std::vector<Neighbor> Take(NodeId node, size_t* pos) const {
    std::vector<Neighbor> items;
    for (; *pos < entries.size() && entries[*pos].first == node; ++*pos) {
      items.push_back(entries[*pos].second);
    }
    return items;
  }
};

}  // namespace

size_t Graph::ReplaceEdgesOfType(TypeId edge_type, std::vector<NewEdge> edges) {
  Impl& impl = *impl_;
  NodeId bound = IdBound();
  std::erase_if(edges, [&](const NewEdge& e) { return !Exists(e.src) || !Exists(e.dst); });
  // Sorted by (src, dst), keeping the last of a repeated pair.
  std::stable_sort(edges.begin(), edges.end(), [](const NewEdge& a, const NewEdge& b) {
    return a.src != b.src ? a.src < b.src : a.dst < b.dst;
  });
  std::vector<NewEdge> unique;
  for (size_t i = 0; i < edges.size(); ++i) {
    bool last = i + 1 == edges.size() || edges[i + 1].src != edges[i].src ||
                edges[i + 1].dst != edges[i].dst;
    if (last) unique.push_back(edges[i]);
  }
  Runs out, in;
  for (const NewEdge& e : unique) {
    out.entries.push_back({e.src, {e.dst, e.weight, 1, e.ts}});
    in.entries.push_back({e.dst, {e.src, e.weight, 1, e.ts}});
  }
  in.Sort();  // stable: each in-list in source order, as after Load
  std::vector<NodeId> nodes = NodesWithType(impl, edge_type, bound);
  for (const auto& runs : {&out.entries, &in.entries}) {
    for (const auto& entry : *runs) nodes.push_back(entry.first);
  }
  std::sort(nodes.begin(), nodes.end());
  nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
  size_t out_pos = 0, in_pos = 0, old_edges = 0;
  for (NodeId node : nodes) {
    old_edges += SwapList(impl, node,
                          BuildList(edge_type, Direction::kOut, out.Take(node, &out_pos)));
    SwapList(impl, node, BuildList(edge_type, Direction::kIn, in.Take(node, &in_pos)));
  }
  impl.edge_count.fetch_sub(old_edges, std::memory_order_relaxed);
  impl.edge_count.fetch_add(unique.size(), std::memory_order_relaxed);
  return unique.size();
}

}  // namespace pathwise::graph
