// Internal to query/: Pathwise's own syntax tree for PQL. The ANTLR parse tree is converted into
// this immediately in query/parser.cc; no other file sees an ANTLR type.
//
// The AST is purely syntactic: names are strings, nothing is resolved. The binder resolves types,
// properties, vector spaces and parameters against the schema and reports unknown names with the
// position stored here.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "query/query.h"
#include "storage/status.h"

namespace pathwise::query {
class Reclaimer;
}

namespace pathwise::query::ast {

struct Position {
  int line = 0;    // 1-based
  int column = 0;  // 1-based
};

struct Pattern;
struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

enum class ExprKind : uint8_t {
  kLiteral,   // literal
  kParam,     // $name                       name
  kVariable,  // u                           name
  kProperty,  // u.price                     args[0] = object expr, name = property name
  kCall,      // f(a, b) / count(*) / count(DISTINCT x)    name (lower-cased), args, distinct, star
  kUnary,     // NOT a, -a                   op ("NOT", "-"), args[0]
  kBinary,    // a op b                      op: "OR","AND","XOR","=","<>","<","<=",">",">=",
              //                                 "+","-","*","/","%", "STARTS WITH", "ENDS WITH",
              //                                 "CONTAINS", "=~"   args[0], args[1]
  kIn,        // a IN b / a NOT IN b          args[0], args[1], negated
  kIsNull,    // a IS NULL / a IS NOT NULL    args[0], negated
  kList,      // [a, b, c]                   args
  kPattern,   // (u)-[:BOUGHT]->(c) used as a boolean (existence)   pattern; op "" — or a
              //   subquery EXISTS { [MATCH] pattern [WHERE e] } (op "EXISTS") or COUNT { ... }
              //   (op "COUNT"), args: [e] when there is a WHERE
  kListComp,  // [x IN list WHERE pred | map]   name = x; args: list, pred (literal true when
              //   absent), map (the variable x when absent)
  kCase,      // CASE [subject] WHEN w THEN t ... [ELSE e] END
              //   args: [subject (when op == "simple")], w1, t1, ..., wn, tn, else (a null
              //   literal when there is no ELSE)
  kMap,       // {k1: a, k2: b}                keys[i] names args[i]
  kMapProjection,  // m {.title, .*, rating: e, x}  args[0] = m; keys[i] names args[i + 1]:
                   //   .title is (title, m.title), x is (x, x), and .* is ("", m): every
                   //   property of m (an empty key cannot be written)
  kReduce,    // reduce(acc = init, x IN list | e)  keys = {acc, x}; args: init, list, e
};

// Literal value. Durations (7d, 12h, 30m, 45s, 250ms) are int64 milliseconds with is_duration.
struct Literal {
  std::variant<std::monostate, bool, int64_t, double, std::string> value;
  bool is_duration = false;
};

struct Expr {
  ExprKind kind = ExprKind::kLiteral;
  Position pos;
  Literal literal;
  std::string name;
  std::string op;
  bool negated = false;
  bool distinct = false;
  bool star = false;
  std::vector<ExprPtr> args;
  std::vector<std::string> keys;  // kMap, kMapProjection, kReduce
  std::unique_ptr<Pattern> pattern;
};

// (var:Type {key: expr, ...}); every part optional.
struct NodePattern {
  std::string var;
  std::string type;
  std::vector<std::pair<std::string, ExprPtr>> props;
  Position pos;
};

enum class EdgeDirection : uint8_t { kOut, kIn, kBoth };  // -[]->, <-[]-, -[]-

// `MAX ALL` (no fan-out cap, whatever the default) as a max_per_node value.
constexpr int64_t kMaxAll = INT64_MAX;

// -[var:TYPE1|TYPE2 *min..max {key: expr, ...} MAX n]-> ; types empty means any type.
struct EdgePattern {
  std::string var;
  std::vector<std::string> types;
  // {key: expr}: every edge of the relationship must have key equal to expr (weight, ts and
  // count are the edge's attributes, other keys its stored properties).
  std::vector<std::pair<std::string, ExprPtr>> props;
  EdgeDirection dir = EdgeDirection::kOut;
  std::optional<int64_t> max_per_node;  // per-hop fan-out cap written inside the brackets;
                                        // kMaxAll: MAX ALL
  // Variable length (`*`, `*2`, `*1..3`, `*..3`, `*2..`): a missing bound is absent here; `*2`
  // sets both. The binder applies the defaults and limits.
  bool var_length = false;
  std::optional<int64_t> min_hops;
  std::optional<int64_t> max_hops;
  Position pos;
};

enum class PathSearch : uint8_t { kNone, kShortest, kAllShortest };

// nodes[0] edges[0] nodes[1] edges[1] ... ; edges.size() == nodes.size() - 1.
// In MATCH: `path_var = ...` names the path; shortestPath(...) / allShortestPaths(...) set search.
struct Pattern {
  std::vector<NodePattern> nodes;
  std::vector<EdgePattern> edges;
  Position pos;
  std::string path_var;  // empty: none
  Position path_pos;
  PathSearch search = PathSearch::kNone;
};

struct ReturnItem {
  ExprPtr expr;
  std::string alias;  // empty: the column is named by the expression's source text
  std::string text;   // the expression's source text, for default column names
};

struct SortItem {
  ExprPtr expr;
  bool descending = false;
};

// A projection: RETURN's or WITH's [DISTINCT] items [ORDER BY ...] [SKIP n] [LIMIT n].
struct Projection {
  bool distinct = false;
  std::vector<ReturnItem> returns;
  std::vector<SortItem> order_by;
  ExprPtr skip;
  ExprPtr limit;
};

enum class ClauseKind : uint8_t { kMatch, kUnwind, kWith };

// One clause before RETURN:
//   [OPTIONAL] MATCH p1, p2 [WHERE e]          patterns, optional, where
//   UNWIND e AS name                           expr, alias
//   WITH projection [WHERE e]                  projection (aliases required but for variables), where
struct Clause {
  ClauseKind kind = ClauseKind::kMatch;
  Position pos;
  bool optional = false;
  std::vector<Pattern> patterns;
  ExprPtr where;
  ExprPtr expr;
  std::string alias;
  Projection projection;
};

struct MatchQuery;

// UNION [ALL] <query>: one more part of a union (MatchQuery::unions).
struct UnionPart {
  bool all = false;
  Position pos;  // of UNION
  std::unique_ptr<MatchQuery> query;
};

// clauses... RETURN [DISTINCT] items [ORDER BY ...] [SKIP n] [LIMIT n]; the RETURN's projection
// is the MatchQuery itself. A union's first part holds the later parts in `unions` (their own
// `unions` are empty).
struct MatchQuery : Projection {
  std::vector<Clause> clauses;
  std::vector<UnionPart> unions;
};

// FROM <pattern> [MAX n PER NODE | MAX ALL PER NODE] [AS name]
struct GraphSource {
  Pattern pattern;
  std::optional<int64_t> max_per_node;  // kMaxAll: MAX ALL
  std::string alias;  // default "graph1", "graph2", ... assigned by the binder
  Position pos;
};

// FROM NEAREST k TO <target> IN Type.space [EF n] [AS name]
//   target: an expression yielding a vector (u.taste, $vec), or examples:
//   MEAN(p) OVER (u)-[r:RATED]->(p) [WHERE r.weight >= 4] [MINUS MEAN(n) OVER <pattern> [WHERE ...]]
struct ExamplesTarget {
  std::string var;  // whose vectors are averaged
  Pattern pattern;
  ExprPtr where;
};

struct NearestSource {
  ExprPtr k;
  ExprPtr target;                         // set unless positive is set
  std::optional<ExamplesTarget> positive;
  std::optional<ExamplesTarget> negative;
  std::string space_type;  // "Item"
  std::string space_name;  // "embedding"
  ExprPtr ef;              // optional
  std::string alias;       // default "nearest1", ...
  Position pos;
};

// FROM WALK|PAGERANK|RP3BETA|NEXT OVER <relationship> {, <relationship>} [{option: expr, ...}]
//   [AS name], e.g. FROM WALK OVER -[:RATED]->, <-[:RATED]- {steps: 10000, restart: 0.5, seed: 7}
enum class RankAlgorithm : uint8_t { kWalk, kPageRank, kRp3Beta, kNext };

struct RankSource {
  RankAlgorithm algorithm = RankAlgorithm::kWalk;
  std::vector<EdgePattern> hops;  // types and directions only (no variables)
  std::vector<std::pair<std::string, ExprPtr>> options;  // as written (names not checked)
  std::vector<Position> option_pos;                       // of each option's name
  std::string alias;  // default "walk1", "pagerank1", "rp3beta1", "next1", ...
  Position pos;
};

using Source = std::variant<GraphSource, NearestSource, RankSource>;

// DIVERSIFY BY expr MAX n   and/or   DIVERSIFY MMR lambda IN Type.space
struct Diversify {
  ExprPtr by;
  ExprPtr max_per_value;
  std::optional<double> mmr_lambda;
  std::string mmr_space_type;
  std::string mmr_space_name;
  Position pos;
};

// One `expr [AS name]` of SCORE, joined to the ones before it by op ('+' or '-'; the first
// item's op is '+').
struct ScoreItem {
  char op = '+';
  ExprPtr expr;
  std::string name;  // empty: unnamed
  Position pos;
};

// [clauses ... WITH ...] RECOMMEND (c:Item) FOR (u:User {id: $user}) sources [WHERE e]
//   [SCORE e] [DIVERSIFY ...] [LIMIT n] [OFFSET n]
// `FOR m` (a bare variable) is a seed node pattern with only its variable set.
struct RecommendQuery {
  std::vector<Clause> clauses;  // before RECOMMEND (empty: none)
  Position pos;                 // of RECOMMEND
  NodePattern target;
  NodePattern seed;
  std::vector<Source> sources;
  ExprPtr where;
  std::vector<ScoreItem> score;  // empty: no SCORE clause
  Position score_pos;
  std::optional<Diversify> diversify;
  ExprPtr limit;
  ExprPtr offset;
};

// [PROFILE] (MATCH ... | RECOMMEND ...) [EXPLAIN]
struct Statement {
  bool profile = false;
  bool explain = false;
  std::variant<MatchQuery, RecommendQuery> body;
  size_t expression_nodes = 0;  // Expr nodes in the whole statement
  size_t text_bytes = 0;        // size of the parsed text
};

// Parses one statement. Errors: Status::SyntaxError with 1-based line and column, a message
// naming the offending token and what was expected, e.g.
//   "syntax error at line 2, column 1: unexpected 'RETRUN', expected one of: RETURN, WHERE, ','".
// Limit errors (Limits: max_query_bytes, max_nesting_depth, max_expression_depth,
// max_expression_nodes, max_list_elements) are InvalidArgument naming the limit, with a position
// where one applies; a passed deadline is DeadlineExceeded (checked between stages, while waiting
// for the parser's mutex, every 256 tokens lexed and consumed and every 256 parser rule entries).
// With a reclaimer, the parse's ANTLR state (tokens, parse tree) is freed on its thread instead of
// before Parse returns. Thread-safe. The PQL reference is docs/query-language.md.
Result<std::unique_ptr<Statement>> Parse(std::string_view text, const Limits& limits = {},
                                         const Deadline& deadline = Deadline::Never(),
                                         Reclaimer* reclaimer = nullptr);

}  // namespace pathwise::query::ast
