// MATCH planning: binds the patterns, WHERE, RETURN, ORDER BY and paging, and lays out the
// operator pipeline: for each pattern a start (id lookup or type scan, or a position already
// bound by an earlier pattern) followed by expansions outward from it; each WHERE conjunct runs
// right after the operator that binds its last variable; then projection or aggregation,
// DISTINCT, sort and SKIP/LIMIT.
#include <algorithm>

#include "query/ast_text.h"
#include "query/binder.h"
#include "query/match_ops.h"
#include "query/pattern_exec.h"

namespace pathwise::query {

namespace {

struct Conjunct {
  BoundExprPtr expr;
  std::string text;
  bool placed = false;
};

// `x.id = e`, `e = x.id` or `x.id IN e` with e independent of the row: an id lookup for x.
const BoundExpr* IdLookupFor(const BoundExpr& c, int slot) {
  auto is_key_of_slot = [&](const BoundExpr& e) {
    return e.kind == BK::kNodeKey && e.args[0]->kind == BK::kSlot &&
           static_cast<int>(e.args[0]->index) == slot;
  };
  if (c.kind == BK::kCompare && c.op == '=') {
    if (is_key_of_slot(*c.args[0]) && c.args[1]->slots == 0 && c.args[1]->flags == 0) {
      return c.args[1].get();
    }
    if (is_key_of_slot(*c.args[1]) && c.args[0]->slots == 0 && c.args[0]->flags == 0) {
      return c.args[0].get();
    }
  }
  if (c.kind == BK::kIn && !c.negated && is_key_of_slot(*c.args[0]) && c.args[1]->slots == 0 &&
      c.args[1]->flags == 0) {
    return c.args[1].get();
  }
  return nullptr;
}

std::string NodeLabel(const ast::NodePattern& n) { return NodePatternText(n); }

class MatchPlanner {
 public:
  MatchPlanner(const ast::MatchQuery& q, Binder* b)
      : q_(q), b_(b), plan_(std::get<MatchPlan>(b->plan()->body)) {}

  void Run() {
    // 1. Patterns: declare variables (a repeated node variable joins; edge variables are unique).
    for (const ast::Pattern& p : q_.patterns) {
      specs_.push_back(b_->BindPattern(p, [&](const std::string& name, bool is_edge, TypeId type,
                                             ast::Position pos) { return Declare(name, is_edge, type, pos); },
                                       /*anon_slots=*/true));
    }
    plan_.width = b_->width();
    // 2. WHERE conjuncts.
    if (q_.where) {
      std::vector<const ast::Expr*> parts;
      SplitConjuncts(*q_.where, &parts);
      ExprContext ctx;
      ctx.clause = "WHERE";
      for (const ast::Expr* part : parts) {
        conjuncts_.push_back(Conjunct{b_->Bind(*part, ctx), ExprText(*part)});
      }
    }
    bound_.assign(plan_.width, false);
    // 3. Pattern operators.
    for (size_t i = 0; i < specs_.size(); ++i) PlanPattern(i);
    PlaceFilters(/*all=*/true);
    // 4. Projection.
    PlanReturn();
    int id = 0;
    for (auto& op : plan_.ops) {
      op->set_id(id++);
      b_->plan()->op_names.push_back(op->name());
    }
    b_->plan()->op_count = plan_.ops.size();
  }

 private:
  int Declare(const std::string& name, bool is_edge, TypeId type, ast::Position pos) {
    auto& vars = b_->vars();
    auto it = vars.find(name);
    if (it != vars.end()) {
      if (is_edge || it->second.is_edge) {
        Fail(is_edge && it->second.is_edge ? "edge variable '" + name + "' is used twice"
                                           : "variable '" + name + "' is both a node and an edge",
             pos);
      }
      if (it->second.type == kInvalidType) it->second.type = type;
      return it->second.slot;
    }
    VarInfo info;
    info.name = name;
    info.slot = b_->NewSlot();
    info.is_edge = is_edge;
    info.type = type;
    vars.emplace(name, info);
    return info.slot;
  }

