// MATCH planning: a query is a pipeline of clauses ending in RETURN, planned in order over one
// binding table. A MATCH clause gives, for each pattern, a start (id lookup or type scan, or a
// position already bound by an earlier pattern or clause) followed by expansions outward from
// it, each WHERE conjunct right after the operator that binds its last variable; OPTIONAL MATCH
// wraps those operators in OptionalBegin/OptionalEnd. UNWIND adds a value variable. WITH and
// RETURN project (or aggregate), then DISTINCT, sort and SKIP/LIMIT; WITH then rebinds its items
// as the only variables in scope (openCypher scoping) and applies its WHERE. The parts of a UNION
// are planned one after another in one operator list, each from an empty row and scope.
#include <algorithm>

#include "query/ast_rewrite.h"
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

// `x.id = e`, `e = x.id` or `x.id IN e` with e reading only slots in `bound` (earlier clauses'
// variables): an id lookup for x.
const BoundExpr* IdLookupFor(const BoundExpr& c, int slot, uint64_t bound) {
  auto is_key_of_slot = [&](const BoundExpr& e) {
    return e.kind == BK::kNodeKey && e.args[0]->kind == BK::kSlot &&
           static_cast<int>(e.args[0]->index) == slot;
  };
  auto independent = [&](const BoundExpr& e) { return (e.slots & ~bound) == 0 && e.flags == 0; };
  if (c.kind == BK::kCompare && c.op == '=') {
    if (is_key_of_slot(*c.args[0]) && independent(*c.args[1])) return c.args[1].get();
    if (is_key_of_slot(*c.args[1]) && independent(*c.args[0])) return c.args[0].get();
  }
  if (c.kind == BK::kIn && !c.negated && is_key_of_slot(*c.args[0]) && independent(*c.args[1])) {
    return c.args[1].get();
  }
  return nullptr;
}

// SKIP or LIMIT given as a literal must be a non-negative integer (checked when planning).
void CheckPageLiteral(const BoundExpr* e, const char* what) {
  if (e == nullptr || e->kind != BK::kConst) return;
  if (!e->value.IsInt() || e->value.AsInt() < 0) {
    Fail(std::string(what) + " must be a non-negative integer", e->pos);
  }
}

std::string NodeLabel(const ast::NodePattern& n) { return NodePatternText(n); }

class MatchPlanner {
 public:
  MatchPlanner(Binder* b, MatchPlan* plan) : b_(b), plan_(*plan) {}

  void Run(const ast::MatchQuery& q) {
    PlanPart(q, &plan_.columns);
    size_t width = b_->width();
    for (const ast::UnionPart& part : q.unions) {
      Add(MakeUnionPartOp(plan_.columns.size()));
      b_->ResetWidth(0);  // the next part starts from an empty row: its slots are its own
      std::vector<std::string> columns;
      PlanPart(*part.query, &columns);
      if (columns != plan_.columns) {
        Fail("every part of a UNION must return the same columns: the first returns (" +
                 Join(plan_.columns) + "), this one (" + Join(columns) + ")",
             part.pos);
      }
      width = std::max(width, b_->width());
    }
    if (!q.unions.empty()) {
      bool all = q.unions[0].all;
      Add(MakeUnionOp(plan_.columns.size(), all));
      if (!all) Add(MakeDistinctOp(plan_.columns.size()));
    }
    plan_.width = width;
    NumberOps();
  }

