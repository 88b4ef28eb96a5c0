// RECOMMEND planning: binds the seed and candidate, the sources, WHERE (split into conjuncts and
// classified: seed-only, per source path filters, candidate filters, pattern exclusions), SCORE
// (split into its top-level +/- terms, with per-path aggregates assigned to the source that binds
// their variables), DIVERSIFY and paging; then lays out the operator pipeline.
#include <algorithm>
#include <set>

#include "query/ast_text.h"
#include "query/binder.h"
#include "query/pattern_exec.h"
#include "query/rank_sources.h"
#include "query/recommend_exec.h"

namespace pathwise::query {

namespace {

constexpr int kSeedSlot = 0;
constexpr int kCandidateSlot = 1;
constexpr size_t kMaxSources = 32;
constexpr size_t kMaxRankHops = 16;  // graph/walks.h: 1..16 hops

// Splits a top-level chain a + b - c into terms [(+, a), (+, b), (-, c)].
void SplitTerms(const ast::Expr& e, char op, std::vector<std::pair<char, const ast::Expr*>>* out) {
  if (e.kind == ast::ExprKind::kBinary && (e.op == "+" || e.op == "-")) {
    SplitTerms(*e.args[0], op, out);
    out->emplace_back(e.op[0], e.args[1].get());
    return;
  }
  out->emplace_back(op, &e);
}

class RecommendPlanner {
 public:
  RecommendPlanner(const ast::RecommendQuery& q, Binder* b)
      : q_(q), b_(b), plan_(std::get<RecommendPlan>(b->plan()->body)) {}

  void Run() {
    plan_.pos = q_.pos;
    if (!q_.clauses.empty()) BindPrelude();
    BindSeedAndTarget();
    NameSources();
    b_->source_names = &plan_.source_names;
    for (size_t i = 0; i < q_.sources.size(); ++i) {
      if (const auto* g = std::get_if<ast::GraphSource>(&q_.sources[i])) {
        BindGraphSource(*g, static_cast<int>(i));
      }
    }
    for (size_t i = 0; i < q_.sources.size(); ++i) {
      if (const auto* n = std::get_if<ast::NearestSource>(&q_.sources[i])) {
        BindNearestSource(*n, static_cast<int>(i));
      }
    }
    for (size_t i = 0; i < q_.sources.size(); ++i) {
      if (const auto* r = std::get_if<ast::RankSource>(&q_.sources[i])) {
        BindRankSource(*r, static_cast<int>(i));
      }
    }
    plan_.width = b_->width();
    if (q_.where) BindWhere(*q_.where);
    if (!q_.score.empty()) BindScore(q_.score);
    if (q_.diversify) BindDiversify(*q_.diversify);
    BindPaging();
    ReuseNearestSimilarity();
    for (const ScoreTerm& t : plan_.terms) CollectScoreVectors(*t.expr, -1);
    HoistAll();
    BuildOps();
  }

 private:
  // MATCH ... WITH ... RECOMMEND: the clauses are planned first; the WITH's names become values
  // RECOMMEND reads (Binder::with_values).
  void BindPrelude() {
    plan_.prelude.emplace();
    PlanPrelude(q_.clauses, b_, &*plan_.prelude);
    const std::vector<std::string>& names = plan_.prelude->columns;
    for (size_t c = 0; c < names.size(); ++c) b_->with_values[names[c]] = static_cast<int>(c);
    if (b_->with_values.count(q_.target.var)) {
      Fail("the candidate variable '" + q_.target.var + "' is already a name passed on by WITH",
           q_.target.pos);
    }
  }

  // FOR m, with m a node passed on by WITH: the seed is that node (its type and property map,
  // if written, must match).
  void BindSeedFromWith(const ast::NodePattern& seed) {
    for (const auto& [key, expr] : seed.props) {
      if (key == "id") Fail("the seed '" + seed.var + "' comes from WITH; it takes no id", expr->pos);
    }
    ast::Expr var;
    var.kind = ast::ExprKind::kVariable;
    var.name = seed.var;
    var.pos = seed.pos;
    plan_.seed_value = b_->Bind(var, ExprContext());
  }

