// BestPath(s): BGL Dijkstra over GraphView, bounded by hops, expansions, a per-list fan-out cap
// and a deadline. One search serves every target; it stops as soon as all of them were
// examined. Per-vertex state (distance, colour, hops, predecessor, heap index) lives in one
// vector indexed by a dense per-search number that an open-addressing NodeIndexMap assigns on
// first touch: BGL's heap reads distances on every sift step, so each read is one probe, not a
// std::unordered_map lookup.
#include <boost/graph/dijkstra_shortest_paths.hpp>
#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>

#include "graph/bgl_adapter.h"
#include "graph/graph.h"
#include "graph/node_map.h"

namespace pathwise::graph {
namespace {

using bgl::EdgeDesc;
using bgl::GraphView;

// Thrown by the visitor to end the search; caught in BestPaths, never leaves graph/.
enum class Stop { kFound, kBudget, kDeadline };

// Expansions of the first run of a search (see BestPaths).
constexpr size_t kFirstBudget = 500;

// What the search knows of one vertex it touched.
struct VertexState {
  double dist = std::numeric_limits<double>::infinity();
  boost::default_color_type color = boost::white_color;
  uint32_t hops = 0;
  bool has_pred = false;
  EdgeDesc pred;  // the edge that last relaxed it
};

// The touched vertices: NodeId -> dense number -> VertexState.
class Vertices {
 public:
  Vertices() : ids_(256) { states_.reserve(256); }
  // The vertex's number, assigning the next one on first touch.
  uint32_t Number(NodeId v) {
    bool inserted;
    uint32_t i = ids_.FindOrInsert(v, static_cast<uint32_t>(states_.size()), &inserted);
    if (inserted) states_.emplace_back();
    return i;
  }
  // nullptr when never touched.
  const VertexState* Find(NodeId v) const {
    uint32_t i = ids_.Find(v);
    return i == NodeIndexMap::kMissing ? nullptr : &states_[i];
  }
  VertexState& At(NodeId v) { return states_[Number(v)]; }

 private:
  NodeIndexMap ids_;
  std::vector<VertexState> states_;
};

// BGL property maps over Vertices, keyed by NodeId.
template <typename V, typename Category>
struct VertexMap {
  using key_type = NodeId;
  using value_type = V;
  using reference = V;
  using category = Category;
  Vertices* v;
};

// One VertexState field, read and written; a vertex never touched reads as `fallback`
// (distance +inf, colour white).
template <typename V, V VertexState::*kField>
struct FieldMap : VertexMap<V, boost::read_write_property_map_tag> {
  V fallback;
};
template <typename V, V VertexState::*kField>
V get(const FieldMap<V, kField>& m, NodeId k) {
  const VertexState* s = m.v->Find(k);
  return s ? s->*kField : m.fallback;
}
template <typename V, V VertexState::*kField>
void put(const FieldMap<V, kField>& m, NodeId k, V value) {
  m.v->At(k).*kField = value;
}
using DistMap = FieldMap<double, &VertexState::dist>;
using ColorMap = FieldMap<boost::default_color_type, &VertexState::color>;

// Dense indices for BGL's heap (its index-in-heap vector grows with them).
struct IndexMap : VertexMap<size_t, boost::readable_property_map_tag> {};
inline size_t get(const IndexMap& m, NodeId k) { return m.v->Number(k); }

struct SearchState {
  std::unordered_map<NodeId, bool> targets;  // target -> examined yet
  size_t remaining = 0;                       // targets not examined yet
  size_t max_hops = 0;
  size_t max_expanded = 0;
  const Deadline* deadline = nullptr;
  size_t expanded = 0;
  Vertices vertices;
  std::vector<NodeId> out_of_reach;  // targets OutOfReach ruled out (reported as not found)
};

GraphView::Expand HopLimit(const void* ctx, NodeId u) {
  const auto* st = static_cast<const SearchState*>(ctx);
  const VertexState* s = st->vertices.Find(u);
  uint32_t hops = s == nullptr ? 0 : s->hops;
  if (hops >= st->max_hops) return GraphView::Expand::kNone;
  if (hops + 1 == st->max_hops) return GraphView::Expand::kOnlyTo;
  return GraphView::Expand::kAll;
}

class PathVisitor : public boost::default_dijkstra_visitor {
 public:
  explicit PathVisitor(SearchState* st) : st_(st) {}
  void examine_vertex(NodeId u, const GraphView&) const {
    if (auto it = st_->targets.find(u); it != st_->targets.end() && !it->second) {
      it->second = true;
      if (--st_->remaining == 0) throw Stop::kFound;
    }
    ++st_->expanded;
    if ((st_->expanded & 255) == 0 && st_->deadline->Expired()) throw Stop::kDeadline;
    if (st_->expanded > st_->max_expanded) throw Stop::kBudget;
  }
  void edge_relaxed(const EdgeDesc& e, const GraphView&) const {
    const uint32_t from_hops = st_->vertices.At(e.from).hops;
    VertexState& to = st_->vertices.At(e.to);
    to.pred = e;
    to.has_pred = true;
    to.hops = from_hops + 1;
  }