  // The clauses before RECOMMEND, ending in WITH: planned like a match query whose last
  // operator projects the WITH's names (plan_.columns), in order.
  void RunPrelude(const std::vector<ast::Clause>& clauses) {
    const ast::Clause& with = clauses.back();
    if (with.kind != ast::ClauseKind::kWith) {
      Fail("the clauses before RECOMMEND must end with WITH, which names what RECOMMEND reads, "
           "e.g. MATCH (m:Movie {title: $title}) WITH m RECOMMEND (c:Movie) FOR m ...",
           with.pos);
    }
    b_->vars().clear();
    bound_.assign(kMaxSlots, false);
    PlanClauses(clauses);
    std::vector<BoundExprPtr> items;
    ExprContext ctx;
    ctx.clause = "WITH";
    for (const ast::ReturnItem& item : with.projection.returns) {
      ast::Expr var;
      var.kind = ast::ExprKind::kVariable;
      var.name = item.alias.empty() ? item.expr->name : item.alias;
      var.pos = item.expr->pos;
      items.push_back(b_->Bind(var, ctx));
      plan_.columns.push_back(var.name);
    }
    Add(MakeProjectOp(std::move(items), {}));
    plan_.width = b_->width();
    b_->vars().clear();
    NumberOps();
  }

 private:
  static constexpr size_t kMaxSlots = 64;  // BoundExpr::slots is a 64-bit set

  static std::string Join(const std::vector<std::string>& names) {
    std::string out;
    for (const std::string& name : names) out += (out.empty() ? "" : ", ") + name;
    return out;
  }

  // One query of a union (or the whole query): its clauses, then RETURN, in a fresh scope.
  void PlanPart(const ast::MatchQuery& q, std::vector<std::string>* columns) {
    b_->vars().clear();
    bound_.assign(kMaxSlots, false);
    PlanClauses(q.clauses);
    PlanProjection(q, "RETURN", columns);
  }

  void PlanClauses(const std::vector<ast::Clause>& clauses) {
    for (const ast::Clause& clause : clauses) {
      switch (clause.kind) {
        case ast::ClauseKind::kMatch: PlanMatchClause(clause); break;
        case ast::ClauseKind::kUnwind: PlanUnwind(clause); break;
        case ast::ClauseKind::kWith: PlanWith(clause); break;
      }
    }
  }

  // Operator ids continue the plan's numbering (a RECOMMEND's prelude comes first).
  void NumberOps() {
    for (auto& op : plan_.ops) {
      op->set_id(static_cast<int>(b_->plan()->op_names.size()));
      b_->plan()->op_names.push_back(op->name());
    }
    b_->plan()->op_count = b_->plan()->op_names.size();
  }

  int NewSlot(ast::Position pos) {
    if (b_->width() >= kMaxSlots) {
      Fail("too many variables in one query (at most 64 pattern positions and variables)", pos);
    }
    return b_->NewSlot();
  }

