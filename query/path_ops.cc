// Path values in MATCH (match_ops.h): Path assembles `p = (...)` from a row's slots.
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

}  // namespace

std::unique_ptr<MatchOp> MakePathOp(std::string name, std::vector<int> nodes,
                                    std::vector<PathPart> hops, int slot) {
  return std::make_unique<PathOp>(std::move(name), std::move(nodes), std::move(hops), slot);
}

}  // namespace pathwise::query
