// Internal to query/: the MATCH operators. They run one after another over a binding table
// (one row of Slots per binding), then turn it into value rows (projection or aggregation),
// which the last operators de-duplicate, sort and page.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "query/exec_state.h"
#include "query/plan.h"
#include "query/row_table.h"

namespace pathwise::query {

struct MatchState : ExecState {
  size_t width = 0;
  RowTable table;     // the current binding table (rows == table.rows())
  RowTable building;  // the table the running operator builds (NewTable), then published
  size_t rows = 0;
  // After projection: one row per result, return items first, then hidden sort keys.
  std::vector<std::vector<RtValue>> values;
  // OPTIONAL MATCH: the input tables of the optional matches running (innermost last).
  std::vector<RowTable> optional_inputs;
  // UNION: the result rows of the union's earlier parts (return items only).
  std::vector<std::vector<RtValue>> union_rows;
};

using MatchOp = Operator<MatchState>;

// Binding tables beyond this many rows stop the query (memory guard).
constexpr size_t kMaxIntermediateRows = 5'000'000;

// Credits t's memory to the account and empties t; a large table is handed to the execution's
// Reclaimer (ExecState::reclaimer) instead of being freed on the query's thread.
void DiscardTable(MatchState* st, RowTable* t);

// Helpers of the operators (match_executor.cc, pipeline_ops.cc).
EvalEnv Env(MatchState* st, const Slot* row);
// Appends one row to a table being built; each new chunk is charged to the memory account;
// more than kMaxIntermediateRows rows is ResourceExhausted.
Status Append(MatchState* st, RowTable* out, const Slot* row);
// The (empty) table the running operator builds; Publish makes it the current one.
RowTable& NewTable(MatchState* st);
// The new table replaces the old one, whose memory is credited and released (DiscardTable).
void Publish(MatchState* st, RowTable* out, OpCounts* counts);

// Binds `slot` to nodes found by an id lookup (lookup evaluates to an id or a list of ids, per
// input row when it reads the row) or a
// scan of spec.type (all types when untyped), for every input row (cross product), keeping nodes
// that match spec.
// answered (may be null) is the WHERE conjunct the lookup came from, `x.id IN e` or `x.id = e`
// (lookup is its e): the op owns it and binds exactly the nodes for which it is true, so no
// Filter evaluates it again. Each id is looked up once; duplicates bind one node; ids that are
// not strings or name no node bind none; `IN` of a value that is not a list, and `=` of a list,
// bind none (the conjunct is never true for them).
std::unique_ptr<MatchOp> MakeStartOp(std::string name, NodeSpec spec, const BoundExpr* lookup,
                                     BoundExprPtr answered = nullptr);

// What an Expand follows: `hop` from the node in from_slot to bind spec.slot (or, when
// to_bound, to check the node already there), walked against the pattern's direction when
// reverse. Edges already bound in earlier_edges are not reused (relationship uniqueness).
struct ExpandSpec {
  HopSpec hop;
  NodeSpec spec;
  int from_slot = -1;
  bool reverse = false;
  bool to_bound = false;
  std::vector<int> earlier_edges;
};

// One edge per output row; a variable-length hop goes to MakeVarExpandOp.
std::unique_ptr<MatchOp> MakeExpandOp(std::string name, ExpandSpec expand);

// A variable-length hop (hop.var_length): a depth-first walk of hop.min_hops to hop.max_hops
// edges per input row, each row out holding the walk's end node in spec.slot and its edges, in
// pattern order, as a list value in hop.slot. An edge is used at most once per walk and never
// when bound in earlier_edges; every hop follows at most hop.cap edges per node (0: all) and
// every step ticks the deadline. Rows stream into the output table as walks complete; no
// frontier is materialised.
std::unique_ptr<MatchOp> MakeVarExpandOp(std::string name, ExpandSpec expand);

// One element of a path variable's pattern: a node position's slot, or a hop's slot (an edge,
// or a variable-length hop's edge list).
struct PathPart {
  int slot = -1;
  bool var_length = false;
};
// p = (...): builds the path value (a list alternating nodes and edges, in pattern order) from
// the slots of the pattern's positions and hops, into value slot `slot`. A row where any part is
// unbound gets a null path.
std::unique_ptr<MatchOp> MakePathOp(std::string name, std::vector<int> nodes,
                                    std::vector<PathPart> hops, int slot);

// p = shortestPath((a)-[*..n]-(b)) (all: allShortestPaths): per input row with both ends bound,
// the shortest chains of hop's edge types and direction from the node in from_slot to the node
// in to_slot (graph::ShortestPaths, a breadth-first search over at most hop.max_hops edges,
// hop.cap edges per list, under the query's deadline); one row per path found (none when
// there is none), its edges as a list in hop.slot.
std::unique_ptr<MatchOp> MakeShortestPathOp(std::string name, HopSpec hop, int from_slot,
                                            int to_slot, bool all);

// Keeps rows whose node in spec.slot matches spec (a pattern position bound by an earlier one).
std::unique_ptr<MatchOp> MakeNodeCheckOp(std::string name, NodeSpec spec);

// Keeps rows where every conjunct is true.
std::unique_ptr<MatchOp> MakeFilterOp(std::string name, std::vector<BoundExprPtr> conjuncts);

// Evaluates the return items, then the extra (hidden) sort-key expressions, for every binding
// row.
std::unique_ptr<MatchOp> MakeProjectOp(std::vector<BoundExprPtr> items,
                                       std::vector<BoundExprPtr> extra);

// Groups rows by the values of the non-aggregate items (is_key), computes Plan::match_aggs per
// group and evaluates the items and the extra sort-key expressions per group (against the
// group's first row). Without grouping keys there is exactly one group, even over no rows.
// The aggregates are Plan::match_aggs[first_agg, first_agg + agg_count).
std::unique_ptr<MatchOp> MakeAggregateOp(std::vector<BoundExprPtr> items, std::vector<bool> is_key,
                                         std::vector<BoundExprPtr> extra, size_t first_agg,
                                         size_t agg_count);

// Removes rows whose first `columns` values repeat an earlier row's.
std::unique_ptr<MatchOp> MakeDistinctOp(size_t columns);

// Stable sort by (column, descending) keys; ascending puts nulls last (Cypher).
std::unique_ptr<MatchOp> MakeSortOp(std::vector<std::pair<size_t, bool>> columns);

// SKIP / LIMIT (each may be null); values must be non-negative integers.
std::unique_ptr<MatchOp> MakeSkipLimitOp(BoundExprPtr skip, BoundExprPtr limit);

// ---- Clause pipeline (pipeline_ops.cc)

// Puts v in a value slot: null unbinds it; anything else is kept in ExecState::slot_values and
// charged to the memory account (false, with st->error set, when over budget).
bool StoreValue(MatchState* st, const RtValue& v, Slot* slot);

// UNWIND: one row per element of the list `list` evaluates to, the element in value slot `slot`
// (a non-list value gives one row, null none).
std::unique_ptr<MatchOp> MakeUnwindOp(std::string name, BoundExprPtr list, int slot);

// How WITH stores one projected column in the new binding table.
struct RebindSlot {
  int slot = -1;
  enum Kind : uint8_t { kNode, kEdge, kValue } kind = kValue;
};
// WITH: turns the projected value rows (MatchState::values) back into a binding table with the
// columns in the given slots; every other slot is unbound.
std::unique_ptr<MatchOp> MakeRebindOp(std::vector<RebindSlot> columns);

// OPTIONAL MATCH: OptionalBegin keeps the input table and numbers its rows in marker_slot; the
// optional clause's operators run; OptionalEnd adds back every input row none of whose bindings
// survived, with the clause's variables unbound (null).
std::unique_ptr<MatchOp> MakeOptionalBeginOp(int marker_slot);
std::unique_ptr<MatchOp> MakeOptionalEndOp(int marker_slot);

// UNION: UnionPart ends a part before the last: it moves the part's result rows (their first
// `columns` values) to MatchState::union_rows and restarts the binding table from one empty
// row for the next part. Union (UnionAll when all) ends the last part: the result is the earlier
// parts' rows followed by this part's; the planner adds a Distinct after it for UNION.
std::unique_ptr<MatchOp> MakeUnionPartOp(size_t columns);
std::unique_ptr<MatchOp> MakeUnionOp(size_t columns, bool all);

}  // namespace pathwise::query