  int Declare(const std::string& name, bool is_edge, TypeId type, ast::Position pos) {
    auto& vars = b_->vars();
    auto it = vars.find(name);
    if (it != vars.end()) {
      if (it->second.is_value) {
        Fail("variable '" + name + "' is a value, not a node or an edge; it cannot be used in a pattern",
             pos);
      }
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
    info.slot = NewSlot(pos);
    info.is_edge = is_edge;
    info.type = type;
    vars.emplace(name, info);
    return info.slot;
  }

  void Add(std::unique_ptr<MatchOp> op) { plan_.ops.push_back(std::move(op)); }

  // A new value variable (UNWIND's, a path's); returns its slot.
  int DeclareValue(const std::string& name, ast::Position pos) {
    if (b_->vars().count(name)) Fail("variable '" + name + "' is already defined", pos);
    VarInfo info;
    info.name = name;
    info.slot = NewSlot(pos);
    info.is_value = true;
    b_->vars().emplace(name, info);
    return info.slot;
  }

  // p = (...): a value variable, bound by a Path operator once the pattern is matched.
  int DeclarePath(const ast::Pattern& p) { return DeclareValue(p.path_var, p.path_pos); }

  // Adds the Path operator of pattern `index` when it names its path.
  void PlanPath(size_t index) {
    int slot = path_slots_[index];
    if (slot < 0) return;
    const PatternSpec& p = specs_[index];
    std::vector<int> nodes;
    std::vector<PathPart> hops;
    for (const NodeSpec& n : p.nodes) nodes.push_back(n.slot);
    for (const HopSpec& h : p.hops) hops.push_back(PathPart{h.slot, h.var_length});
    Add(MakePathOp("Path " + (*patterns_)[index].path_var, std::move(nodes), std::move(hops), slot));
    bound_[slot] = true;
    PlaceFilters(false);
  }

  bool AllBound(uint64_t slots) const {
    for (size_t s = 0; s < bound_.size(); ++s) {
      if ((slots >> s & 1) && !bound_[s]) return false;
    }
    return true;
  }

  uint64_t BoundSet() const {
    uint64_t set = 0;
    for (size_t s = 0; s < bound_.size(); ++s) set |= bound_[s] ? uint64_t{1} << s : 0;
    return set;
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

  void BindConjuncts(const ast::Expr* where, const char* clause) {
    conjuncts_.clear();
    if (where == nullptr) return;
    std::vector<const ast::Expr*> parts;
    SplitConjuncts(*where, &parts);
    ExprContext ctx;
    ctx.clause = clause;
    for (const ast::Expr* part : parts) {
      conjuncts_.push_back(Conjunct{b_->Bind(*part, ctx), ExprText(*part)});
    }
  }

  // [OPTIONAL] MATCH patterns [WHERE e].
  void PlanMatchClause(const ast::Clause& clause) {
    patterns_ = &clause.patterns;
    specs_.clear();
    path_slots_.clear();
    edge_slots_.clear();  // relationship uniqueness holds within one MATCH clause
    int marker = clause.optional ? NewSlot(clause.pos) : -1;
    if (clause.optional) Add(MakeOptionalBeginOp(marker));
    for (const ast::Pattern& p : clause.patterns) {
      specs_.push_back(b_->BindPattern(p, [&](const std::string& name, bool is_edge, TypeId type,
                                             ast::Position pos) { return Declare(name, is_edge, type, pos); },
                                       /*anon_slots=*/true, /*var_length=*/true));
      path_slots_.push_back(p.path_var.empty() ? -1 : DeclarePath(p));
    }
    if (b_->width() > kMaxSlots) {
      Fail("too many variables in one query (at most 64 pattern positions and variables)",
           clause.pos);
    }
    BindConjuncts(clause.where.get(), clause.optional ? "OPTIONAL MATCH ... WHERE" : "WHERE");
    for (size_t i = 0; i < specs_.size(); ++i) PlanPattern(i);
    PlaceFilters(/*all=*/true);
    if (clause.optional) Add(MakeOptionalEndOp(marker));
  }

  // UNWIND list AS name.
  void PlanUnwind(const ast::Clause& clause) {
    ExprContext ctx;
    ctx.clause = "UNWIND";
    BoundExprPtr list = b_->Bind(*clause.expr, ctx);
    int slot = DeclareValue(clause.alias, clause.pos);
    bound_[slot] = true;
    Add(MakeUnwindOp("Unwind " + ExprText(*clause.expr) + " AS " + clause.alias, std::move(list),
                     slot));
  }

  // WITH projection [WHERE e]: project, then only the projected names are in scope.
  void PlanWith(const ast::Clause& clause) {
    const ast::Projection& proj = clause.projection;
    std::map<std::string, VarInfo> scope;
    std::vector<RebindSlot> columns;
    for (const ast::ReturnItem& item : proj.returns) {
      bool bare = item.expr->kind == ast::ExprKind::kVariable;
      if (item.alias.empty() && !bare) {
        Fail("WITH items must be named with AS unless they are variables", item.expr->pos);
      }
      std::string name = item.alias.empty() ? item.expr->name : item.alias;
      if (scope.count(name)) Fail("WITH names '" + name + "' twice", item.expr->pos);
      VarInfo info;
      info.name = name;
      info.is_value = true;
      auto old = bare ? b_->vars().find(item.expr->name) : b_->vars().end();
      if (old != b_->vars().end() && !old->second.is_value) {  // nodes and edges stay pattern-usable
        info.is_value = false;
        info.is_edge = old->second.is_edge;
        info.type = old->second.type;
      }
      scope.emplace(name, info);
    }
    PlanProjection(proj, "WITH", nullptr);
    std::fill(bound_.begin(), bound_.end(), false);
    for (const ast::ReturnItem& item : proj.returns) {
      VarInfo& info = scope.at(item.alias.empty() ? item.expr->name : item.alias);
      info.slot = NewSlot(item.expr->pos);
      bound_[info.slot] = true;
      columns.push_back({info.slot, info.is_value  ? RebindSlot::kValue
                                    : info.is_edge ? RebindSlot::kEdge
                                                   : RebindSlot::kNode});
    }
    b_->vars() = std::move(scope);
    Add(MakeRebindOp(std::move(columns)));
    BindConjuncts(clause.where.get(), "WITH ... WHERE");
    PlaceFilters(/*all=*/true);
  }

  // A copy of a node spec for an operator (expressions are re-bound: plans own them once).
  NodeSpec SpecFor(size_t pattern, size_t pos) {
    const ast::NodePattern& n = (*patterns_)[pattern].nodes[pos];
    NodeSpec spec = b_->BindNode(n);
    spec.slot = specs_[pattern].nodes[pos].slot;
    return spec;
  }

  // The position a pattern starts from and, for an id lookup, the expression giving the id(s)
  // and, when a WHERE conjunct gave it, that conjunct (*answered; the lookup answers it).
  int ChooseStart(const PatternSpec& p, const BoundExpr** lookup, Conjunct** answered) {
    int n = static_cast<int>(p.nodes.size());
    uint64_t bound = BoundSet();
    // a) {id: expr} with expr reading only earlier clauses' variables.
    for (int pos = 0; pos < n; ++pos) {
      if (p.nodes[pos].id && (p.nodes[pos].id->slots & ~bound) == 0) return pos;
    }
    // b) WHERE x.id = e / x.id IN e.
    for (int pos = 0; pos < n; ++pos) {
      for (Conjunct& c : conjuncts_) {
        const BoundExpr* e = c.placed ? nullptr : IdLookupFor(*c.expr, p.nodes[pos].slot, bound);
        if (e != nullptr) {
          *lookup = e;
          *answered = &c;
          return pos;
        }
      }
    }
    // c) a scan of the first typed position, else of every node.
    for (int pos = 0; pos < n; ++pos) {
      if (p.nodes[pos].type != kInvalidType) return pos;
    }
    return 0;
  }

  // shortestPath((a)-[...]-(b)) / allShortestPaths: both ends bound earlier, one relationship.
  void PlanShortestPath(size_t index) {
    const PatternSpec& p = specs_[index];
    const ast::Pattern& ast = (*patterns_)[index];
    const char* fn = ast.search == ast::PathSearch::kAllShortest ? "allShortestPaths" : "shortestPath";
    if (p.hops.size() != 1) {
      Fail(std::string(fn) + " takes a pattern of one relationship, e.g. " + fn +
               "((a)-[:T*..5]-(b))",
           ast.pos);
    }
    if (!bound_[p.nodes[0].slot] || !bound_[p.nodes[1].slot]) {
      Fail(std::string(fn) + " needs both end nodes bound by an earlier pattern or clause, e.g. " +
               "MATCH (a {id: $x}), (b {id: $y}), p = " + fn + "((a)-[*..5]-(b))",
           ast.pos);
    }
    const HopSpec& hop = p.hops[0];
    if (!hop.props.empty()) {
      Fail(std::string(fn) + " does not take a property map in its relationship; filter the "
               "path in WHERE, e.g. WHERE size([r IN relationships(p) WHERE r.weight <> 1]) = 0",
           hop.pos);
    }
    if (!hop.var_length) {
      Fail(std::string(fn) + " takes a variable-length relationship, e.g. -[*..5]-", hop.pos);
    }
    if (hop.min_hops > 1) Fail(std::string(fn) + " takes a lower bound of 0 or 1", hop.pos);
    for (int pos = 0; pos < 2; ++pos) {
      NodeSpec spec = SpecFor(index, pos);
      if (spec.HasFilter()) {
        Add(MakeNodeCheckOp("NodeCheck " + NodeLabel(ast.nodes[pos]), std::move(spec)));
      }
    }
    std::string name = ast.search == ast::PathSearch::kAllShortest ? "AllShortestPaths " : "ShortestPath ";
    Add(MakeShortestPathOp(name + PatternText(ast), hop, p.nodes[0].slot, p.nodes[1].slot,
                           ast.search == ast::PathSearch::kAllShortest));
    bound_[hop.slot] = true;
    edge_slots_.emplace_back(hop.slot, true);
    PlaceFilters(false);
    PlanPath(index);
  }

  void PlanPattern(size_t index) {
    if ((*patterns_)[index].search != ast::PathSearch::kNone) return PlanShortestPath(index);
    const PatternSpec& p = specs_[index];
    const ast::Pattern& ast = (*patterns_)[index];
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
      Conjunct* answered = nullptr;
      start = ChooseStart(p, &lookup, &answered);
      NodeSpec spec = SpecFor(index, start);
      if (lookup == nullptr && spec.id && (spec.id->slots & ~BoundSet()) == 0) {
        lookup = spec.id.get();
      }
      std::string label = NodeLabel(ast.nodes[start]);
      BoundExprPtr conjunct;  // the lookup's WHERE conjunct: the start op keeps it, no Filter runs it
      if (answered != nullptr) {
        answered->placed = true;
        conjunct = std::move(answered->expr);
        label += " WHERE " + answered->text;
      }
      Add(MakeStartOp((lookup ? "NodeByIdLookup " : "NodeScan ") + label, std::move(spec), lookup,
                      std::move(conjunct)));
    }
    bound_[p.nodes[start].slot] = true;
    PlaceFilters(false);
    std::vector<int> order = ExpansionOrder(n, start);
    for (size_t k = 1; k < order.size(); ++k) {
      int pos = order[k];
      int prev = PrevOf(pos, start);
      int hop_index = std::min(pos, prev);
      const HopSpec& hop = p.hops[hop_index];
      ExpandSpec x;
      x.hop = hop;
      x.spec = SpecFor(index, pos);
      x.from_slot = p.nodes[prev].slot;
      x.reverse = pos < prev;
      x.to_bound = bound_[p.nodes[pos].slot];
      for (const auto& [slot, is_edge] : edge_slots_) x.earlier_edges.push_back(slot);
      std::string text = "Expand " + NodeLabel(ast.nodes[prev]) +
                         EdgePatternText(ast.edges[hop_index], /*reversed=*/pos < prev) +
                         NodeLabel(ast.nodes[pos]);
      Add(MakeExpandOp(text, std::move(x)));
      bound_[p.nodes[pos].slot] = true;
      if (hop.slot >= 0) {
        bound_[hop.slot] = true;
        edge_slots_.emplace_back(hop.slot, true);
      }
      PlaceFilters(false);
    }
    PlanPath(index);
  }

  // The column an ORDER BY item sorts by: a projected item it names (alias) or repeats (same
  // text), else -1.
  static int SortColumn(const ast::Projection& proj, const ast::SortItem& s) {
    std::string text = ExprText(*s.expr);
    for (size_t i = 0; i < proj.returns.size(); ++i) {
      const ast::ReturnItem& item = proj.returns[i];
      if (s.expr->kind == ast::ExprKind::kVariable && item.alias == s.expr->name) {
        return static_cast<int>(i);
      }
    }
    for (size_t i = 0; i < proj.returns.size(); ++i) {
      if (text == ExprText(*proj.returns[i].expr)) return static_cast<int>(i);
    }
    return -1;
  }

  // RETURN's or WITH's items, ORDER BY, DISTINCT and paging over the current binding table; the
  // result is MatchState::values. columns (RETURN): the column names.
  void PlanProjection(const ast::Projection& proj, const char* clause,
                      std::vector<std::string>* columns) {
    std::vector<AggSpec>& aggs = b_->plan()->match_aggs;
    size_t first_agg = aggs.size();
    ExprContext ctx;
    ctx.aggs = &aggs;
    ctx.clause = clause;
    std::vector<BoundExprPtr> items;
    std::vector<bool> is_key;
    std::map<std::string, const ast::Expr*> aliases;
    for (const ast::ReturnItem& item : proj.returns) {
      items.push_back(b_->Bind(*item.expr, ctx));
      is_key.push_back((items.back()->flags & kUsesAgg) == 0);
      if (columns != nullptr) columns->push_back(item.alias.empty() ? item.text : item.alias);
      if (!item.alias.empty()) aliases.emplace(item.alias, item.expr.get());
    }
    bool aggregate = aggs.size() > first_agg;
    // ORDER BY: aliases and expressions equal to an item refer to that column; other expressions
    // are hidden sort keys, in which an alias stands for its item's expression (ORDER BY n * 2).
    std::vector<std::pair<size_t, bool>> sort_columns;
    std::vector<BoundExprPtr> extra;
    for (const ast::SortItem& s : proj.order_by) {
      int column = SortColumn(proj, s);
      if (column < 0) {
        ExprContext sort_ctx = ctx;
        sort_ctx.clause = "ORDER BY";
        if (!aggregate) sort_ctx.aggs = nullptr;
        if (UsesAnyVariable(*s.expr, aliases)) {
          ast::ExprPtr rewritten = SubstituteAliases(*s.expr, aliases);
          extra.push_back(b_->Bind(*rewritten, sort_ctx));
        } else {
          extra.push_back(b_->Bind(*s.expr, sort_ctx));
        }
        column = static_cast<int>(items.size() + extra.size() - 1);
      }
      sort_columns.emplace_back(static_cast<size_t>(column), s.descending);
    }
    size_t n_items = items.size();
    if (aggregate) {
      Add(MakeAggregateOp(std::move(items), std::move(is_key), std::move(extra), first_agg,
                          aggs.size() - first_agg));
    } else {
      Add(MakeProjectOp(std::move(items), std::move(extra)));
    }
    if (proj.distinct) Add(MakeDistinctOp(n_items));
    if (!sort_columns.empty()) Add(MakeSortOp(std::move(sort_columns)));
    if (proj.skip || proj.limit) {
      ExprContext page;
      page.clause = "SKIP/LIMIT";
      BoundExprPtr skip = proj.skip ? b_->Bind(*proj.skip, page) : nullptr;
      BoundExprPtr limit = proj.limit ? b_->Bind(*proj.limit, page) : nullptr;
      if ((skip && skip->slots) || (limit && limit->slots)) {
        Fail("SKIP and LIMIT cannot use variables", (skip && skip->slots ? skip : limit)->pos);
      }
      CheckPageLiteral(skip.get(), "SKIP");
      CheckPageLiteral(limit.get(), "LIMIT");
      Add(MakeSkipLimitOp(std::move(skip), std::move(limit)));
    }
  }

  Binder* b_;
  MatchPlan& plan_;
  const std::vector<ast::Pattern>* patterns_ = nullptr;  // the MATCH clause being planned
  std::vector<PatternSpec> specs_;
  std::vector<int> path_slots_;  // per pattern of the clause: its path variable's slot, or -1
  std::vector<Conjunct> conjuncts_;
  std::vector<bool> bound_;
  std::vector<std::pair<int, bool>> edge_slots_;
};

}  // namespace

void PlanMatch(const ast::MatchQuery& q, Binder* binder) {
  MatchPlanner(binder, &std::get<MatchPlan>(binder->plan()->body)).Run(q);
}

void PlanPrelude(const std::vector<ast::Clause>& clauses, Binder* binder, MatchPlan* out) {
  MatchPlanner(binder, out).RunPrelude(clauses);
}

}  // namespace pathwise::query
