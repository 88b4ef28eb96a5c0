// Expression and pattern binding (the statement planners are in match_planner.cc and
// recommend_planner.cc).
#include "query/binder.h"

#include <algorithm>
#include <optional>

#include "query/ast_text.h"

namespace pathwise::query {

void Fail(const std::string& msg, ast::Position pos) {
  throw BindError{Status::InvalidArgument(msg).WithPosition(pos.line, pos.column)};
}

void SplitConjuncts(const ast::Expr& e, std::vector<const ast::Expr*>* out) {
  if (e.kind == ast::ExprKind::kBinary && e.op == "AND") {
    SplitConjuncts(*e.args[0], out);
    SplitConjuncts(*e.args[1], out);
    return;
  }
  out->push_back(&e);
}

namespace {

// Approximate heap bytes per expression node of a bound plan (Plan::approx_bytes): a BoundExpr
// is about 150 bytes, plus allocator overhead, its pointer in the parent's args and what the
// planners copy (column texts, specs); rounded up so that the estimate errs on the large side.
constexpr size_t kPlanBytesPerExprNode = 256;

BoundExprPtr Make(BK kind, ast::Position pos) {
  auto e = std::make_unique<BoundExpr>();
  e->kind = kind;
  e->pos = pos;
  return e;
}

void Adopt(BoundExpr* parent, BoundExprPtr child) {
  parent->slots |= child->slots;
  parent->flags |= child->flags;
  parent->args.push_back(std::move(child));
}

struct FnInfo {
  const char* name;
  Fn fn;
  int min_args;
  int max_args;  // -1: any
};

constexpr FnInfo kFunctions[] = {
    {"log", Fn::kLog, 1, 1},           {"exp", Fn::kExp, 1, 1},
    {"sqrt", Fn::kSqrt, 1, 1},         {"abs", Fn::kAbs, 1, 1},
    {"pow", Fn::kPow, 2, 2},           {"floor", Fn::kFloor, 1, 1},
    {"ceil", Fn::kCeil, 1, 1},         {"round", Fn::kRound, 1, 1},
    {"least", Fn::kLeast, 1, -1},      {"greatest", Fn::kGreatest, 1, -1},
    {"if", Fn::kIf, 3, 3},             {"coalesce", Fn::kCoalesce, 1, -1},
    {"decay", Fn::kDecay, 2, 2},       {"now", Fn::kNow, 0, 0},
    {"similarity", Fn::kSimilarity, 2, 2}, {"size", Fn::kSize, 1, 1},
    {"source", Fn::kSource, 1, 1},     {"sources", Fn::kSources, 0, 0},
    {"source_score", Fn::kSourceScore, 1, 1},
    {"id", Fn::kId, 1, 1},             {"type", Fn::kType, 1, 1},
    {"degree", Fn::kDegree, 1, 3},     {"tostring", Fn::kToString, 1, 1},
    {"counter", Fn::kCounter, 2, 3},
    {"tolower", Fn::kToLower, 1, 1},   {"lower", Fn::kToLower, 1, 1},
    {"toupper", Fn::kToUpper, 1, 1},   {"upper", Fn::kToUpper, 1, 1},
    {"substring", Fn::kSubstring, 2, 3}, {"trim", Fn::kTrim, 1, 1},
    {"ltrim", Fn::kLTrim, 1, 1},       {"rtrim", Fn::kRTrim, 1, 1},
    {"replace", Fn::kReplace, 3, 3},   {"split", Fn::kSplit, 2, 2},
    {"tointeger", Fn::kToInteger, 1, 1}, {"tofloat", Fn::kToFloat, 1, 1},
    {"labels", Fn::kLabels, 1, 1},     {"keys", Fn::kKeys, 1, 1},
    {"head", Fn::kHead, 1, 1},         {"last", Fn::kLast, 1, 1},
    {"range", Fn::kRange, 2, 3},
    {"nodes", Fn::kNodes, 1, 1},       {"relationships", Fn::kRelationships, 1, 1},
    {"length", Fn::kLength, 1, 1},     {"properties", Fn::kProperties, 1, 1},
    {"date", Fn::kDate, 0, 1},         {"datetime", Fn::kDateTime, 0, 1},
    {"duration", Fn::kDuration, 1, 1},
    {"duration.between", Fn::kDurationBetween, 2, 2},
    {"duration.inmonths", Fn::kDurationInMonths, 2, 2},
    {"duration.indays", Fn::kDurationInDays, 2, 2},
    {"duration.inseconds", Fn::kDurationInSeconds, 2, 2},
};

bool IsAggregate(const std::string& name, AggFn* fn) {
  static const std::pair<const char*, AggFn> kAggs[] = {
      {"count", AggFn::kCount}, {"sum", AggFn::kSum}, {"avg", AggFn::kAvg},
      {"min", AggFn::kMin},     {"max", AggFn::kMax}, {"collect", AggFn::kCollect},
      {"percentilecont", AggFn::kPercentileCont}, {"percentiledisc", AggFn::kPercentileDisc},
      {"stdev", AggFn::kStDev}, {"stdevp", AggFn::kStDevP}};
  for (const auto& [n, f] : kAggs) {
    if (name == n) {
      *fn = f;
      return true;
    }
  }
  return false;
}

// The row slots a pattern predicate or subquery reads: its outer positions and what its
// {id: ...} and property maps read.
uint64_t OuterReads(const PatternSpec& pattern) {
  uint64_t slots = 0;
  for (const NodeSpec& node : pattern.nodes) {
    if (node.outer) slots |= uint64_t{1} << node.slot;
    if (node.id) slots |= node.id->slots;
    for (const auto& [prop, expr] : node.props) slots |= expr->slots;
  }
  return slots;
}

ast::EdgeDirection Flip(ast::EdgeDirection d) {
  if (d == ast::EdgeDirection::kOut) return ast::EdgeDirection::kIn;
  if (d == ast::EdgeDirection::kIn) return ast::EdgeDirection::kOut;
  return d;
}

}  // namespace

TypeId Binder::ResolveNodeType(const std::string& name, ast::Position pos) const {
  const NodeTypeDef* def = schema_.FindNodeType(name);
  if (def == nullptr) Fail("unknown node type '" + name + "'", pos);
  return def->id;
}

TypeId Binder::ResolveEdgeType(const std::string& name, ast::Position pos) const {
  const EdgeTypeDef* def = schema_.FindEdgeType(name);
  if (def == nullptr) Fail("unknown edge type '" + name + "'", pos);
  return def->id;
}

const VectorSpaceDef& Binder::ResolveSpace(const std::string& type, const std::string& name,
                                           ast::Position pos) const {
  ResolveNodeType(type, pos);
  const VectorSpaceDef* def = schema_.FindSpace(type, name);
  if (def == nullptr) Fail("unknown vector space '" + type + "." + name + "'", pos);
  return *def;
}

uint32_t Binder::PropIndex(const std::string& name) {
  auto& props = plan_->props;
  auto it = std::find(props.begin(), props.end(), name);
  if (it != props.end()) return static_cast<uint32_t>(it - props.begin());
  props.push_back(name);
  return static_cast<uint32_t>(props.size() - 1);
}

uint32_t Binder::ParamIndex(const std::string& name, ast::Position pos) {
  auto& params = plan_->params;
  auto it = std::find(params.begin(), params.end(), name);
  if (it != params.end()) return static_cast<uint32_t>(it - params.begin());
  params.push_back(name);
  plan_->param_pos.push_back(pos);
  plan_->param_column.push_back(-1);
  return static_cast<uint32_t>(params.size() - 1);
}

void Binder::CheckPropertyKnown(const std::string& name, TypeId type, ast::Position pos) const {
  if (graph_ != nullptr && graph_->FindProperty(name) != graph::kNoProp) return;
  if (type != kInvalidType) {
    const NodeTypeDef* def = schema_.NodeType(type);
    if (def != nullptr && def->properties.count(name)) return;
    Fail("unknown property '" + name + "' of " + (def ? def->name : std::string("node")) +
             " (not declared in the schema and not present on any node)",
         pos);
  }
  for (const NodeTypeDef& def : schema_.node_types()) {
    if (def.properties.count(name)) return;
  }
  Fail("unknown property '" + name + "' (not declared in the schema and not present on any node)",
       pos);
}

BoundExprPtr Binder::BindProperty(const ast::Expr& e, const ExprContext& ctx) {
  const ast::Expr& base = *e.args[0];
  auto known = base.kind == ast::ExprKind::kVariable ? vars_.find(base.name) : vars_.end();
  if (known != vars_.end() && !known->second.is_value) {
    BoundExprPtr var = Bind(base, ctx);
    const VarInfo& info = vars_.at(base.name);
    if (info.is_edge) {
      BoundExprPtr out;
      EdgeAttr attr;
      if (EdgeAttrNamed(e.name, &attr)) {
        out = Make(BK::kEdgeAttr, e.pos);
        out->attr = attr;
      } else {
        out = Make(BK::kEdgeProp, e.pos);
        out->name = e.name;
        out->flags |= kUsesStore;
      }
      Adopt(out.get(), std::move(var));
      return out;
    }
    if (e.name == "id") {
      auto out = Make(BK::kNodeKey, e.pos);
      Adopt(out.get(), std::move(var));
      return out;
    }
    if (info.type != kInvalidType) {
      const NodeTypeDef* def = schema_.NodeType(info.type);
      if (const VectorSpaceDef* space = schema_.FindSpace(def->name, e.name)) {
        auto out = Make(BK::kVectorOf, e.pos);
        out->index = space->id;
        Adopt(out.get(), std::move(var));
        return out;
      }
    }
    CheckPropertyKnown(e.name, info.type, e.pos);
    auto out = Make(BK::kNodeProp, e.pos);
    out->index = PropIndex(e.name);
    Adopt(out.get(), std::move(var));
    return out;
  }
  auto out = Make(BK::kDynProp, e.pos);
  out->name = e.name;
  out->index = PropIndex(e.name);
  out->flags |= kUsesStore;
  Adopt(out.get(), Bind(base, ctx));
  return out;
}

BoundExprPtr Binder::BindAggregate(const ast::Expr& e, const ExprContext& ctx) {
  AggFn fn = AggFn::kCount;
  IsAggregate(e.name, &fn);
  if (ctx.aggs == nullptr) Fail("aggregate " + e.name + "() is not allowed in " + ctx.clause, e.pos);
  if (agg_depth_ > 0) Fail("aggregates cannot be nested", e.pos);
  bool match_only = fn == AggFn::kCollect || fn >= AggFn::kPercentileCont;
  if (match_only && !ctx.match_aggs_allowed) {
    Fail(e.name + "() is not allowed in " + std::string(ctx.clause), e.pos);
  }
  bool percentile = fn == AggFn::kPercentileCont || fn == AggFn::kPercentileDisc;
  AggSpec spec;
  spec.fn = fn;
  spec.distinct = e.distinct;
  spec.text = ExprText(e);
  if (e.star) {
    if (fn != AggFn::kCount) Fail(e.name + "(*) is not valid; only count(*)", e.pos);
    spec.fn = AggFn::kCountStar;
  } else {
    if (e.args.size() != (percentile ? 2u : 1u)) {
      Fail(e.name + (percentile ? "() takes two arguments" : "() takes one argument"), e.pos);
    }
    ++agg_depth_;
    spec.arg = Bind(*e.args[0], ctx);
    if (percentile) spec.param = BindPercentile(*e.args[1], e.name, ctx);
    --agg_depth_;
    if (spec.arg->flags & kUsesAgg) Fail("aggregates cannot be nested", e.pos);
  }
  auto out = Make(BK::kAggRef, e.pos);
  out->flags |= kUsesAgg;
  out->index = static_cast<uint32_t>(ctx.aggs->size());
  ctx.aggs->push_back(std::move(spec));
  return out;
}

// The percentile of percentileCont/Disc: evaluated once per query, so it may not read row
// variables (a literal, a parameter or an expression of them).
BoundExprPtr Binder::BindPercentile(const ast::Expr& e, const std::string& fn,
                                    const ExprContext& ctx) {
  BoundExprPtr out = Bind(e, ctx);
  if (out->slots != 0 || (out->flags & (kUsesAgg | kUsesSources))) {
    Fail(fn + "() takes its percentile as a constant or a parameter, not a per-row value", e.pos);
  }
  return out;
}

BoundExprPtr Binder::BindCall(const ast::Expr& e, const ExprContext& ctx) {
  AggFn agg;
  if (IsAggregate(e.name, &agg)) return BindAggregate(e, ctx);
  const FnInfo* info = nullptr;
  for (const FnInfo& f : kFunctions) {
    if (e.name == f.name) info = &f;
  }
  if (info == nullptr) Fail("unknown function '" + e.name + "'", e.pos);
  int n = static_cast<int>(e.args.size());
  if (e.star || e.distinct) Fail(e.name + "() does not take * or DISTINCT", e.pos);
  if (n < info->min_args || (info->max_args >= 0 && n > info->max_args)) {
    std::string want = info->min_args == info->max_args
                           ? std::to_string(info->min_args)
                           : std::to_string(info->min_args) + ".." +
                                 (info->max_args < 0 ? std::string("n") : std::to_string(info->max_args));
    Fail(e.name + "() takes " + want + " argument(s), got " + std::to_string(n), e.pos);
  }
  auto out = Make(BK::kCall, e.pos);
  out->fn = info->fn;
  out->name = e.name;
  if (info->fn == Fn::kSource || info->fn == Fn::kSources || info->fn == Fn::kSourceScore) {
    if (!ctx.recommend || source_names == nullptr) {
      Fail(e.name + "() is only available in RECOMMEND", e.pos);
    }
    out->flags |= kUsesSources;
    if (info->fn != Fn::kSources) {
      const ast::Expr& arg = *e.args[0];
      if (arg.kind != ast::ExprKind::kLiteral || arg.literal.value.index() != 4) {
        Fail(e.name + "() takes a source name as a string literal", arg.pos);
      }
      const std::string& name = std::get<std::string>(arg.literal.value);
      auto it = std::find(source_names->begin(), source_names->end(), name);
      if (it == source_names->end()) Fail("unknown source '" + name + "'", arg.pos);
      out->index = static_cast<uint32_t>(it - source_names->begin());
      return out;
    }
  }
  if (info->fn == Fn::kCounter) {
    // The counter's name is fixed per query: a string literal or a parameter.
    const ast::Expr& name = *e.args.back();
    const bool literal = name.kind == ast::ExprKind::kLiteral && name.literal.value.index() == 4;
    if (!literal && name.kind != ast::ExprKind::kParam) {
      Fail("counter() takes the counter's name last, as a string literal or a parameter",
           name.pos);
    }
  }
  for (const auto& arg : e.args) Adopt(out.get(), Bind(*arg, ctx));
  if (info->fn == Fn::kSimilarity && out->args[0]->kind == BK::kVectorOf &&
      out->args[1]->kind == BK::kVectorOf) {
    const VectorSpaceDef* a = schema_.Space(static_cast<SpaceId>(out->args[0]->index));
    const VectorSpaceDef* b = schema_.Space(static_cast<SpaceId>(out->args[1]->index));
    if (a && b && a->dim != b->dim) {
      Fail("similarity() of vectors with different dimensions (" + a->FullName() + ": " +
               std::to_string(a->dim) + ", " + b->FullName() + ": " + std::to_string(b->dim) + ")",
           e.pos);
    }
  }
  return out;
}

// A node position of an EXISTS / COUNT subquery: a variable bound outside is an outer position;
// any other named variable is the subquery's own, in a new slot (its bit set in *local).
NodeSpec Binder::BindSubqueryNode(const ast::NodePattern& n, uint64_t* local) {
  NodeSpec node = BindNode(n);
  if (n.var.empty()) return node;
  auto it = vars_.find(n.var);
  if (it != vars_.end() && (*local >> it->second.slot & 1)) {
    Fail("variable '" + n.var + "' appears twice in a subquery's pattern; write the second as a "
         "WHERE condition on id()", n.pos);
  }
  if (it != vars_.end()) {
    if (it->second.is_edge || it->second.is_value) {
      Fail("'" + n.var + "' is not a node variable; it cannot be used in a pattern", n.pos);
    }
    node.outer = true;
    node.slot = it->second.slot;
    return node;
  }
  node.slot = DeclareLocal(n.var, /*is_edge=*/false, node.type, n.pos, local);
  return node;
}

int Binder::DeclareLocal(const std::string& name, bool is_edge, TypeId type, ast::Position pos,
                         uint64_t* local) {
  if (width_ >= 64) Fail("too many variables in one query (at most 64 slots)", pos);
  VarInfo info;
  info.name = name;
  info.slot = NewSlot();
  info.is_edge = is_edge;
  info.type = type;
  vars_[name] = info;
  *local |= uint64_t{1} << info.slot;
  return info.slot;
}

HopSpec Binder::BindHop(const ast::EdgePattern& e) {
  HopSpec hop;
  hop.var = e.var;
  hop.dir = e.dir;
  hop.pos = e.pos;
  if (e.max_per_node) {
    if (*e.max_per_node <= 0) Fail("MAX must be positive", e.pos);
    hop.cap = static_cast<size_t>(*e.max_per_node);
  }
  for (const std::string& t : e.types) hop.types.push_back(ResolveEdgeType(t, e.pos));
  BindEdgeProps(e, &hop);
  return hop;
}

// {key: value} of a relationship: the values are evaluated where a hop's edges are collected,
// which has no row, so they may not read row variables.
void Binder::BindEdgeProps(const ast::EdgePattern& e, HopSpec* hop) {
  ExprContext ctx;
  ctx.clause = "a relationship's property map";
  for (const auto& [key, expr] : e.props) {
    BoundExprPtr value = Bind(*expr, ctx);
    if (value->slots != 0 || (value->flags & (kUsesAgg | kUsesSources))) {
      Fail("a relationship's property map takes literals and parameters, not values of the row "
           "(write the comparison in WHERE, e.g. WHERE r." + key + " = ...)",
           expr->pos);
    }
    EdgePropFilter filter;
    filter.name = key;
    filter.stored = !EdgeAttrNamed(key, &filter.attr);
    filter.value = std::move(value);
    hop->props.push_back(std::move(filter));
  }
  // Attributes first: they are in memory, a stored property costs a storage read per edge.
  std::stable_partition(hop->props.begin(), hop->props.end(),
                        [](const EdgePropFilter& f) { return !f.stored; });
}

HopSpec Binder::BindSubqueryHop(const ast::EdgePattern& e, uint64_t* local) {
  if (e.var_length) Fail("variable-length relationships are not supported in subqueries", e.pos);
  HopSpec hop = BindHop(e);
  if (e.var.empty()) return hop;
  if (vars_.count(e.var)) {
    Fail("a subquery cannot reuse the variable '" + e.var + "' for a relationship", e.pos);
  }
  hop.slot = DeclareLocal(e.var, /*is_edge=*/true, kInvalidType, e.pos, local);
  return hop;
}

// EXISTS { [MATCH] pattern [WHERE e] } / COUNT { ... }: correlated with the variables in scope;
// the pattern's other variables are visible only inside the subquery.
BoundExprPtr Binder::BindSubquery(const ast::Expr& e, const ExprContext& ctx) {
  if (ctx.recommend) {
    Fail(e.op + " { } subqueries are supported in MATCH queries; in RECOMMEND write the pattern "
         "itself as a predicate, e.g. WHERE NOT (u)-[:RATED]->(c)", e.pos);
  }
  const ast::Pattern& p = *e.pattern;
  if (p.edges.size() > 8) Fail("patterns are limited to 8 relationships", p.pos);
  std::map<std::string, VarInfo> saved = vars_;
  ExistsSpec spec;
  spec.subquery = e.op == "COUNT" ? 'c' : 'e';
  uint64_t local = 0;
  bool correlated = false;
  for (const ast::NodePattern& n : p.nodes) {
    spec.pattern.nodes.push_back(BindSubqueryNode(n, &local));
    correlated |= spec.pattern.nodes.back().outer;
  }
  if (!correlated) {
    Fail(e.op + " { } needs a node variable bound outside it, e.g. " + e.op +
             " { (u)-[:VIEWED]->(:Item) }", e.pos);
  }
  for (const ast::EdgePattern& edge : p.edges) spec.pattern.hops.push_back(BindSubqueryHop(edge, &local));
  ExprContext inner;
  inner.clause = "a subquery's WHERE";
  if (!e.args.empty()) spec.where = Bind(*e.args[0], inner);
  vars_ = std::move(saved);
  spec.width = width_;
  spec.pattern.text = PatternText(p);
  auto out = Make(BK::kExists, e.pos);
  out->slots = OuterReads(spec.pattern);
  if (spec.where) {
    out->slots |= spec.where->slots;
    out->flags |= spec.where->flags & kUsesStore;
  }
  out->slots &= ~local;
  out->index = static_cast<uint32_t>(plan_->exists.size());
  plan_->exists.push_back(std::move(spec));
  return out;
}

BoundExprPtr Binder::BindExists(const ast::Expr& e, const ExprContext& ctx) {
  if (!e.op.empty()) return BindSubquery(e, ctx);
  const ast::Pattern& p = *e.pattern;
  ExistsSpec spec;
  std::vector<bool> outer(p.nodes.size(), false);
  size_t outer_count = 0;
  for (size_t i = 0; i < p.nodes.size(); ++i) {
    const ast::NodePattern& n = p.nodes[i];
    NodeSpec node = BindNode(n);
    if (!n.var.empty()) {
      auto it = vars_.find(n.var);
      if (it != vars_.end()) {
        if (it->second.is_edge) Fail("'" + n.var + "' is an edge variable, not a node", n.pos);
        if (it->second.is_value) Fail("'" + n.var + "' is a value, not a node variable", n.pos);
        if (it->second.ambiguous) {
          Fail("variable '" + n.var + "' is bound by several sources; rename it", n.pos);
        }
        if (ctx.path_vars_need_agg && it->second.source >= 0) {
          Fail("variable '" + n.var + "' is bound per path; use it inside an aggregate", n.pos);
        }
        node.outer = true;
        node.slot = it->second.slot;
        ++outer_count;
      }
    }
    spec.pattern.nodes.push_back(std::move(node));
  }
  if (outer_count == 0) {
    Fail("a pattern predicate must use a variable bound outside it", e.pos);
  }
  for (const ast::EdgePattern& edge : p.edges) {
    if (!edge.var.empty() && vars_.count(edge.var)) {
      Fail("pattern predicates cannot reuse the edge variable '" + edge.var + "'", edge.pos);
    }
    if (edge.var_length) {
      Fail("variable-length relationships are not supported in pattern predicates", edge.pos);
    }
    HopSpec hop;
    hop.var = edge.var;
    hop.dir = edge.dir;
    hop.pos = edge.pos;
    for (const std::string& t : edge.types) hop.types.push_back(ResolveEdgeType(t, edge.pos));
    BindEdgeProps(edge, &hop);
    spec.pattern.hops.push_back(std::move(hop));
  }
  spec.pattern.text = PatternText(p);
  auto out = Make(BK::kExists, e.pos);
  out->slots = OuterReads(spec.pattern);
  // RECOMMEND: a predicate from the seed to one other variable is cached on the seed side.
  size_t n = spec.pattern.nodes.size();
  if (ctx.recommend && n >= 3 && outer_count == 2) {
    auto& nodes = spec.pattern.nodes;
    if (nodes.back().outer && nodes.back().slot == 0 && nodes.front().outer) {
      std::reverse(nodes.begin(), nodes.end());
      auto& hops = spec.pattern.hops;
      std::reverse(hops.begin(), hops.end());
      for (HopSpec& hop : hops) hop.dir = Flip(hop.dir);
    }
    bool locals_seed_only = true;
    for (size_t i = 1; i + 1 < n; ++i) {
      const NodeSpec& node = nodes[i];
      uint64_t deps = node.id ? node.id->slots : 0;
      for (const auto& [prop, expr] : node.props) deps |= expr->slots;
      if (deps & ~uint64_t{1}) locals_seed_only = false;
    }
    spec.seed_cached = nodes.front().outer && nodes.front().slot == 0 && nodes.back().outer &&
                       locals_seed_only;
  }
  out->index = static_cast<uint32_t>(plan_->exists.size());
  plan_->exists.push_back(std::move(spec));
  return out;
}

// A value variable in a slot of its own, visible only while the scope lives (it shadows a
// variable of the same name meanwhile).
class Binder::LocalScope {
 public:
  LocalScope(Binder* binder, const std::string& name) : binder_(binder), name_(name) {
    auto shadowed = binder->vars_.find(name);
    if (shadowed != binder->vars_.end()) saved_ = shadowed->second;
    VarInfo& local = binder->vars_[name];
    local = VarInfo();
    local.name = name;
    local.slot = binder->NewSlot();
    local.is_value = true;
    slot = local.slot;
  }
  ~LocalScope() {
    if (saved_) {
      binder_->vars_[name_] = *saved_;
    } else {
      binder_->vars_.erase(name_);
    }
  }
  int slot = -1;

