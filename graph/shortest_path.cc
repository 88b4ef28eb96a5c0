// ShortestPaths: BGL breadth-first search over GraphView with hash-map property maps, bounded by
// hops (the view's expand function), expansions, a per-list fan-out cap and a deadline. Every
// predecessor edge of a node on the level before it is kept, so all shortest paths can be
// enumerated backwards from the target once its level is complete.
#include <boost/graph/breadth_first_search.hpp>
#include <boost/pending/queue.hpp>
#include <algorithm>
#include <unordered_map>

#include "graph/bgl_adapter.h"
#include "graph/graph.h"

namespace pathwise::graph {
namespace {

using bgl::EdgeDesc;
using bgl::GraphView;

// Thrown by the visitor to end the search; caught in ShortestPaths, never leaves graph/.
enum class Stop { kDone, kBudget, kDeadline };

struct BfsState {
  NodeId target = kInvalidNode;
  bool all = false;
  size_t max_hops = 0;
  size_t max_expanded = 0;
  const Deadline* deadline = nullptr;
  size_t expanded = 0;
  uint32_t found_at = UINT32_MAX;  // the target's level once discovered
  std::unordered_map<NodeId, uint32_t> level;
  std::unordered_map<NodeId, std::vector<EdgeDesc>> preds;  // edges from the level before
};

GraphView::Expand LevelLimit(const void* ctx, NodeId u) {
  const auto* st = static_cast<const BfsState*>(ctx);
  uint32_t level = st->level.at(u);
  if (level >= st->max_hops) return GraphView::Expand::kNone;
  if (level + 1 == st->max_hops) return GraphView::Expand::kOnlyTo;
  return GraphView::Expand::kAll;
}

class BfsVisitor : public boost::default_bfs_visitor {
 public:
  explicit BfsVisitor(BfsState* st) : st_(st) {}
  void examine_vertex(NodeId u, const GraphView&) const {
    // Every node of the target's level's predecessors was examined: all paths are known.
    if (st_->level.at(u) >= st_->found_at) throw Stop::kDone;
    ++st_->expanded;
    if ((st_->expanded & 255) == 0 && st_->deadline->Expired()) throw Stop::kDeadline;
    if (st_->expanded > st_->max_expanded) throw Stop::kBudget;
  }
  void tree_edge(const EdgeDesc& e, const GraphView&) const {
    uint32_t level = st_->level.at(e.from) + 1;
    st_->level[e.to] = level;
    st_->preds[e.to].push_back(e);
    if (e.to != st_->target) return;
    st_->found_at = level;
    if (!st_->all) throw Stop::kDone;
  }
  // A discovered node still queued: another edge into it from the level before is another way.
  void gray_target(const EdgeDesc& e, const GraphView&) const {
    if (st_->all && st_->level.at(e.to) == st_->level.at(e.from) + 1) {
      st_->preds[e.to].push_back(e);
    }
  }

 private:
  BfsState* st_;
};

// Appends to *out the paths from the source to `at` (walked backwards over preds), each
// followed by `suffix` (reversed), until out holds max_paths.
void Enumerate(const BfsState& st, NodeId at, std::vector<PathStep>* suffix, size_t max_paths,
               std::vector<Path>* out) {
  if (out->size() >= max_paths) return;
  auto it = st.preds.find(at);
  if (it == st.preds.end()) {  // the source
    out->emplace_back(suffix->rbegin(), suffix->rend());
    return;
  }
  for (const EdgeDesc& e : it->second) {
    suffix->push_back({e.from, e.type, e.dir, e.to, e.weight, e.ts, e.count});
    Enumerate(st, e.from, suffix, max_paths, out);
    suffix->pop_back();
    if (out->size() >= max_paths) return;
  }
}

}  // namespace

Result<std::vector<Path>> ShortestPaths(const Graph& graph, NodeId source, NodeId target,
                                        const ShortestPathOptions& options) {
  if (!graph.Exists(source)) return Status::NotFound("path source node does not exist");
  if (!graph.Exists(target)) return Status::NotFound("path target node does not exist");
  if (source == target) return std::vector<Path>(1);
  if (options.deadline.Expired()) return Status::DeadlineExceeded("path search deadline passed");
  if (options.max_hops == 0) return std::vector<Path>();
  BfsState st;
  st.target = target;
  st.all = options.all;
  st.max_hops = options.max_hops;
  st.max_expanded = options.max_expanded;
  st.deadline = &options.deadline;
  st.level[source] = 0;
  GraphView view(GraphAccess::Get(graph), options.edge_types);
  view.SetExpand(&LevelLimit, &st, {target});
  view.SetListCap(options.max_neighbors_per_list);
  view.SetDirections(options.follow_out, options.follow_in);
  std::unordered_map<NodeId, boost::default_color_type> color;
  bgl::DefaultingMap<boost::default_color_type> color_map{&color, boost::white_color};
  boost::queue<NodeId> queue;
  try {
    boost::breadth_first_visit(view, source, queue, BfsVisitor(&st), color_map);
  } catch (Stop s) {
    if (s == Stop::kDeadline) return Status::DeadlineExceeded("path search deadline passed");
    if (s == Stop::kBudget) {
      return Status::ResourceExhausted("shortest path search expanded more than " +
                                       std::to_string(options.max_expanded) + " nodes");
    }
  } catch (const std::exception& e) {
    return Status::Internal(std::string("path search failed: ") + e.what());
  }
  std::vector<Path> out;
  if (st.found_at == UINT32_MAX) return out;
  std::vector<PathStep> suffix;
  Enumerate(st, target, &suffix, options.all ? options.max_paths : 1, &out);
  return out;
}

}  // namespace pathwise::graph
