// Path values in MATCH (match_ops.h): Path assembles `p = (...)` from a row's slots;
// ShortestPath binds shortestPath((a)-[*..n]-(b)) through graph::ShortestPaths.
#include <algorithm>

#include "query/match_ops.h"
#include "query/pattern_exec.h"

namespace pathwise::query {

namespace {

class PathOp : public MatchOp {
 public:
  PathOp(std::string name, std::vector<int> nodes, std::vector<PathPart> hops, int slot)
      : MatchOp(std::move(name)), nodes_(std::move(nodes)), hops_(std::move(hops)), slot_(slot) {}

 protected:
  Status Execute(MatchState* st, OpCounts* counts) const override {
    counts->rows_in = st->rows;
    RowTable& out = NewTable(st);
    std::vector<Slot> row(st->width);
    for (size_t r = 0; r < st->rows; ++r) {
      if (!st->Tick(static_cast<uint32_t>(nodes_.size()))) return st->error;
      std::copy_n(st->table.Row(r), st->width, row.begin());
      if (!StoreValue(st, Build(*st, row.data()), &row[slot_])) return st->error;
      PW_RETURN_IF_ERROR(Append(st, &out, row.data()));
    }
    Publish(st, &out, counts);
    return st->error;
  }

 private:
  // The path of one row, or null when a part is unbound (OPTIONAL MATCH).
  RtValue Build(const ExecState& st, const Slot* row) const {
    RtList path;
    NodeId at = row[nodes_[0]].node;
    if (at == kInvalidNode) return RtValue();
    path.emplace_back(NodeVal{at});
    for (size_t h = 0; h < hops_.size(); ++h) {
      const Slot& s = row[hops_[h].slot];
      if (s.node == kInvalidNode) return RtValue();
      if (!hops_[h].var_length) {
        path.emplace_back(EdgeValOf(s));
        at = row[nodes_[h + 1]].node;
        path.emplace_back(NodeVal{at});
        continue;
      }
      // A chain's edges are in pattern order; each one's far end is the next node, the last
      // one's the position after the chain (none for a chain of zero edges).
      for (const RtValue& e : st.slot_values[static_cast<size_t>(s.ts)].AsList()) {
        const EdgeVal& edge = e.AsEdge();
        path.push_back(e);
        at = edge.src == at ? edge.dst : edge.src;
        path.emplace_back(NodeVal{at});
      }
    }
    return MakeList(std::move(path));
  }

  std::vector<int> nodes_;
  std::vector<PathPart> hops_;
  int slot_;
};

// The stored edge of one step of a graph path.
EdgeVal StepEdge(const graph::PathStep& s) {
  bool out = s.dir == storage::Direction::kOut;
  return EdgeVal{out ? s.from : s.to, out ? s.to : s.from, s.edge_type, s.count, s.weight, s.ts};
}

class ShortestPathOp : public MatchOp {
 public:
  ShortestPathOp(std::string name, HopSpec hop, int from_slot, int to_slot, bool all)
      : MatchOp(std::move(name)), hop_(std::move(hop)), from_slot_(from_slot), to_slot_(to_slot) {
    options_.max_hops = hop_.max_hops;
    options_.edge_types = hop_.types;
    options_.follow_out = hop_.dir != ast::EdgeDirection::kIn;
    options_.follow_in = hop_.dir != ast::EdgeDirection::kOut;
    options_.all = all;
    options_.max_neighbors_per_list = hop_.cap;
  }

 protected:
  Status Execute(MatchState* st, OpCounts* counts) const override {
    counts->rows_in = st->rows;
    RowTable& out = NewTable(st);
    std::vector<Slot> row(st->width);
    graph::ShortestPathOptions options = options_;
    options.deadline = st->deadline;
    for (size_t r = 0; r < st->rows; ++r) {
      if (!st->Tick()) return st->error;
      std::copy_n(st->table.Row(r), st->width, row.begin());
      NodeId from = row[from_slot_].node;
      NodeId to = row[to_slot_].node;
      if (from == kInvalidNode || to == kInvalidNode) continue;
      auto paths = graph::ShortestPaths(*st->graph, from, to, options);
      if (paths.status().code() == Status::Code::kDeadlineExceeded) {
        return Status::DeadlineExceeded(st->deadline_message);
      }
      PW_RETURN_IF_ERROR(paths.status());
      for (const graph::Path& path : *paths) {
        if (!st->Tick(static_cast<uint32_t>(path.size() + 1))) return st->error;
        if (path.size() < hop_.min_hops) continue;
        RtList edges;
        for (const graph::PathStep& step : path) edges.emplace_back(StepEdge(step));
        if (!StoreValue(st, MakeList(std::move(edges)), &row[hop_.slot])) return st->error;
        PW_RETURN_IF_ERROR(Append(st, &out, row.data()));
      }
    }
    Publish(st, &out, counts);
    return st->error;
  }

 private:
  HopSpec hop_;
  int from_slot_;
  int to_slot_;
  graph::ShortestPathOptions options_;
};

}  // namespace

std::unique_ptr<MatchOp> MakeShortestPathOp(std::string name, HopSpec hop, int from_slot,
                                            int to_slot, bool all) {
  return std::make_unique<ShortestPathOp>(std::move(name), std::move(hop), from_slot, to_slot,
                                          all);
}

std::unique_ptr<MatchOp> MakePathOp(std::string name, std::vector<int> nodes,
                                    std::vector<PathPart> hops, int slot) {
  return std::make_unique<PathOp>(std::move(name), std::move(nodes), std::move(hops), slot);
}

}  // namespace pathwise::query
