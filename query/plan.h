// Internal to query/: bound expressions, patterns and the logical plans the binder produces.
//
// A Plan is immutable once built and holds no per-execution state, so one cached plan runs in
// many threads at once. Everything that depends on the data (property ids, parameter values,
// the seed node, candidate sets) lives in the execution state (exec_state.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "graph/walks.h"
#include "query/ast.h"
#include "query/runtime_value.h"
#include "storage/schema.h"

namespace pathwise::query {

// ---- Expressions ------------------------------------------------------------------------------

enum class BK : uint8_t {
  kConst,      // value
  kParam,      // index: parameter
  kSlot,       // index: row slot (is_edge says which kind of binding)
  kValueSlot,  // index: row slot of a value variable (UNWIND, WITH): ExecState::slot_values
  kNodeProp,   // args[0] node; index: property (Plan::props)
  kNodeKey,    // args[0] node: the external id (n.id)
  kEdgeAttr,   // args[0] edge; attr
  kEdgeProp,   // args[0] edge; name: stored edge property (read from storage)
  kDynProp,    // args[0] any value; name, index: property resolved at run time by the value's kind
  kVectorOf,   // args[0] node; index: SpaceId
  kNeg,        // -args[0]
  kNot,        // NOT args[0]
  kArith,      // args[0] op args[1], op in + - * / %
  kCompare,    // op: '=' equal, '!' not equal, '<', 'l' (<=), '>', 'g' (>=)
  kAnd,
  kOr,
  kXor,
  kIn,      // args[0] IN args[1]; negated
  kIsNull,  // negated
  kList,
  kCall,     // fn, args; index: source index for source('name')
  kAggRef,   // index: aggregate result
  kExists,   // index: Plan::exists
  kCached,   // index: per-execution value of Plan::cached[index]
  kStringOp,  // args[0] op args[1]: op 's' STARTS WITH, 'e' ENDS WITH, 'c' CONTAINS
  kListComp,  // [x IN args[0] WHERE args[1] | args[2]]: index is x's value slot
  kCase,      // op 's' (simple: args[0] is the subject) or 'g' (generic); then WHEN/THEN pairs;
              // the last arg is the ELSE value (a null constant when there is none)
  kMap,            // {keys[i]: args[i]}
  kMapProjection,  // args[0] {keys[i]: args[i + 1]}; an empty key: every property of args[0]
  kReduce,    // reduce(acc = args[0], x IN args[1] | args[2]): index is acc's value slot,
              // index + 1 is x's
  // similarity(c.space, target) where a NEAREST source in that space searched for target: index
  // is the source's bit; for a candidate that source found, its search already computed the
  // value; otherwise args[0] (the original similarity call) computes it.
  kSourceSimilarity,
};

enum class EdgeAttr : uint8_t { kWeight, kTs, kCount };

// Whether `name` is one of an edge's in-memory attributes (weight, ts, count), and which.
inline bool EdgeAttrNamed(const std::string& name, EdgeAttr* attr) {
  if (name == "weight") *attr = EdgeAttr::kWeight;
  else if (name == "ts") *attr = EdgeAttr::kTs;
  else if (name == "count") *attr = EdgeAttr::kCount;
  else return false;
  return true;
}

enum class Fn : uint8_t {
  kLog, kExp, kSqrt, kAbs, kPow, kFloor, kCeil, kRound, kLeast, kGreatest, kIf, kCoalesce,
  kDecay, kNow, kSimilarity, kSize, kSource, kSources, kSourceScore, kId, kType, kDegree, kToString,
  kCounter,
  // Evaluated by expr_fns.cc (IsExtraFunction: every Fn from kToLower on).
  kToLower, kToUpper, kSubstring, kTrim, kLTrim, kRTrim, kReplace, kSplit, kToInteger, kToFloat,
  kLabels, kKeys, kHead, kLast, kRange, kNodes, kRelationships, kLength, kProperties, kDate,
  kDateTime, kDuration, kDurationBetween, kDurationInMonths, kDurationInDays, kDurationInSeconds,
};

enum class AggFn : uint8_t {
  kCountStar, kCount, kSum, kAvg, kMin, kMax, kCollect,
  // MATCH only, like kCollect:
  kPercentileCont, kPercentileDisc, kStDev, kStDevP,
};

// Dependency flags of an expression (besides the slots it reads).
constexpr uint8_t kUsesAgg = 1;      // contains an aggregate reference
constexpr uint8_t kUsesSources = 2;  // source()/sources(): needs the candidate's source set
constexpr uint8_t kUsesStore = 4;    // reads stored edge properties

struct BoundExpr;
using BoundExprPtr = std::unique_ptr<BoundExpr>;

struct BoundExpr {
  BK kind = BK::kConst;
  ast::Position pos;
  uint32_t index = 0;
  char op = 0;
  Fn fn = Fn::kLog;
  EdgeAttr attr = EdgeAttr::kWeight;
  bool negated = false;
  bool is_edge = false;  // kSlot: an edge variable
  RtValue value;         // kConst
  std::string name;      // kEdgeProp, kDynProp; kCall: the function name
  std::vector<std::string> keys;  // kMap, kMapProjection
  uint64_t slots = 0;    // bit i: reads row slot i (directly or inside a pattern predicate)
  uint8_t flags = 0;     // kUses*
  std::vector<BoundExprPtr> args;
};

// ---- Patterns ---------------------------------------------------------------------------------

// One node position of a pattern.
struct NodeSpec {
  int slot = -1;      // row slot bound by this position (local positions of pattern predicates: -1)
  bool outer = false;  // pattern predicates: bound by the enclosing row (slot is that row's slot)
  std::string var;     // "" when anonymous
  TypeId type = kInvalidType;  // kInvalidType: any type
  BoundExprPtr id;             // {id: expr}: the external id must equal expr
  std::vector<std::pair<uint32_t, BoundExprPtr>> props;  // {name: expr}: property index, value
  ast::Position pos;
  bool HasFilter() const { return type != kInvalidType || id || !props.empty(); }
};

// One entry of a relationship's property map {name: value}: the edge's attribute (weight, ts,
// count) or its stored property `name` must equal value (as by `=`: null never matches). value
// reads no row variables (literals, parameters), so it is evaluated once per hop expansion.
struct EdgePropFilter {
  std::string name;
  bool stored = true;                     // false: the attribute attr
  EdgeAttr attr = EdgeAttr::kWeight;
  std::shared_ptr<const BoundExpr> value;  // shared: HopSpecs are copied into operators
};

// One relationship of a pattern, between positions i and i + 1.
struct HopSpec {
  int slot = -1;  // edge slot (-1: not bound in the row)
  std::string var;
  std::vector<TypeId> types;  // empty: every edge type
  std::vector<EdgePropFilter> props;  // every edge followed must match all of them
  ast::EdgeDirection dir = ast::EdgeDirection::kOut;
  size_t cap = 0;  // per-hop fan-out cap written in the brackets; 0: none (MAX ALL: huge)
  // Variable length (-[*min..max]->): the slot holds a value, the list of edges in pattern order.
  bool var_length = false;
  uint32_t min_hops = 1;
  uint32_t max_hops = 1;
  ast::Position pos;
};

// The longest variable-length relationship and shortest-path search (`*..10`).
constexpr uint32_t kMaxVarLengthHops = 10;

struct PatternSpec {
  std::vector<NodeSpec> nodes;
  std::vector<HopSpec> hops;  // hops[i] joins nodes[i] and nodes[i + 1]
  std::string text;           // for plan descriptions
};

// A pattern used as a boolean (existence test). Positions with outer=true are read from the row.
struct ExistsSpec {
  PatternSpec pattern;
  // Seed-side caching (RECOMMEND): nodes[0] is the seed and the last position the only other
  // outer position; then the set of nodes reachable at position n-2 is computed once per
  // execution and each row checks its last position's neighbours against it.
  bool seed_cached = false;
  // EXISTS { pattern [WHERE e] } (subquery 'e') and COUNT { ... } ('c'); 0: a bare pattern
  // predicate. The subquery's own named variables have row slots below `width`, bound on a copy
  // of the row while walking; `where` (may be null) is checked on each complete match.
  char subquery = 0;
  BoundExprPtr where;
  size_t width = 0;
};

// ---- Operators and profiling -----------------------------------------------------------------

struct OpCounts {
  uint64_t rows_in = 0;
  uint64_t rows_out = 0;
};

struct OpProfile {
  std::string name;
  uint64_t rows_in = 0;
  uint64_t rows_out = 0;
  int64_t time_ns = 0;
};

// A plan operator over execution state S. Run() is the non-virtual entry point: it times the
// virtual Execute() and records rows in/out into the state's profile slot of this operator
// (Kùzu style). Operators are immutable and keep their working data in S.
template <typename S>
class Operator {
 public:
  explicit Operator(std::string name) : name_(std::move(name)) {}
  virtual ~Operator() = default;
  const std::string& name() const { return name_; }
  int id() const { return id_; }
  void set_id(int id) { id_ = id; }