 private:
  Binder* binder_;
  std::string name_;
  std::optional<VarInfo> saved_;
};

// An expression bound inside local scopes: the locals' slots are set by the enclosing
// expression, not by the row.
BoundExprPtr Binder::BindInner(const ast::Expr& e, const ExprContext& ctx, uint64_t own) {
  ExprContext inner = ctx;
  inner.aggs = nullptr;  // no aggregates per element
  BoundExprPtr out = Bind(e, inner);
  out->slots &= ~own;
  return out;
}

void Binder::CheckLocalSlots(const char* what, size_t count, ast::Position pos) const {
  if (width_ + count > 64) {
    Fail(std::string("too many variables in one query (at most 64 slots) for ") + what, pos);
  }
}

// [x IN list WHERE pred | map]: x is a local of pred and map.
BoundExprPtr Binder::BindListComprehension(const ast::Expr& e, const ExprContext& ctx) {
  if (ctx.recommend) Fail("list comprehensions are not supported in RECOMMEND", e.pos);
  CheckLocalSlots("a list comprehension", 1, e.pos);
  auto out = Make(BK::kListComp, e.pos);
  Adopt(out.get(), Bind(*e.args[0], ctx));
  LocalScope x(this, e.name);
  out->index = static_cast<uint32_t>(x.slot);
  uint64_t own = uint64_t{1} << x.slot;
  Adopt(out.get(), BindInner(*e.args[1], ctx, own));
  Adopt(out.get(), BindInner(*e.args[2], ctx, own));
  return out;
}

// reduce(acc = init, x IN list | expr): acc and x are locals of expr, in consecutive slots.
BoundExprPtr Binder::BindReduce(const ast::Expr& e, const ExprContext& ctx) {
  if (ctx.recommend) Fail("reduce() is not supported in RECOMMEND", e.pos);
  if (e.keys[0] == e.keys[1]) {
    Fail("reduce() needs two different names for the accumulator and the element", e.pos);
  }
  CheckLocalSlots("reduce()", 2, e.pos);
  auto out = Make(BK::kReduce, e.pos);
  Adopt(out.get(), Bind(*e.args[0], ctx));
  Adopt(out.get(), Bind(*e.args[1], ctx));
  LocalScope acc(this, e.keys[0]);
  LocalScope x(this, e.keys[1]);
  out->index = static_cast<uint32_t>(acc.slot);
  uint64_t own = (uint64_t{1} << acc.slot) | (uint64_t{1} << x.slot);
  Adopt(out.get(), BindInner(*e.args[2], ctx, own));
  return out;
}

// {k: v} and m {...} (args[0] is the base m).
BoundExprPtr Binder::BindMap(const ast::Expr& e, const ExprContext& ctx) {
  bool projection = e.kind == ast::ExprKind::kMapProjection;
  auto out = Make(projection ? BK::kMapProjection : BK::kMap, e.pos);
  out->keys = e.keys;
  for (const auto& arg : e.args) Adopt(out.get(), Bind(*arg, ctx));
  return out;
}

BoundExprPtr Binder::Bind(const ast::Expr& e, const ExprContext& ctx) {
  using ast::ExprKind;
  if ((++bind_calls_ & 255) == 0 && deadline.Expired()) {
    throw BindError{Status::DeadlineExceeded("query deadline exceeded while binding")};
  }
  switch (e.kind) {
    case ExprKind::kLiteral: {
      auto out = Make(BK::kConst, e.pos);
      const auto& v = e.literal.value;
      switch (v.index()) {
        case 1: out->value = RtValue(std::get<bool>(v)); break;
        case 2: out->value = RtValue(std::get<int64_t>(v)); break;
        case 3: out->value = RtValue(std::get<double>(v)); break;
        case 4: out->value = RtValue(std::get<std::string>(v)); break;
        default: break;
      }
      return out;
    }
    case ExprKind::kParam: {
      auto out = Make(BK::kParam, e.pos);
      out->index = ParamIndex(e.name, e.pos);
      return out;
    }
    case ExprKind::kVariable: {
      auto it = vars_.find(e.name);
      auto with = it == vars_.end() ? with_values.find(e.name) : with_values.end();
      if (with != with_values.end()) {  // RECOMMEND after WITH: a value of the prelude's row
        auto out = Make(BK::kParam, e.pos);
        out->index = ParamIndex("WITH " + e.name, e.pos);  // not a valid $name: no clash
        plan_->param_column[out->index] = with->second;
        return out;
      }
      if (it == vars_.end()) Fail("unknown variable '" + e.name + "'", e.pos);
      const VarInfo& info = it->second;
      if (info.ambiguous) {
        Fail("variable '" + e.name + "' is bound by several sources; rename it", e.pos);
      }
      if (ctx.path_vars_need_agg && info.source >= 0 && agg_depth_ == 0) {
        Fail("variable '" + e.name + "' is bound per path; use it inside an aggregate such as sum()",
             e.pos);
      }
      auto out = Make(info.is_value ? BK::kValueSlot : BK::kSlot, e.pos);
      out->index = static_cast<uint32_t>(info.slot);
      out->is_edge = info.is_edge;
      out->slots = uint64_t{1} << info.slot;
      return out;
    }
    case ExprKind::kProperty: return BindProperty(e, ctx);
    case ExprKind::kCall: return BindCall(e, ctx);
    case ExprKind::kUnary: {
      auto out = Make(e.op == "NOT" ? BK::kNot : BK::kNeg, e.pos);
      Adopt(out.get(), Bind(*e.args[0], ctx));
      return out;
    }
    case ExprKind::kBinary: {
      BoundExprPtr out;
      const std::string& op = e.op;
      if (op == "=~") {
        Fail("the regular-expression operator =~ is not supported (PQL has no regex engine that "
             "bounds its running time); use STARTS WITH, ENDS WITH, CONTAINS or toLower()",
             e.pos);
      }
      if (op == "STARTS WITH" || op == "ENDS WITH" || op == "CONTAINS") {
        out = Make(BK::kStringOp, e.pos);
        out->op = op == "STARTS WITH" ? 's' : op == "ENDS WITH" ? 'e' : 'c';
      } else if (op == "AND") {
        out = Make(BK::kAnd, e.pos);
      } else if (op == "OR") {
        out = Make(BK::kOr, e.pos);
      } else if (op == "XOR") {
        out = Make(BK::kXor, e.pos);
      } else if (op == "+" || op == "-" || op == "*" || op == "/" || op == "%") {
        out = Make(BK::kArith, e.pos);
        out->op = op[0];
      } else {
        out = Make(BK::kCompare, e.pos);
        if (op == "=") out->op = '=';
        else if (op == "<>" || op == "!=") out->op = '!';
        else if (op == "<") out->op = '<';
        else if (op == "<=") out->op = 'l';
        else if (op == ">") out->op = '>';
        else if (op == ">=") out->op = 'g';
        else Fail("unknown operator '" + op + "'", e.pos);
      }
      Adopt(out.get(), Bind(*e.args[0], ctx));
      Adopt(out.get(), Bind(*e.args[1], ctx));
      return out;
    }
    case ExprKind::kIn: {
      auto out = Make(BK::kIn, e.pos);
      out->negated = e.negated;
      Adopt(out.get(), Bind(*e.args[0], ctx));
      Adopt(out.get(), Bind(*e.args[1], ctx));
      return out;
    }
    case ExprKind::kIsNull: {
      auto out = Make(BK::kIsNull, e.pos);
      out->negated = e.negated;
      Adopt(out.get(), Bind(*e.args[0], ctx));
      return out;
    }
    case ExprKind::kList: {
      auto out = Make(BK::kList, e.pos);
      for (const auto& arg : e.args) Adopt(out.get(), Bind(*arg, ctx));
      return out;
    }
    case ExprKind::kPattern: return BindExists(e, ctx);
    case ExprKind::kListComp: return BindListComprehension(e, ctx);
    case ExprKind::kReduce: return BindReduce(e, ctx);
    case ExprKind::kMap:
    case ExprKind::kMapProjection: return BindMap(e, ctx);
    case ExprKind::kCase: {
      auto out = Make(BK::kCase, e.pos);
      out->op = e.op == "simple" ? 's' : 'g';
      for (const auto& arg : e.args) Adopt(out.get(), Bind(*arg, ctx));
      return out;
    }
  }
  Fail("unsupported expression", e.pos);
}

NodeSpec Binder::BindNode(const ast::NodePattern& n) {
  NodeSpec spec;
  spec.var = n.var;
  spec.pos = n.pos;
  if (!n.type.empty()) spec.type = ResolveNodeType(n.type, n.pos);
  ExprContext ctx;
  ctx.clause = "a pattern's property map";
  for (const auto& [key, expr] : n.props) {
    BoundExprPtr value = Bind(*expr, ctx);
    if (key == "id") {
      spec.id = std::move(value);
    } else {
      CheckPropertyKnown(key, spec.type, expr->pos);
      spec.props.emplace_back(PropIndex(key), std::move(value));
    }
  }
  return spec;
}

namespace {

// -[*min..max]-> : the bounds, checked against kMaxVarLengthHops.
void BindHopRange(const ast::EdgePattern& e, HopSpec* hop) {
  const int64_t limit = kMaxVarLengthHops;
  if (!e.max_hops) {
    Fail("variable-length relationship without an upper bound: write one of at most " +
             std::to_string(limit) + " hops, e.g. *1.." + std::to_string(limit) +
             " (unbounded * is not supported)",
         e.pos);
  }
  int64_t min = e.min_hops.value_or(1);
  int64_t max = *e.max_hops;
  if (max > limit) {
    Fail("variable-length relationship of up to " + std::to_string(max) + " hops, over the limit of " +
             std::to_string(limit),
         e.pos);
  }
  if (min > max) {
    Fail("variable-length relationship *" + std::to_string(min) + ".." + std::to_string(max) +
             ": the lower bound is above the upper bound",
         e.pos);
  }
  hop->var_length = true;
  hop->min_hops = static_cast<uint32_t>(min);
  hop->max_hops = static_cast<uint32_t>(max);
}

}  // namespace

PatternSpec Binder::BindPattern(const ast::Pattern& p, const Declare& declare, bool anon_slots,
                                bool var_length) {
  PatternSpec spec;
  if (p.edges.size() > 8) Fail("patterns are limited to 8 relationships", p.pos);
  for (const ast::NodePattern& n : p.nodes) {
    NodeSpec node = BindNode(n);
    if (!n.var.empty()) {
      node.slot = declare(n.var, false, node.type, n.pos);
    } else if (anon_slots) {
      node.slot = NewSlot();
    }
    spec.nodes.push_back(std::move(node));
  }
  for (const ast::EdgePattern& e : p.edges) {
    HopSpec hop = BindHop(e);
    if (e.var_length) {
      if (!var_length) Fail("variable-length relationships are only supported in MATCH", e.pos);
      BindHopRange(e, &hop);
    }
    if (!e.var.empty()) {
      hop.slot = declare(e.var, true, kInvalidType, e.pos);
      if (hop.var_length) vars_.at(e.var).is_value = true;
    } else if (anon_slots) {
      hop.slot = NewSlot();
    }
    spec.hops.push_back(std::move(hop));
  }
  if (width_ > 64) Fail("too many variables in one query (at most 64 pattern positions)", p.pos);
  spec.text = PatternText(p);
  return spec;
}

void Binder::Hoist(BoundExprPtr* e) {
  BoundExpr& x = **e;
  bool trivial = x.kind == BK::kConst || x.kind == BK::kParam || x.kind == BK::kSlot ||
                 x.kind == BK::kCached;
  bool seed_only = (x.slots & ~uint64_t{1}) == 0 && (x.flags & (kUsesAgg | kUsesSources)) == 0;
  if (seed_only && !trivial) {
    auto ref = Make(BK::kCached, x.pos);
    ref->index = static_cast<uint32_t>(plan_->cached.size());
    ref->slots = x.slots;
    plan_->cached.push_back(std::move(*e));
    *e = std::move(ref);
    return;
  }
  for (auto& arg : x.args) Hoist(&arg);
}

Result<std::shared_ptr<const Plan>> BuildPlan(const ast::Statement& stmt, const Schema& schema,
                                              const graph::Graph* graph,
                                              const Deadline& deadline) {
  if (deadline.Expired()) return Status::DeadlineExceeded("query deadline exceeded before binding");
  auto plan = std::make_shared<Plan>();
  plan->explain = stmt.explain;
  plan->profile = stmt.profile;
  plan->approx_bytes =
      sizeof(Plan) + 2 * stmt.text_bytes + kPlanBytesPerExprNode * stmt.expression_nodes;
  Binder binder(schema, graph, plan.get());
  binder.deadline = deadline;
  try {
    if (const auto* match = std::get_if<ast::MatchQuery>(&stmt.body)) {
      plan->body = MatchPlan();
      PlanMatch(*match, &binder);
    } else {
      plan->body = RecommendPlan();
      PlanRecommend(std::get<ast::RecommendQuery>(stmt.body), &binder);
    }
  } catch (const BindError& e) {
    return e.status;
  }
  if (deadline.Expired()) return Status::DeadlineExceeded("query deadline exceeded while planning");
  return std::shared_ptr<const Plan>(std::move(plan));
}

}  // namespace pathwise::query