  void BindSeedAndTarget() {
    const ast::NodePattern& seed = q_.seed;
    const ast::NodePattern& target = q_.target;
    if (target.var.empty()) Fail("RECOMMEND needs a candidate variable, e.g. (c:Item)", target.pos);
    if (seed.var.empty()) Fail("FOR needs a seed variable, e.g. (u:User {id: $user})", seed.pos);
    if (seed.var == target.var) Fail("the seed and the candidate need different variables", seed.pos);
    b_->ResetWidth(2);
    const bool from_with = b_->with_values.count(seed.var) != 0;
    if (from_with) BindSeedFromWith(seed);
    plan_.seed = b_->BindNode(seed);
    plan_.seed.slot = kSeedSlot;
    if (!plan_.seed.id && !from_with) {
      Fail(q_.clauses.empty() ? "FOR needs the seed's id, e.g. (u:User {id: $user})"
                              : "FOR needs the seed's id, e.g. (u:User {id: $user}), or a node "
                                "passed on by WITH, e.g. WITH m RECOMMEND (c:Movie) FOR m",
           seed.pos);
    }
    if (plan_.seed.id && plan_.seed.id->slots != 0) Fail("the seed id cannot use variables", seed.pos);
    plan_.target = b_->BindNode(target);
    plan_.target.slot = kCandidateSlot;
    if (plan_.target.id && plan_.target.id->slots & ~uint64_t{1}) {
      Fail("the candidate's property map may only use the seed and parameters", target.pos);
    }
    auto& vars = b_->vars();
    vars[seed.var] = VarInfo{seed.var, kSeedSlot, false, plan_.seed.type, -1, false};
    vars[target.var] = VarInfo{target.var, kCandidateSlot, false, plan_.target.type, -1, false};
  }

  void NameSources() {
    if (q_.sources.size() > kMaxSources) {
      Fail("at most " + std::to_string(kMaxSources) + " sources", q_.target.pos);
    }
    int graphs = 0, nearests = 0;
    int ranks[4] = {0, 0, 0, 0};  // by ast::RankAlgorithm
    for (const ast::Source& s : q_.sources) {
      std::string name;
      ast::Position pos;
      if (const auto* g = std::get_if<ast::GraphSource>(&s)) {
        name = g->alias.empty() ? "graph" + std::to_string(++graphs) : g->alias;
        pos = g->pos;
      } else if (const auto* n = std::get_if<ast::NearestSource>(&s)) {
        name = n->alias.empty() ? "nearest" + std::to_string(++nearests) : n->alias;
        pos = n->pos;
      } else {
        const auto& r = std::get<ast::RankSource>(s);
        int& count = ranks[static_cast<int>(r.algorithm)];
        name = r.alias.empty() ? RankKind(r.algorithm) + std::to_string(++count) : r.alias;
        pos = r.pos;
      }
      if (std::find(plan_.source_names.begin(), plan_.source_names.end(), name) !=
          plan_.source_names.end()) {
        Fail("duplicate source name '" + name + "'", pos);
      }
      plan_.source_names.push_back(name);
    }
  }

