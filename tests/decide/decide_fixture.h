// A small catalog for decision tests: 30 items with prices and a category, users with and without
// history, SIMILAR edges, a "hot" tag, recipes and a surface definition to vary.
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "decide/decide.h"
#include "tests/query/database_test_util.h"

namespace pathwise::testing {

inline constexpr char kDecideSchema[] = R"({
  "node_types": [{"name": "User", "properties": {"age": "int"}},
                 {"name": "Item", "properties": {"price": "double", "title": "string",
                                                 "category": "string", "adult": "bool"}},
                 {"name": "Tag"}],
  "edge_types": [{"name": "VIEWED", "mode": "accumulate", "from": "User", "to": "Item"},
                 {"name": "SIMILAR", "from": "Item", "to": "Item"},
                 {"name": "TAGGED", "from": "Tag", "to": "Item"}]})";

// Two sources: items similar to what the user viewed (viewed_similar) and items tagged hot
// (tagged_hot).
inline constexpr char kSimilarRecipe[] = R"(RECOMMEND (c:Item) FOR (u:User {id: $user})
  FROM (u)-[:VIEWED]->(m:Item)-[s:SIMILAR]->(c) AS viewed_similar
  FROM (t:Tag {id: "hot"})-[:TAGGED]->(c) AS tagged_hot
  WHERE NOT (u)-[:VIEWED]->(c)
  SCORE 2 * source('viewed_similar') + c.price / 100
  LIMIT $limit)";
inline constexpr char kHotRecipe[] = R"(RECOMMEND (c:Item) FOR (u:User {id: $user})
  FROM (t:Tag {id: "hot"})-[:TAGGED]->(c) AS hot
  SCORE c.price
  LIMIT $limit)";

struct DecideFixture {
  DecideFixture() {
    auto opened = Database::Open({}, dir.path);
    REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
    db = std::move(opened).value();
    REQUIRE(db->MergeSchema(kDecideSchema).ok());
    WriteSet set;
    for (int i = 1; i <= 30; ++i) {
      std::string id = "i" + std::to_string(i);
      set.ops.push_back(Node("Item", id,
                             {{"price", static_cast<double>(i)},
                              {"title", "Item " + std::to_string(i)},
                              {"category", std::string(i % 3 == 0 ? "c0" : i % 3 == 1 ? "c1" : "c2")},
                              {"adult", i % 5 == 0}}));
    }
    set.ops.push_back(Node("User", "u1", {{"age", int64_t{30}}}));
    set.ops.push_back(Node("User", "kid", {{"age", int64_t{10}}}));
    set.ops.push_back(Node("User", "new"));
    set.ops.push_back(Node("Tag", "hot"));
    for (int i = 1; i <= 2; ++i) {
      set.ops.push_back(Edge("VIEWED", {"User", "u1"}, {"Item", "i" + std::to_string(i)}));
      set.ops.push_back(Edge("VIEWED", {"User", "kid"}, {"Item", "i" + std::to_string(i)}));
    }
    for (int i = 3; i <= 14; ++i) {
      set.ops.push_back(Edge("SIMILAR", {"Item", i <= 8 ? "i1" : "i2"}, {"Item", "i" + std::to_string(i)}));
    }
    for (int i = 20; i <= 25; ++i) {
      set.ops.push_back(Edge("TAGGED", {"Tag", "hot"}, {"Item", "i" + std::to_string(i)}));
    }
    REQUIRE(db->Apply(set).ok());
    PutRecipe("similar", kSimilarRecipe);
    PutRecipe("hot", kHotRecipe);
  }

  void PutRecipe(const std::string& name, const std::string& query) {
    nlohmann::json recipe = {{"name", name}, {"query", query}, {"max_limit", 100},
                             {"params", {{"limit", 10}}}};
    WriteSet set;
    set.ops.push_back(MetaWrite{"recipe/" + name, recipe.dump()});
    REQUIRE(db->Apply(set).ok());
  }

  // The base surface: similar, then hot; popular = most expensive items.
  static nlohmann::json Surface(nlohmann::json overrides = nlohmann::json::object()) {
    nlohmann::json s = {
        {"recipe", "similar"},
        {"fallbacks", {"hot"}},
        {"k", 5},
        {"deadline_ms", 200},
        {"item_type", "Item"},
        {"label", "title"},
        {"popular", {{"query", "MATCH (i:Item) RETURN i.id ORDER BY i.price DESC LIMIT 50"}}}};
    for (const auto& [k, v] : overrides.items()) s[k] = v;
    return s;
  }

  // One rule of each kind: adult items filtered, i3 boosted 10x, at most 2 per category, i29
  // pinned at slot 1.
  static nlohmann::json RulesOfEachKind() {
    return nlohmann::json::array({
        {{"type", "filter"}, {"where", "NOT i.adult"}},
        {{"type", "boost"}, {"where", "i.id = 'i3'"}, {"factor", 10}},
        {{"type", "quota"}, {"by", "i.category"}, {"max", 2}},
        {{"type", "pin"}, {"id", "i29"}, {"slot", 1}},
    });
  }

  void Define(const std::string& name, const nlohmann::json& definition) {
    auto stored = decide::PutSurface(db.get(), name, definition);
    REQUIRE_MESSAGE(stored.ok(), stored.status().ToString());
    if (decider) decider->Invalidate(name);
  }

  // wait_for_impressions: a decision waits for its impression record however long it takes
  // (tests read the record right after), instead of answering impression_log_late at its
  // deadline.
  decide::Decider& MakeDecider(decide::DeciderOptions options = {},
                               bool wait_for_impressions = true) {
    options.enable_fault_injection = true;
    if (wait_for_impressions) options.impression_wait_past_deadline_ms = 600'000;
    decider = std::make_unique<decide::Decider>(db.get(), options);
    return *decider;
  }

  nlohmann::json Decide(const std::string& surface, nlohmann::json request) {
    if (!decider) MakeDecider();
    auto d = decider->Decide(surface, request);
    REQUIRE_MESSAGE(d.ok(), d.status().ToString());
    return *d;
  }

  static std::vector<std::string> Ids(const nlohmann::json& decision) {
    std::vector<std::string> ids;
    for (const auto& item : decision["items"]) ids.push_back(item["id"].get<std::string>());
    return ids;
  }

  static bool HasReason(const nlohmann::json& decision, const std::string& code) {
    for (const auto& r : decision["reasons"]) {
      if (r == code) return true;
    }
    return false;
  }

  TempDir dir;
  std::unique_ptr<Database> db;
  std::unique_ptr<decide::Decider> decider;  // declared after db: destroyed first
};

}  // namespace pathwise::testing
