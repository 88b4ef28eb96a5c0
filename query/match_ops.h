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
};

using MatchOp = Operator<MatchState>;

// Credits t's memory to the account and empties t; a large table is handed to the execution's
// Reclaimer (ExecState::reclaimer) instead of being freed on the query's thread.
void DiscardTable(MatchState* st, RowTable* t);

// Binds `slot` to nodes found by an id lookup (lookup evaluates to an id or a list of ids) or a
// scan of spec.type (all types when untyped), for every input row (cross product), keeping nodes
// that match spec.
std::unique_ptr<MatchOp> MakeStartOp(std::string name, NodeSpec spec, const BoundExpr* lookup);

// Follows hop from the node in from_slot to bind spec.slot (or, when to_bound, to check it).
// Edges already bound in earlier_edges are not reused (relationship uniqueness).
std::unique_ptr<MatchOp> MakeExpandOp(std::string name, HopSpec hop, NodeSpec spec, int from_slot,
                                      bool reverse, bool to_bound, std::vector<int> earlier_edges);

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
std::unique_ptr<MatchOp> MakeAggregateOp(std::vector<BoundExprPtr> items, std::vector<bool> is_key,
                                         std::vector<BoundExprPtr> extra);

// Removes rows whose first `columns` values repeat an earlier row's.
std::unique_ptr<MatchOp> MakeDistinctOp(size_t columns);

// Stable sort by (column, descending) keys; ascending puts nulls last (Cypher).
std::unique_ptr<MatchOp> MakeSortOp(std::vector<std::pair<size_t, bool>> columns);

// SKIP / LIMIT (each may be null); values must be non-negative integers.
std::unique_ptr<MatchOp> MakeSkipLimitOp(BoundExprPtr skip, BoundExprPtr limit);

}  // namespace pathwise::query