  void BindGraphSource(const ast::GraphSource& g, int bit) {
    const int index = static_cast<int>(plan_.graph_sources.size());
    auto& vars = b_->vars();
    auto declare = [&](const std::string& name, bool is_edge, TypeId type, ast::Position pos) {
      auto it = vars.find(name);
      if (it != vars.end() && it->second.source < 0) {  // the seed or the candidate
        if (is_edge) Fail("'" + name + "' is a node variable", pos);
        return it->second.slot;
      }
      if (it != vars.end() && it->second.source == index) {
        if (is_edge || it->second.is_edge) Fail("variable '" + name + "' is used twice", pos);
        return it->second.slot;
      }
      int slot = b_->NewSlot();
      if (it != vars.end()) {
        it->second.ambiguous = true;  // also bound by another source
      } else {
        vars[name] = VarInfo{name, slot, is_edge, type, index, false};
      }
      slot_source_.resize(std::max<size_t>(slot_source_.size(), slot + 1), -1);
      slot_source_[slot] = index;
      return slot;
    };
    GraphSourcePlan src;
    src.name = plan_.source_names[bit];
    src.bit = bit;
    src.pattern = b_->BindPattern(g.pattern, declare, /*anon_slots=*/true);
    for (const HopSpec& hop : src.pattern.hops) {
      if (hop.slot >= 0) {
        slot_source_.resize(std::max<size_t>(slot_source_.size(), hop.slot + 1), -1);
        slot_source_[hop.slot] = index;
      }
    }
    for (const NodeSpec& n : src.pattern.nodes) {
      if (n.slot >= 2) {
        slot_source_.resize(std::max<size_t>(slot_source_.size(), n.slot + 1), -1);
        slot_source_[n.slot] = index;
      }
    }
    auto& nodes = src.pattern.nodes;
    const int n = static_cast<int>(nodes.size());
    src.target = -1;
    src.anchor = -1;
    for (int pos = 0; pos < n; ++pos) {
      if (nodes[pos].slot == kCandidateSlot && src.target < 0) src.target = pos;
      if (nodes[pos].slot == kSeedSlot && src.anchor < 0) src.anchor = pos;
    }
    if (src.target < 0) {
      Fail("source " + src.name + " must reach the candidate variable '" + q_.target.var + "'", g.pos);
    }
    NodeSpec& t = nodes[src.target];
    if (t.type == kInvalidType) t.type = plan_.target.type;
    if (plan_.target.type != kInvalidType && t.type != plan_.target.type) {
      Fail("source " + src.name + " binds '" + q_.target.var + "' to another type", t.pos);
    }
    src.anchor_is_seed = src.anchor >= 0;
    for (int pos = 0; pos < n && src.anchor < 0; ++pos) {
      if (nodes[pos].id && (nodes[pos].id->slots & ~uint64_t{1}) == 0) src.anchor = pos;
    }
    for (int pos = 0; pos < n && src.anchor < 0; ++pos) {
      if (pos != src.target && nodes[pos].type != kInvalidType) src.anchor = pos;
    }
    if (src.anchor < 0) src.anchor = src.target;
    if (g.max_per_node) {
      if (*g.max_per_node <= 0) Fail("MAX n PER NODE must be positive", g.pos);
      src.cap = static_cast<size_t>(*g.max_per_node);
    }
    for (const ast::EdgePattern& e : g.pattern.edges) src.hop_texts.push_back(EdgePatternText(e));
    src.order = ExpansionOrder(n, src.anchor);
    src.filters_at.resize(src.order.size());
    plan_.graph_sources.push_back(std::move(src));
    graph_source_ast_.push_back(&g);
  }

  // Binds an examples pattern in its own scope: the seed variable (slot 0) and fresh locals.
  ExamplesPlan BindExamples(const ast::ExamplesTarget& ex, const VectorSpaceDef& space) {
    auto saved_vars = std::move(b_->vars());
    size_t saved_width = b_->width();
    b_->vars().clear();
    b_->vars()[q_.seed.var] = VarInfo{q_.seed.var, kSeedSlot, false, plan_.seed.type, -1, false};
    b_->ResetWidth(1);
    ExamplesPlan plan;
    auto declare = [&](const std::string& name, bool is_edge, TypeId type, ast::Position pos) {
      auto& vars = b_->vars();
      auto it = vars.find(name);
      if (it != vars.end()) {
        if (is_edge || it->second.is_edge) Fail("variable '" + name + "' is used twice", pos);
        return it->second.slot;
      }
      int slot = b_->NewSlot();
      vars[name] = VarInfo{name, slot, is_edge, type, -1, false};
      return slot;
    };
    plan.pattern = b_->BindPattern(ex.pattern, declare, /*anon_slots=*/true);
    auto it = b_->vars().find(ex.var);
    if (it == b_->vars().end() || it->second.is_edge) {
      Fail("MEAN(" + ex.var + ") needs a node variable of the OVER pattern", ex.pattern.pos);
    }
    const int n = static_cast<int>(plan.pattern.nodes.size());
    plan.var_pos = -1;
    plan.anchor = -1;
    for (int pos = 0; pos < n; ++pos) {
      if (plan.pattern.nodes[pos].slot == it->second.slot && plan.var_pos < 0) plan.var_pos = pos;
      if (plan.pattern.nodes[pos].slot == kSeedSlot && plan.anchor < 0) plan.anchor = pos;
    }
    NodeSpec& v = plan.pattern.nodes[plan.var_pos];
    TypeId space_type = b_->ResolveNodeType(space.node_type, ex.pattern.pos);
    if (v.type == kInvalidType) v.type = space_type;
    for (int pos = 0; pos < n && plan.anchor < 0; ++pos) {
      if (plan.pattern.nodes[pos].id && plan.pattern.nodes[pos].id->slots == 0) plan.anchor = pos;
    }
    for (int pos = 0; pos < n && plan.anchor < 0; ++pos) {
      if (plan.pattern.nodes[pos].type != kInvalidType) plan.anchor = pos;
    }
    if (plan.anchor < 0) plan.anchor = 0;
    plan.order = ExpansionOrder(n, plan.anchor);
    if (ex.where) {
      ExprContext ctx;
      ctx.clause = "MEAN ... WHERE";
      plan.where = b_->Bind(*ex.where, ctx);
    }
    plan.width = b_->width();
    b_->vars() = std::move(saved_vars);
    b_->ResetWidth(saved_width);
    return plan;
  }

