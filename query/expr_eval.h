// Internal to query/: evaluation of bound expressions (plan.h) against a row (exec_state.h).
//
// Null semantics follow Cypher: arithmetic, comparisons and functions of null are null (except
// coalesce/if), AND/OR/XOR/NOT are three-valued, `x IN list` is null when x is null or when no
// element equals x but some element is null. A filter keeps a row only when it is true.
// Evaluation never fails: errors that must stop the query (a deadline inside a pattern
// predicate) are recorded in ExecState::error and the expression yields null.
#pragma once

#include "query/exec_state.h"
#include "query/plan.h"
#include "query/runtime_value.h"

namespace pathwise::query {

RtValue Eval(const BoundExpr& e, const EvalEnv& env);

// An edge's in-memory attribute (weight as a double, ts, count).
RtValue EdgeAttribute(const EdgeVal& e, EdgeAttr attr);
// The stored property `name` of edge e, read from st.store (one storage read); null when the
// edge or the property is missing or there is no store.
RtValue StoredEdgeProperty(const ExecState& st, const EdgeVal& e, const std::string& name);

// True only when e evaluates to true.
inline bool EvalPredicate(const BoundExpr& e, const EvalEnv& env) {
  RtValue v = Eval(e, env);
  return v.IsBool() && v.AsBool();
}

// Binary arithmetic with Cypher semantics: int op int stays int (overflow falls back to double),
// division or modulo by zero is null, `+` concatenates strings and lists.
RtValue Arith(char op, const RtValue& a, const RtValue& b);

// 0.5 ^ ((now - ts) / half_life), 1 for timestamps in the future; null if half_life <= 0.
RtValue Decay(const RtValue& ts, const RtValue& half_life, int64_t now_ms);

// Similarity of two vectors in the metric of a's space (else b's, else cosine); null when a
// value is not a vector or the dimensions differ.
RtValue Similarity(const RtValue& a, const RtValue& b, const ExecState& st);
// similarity(node.space, b) reading the stored vector in place (no copy); same result as
// Similarity(stored vector of node in space, b).
RtValue SimilarityToStored(const ExecState& st, NodeId node, SpaceId space, const RtValue& b);

// Fills st->cache with the values of Plan::cached (subexpressions that depend only on the seed
// and the parameters), in index order.
void ComputeCached(ExecState* st, const Slot* row);

}  // namespace pathwise::query
