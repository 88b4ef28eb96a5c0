// BestPath(s): BGL Dijkstra over GraphView with hash-map property maps, bounded by hops,
// expansions, a per-list fan-out cap and a deadline. One search serves every target; it stops
// as soon as all of them were examined.
#include <boost/graph/dijkstra_shortest_paths.hpp>
#include <algorithm>
#include <functional>
#include <unordered_map>

#include "graph/bgl_adapter.h"
#include "graph/graph.h"

namespace pathwise::graph {
namespace {

using bgl::EdgeDesc;
using bgl::GraphView;

// Thrown by the visitor to end the search; caught in BestPaths, never leaves graph/.
enum class Stop { kFound, kBudget, kDeadline };

struct SearchState {
  std::unordered_map<NodeId, bool> targets;  // target -> examined yet
  size_t remaining = 0;                       // targets not examined yet
  size_t max_hops = 0;
  size_t max_expanded = 0;
  const Deadline* deadline = nullptr;
  size_t expanded = 0;
  std::unordered_map<NodeId, uint32_t> hops;
  std::unordered_map<NodeId, EdgeDesc> pred;
};

GraphView::Expand HopLimit(const void* ctx, NodeId u) {
  const auto* st = static_cast<const SearchState*>(ctx);
  auto it = st->hops.find(u);
  uint32_t hops = it == st->hops.end() ? 0 : it->second;
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
    st_->pred[e.to] = e;
    st_->hops[e.to] = st_->hops[e.from] + 1;
  }

 private:
  SearchState* st_;
};

// The predecessor chain from target back to source, or empty if it is broken or too long.
Path ChainTo(const SearchState& st, NodeId source, NodeId target, size_t max_hops) {
  Path path;
  for (NodeId at = target; at != source;) {
    auto it = st.pred.find(at);
    if (it == st.pred.end() || path.size() >= max_hops) return {};
    const EdgeDesc& e = it->second;
    path.push_back({e.from, e.type, e.dir, e.to, e.weight, e.ts, e.count});
    at = e.from;
  }
  std::reverse(path.begin(), path.end());
  return path;
}

}  // namespace

Result<std::vector<Path>> BestPaths(const Graph& graph, NodeId source,
                                    const std::vector<NodeId>& targets,
                                    const PathSearchOptions& options) {
  if (!graph.Exists(source)) return Status::NotFound("path source node does not exist");
  std::vector<Path> out(targets.size());
  if (options.deadline.Expired()) return Status::DeadlineExceeded("path search deadline passed");
  SearchState st;
  for (NodeId t : targets) {
    if (t != source && graph.Exists(t) && st.targets.emplace(t, false).second) ++st.remaining;
  }
  if (st.remaining == 0 || options.max_hops == 0) return out;
  st.max_hops = options.max_hops;
  st.max_expanded = options.max_expanded;
  st.deadline = &options.deadline;
  st.hops[source] = 0;
  GraphView view(GraphAccess::Get(graph), options.edge_types);
  std::vector<NodeId> wanted;
  for (const auto& [t, examined] : st.targets) wanted.push_back(t);
  view.SetExpand(&HopLimit, &st, std::move(wanted));
  view.SetListCap(options.max_neighbors_per_list);

  std::unordered_map<NodeId, double> dist;
  std::unordered_map<NodeId, boost::default_color_type> color;
  std::unordered_map<NodeId, size_t> index;
  bgl::DefaultingMap<double> dist_map{&dist, std::numeric_limits<double>::infinity()};
  bgl::DefaultingMap<boost::default_color_type> color_map{&color, boost::white_color};
  bgl::LazyIndexMap index_map{&index};
  put(dist_map, source, 0.0);

  try {
    boost::dijkstra_shortest_paths_no_init(view, source, boost::dummy_property_map(), dist_map,
                                           bgl::CostMap(), index_map, std::less<double>(),
                                           std::plus<double>(), 0.0, PathVisitor(&st), color_map);
  } catch (Stop s) {
    if (s == Stop::kDeadline) return Status::DeadlineExceeded("path search deadline passed");
  } catch (const std::exception& e) {
    return Status::Internal(std::string("path search failed: ") + e.what());
  }
  // A target's path is final (the best within the bounds) once Dijkstra examined it; one only
  // relaxed when a bound stopped the search might still improve, so it is not reported.
  for (size_t i = 0; i < targets.size(); ++i) {
    auto it = st.targets.find(targets[i]);
    if (it == st.targets.end() || !it->second) continue;
    out[i] = ChainTo(st, source, targets[i], options.max_hops);
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
