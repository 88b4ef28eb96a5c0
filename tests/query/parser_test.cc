// PQL text -> AST (query/parser.cc): every construct, precedence, literals, and syntax errors with
// their exact positions.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "query/ast.h"

namespace pathwise::query::ast {
namespace {

// Compact S-expression of an expression, so tests can state the tree shape in one string.
std::string Dump(const Expr& e);
std::string DumpPattern(const Pattern& p);

std::string DumpLiteral(const Literal& lit) {
  const auto& v = lit.value;
  if (std::holds_alternative<std::monostate>(v)) return "null";
  if (const bool* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  if (const int64_t* i = std::get_if<int64_t>(&v)) {
    return std::to_string(*i) + (lit.is_duration ? "ms" : "");
  }
  if (const double* d = std::get_if<double>(&v)) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%gf", *d);
    return buf;
  }
  return "'" + std::get<std::string>(v) + "'";
}

std::string DumpArgs(const Expr& e, const char* sep) {
  std::string out;
  for (size_t i = 0; i < e.args.size(); ++i) out += (i ? sep : "") + Dump(*e.args[i]);
  return out;
}

std::string Dump(const Expr& e) {
  switch (e.kind) {
    case ExprKind::kLiteral: return DumpLiteral(e.literal);
    case ExprKind::kParam: return "$" + e.name;
    case ExprKind::kVariable: return e.name;
    case ExprKind::kProperty: return Dump(*e.args[0]) + "." + e.name;
    case ExprKind::kCall:
      return e.name + "(" + (e.star ? "*" : "") + (e.distinct ? "DISTINCT " : "") +
             DumpArgs(e, ", ") + ")";
    case ExprKind::kUnary: return "(" + e.op + " " + Dump(*e.args[0]) + ")";
    case ExprKind::kBinary: return "(" + e.op + " " + DumpArgs(e, " ") + ")";
    case ExprKind::kIn: return std::string(e.negated ? "(NOT IN " : "(IN ") + DumpArgs(e, " ") + ")";
    case ExprKind::kIsNull:
      return std::string(e.negated ? "(IS NOT NULL " : "(IS NULL ") + Dump(*e.args[0]) + ")";
    case ExprKind::kList: return "[" + DumpArgs(e, ", ") + "]";
    case ExprKind::kPattern: return "exists" + DumpPattern(*e.pattern);
    case ExprKind::kCase: return "(CASE-" + e.op + " " + DumpArgs(e, " ") + ")";
    case ExprKind::kListComp: return "[" + e.name + " IN " + DumpArgs(e, " ") + "]";
  }
  return "?";
}

std::string DumpNode(const NodePattern& n) {
  std::string out = "(" + n.var + (n.type.empty() ? "" : ":" + n.type);
  if (!n.props.empty()) {
    out += " {";
    for (size_t i = 0; i < n.props.size(); ++i) {
      out += (i ? ", " : "") + n.props[i].first + ": " + Dump(*n.props[i].second);
    }
    out += "}";
  }
  return out + ")";
}

std::string DumpPattern(const Pattern& p) {
  std::string out = DumpNode(p.nodes.at(0));
  for (size_t i = 0; i < p.edges.size(); ++i) {
    const EdgePattern& e = p.edges[i];
    std::string detail = e.var;
    for (size_t t = 0; t < e.types.size(); ++t) detail += (t ? "|" : ":") + e.types[t];
    if (!e.props.empty()) {
      detail += " {";
      for (size_t k = 0; k < e.props.size(); ++k) {
        detail += (k ? ", " : "") + e.props[k].first + ": " + Dump(*e.props[k].second);
      }
      detail += "}";
    }
    if (e.max_per_node) detail += " MAX " + std::to_string(*e.max_per_node);
    out += e.dir == EdgeDirection::kIn ? "<-[" + detail + "]-" : "-[" + detail + "]-";
    if (e.dir == EdgeDirection::kOut) out += ">";
    out += DumpNode(p.nodes.at(i + 1));
  }
  return out;
}

std::unique_ptr<Statement> MustParse(const std::string& text) {
  auto parsed = Parse(text);
  INFO(text);
  INFO(parsed.status().ToString());
  REQUIRE(parsed.ok());
  return std::move(parsed).value();
}

const MatchQuery& AsMatch(const Statement& s) {
  REQUIRE(std::holds_alternative<MatchQuery>(s.body));
  return std::get<MatchQuery>(s.body);
}

const RecommendQuery& AsRecommend(const Statement& s) {
  REQUIRE(std::holds_alternative<RecommendQuery>(s.body));
  return std::get<RecommendQuery>(s.body);
}

// The expression of `MATCH (n) RETURN <text>`, dumped.
std::string ExprOf(const std::string& text) {
  auto stmt = MustParse("MATCH (n) RETURN " + text);
  return Dump(*AsMatch(*stmt).returns.at(0).expr);
}

Status ErrorOf(const std::string& text) {
  auto parsed = Parse(text);
  INFO(text);
  REQUIRE_FALSE(parsed.ok());
  CHECK(parsed.status().code() == Status::Code::kSyntaxError);
  return parsed.status();
}

// A Limits limit passed: InvalidArgument whose message names the limit.
Status LimitErrorOf(const std::string& text, const char* limit, const Limits& limits = {}) {
  auto parsed = Parse(text, limits);
  INFO(text.substr(0, 200));
  REQUIRE_FALSE(parsed.ok());
  CHECK(parsed.status().code() == Status::Code::kInvalidArgument);
  CHECK_MESSAGE(parsed.status().message().find(limit) != std::string::npos,
                parsed.status().message());
  return parsed.status();
}

// Limits raised so that the limit under test is the one reached.
Limits Roomy() {
  Limits limits;
  limits.max_query_bytes = 4 << 20;
  limits.max_expression_nodes = 1 << 20;
  limits.max_list_elements = 1 << 20;
  return limits;
}

const char* kRecommendExample = R"(RECOMMEND (c:Item) FOR (u:User {id: $user})
  FROM (u)-[v:VIEWED|BOUGHT]->(:Item)-[s:SIMILAR_TO]->(c) MAX 50 PER NODE
  FROM NEAREST 200 TO u.taste IN Item.embedding
  WHERE c.in_stock AND c.price <= $max_price
    AND NOT (u)-[:BOUGHT]->(c)
    AND NOT (u)-[:BLOCKED]->(:Seller)<-[:SOLD_BY]-(c)
  SCORE 0.6 * sum(v.weight * decay(v.ts, 7d) * s.weight)
      + 0.4 * similarity(c.embedding, u.taste)
      + 0.1 * log(1 + c.popularity)
  DIVERSIFY BY c.category MAX 3
  LIMIT 10
  EXPLAIN)";

TEST_CASE("match query keeps patterns, filter, projections, order and limit") {
  auto stmt = MustParse(R"(MATCH (u:User {id: $user})-[r:VIEWED|BOUGHT]->(i:Item)
WHERE i.price < 50
RETURN i.id, i.title, r.weight, r.ts ORDER BY r.ts DESC LIMIT 20)");
  CHECK_FALSE(stmt->profile);
  CHECK_FALSE(stmt->explain);
  const MatchQuery& q = AsMatch(*stmt);
  REQUIRE(q.clauses.at(0).patterns.size() == 1);
  CHECK(DumpPattern(q.clauses.at(0).patterns[0]) == "(u:User {id: $user})-[r:VIEWED|BOUGHT]->(i:Item)");
  CHECK(Dump(*q.clauses.at(0).where) == "(< i.price 50)");
  CHECK_FALSE(q.distinct);
  REQUIRE(q.returns.size() == 4);
  CHECK(Dump(*q.returns[1].expr) == "i.title");
  CHECK(q.returns[1].text == "i.title");
  CHECK(q.returns[1].alias.empty());
  CHECK(q.returns[3].text == "r.ts");
  REQUIRE(q.order_by.size() == 1);
  CHECK(Dump(*q.order_by[0].expr) == "r.ts");
  CHECK(q.order_by[0].descending);
  CHECK(q.skip == nullptr);
  CHECK(Dump(*q.limit) == "20");
}

TEST_CASE("match query with several patterns, distinct, aliases, sort keys and skip") {
  auto stmt = MustParse(
      "MATCH (a:User)-->(b), (b)<--(c:Item) WHERE a <> c "
      "RETURN DISTINCT b.name AS name, count(*) AS n ORDER BY n DESC, name ASC, b.x "
      "SKIP 5 LIMIT $limit;");
  const MatchQuery& q = AsMatch(*stmt);
  REQUIRE(q.clauses.at(0).patterns.size() == 2);
  CHECK(DumpPattern(q.clauses.at(0).patterns[0]) == "(a:User)-[]->(b)");
  CHECK(DumpPattern(q.clauses.at(0).patterns[1]) == "(b)<-[]-(c:Item)");
  CHECK(q.distinct);
  REQUIRE(q.returns.size() == 2);
  CHECK(q.returns[0].alias == "name");
  CHECK(q.returns[1].alias == "n");
  CHECK(q.returns[1].text == "count(*)");
  REQUIRE(q.order_by.size() == 3);
  CHECK(q.order_by[0].descending);
  CHECK_FALSE(q.order_by[1].descending);
  CHECK_FALSE(q.order_by[2].descending);
  CHECK(Dump(*q.skip) == "5");
  CHECK(Dump(*q.limit) == "$limit");
}

TEST_CASE("return item text is the expression's source text as written") {
  auto stmt = MustParse("MATCH (i) RETURN 0.5 * log(1 +  i.pop) AS s, i.title");
  const MatchQuery& q = AsMatch(*stmt);
  CHECK(q.returns[0].text == "0.5 * log(1 +  i.pop)");
  CHECK(q.returns[0].alias == "s");
  CHECK(q.returns[1].text == "i.title");
}

TEST_CASE("node patterns accept every combination of optional parts") {
  auto stmt = MustParse(
      "MATCH (), (a), (:T), ({k: 1}), (a:T), (a {k: 'x', j: $p}), (:T {k: 1}), (a:T {}) "
      "RETURN 1");
  const MatchQuery& q = AsMatch(*stmt);
  std::vector<std::string> dumped;
  for (const Pattern& p : q.clauses.at(0).patterns) dumped.push_back(DumpPattern(p));
  CHECK(dumped == std::vector<std::string>{"()", "(a)", "(:T)", "( {k: 1})", "(a:T)",
                                           "(a {k: 'x', j: $p})", "(:T {k: 1})", "(a:T)"});
}

TEST_CASE("edge patterns parse every direction and the bracket-less shorthands") {
  auto stmt = MustParse(
      "MATCH (a)-[x:A|B]->(b)<-[y:C]-(c)-[z:D]-(d)-->(e)<--(f)--(g)-[]->(h)-[:E|:F]-(i) "
      "RETURN 1");
  const Pattern& p = AsMatch(*stmt).clauses.at(0).patterns.at(0);
  CHECK(DumpPattern(p) ==
        "(a)-[x:A|B]->(b)<-[y:C]-(c)-[z:D]-(d)-[]->(e)<-[]-(f)-[]-(g)-[]->(h)-[:E|F]-(i)");
  REQUIRE(p.edges.size() == 8);
  CHECK(p.edges[0].dir == EdgeDirection::kOut);
  CHECK(p.edges[1].dir == EdgeDirection::kIn);
  CHECK(p.edges[2].dir == EdgeDirection::kBoth);
  CHECK(p.edges[5].dir == EdgeDirection::kBoth);
  CHECK(p.edges[3].types.empty());
  CHECK(p.nodes.size() == 9);
}

TEST_CASE("a per-hop cap is written inside the edge brackets") {
  auto stmt = MustParse("MATCH (a)-[s:SIMILAR_TO MAX 20]->(b)<-[MAX 5]-(c) RETURN b");
  const Pattern& p = AsMatch(*stmt).clauses.at(0).patterns.at(0);
  REQUIRE(p.edges.size() == 2);
  CHECK(p.edges[0].max_per_node == 20);
  CHECK(p.edges[0].var == "s");
  CHECK(p.edges[1].max_per_node == 5);
  CHECK(p.edges[1].types.empty());
}

TEST_CASE("an edge property map follows the hop range and precedes the cap") {
  auto stmt = MustParse(
      "MATCH (a)-[r:RATED {weight: 5}]->(b)-[:SIMILAR_TO*1..2 {weight: $w, via: 'x'} MAX 3]->(c)"
      "<-[{ts: 1}]-(d) RETURN c");
  const Pattern& p = AsMatch(*stmt).clauses.at(0).patterns.at(0);
  CHECK(DumpPattern(p) ==
        "(a)-[r:RATED {weight: 5}]->(b)-[:SIMILAR_TO {weight: $w, via: 'x'} MAX 3]->(c)"
        "<-[ {ts: 1}]-(d)");
  REQUIRE(p.edges.size() == 3);
  CHECK(p.edges[1].var_length);
  CHECK(p.edges[1].max_hops == 2);
  CHECK(!Parse("MATCH (a)-[:T {w: 1} *2]->(b) RETURN a").ok());  // the range comes first
}

TEST_CASE("the full recommend example parses into every clause") {
  auto stmt = MustParse(kRecommendExample);
  CHECK(stmt->explain);
  CHECK_FALSE(stmt->profile);
  const RecommendQuery& q = AsRecommend(*stmt);
  CHECK(DumpNode(q.target) == "(c:Item)");
  CHECK(DumpNode(q.seed) == "(u:User {id: $user})");
  REQUIRE(q.sources.size() == 2);
  const auto& graph = std::get<GraphSource>(q.sources[0]);
  CHECK(DumpPattern(graph.pattern) == "(u)-[v:VIEWED|BOUGHT]->(:Item)-[s:SIMILAR_TO]->(c)");
  CHECK(graph.max_per_node == 50);
  CHECK(graph.alias.empty());
  CHECK(graph.pos.line == 2);
  CHECK(graph.pos.column == 3);
  const auto& nearest = std::get<NearestSource>(q.sources[1]);
  CHECK(Dump(*nearest.k) == "200");
  CHECK(Dump(*nearest.target) == "u.taste");
  CHECK_FALSE(nearest.positive.has_value());
  CHECK(nearest.space_type == "Item");
  CHECK(nearest.space_name == "embedding");
  CHECK(nearest.ef == nullptr);
  CHECK(Dump(*q.where) ==
        "(AND (AND (AND c.in_stock (<= c.price $max_price)) (NOT exists(u)-[:BOUGHT]->(c))) "
        "(NOT exists(u)-[:BLOCKED]->(:Seller)<-[:SOLD_BY]-(c)))");
  REQUIRE(q.score.size() == 1);
  CHECK(q.score[0].name.empty());
  CHECK(Dump(*q.score[0].expr) ==
        "(+ (+ (* 0.6f sum((* (* v.weight decay(v.ts, 604800000ms)) s.weight))) "
        "(* 0.4f similarity(c.embedding, u.taste))) (* 0.1f log((+ 1 c.popularity))))");
  REQUIRE(q.diversify.has_value());
  CHECK(Dump(*q.diversify->by) == "c.category");
  CHECK(Dump(*q.diversify->max_per_value) == "3");
  CHECK_FALSE(q.diversify->mmr_lambda.has_value());
  CHECK(Dump(*q.limit) == "10");
  CHECK(q.offset == nullptr);
}

TEST_CASE("nearest source with an expression target, EF and an alias") {
  auto stmt = MustParse(
      "RECOMMEND (c:Item) FOR (u:User) FROM NEAREST $k TO $vec IN Item.embedding EF 64 AS ann "
      "FROM (u)-[:VIEWED]->(c) AS viewed LIMIT 5 OFFSET 10");
  const RecommendQuery& q = AsRecommend(*stmt);
  REQUIRE(q.sources.size() == 2);
  const auto& nearest = std::get<NearestSource>(q.sources[0]);
  CHECK(Dump(*nearest.k) == "$k");
  CHECK(Dump(*nearest.target) == "$vec");
  CHECK(Dump(*nearest.ef) == "64");
  CHECK(nearest.alias == "ann");
  CHECK(std::get<GraphSource>(q.sources[1]).alias == "viewed");
  CHECK_FALSE(std::get<GraphSource>(q.sources[1]).max_per_node.has_value());
  CHECK(Dump(*q.limit) == "5");
  CHECK(Dump(*q.offset) == "10");
}

TEST_CASE("nearest source averaging examples with a filter and a negative set") {
  auto stmt = MustParse(
      "RECOMMEND (m:Movie) FOR (u:User {id: 7}) "
      "FROM NEAREST 100 TO MEAN(p) OVER (u)-[r:RATED]->(p) WHERE r.weight >= 4 "
      "MINUS MEAN(n) OVER (u)-[r2:RATED]->(n:Movie) WHERE r2.weight <= 2 "
      "IN Movie.embedding EF 200");
  const auto& nearest = std::get<NearestSource>(AsRecommend(*stmt).sources.at(0));
  CHECK(nearest.target == nullptr);
  REQUIRE(nearest.positive.has_value());
  CHECK(nearest.positive->var == "p");
  CHECK(DumpPattern(nearest.positive->pattern) == "(u)-[r:RATED]->(p)");
  CHECK(Dump(*nearest.positive->where) == "(>= r.weight 4)");
  REQUIRE(nearest.negative.has_value());
  CHECK(nearest.negative->var == "n");
  CHECK(DumpPattern(nearest.negative->pattern) == "(u)-[r2:RATED]->(n:Movie)");
  CHECK(Dump(*nearest.negative->where) == "(<= r2.weight 2)");
  CHECK(nearest.space_type == "Movie");
  CHECK(Dump(*nearest.ef) == "200");
}

TEST_CASE("an IN inside the examples filter does not swallow the vector space") {
  auto stmt = MustParse(
      "RECOMMEND (m:Movie) FOR (u:User) "
      "FROM NEAREST 10 TO MEAN(p) OVER (u)-[r:RATED]->(p) WHERE p.genre IN ['a', 'b'] "
      "IN Movie.embedding");
  const auto& nearest = std::get<NearestSource>(AsRecommend(*stmt).sources.at(0));
  CHECK(Dump(*nearest.positive->where) == "(IN p.genre ['a', 'b'])");
  CHECK(nearest.space_type == "Movie");
  CHECK(nearest.space_name == "embedding");

  auto plain = MustParse("RECOMMEND (m) FOR (u) FROM NEAREST 5 TO u.taste IN Movie.embedding");
  const auto& target = std::get<NearestSource>(AsRecommend(*plain).sources.at(0));
  CHECK(Dump(*target.target) == "u.taste");
  CHECK(target.space_name == "embedding");

  auto complex = MustParse(
      "RECOMMEND (m) FOR (u) FROM NEAREST 5 TO (u.a + $b) IN M.e FROM NEAREST 5 TO f(u).v.w IN M.e");
  const RecommendQuery& q = AsRecommend(*complex);
  CHECK(Dump(*std::get<NearestSource>(q.sources[0]).target) == "(+ u.a $b)");
  CHECK(Dump(*std::get<NearestSource>(q.sources[1]).target) == "f(u).v.w");
  CHECK(std::get<NearestSource>(q.sources[1]).target->pos.column == 77);
}

TEST_CASE("diversify by a key, by MMR, or both") {
  auto by = MustParse("RECOMMEND (c) FOR (u) FROM (u)-->(c) DIVERSIFY BY c.brand MAX $n");
  CHECK(Dump(*AsRecommend(*by).diversify->max_per_value) == "$n");

  auto mmr = MustParse("RECOMMEND (c) FOR (u) FROM (u)-->(c) DIVERSIFY MMR 0.7 IN Item.embedding");
  const Diversify& d = *AsRecommend(*mmr).diversify;
  CHECK(d.by == nullptr);
  CHECK(d.mmr_lambda == doctest::Approx(0.7));
  CHECK(d.mmr_space_type == "Item");
  CHECK(d.mmr_space_name == "embedding");

  auto both = MustParse(
      "RECOMMEND (c) FOR (u) FROM (u)-->(c) DIVERSIFY BY c.brand MAX 2, MMR 1 IN Item.vec LIMIT 3");
  const Diversify& b = *AsRecommend(*both).diversify;
  CHECK(Dump(*b.by) == "c.brand");
  CHECK(b.mmr_lambda == doctest::Approx(1.0));
  CHECK(b.mmr_space_name == "vec");

  Status twice = ErrorOf("RECOMMEND (c) FOR (u) FROM (u)-->(c) DIVERSIFY BY a MAX 1 BY b MAX 2");
  CHECK(twice.column() == 59);
  CHECK(twice.message().find("DIVERSIFY BY given twice") != std::string::npos);
}

TEST_CASE("SCORE ... AS name names the expression back to the previous name; the rest stays one item") {
  auto stmt = MustParse(
      "RECOMMEND (c) FOR (u) FROM (u)-[:X]->(c) SCORE sum(1) AS paths + c.a - c.b AS net + c.d");
  const RecommendQuery& q = AsRecommend(*stmt);
  REQUIRE(q.score.size() == 3);
  CHECK(q.score[0].op == '+');
  CHECK(q.score[0].name == "paths");
  CHECK(Dump(*q.score[0].expr) == "sum(1)");
  CHECK(q.score[1].op == '+');
  CHECK(q.score[1].name == "net");
  CHECK(Dump(*q.score[1].expr) == "(- c.a c.b)");
  CHECK(q.score[2].op == '+');
  CHECK(q.score[2].name.empty());
  CHECK(Dump(*q.score[2].expr) == "c.d");
}
TEST_CASE("recommend accepts OFFSET before LIMIT and a statement without optional clauses") {
  auto stmt = MustParse("RECOMMEND (c) FOR (u) FROM (u)-[:X]->(c) OFFSET 20 LIMIT 10");
  CHECK(Dump(*AsRecommend(*stmt).offset) == "20");
  CHECK(Dump(*AsRecommend(*stmt).limit) == "10");
  auto bare = MustParse("RECOMMEND (c) FOR (u) FROM (u)-[:X]->(c)");
  const RecommendQuery& q = AsRecommend(*bare);
  CHECK(q.where == nullptr);
  CHECK(q.score.empty());
  CHECK_FALSE(q.diversify.has_value());
  CHECK(q.limit == nullptr);
}

TEST_CASE("PROFILE prefix and EXPLAIN suffix set the statement flags") {
  auto both = MustParse("PROFILE MATCH (n) RETURN n EXPLAIN");
  CHECK(both->profile);
  CHECK(both->explain);
  auto profile = MustParse("profile RECOMMEND (c) FOR (u) FROM (u)-->(c) LIMIT 1");
  CHECK(profile->profile);
  CHECK_FALSE(profile->explain);
}

TEST_CASE("operator precedence from OR down to property access") {
  CHECK(ExprOf("a OR b XOR c AND d") == "(OR a (XOR b (AND c d)))");
  CHECK(ExprOf("a AND b OR c") == "(OR (AND a b) c)");
  CHECK(ExprOf("NOT a AND b") == "(AND (NOT a) b)");
  CHECK(ExprOf("NOT a = b") == "(NOT (= a b))");
  CHECK(ExprOf("NOT NOT a") == "(NOT (NOT a))");
  CHECK(ExprOf("a = b + c") == "(= a (+ b c))");
  CHECK(ExprOf("a + b * c - d") == "(- (+ a (* b c)) d)");
  CHECK(ExprOf("a - b - c") == "(- (- a b) c)");
  CHECK(ExprOf("a / b % c * d") == "(* (% (/ a b) c) d)");
  CHECK(ExprOf("-a * b") == "(* (- a) b)");
  CHECK(ExprOf("-a.b") == "(- a.b)");
  CHECK(ExprOf("(a + b) * c") == "(* (+ a b) c)");
  CHECK(ExprOf("a.b.c") == "a.b.c");
  CHECK(ExprOf("f(x).y + 1") == "(+ f(x).y 1)");
  CHECK(ExprOf("a + b IN [1, 2] AND c IS NULL") == "(AND (IN (+ a b) [1, 2]) (IS NULL c))");
  CHECK(ExprOf("a < b OR c >= d * 2") == "(OR (< a b) (>= c (* d 2)))");
  CHECK(ExprOf("+a") == "a");
}

TEST_CASE("comparison operators, with != normalised to <>") {
  CHECK(ExprOf("a = 1") == "(= a 1)");
  CHECK(ExprOf("a <> 1") == "(<> a 1)");
  CHECK(ExprOf("a != 1") == "(<> a 1)");
  CHECK(ExprOf("a < 1") == "(< a 1)");
  CHECK(ExprOf("a <= 1") == "(<= a 1)");
  CHECK(ExprOf("a > 1") == "(> a 1)");
  CHECK(ExprOf("a >= 1") == "(>= a 1)");
  CHECK(ExprOf("a < -1") == "(< a -1)");
}

TEST_CASE("IN, NOT IN, IS NULL and IS NOT NULL") {
  CHECK(ExprOf("a IN [1, 'x', $p]") == "(IN a [1, 'x', $p])");
  CHECK(ExprOf("a NOT IN $list") == "(NOT IN a $list)");
  CHECK(ExprOf("a IS NULL") == "(IS NULL a)");
  CHECK(ExprOf("a.b IS NOT NULL") == "(IS NOT NULL a.b)");
  CHECK(ExprOf("[]") == "[]");
  CHECK(ExprOf("[[1], [2, 3]]") == "[[1], [2, 3]]");
}

TEST_CASE("function calls lower-case their names and support count(*) and DISTINCT") {
  CHECK(ExprOf("COUNT(*)") == "count(*)");
  CHECK(ExprOf("Count(DISTINCT n.x)") == "count(DISTINCT n.x)");
  CHECK(ExprOf("now()") == "now()");
  CHECK(ExprOf("Coalesce(a, b, 0)") == "coalesce(a, b, 0)");
  CHECK(ExprOf("max(a) + MAX(b)") == "(+ max(a) max(b))");
  CHECK(ExprOf("degree(n, 'EDGE', 'out')") == "degree(n, 'EDGE', 'out')");
  CHECK(ExprOf("Duration.Between(a, b)") == "duration.between(a, b)");
  CHECK(ExprOf("duration.between") == "duration.between");  // no call: a property
  auto stmt = MustParse("MATCH (n) RETURN count(*)");
  const Expr& call = *AsMatch(*stmt).returns[0].expr;
  CHECK(call.kind == ExprKind::kCall);
  CHECK(call.star);
  CHECK(call.args.empty());
}

TEST_CASE("literals: integers, floats, strings with escapes, booleans and null") {
  CHECK(ExprOf("42") == "42");
  CHECK(ExprOf("1.5") == "1.5f");
  CHECK(ExprOf(".25") == "0.25f");
  CHECK(ExprOf("1e-3") == "0.001f");
  CHECK(ExprOf("2E3") == "2000f");
  CHECK(ExprOf("true") == "true");
  CHECK(ExprOf("FALSE") == "false");
  CHECK(ExprOf("Null") == "null");
  CHECK(ExprOf("'it\\'s'") == "'it's'");
  CHECK(ExprOf("\"say \\\"hi\\\"\"") == "'say \"hi\"'");
  CHECK(ExprOf("'a\\tb\\\\c\\n'") == "'a\tb\\c\n'");
  CHECK(ExprOf("'\\u00e9\\uD83D\\uDE00'") == "'\xC3\xA9\xF0\x9F\x98\x80'");
  CHECK(ExprOf("'h\xC3\xA9'") == "'h\xC3\xA9'");
  auto stmt = MustParse("MATCH (n) RETURN 3, 3.0");
  const auto& returns = AsMatch(*stmt).returns;
  CHECK(std::holds_alternative<int64_t>(returns[0].expr->literal.value));
  CHECK(std::holds_alternative<double>(returns[1].expr->literal.value));
}

TEST_CASE("durations become int64 milliseconds marked as durations") {
  CHECK(ExprOf("7d") == "604800000ms");
  CHECK(ExprOf("12h") == "43200000ms");
  CHECK(ExprOf("30m") == "1800000ms");
  CHECK(ExprOf("45s") == "45000ms");
  CHECK(ExprOf("250ms") == "250ms");
  CHECK(ExprOf("1h30m") == "5400000ms");
  CHECK(ExprOf("now() - 7d") == "(- now() 604800000ms)");
  auto stmt = MustParse("MATCH (n) RETURN 7d, 7");
  CHECK(AsMatch(*stmt).returns[0].expr->literal.is_duration);
  CHECK_FALSE(AsMatch(*stmt).returns[1].expr->literal.is_duration);
}

TEST_CASE("unary minus folds into numeric literals, down to the smallest int64") {
  auto stmt = MustParse("MATCH (n) RETURN -9223372036854775808, -1.5, -2d, -x, - -3");
  const auto& r = AsMatch(*stmt).returns;
  CHECK(std::get<int64_t>(r[0].expr->literal.value) == std::numeric_limits<int64_t>::min());
  CHECK(Dump(*r[1].expr) == "-1.5f");
  CHECK(Dump(*r[2].expr) == "-172800000ms");
  CHECK(Dump(*r[3].expr) == "(- x)");
  CHECK(Dump(*r[4].expr) == "(- -3)");
}

TEST_CASE("integer and duration literals that overflow int64 are syntax errors") {
  Status s = ErrorOf("MATCH (n) RETURN 9223372036854775808");
  CHECK(s.line() == 1);
  CHECK(s.column() == 18);
  CHECK(s.message().find("integer out of range") != std::string::npos);
  CHECK(ErrorOf("MATCH (n) RETURN 999999999999d").column() == 18);
  CHECK(ErrorOf("MATCH (n) RETURN 1e999").message().find("out of range") != std::string::npos);
  CHECK(ErrorOf("MATCH (a)-[MAX 99999999999999999999]->(b) RETURN a").column() == 16);
}

TEST_CASE("a pattern in an expression is an existence test; a parenthesis is not") {
  CHECK(ExprOf("(n)") == "n");
  CHECK(ExprOf("(n) - 1") == "(- n 1)");
  CHECK(ExprOf("(n)-[:A]->(m)") == "exists(n)-[:A]->(m)");
  CHECK(ExprOf("(n)<-[:A]-(:T)") == "exists(n)<-[:A]-(:T)");
  CHECK(ExprOf("(n)-->(m) AND (n) < 2") == "(AND exists(n)-[]->(m) (< n 2))");
  CHECK(ExprOf("NOT (n:T {k: 1})-[:A]-(m)") == "(NOT exists(n:T {k: 1})-[:A]-(m))");
  auto stmt = MustParse("MATCH (n) WHERE NOT (n)-[:A]->(m) RETURN n");
  const Expr& not_expr = *AsMatch(*stmt).clauses.at(0).where;
  REQUIRE(not_expr.args[0]->kind == ExprKind::kPattern);
  CHECK(not_expr.args[0]->pattern->edges.size() == 1);
}

TEST_CASE("keywords are case-insensitive and usable as labels, types and property names") {
  auto stmt = MustParse(
      "match (n:Order)-[r:FROM]->(m:`My Type`) where n.limit > 1 and m.`weird``name` = 2 "
      "return n.order as `order`, m.match order by n.skip desc skip 1 limit 2");
  const MatchQuery& q = AsMatch(*stmt);
  CHECK(DumpPattern(q.clauses.at(0).patterns[0]) == "(n:Order)-[r:FROM]->(m:My Type)");
  CHECK(Dump(*q.clauses.at(0).where) == "(AND (> n.limit 1) (= m.weird`name 2))");
  CHECK(q.returns[0].alias == "order");
  CHECK(Dump(*q.returns[1].expr) == "m.match");
  CHECK(q.order_by[0].descending);
  auto rec = MustParse("ReCoMmEnD (c) fOr (u) FrOm NeArEsT 3 tO u.v In Item.e eF 4 ExPlAiN");
  CHECK(rec->explain);
  auto soft = MustParse("MATCH (node)-[per]->(mean) RETURN node.x, per, mean");
  CHECK(DumpPattern(AsMatch(*soft).clauses.at(0).patterns[0]) == "(node)-[per]->(mean)");
}

TEST_CASE("line comments with -- and //, and block comments, are ignored") {
  auto stmt = MustParse(
      "-- top comment\n"
      "MATCH (a)-->(b) // trailing comment\n"
      "/* block\n comment */ WHERE a.x > 1 --\n"
      "RETURN b -- last");
  const MatchQuery& q = AsMatch(*stmt);
  CHECK(DumpPattern(q.clauses.at(0).patterns[0]) == "(a)-[]->(b)");
  CHECK(Dump(*q.clauses.at(0).where) == "(> a.x 1)");
  CHECK(q.clauses.at(0).where->pos.line == 4);
}

TEST_CASE("positions are 1-based lines and columns on patterns and expressions") {
  auto stmt = MustParse("MATCH (a)-[r]->(b)\n  WHERE a.x = $p\nRETURN f(b)");
  const MatchQuery& q = AsMatch(*stmt);
  const Pattern& p = q.clauses.at(0).patterns[0];
  CHECK(p.pos.line == 1);
  CHECK(p.pos.column == 7);
  CHECK(p.nodes[1].pos.column == 16);
  CHECK(p.edges[0].pos.column == 10);
  const Expr& eq = *q.clauses.at(0).where;
  CHECK(eq.pos.line == 2);
  CHECK(eq.pos.column == 9);
  CHECK(eq.args[1]->pos.column == 15);
  CHECK(eq.args[0]->args[0]->pos.column == 9);
  CHECK(q.returns[0].expr->pos.line == 3);
  CHECK(q.returns[0].expr->args[0]->pos.column == 10);
}

TEST_CASE("a misspelled keyword on line 2 names the token and the expected keywords") {
  Status s = ErrorOf("MATCH (u:User)\nRETRUN u");
  CHECK(s.line() == 2);
  CHECK(s.column() == 1);
  CHECK(s.message().rfind("syntax error at line 2, column 1: unexpected 'RETRUN', expected one of: ",
                          0) == 0);
  CHECK(s.message().find("RETURN") != std::string::npos);
  CHECK(s.message().find("WITH") != std::string::npos);
}

TEST_CASE("a missing closing parenthesis is reported where the parser stopped") {
  Status s = ErrorOf("MATCH (u:User\nRETURN u");
  CHECK(s.line() == 2);
  CHECK(s.column() == 1);
  CHECK(s.message().find("unexpected 'RETURN'") != std::string::npos);
  CHECK(s.message().find("')'") != std::string::npos);

  Status call = ErrorOf("MATCH (n) RETURN log(1 + n.x");
  CHECK(call.line() == 1);
  CHECK(call.column() == 29);
  CHECK(call.message().find("end of input") != std::string::npos);
}

TEST_CASE("an unterminated string is reported at its opening quote") {
  Status s = ErrorOf("MATCH (n)\nWHERE n.name = 'abc\nRETURN n");
  CHECK(s.line() == 2);
  CHECK(s.column() == 16);
  CHECK(s.message().find("unterminated string literal") != std::string::npos);
  CHECK(ErrorOf("MATCH (n) RETURN \"x\\").column() == 18);
}

TEST_CASE("a character outside the language is reported with its position") {
  Status s = ErrorOf("MATCH (n) RETURN n.x # 2");
  CHECK(s.line() == 1);
  CHECK(s.column() == 22);
  CHECK(s.message().find("unexpected character '#'") != std::string::npos);
  Status unicode = ErrorOf("MATCH (n) RETURN \xC3\xA9");
  CHECK(unicode.column() == 18);
}

TEST_CASE("empty and blank input is a syntax error at the end of input") {
  for (const char* text : {"", "   \n  ", "-- only a comment"}) {
    Status s = ErrorOf(text);
    CHECK(s.message().find("unexpected end of input") != std::string::npos);
    CHECK(s.message().find("MATCH") != std::string::npos);
    CHECK(s.message().find("RECOMMEND") != std::string::npos);
  }
  CHECK(ErrorOf("").line() == 1);
  CHECK(ErrorOf("").column() == 1);
}

TEST_CASE("other syntax errors: bad escapes, invalid UTF-8, trailing garbage, missing clauses") {
  CHECK(ErrorOf("MATCH (n) RETURN 'a\\qb'").message().find("unknown escape") != std::string::npos);
  CHECK(ErrorOf("MATCH (n) RETURN '\\u12'").column() == 18);
  Status utf8 = ErrorOf("MATCH (n)\nRETURN 'a\xFF'");
  CHECK(utf8.line() == 2);
  CHECK(utf8.column() == 10);
  CHECK(ErrorOf("MATCH (n) RETURN n n").column() == 20);
  CHECK(ErrorOf("MATCH (n)").message().find("end of input") != std::string::npos);
  CHECK(ErrorOf("RECOMMEND (c) FOR (u) LIMIT 3").message().find("FROM") != std::string::npos);
  Status where = ErrorOf("MATCH (n) WHERE RETURN n");
  CHECK(where.column() == 17);
  CHECK(where.message().find("expected an expression") != std::string::npos);
  CHECK(ErrorOf("MATCH (a)<-[:X]->(b) RETURN a").column() == 17);
}

TEST_CASE("nesting deeper than max_nesting_depth (200) brackets is rejected; 200 is accepted") {
  auto nested = [](int depth) {
    return "MATCH (n) RETURN " + std::string(depth, '(') + "1" + std::string(depth, ')');
  };
  CHECK(Dump(*AsMatch(*MustParse(nested(200))).returns[0].expr) == "1");
  Status s = LimitErrorOf(nested(201), "max_nesting_depth");
  CHECK(s.column() == 18 + 200);
  // 100,000 deep: an error, not a stack overflow (with the text limit raised to let it through).
  LimitErrorOf(nested(100000), "max_nesting_depth", Roomy());
  std::string lists = "MATCH (n) RETURN " + std::string(100000, '[') + std::string(100000, ']');
  LimitErrorOf(lists, "max_nesting_depth", Roomy());
  Limits tight;
  tight.max_nesting_depth = 3;
  CHECK(Parse(nested(3), tight).ok());
  LimitErrorOf(nested(4), "max_nesting_depth (3)", tight);
  std::string maps = "MATCH (a {x: [(b {y: [1]})-->(c)]}) RETURN a";
  LimitErrorOf(maps, "max_nesting_depth", tight);
}

TEST_CASE("long operator chains and prefix chains are bounded by max_expression_depth") {
  std::string ok_chain = "MATCH (n) RETURN 1";
  for (int i = 0; i < 500; ++i) ok_chain += " + 1";
  CHECK(MustParse(ok_chain) != nullptr);

  std::string chain = "MATCH (n) RETURN 1";
  for (int i = 0; i < 100000; ++i) chain += " + 1";
  LimitErrorOf(chain, "max_expression_depth", Roomy());

  std::string nots = "MATCH (n) WHERE ";
  for (int i = 0; i < 100000; ++i) nots += "NOT ";
  LimitErrorOf(nots + "true RETURN n", "max_expression_depth", Roomy());
  std::string minus = "MATCH (n) RETURN " + std::string(100000, '-') + "1";
  CHECK_FALSE(Parse(minus, Roomy()).ok());
  CHECK_FALSE(Parse(minus).ok());
}

TEST_CASE("query text over max_query_bytes is rejected before lexing") {
  std::string big(70000, 'x');
  Status s = LimitErrorOf("MATCH (n) RETURN '" + big + "'", "max_query_bytes (65536)");
  CHECK(s.message().find("70019 bytes") != std::string::npos);
  std::string spaces = "MATCH (n) RETURN 1" + std::string(65536, ' ');
  LimitErrorOf(spaces, "max_query_bytes");
}

TEST_CASE("expression nodes over max_expression_nodes and lists over max_list_elements") {
  std::string list = "MATCH (n) WHERE n.id IN [0";
  for (int i = 1; i < 10001; ++i) list += ", " + std::to_string(i);
  list += "] RETURN n";
  Status s = LimitErrorOf(list, "max_list_elements (10000)");
  CHECK(s.message().find("list of 10001 elements") != std::string::npos);
  CHECK(s.line() == 1);
  CHECK(s.column() == 25);
  Limits few;
  few.max_expression_nodes = 10;
  LimitErrorOf("MATCH (n) RETURN 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11", "max_expression_nodes (10)",
               few);
  CHECK(Parse("MATCH (n) RETURN 1, 2, 3, 4, 5, 6, 7, 8, 9, 10", few).ok());
}

TEST_CASE("large inputs parse when the limits allow them: long lists and long strings") {
  std::string list = "MATCH (n) WHERE n.id IN [0";
  for (int i = 1; i < 20000; ++i) list += ", " + std::to_string(i);
  auto parsed = Parse(list + "] RETURN n", Roomy());
  REQUIRE(parsed.ok());
  CHECK(AsMatch(**parsed).clauses.at(0).where->args[1]->args.size() == 20000);
  CHECK((*parsed)->expression_nodes == 20000 + 5);  // IN, n.id, n, the list, RETURN n
  std::string big(1 << 20, 'x');
  auto str = Parse("MATCH (n) RETURN '" + big + "'", Roomy());
  REQUIRE(str.ok());
  CHECK(std::get<std::string>(AsMatch(**str).returns[0].expr->literal.value).size() == big.size());
}

TEST_CASE("a passed deadline stops parsing with DeadlineExceeded") {
  Deadline past = Deadline::AfterMillis(-1);
  auto parsed = Parse("MATCH (n) RETURN n", Limits(), past);
  REQUIRE_FALSE(parsed.ok());
  CHECK(parsed.status().code() == Status::Code::kDeadlineExceeded);
  std::string list = "MATCH (n) WHERE n.id IN [0";
  for (int i = 1; i < 5000; ++i) list += ", " + std::to_string(i);
  auto long_parse = Parse(list + "] RETURN n", Limits(), past);
  REQUIRE_FALSE(long_parse.ok());
  CHECK(long_parse.status().code() == Status::Code::kDeadlineExceeded);
}

TEST_CASE("concurrent parses from several threads give the same trees") {
  std::string expected = Dump(*AsRecommend(*MustParse(kRecommendExample)).score.at(0).expr);
  std::vector<int> matches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        auto parsed = Parse(kRecommendExample);
        if (parsed.ok() && Dump(*std::get<RecommendQuery>(parsed.value()->body).score.at(0).expr) == expected) {
          ++matches[t];
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(matches == std::vector<int>(4, 25));
}

}  // namespace
}  // namespace pathwise::query::ast