  void BindNearestSource(const ast::NearestSource& s, int bit) {
    NearestSourcePlan src;
    src.name = plan_.source_names[bit];
    src.bit = bit;
    const VectorSpaceDef& space = b_->ResolveSpace(s.space_type, s.space_name, s.pos);
    src.space = space.id;
    src.type = b_->ResolveNodeType(space.node_type, s.pos);
    if (plan_.target.type != kInvalidType && src.type != plan_.target.type) {
      Fail("NEAREST in " + space.FullName() + " finds " + space.node_type + " nodes, but '" +
               q_.target.var + "' is a " + q_.target.type,
           s.pos);
    }
    ExprContext ctx;
    ctx.clause = "NEAREST";
    src.k = b_->Bind(*s.k, ctx);
    if (src.k->slots != 0) Fail("NEAREST k cannot use variables", s.k->pos);
    if (s.ef) {
      src.ef = b_->Bind(*s.ef, ctx);
      if (src.ef->slots != 0) Fail("EF cannot use variables", s.ef->pos);
    }
    if (s.target) {
      src.target = b_->Bind(*s.target, ctx);
      if (src.target->slots & ~uint64_t{1}) {
        Fail("the NEAREST target may only use the seed and parameters", s.target->pos);
      }
    } else if (s.positive) {
      src.positive = BindExamples(*s.positive, space);
      if (s.negative) src.negative = BindExamples(*s.negative, space);
    } else {
      Fail("NEAREST needs a target vector", s.pos);
    }
    plan_.nearest_sources.push_back(std::move(src));
  }

  // FROM WALK / PAGERANK / RP3BETA OVER hops {options}: the hops resolved (PAGERANK: each type
  // and direction of a relationship is one relation), the options bound and, when constant,
  // checked.
  void BindRankSource(const ast::RankSource& r, int bit) {
    RankSourcePlan src;
    src.name = plan_.source_names[bit];
    src.bit = bit;
    src.algorithm = r.algorithm;
    const std::string keyword = RankKeyword(r.algorithm);
    const bool pagerank = r.algorithm == ast::RankAlgorithm::kPageRank;
    if (r.algorithm == ast::RankAlgorithm::kRp3Beta && r.hops.size() != 1) {
      Fail("RP3BETA takes one relationship, the user -> item relation (e.g. OVER -[:RATED]->)", r.pos);
    }
    if (r.algorithm == ast::RankAlgorithm::kNext && r.hops.size() != 2) {
      Fail("NEXT takes two relationships, the history and what follows an item (e.g. OVER "
           "-[:RATED]->, -[:FOLLOWED_BY]->)", r.pos);
    }
    for (const ast::EdgePattern& e : r.hops) {
      if (!e.var.empty()) Fail(keyword + " hops take no variables", e.pos);
      if (e.max_per_node) {
        Fail(keyword + (r.algorithm == ast::RankAlgorithm::kNext
                            ? " hops take no MAX"
                            : " hops take no MAX; use the max_neighbors option"),
             e.pos);
      }
      if (!e.props.empty()) Fail(keyword + " hops take no property map", e.pos);
      if (e.types.empty()) Fail(keyword + " hops need an edge type, e.g. -[:RATED]->", e.pos);
      if (!pagerank && e.types.size() > 1) Fail(keyword + " hops take one edge type each", e.pos);
      if (!pagerank && e.dir == ast::EdgeDirection::kBoth) {
        Fail(keyword + " hops need a direction: -[:T]-> or <-[:T]-", e.pos);
      }
      for (const std::string& type : e.types) {
        TypeId id = b_->ResolveEdgeType(type, e.pos);
        if (e.dir != ast::EdgeDirection::kIn) src.hops.push_back({id, storage::Direction::kOut});
        if (e.dir != ast::EdgeDirection::kOut) src.hops.push_back({id, storage::Direction::kIn});
      }
    }
    if (src.hops.size() > kMaxRankHops) {
      Fail(keyword + " takes at most " + std::to_string(kMaxRankHops) + " hops", r.pos);
    }
    BindRankOptions(r, keyword, &src);
    plan_.rank_sources.push_back(std::move(src));
  }

