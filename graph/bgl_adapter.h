// Internal to graph/ (never include outside it): Boost.Graph's view of the serving topology.
//
// GraphView models BGL's IncidenceGraph over Graph without copying the topology: a vertex is a
// NodeId, an out-edge of u is any edge incident to u in either direction (restricted to a set of
// edge types), described from u's side. out_edges(u) copies u's incident edges into a per-view
// scratch buffer under u's stripe lock (so a concurrent writer can never move memory under a BGL
// iterator); BGL's BFS/Dijkstra hold one out_edges range at a time, which this relies on.
//
// It deliberately does not model VertexListGraph: BGL then sizes its internal per-vertex maps
// lazily from the index map, and the search's index map (graph/best_path.cc) hands out dense
// per-query indices on first touch, so a query costs O(vertices touched), never O(all vertices).
#pragma once

#include <boost/graph/graph_traits.hpp>
#include <algorithm>
#include <boost/graph/properties.hpp>
#include <boost/property_map/property_map.hpp>
#include <limits>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "graph/graph_impl.h"

namespace pathwise::graph::bgl {

// An edge seen from `from`: kOut means from -[type]-> to, kIn means from <-[type]- to.
struct EdgeDesc {
  NodeId from = kInvalidNode;
  NodeId to = kInvalidNode;
  TypeId type = kInvalidType;
  Direction dir = Direction::kOut;
  float weight = 0;
  int64_t ts = 0;
  uint32_t count = 0;
  bool operator==(const EdgeDesc& o) const {
    return from == o.from && to == o.to && type == o.type && dir == o.dir;
  }
  bool operator!=(const EdgeDesc& o) const { return !(*this == o); }
};

class GraphView {
 public:
  // How much of u's neighbourhood a search wants (hop limits): every edge, none (u is a leaf),
  // or only edges leading to one node (u is one hop short of the limit: any other neighbour
  // would be a dead-end leaf, so leaving it out keeps the last, largest layer out of the heap).
  enum class Expand { kAll, kNone, kOnlyTo };
  using ExpandFn = Expand (*)(const void* ctx, NodeId u);

  // edge_types empty: all types.
  GraphView(const GraphAccess::Impl& impl, std::vector<TypeId> edge_types)
      : impl_(&impl), edge_types_(std::move(edge_types)) {}

  // Replaces the scratch buffer with u's incident edges (both directions, allowed types): with a
  // per-list cap, only the strongest `cap` of each list (rank order), so a hub costs O(cap).
  std::pair<const EdgeDesc*, const EdgeDesc*> Materialise(NodeId u) const {
    return MaterialiseAs(u, expand_ == nullptr ? Expand::kAll : expand_(expand_ctx_, u));
  }
  // Materialise with the given mode, whatever the expand function says. kAll returns a superset
  // of what any mode returns.
  std::pair<const EdgeDesc*, const EdgeDesc*> MaterialiseAs(NodeId u, Expand mode) const {
    scratch_.clear();
    if (u < impl_->id_bound.load(std::memory_order_acquire) && mode != Expand::kNone) {
      std::shared_lock lock(impl_->Stripe(u));
      for (const AdjList& l : impl_->Slot(u).lists) {
        if (!Follows(l)) continue;
        const size_t first = scratch_.size();
        if (mode == Expand::kAll) {
          // Every edge, or with a cap the strongest `cap_` (a prefix of the rank order).
          const bool capped = cap_ != 0 && l.items.size() > cap_;
          const size_t take = capped ? cap_ : l.items.size();
          for (size_t r = 0; r < take; ++r) {
            const Neighbor& n = capped ? l.items[l.RankedAt(r)] : l.items[r];
            scratch_.push_back({u, n.node, l.type, l.dir, n.weight, n.ts, n.count});
          }
          if (!capped) continue;
        }
        // kOnlyTo, or what the cap left out: an edge straight to a target is always seen.
        const size_t kept_end = scratch_.size();
        FindTargets(l);
        for (const auto& [t, pos] : found_) {
          const NodeId to = only_to_[t];
          bool kept = false;
          for (size_t i = first; i < kept_end && !kept; ++i) kept = scratch_[i].to == to;
          if (kept) continue;
          const Neighbor& n = l.items[pos];
          scratch_.push_back({u, n.node, l.type, l.dir, n.weight, n.ts, n.count});
        }
      }
    }
    return {scratch_.data(), scratch_.data() + scratch_.size()};
  }

  // fn decides per vertex what Materialise returns; only_to are the nodes kOnlyTo keeps.
  void SetExpand(ExpandFn fn, const void* ctx, std::vector<NodeId> only_to) {
    expand_ = fn;
    expand_ctx_ = ctx;
    only_to_ = std::move(only_to);
    only_to_filter_ = 0;
    for (NodeId t : only_to_) only_to_filter_ |= FilterBit(t);
  }
  // At most cap edges per (node, edge type, direction) list; 0: all.
  void SetListCap(size_t cap) { cap_ = cap; }
  size_t list_cap() const { return cap_; }

  // Whether some followed list of u (every entry, no cap) holds a node `is_wanted` accepts;
  // nullopt when that would take more than `max_entries` entries to tell.
  template <typename Pred>
  std::optional<bool> AnyNeighbor(NodeId u, Pred is_wanted, size_t max_entries) const {
    if (u >= impl_->id_bound.load(std::memory_order_acquire)) return false;
    std::shared_lock lock(impl_->Stripe(u));
    size_t seen = 0;
    for (const AdjList& l : impl_->Slot(u).lists) {
      if (!Follows(l)) continue;
      if ((seen += l.items.size()) > max_entries) return std::nullopt;
      for (const Neighbor& n : l.items) {
        if (is_wanted(n.node)) return true;
      }
    }
    return false;
  }
  // Which of u's lists are its out-edges: stored from u (out), stored towards u (in); both by
  // default.
  void SetDirections(bool out, bool in) {
    follow_out_ = out;
    follow_in_ = in;
  }

