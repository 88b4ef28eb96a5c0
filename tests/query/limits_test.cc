// Deadlines in every stage of the PQL pipeline and the memory budgets (query::Limits,
// query::EngineOptions): each produces its error, and nothing waits on timing beyond "the error
// is DeadlineExceeded". The shape limits' data-file cases are in tests/queries/errors/limits.test.
#include <doctest/doctest.h>

#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "query/ast.h"
#include "query/binder.h"
#include "query/match_ops.h"
#include "query/memory.h"
#include "tests/query/database_test_util.h"

namespace pathwise::testing {
namespace {

using json = nlohmann::json;

constexpr char kFourHops[] =
    "MATCH (a:Item)-[:SIMILAR]->(b)-[:SIMILAR]->(c)-[:SIMILAR]->(d)-[:SIMILAR]->(e) "
    "RETURN count(*)";
constexpr char kFourHopRecommend[] =
    "RECOMMEND (c:Item) FOR (u:Item {id: 'n0'}) "
    "FROM (u)-[:SIMILAR]->()-[:SIMILAR]->()-[:SIMILAR]->()-[:SIMILAR]->(c) LIMIT 10";

Status QueryError(Database* db, const std::string& text, const QueryOptions& options,
                  const json& params = json::object()) {
  auto result = db->Query(text, params, options);
  REQUIRE_FALSE(result.ok());
  return result.status();
}

QueryOptions PastDeadline() {
  QueryOptions options;
  options.deadline = Deadline::AfterMillis(-1);
  return options;
}

// 100 us: far less than any of the walks below needs (a 1 ms deadline let the 4-hop RECOMMEND
// finish in time about once in 15 runs).
QueryOptions TinyDeadline() {
  QueryOptions options;
  options.deadline = Deadline::At(Deadline::Clock::now() + std::chrono::microseconds(100));
  return options;
}

TEST_CASE("a passed deadline stops an uncached query in parsing") {
  TempDir dir;
  auto db = OpenDbWithSchema(dir.path);
  Status s = QueryError(db.get(), "MATCH (u:User) RETURN u.age", PastDeadline());
  CHECK(s.code() == Status::Code::kDeadlineExceeded);
  CHECK(s.message().find("parse") != std::string::npos);
}

TEST_CASE("a passed deadline stops binding and planning") {
  auto stmt = query::ast::Parse("MATCH (n), (m) WHERE n = m RETURN n, m");
  REQUIRE(stmt.ok());
  Schema schema;
  auto plan = query::BuildPlan(**stmt, schema, nullptr, Deadline::AfterMillis(-1));
  REQUIRE_FALSE(plan.ok());
  CHECK(plan.status().code() == Status::Code::kDeadlineExceeded);
  CHECK(plan.status().message().find("binding") != std::string::npos);
  CHECK(query::BuildPlan(**stmt, schema, nullptr).ok());
}

TEST_CASE("a passed deadline stops a cached plan before it executes") {
  TempDir dir;
  auto db = OpenDbWithSchema(dir.path);
  const std::string text = "MATCH (u:User) RETURN u.age";
  REQUIRE(db->Query(text, json::object()).ok());  // now cached
  auto again = db->Query(text, json::object());
  REQUIRE(again.ok());
  CHECK(again->stats["plan_cached"] == true);
  Status s = QueryError(db.get(), text, PastDeadline());
  CHECK(s.code() == Status::Code::kDeadlineExceeded);
}

TEST_CASE("a tiny deadline stops MATCH expansion and RECOMMEND walks with DeadlineExceeded") {
  TempDir dir;
  auto db = DenseDb(dir.path, 300, 30);
  // Both take far longer than 100 us (tens of thousands of steps or more).
  CHECK(QueryError(db.get(), kFourHops, TinyDeadline()).code() == Status::Code::kDeadlineExceeded);
  CHECK(QueryError(db.get(), kFourHopRecommend, TinyDeadline()).code() ==
        Status::Code::kDeadlineExceeded);
  // A 10,000-element IN list evaluated for every row is work the deadline checks count.
  json ids = json::array();
  for (int i = 0; i < 10000; ++i) ids.push_back("x" + std::to_string(i));
  Status in = QueryError(db.get(),
                         "MATCH (a:Item)-[:SIMILAR]->(b) WHERE b.id IN $ids RETURN count(*)",
                         TinyDeadline(), {{"ids", ids}});
  CHECK(in.code() == Status::Code::kDeadlineExceeded);
}

// MATCH's value-row operators run on a hand-made state: with the deadline already passed, each
// returns DeadlineExceeded from inside its loop (the sort from inside its comparator).
query::MatchState RowsState(size_t rows) {
  query::MatchState st;
  st.deadline = Deadline::AfterMillis(-1);
  st.profile.assign(1, query::OpProfile());
  for (size_t i = 0; i < rows; ++i) {
    st.values.push_back({query::RtValue(static_cast<int64_t>(rows - i)),
                         query::RtValue("row " + std::to_string(i % 7))});
  }
  return st;
}

TEST_CASE("Sort and Distinct stop inside their loops once the deadline has passed") {
  query::MatchState sorted = RowsState(5000);
  Status s = query::MakeSortOp({{0, false}})->Run(&sorted);
  CHECK(s.code() == Status::Code::kDeadlineExceeded);
  CHECK(sorted.values.size() == 5000);  // unwound, every row still valid

  query::MatchState distinct = RowsState(5000);
  CHECK(query::MakeDistinctOp(2)->Run(&distinct).code() == Status::Code::kDeadlineExceeded);

  query::MatchState in_time = RowsState(5000);
  in_time.deadline = Deadline::Never();
  REQUIRE(query::MakeSortOp({{0, false}})->Run(&in_time).ok());
  CHECK(in_time.values.front()[0].AsInt() == 1);
}

TEST_CASE("Distinct charges its keys to the query memory budget") {
  query::MatchState st = RowsState(5000);
  st.deadline = Deadline::Never();
  query::MemoryPool pool(0);
  query::QueryMemory memory(4096, &pool);
  st.memory = &memory;
  Status s = query::MakeDistinctOp(2)->Run(&st);
  CHECK(s.code() == Status::Code::kResourceExhausted);
  CHECK(s.message().find("max_query_memory_bytes (4096 bytes)") != std::string::npos);
}

TEST_CASE("query memory reserves from the shared pool in chunks and returns them at the end") {
  query::MemoryPool pool(3 * query::QueryMemory::kChunk);
  {
    query::QueryMemory a(0, &pool);
    REQUIRE(a.Charge(10).ok());
    CHECK(pool.used() == query::QueryMemory::kChunk);
    query::QueryMemory b(0, &pool);
    REQUIRE(b.Charge(2 * query::QueryMemory::kChunk).ok());
    CHECK(pool.used() == 3 * query::QueryMemory::kChunk);
    Status over = a.Charge(query::QueryMemory::kChunk);
    CHECK(over.code() == Status::Code::kResourceExhausted);
    CHECK(over.message().find("max_total_query_memory_bytes (3 MiB)") != std::string::npos);
  }
  CHECK(pool.used() == 0);
}

TEST_CASE("a query with ORDER BY over many rows stops at a tiny deadline") {
  TempDir dir;
  auto db = DenseDb(dir.path, 300, 30);
  Status s = QueryError(db.get(),
                        "MATCH (a:Item)-[:SIMILAR]->(b)-[:SIMILAR]->(c) RETURN a.id, c.id "
                        "ORDER BY c.id, a.id LIMIT 5",
                        TinyDeadline());
  CHECK(s.code() == Status::Code::kDeadlineExceeded);
}

TEST_CASE("a MATCH over max_query_memory_bytes fails with ResourceExhausted naming it") {
  TempDir dir;
  auto db = DenseDb(dir.path, 300, 30);
  QueryOptions options;
  options.limits.max_query_memory_bytes = 4 << 20;
  Status s = QueryError(db.get(), kFourHops, options);
  CHECK(s.code() == Status::Code::kResourceExhausted);
  CHECK(s.message().find("max_query_memory_bytes (4 MiB)") != std::string::npos);
  // The same query within a larger budget is not refused for memory (a 1-hop version answers).
  auto one_hop = db->Query("MATCH (a:Item)-[:SIMILAR]->(b) RETURN count(*)", json::object(), options);
  REQUIRE(one_hop.ok());
  CHECK(one_hop->rows[0][0] == 9000);
}

TEST_CASE("a RECOMMEND collecting more candidates than its memory budget fails") {
  TempDir dir;
  auto db = DenseDb(dir.path, 300, 30);
  QueryOptions options;
  options.limits.max_query_memory_bytes = 1024;  // about 60 bytes per candidate; 59 reachable
  Status s = QueryError(db.get(),
                        "RECOMMEND (c:Item) FOR (u:Item {id: 'n0'}) "
                        "FROM (u)-[:SIMILAR]->()-[:SIMILAR]->(c) LIMIT 10",
                        options);
  CHECK(s.code() == Status::Code::kResourceExhausted);
  CHECK(s.message().find("max_query_memory_bytes") != std::string::npos);
}

TEST_CASE("the total of running queries is bounded by max_total_query_memory_bytes") {
  TempDir dir;
  DatabaseOptions options;
  options.query_engine.max_total_query_memory_bytes = 2 << 20;
  auto db = DenseDb(dir.path, 300, 30, options);
  Status s = QueryError(db.get(), kFourHops, QueryOptions());
  CHECK(s.code() == Status::Code::kResourceExhausted);
  CHECK(s.message().find("max_total_query_memory_bytes (2 MiB)") != std::string::npos);
  // The failed query gave its reservation back: a small query still runs, repeatedly.
  for (int i = 0; i < 20; ++i) {
    auto small = db->Query("MATCH (a:Item {id: 'n1'})-[:SIMILAR]->(b) RETURN count(*)", json::object());
    REQUIRE(small.ok());
    CHECK(small->rows[0][0] == 30);
  }
}

// An Engine over an empty graph: enough to bind and cache MATCH plans.
struct EmptyCatalog {
  explicit EmptyCatalog(const std::string& dir) {
    auto opened = storage::Store::Open(storage::StoreOptions(), dir);
    REQUIRE(opened.ok());
    store = std::move(opened).value();
    auto schema = std::make_shared<Schema>();
    REQUIRE(schema->MergeJson(R"({"node_types": [{"name": "User"}]})").ok());
    auto loaded = graph::Graph::Load(*store, *schema);
    REQUIRE(loaded.ok());
    graph = std::move(loaded).value();
    catalog.schema = schema;
    catalog.graph = graph.get();
    catalog.store = store.get();
  }
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<graph::Graph> graph;
  query::Catalog catalog;
};

// A distinct query of about `bytes` of text: a long IN list whose first element is i.
std::string DistinctQuery(int i, size_t bytes) {
  std::string text = "MATCH (u:User) WHERE u.id IN ['q" + std::to_string(i) + "'";
  for (int k = 0; text.size() < bytes; ++k) text += ", 'v" + std::to_string(k) + "'";
  return text + "] RETURN u";
}

TEST_CASE("the plan cache stays within plan_cache_bytes after many distinct large queries") {
  TempDir dir;
  EmptyCatalog c(dir.path);
  query::EngineOptions options;
  options.plan_cache_bytes = 8 << 20;
  query::Engine engine(options);
  for (int i = 0; i < 300; ++i) {
    auto result = engine.Execute(c.catalog, DistinctQuery(i, 59 << 10), json::object(), QueryOptions());
    REQUIRE_MESSAGE(result.ok(), result.status().ToString());
    CHECK(engine.plan_cache_bytes() <= options.plan_cache_bytes);
  }
  // Plans of ~59 KB queries are large: far fewer than 300 (or 1,024) entries fit in 8 MiB.
  CHECK(engine.plan_cache_entries() > 0);
  CHECK(engine.plan_cache_entries() < 300);
  // The most recent plan is cached; the first was evicted.
  auto last = engine.Execute(c.catalog, DistinctQuery(299, 59 << 10), json::object(), QueryOptions());
  REQUIRE(last.ok());
  CHECK(last->stats["plan_cached"] == true);
  auto first = engine.Execute(c.catalog, DistinctQuery(0, 59 << 10), json::object(), QueryOptions());
  REQUIRE(first.ok());
  CHECK(first->stats["plan_cached"] == false);
  CHECK(engine.query_memory_bytes() == 0);
}

TEST_CASE("a plan larger than the whole plan cache budget runs but is not cached") {
  TempDir dir;
  EmptyCatalog c(dir.path);
  query::EngineOptions options;
  options.plan_cache_bytes = 64 << 10;
  query::Engine engine(options);
  std::string text = DistinctQuery(1, 50 << 10);
  REQUIRE(engine.Execute(c.catalog, text, json::object(), QueryOptions()).ok());
  CHECK(engine.plan_cache_entries() == 0);
  CHECK(engine.plan_cache_bytes() == 0);
  REQUIRE(engine.Execute(c.catalog, "MATCH (u:User) RETURN u", json::object(), QueryOptions()).ok());
  CHECK(engine.plan_cache_entries() == 1);
}

TEST_CASE("a 100,000-deep parameter value is an error naming max_param_depth, not a crash") {
  TempDir dir;
  EmptyCatalog c(dir.path);
  query::Engine engine;
  // Built and handed over by moves only: nlohmann's copy is recursive.
  json deep = 1;
  for (int i = 0; i < 100000; ++i) {
    json wrapper = json::array();
    wrapper.push_back(std::move(deep));
    deep = std::move(wrapper);
  }
  json params = json::object();
  params["unused"] = std::move(deep);
  auto result = engine.Execute(c.catalog, "MATCH (u:User) RETURN u", params, QueryOptions());
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().code() == Status::Code::kInvalidArgument);
  CHECK(result.status().message().find("max_param_depth") != std::string::npos);
}

}  // namespace
}  // namespace pathwise::testing