  void BindRankOptions(const ast::RankSource& r, const std::string& keyword, RankSourcePlan* src) {
    ExprContext ctx;
    ctx.clause = RankKeyword(r.algorithm);
    RankParams scratch = DefaultRankParams(*src);
    for (size_t i = 0; i < r.options.size(); ++i) {
      const auto& [name, expr] = r.options[i];
      const ast::Position pos = r.option_pos[i];
      if (!IsRankOption(r.algorithm, name)) {
        Fail("unknown " + keyword + " option '" + name + "' (options: " + RankOptionNames(r.algorithm) + ")", pos);
      }
      for (const RankOptionPlan& seen : src->options) {
        if (seen.name == name) Fail(keyword + " option " + name + " is given twice", pos);
      }
      RankOptionPlan option{name, b_->Bind(*expr, ctx), pos};
      if (option.value->slots != 0) Fail(keyword + " options cannot use variables", expr->pos);
      if (option.value->kind == BK::kConst) {
        Status s = ApplyRankOption(r.algorithm, name, option.value->value, &scratch);
        if (!s.ok()) Fail(s.message(), expr->pos);
      }
      src->options.push_back(std::move(option));
    }
  }

  // The graph sources whose own variables (not the seed or candidate) expr reads.
  std::vector<int> OwnersOf(uint64_t slots) const {
    std::vector<int> owners;
    for (size_t slot = 2; slot < 64; ++slot) {
      if ((slots >> slot & 1) == 0 || slot >= slot_source_.size()) continue;
      int owner = slot_source_[slot];
      if (owner >= 0 && std::find(owners.begin(), owners.end(), owner) == owners.end()) {
        owners.push_back(owner);
      }
    }
    return owners;
  }

  void BindWhere(const ast::Expr& where) {
    std::vector<const ast::Expr*> parts;
    SplitConjuncts(where, &parts);
    ExprContext ctx;
    ctx.recommend = true;
    ctx.clause = "WHERE";
    std::vector<BoundExprPtr> excludes;
    std::vector<std::string> exclude_texts;
    for (const ast::Expr* part : parts) {
      BoundExprPtr c = b_->Bind(*part, ctx);
      std::string text = ExprText(*part);
      std::vector<int> owners = OwnersOf(c->slots);
      if (owners.size() > 1) {
        Fail("a WHERE condition cannot mix variables of sources " +
                 plan_.graph_sources[owners[0]].name + " and " + plan_.graph_sources[owners[1]].name,
             part->pos);
      }
      if (owners.size() == 1) {
        PlacePathFilter(owners[0], std::move(c));
      } else if ((c->slots & ~uint64_t{1}) == 0 && (c->flags & kUsesSources) == 0) {
        plan_.global_filters.push_back(std::move(c));
      } else if (ContainsExists(*c)) {
        excludes.push_back(std::move(c));
        exclude_texts.push_back(std::move(text));
      } else {
        plan_.candidate_filters.push_back(std::move(c));
        plan_.candidate_filter_texts.push_back(std::move(text));
      }
    }
    plan_.candidate_excludes = std::move(excludes);
    plan_.candidate_exclude_texts = std::move(exclude_texts);
  }

  static bool ContainsExists(const BoundExpr& e) {
    if (e.kind == BK::kExists) return true;
    for (const auto& arg : e.args) {
      if (ContainsExists(*arg)) return true;
    }
    return false;
  }

  void PlacePathFilter(int source, BoundExprPtr c) {
    GraphSourcePlan& src = plan_.graph_sources[source];
    const PatternSpec& p = src.pattern;
    const int anchor = src.order[0];
    size_t step = 0;
    for (size_t k = 0; k < src.order.size(); ++k) {
      int pos = src.order[k];
      uint64_t bound_here = uint64_t{1} << p.nodes[pos].slot;
      if (k > 0) {
        int hop = std::min(pos, PrevOf(pos, anchor));
        if (p.hops[hop].slot >= 0) bound_here |= uint64_t{1} << p.hops[hop].slot;
      }
      if (c->slots & bound_here) step = k;
    }
    src.filters_at[step].push_back(std::move(c));
  }

