#include "query/expr_eval.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <limits>

#include "query/expr_fns.h"
#include "query/expr_maps.h"
#include "query/pattern_exec.h"
#include "query/temporal.h"

namespace pathwise::query {

namespace {

// Every numeric result goes through here: NaN and +/-infinity (overflow, log(0), division by
// zero) become null, so IS NULL, comparisons and the JSON result agree.
RtValue Num(double d) {
  if (!std::isfinite(d)) return RtValue();
  return RtValue(d);
}

// Text of a value for tostring() and string concatenation; graph and schema (may be null) name
// the nodes and edge types inside node, edge and list values.
std::string ToText(const RtValue& v, const graph::Graph* graph = nullptr,
                   const Schema* schema = nullptr) {
  if (v.IsString()) return v.AsString();
  if (v.IsBool()) return v.AsBool() ? "true" : "false";
  if (v.IsInt()) return std::to_string(v.AsInt());
  if (v.IsDouble()) {
    nlohmann::json j = v.AsDouble();
    return j.dump();
  }
  if (v.IsTemporal()) return TemporalText(v.AsTemporal());
  return ToJson(v, graph, schema).dump();
}

// The node a node-valued argument refers to; kInvalidNode for null or non-nodes.
NodeId NodeArg(const BoundExpr& arg, const EvalEnv& env) {
  if (arg.kind == BK::kSlot && !arg.is_edge) return env.row[arg.index].node;
  RtValue v = Eval(arg, env);
  return v.IsNode() ? v.AsNode() : kInvalidNode;
}

// The edge an edge-valued argument refers to; false for null or non-edges.
bool EdgeArg(const BoundExpr& arg, const EvalEnv& env, EdgeVal* out) {
  if (arg.kind == BK::kSlot && arg.is_edge) {
    const Slot& s = env.row[arg.index];
    if (s.node == kInvalidNode) return false;
    *out = EdgeVal{s.node, s.dst, s.type, s.count, s.weight, s.ts};
    return true;
  }
  RtValue v = Eval(arg, env);
  if (!v.IsEdge()) return false;
  *out = v.AsEdge();
  return true;
}

RtValue NodeProperty(const ExecState& st, NodeId node, graph::PropId prop) {
  if (node == kInvalidNode) return RtValue();
  Value value;
  if (!st.graph->GetProperty(node, prop, &value)) return RtValue();
  return FromProperty(std::move(value));
}

}  // namespace

RtValue EdgeAttribute(const EdgeVal& e, EdgeAttr attr) {
  switch (attr) {
    case EdgeAttr::kWeight: return RtValue(static_cast<double>(e.weight));
    case EdgeAttr::kTs: return RtValue(e.ts);
    case EdgeAttr::kCount: return RtValue(static_cast<int64_t>(e.count));
  }
  return RtValue();
}

RtValue StoredEdgeProperty(const ExecState& st, const EdgeVal& e, const std::string& name) {
  if (st.store == nullptr) return RtValue();
  auto record = st.store->GetEdge(e.src, e.type, e.dst);
  if (!record.ok()) return RtValue();
  auto it = record->props.find(name);
  if (it == record->props.end()) return RtValue();
  return FromProperty(it->second);
}

namespace {

RtValue DynamicProperty(const BoundExpr& e, const EvalEnv& env) {
  RtValue base = Eval(*e.args[0], env);
  const ExecState& st = *env.st;
  if (base.IsNode()) {
    if (e.name == "id") return RtValue(st.graph->KeyOf(base.AsNode()));
    return NodeProperty(st, base.AsNode(), st.props[e.index]);
  }
  if (base.IsMap()) return MapGet(base.AsMap(), e.name);
  if (base.IsTemporal()) return TemporalComponent(base.AsTemporal(), e.name);
  if (base.IsEdge()) {
    EdgeAttr attr;
    if (EdgeAttrNamed(e.name, &attr)) return EdgeAttribute(base.AsEdge(), attr);
    return StoredEdgeProperty(st, base.AsEdge(), e.name);
  }
  return RtValue();
}

RtValue VectorOf(const ExecState& st, NodeId node, SpaceId space) {
  if (node == kInvalidNode || st.vectors == nullptr) return RtValue();
  const vector::VectorIndex* index = st.vectors->Get(space);
  if (index == nullptr) return RtValue();
  auto values = index->Get(node);
  if (!values.ok()) return RtValue();
  return RtValue(VectorVal{std::make_shared<const std::vector<float>>(std::move(values).value()),
                           static_cast<int>(space)});
}

RtValue Truth(const RtValue& v) {
  if (v.IsBool()) return v;
  return RtValue();
}

RtValue EvalCompare(char op, const RtValue& a, const RtValue& b) {
  if (op == '=') return Equals(a, b);
  if (op == '!') {
    RtValue eq = Equals(a, b);
    return eq.IsNull() ? eq : RtValue(!eq.AsBool());
  }
  Cmp c = Compare(a, b);
  if (c == Cmp::kNull) return RtValue();
  switch (op) {
    case '<': return RtValue(c == Cmp::kLess);
    case 'l': return RtValue(c != Cmp::kGreater);
    case '>': return RtValue(c == Cmp::kGreater);
    default: return RtValue(c != Cmp::kLess);
  }
}

RtValue EvalIn(const BoundExpr& e, const EvalEnv& env) {
  RtValue list = Eval(*e.args[1], env);
  RtValue result;
  if (list.IsNull()) return RtValue();
  if (list.IsVector()) {
    RtList items;
    for (float f : *list.AsVector().values) items.emplace_back(static_cast<double>(f));
    list = MakeList(std::move(items));
  }
  if (!list.IsList()) return RtValue();
  const RtList& items = list.AsList();
  // A long list is work: counted against the deadline check (the caller's loop stops on error).
  if (env.st != nullptr) env.st->Tick(static_cast<uint32_t>(std::min<size_t>(items.size(), UINT32_MAX)));
  if (items.empty()) {
    result = RtValue(false);
  } else {
    RtValue x = Eval(*e.args[0], env);
    if (x.IsNull()) return RtValue();
    bool unknown = false;
    bool found = false;
    for (const RtValue& item : items) {
      RtValue eq = Equals(x, item);
      if (eq.IsNull()) {
        unknown = true;
      } else if (eq.AsBool()) {
        found = true;
        break;
      }
    }
    result = found ? RtValue(true) : (unknown ? RtValue() : RtValue(false));
  }
  if (e.negated && !result.IsNull()) return RtValue(!result.AsBool());
  return result;
}

RtValue MathFn(Fn fn, const RtValue& x) {
  if (!x.IsNumber()) return RtValue();
  double d = x.AsDouble();
  switch (fn) {
    case Fn::kLog: return d > 0 ? Num(std::log(d)) : RtValue();
    case Fn::kExp: return Num(std::exp(d));
    case Fn::kSqrt: return d >= 0 ? Num(std::sqrt(d)) : RtValue();
    case Fn::kAbs:
      if (x.IsInt()) {
        return x.AsInt() == std::numeric_limits<int64_t>::min() ? Num(-d) : RtValue(std::abs(x.AsInt()));
      }
      return Num(std::fabs(d));
    case Fn::kFloor: return x.IsInt() ? x : Num(std::floor(d));
    case Fn::kCeil: return x.IsInt() ? x : Num(std::ceil(d));
    case Fn::kRound: return x.IsInt() ? x : Num(std::round(d));
    default: return RtValue();
  }
}

RtValue Extreme(const BoundExpr& e, const EvalEnv& env, bool greatest) {
  RtValue best;
  for (const auto& arg : e.args) {
    RtValue v = Eval(*arg, env);
    if (v.IsNull()) continue;
    if (best.IsNull()) {
      best = std::move(v);
      continue;
    }
    Cmp c = Compare(v, best);
    if (c == Cmp::kNull) return RtValue();
    if (greatest ? c == Cmp::kGreater : c == Cmp::kLess) best = std::move(v);
  }
  return best;
}

RtValue DegreeOf(const BoundExpr& e, const EvalEnv& env) {
  const ExecState& st = *env.st;
  NodeId node = NodeArg(*e.args[0], env);
  if (node == kInvalidNode) return RtValue();
  std::string dir = "both";
  if (e.args.size() > 2) {
    RtValue d = Eval(*e.args[2], env);
    if (!d.IsString()) return RtValue();
    dir = d.AsString();
    if (dir != "out" && dir != "in" && dir != "both") return RtValue();
  }
  bool count_out = dir != "in", count_in = dir != "out";
  int64_t total = 0;
  if (e.args.size() > 1) {
    RtValue t = Eval(*e.args[1], env);
    if (!t.IsString()) return RtValue();
    const EdgeTypeDef* def = st.schema->FindEdgeType(t.AsString());
    if (def == nullptr) return RtValue();
    if (count_out) total += st.graph->Degree(node, def->id, storage::Direction::kOut);
    if (count_in) total += st.graph->Degree(node, def->id, storage::Direction::kIn);
    return RtValue(total);
  }
  for (const auto& d : st.graph->Degrees(node)) {
    bool out = d.dir == storage::Direction::kOut;
    if ((out && count_out) || (!out && count_in)) total += static_cast<int64_t>(d.degree);
  }
  return RtValue(total);
}

// counter(key..., name): the online value of a declared counter at the query clock. A key value
// is a node (its external id), a string or an integer (its decimal text); null in, null out.
// An undeclared counter, a key of the wrong shape or a key value of another kind is an error at
// the call.
RtValue CounterOf(const BoundExpr& e, const EvalEnv& env) {
  ExecState* st = env.st;
  RtValue name = Eval(*e.args.back(), env);
  if (name.IsNull()) return RtValue();
  if (!name.IsString()) return FailAt(e, st, "counter() takes the counter's name as a string");
  std::vector<std::string> key;
  for (size_t i = 0; i + 1 < e.args.size(); ++i) {
    RtValue v = Eval(*e.args[i], env);
    if (v.IsNull()) return RtValue();
    if (v.IsNode()) {
      key.push_back(st->graph->KeyOf(v.AsNode()));
    } else if (v.IsString()) {
      key.push_back(v.AsString());
    } else if (v.IsInt()) {
      key.push_back(std::to_string(v.AsInt()));
    } else {
      return FailAt(e, st, "counter() takes its key as nodes, strings or integers");
    }
  }
  if (st->counters == nullptr) {
    return FailAt(e, st, "unknown counter '" + name.AsString() + "' (no counters are declared)");
  }
  Result<double> value = st->counters->Value(name.AsString(), key, st->now_ms);
  if (!value.ok()) return FailAt(e, st, value.status().message());
  return RtValue(*value);
}

RtValue TypeName(const RtValue& v, const ExecState& st) {
  if (v.IsNode()) {
    const NodeTypeDef* def = st.schema->NodeType(st.graph->TypeOf(v.AsNode()));
    return def ? RtValue(def->name) : RtValue();
  }
  if (v.IsEdge()) {
    const EdgeTypeDef* def = st.schema->EdgeType(v.AsEdge().type);
    return def ? RtValue(def->name) : RtValue();
  }
  return RtValue();
}

// CASE: the first WHEN that is true (generic form) or equal to the subject (simple form; a
// null subject equals nothing) gives its THEN; else the ELSE value (null without ELSE).
RtValue EvalCase(const BoundExpr& e, const EvalEnv& env) {
  size_t i = 0;
  RtValue subject;
  if (e.op == 's') subject = Eval(*e.args[i++], env);
  for (; i + 2 < e.args.size(); i += 2) {
    RtValue when = Eval(*e.args[i], env);
    RtValue hit = e.op == 's' ? Equals(subject, when) : when;
    if (hit.IsBool() && hit.AsBool()) return Eval(*e.args[i + 1], env);
  }
  return Eval(*e.args.back(), env);
}

// Comprehensions and reduce() evaluate their inner expressions over a copy of the row's slots
// up to and including their own (every outer slot an expression inside can read was allocated
// before theirs), in a row of the most slots a query has, so that a comprehension nested inside
// (whose slots come after) finds its own slots in this copy. An own slot's value is pushed on
// ExecState::slot_values while the element is evaluated and popped after.
constexpr size_t kMaxSlots = 64;  // the binder refuses more (BoundExpr::slots is a bit set)

struct InnerRow {
  std::array<Slot, kMaxSlots> row{};
  EvalEnv env;

