// Variable-length relationships in MATCH (match_ops.h): VarExpand walks -[*min..max]->
// depth-first per input row.
#include <algorithm>

#include "query/match_ops.h"
#include "query/pattern_exec.h"

namespace pathwise::query {

namespace {

class VarExpandOp : public MatchOp {
 public:
  VarExpandOp(std::string name, ExpandSpec x) : MatchOp(std::move(name)), x_(std::move(x)) {}

 protected:
  Status Execute(MatchState* st, OpCounts* counts) const override {
    counts->rows_in = st->rows;
    Walk w;
    w.st = st;
    w.out = &NewTable(st);
    w.row.resize(st->width);
    w.steps.resize(x_.hop.max_hops);
    for (size_t r = 0; r < st->rows && st->error.ok(); ++r) {
      w.in = st->table.Row(r);
      NodeId from = w.in[x_.from_slot].node;
      if (from == kInvalidNode) continue;
      w.path.clear();
      PW_RETURN_IF_ERROR(Visit(&w, from));
    }
    if (!st->error.ok()) return st->error;
    Publish(st, w.out, counts);
    return st->error;
  }

 private:
  // One input row's walk: the edges taken so far and a step buffer per depth.
  struct Walk {
    MatchState* st = nullptr;
    RowTable* out = nullptr;
    const Slot* in = nullptr;
    std::vector<Slot> row;
    std::vector<Slot> path;
    std::vector<std::vector<Step>> steps;
  };

  // Emits the walk ending at `node` when it is long enough, then extends it by one edge.
  Status Visit(Walk* w, NodeId node) const {
    MatchState* st = w->st;
    const size_t depth = w->path.size();
    if (depth >= x_.hop.min_hops) PW_RETURN_IF_ERROR(Emit(w, node));
    if (depth == x_.hop.max_hops) return Status::OK();
    std::vector<Step>& steps = w->steps[depth];
    if (HopNeighbors(*st, x_.hop, node, x_.reverse, x_.hop.cap, &steps)) st->hops_truncated = true;
    if (!st->Tick(static_cast<uint32_t>(std::min<size_t>(steps.size(), UINT32_MAX)))) {
      return st->error;
    }
    for (const Step& step : steps) {
      if (!st->Tick()) return st->error;
      Slot edge = EdgeSlot(node, step);
      bool used = std::any_of(w->path.begin(), w->path.end(),
                              [&](const Slot& e) { return SameEdge(e, edge); });
      if (used || EdgeReused(*st, w->in, x_.earlier_edges, edge)) continue;
      w->path.push_back(edge);
      PW_RETURN_IF_ERROR(Visit(w, step.nb.node));
      w->path.pop_back();
    }
    return Status::OK();
  }

  Status Emit(Walk* w, NodeId node) const {
    MatchState* st = w->st;
    if (x_.to_bound && w->in[x_.spec.slot].node != node) return Status::OK();
    std::copy_n(w->in, st->width, w->row.begin());
    w->row[x_.spec.slot].node = node;
    if (x_.spec.HasFilter() && !NodeMatches(x_.spec, node, Env(st, w->row.data()))) {
      return Status::OK();
    }
    RtList edges;
    edges.reserve(w->path.size());
    for (const Slot& e : w->path) edges.emplace_back(EdgeValOf(e));
    if (x_.reverse) std::reverse(edges.begin(), edges.end());  // walked right to left
    // A zero-length walk (*0..) binds the empty list, not null.
    if (!StoreValue(st, MakeList(std::move(edges)), &w->row[x_.hop.slot])) return st->error;
    return Append(st, w->out, w->row.data());
  }

  ExpandSpec x_;
};

}  // namespace

std::unique_ptr<MatchOp> MakeVarExpandOp(std::string name, ExpandSpec expand) {
  return std::make_unique<VarExpandOp>(std::move(name), std::move(expand));
}

}  // namespace pathwise::query
