// Internal to query/: PQL's string, conversion, list and graph-introspection functions
// (toLower ... range, labels, keys, properties, nodes, relationships, length); expr_eval.cc's
// Call evaluates the arguments and delegates
// here. Null in gives null out, and so does an argument of the wrong kind (docs/query-language.md,
// "Scalar functions"). A result over a fixed limit (kMaxRangeElements, kMaxStringResultBytes)
// sets ExecState::error (InvalidArgument at the call) and yields null.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "query/exec_state.h"
#include "query/plan.h"
#include "query/runtime_value.h"

namespace pathwise::query {

// range(start, end[, step]) produces at most this many elements.
constexpr size_t kMaxRangeElements = 100'000;
// replace() and the case functions produce strings of at most this many bytes.
constexpr size_t kMaxStringResultBytes = size_t{16} << 20;

// Sets st->error (if unset) to InvalidArgument(what) at the position of `at`; returns null.
RtValue FailAt(const BoundExpr& at, ExecState* st, const std::string& what);

// properties(x): a node's properties; an edge's stored properties with its count, ts and weight;
// a map itself; null for anything else.
RtValue PropertiesOf(const RtValue& v, const ExecState& st);

// date([x]), datetime([x]), duration(x) (expr_time.cc): from a string, a map or a value of the
// kind; without an argument the query clock's date or datetime. Bad input sets ExecState::error
// (InvalidArgument at the call) and yields null. duration.between(a, b) and
// duration.inMonths/inDays/inSeconds(a, b): temporal.h's DurationBetween. REQUIRES: no argument
// is null.
RtValue TemporalFunction(const BoundExpr& call, const std::vector<RtValue>& args, ExecState* st);

// True for the functions evaluated by CallFunction.
bool IsExtraFunction(Fn fn);

// REQUIRES: IsExtraFunction(call.fn); args are call.args evaluated in order.
RtValue CallFunction(const BoundExpr& call, const std::vector<RtValue>& args, ExecState* st);

// `a STARTS WITH b` (op 's'), `a ENDS WITH b` ('e'), `a CONTAINS b` ('c'): null unless both are
// strings; bytewise.
RtValue StringPredicate(char op, const RtValue& a, const RtValue& b);

}  // namespace pathwise::query