  void BindScore(const std::vector<ast::ScoreItem>& items) {
    ExprContext ctx;
    ctx.aggs = &plan_.aggs;
    ctx.recommend = true;
    ctx.path_vars_need_agg = true;
    ctx.match_aggs_allowed = false;
    ctx.clause = "SCORE";
    for (const ast::ScoreItem& item : items) {
      if (!plan_.score_text.empty()) plan_.score_text += std::string(" ") + item.op + " ";
      plan_.score_text += ExprText(*item.expr);
      if (!item.name.empty()) plan_.score_text += " AS " + item.name;
      std::vector<std::pair<char, const ast::Expr*>> parts;
      if (item.name.empty()) {
        SplitTerms(*item.expr, item.op, &parts);
      } else {
        parts.emplace_back(item.op, item.expr.get());
      }
      for (const auto& [op, part] : parts) {
        ScoreTerm term;
        term.op = op;
        term.text = ExprText(*part);
        term.name = item.name;
        term.expr = b_->Bind(*part, ctx);
        plan_.terms.push_back(std::move(term));
      }
    }
    AssignAggregateSources();
    NameTerms();
  }

  // Each term's path aggregates, and a name and label for the unnamed ones: the source its
  // aggregates run over, else the similarity or the candidate properties it reads.
  void NameTerms() {
    std::set<std::string> used;
    for (const ScoreTerm& t : plan_.terms) {
      if (!t.name.empty() && !used.insert(t.name).second) {
        Fail("two SCORE terms are named '" + t.name + "'", q_.score_pos);
      }
    }
    for (ScoreTerm& t : plan_.terms) {
      TermFacts facts;
      Collect(*t.expr, &facts);
      t.aggs.assign(facts.aggs.begin(), facts.aggs.end());
      std::string generated, label;
      if (!facts.aggs.empty()) {
        const AggSpec& agg = plan_.aggs[*facts.aggs.begin()];
        std::string over = agg.source >= 0 ? plan_.graph_sources[agg.source].name : "paths";
        generated = over;
        label = AggName(agg.fn) + " over the paths of " + over;
      } else if (facts.similarity) {
        generated = "similarity";
        label = "vector similarity";
      } else if (!facts.props.empty()) {
        for (const std::string& prop : facts.props) {
          generated += (generated.empty() ? "" : "_") + prop;
          label += (label.empty() ? "" : ", ") + prop;
        }
      } else {
        generated = "term";
        label = t.text;
      }
      if (t.name.empty()) {
        t.name = generated;
        for (int i = 2; !used.insert(t.name).second; ++i) t.name = generated + "_" + std::to_string(i);
        t.label = label;
      } else {
        t.label = t.name;
        std::replace(t.label.begin(), t.label.end(), '_', ' ');
      }
    }
  }

  struct TermFacts {
    std::set<size_t> aggs;
    std::set<std::string> props;  // candidate properties read
    bool similarity = false;
  };
  void Collect(const BoundExpr& e, TermFacts* facts) const {
    if (e.kind == BK::kAggRef) facts->aggs.insert(e.index);
    if (e.kind == BK::kSourceSimilarity || (e.kind == BK::kCall && e.fn == Fn::kSimilarity)) {
      facts->similarity = true;
    }
    if (e.kind == BK::kNodeProp && e.args[0]->kind == BK::kSlot &&
        e.args[0]->index == kCandidateSlot && e.index < b_->plan()->props.size()) {
      facts->props.insert(b_->plan()->props[e.index]);
    }
    for (const auto& arg : e.args) Collect(*arg, facts);
  }
  static std::string AggName(AggFn fn) {
    switch (fn) {
      case AggFn::kCountStar:
      case AggFn::kCount: return "count";
      case AggFn::kSum: return "sum";
      case AggFn::kAvg: return "average";
      case AggFn::kMin: return "minimum";
      case AggFn::kMax: return "maximum";
      case AggFn::kCollect: return "collect";
      case AggFn::kPercentileCont:
      case AggFn::kPercentileDisc: return "percentile";
      case AggFn::kStDev:
      case AggFn::kStDevP: return "standard deviation";
    }
    return "aggregate";
  }