 private:
  static uint64_t FilterBit(NodeId n) { return uint64_t{1} << ((n * 0x9E3779B97F4A7C15ull) >> 58); }

  // found_ = the entries of l that lead to only_to_ nodes, as (index in only_to_, position in
  // l.items), in only_to_'s order (the order edges are handed to the search, so ties break as
  // they always did). A list with a hash index is probed per target; a smaller one is scanned
  // once, a 64-bit filter of the targets rejecting most entries with one test.
  void FindTargets(const AdjList& l) const {
    found_.clear();
    if (only_to_.empty()) return;
    if (l.index || only_to_.size() == 1) {
      for (size_t t = 0; t < only_to_.size(); ++t) {
        int64_t pos = l.Find(only_to_[t]);
        if (pos >= 0) found_.emplace_back(static_cast<uint32_t>(t), static_cast<uint32_t>(pos));
      }
      return;
    }
    for (size_t pos = 0; pos < l.items.size(); ++pos) {
      const NodeId node = l.items[pos].node;
      if ((only_to_filter_ & FilterBit(node)) == 0) continue;
      for (size_t t = 0; t < only_to_.size(); ++t) {
        if (only_to_[t] != node) continue;
        found_.emplace_back(static_cast<uint32_t>(t), static_cast<uint32_t>(pos));
        break;  // a list holds a node once; only_to_ holds it once
      }
    }
    std::sort(found_.begin(), found_.end());
  }

  bool Allowed(TypeId t) const {
    if (edge_types_.empty()) return true;
    for (TypeId a : edge_types_) {
      if (a == t) return true;
    }
    return false;
  }
  // l is walked: its type is allowed and its direction followed.
  bool Follows(const AdjList& l) const {
    return Allowed(l.type) && (l.dir == Direction::kOut ? follow_out_ : follow_in_);
  }
  const GraphAccess::Impl* impl_;
  std::vector<TypeId> edge_types_;
  ExpandFn expand_ = nullptr;
  const void* expand_ctx_ = nullptr;
  std::vector<NodeId> only_to_;
  uint64_t only_to_filter_ = 0;  // FilterBit of every only_to_ node
  size_t cap_ = 0;
  bool follow_out_ = true;
  bool follow_in_ = true;
  mutable std::vector<EdgeDesc> scratch_;
  mutable std::vector<std::pair<uint32_t, uint32_t>> found_;  // FindTargets' answer
};

inline std::pair<const EdgeDesc*, const EdgeDesc*> out_edges(NodeId u, const GraphView& g) {
  return g.Materialise(u);
}
inline size_t out_degree(NodeId u, const GraphView& g) {
  auto [begin, end] = g.Materialise(u);
  return static_cast<size_t>(end - begin);
}
inline NodeId source(const EdgeDesc& e, const GraphView&) { return e.from; }
inline NodeId target(const EdgeDesc& e, const GraphView&) { return e.to; }

// ---- Property maps -----------------------------------------------------------------------
// Per-vertex maps (distance, colour, heap index) are the search's own (graph/best_path.cc keeps
// them in one vector behind a NodeIndexMap, so nothing is O(V) to initialise).

// A read-write vertex map over an unordered_map: a vertex never put reads `fallback`
// (graph/shortest_path.cc's BFS colours, white by default).
template <typename V>
struct DefaultingMap {
  using key_type = NodeId;
  using value_type = V;
  using reference = V;
  using category = boost::read_write_property_map_tag;
  std::unordered_map<NodeId, V>* values;
  V fallback;
};
template <typename V>
V get(const DefaultingMap<V>& m, NodeId k) {
  auto it = m.values->find(k);
  return it == m.values->end() ? m.fallback : it->second;
}
template <typename V>
void put(const DefaultingMap<V>& m, NodeId k, V v) {
  (*m.values)[k] = v;
}

// Edge cost 1 / (1 + weight): strong edges are short. Negative weights count as 0 (cost 1).
struct CostMap {
  using key_type = EdgeDesc;
  using value_type = double;
  using reference = double;
  using category = boost::readable_property_map_tag;
};
inline double get(const CostMap&, const EdgeDesc& e) {
  double w = e.weight > 0 ? static_cast<double>(e.weight) : 0.0;
  return 1.0 / (1.0 + w);
}

}  // namespace pathwise::graph::bgl

namespace boost {

template <>
struct graph_traits<pathwise::graph::bgl::GraphView> {
  using vertex_descriptor = pathwise::NodeId;
  using edge_descriptor = pathwise::graph::bgl::EdgeDesc;
  using directed_category = directed_tag;
  using edge_parallel_category = allow_parallel_edge_tag;
  struct traversal_category : incidence_graph_tag {};
  using out_edge_iterator = const pathwise::graph::bgl::EdgeDesc*;
  using degree_size_type = size_t;
  using vertices_size_type = size_t;
  using edges_size_type = size_t;
  using adjacency_iterator = void;
  using in_edge_iterator = void;
  using vertex_iterator = void;
  using edge_iterator = void;
  static vertex_descriptor null_vertex() { return pathwise::kInvalidNode; }
};

}  // namespace boost
