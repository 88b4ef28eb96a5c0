// RECOMMEND's default fan-out cap per hop (DatabaseOptions::default_max_per_node, the server's
// --default-max-per-node): every hop it cut is named in stats.capped_hops, and MAX ALL lifts it
// for one query.
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/query/database_test_util.h"

namespace pathwise::testing {
namespace {

using json = nlohmann::json;

// From n0 over two SIMILAR hops in a graph where every node has 30 out-edges.
constexpr const char* kTwoHops =
    "RECOMMEND (c:Item) FOR (s:Item {id: 'n0'}) FROM (s)-[:SIMILAR]->(:Item)-[:SIMILAR]->(c)";

// 200 Items, each SIMILAR to the next 30, under a database default cap of `cap` edges per hop.
std::unique_ptr<Database> CappedDb(const std::string& dir, size_t cap) {
  DatabaseOptions options;
  options.default_max_per_node = cap;
  return DenseDb(dir, 200, 30, options);
}

TEST_CASE("the database's default cap cuts every hop and stats name each hop it cut") {
  TempDir dir;
  auto db = CappedDb(dir.path, 5);
  auto result = db->Query(kTwoHops, json::object());
  REQUIRE_MESSAGE(result.ok(), result.status().ToString());
  const json& stats = result->stats;
  CHECK(stats["truncated"] == true);
  CHECK(stats["source_stats"]["graph1"]["paths"] == 25);  // 5 x 5
  const json expected = json::parse(R"([
    {"source": "graph1", "hop": 1, "relationship": "-[:SIMILAR]->", "cap": 5, "cap_from": "default"},
    {"source": "graph1", "hop": 2, "relationship": "-[:SIMILAR]->", "cap": 5, "cap_from": "default"}])");
  CHECK(stats["capped_hops"] == expected);
}

TEST_CASE("MAX ALL lifts the default cap for one source or one relationship") {
  TempDir dir;
  auto db = CappedDb(dir.path, 5);
  auto all = db->Query(std::string(kTwoHops) + " MAX ALL PER NODE", json::object());
  REQUIRE_MESSAGE(all.ok(), all.status().ToString());
  CHECK(all->stats["source_stats"]["graph1"]["paths"] == 900);  // 30 x 30
  CHECK(all->stats["truncated"] == false);
  CHECK(all->stats["capped_hops"] == json::array());
  auto first = db->Query(
      "RECOMMEND (c:Item) FOR (s:Item {id: 'n0'}) "
      "FROM (s)-[:SIMILAR MAX ALL]->(:Item)-[:SIMILAR]->(c)",
      json::object());
  REQUIRE_MESSAGE(first.ok(), first.status().ToString());
  CHECK(first->stats["source_stats"]["graph1"]["paths"] == 150);  // 30 x 5
  REQUIRE(first->stats["capped_hops"].size() == 1);
  CHECK(first->stats["capped_hops"][0]["hop"] == 2);
}

TEST_CASE("a default cap of 0 follows every edge") {
  TempDir dir;
  auto db = CappedDb(dir.path, 0);
  auto result = db->Query(kTwoHops, json::object());
  REQUIRE_MESSAGE(result.ok(), result.status().ToString());
  CHECK(result->stats["source_stats"]["graph1"]["paths"] == 900);
  CHECK(result->stats["capped_hops"] == json::array());
}

}  // namespace
}  // namespace pathwise::testing