  // REQUIRES: last < kMaxSlots.
  InnerRow(const EvalEnv& outer, uint32_t last) : env(outer) {
    std::copy(outer.row, outer.row + last + 1, row.begin());
    env.row = row.data();
  }

  // Binds slot to value (pushed on slot_values; the caller pops it).
  void Set(uint32_t slot, const RtValue& value) {
    std::vector<RtValue>& values = env.st->slot_values;
    row[slot] = Slot();
    if (!value.IsNull()) {
      row[slot].node = 0;
      row[slot].type = kValueSlotType;
      row[slot].ts = static_cast<int64_t>(values.size());
    }
    values.push_back(value);
  }
};

// [x IN list WHERE pred | map]; e.index is x's slot.
RtValue EvalListComprehension(const BoundExpr& e, const EvalEnv& env) {
  RtValue list = Eval(*e.args[0], env);
  if (!list.IsList() || e.index >= kMaxSlots) return RtValue();
  InnerRow inner(env, e.index);
  RtList out;
  std::vector<RtValue>& values = env.st->slot_values;
  for (const RtValue& item : list.AsList()) {
    if (!env.st->Tick()) return RtValue();
    inner.Set(e.index, item);
    if (EvalPredicate(*e.args[1], inner.env)) out.push_back(Eval(*e.args[2], inner.env));
    values.pop_back();
  }
  return MakeList(std::move(out));
}

// reduce(acc = init, x IN list | expr): acc in slot e.index, x in e.index + 1; null for a list
// that is null or not a list.
RtValue EvalReduce(const BoundExpr& e, const EvalEnv& env) {
  RtValue acc = Eval(*e.args[0], env);
  RtValue list = Eval(*e.args[1], env);
  if (!list.IsList() || e.index + 1 >= kMaxSlots) return RtValue();
  InnerRow inner(env, e.index + 1);
  std::vector<RtValue>& values = env.st->slot_values;
  for (const RtValue& item : list.AsList()) {
    // Work grows with a list accumulator (acc + [x] copies it): counted for the deadline.
    size_t work = 1 + (acc.IsList() ? acc.AsList().size() : 0);
    if (!env.st->Tick(static_cast<uint32_t>(std::min<size_t>(work, UINT32_MAX)))) return RtValue();
    inner.Set(e.index, acc);
    inner.Set(e.index + 1, item);
    RtValue next = Eval(*e.args[2], inner.env);
    values.pop_back();
    values.pop_back();
    acc = std::move(next);
  }
  return acc;
}

RtValue Call(const BoundExpr& e, const EvalEnv& env) {
  const ExecState& st = *env.st;
  if (IsExtraFunction(e.fn)) {
    std::vector<RtValue> args;
    args.reserve(e.args.size());
    for (const auto& arg : e.args) args.push_back(Eval(*arg, env));
    return CallFunction(e, args, env.st);
  }
  switch (e.fn) {
    case Fn::kLog:
    case Fn::kExp:
    case Fn::kSqrt:
    case Fn::kAbs:
    case Fn::kFloor:
    case Fn::kCeil:
    case Fn::kRound:
      return MathFn(e.fn, Eval(*e.args[0], env));
    case Fn::kPow: {
      RtValue a = Eval(*e.args[0], env), b = Eval(*e.args[1], env);
      if (!a.IsNumber() || !b.IsNumber()) return RtValue();
      double r = std::pow(a.AsDouble(), b.AsDouble());
      return std::isfinite(r) ? RtValue(r) : RtValue();
    }
    case Fn::kLeast: return Extreme(e, env, false);
    case Fn::kGreatest: return Extreme(e, env, true);
    case Fn::kIf: {
      RtValue c = Eval(*e.args[0], env);
      return Eval(*e.args[c.IsBool() && c.AsBool() ? 1 : 2], env);
    }
    case Fn::kCoalesce:
      for (const auto& arg : e.args) {
        RtValue v = Eval(*arg, env);
        if (!v.IsNull()) return v;
      }
      return RtValue();
    case Fn::kDecay: return Decay(Eval(*e.args[0], env), Eval(*e.args[1], env), st.now_ms);
    case Fn::kNow: return RtValue(st.now_ms);
    case Fn::kSimilarity:
      if (e.args[0]->kind == BK::kVectorOf) {
        return SimilarityToStored(st, NodeArg(*e.args[0]->args[0], env),
                                  static_cast<SpaceId>(e.args[0]->index), Eval(*e.args[1], env));
      }
      return Similarity(Eval(*e.args[0], env), Eval(*e.args[1], env), st);
    case Fn::kSize: {
      RtValue v = Eval(*e.args[0], env);
      if (v.IsList()) return RtValue(static_cast<int64_t>(v.AsList().size()));
      if (v.IsString()) return RtValue(static_cast<int64_t>(v.AsString().size()));
      if (v.IsVector()) return RtValue(static_cast<int64_t>(v.AsVector().values->size()));
      return RtValue();
    }
    case Fn::kSource: return RtValue(static_cast<int64_t>((env.source_mask >> e.index) & 1));
    case Fn::kSources: return RtValue(static_cast<int64_t>(std::popcount(env.source_mask)));
    case Fn::kSourceScore:
      if (env.source_values == nullptr || (env.source_mask >> e.index & 1) == 0) return RtValue(0.0);
      return RtValue(env.source_values[e.index]);
    case Fn::kId: {
      RtValue v = Eval(*e.args[0], env);
      return v.IsNode() ? RtValue(st.graph->KeyOf(v.AsNode())) : RtValue();
    }
    case Fn::kType: return TypeName(Eval(*e.args[0], env), st);
    case Fn::kDegree: return DegreeOf(e, env);
    case Fn::kCounter: return CounterOf(e, env);
    case Fn::kToString: {
      RtValue v = Eval(*e.args[0], env);
      if (v.IsNull()) return v;
      if (v.IsNode()) return RtValue(st.graph->KeyOf(v.AsNode()));
      return RtValue(ToText(v, st.graph, st.schema));
    }
    default: break;  // IsExtraFunction: evaluated above
  }
  return RtValue();
}

}  // namespace

RtValue Arith(char op, const RtValue& a, const RtValue& b) {
  if (a.IsNull() || b.IsNull()) return RtValue();
  if (a.IsTemporal() || b.IsTemporal()) return TemporalArith(op, a, b);
  if (op == '+') {
    if (a.IsList() || b.IsList()) {
      RtList items;
      if (a.IsList()) items = a.AsList(); else items.push_back(a);
      if (b.IsList()) {
        items.insert(items.end(), b.AsList().begin(), b.AsList().end());
      } else {
        items.push_back(b);
      }
      return MakeList(std::move(items));
    }
    if (a.IsString() || b.IsString()) {
      if (a.IsNode() || a.IsEdge() || b.IsNode() || b.IsEdge() || a.IsVector() || b.IsVector() ||
          a.IsMap() || b.IsMap()) {
        return RtValue();
      }
      return RtValue(ToText(a) + ToText(b));
    }
  }
  if (!a.IsNumber() || !b.IsNumber()) return RtValue();
  if (a.IsInt() && b.IsInt()) {
    int64_t x = a.AsInt(), y = b.AsInt(), r = 0;
    switch (op) {
      case '+':
        if (!__builtin_add_overflow(x, y, &r)) return RtValue(r);
        return Num(static_cast<double>(x) + static_cast<double>(y));
      case '-':
        if (!__builtin_sub_overflow(x, y, &r)) return RtValue(r);
        return Num(static_cast<double>(x) - static_cast<double>(y));
      case '*':
        if (!__builtin_mul_overflow(x, y, &r)) return RtValue(r);
        return Num(static_cast<double>(x) * static_cast<double>(y));
      case '/':
        if (y == 0) return RtValue();
        if (x == std::numeric_limits<int64_t>::min() && y == -1) return Num(-static_cast<double>(x));
        return RtValue(x / y);
      case '%':
        if (y == 0) return RtValue();
        if (y == -1) return RtValue(int64_t{0});
        return RtValue(x % y);
    }
    return RtValue();
  }
  double x = a.AsDouble(), y = b.AsDouble();
  switch (op) {
    case '+': return Num(x + y);
    case '-': return Num(x - y);
    case '*': return Num(x * y);
    case '/': return y == 0 ? RtValue() : Num(x / y);
    case '%': return y == 0 ? RtValue() : Num(std::fmod(x, y));
  }
  return RtValue();
}

RtValue Decay(const RtValue& ts, const RtValue& half_life, int64_t now_ms) {
  if (!ts.IsNumber() || !half_life.IsNumber()) return RtValue();
  double hl = half_life.AsDouble();
  if (!(hl > 0)) return RtValue();
  double age = static_cast<double>(now_ms) - ts.AsDouble();
  if (age <= 0) return RtValue(1.0);
  return Num(std::pow(0.5, age / hl));
}

namespace {

// The floats of a vector-valued argument: a stored vector's own data, or v converted into *own.
const std::vector<float>& FloatsOf(const RtValue& v, std::vector<float>* own) {
  if (v.IsVector()) return *v.AsVector().values;
  *own = ToFloats(v);
  return *own;
}

}  // namespace

// similarity(n.space_vector, b) without copying n's stored vector; the same result as
// Similarity(VectorOf(n), b): the metric of n's space, null when either side is missing or the
// dimensions differ.
RtValue SimilarityToStored(const ExecState& st, NodeId node, SpaceId space, const RtValue& b) {
  if (node == kInvalidNode || b.IsNull() || st.vectors == nullptr) return RtValue();
  const vector::VectorIndex* index = st.vectors->Get(space);
  if (index == nullptr) return RtValue();
  std::vector<float> own;
  const std::vector<float>& y = FloatsOf(b, &own);
  if (y.empty() || y.size() != index->def().dim) return RtValue();
  auto sim = index->SimilarityTo(node, y);
  if (!sim.ok()) return RtValue();
  return Num(*sim);
}

RtValue Similarity(const RtValue& a, const RtValue& b, const ExecState& st) {
  if (a.IsNull() || b.IsNull()) return RtValue();
  std::vector<float> own_a, own_b;
  const std::vector<float>& x = FloatsOf(a, &own_a);
  const std::vector<float>& y = FloatsOf(b, &own_b);
  int space = a.IsVector() ? a.AsVector().space : -1;
  if (space < 0 && b.IsVector()) space = b.AsVector().space;
  if (x.empty() || x.size() != y.size()) return RtValue();
  if (space >= 0 && st.vectors != nullptr) {
    const vector::VectorIndex* index = st.vectors->Get(static_cast<SpaceId>(space));
    if (index != nullptr && index->def().dim == x.size()) {
      return Num(index->Similarity(x, y));
    }
  }
  double dot = 0, nx = 0, ny = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    dot += double{x[i]} * y[i];
    nx += double{x[i]} * x[i];
    ny += double{y[i]} * y[i];
  }
  if (nx == 0 || ny == 0) return RtValue();
  return Num(dot / std::sqrt(nx * ny));
}

