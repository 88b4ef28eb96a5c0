// RECOMMEND per-source budgets, the source hook, dropping failed sources and sources in parallel
// (QueryOptions::source_budget_ms, source_budgets_ms, source_hook, drop_failed_sources,
// parallel_sources; EngineOptions::source_threads).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "tests/query/database_test_util.h"

namespace pathwise {
namespace {

using namespace pathwise::testing;
using Json = nlohmann::json;

// u1 VIEWED i1 (1), i2 (2); SIMILAR i1->i2 (.5), i1->i3 (.5), i2->i3 (.25), i2->i4 (1).
// Sources of kQuery: viewed {i1, i2}, similar {i2, i3, i4}, taste (NEAREST 2 to [1,0,0,0]) {i5,
// i4}.
void Populate(Database* db) {
  std::vector<WriteSet> sets;
  sets.push_back(Set(Node("User", "u1")));
  sets.push_back(Set(Node("Item", "i1"), Vec("i1", {0, 1, 0, 0})));
  sets.push_back(Set(Node("Item", "i2"), Vec("i2", {0, 0, 1, 0})));
  sets.push_back(Set(Node("Item", "i3"), Vec("i3", {0, 0, 0, 1})));
  sets.push_back(Set(Node("Item", "i4"), Vec("i4", {0.9f, 0.1f, 0, 0})));
  sets.push_back(Set(Node("Item", "i5"), Vec("i5", {1, 0, 0, 0})));
  sets.push_back(Set(Edge("VIEWED", {"User", "u1"}, {"Item", "i1"}, 1.0),
                     Edge("VIEWED", {"User", "u1"}, {"Item", "i2"}, 2.0)));
  sets.push_back(Set(Edge("SIMILAR", {"Item", "i1"}, {"Item", "i2"}, 0.5),
                     Edge("SIMILAR", {"Item", "i1"}, {"Item", "i3"}, 0.5),
                     Edge("SIMILAR", {"Item", "i2"}, {"Item", "i3"}, 0.25),
                     Edge("SIMILAR", {"Item", "i2"}, {"Item", "i4"}, 1.0)));
  for (const auto& outcome : db->ApplyMany(sets)) {
    REQUIRE_MESSAGE(outcome.status.ok(), outcome.status.ToString());
  }
}

constexpr char kQuery[] =
    "RECOMMEND (c:Item) FOR (u:User {id: 'u1'})"
    "  FROM (u)-[:VIEWED]->(c) AS viewed"
    "  FROM (u)-[:VIEWED]->(:Item)-[:SIMILAR]->(c) AS similar"
    "  FROM NEAREST 2 TO $v IN Item.embedding AS taste";

const Json kParams = {{"v", {1.0, 0.0, 0.0, 0.0}}};

struct Fixture {
  Fixture() : db(OpenDbWithSchema(dir.path)) { Populate(db.get()); }
  explicit Fixture(const DatabaseOptions& options) : db(OpenDb(dir.path, options)) {
    REQUIRE(db->MergeSchema(kTestSchema).ok());
    Populate(db.get());
  }
  Result<QueryResult> Query(const QueryOptions& options, const std::string& text = kQuery) {
    return db->Query(text, kParams, options);
  }
  TempDir dir;
  std::unique_ptr<Database> db;
};

// A hook that fails the named source with `status`.
std::function<Status(std::string_view, Deadline)> FailSource(std::string name, Status status) {
  return [name, status](std::string_view source, Deadline) {
    return source == name ? status : Status::OK();
  };
}

// {id: [sources]} and {id: score} of a result.
std::map<std::string, Json> SourcesById(const QueryResult& r) {
  std::map<std::string, Json> out;
  for (const Json& row : r.rows) out[row[0].get<std::string>()] = row[3];
  return out;
}
std::map<std::string, double> ScoreById(const QueryResult& r) {
  std::map<std::string, double> out;
  for (const Json& row : r.rows) out[row[0].get<std::string>()] = row[2].get<double>();
  return out;
}

TEST_CASE("without the new options every source runs and source_stats report each source's time") {
  Fixture f;
  auto r = f.Query(QueryOptions());
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  auto sources = SourcesById(*r);
  CHECK(sources.size() == 5);
  CHECK(sources["i2"] == Json({"viewed", "similar"}));
  CHECK(sources["i4"] == Json({"similar", "taste"}));
  CHECK_FALSE(r->stats.contains("dropped_sources"));
  for (const char* name : {"viewed", "similar", "taste"}) {
    CAPTURE(name);
    REQUIRE(r->stats["source_stats"][name].contains("us"));
    CHECK(r->stats["source_stats"][name]["us"].is_number_integer());
  }
}

TEST_CASE(
    "the source hook is called once per source, in order, with the query deadline as budget") {
  Fixture f;
  QueryOptions options;
  options.deadline = Deadline::AfterMillis(60'000);
  options.parallel_sources = false;  // in parallel the calls come from several threads at once
  std::vector<std::string> calls;
  std::vector<Deadline> budgets;
  options.source_hook = [&](std::string_view source, Deadline budget) {
    calls.emplace_back(source);
    budgets.push_back(budget);
    return Status::OK();
  };
  auto r = f.Query(options);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  CHECK(calls == std::vector<std::string>{"viewed", "similar", "taste"});
  for (const Deadline& d : budgets) CHECK(d.at() == options.deadline.at());
  CHECK(r->rows.size() == 5);
}

TEST_CASE(
    "a source hook error drops that source with drop_failed_sources and fails the query without") {
  Fixture f;
  QueryOptions options;
  options.source_hook = FailSource("similar", Status::Unavailable("circuit open"));

  auto failed = f.Query(options);
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.status().code() == Status::Code::kUnavailable);
  CHECK(failed.status().message() == "circuit open");

  options.drop_failed_sources = true;
  auto r = f.Query(options);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  auto sources = SourcesById(*r);
  // i3 came only from similar; i4 stays through taste.
  CHECK(sources == std::map<std::string, Json>{{"i1", Json({"viewed"})},
                                               {"i2", Json({"viewed"})},
                                               {"i4", Json({"taste"})},
                                               {"i5", Json({"taste"})}});
  const Json& dropped = r->stats["dropped_sources"];
  REQUIRE(dropped.size() == 1);
  CHECK(dropped["similar"]["reason"] == "error");
  CHECK(dropped["similar"]["message"] == "circuit open");
  CHECK(dropped["similar"]["us"].is_number_integer());
  CHECK(r->stats["candidates"]["similar"] == 0);
  CHECK(r->stats["candidates_total"] == 4);
}

TEST_CASE("a source hook returning DeadlineExceeded is reported as a timeout") {
  Fixture f;
  QueryOptions options;
  options.drop_failed_sources = true;
  options.source_hook = FailSource("taste", Status::DeadlineExceeded("injected delay"));
  auto r = f.Query(options);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  CHECK(r->stats["dropped_sources"]["taste"]["reason"] == "timeout");
  CHECK(r->stats["dropped_sources"]["taste"]["message"] == "injected delay");
  auto sources = SourcesById(*r);
  CHECK(sources.count("i5") == 0);
  CHECK(sources["i4"] == Json({"similar"}));
}

TEST_CASE(
    "a candidate found by a dropped and a kept source keeps only the kept source and its score") {
  Fixture f;
  QueryOptions options;
  options.drop_failed_sources = true;
  auto all = f.Query(options);
  REQUIRE_MESSAGE(all.ok(), all.status().ToString());
  // i2: viewed 2 + similar .5 (u1-1->i1-.5->i2).
  CHECK(ScoreById(*all)["i2"] == doctest::Approx(2.5));

  for (const char* drop : {"viewed", "similar"}) {
    CAPTURE(drop);
    options.source_hook = FailSource(drop, Status::Internal("boom"));
    auto r = f.Query(options);
    REQUIRE_MESSAGE(r.ok(), r.status().ToString());
    auto sources = SourcesById(*r);
    auto scores = ScoreById(*r);
    std::string kept = std::string(drop) == "viewed" ? "similar" : "viewed";
    CHECK(sources["i2"] == Json({kept}));
    CHECK(scores["i2"] == doctest::Approx(kept == "viewed" ? 2.0 : 0.5));
    // i4 was found by similar and taste.
    CHECK(sources["i4"] == (kept == "similar" ? Json({"similar", "taste"}) : Json({"taste"})));
  }
}

TEST_CASE(
    "a source that sleeps past its budget in the hook is dropped as a timeout and the query "
    "answers") {
  Fixture f;
  QueryOptions options;
  options.deadline = Deadline::AfterMillis(10'000);
  options.source_budget_ms = 20;
  options.drop_failed_sources = true;
  Deadline similar_budget = Deadline::Never();
  options.source_hook = [&](std::string_view source, Deadline budget) {
    if (source == "similar") {
      similar_budget = budget;
      std::this_thread::sleep_until(budget.at() + std::chrono::milliseconds(2));
    }
    return Status::OK();  // the source finds its budget passed
  };
  auto start = std::chrono::steady_clock::now();
  auto r = f.Query(options);
  auto elapsed = std::chrono::steady_clock::now() - start;
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  CHECK(similar_budget.at() < options.deadline.at());
  CHECK(elapsed < std::chrono::seconds(5));
  const Json& dropped = r->stats["dropped_sources"];
  REQUIRE(dropped.contains("similar"));
  CHECK(dropped.size() == 1);
  CHECK(dropped["similar"]["reason"] == "timeout");
  CHECK(dropped["similar"]["message"] == "source 'similar' exceeded its budget of 20 ms");
  CHECK(dropped["similar"]["us"].get<int64_t>() >= 20'000);
  CHECK(SourcesById(*r).count("i3") == 0);

  // Without dropping, the budget fails the query.
  options.drop_failed_sources = false;
  auto failed = f.Query(options);
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.status().code() == Status::Code::kDeadlineExceeded);
  CHECK(failed.status().message() == "source 'similar' exceeded its budget of 20 ms");
}

TEST_CASE("source_budgets_ms overrides the budget of the named source only") {
  Fixture f;
  QueryOptions options;
  options.deadline = Deadline::AfterMillis(60'000);
  options.source_budget_ms = 30'000;
  options.source_budgets_ms = {{"taste", 500}, {"viewed", 0}, {"not_a_source", 1}};
  std::map<std::string, Deadline> budgets;
  std::mutex mu;  // sources run in parallel: the hook is called from several threads at once
  options.source_hook = [&](std::string_view source, Deadline budget) {
    std::lock_guard<std::mutex> lock(mu);
    budgets.emplace(std::string(source), budget);
    return Status::OK();
  };
  auto before = std::chrono::steady_clock::now();
  auto r = f.Query(options);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  CHECK(budgets.at("viewed").at() == options.deadline.at());  // 0: no budget of its own
  CHECK(budgets.at("similar").at() < before + std::chrono::milliseconds(31'000));
  CHECK(budgets.at("similar").at() >= before + std::chrono::milliseconds(30'000));
  CHECK(budgets.at("taste").at() < before + std::chrono::milliseconds(1'000));

  options.source_budgets_ms = {{"taste", -1}};
  auto invalid = f.Query(options);
  REQUIRE_FALSE(invalid.ok());
  CHECK(invalid.status().code() == Status::Code::kInvalidArgument);
}

TEST_CASE("SCORE aggregates exclude the paths of a dropped graph source") {
  Fixture f;
  // count(*) runs over both graph sources' paths; sum(w.weight) over similar's paths only.
  const std::string text =
      "RECOMMEND (c:Item) FOR (u:User {id: 'u1'})"
      "  FROM (u)-[:VIEWED]->(c) AS viewed"
      "  FROM (u)-[w:VIEWED]->(:Item)-[:SIMILAR]->(c) AS similar"
      "  SCORE 100 * count(*) + sum(w.weight)";
  QueryOptions options;
  options.drop_failed_sources = true;
  options.explain = true;
  auto all = f.Query(options, text);
  REQUIRE_MESSAGE(all.ok(), all.status().ToString());
  // i2: viewed path + similar path via i1 (w = 1).
  CHECK(ScoreById(*all)["i2"] == doctest::Approx(201));
  CHECK(ScoreById(*all)["i3"] == doctest::Approx(203));  // via i1 (1) and via i2 (2)

  options.source_hook = FailSource("similar", Status::Internal("boom"));
  auto r = f.Query(options, text);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  CHECK(ScoreById(*r) == std::map<std::string, double>{{"i1", 100}, {"i2", 100}});
  // No path or source of the dropped source is left (the term over its paths keeps its name).
  CHECK(r->explanations.dump().find("\"source\":\"similar\"") == std::string::npos);
  CHECK(r->explanations.dump().find("\"name\":\"similar\",\"paths\"") == std::string::npos);

  options.source_hook = FailSource("viewed", Status::Internal("boom"));
  r = f.Query(options, text);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  CHECK(ScoreById(*r) == std::map<std::string, double>{{"i2", 101}, {"i3", 203}, {"i4", 102}});
  CHECK(r->explanations.dump().find("viewed") == std::string::npos);
}

// u1 VIEWED h0..h49 (weight 1 + i); h0..h99 are a SIMILAR clique, so a 3-hop source from u1 has
// 50 * 99 * 99 paths: far more than it can walk in a few milliseconds.
void PopulateClique(Database* db) {
  std::vector<WriteSet> sets;
  sets.push_back(Set(Node("User", "u1")));
  for (int i = 0; i < 100; ++i) sets.push_back(Set(Node("Item", "h" + std::to_string(i))));
  WriteSet viewed;
  for (int i = 0; i < 50; ++i) {
    viewed.ops.push_back(
        Edge("VIEWED", {"User", "u1"}, {"Item", "h" + std::to_string(i)}, 1.0 + i));
  }
  sets.push_back(std::move(viewed));
  for (int i = 0; i < 100; ++i) {
    WriteSet set;
    for (int j = 0; j < 100; ++j) {
      if (i == j) continue;
      set.ops.push_back(Edge("SIMILAR", {"Item", "h" + std::to_string(i)},
                             {"Item", "h" + std::to_string(j)}, 0.5 + 0.001 * j));
    }
    sets.push_back(std::move(set));
  }
  for (const auto& outcome : db->ApplyMany(sets)) {
    REQUIRE_MESSAGE(outcome.status.ok(), outcome.status.ToString());
  }
}

TEST_CASE(
    "a graph source stopped by its budget mid-walk is removed entirely: candidates, scores, "
    "paths") {
  TempDir dir;
  auto db = OpenDbWithSchema(dir.path);
  PopulateClique(db.get());
  const std::string viewed_only =
      "RECOMMEND (c:Item) FOR (u:User {id: 'u1'})"
      "  FROM (u)-[v:VIEWED]->(c) AS viewed";
  const std::string rest = "  SCORE count(*) + sum(v.weight) LIMIT 200";
  const std::string both =
      viewed_only + "  FROM (u)-[:VIEWED]->(:Item)-[:SIMILAR]->(:Item)-[:SIMILAR]->(c) AS walk" +
      rest;
  QueryOptions options;
  options.deadline = Deadline::AfterMillis(60'000);
  options.explain = true;
  auto expected = db->Query(viewed_only + rest, Json::object(), options);
  REQUIRE_MESSAGE(expected.ok(), expected.status().ToString());
  REQUIRE(expected->rows.size() == 50);

  options.source_budgets_ms = {{"walk", 5}};
  options.drop_failed_sources = true;
  auto r = db->Query(both, Json::object(), options);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  const Json& dropped = r->stats["dropped_sources"];
  REQUIRE(dropped.contains("walk"));
  CHECK(dropped["walk"]["reason"] == "timeout");
  CHECK(dropped["walk"]["message"] == "source 'walk' exceeded its budget of 5 ms");
  // It stops at its next clock read (generous bound for a loaded machine).
  CHECK(dropped["walk"]["us"].get<int64_t>() < 200'000);
  CHECK(r->rows == expected->rows);
  CHECK(r->explanations.dump().find("SIMILAR") == std::string::npos);
  CHECK(r->explanations == expected->explanations);
  CHECK(r->stats["candidates_total"] == 50);

  // Without dropping, the same budget fails the query.
  options.drop_failed_sources = false;
  auto failed = db->Query(both, Json::object(), options);
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.status().code() == Status::Code::kDeadlineExceeded);
  CHECK(failed.status().message() == "source 'walk' exceeded its budget of 5 ms");
}

TEST_CASE("an InvalidArgument from a source still fails the query with drop_failed_sources") {
  Fixture f;
  QueryOptions options;
  options.drop_failed_sources = true;
  options.source_hook = FailSource("viewed", Status::InvalidArgument("bad input"));
  auto hooked = f.Query(options);
  REQUIRE_FALSE(hooked.ok());
  CHECK(hooked.status().code() == Status::Code::kInvalidArgument);

  options.source_hook = nullptr;
  auto bad_k = f.db->Query(
      "RECOMMEND (c:Item) FOR (u:User {id: 'u1'})"
      "  FROM (u)-[:VIEWED]->(c) AS viewed"
      "  FROM NEAREST $k TO $v IN Item.embedding AS taste",
      {{"k", 0}, {"v", {1.0, 0.0, 0.0, 0.0}}}, options);
  REQUIRE_FALSE(bad_k.ok());
  CHECK(bad_k.status().code() == Status::Code::kInvalidArgument);
}

TEST_CASE(
    "the query's own deadline passing in a source fails the query even with drop_failed_sources") {
  Fixture f;
  QueryOptions options;
  options.deadline = Deadline::AfterMillis(30);
  options.drop_failed_sources = true;
  options.source_hook = [](std::string_view source, Deadline budget) {
    if (source == "similar") {
      std::this_thread::sleep_until(budget.at() + std::chrono::milliseconds(2));
      return Status::DeadlineExceeded("slept past the deadline");
    }
    return Status::OK();
  };
  auto r = f.Query(options);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Status::Code::kDeadlineExceeded);
}

}  // namespace
}  // namespace pathwise

namespace pathwise {
namespace {

using namespace pathwise::testing;
using Json = nlohmann::json;

// 10^8 steps take seconds; a budget of a few milliseconds stops the walk long before.
constexpr char kLongWalk[] =
    "RECOMMEND (c:Item) FOR (u:User {id: 'u1'})"
    "  FROM WALK OVER -[:VIEWED]->, <-[:VIEWED]- {steps: 100000000, seed: 5} AS walk"
    "  FROM NEAREST 2 TO $v IN Item.embedding AS taste";

TEST_CASE("a WALK source past its budget keeps its partial walk and the query succeeds") {
  Fixture f;
  for (bool drop : {false, true}) {
    CAPTURE(drop);
    QueryOptions options;
    options.source_budgets_ms = {{"walk", 5}};
    options.drop_failed_sources = drop;
    auto r = f.Query(options, kLongWalk);
    REQUIRE_MESSAGE(r.ok(), r.status().ToString());
    const Json& walk = r->stats["source_stats"]["walk"];
    CHECK(walk["deadline_hit"] == true);
    CHECK(walk["truncated"] == true);
    CHECK(walk["steps"].get<size_t>() > 0);
    CHECK(walk["steps"].get<size_t>() < 100000000);
    CHECK(walk["candidates"] == 2);  // u1 viewed i1 and i2: both reached within the budget
    CHECK(r->stats["truncated"] == true);
    CHECK_FALSE(r->stats.contains("dropped_sources"));
    auto sources = SourcesById(*r);
    CHECK(sources["i1"] == Json({"walk"}));
    CHECK(sources["i5"] == Json({"taste"}));
  }
}

TEST_CASE("a dropped WALK source leaves no candidates, scores or walk paths behind") {
  Fixture f;
  QueryOptions options;
  options.drop_failed_sources = true;
  options.source_hook = FailSource("walk", Status::Unavailable("walks off"));
  std::string text = std::string(kLongWalk) + " EXPLAIN";
  auto r = f.Query(options, text);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  CHECK(r->stats["dropped_sources"]["walk"]["reason"] == "error");
  auto sources = SourcesById(*r);
  CHECK(sources == std::map<std::string, Json>{{"i4", Json({"taste"})}, {"i5", Json({"taste"})}});
  for (const Json& e : r->explanations) {
    for (const Json& s : e["sources"]) CHECK(s["name"] == "taste");
  }
}

// ---- Sources in parallel (QueryOptions::parallel_sources, EngineOptions::source_threads) -------

// Graph sources (one with its own SCORE aggregate), NEAREST and WALK, explained.
constexpr char kMixed[] =
    "RECOMMEND (c:Item) FOR (u:User {id: 'u1'})"
    "  FROM (u)-[:VIEWED]->(c) AS viewed"
    "  FROM (u)-[w:VIEWED]->(:Item)-[:SIMILAR]->(c) AS similar"
    "  FROM NEAREST 2 TO $v IN Item.embedding AS taste"
    "  FROM WALK OVER -[:VIEWED]->, <-[:VIEWED]- {steps: 2000, seed: 5} AS walk"
    "  SCORE sum(w.weight) + source_score('taste') + source_score('walk') EXPLAIN";

// The parts of a result that must not depend on how the sources ran: everything but timings.
Json Comparable(const QueryResult& r) {
  Json stats = r.stats;
  for (const char* key : {"parse_us", "bind_us", "plan_us", "exec_us", "plan_cached",
                          "parallel_sources", "sources_us", "filter_us", "score_us",
                          "diversify_us", "explain_us"}) {
    stats.erase(key);
  }
  for (const char* group : {"source_stats", "dropped_sources"}) {
    if (!stats.contains(group)) continue;
    for (auto& [name, s] : stats[group].items()) s.erase("us");
  }
  return {{"rows", r.rows}, {"explanations", r.explanations}, {"stats", stats}};
}

// Runs text with sources in parallel and sequentially; both must give the same comparable parts.
// Returns the parallel run. The query's own thread runs the last source (kMixed: walk; kQuery:
// taste) and takes back any other a pool thread has not started when it is done; holding those
// for 50 ms in the hook lets the pool threads start theirs.
QueryResult SameBothWays(Fixture& f, QueryOptions options, const std::string& text) {
  options.parallel_sources = false;
  auto sequential = f.Query(options, text);
  REQUIRE_MESSAGE(sequential.ok(), sequential.status().ToString());
  CHECK(sequential->stats["parallel_sources"] == false);
  options.parallel_sources = true;
  options.source_hook = [hook = options.source_hook](std::string_view source, Deadline budget) {
    if (source == "walk" || source == "taste") {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return hook ? hook(source, budget) : Status::OK();
  };
  auto parallel = f.Query(options, text);
  REQUIRE_MESSAGE(parallel.ok(), parallel.status().ToString());
  CHECK(parallel->stats["parallel_sources"] == true);
  CHECK(Comparable(*parallel) == Comparable(*sequential));
  return std::move(parallel).value();
}

TEST_CASE("sources in parallel give exactly the sequential run's rows, explanations and stats") {
  Fixture f;
  QueryResult r = SameBothWays(f, QueryOptions(), kMixed);
  CHECK(SourcesById(r).size() == 5);
  CHECK(r.explanations.size() == r.rows.size());
  SameBothWays(f, QueryOptions(), kQuery);
}

TEST_CASE("a failing source in parallel is dropped and the others' candidates are kept as "
          "sequentially") {
  Fixture f;
  QueryOptions options;
  options.drop_failed_sources = true;
  for (const char* failing : {"viewed", "similar", "taste", "walk"}) {
    CAPTURE(failing);
    options.source_hook = FailSource(failing, Status::Unavailable("circuit open"));
    QueryResult r = SameBothWays(f, options, kMixed);
    CHECK(r.stats["dropped_sources"][failing]["reason"] == "error");
    for (const auto& [id, sources] : SourcesById(r)) {
      CHECK(std::find(sources.begin(), sources.end(), failing) == sources.end());
    }
  }
  // Without dropping, the first failing source in source order fails the query.
  options.drop_failed_sources = false;
  options.source_hook = [](std::string_view source, Deadline) {
    return source == "viewed" ? Status::OK() : Status::Internal(std::string(source) + " failed");
  };
  auto failed = f.Query(options, kMixed);
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.status().message() == "similar failed");
}

TEST_CASE("a source past its budget in parallel is dropped as a timeout as sequentially") {
  Fixture f;
  QueryOptions options;
  options.drop_failed_sources = true;
  options.source_budgets_ms = {{"similar", 20}};
  options.source_hook = [](std::string_view source, Deadline budget) {
    if (source == "similar") std::this_thread::sleep_until(budget.at() + std::chrono::milliseconds(2));
    return Status::OK();  // the source finds its budget passed
  };
  QueryResult r = SameBothWays(f, options, kMixed);
  CHECK(r.stats["dropped_sources"]["similar"]["reason"] == "timeout");
  CHECK(r.stats["dropped_sources"]["similar"]["message"] ==
        "source 'similar' exceeded its budget of 20 ms");
  CHECK(SourcesById(r).count("i3") == 0);  // only similar found i3
  CHECK(SourcesById(r).count("i5") == 1);  // taste's
}

TEST_CASE("sources run one after another with parallel_sources off, with no source thread, or "
          "when graph sources share an aggregate") {
  Fixture f;
  QueryOptions options;
  options.parallel_sources = false;
  CHECK(f.Query(options)->stats["parallel_sources"] == false);
  // count(*) runs over the paths of both graph sources.
  const std::string shared = std::string(kQuery) + " SCORE count(*)";
  CHECK(f.Query(QueryOptions(), shared)->stats["parallel_sources"] == false);
  // One source: nothing to run beside it.
  const std::string one = "RECOMMEND (c:Item) FOR (u:User {id: 'u1'}) FROM (u)-[:VIEWED]->(c)";
  CHECK(f.Query(QueryOptions(), one)->stats["parallel_sources"] == false);

  DatabaseOptions db_options;
  db_options.query_engine.source_threads = 0;
  Fixture no_threads(db_options);
  auto r = no_threads.Query(QueryOptions());
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  CHECK(r->stats["parallel_sources"] == false);
  CHECK(SourcesById(*r) == SourcesById(*f.Query(QueryOptions())));
}

TEST_CASE("a query runs its sources one after another while more queries run concurrently "
          "than parallel_sources_max_queries") {
  DatabaseOptions options;
  options.query_engine.parallel_sources_max_queries = 1;
  Fixture f(options);
  // The first query waits inside its last source (run on its own thread) until the second is
  // done and a pool thread has started one of its other sources.
  std::promise<void> second_done;
  std::shared_future<void> released = second_done.get_future().share();
  std::promise<void> first_waiting;
  std::atomic<bool> pool_started{false};
  QueryOptions first_options;
  first_options.source_hook = [&, released](std::string_view source, Deadline) {
    if (source != "taste") {
      pool_started = true;
      return Status::OK();
    }
    first_waiting.set_value();
    released.wait();
    for (int ms = 0; ms < 10000 && !pool_started; ++ms) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return Status::OK();
  };
  Result<QueryResult> first = Status::Internal("not run");
  std::thread runner([&] { first = f.Query(first_options); });
  first_waiting.get_future().wait();
  auto second = f.Query(QueryOptions());  // two queries executing: over the limit of 1
  second_done.set_value();
  runner.join();
  REQUIRE_MESSAGE(second.ok(), second.status().ToString());
  REQUIRE_MESSAGE(first.ok(), first.status().ToString());
  CHECK(second->stats["parallel_sources"] == false);
  CHECK(first->stats["parallel_sources"] == true);
  CHECK(Comparable(*second) == Comparable(*first));
}

TEST_CASE("concurrent multi-source queries from 8 threads on one Database give the sequential "
          "results") {
  // Every query may offer its sources however many run at once, so the pool is shared.
  DatabaseOptions options;
  options.query_engine.parallel_sources_max_queries = 64;
  Fixture f(options);
  struct Variant {
    std::string text;
    QueryOptions options;
  };
  std::vector<Variant> variants(4);
  variants[0].text = kMixed;
  variants[1].text = kQuery;
  variants[2].text = kMixed;
  variants[2].options.drop_failed_sources = true;
  variants[2].options.source_hook = FailSource("similar", Status::Unavailable("circuit open"));
  variants[3].text = std::string(kQuery) + " EXPLAIN";
  variants[3].options.drop_failed_sources = true;
  variants[3].options.source_hook = FailSource("taste", Status::DeadlineExceeded("injected"));
  std::vector<Json> expected;
  for (Variant& v : variants) {
    v.options.parallel_sources = false;
    auto r = f.Query(v.options, v.text);
    REQUIRE_MESSAGE(r.ok(), r.status().ToString());
    expected.push_back(Comparable(*r));
    v.options.parallel_sources = true;
  }
  constexpr int kThreads = 8, kQueriesPerThread = 40;
  std::atomic<int> mismatches{0}, failures{0}, parallel{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int q = 0; q < kQueriesPerThread; ++q) {
        const size_t i = static_cast<size_t>(t + q) % variants.size();
        auto r = f.Query(variants[i].options, variants[i].text);
        if (!r.ok()) {
          ++failures;
          continue;
        }
        if (r->stats["parallel_sources"] == true) ++parallel;
        if (Comparable(*r) != expected[i]) ++mismatches;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  CHECK(failures == 0);
  CHECK(mismatches == 0);
  MESSAGE(parallel.load() << " of " << kThreads * kQueriesPerThread << " queries ran their sources in parallel");
}

}  // namespace
}  // namespace pathwise