  void Add(std::unique_ptr<MatchOp> op) { plan_.ops.push_back(std::move(op)); }

  bool AllBound(uint64_t slots) const {
    for (size_t s = 0; s < bound_.size(); ++s) {
      if ((slots >> s & 1) && !bound_[s]) return false;
    }
    return true;
  }

  void PlaceFilters(bool all) {
    std::vector<BoundExprPtr> ready;
    std::string text;
    for (Conjunct& c : conjuncts_) {
      if (c.placed || !(all || AllBound(c.expr->slots))) continue;
      c.placed = true;
      text += (text.empty() ? "" : " AND ") + c.text;
      ready.push_back(std::move(c.expr));
    }
    if (!ready.empty()) Add(MakeFilterOp("Filter " + text, std::move(ready)));
  }

  // A copy of a node spec for an operator (expressions are re-bound: plans own them once).
  NodeSpec SpecFor(size_t pattern, size_t pos) {
    const ast::NodePattern& n = q_.patterns[pattern].nodes[pos];
    NodeSpec spec = b_->BindNode(n);
    spec.slot = specs_[pattern].nodes[pos].slot;
    return spec;
  }

  void PlanPattern(size_t index) {
    const PatternSpec& p = specs_[index];
    const ast::Pattern& ast = q_.patterns[index];
    int n = static_cast<int>(p.nodes.size());
    int start = -1;
    for (int pos = 0; pos < n && start < 0; ++pos) {
      if (bound_[p.nodes[pos].slot]) start = pos;
    }
    if (start >= 0) {
      NodeSpec spec = SpecFor(index, start);
      if (spec.HasFilter()) Add(MakeNodeCheckOp("NodeCheck " + NodeLabel(ast.nodes[start]), std::move(spec)));
    } else {
      const BoundExpr* lookup = nullptr;
      NodeSpec spec;
      // a) {id: expr} independent of the row.
      for (int pos = 0; pos < n && start < 0; ++pos) {
        if (p.nodes[pos].id && p.nodes[pos].id->slots == 0) {
          start = pos;
          spec = SpecFor(index, pos);
          lookup = spec.id.get();
        }
      }
      // b) WHERE x.id = e / x.id IN e.
      for (int pos = 0; pos < n && start < 0; ++pos) {
        for (const Conjunct& c : conjuncts_) {
          const BoundExpr* e = c.placed ? nullptr : IdLookupFor(*c.expr, p.nodes[pos].slot);
          if (e != nullptr) {
            start = pos;
            lookup = e;
            break;
          }
        }
      }
      // c) a scan of the first typed position, else of every node.
      for (int pos = 0; pos < n && start < 0; ++pos) {
        if (p.nodes[pos].type != kInvalidType) start = pos;
      }
      if (start < 0) start = 0;
      if (spec.slot < 0) spec = SpecFor(index, start);
      std::string label = NodeLabel(ast.nodes[start]);
      Add(MakeStartOp((lookup ? "NodeByIdLookup " : "NodeScan ") + label, std::move(spec), lookup));
    }
    bound_[p.nodes[start].slot] = true;
    PlaceFilters(false);
    std::vector<int> order = ExpansionOrder(n, start);
    for (size_t k = 1; k < order.size(); ++k) {
      int pos = order[k];
      int prev = PrevOf(pos, start);
      int hop_index = std::min(pos, prev);
      const HopSpec& hop = p.hops[hop_index];
      std::vector<int> earlier;
      for (const auto& [slot, is_edge] : edge_slots_) earlier.push_back(slot);
      bool to_bound = bound_[p.nodes[pos].slot];
      HopSpec hop_copy;
      hop_copy.slot = hop.slot;
      hop_copy.var = hop.var;
      hop_copy.types = hop.types;
      hop_copy.dir = hop.dir;
      hop_copy.cap = hop.cap;
      hop_copy.pos = hop.pos;
      std::string text = "Expand " + NodeLabel(ast.nodes[prev]) +
                         EdgePatternText(ast.edges[hop_index], /*reversed=*/pos < prev) +
                         NodeLabel(ast.nodes[pos]);
      Add(MakeExpandOp(text, std::move(hop_copy), SpecFor(index, pos), p.nodes[prev].slot,
                       /*reverse=*/pos < prev, to_bound, std::move(earlier)));
      bound_[p.nodes[pos].slot] = true;
      if (hop.slot >= 0) {
        bound_[hop.slot] = true;
        edge_slots_.emplace_back(hop.slot, true);
      }
      PlaceFilters(false);
    }
  }