  void AssignAggregateSources() {
    for (AggSpec& agg : plan_.aggs) {
      if (agg.distinct) Fail("DISTINCT aggregates are not supported in SCORE", q_.score_pos);
      std::vector<int> owners = agg.arg ? OwnersOf(agg.arg->slots) : std::vector<int>();
      if (owners.size() > 1) {
        Fail("aggregate " + agg.text + " mixes variables of sources " +
                 plan_.graph_sources[owners[0]].name + " and " + plan_.graph_sources[owners[1]].name,
             !q_.score.empty() ? q_.score_pos : q_.target.pos);
      }
      agg.source = owners.empty() ? -1 : owners[0];
    }
  }

  void BindDiversify(const ast::Diversify& d) {
    if (d.by) {
      ExprContext ctx;
      ctx.aggs = &plan_.aggs;
      ctx.recommend = true;
      ctx.path_vars_need_agg = true;
      ctx.match_aggs_allowed = false;
      ctx.clause = "DIVERSIFY";
      plan_.diversify_by = b_->Bind(*d.by, ctx);
      ExprContext max_ctx;
      max_ctx.clause = "DIVERSIFY MAX";
      plan_.diversify_max = b_->Bind(*d.max_per_value, max_ctx);
      if (plan_.diversify_max->slots != 0) Fail("DIVERSIFY MAX cannot use variables", d.pos);
      AssignAggregateSources();
    }
    if (d.mmr_lambda) {
      if (*d.mmr_lambda < 0 || *d.mmr_lambda > 1) Fail("MMR lambda must be between 0 and 1", d.pos);
      const VectorSpaceDef& space = b_->ResolveSpace(d.mmr_space_type, d.mmr_space_name, d.pos);
      if (plan_.target.type != kInvalidType &&
          b_->ResolveNodeType(space.node_type, d.pos) != plan_.target.type) {
        Fail("DIVERSIFY MMR needs a vector space of the candidate type " + q_.target.type, d.pos);
      }
      plan_.mmr_lambda = d.mmr_lambda;
      plan_.mmr_space = space.id;
    }
  }

  void BindPaging() {
    ExprContext ctx;
    ctx.clause = "LIMIT/OFFSET";
    if (q_.limit) {
      plan_.limit = b_->Bind(*q_.limit, ctx);
      if (plan_.limit->slots) Fail("LIMIT cannot use variables", q_.limit->pos);
    }
    if (q_.offset) {
      plan_.offset = b_->Bind(*q_.offset, ctx);
      if (plan_.offset->slots) Fail("OFFSET cannot use variables", q_.offset->pos);
    }
  }

  // SCORE's similarity(c.space, target) where a NEAREST source searched `space` for the same
  // target: that search already computed the value for every candidate it found (the hit's
  // similarity), so only candidates from other sources compute it again.
  void ReuseNearestSimilarity() {
    for (ScoreTerm& t : plan_.terms) ReuseIn(&t.expr);
  }
  void ReuseIn(BoundExprPtr* e) {
    BoundExpr& x = **e;
    if (x.kind == BK::kCall && x.fn == Fn::kSimilarity && x.args.size() == 2 &&
        x.args[0]->kind == BK::kVectorOf && x.args[0]->args[0]->kind == BK::kSlot &&
        !x.args[0]->args[0]->is_edge && x.args[0]->args[0]->index == kCandidateSlot) {
      for (const NearestSourcePlan& n : plan_.nearest_sources) {
        if (!n.target || n.space != x.args[0]->index || !SameExpr(*n.target, *x.args[1])) continue;
        auto reuse = std::make_unique<BoundExpr>();
        reuse->kind = BK::kSourceSimilarity;
        reuse->pos = x.pos;
        reuse->index = static_cast<uint32_t>(n.bit);
        reuse->slots = x.slots;
        reuse->flags = x.flags;
        reuse->args.push_back(std::move(*e));
        *e = std::move(reuse);
        return;
      }
    }
    for (auto& arg : x.args) ReuseIn(&arg);
  }
  // RecommendPlan::score_vectors: every similarity(c.space, ...) in e; reused_bit is the
  // NEAREST source of an enclosing kSourceSimilarity.
  void CollectScoreVectors(const BoundExpr& e, int reused_bit) {
    if (e.kind == BK::kSourceSimilarity) reused_bit = static_cast<int>(e.index);
    if (e.kind == BK::kCall && e.fn == Fn::kSimilarity && e.args.size() == 2 &&
        e.args[0]->kind == BK::kVectorOf && e.args[0]->args[0]->kind == BK::kSlot &&
        !e.args[0]->args[0]->is_edge && e.args[0]->args[0]->index == kCandidateSlot) {
      plan_.score_vectors.push_back({static_cast<SpaceId>(e.args[0]->index), reused_bit});
    }
    for (const auto& arg : e.args) CollectScoreVectors(*arg, reused_bit);
  }
  static bool SameExpr(const BoundExpr& a, const BoundExpr& b) {
    if (a.kind != b.kind || a.index != b.index || a.op != b.op || a.fn != b.fn ||
        a.attr != b.attr || a.negated != b.negated || a.is_edge != b.is_edge || a.name != b.name ||
        a.args.size() != b.args.size()) {
      return false;
    }
    if (a.kind == BK::kConst && ToJson(a.value, nullptr, nullptr) != ToJson(b.value, nullptr, nullptr)) {
      return false;
    }
    for (size_t i = 0; i < a.args.size(); ++i) {
      if (!SameExpr(*a.args[i], *b.args[i])) return false;
    }
    return true;
  }

