// Internal to query/: walking graph patterns over graph::Graph — the neighbours of one node over
// one relationship of a pattern (with fan-out caps), node filters, a generic depth-first pattern
// walker used by RECOMMEND graph sources and example patterns, and pattern predicates.
#pragma once

#include <cstddef>
#include <vector>

#include "graph/graph.h"
#include "query/exec_state.h"
#include "query/plan.h"

namespace pathwise::query {

// One edge leaving a node while walking a pattern.
struct Step {
  graph::Neighbor nb;  // the node reached, with the edge's weight/count/ts
  TypeId type = kInvalidType;
  bool stored_out = true;  // the edge is stored from the walked-from node to nb.node
};

// The binding of an edge step taken from `from`.
inline Slot EdgeSlot(NodeId from, const Step& s) {
  Slot slot;
  slot.node = s.stored_out ? from : s.nb.node;
  slot.dst = s.stored_out ? s.nb.node : from;
  slot.type = s.type;
  slot.count = s.nb.count;
  slot.weight = s.nb.weight;
  slot.ts = s.nb.ts;
  return slot;
}

inline bool SameEdge(const Slot& a, const Slot& b) {
  return a.node == b.node && a.dst == b.dst && a.type == b.type;
}

inline EdgeVal EdgeValOf(const Slot& s) { return EdgeVal{s.node, s.dst, s.type, s.count, s.weight, s.ts}; }

// Whether `edge` is already bound in one of the row's slots `earlier`: an edge slot, or a value
// slot holding the edge list of a variable-length relationship (relationship uniqueness).
bool EdgeReused(const ExecState& st, const Slot* row, const std::vector<int>& earlier,
                const Slot& edge);

// Collects into *out the edges of `node` over `hop`, walked from position i to i + 1
// (reverse = false) or from i + 1 to i (reverse = true), that match hop's property map (if any).
// cap 0 means all; otherwise at most cap of the matching edges, strongest weight first, ties
// most recent first. Returns true when the cap dropped edges.
bool HopNeighbors(ExecState& st, const HopSpec& hop, NodeId node, bool reverse, size_t cap,
                  std::vector<Step>* out);

// Whether `node` satisfies the position's type, {id: ...} and {prop: ...} filters.
bool NodeMatches(const NodeSpec& spec, NodeId node, const EvalEnv& env);

// The order positions get bound when a pattern is walked from `anchor`: anchor, anchor+1 ..
// n-1, then anchor-1 .. 0. The position bound before order[k] (k > 0) is PrevOf(order[k]).
std::vector<int> ExpansionOrder(int positions, int anchor);
inline int PrevOf(int pos, int anchor) { return pos > anchor ? pos - 1 : pos + 1; }

// Depth-first walk of a pattern whose anchor position (order[0]) is already bound in `nodes`.
// At every step the reached node must match its NodeSpec; positions with `outer` must equal the
// node already in nodes[]. on_bind(k) runs after order[k] is bound (return false to prune) and
// on_done() after the last position (return false to stop the whole walk). Edges are distinct
// within one binding (relationship uniqueness). Per-hop caps: hop.cap, else default_cap (0: none),
// unless ignore_caps.
struct PatternWalk {
  const PatternSpec* pattern = nullptr;
  const std::vector<int>* order = nullptr;
  ExecState* st = nullptr;
  EvalEnv env;               // used for the node filters' expressions
  Slot* row = nullptr;       // receives node/edge bindings of positions and hops with slots
  size_t default_cap = 0;
  bool ignore_caps = false;  // follow every edge (why-not: would it be reached without caps?)
  bool truncated = false;    // some cap dropped edges
  uint32_t truncated_hops = 0;  // bit i: a cap dropped edges of hop i
  std::vector<NodeId> nodes;             // by position
  std::vector<Slot> edges;               // by hop
  std::vector<std::vector<Step>> steps;  // scratch per depth
};

template <typename OnBind, typename OnDone>
bool WalkPattern(PatternWalk* w, size_t k, OnBind& on_bind, OnDone& on_done) {
  const std::vector<int>& order = *w->order;
  if (k == order.size()) return on_done();
  const PatternSpec& p = *w->pattern;
  int anchor = order[0];
  int pos = order[k];
  int prev = PrevOf(pos, anchor);
  int hop_index = pos < prev ? pos : prev;
  const HopSpec& hop = p.hops[hop_index];
  const NodeSpec& spec = p.nodes[pos];
  std::vector<Step>& steps = w->steps[k];
  size_t cap = w->ignore_caps ? 0 : hop.cap != 0 ? hop.cap : w->default_cap;
  if (HopNeighbors(*w->st, hop, w->nodes[prev], pos < prev, cap, &steps)) {
    w->truncated = true;
    w->truncated_hops |= uint32_t{1} << hop_index;
  }
  for (const Step& step : steps) {
    if (!w->st->Tick()) return false;
    NodeId node = step.nb.node;
    if (spec.outer) {
      if (w->row[spec.slot].node != node) continue;
    }
    Slot edge = EdgeSlot(w->nodes[prev], step);
    bool repeated = false;
    for (size_t j = 1; j < k; ++j) {
      int other = order[j];
      int other_prev = PrevOf(other, anchor);
      if (SameEdge(w->edges[other < other_prev ? other : other_prev], edge)) repeated = true;
    }
    if (repeated) continue;
    w->nodes[pos] = node;
    w->edges[hop_index] = edge;
    if (!spec.outer && spec.slot >= 0) w->row[spec.slot].node = node;
    if (hop.slot >= 0) w->row[hop.slot] = edge;
    if (!NodeMatches(spec, node, w->env)) continue;
    if (!on_bind(k)) continue;
    if (!WalkPattern(w, k + 1, on_bind, on_done)) return false;
  }
  return w->st->error.ok();
}

// Prepares w for a walk of `pattern` in `order` (sizes the scratch buffers).
void InitWalk(PatternWalk* w, const PatternSpec& pattern, const std::vector<int>& order,
              ExecState* st, Slot* row);

// Evaluates the pattern predicate Plan::exists[index] for env's row: true, false, or null when
// one of its outer variables is null.
RtValue EvalExists(uint32_t index, const EvalEnv& env);

}  // namespace pathwise::query