  Status Run(S* state) const {
    auto start = std::chrono::steady_clock::now();
    OpCounts counts;
    Status status = Execute(state, &counts);
    auto elapsed = std::chrono::steady_clock::now() - start;
    OpProfile& p = state->profile[id_];
    p.name = name_;
    p.rows_in += counts.rows_in;
    p.rows_out += counts.rows_out;
    p.time_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count();
    return status;
  }

 protected:
  virtual Status Execute(S* state, OpCounts* counts) const = 0;

 private:
  std::string name_;
  int id_ = 0;
};

// ---- Statements -------------------------------------------------------------------------------

struct MatchState;
struct RecState;

struct AggSpec {
  AggFn fn = AggFn::kCount;
  bool distinct = false;
  BoundExprPtr arg;  // null for count(*)
  BoundExprPtr param;  // percentileCont/Disc: the percentile (reads no row variables)
  int source = -1;   // RECOMMEND: the graph source whose paths it runs over (-1: all)
  std::string text;
};

struct MatchPlan {
  size_t width = 0;  // binding row width (slots)
  std::vector<std::unique_ptr<Operator<MatchState>>> ops;
  std::vector<std::string> columns;
};

struct GraphSourcePlan {
  std::string name;
  int bit = 0;  // index in RecommendPlan::source_names (bit of a candidate's source mask)
  PatternSpec pattern;
  int anchor = 0;  // position expansion starts from
  int target = 0;  // position of the candidate variable
  bool anchor_is_seed = false;
  size_t cap = 0;  // FROM ... MAX n PER NODE (0: the catalog's default; MAX ALL: no cap)
  std::vector<std::string> hop_texts;  // each relationship as written, for stats.capped_hops
  // Expansion order: positions in the order they get bound (anchor first).
  std::vector<int> order;
  // WHERE conjuncts over this source's own variables, checked as soon as the position at
  // order[step] is bound: filters_at[step].
  std::vector<std::vector<BoundExprPtr>> filters_at;
  std::vector<int> edge_slots;  // for relationship uniqueness
};

struct ExamplesPlan {
  PatternSpec pattern;
  int var_pos = 0;  // position whose vectors are averaged
  int anchor = 0;
  std::vector<int> order;
  BoundExprPtr where;
  size_t width = 0;
};

struct NearestSourcePlan {
  std::string name;
  int bit = 0;
  BoundExprPtr k;
  BoundExprPtr ef;  // may be null
  BoundExprPtr target;  // null when examples are used
  std::optional<ExamplesPlan> positive;
  std::optional<ExamplesPlan> negative;
  SpaceId space = 0;
  TypeId type = kInvalidType;
  // The fraction of nodes this source's eligibility filter passed in earlier executions of the
  // plan (a moving average; negative until the first); VectorIndex::Search uses it to choose
  // between filtering inside the HNSW walk and filtering an unfiltered, wider result. Shared by
  // concurrent executions of the cached plan, hence atomic.
  std::shared_ptr<std::atomic<double>> pass_rate = std::make_shared<std::atomic<double>>(-1.0);
};

// FROM WALK / PAGERANK / RP3BETA: a rank algorithm of graph/walks.h run from the seed. Option
// values are bound expressions of parameters and constants, checked when the plan is built when
// constant and at execution otherwise (query/rank_sources.h names the options and their limits).
struct RankOptionPlan {
  std::string name;  // lower-case
  BoundExprPtr value;
  ast::Position pos;
};

struct RankSourcePlan {
  std::string name;
  int bit = 0;
  ast::RankAlgorithm algorithm = ast::RankAlgorithm::kWalk;
  std::vector<graph::Hop> hops;  // WALK: the cycle; PAGERANK: the relations; RP3BETA: one
  std::vector<RankOptionPlan> options;
};

struct ScoreTerm {
  std::string text;
  char op = '+';  // how the term joins the running sum: '+' or '-'
  BoundExprPtr expr;
  // `AS name`, else generated from what the term reads (the source its aggregates run over,
  // "similarity", the candidate properties); unique within the query.
  std::string name;
  std::string label;         // for people: the name with spaces, or a generated phrase
  std::vector<size_t> aggs;  // the aggregates (RecommendPlan::aggs) the term reads
};

struct RecommendPlan {
  // The clauses before RECOMMEND (MATCH ... WITH ...), run first; their one row fills the
  // parameters that stand for the WITH's names (Plan::param_column).
  std::optional<MatchPlan> prelude;
  ast::Position pos;  // of RECOMMEND
  // FOR m with m a WITH name: evaluates to the seed node (null: no seed). Else the seed is
  // looked up by seed.id.
  BoundExprPtr seed_value;
  std::vector<std::unique_ptr<Operator<RecState>>> ops;
  size_t width = 2;  // slot 0: seed, slot 1: candidate, then the sources' variables
  NodeSpec seed;
  NodeSpec target;
  std::vector<GraphSourcePlan> graph_sources;
  std::vector<NearestSourcePlan> nearest_sources;
  std::vector<RankSourcePlan> rank_sources;
  std::vector<std::string> source_names;  // in declaration order
  std::vector<BoundExprPtr> global_filters;     // depend on seed/params only
  std::vector<BoundExprPtr> candidate_filters;  // candidate (+ seed), no pattern predicates
  std::vector<BoundExprPtr> candidate_excludes;  // candidate conjuncts with pattern predicates
  std::vector<std::string> candidate_filter_texts;   // the PQL of each, for explanations
  std::vector<std::string> candidate_exclude_texts;
  std::vector<AggSpec> aggs;
  std::vector<ScoreTerm> terms;  // empty: the default score
  // SCORE's similarity(c.space, ...) reads of the candidate's stored vector: the space, and the
  // bit of the NEAREST source whose similarity it reuses (its candidates read no vector), or -1.
  // Score prefetches those vectors (VectorIndex::Prefetch).
  struct ScoreVector {
    SpaceId space = 0;
    int reused_bit = -1;
  };
  std::vector<ScoreVector> score_vectors;
  BoundExprPtr diversify_by;
  BoundExprPtr diversify_max;
  std::optional<double> mmr_lambda;
  SpaceId mmr_space = 0;
  BoundExprPtr limit;
  BoundExprPtr offset;
  std::string score_text;
};

// The rank source with mask bit `bit`, or null when that source is of another kind.
inline const RankSourcePlan* RankSourceOf(const RecommendPlan& rec, int bit) {
  for (const RankSourcePlan& r : rec.rank_sources) {
    if (r.bit == bit) return &r;
  }
  return nullptr;
}

struct Plan {
  bool explain = false;
  bool profile = false;
  std::variant<MatchPlan, RecommendPlan> body;
  std::vector<std::string> params;                // parameter names by index
  std::vector<ast::Position> param_pos;           // first use of each parameter
  // By parameter: -1 for a request parameter; else the RECOMMEND prelude's column it is
  // filled from (a WITH name read by RECOMMEND).
  std::vector<int> param_column;
  std::vector<std::string> props;                 // property names by index
  std::vector<ExistsSpec> exists;
  std::vector<BoundExprPtr> cached;  // subexpressions evaluated once per execution
  std::vector<AggSpec> match_aggs;   // MATCH aggregates (also referenced by kAggRef)
  std::vector<std::string> op_names;  // operator names by id (for EXPLAIN's plan)
  size_t op_count = 0;
  // Approximate heap bytes of this plan (BuildPlan: from the statement's expression count and
  // text size); what the plan cache charges against its byte budget.
  size_t approx_bytes = 0;
};

}  // namespace pathwise::query