  void HoistAll() {
    for (auto& c : plan_.candidate_filters) b_->Hoist(&c);
    for (auto& c : plan_.candidate_excludes) b_->Hoist(&c);
    for (auto& t : plan_.terms) b_->Hoist(&t.expr);
    if (plan_.diversify_by) b_->Hoist(&plan_.diversify_by);
    for (AggSpec& agg : plan_.aggs) {
      if (agg.arg) b_->Hoist(&agg.arg);
    }
    for (GraphSourcePlan& src : plan_.graph_sources) {
      for (auto& filters : src.filters_at) {
        for (auto& f : filters) b_->Hoist(&f);
      }
    }
  }

  void BuildOps() {
    auto& ops = plan_.ops;
    ops.push_back(MakeSeedOp());
    for (size_t i = 0; i < plan_.graph_sources.size(); ++i) {
      const GraphSourcePlan& g = plan_.graph_sources[i];
      ops.push_back(MakeGraphSourceOp(i, "GraphSource " + g.name + " " + g.pattern.text));
    }
    for (size_t i = 0; i < plan_.nearest_sources.size(); ++i) {
      const NearestSourcePlan& n = plan_.nearest_sources[i];
      const VectorSpaceDef* space = b_->schema().Space(n.space);
      ops.push_back(MakeNearestOp(i, "Nearest " + n.name + " IN " + (space ? space->FullName() : "")));
    }
    for (size_t i = 0; i < plan_.rank_sources.size(); ++i) {
      const RankSourcePlan& r = plan_.rank_sources[i];
      ops.push_back(MakeRankOp(i, RankOperator(r.algorithm) + (" " + r.name)));
    }
    ops.push_back(MakeMergeOp());
    ops.push_back(MakeFilterOp());
    ops.push_back(MakeExcludeOp());
    ops.push_back(MakeScoreOp());
    ops.push_back(MakeTopKOp());
    if (plan_.diversify_by || plan_.mmr_lambda) ops.push_back(MakeDiversifyOp());
    ops.push_back(MakeLimitOp());
    ops.push_back(MakeExplainOp());
    // Ids continue after the prelude's operators (a RECOMMEND after WITH).
    for (auto& op : ops) {
      op->set_id(static_cast<int>(b_->plan()->op_names.size()));
      b_->plan()->op_names.push_back(op->name());
    }
    b_->plan()->op_count = b_->plan()->op_names.size();
  }

  const ast::RecommendQuery& q_;
  Binder* b_;
  RecommendPlan& plan_;
  std::vector<int> slot_source_;  // slot -> graph source index (-1: seed/candidate)
  std::vector<const ast::GraphSource*> graph_source_ast_;
};

}  // namespace

void PlanRecommend(const ast::RecommendQuery& q, Binder* binder) { RecommendPlanner(q, binder).Run(); }

}  // namespace pathwise::query