RtValue Eval(const BoundExpr& e, const EvalEnv& env) {
  switch (e.kind) {
    case BK::kConst: return e.value;
    case BK::kParam:
      if (env.st->params_read != nullptr) (*env.st->params_read)[e.index] = 1;
      return env.st->params[e.index];
    case BK::kSlot: {
      const Slot& s = env.row[e.index];
      if (s.node == kInvalidNode) return RtValue();
      if (e.is_edge) return RtValue(EdgeVal{s.node, s.dst, s.type, s.count, s.weight, s.ts});
      return RtValue(NodeVal{s.node});
    }
    case BK::kValueSlot: {
      const Slot& s = env.row[e.index];
      return s.node == kInvalidNode ? RtValue() : env.st->slot_values[s.ts];
    }
    case BK::kNodeProp:
      return NodeProperty(*env.st, NodeArg(*e.args[0], env), env.st->props[e.index]);
    case BK::kNodeKey: {
      NodeId node = NodeArg(*e.args[0], env);
      return node == kInvalidNode ? RtValue() : RtValue(env.st->graph->KeyOf(node));
    }
    case BK::kEdgeAttr: {
      EdgeVal edge;
      return EdgeArg(*e.args[0], env, &edge) ? EdgeAttribute(edge, e.attr) : RtValue();
    }
    case BK::kEdgeProp: {
      EdgeVal edge;
      return EdgeArg(*e.args[0], env, &edge) ? StoredEdgeProperty(*env.st, edge, e.name) : RtValue();
    }
    case BK::kDynProp: return DynamicProperty(e, env);
    case BK::kSourceSimilarity:
      if (env.source_values != nullptr && (env.source_mask >> e.index & 1)) {
        return Num(env.source_values[e.index]);
      }
      return Eval(*e.args[0], env);
    case BK::kVectorOf:
      return VectorOf(*env.st, NodeArg(*e.args[0], env), static_cast<SpaceId>(e.index));
    case BK::kNeg: {
      RtValue v = Eval(*e.args[0], env);
      if (v.IsInt()) {
        if (v.AsInt() == std::numeric_limits<int64_t>::min()) return Num(-v.AsDouble());
        return RtValue(-v.AsInt());
      }
      if (v.IsDouble()) return RtValue(-v.AsDouble());
      return RtValue();
    }
    case BK::kNot: {
      RtValue v = Truth(Eval(*e.args[0], env));
      return v.IsNull() ? v : RtValue(!v.AsBool());
    }
    case BK::kArith: return Arith(e.op, Eval(*e.args[0], env), Eval(*e.args[1], env));
    case BK::kCompare: return EvalCompare(e.op, Eval(*e.args[0], env), Eval(*e.args[1], env));
    case BK::kAnd: {
      RtValue a = Truth(Eval(*e.args[0], env));
      if (a.IsBool() && !a.AsBool()) return a;
      RtValue b = Truth(Eval(*e.args[1], env));
      if (b.IsBool() && !b.AsBool()) return b;
      if (a.IsNull() || b.IsNull()) return RtValue();
      return RtValue(true);
    }
    case BK::kOr: {
      RtValue a = Truth(Eval(*e.args[0], env));
      if (a.IsBool() && a.AsBool()) return a;
      RtValue b = Truth(Eval(*e.args[1], env));
      if (b.IsBool() && b.AsBool()) return b;
      if (a.IsNull() || b.IsNull()) return RtValue();
      return RtValue(false);
    }
    case BK::kXor: {
      RtValue a = Truth(Eval(*e.args[0], env));
      RtValue b = Truth(Eval(*e.args[1], env));
      if (a.IsNull() || b.IsNull()) return RtValue();
      return RtValue(a.AsBool() != b.AsBool());
    }
    case BK::kIn: return EvalIn(e, env);
    case BK::kIsNull: {
      bool null = Eval(*e.args[0], env).IsNull();
      return RtValue(e.negated ? !null : null);
    }
    case BK::kList: {
      RtList items;
      items.reserve(e.args.size());
      if (env.st != nullptr) env.st->Tick(static_cast<uint32_t>(e.args.size()));
      for (const auto& arg : e.args) items.push_back(Eval(*arg, env));
      return MakeList(std::move(items));
    }
    case BK::kCall: return Call(e, env);
    case BK::kAggRef: return env.aggs != nullptr ? env.aggs[e.index] : RtValue();
    case BK::kExists: return EvalExists(e.index, env);
    case BK::kCached: return env.st->cache[e.index];
    case BK::kStringOp:
      return StringPredicate(e.op, Eval(*e.args[0], env), Eval(*e.args[1], env));
    case BK::kCase: return EvalCase(e, env);
    case BK::kListComp: return EvalListComprehension(e, env);
    case BK::kReduce: return EvalReduce(e, env);
    case BK::kMap: return EvalMap(e, env);
    case BK::kMapProjection: return EvalMapProjection(e, env);
  }
  return RtValue();
}

void ComputeCached(ExecState* st, const Slot* row) {
  st->cache.assign(st->plan->cached.size(), RtValue());
  EvalEnv env;
  env.st = st;
  env.row = row;
  for (size_t i = 0; i < st->plan->cached.size(); ++i) st->cache[i] = Eval(*st->plan->cached[i], env);
}

}  // namespace pathwise::query
