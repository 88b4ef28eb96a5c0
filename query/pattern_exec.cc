#include "query/pattern_exec.h"

#include <algorithm>

#include "query/expr_eval.h"

namespace pathwise::query {

namespace {

bool Stronger(const Step& a, const Step& b) {
  if (a.nb.weight != b.nb.weight) return a.nb.weight > b.nb.weight;
  if (a.nb.ts != b.nb.ts) return a.nb.ts > b.nb.ts;
  return a.nb.node < b.nb.node;
}

thread_local std::vector<graph::Neighbor> tls_neighbors;

// The values of hop.props, in order, evaluated without a row (the binder checked that they read
// none). False when one is null, which no edge property equals.
bool EdgeFilterValues(ExecState& st, const HopSpec& hop, std::vector<RtValue>* want) {
  EvalEnv env;
  env.st = &st;
  want->clear();
  for (const EdgePropFilter& f : hop.props) {
    want->push_back(Eval(*f.value, env));
    if (want->back().IsNull()) return false;
  }
  return true;
}

// Whether edge e equals want[i] in every property hop.props[i]. A stored property costs one
// storage read per edge; each read counts as a unit of work against the deadline (false once it
// passed).
bool EdgeMatches(ExecState& st, const HopSpec& hop, const std::vector<RtValue>& want,
                 const EdgeVal& e) {
  for (size_t i = 0; i < hop.props.size(); ++i) {
    const EdgePropFilter& f = hop.props[i];
    if (f.stored && !st.Tick()) return false;
    RtValue eq = Equals(f.stored ? StoredEdgeProperty(st, e, f.name) : EdgeAttribute(e, f.attr),
                        want[i]);
    if (!eq.IsBool() || !eq.AsBool()) return false;
  }
  return true;
}

}  // namespace

bool HopNeighbors(ExecState& st, const HopSpec& hop, NodeId node, bool reverse, size_t cap,
                  std::vector<Step>* out) {
  out->clear();
  bool truncated = false;
  size_t limit = cap == 0 ? SIZE_MAX : cap;
  // A property map filters before the cap picks the strongest edges, so every edge is fetched.
  const bool filtered = !hop.props.empty();
  std::vector<RtValue> want;
  if (filtered && !EdgeFilterValues(st, hop, &want)) return false;
  std::vector<graph::Neighbor>& buf = tls_neighbors;
  auto collect = [&](TypeId type, storage::Direction dir) {
    size_t degree = st.graph->TopNeighbors(node, type, dir, filtered ? SIZE_MAX : limit, &buf);
    if (degree > buf.size()) truncated = true;
    bool stored_out = dir == storage::Direction::kOut;
    for (const graph::Neighbor& nb : buf) {
      // A self-loop appears in both lists of its node; walk it once.
      if (hop.dir == ast::EdgeDirection::kBoth && !stored_out && nb.node == node) continue;
      Step step{nb, type, stored_out};
      if (filtered && !EdgeMatches(st, hop, want, EdgeValOf(EdgeSlot(node, step)))) continue;
      out->push_back(step);
    }
  };
  auto for_types = [&](storage::Direction dir) {
    if (hop.types.empty()) {
      for (const EdgeTypeDef& def : st.schema->edge_types()) collect(def.id, dir);
    } else {
      for (TypeId type : hop.types) collect(type, dir);
    }
  };
  switch (hop.dir) {
    case ast::EdgeDirection::kOut:
      for_types(reverse ? storage::Direction::kIn : storage::Direction::kOut);
      break;
    case ast::EdgeDirection::kIn:
      for_types(reverse ? storage::Direction::kOut : storage::Direction::kIn);
      break;
    case ast::EdgeDirection::kBoth:
      for_types(storage::Direction::kOut);
      for_types(storage::Direction::kIn);
      break;
  }
  if (out->size() > limit) {
    std::partial_sort(out->begin(), out->begin() + limit, out->end(), Stronger);
    out->resize(limit);
    truncated = true;
  }
  return truncated;
}

bool EdgeReused(const ExecState& st, const Slot* row, const std::vector<int>& earlier,
                const Slot& edge) {
  for (int e : earlier) {
    const Slot& bound = row[e];
    if (bound.type != kValueSlotType) {
      if (SameEdge(bound, edge)) return true;
      continue;
    }
    const RtValue& list = st.slot_values[static_cast<size_t>(bound.ts)];
    if (!list.IsList()) continue;
    for (const RtValue& item : list.AsList()) {
      if (!item.IsEdge()) continue;
      const EdgeVal& f = item.AsEdge();
      if (f.src == edge.node && f.dst == edge.dst && f.type == edge.type) return true;
    }
  }
  return false;
}

bool NodeMatches(const NodeSpec& spec, NodeId node, const EvalEnv& env) {
  const ExecState& st = *env.st;
  if (spec.type != kInvalidType && st.graph->TypeOf(node) != spec.type) return false;
  if (spec.id) {
    RtValue want = Eval(*spec.id, env);
    if (!want.IsString() || st.graph->KeyOf(node) != want.AsString()) return false;
  }
  for (const auto& [prop, expr] : spec.props) {
    Value have;
    if (!st.graph->GetProperty(node, st.props[prop], &have)) return false;
    RtValue eq = Equals(FromProperty(std::move(have)), Eval(*expr, env));
    if (!eq.IsBool() || !eq.AsBool()) return false;
  }
  return true;
}

std::vector<int> ExpansionOrder(int positions, int anchor) {
  std::vector<int> order;
  order.reserve(positions);
  order.push_back(anchor);
  for (int p = anchor + 1; p < positions; ++p) order.push_back(p);
  for (int p = anchor - 1; p >= 0; --p) order.push_back(p);
  return order;
}

void InitWalk(PatternWalk* w, const PatternSpec& pattern, const std::vector<int>& order,
              ExecState* st, Slot* row) {
  w->pattern = &pattern;
  w->order = &order;
  w->st = st;
  w->row = row;
  w->nodes.assign(pattern.nodes.size(), kInvalidNode);
  w->edges.assign(pattern.hops.size(), Slot());
  w->steps.resize(pattern.nodes.size());
  w->truncated = false;
  w->truncated_hops = 0;
}

namespace {

// The seed-side set of a cached predicate: nodes at position n-2 reachable from the seed.
const NodeSet& SeedSet(uint32_t index, const ExistsSpec& spec, const EvalEnv& env) {
  ExecState* st = env.st;
  if (st->exists_sets.size() <= index) st->exists_sets.resize(index + 1);
  std::unique_ptr<NodeSet>& set = st->exists_sets[index];
  if (set) return *set;
  set = std::make_unique<NodeSet>();
  const PatternSpec& p = spec.pattern;
  int last = static_cast<int>(p.nodes.size()) - 2;
  std::vector<int> order;
  for (int pos = 0; pos <= last; ++pos) order.push_back(pos);
  PatternWalk w;
  InitWalk(&w, p, order, st, const_cast<Slot*>(env.row));
  w.env = env;
  w.nodes[0] = env.row[p.nodes[0].slot].node;
  NodeSet* out = set.get();
  // The seed end's own type and property filters: a seed that fails them reaches nothing.
  if (!NodeMatches(p.nodes[0], w.nodes[0], env)) return *set;
  auto on_bind = [](size_t) { return true; };
  auto on_done = [&]() {
    out->Insert(w.nodes[last]);
    return true;
  };
  if (last == 0) {
    out->Insert(w.nodes[0]);
  } else {
    WalkPattern(&w, 1, on_bind, on_done);
  }
  return *set;
}

bool DirectEdge(ExecState& st, const HopSpec& hop, NodeId a, NodeId b) {
  std::vector<RtValue> want;
  if (!hop.props.empty() && !EdgeFilterValues(st, hop, &want)) return false;
  auto edge = [&](NodeId src, TypeId type, NodeId dst) {
    graph::Neighbor nb;
    if (!st.graph->FindEdge(src, type, dst, &nb)) return false;
    return hop.props.empty() ||
           EdgeMatches(st, hop, want, EdgeVal{src, dst, type, nb.count, nb.weight, nb.ts});
  };
  auto has = [&](TypeId type) {
    bool out_ok = hop.dir != ast::EdgeDirection::kIn;
    bool in_ok = hop.dir != ast::EdgeDirection::kOut;
    return (out_ok && edge(a, type, b)) || (in_ok && edge(b, type, a));
  };
  if (hop.types.empty()) {
    for (const EdgeTypeDef& def : st.schema->edge_types()) {
      if (has(def.id)) return true;
    }
    return false;
  }
  for (TypeId type : hop.types) {
    if (has(type)) return true;
  }
  return false;
}

}  // namespace

namespace {

// EXISTS { } / COUNT { }: walks from the first outer position on a copy of the row, so that the
// subquery's own variables can be bound for its WHERE. A null outer variable matches nothing.
RtValue EvalSubquery(const ExistsSpec& spec, const EvalEnv& env) {
  const PatternSpec& p = spec.pattern;
  const bool count = spec.subquery == 'c';
  int n = static_cast<int>(p.nodes.size());
  int first_outer = -1;
  for (int pos = 0; pos < n; ++pos) {
    if (!p.nodes[pos].outer) continue;
    if (env.row[p.nodes[pos].slot].node == kInvalidNode) {
      return count ? RtValue(int64_t{0}) : RtValue(false);
    }
    if (first_outer < 0) first_outer = pos;
  }
  std::vector<Slot> row(env.row, env.row + spec.width);
  EvalEnv inner = env;
  inner.row = row.data();
  std::vector<int> order = ExpansionOrder(n, first_outer);
  PatternWalk w;
  InitWalk(&w, p, order, env.st, row.data());
  w.env = inner;
  w.nodes[first_outer] = row[p.nodes[first_outer].slot].node;
  int64_t matches = 0;
  if (!NodeMatches(p.nodes[first_outer], w.nodes[first_outer], inner)) {
    return count ? RtValue(matches) : RtValue(false);
  }
  auto on_bind = [](size_t) { return true; };
  auto on_done = [&]() {
    if (spec.where && !EvalPredicate(*spec.where, inner)) return true;
    ++matches;
    return count;  // EXISTS stops at the first match
  };
  WalkPattern(&w, 1, on_bind, on_done);
  if (w.truncated) env.st->hops_truncated = true;
  return count ? RtValue(matches) : RtValue(matches > 0);
}

}  // namespace

RtValue EvalExists(uint32_t index, const EvalEnv& env) {
  const ExistsSpec& spec = env.st->plan->exists[index];
  if (spec.subquery != 0) return EvalSubquery(spec, env);
  const PatternSpec& p = spec.pattern;
  int n = static_cast<int>(p.nodes.size());
  int first_outer = -1;
  for (int pos = 0; pos < n; ++pos) {
    if (!p.nodes[pos].outer) continue;
    if (env.row[p.nodes[pos].slot].node == kInvalidNode) return RtValue();
    if (first_outer < 0) first_outer = pos;
  }
  ExecState* st = env.st;
  if (spec.seed_cached) {
    const NodeSet& set = SeedSet(index, spec, env);
    // Most seeds reach nothing (a user who blocked no seller): then no candidate is touched.
    if (set.size() == 0) return RtValue(false);
    NodeId last = env.row[p.nodes[n - 1].slot].node;
    if (!NodeMatches(p.nodes[n - 1], last, env)) return RtValue(false);
    std::vector<Step> steps;
    HopNeighbors(*st, p.hops[n - 2], last, /*reverse=*/true, 0, &steps);
    for (const Step& s : steps) {
      if (set.Contains(s.nb.node) && NodeMatches(p.nodes[n - 2], s.nb.node, env)) {
        return RtValue(true);
      }
    }
    return RtValue(false);
  }
  if (n == 2 && p.nodes[0].outer && p.nodes[1].outer) {
    NodeId a = env.row[p.nodes[0].slot].node;
    NodeId b = env.row[p.nodes[1].slot].node;
    return RtValue(NodeMatches(p.nodes[0], a, env) && NodeMatches(p.nodes[1], b, env) &&
                   DirectEdge(*st, p.hops[0], a, b));
  }
  // General case: walk from the first outer position; outer positions must coincide.
  std::vector<int> order = ExpansionOrder(n, first_outer);
  PatternWalk w;
  InitWalk(&w, p, order, st, const_cast<Slot*>(env.row));
  w.env = env;
  w.nodes[first_outer] = env.row[p.nodes[first_outer].slot].node;
  if (!NodeMatches(p.nodes[first_outer], w.nodes[first_outer], env)) return RtValue(false);
  bool found = false;
  auto on_bind = [](size_t) { return true; };
  auto on_done = [&]() {
    found = true;
    return false;
  };
  WalkPattern(&w, 1, on_bind, on_done);
  return RtValue(found);
}

}  // namespace pathwise::query