  void PlanReturn() {
    std::vector<AggSpec>& aggs = b_->plan()->match_aggs;
    ExprContext ctx;
    ctx.aggs = &aggs;
    ctx.clause = "RETURN";
    std::vector<BoundExprPtr> items;
    std::vector<bool> is_key;
    for (const ast::ReturnItem& item : q_.returns) {
      items.push_back(b_->Bind(*item.expr, ctx));
      is_key.push_back((items.back()->flags & kUsesAgg) == 0);
      plan_.columns.push_back(item.alias.empty() ? item.text : item.alias);
    }
    bool aggregate = !aggs.empty();
    // ORDER BY: aliases and expressions equal to a return item refer to that column.
    std::vector<std::pair<size_t, bool>> sort_columns;
    std::vector<BoundExprPtr> extra;
    for (const ast::SortItem& s : q_.order_by) {
      int column = -1;
      std::string text = ExprText(*s.expr);
      for (size_t i = 0; i < q_.returns.size() && column < 0; ++i) {
        const ast::ReturnItem& item = q_.returns[i];
        bool alias = s.expr->kind == ast::ExprKind::kVariable && item.alias == s.expr->name;
        if (alias || text == ExprText(*item.expr)) column = static_cast<int>(i);
      }
      if (column < 0) {
        ExprContext sort_ctx = ctx;
        sort_ctx.clause = "ORDER BY";
        if (!aggregate) sort_ctx.aggs = nullptr;
        extra.push_back(b_->Bind(*s.expr, sort_ctx));
        column = static_cast<int>(items.size() + extra.size() - 1);
      }
      sort_columns.emplace_back(static_cast<size_t>(column), s.descending);
    }
    size_t n_items = items.size();
    if (aggregate) {
      Add(MakeAggregateOp(std::move(items), std::move(is_key), std::move(extra)));
    } else {
      Add(MakeProjectOp(std::move(items), std::move(extra)));
    }
    if (q_.distinct) Add(MakeDistinctOp(n_items));
    if (!sort_columns.empty()) Add(MakeSortOp(std::move(sort_columns)));
    if (q_.skip || q_.limit) {
      ExprContext page;
      page.clause = "SKIP/LIMIT";
      BoundExprPtr skip = q_.skip ? b_->Bind(*q_.skip, page) : nullptr;
      BoundExprPtr limit = q_.limit ? b_->Bind(*q_.limit, page) : nullptr;
      if ((skip && skip->slots) || (limit && limit->slots)) {
        Fail("SKIP and LIMIT cannot use variables", (skip && skip->slots ? skip : limit)->pos);
      }
      Add(MakeSkipLimitOp(std::move(skip), std::move(limit)));
    }
  }

  const ast::MatchQuery& q_;
  Binder* b_;
  MatchPlan& plan_;
  std::vector<PatternSpec> specs_;
  std::vector<Conjunct> conjuncts_;
  std::vector<bool> bound_;
  std::vector<std::pair<int, bool>> edge_slots_;
};

}  // namespace

void PlanMatch(const ast::MatchQuery& q, Binder* binder) { MatchPlanner(q, binder).Run(); }

}  // namespace pathwise::query