 private:
  SearchState* st_;
};

// The targets that no path of at most max_hops edges reaches, as GraphView hands edges out:
// every edge the search can follow from a node is among MaterialiseAs(kAll) of that node, so a
// target that is not within max_hops - 1 such steps of the source, nor next to a node that is,
// can never be examined. Telling this costs the search's first layers (without the heap) and a
// scan of each target's lists; a target that is out of reach would otherwise keep the search
// going until max_expanded. Only for capped views of at most 3 hops, and within budgets
// (past them every target counts as reachable): the answer is a pruning hint, never a result.
std::vector<bool> OutOfReach(const GraphView& view, NodeId source, const std::vector<NodeId>& targets,
                             size_t max_hops, size_t max_expanded) {
  std::vector<bool> out(targets.size(), false);
  if (view.list_cap() == 0 || max_hops == 0 || max_hops > 3) return out;
  const size_t max_nodes = 8 * max_expanded;
  NodeSet near;  // within max_hops - 1 steps
  near.Insert(source);
  std::vector<NodeId> layer = {source};
  for (size_t hop = 1; hop < max_hops; ++hop) {
    std::vector<NodeId> next;
    for (NodeId u : layer) {
      auto [begin, end] = view.MaterialiseAs(u, GraphView::Expand::kAll);
      for (const EdgeDesc* e = begin; e != end; ++e) {
        if (near.Insert(e->to)) next.push_back(e->to);
      }
      if (near.size() > max_nodes) return out;
    }
    layer = std::move(next);
  }
  for (size_t i = 0; i < targets.size(); ++i) {
    if (near.Contains(targets[i])) continue;
    std::optional<bool> touches = view.AnyNeighbor(
        targets[i], [&](NodeId n) { return near.Contains(n); }, max_nodes);
    out[i] = touches.has_value() && !*touches;
  }
  return out;
}

// The predecessor chain from target back to source, or empty if it is broken or too long.
Path ChainTo(const SearchState& st, NodeId source, NodeId target, size_t max_hops) {
  Path path;
  for (NodeId at = target; at != source;) {
    const VertexState* s = st.vertices.Find(at);
    if (s == nullptr || !s->has_pred || path.size() >= max_hops) return {};
    const EdgeDesc& e = s->pred;
    path.push_back({e.from, e.type, e.dir, e.to, e.weight, e.ts, e.count});
    at = e.from;
  }
  std::reverse(path.begin(), path.end());
  return path;
}

// One Dijkstra run from source, stopping when every target was examined (Stop::kFound), after
// `budget` expansions (kBudget) or when nothing is left to expand (kFound with targets left).
// Targets in out_of_reach are known never to be examined: they do not keep the search going.
// The targets are entered in the caller's order, so runs over the same graph expand the same
// vertices in the same order, ties included.
Result<Stop> Search(const Graph& graph, NodeId source, const std::vector<NodeId>& targets,
                    const PathSearchOptions& options, size_t budget,
                    const std::vector<NodeId>& out_of_reach, SearchState* st) {
  for (NodeId t : targets) {
    if (t != source && graph.Exists(t) && st->targets.emplace(t, false).second) ++st->remaining;
  }
  std::vector<NodeId> wanted;
  for (const auto& [t, examined] : st->targets) wanted.push_back(t);
  for (NodeId t : out_of_reach) {
    auto it = st->targets.find(t);
    if (it == st->targets.end() || it->second) continue;
    it->second = true;  // as if examined: it no longer counts in `remaining`
    st->out_of_reach.push_back(t);
    --st->remaining;
  }
  if (st->remaining == 0 || options.max_hops == 0) return Stop::kFound;
  st->max_hops = options.max_hops;
  st->max_expanded = budget;
  st->deadline = &options.deadline;
  st->vertices.At(source).hops = 0;
  GraphView view(GraphAccess::Get(graph), options.edge_types);
  view.SetExpand(&HopLimit, st, std::move(wanted));
  view.SetListCap(options.max_neighbors_per_list);
  DistMap dist_map{{&st->vertices}, std::numeric_limits<double>::infinity()};
  ColorMap color_map{{&st->vertices}, boost::white_color};
  IndexMap index_map{{&st->vertices}};
  put(dist_map, source, 0.0);
  try {
    boost::dijkstra_shortest_paths_no_init(view, source, boost::dummy_property_map(), dist_map,
                                           bgl::CostMap(), index_map, std::less<double>(),
                                           std::plus<double>(), 0.0, PathVisitor(st), color_map);
  } catch (Stop s) {
    if (s == Stop::kDeadline) return Status::DeadlineExceeded("path search deadline passed");
    return s;
  } catch (const std::exception& e) {
    return Status::Internal(std::string("path search failed: ") + e.what());
  }
  return Stop::kFound;
}

}  // namespace

Result<std::vector<Path>> BestPaths(const Graph& graph, NodeId source,
                                    const std::vector<NodeId>& targets,
                                    const PathSearchOptions& options) {
  if (!graph.Exists(source)) return Status::NotFound("path source node does not exist");
  std::vector<Path> out(targets.size());
  if (options.deadline.Expired()) return Status::DeadlineExceeded("path search deadline passed");
  // Most searches examine every target within a few hundred expansions. One that does not may
  // be kept going until max_expanded by a target out of reach: then those targets are ruled out
  // (OutOfReach) and the search is run again from the start, ending as soon as the others are
  // examined. Both runs expand vertices in the same order, so the answer is the one a single
  // run with the whole budget gives.
  auto st = std::make_unique<SearchState>();
  const size_t first_budget = std::min(options.max_expanded, kFirstBudget);
  PW_ASSIGN_OR_RETURN(Stop stop, Search(graph, source, targets, options, first_budget, {}, st.get()));
  if (stop == Stop::kBudget && first_budget < options.max_expanded) {
    std::vector<NodeId> pending, all;
    for (const auto& [t, examined] : st->targets) {
      all.push_back(t);
      if (!examined) pending.push_back(t);
    }
    // The view hands out the search's edges: those to any target, past the cap, included.
    GraphView view(GraphAccess::Get(graph), options.edge_types);
    view.SetExpand(nullptr, nullptr, std::move(all));
    view.SetListCap(options.max_neighbors_per_list);
    std::vector<bool> unreachable =
        OutOfReach(view, source, pending, options.max_hops, options.max_expanded);
    std::vector<NodeId> out_of_reach;
    for (size_t i = 0; i < pending.size(); ++i) {
      if (unreachable[i]) out_of_reach.push_back(pending[i]);
    }
    st = std::make_unique<SearchState>();
    PW_ASSIGN_OR_RETURN(stop, Search(graph, source, targets, options, options.max_expanded,
                                     out_of_reach, st.get()));
  }
  // A target's path is final (the best within the bounds) once Dijkstra examined it; one only
  // relaxed when a bound stopped the search might still improve, so it is not reported.
  for (size_t i = 0; i < targets.size(); ++i) {
    auto it = st->targets.find(targets[i]);
    if (it == st->targets.end() || !it->second) continue;
    if (std::find(st->out_of_reach.begin(), st->out_of_reach.end(), targets[i]) !=
        st->out_of_reach.end()) {
      continue;
    }
    out[i] = ChainTo(*st, source, targets[i], options.max_hops);
  }
  return out;
}

Result<Path> BestPath(const Graph& graph, NodeId source, NodeId target,
                      const PathSearchOptions& options) {
  if (!graph.Exists(source)) return Status::NotFound("path source node does not exist");
  if (!graph.Exists(target)) return Status::NotFound("path target node does not exist");
  if (source == target) return Path{};
  if (options.max_hops == 0) return Status::NotFound("no path within 0 hops");
  PW_ASSIGN_OR_RETURN(std::vector<Path> paths, BestPaths(graph, source, {target}, options));
  if (paths[0].empty()) {
    return Status::NotFound("no path within " + std::to_string(options.max_hops) + " hops");
  }
  return std::move(paths[0]);
}

}  // namespace pathwise::graph
