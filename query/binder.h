// Internal to query/: the binder resolves an AST against the schema — node and edge types,
// properties (declared, or present on some node), vector spaces, variables and parameter
// names — and produces bound expressions and patterns (plan.h). The planners
// (match_planner.cc, recommend_planner.cc) drive it and assemble the operators.
//
// Errors are thrown as BindError inside the compiler and returned as Status by BuildPlan; no
// exception leaves query/.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "query/ast.h"
#include "query/plan.h"

namespace pathwise::query {

struct BindError {
  Status status;
};

// Throws BindError(InvalidArgument(msg) at pos).
[[noreturn]] void Fail(const std::string& msg, ast::Position pos);

struct VarInfo {
  std::string name;
  int slot = -1;
  bool is_edge = false;
  TypeId type = kInvalidType;  // node type when known
  int source = -1;             // RECOMMEND: graph source binding it (-1: seed, candidate)
  bool ambiguous = false;      // bound by several sources: cannot be referenced
  bool is_value = false;       // UNWIND / WITH value (not a node or edge): BK::kValueSlot
};

// How expressions may be bound in the current clause.
struct ExprContext {
  std::vector<AggSpec>* aggs = nullptr;  // non-null: aggregates allowed, collected here
  bool recommend = false;                // source()/sources() allowed
  bool path_vars_need_agg = false;       // SCORE: source variables only inside aggregates
  bool match_aggs_allowed = true;  // collect(), percentileCont/Disc(), stDev/stDevP()
  const char* clause = "expression";     // for error messages
};

class Binder {
 public:
  Binder(const Schema& schema, const graph::Graph* graph, Plan* plan)
      : schema_(schema), graph_(graph), plan_(plan) {}

  const Schema& schema() const { return schema_; }
  Plan* plan() { return plan_; }
  std::map<std::string, VarInfo>& vars() { return vars_; }
  const std::vector<std::string>* source_names = nullptr;  // RECOMMEND: for source('name')
  // RECOMMEND after WITH: the WITH's names, by prelude column. A name that is not a variable
  // binds as a parameter filled from the prelude's row (Plan::param_column).
  std::map<std::string, int> with_values;
  // Checked every 256 Bind calls; a passed deadline throws BindError(DeadlineExceeded).
  Deadline deadline = Deadline::Never();

  // Slot allocation for the current row layout.
  int NewSlot() { return static_cast<int>(width_++); }
  size_t width() const { return width_; }
  void ResetWidth(size_t width) { width_ = width; }

  BoundExprPtr Bind(const ast::Expr& e, const ExprContext& ctx);

  // Declares or looks up pattern variables: returns the slot for a named variable.
  using Declare = std::function<int(const std::string& name, bool is_edge, TypeId type,
                                    ast::Position pos)>;
  // Binds a pattern's positions. Named variables go through declare; anonymous positions get a
  // fresh slot when anon_slots, else -1. Property maps are bound in the current scope.
  // Variable-length relationships are a bind error unless var_length (MATCH); their variables
  // become value variables (lists of edges).
  PatternSpec BindPattern(const ast::Pattern& p, const Declare& declare, bool anon_slots,
                          bool var_length = false);
  NodeSpec BindNode(const ast::NodePattern& n);
  TypeId ResolveNodeType(const std::string& name, ast::Position pos) const;
  TypeId ResolveEdgeType(const std::string& name, ast::Position pos) const;
  const VectorSpaceDef& ResolveSpace(const std::string& type, const std::string& name,
                                     ast::Position pos) const;
  uint32_t PropIndex(const std::string& name);
  uint32_t ParamIndex(const std::string& name, ast::Position pos);
  // Moves subexpressions that depend only on the seed (slot 0) and parameters into
  // Plan::cached, evaluated once per execution.
  void Hoist(BoundExprPtr* e);

 private:
  BoundExprPtr BindProperty(const ast::Expr& e, const ExprContext& ctx);
  BoundExprPtr BindCall(const ast::Expr& e, const ExprContext& ctx);
  BoundExprPtr BindAggregate(const ast::Expr& e, const ExprContext& ctx);
  BoundExprPtr BindPercentile(const ast::Expr& e, const std::string& fn, const ExprContext& ctx);
  BoundExprPtr BindExists(const ast::Expr& e, const ExprContext& ctx);
  BoundExprPtr BindSubquery(const ast::Expr& e, const ExprContext& ctx);
  NodeSpec BindSubqueryNode(const ast::NodePattern& n, uint64_t* local);
  // A subquery's own variable in a new slot (its bit set in *local).
  int DeclareLocal(const std::string& name, bool is_edge, TypeId type, ast::Position pos,
                   uint64_t* local);
  // A relationship's direction, types, property map and MAX cap (no variable slot).
  HopSpec BindHop(const ast::EdgePattern& e);
  void BindEdgeProps(const ast::EdgePattern& e, HopSpec* hop);
  HopSpec BindSubqueryHop(const ast::EdgePattern& e, uint64_t* local);
  BoundExprPtr BindListComprehension(const ast::Expr& e, const ExprContext& ctx);
  BoundExprPtr BindReduce(const ast::Expr& e, const ExprContext& ctx);
  BoundExprPtr BindMap(const ast::Expr& e, const ExprContext& ctx);
  BoundExprPtr BindInner(const ast::Expr& e, const ExprContext& ctx, uint64_t own);
  void CheckLocalSlots(const char* what, size_t count, ast::Position pos) const;
  class LocalScope;
  void CheckPropertyKnown(const std::string& name, TypeId type, ast::Position pos) const;

  const Schema& schema_;
  const graph::Graph* graph_;
  Plan* plan_;
  std::map<std::string, VarInfo> vars_;
  size_t width_ = 0;
  int agg_depth_ = 0;
  uint32_t bind_calls_ = 0;
};

// Conjuncts of a WHERE expression (top-level AND chain), in order.
void SplitConjuncts(const ast::Expr& e, std::vector<const ast::Expr*>* out);

// MATCH and RECOMMEND planning (match_planner.cc, recommend_planner.cc). Throw BindError.
void PlanMatch(const ast::MatchQuery& q, Binder* binder);
// RECOMMEND's prelude: the clauses before RECOMMEND (ending in WITH) into *out, whose columns
// are the WITH's names. Leaves the binder's scope empty.
void PlanPrelude(const std::vector<ast::Clause>& clauses, Binder* binder, MatchPlan* out);
void PlanRecommend(const ast::RecommendQuery& q, Binder* binder);

// Parses nothing: binds and plans a parsed statement against a schema (and the graph's known
// property names, to report misspelt properties). Errors: InvalidArgument with a position;
// DeadlineExceeded when the deadline passes while binding or planning.
Result<std::shared_ptr<const Plan>> BuildPlan(const ast::Statement& stmt, const Schema& schema,
                                              const graph::Graph* graph,
                                              const Deadline& deadline = Deadline::Never());

}  // namespace pathwise::query
