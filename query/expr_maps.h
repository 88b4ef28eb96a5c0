// Internal to query/: map values built by expressions — map literals `{k: v}` and map
// projections `m {.title, .*, key: e, x}` (docs/query-language.md, "Maps").
#pragma once

#include "query/exec_state.h"
#include "query/plan.h"
#include "query/runtime_value.h"

namespace pathwise::query {

// REQUIRES: e.kind == BK::kMap.
RtValue EvalMap(const BoundExpr& e, const EvalEnv& env);

// REQUIRES: e.kind == BK::kMapProjection. Null when the base is null; a base that is not a node,
// an edge or a map sets ExecState::error (InvalidArgument at e) and yields null.
RtValue EvalMapProjection(const BoundExpr& e, const EvalEnv& env);

}  // namespace pathwise::query
