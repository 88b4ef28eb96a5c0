// Decisions on the embedded database: the chain, reason codes, rules, breakers, overload and
// the popular list (docs/decisions.md).
#include <algorithm>
#include <chrono>
#include <set>
#include <thread>

#include "tests/decide/decide_fixture.h"

namespace pathwise::testing {
namespace {

using json = nlohmann::json;

TEST_CASE("a user with history is served by the primary recipe, with labels and a confidence") {
  DecideFixture f;
  f.Define("row", DecideFixture::Surface());
  json d = f.Decide("row", {{"user", "u1"}});
  CHECK(d["served_by"] == "primary");
  CHECK(d["degraded"] == false);
  CHECK(d["items"].size() == 5);
  CHECK(d["items"][0]["source"] == "primary");
  CHECK(d["items"][0]["slot"] == 0);
  CHECK(d["items"][0]["label"].get<std::string>().rfind("Item ", 0) == 0);
  double confidence = d["confidence"].get<double>();
  CHECK(confidence > 0);
  CHECK(confidence <= 1);
  CHECK(d["recommendation_id"].get<std::string>().size() == 32);
  // Similar items (score 2 + price/100) rank above the hot ones, the most expensive first.
  CHECK(d["items"][0]["id"] == "i14");
}

TEST_CASE("a user without history gets no_history and is still served") {
  DecideFixture f;
  f.Define("row", DecideFixture::Surface());
  json d = f.Decide("row", {{"user", "nobody"}});
  CHECK(DecideFixture::HasReason(d, "no_history"));
  CHECK(d["items"].size() == 5);
  // Both recipes start from the user's node: for an unknown user only the popular list serves.
  CHECK(d["served_by"] == "popular");
  CHECK(d["degraded"] == true);
  // A user who exists without history gets the primary recipe's other source (hot items).
  json known = f.Decide("row", {{"user", "new"}});
  CHECK(DecideFixture::HasReason(known, "no_history"));
  CHECK(known["served_by"] == "primary");
}

TEST_CASE("a recipe delayed past the deadline is abandoned and the next list serves") {
  DecideFixture f;
  f.Define("row", DecideFixture::Surface({{"deadline_ms", 100}, {"budgets_ms", {{"similar", 40}}}}));
  auto& decider = f.MakeDecider();
  REQUIRE(decider.SetFault({{"target", "recipe:similar"}, {"delay_ms", 1000}}).ok());
  json d = f.Decide("row", {{"user", "u1"}});
  CHECK(DecideFixture::HasReason(d, "source_timeout:similar"));
  CHECK(d["served_by"] == "fallback:hot");
  CHECK(d["items"].size() == 5);
  // It did not wait for the 1 s delay (a behaviour, not a timing: the margin is 10x).
  CHECK(d["timings"]["total_us"].get<int64_t>() < 900'000);
}

TEST_CASE("a stalled primary without a budget leaves its fallback time to run") {
  DecideFixture f;
  f.Define("row", DecideFixture::Surface({{"deadline_ms", 100}}));
  auto& decider = f.MakeDecider();
  REQUIRE(decider.SetFault({{"target", "recipe:similar"}, {"delay_ms", 2000}}).ok());
  json d = f.Decide("row", {{"user", "u1"}});
  CHECK(DecideFixture::HasReason(d, "source_timeout:similar"));
  CHECK(d["served_by"] == "fallback:hot");
}

TEST_CASE("popular lists are computed when the decider starts, before any decision needs them") {
  DecideFixture f;
  f.Define("row", DecideFixture::Surface({{"recipe", "no_such_recipe"}, {"fallbacks", json::array()}}));
  auto& decider = f.MakeDecider();
  for (int i = 0; i < 500 && decider.Metrics()["popular_cache"]["computations"] == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(decider.Metrics()["popular_cache"]["computations"] == 1);
  json d = f.Decide("row", {{"user", "u1"}});
  CHECK(d["served_by"] == "popular");
  CHECK(decider.Metrics()["popular_cache"]["misses"] == 0);
}

TEST_CASE("a failing recipe is a source_error and the popular list serves when all fail") {
  DecideFixture f;
  f.Define("row", DecideFixture::Surface({{"last_served", false}}));
  auto& decider = f.MakeDecider();
  REQUIRE(decider.SetFault({{"target", "recipe:similar"}, {"fail_rate", 1.0}}).ok());
  REQUIRE(decider.SetFault({{"target", "recipe:hot"}, {"fail_rate", 1.0}}).ok());
  json d = f.Decide("row", {{"user", "u1"}});
  CHECK(DecideFixture::HasReason(d, "source_error:similar"));
  CHECK(DecideFixture::HasReason(d, "source_error:hot"));
  CHECK(d["served_by"] == "popular");
  CHECK(DecideFixture::Ids(d) == std::vector<std::string>{"i30", "i29", "i28", "i27", "i26"});
  CHECK(d["confidence"].get<double>() == doctest::Approx(0.1));
}

TEST_CASE("a missing recipe in the chain is a source_error, not an error") {
  DecideFixture f;
  f.Define("row", DecideFixture::Surface({{"recipe", "no_such_recipe"}}));
  json d = f.Decide("row", {{"user", "u1"}});
  CHECK(DecideFixture::HasReason(d, "source_error:no_such_recipe"));
  CHECK(d["served_by"] == "fallback:hot");
}

TEST_CASE("the list last served is served when every recipe fails") {
  DecideFixture f;
  f.Define("row", DecideFixture::Surface());
  json first = f.Decide("row", {{"user", "u1"}});
  REQUIRE(first["served_by"] == "primary");
  REQUIRE(f.decider->SetFault({{"target", "recipe:similar"}, {"fail_rate", 1.0}}).ok());
  REQUIRE(f.decider->SetFault({{"target", "recipe:hot"}, {"fail_rate", 1.0}}).ok());
  json again = f.Decide("row", {{"user", "u1"}});
  CHECK(again["served_by"] == "last_served");
  CHECK(DecideFixture::Ids(again) == DecideFixture::Ids(first));
}

TEST_CASE("a breaker opens after repeated failures, skips the recipe, and closes after a probe") {
  DecideFixture f;
  f.Define("row", DecideFixture::Surface(
                      {{"breaker", {{"failures", 3}, {"window_ms", 60000}, {"cooldown_ms", 200}}}}));
  auto& decider = f.MakeDecider();
  REQUIRE(decider.SetFault({{"target", "recipe:similar"}, {"fail_rate", 1.0}}).ok());
  for (int i = 0; i < 3; ++i) {
    json d = f.Decide("row", {{"user", "u1"}});
    CHECK(DecideFixture::HasReason(d, "source_error:similar"));
  }
  json skipped = f.Decide("row", {{"user", "u1"}});
  CHECK(DecideFixture::HasReason(skipped, "breaker_open:similar"));
  CHECK(skipped["served_by"] == "fallback:hot");
  json breakers = decider.Breakers();
  REQUIRE(breakers.size() == 1);
  CHECK(breakers[0]["recipe"] == "similar");
  CHECK(breakers[0]["state"] == "open");

  REQUIRE(decider.ClearFaults().ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(250));  // the cool-down passes
  json probe = f.Decide("row", {{"user", "u1"}});
  CHECK(probe["served_by"] == "primary");
  CHECK(decider.Breakers()[0]["state"] == "closed");
}

TEST_CASE("a failing source is dropped and its recipe answers from the other source") {
  DecideFixture f;
  // Uncached: the second decision must run the sources, not reuse the first one's candidates.
  f.Define("row", DecideFixture::Surface({{"candidate_ttl_seconds", 0}}));
  json full = f.Decide("row", {{"user", "u1"}});
  REQUIRE(f.decider->SetFault({{"target", "source:viewed_similar"}, {"fail_rate", 1.0}}).ok());
  json d = f.Decide("row", {{"user", "u1"}});
  CHECK(DecideFixture::HasReason(d, "source_error:viewed_similar"));
  CHECK(d["served_by"] == "primary");
  CHECK(d["degraded"] == true);
  // Only the hot items are left, the most expensive first.
  CHECK(DecideFixture::Ids(d) == std::vector<std::string>{"i25", "i24", "i23", "i22", "i21"});
  CHECK(d["confidence"].get<double>() < full["confidence"].get<double>());
}

TEST_CASE("a source delayed past its budget is dropped as a timeout inside the deadline") {
  DecideFixture f;
  f.Define("row", DecideFixture::Surface({{"budgets_ms", {{"similar/viewed_similar", 20}}}}));
  auto& decider = f.MakeDecider();
  REQUIRE(decider.SetFault({{"target", "source:viewed_similar"}, {"delay_ms", 5000}}).ok());
  json d = f.Decide("row", {{"user", "u1"}});
  CHECK(DecideFixture::HasReason(d, "source_timeout:viewed_similar"));
  CHECK(d["served_by"] == "primary");
  CHECK(d["items"].size() == 5);
}

TEST_CASE("a source's breaker opens after repeated failures and the source is skipped") {
  DecideFixture f;
  f.Define("row", DecideFixture::Surface(
                      {{"breaker", {{"failures", 2}, {"window_ms", 60000}, {"cooldown_ms", 60000}}}}));
  auto& decider = f.MakeDecider();
  REQUIRE(decider.SetFault({{"target", "source:viewed_similar"}, {"fail_rate", 1.0}}).ok());
  for (int i = 0; i < 2; ++i) {
    CHECK(DecideFixture::HasReason(f.Decide("row", {{"user", "u1"}}), "source_error:viewed_similar"));
  }
  REQUIRE(decider.ClearFaults().ok());
  json d = f.Decide("row", {{"user", "u1"}});
  CHECK(DecideFixture::HasReason(d, "breaker_open:viewed_similar"));
  CHECK(d["served_by"] == "primary");
  bool open = false;
  for (const auto& b : decider.Breakers()) {
    open |= b["source"] == "viewed_similar" && b["state"] == "open";
  }
  CHECK(open);
}

TEST_CASE("rules apply after scoring: filter, boost, quota and pin, with backfill to k") {
  DecideFixture f;
  f.Define("row", DecideFixture::Surface({{"rules", DecideFixture::RulesOfEachKind()}}));
  json d = f.Decide("row", {{"user", "u1"}});
  std::vector<std::string> ids = DecideFixture::Ids(d);
  REQUIRE(ids.size() == 5);
  CHECK(ids[0] == "i3");   // boosted from the bottom of the similar items to the top
  CHECK(ids[1] == "i29");  // pinned, although no recipe found it
  std::map<std::string, int> per_category;
  for (const auto& item : d["items"]) {
    CHECK(item["id"] != "i5");   // adult items are filtered
    CHECK(item["id"] != "i10");
    std::string id = item["id"];
    if (id != "i29") per_category["c" + std::to_string(std::stoi(id.substr(1)) % 3)]++;
  }
  for (const auto& [category, n] : per_category) CHECK(n <= 2);
  CHECK(d["items"][0]["reasons"][0]["type"] == "boost");
  CHECK(d["items"][1]["reasons"][0]["type"] == "pin");
  CHECK(d["rules"][0]["affected"].get<int>() >= 1);
  CHECK(d["rules"][3]["affected"] == 1);
}

TEST_CASE("a rule can read a counter: an item boosted once its views are counted") {
  DecideFixture f;
  REQUIRE(f.db->MergeSchema(R"({"counters": [{"name": "views", "key": "item", "source":
      {"events": ["view"]}, "window": "1h", "bucket": "1s"}]})").ok());
  json rules = json::array({{{"type", "boost"}, {"where", "counter(i, 'views') >= 2"}, {"factor", 10}}});
  f.Define("row", DecideFixture::Surface({{"rules", rules}}));
  CHECK(DecideFixture::Ids(f.Decide("row", {{"user", "u1"}}))[0] != "i3");
  // Two views of i3 ten seconds ago: whole buckets, so counted at once.
  const int64_t ts = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count() - 10000;
  for (const char* id : {"e1", "e2"}) {
    EdgeWrite edge = Edge("VIEWED", {"User", "kid"}, {"Item", "i3"});
    edge.ts = ts;
    REQUIRE(f.db->Apply(EventWriteSet(edge, EventWrite{id, "view", "kid", "i3", ts, 1.0, ""})).ok());
  }
  json d = f.Decide("row", {{"user", "u1"}});
  CHECK(DecideFixture::Ids(d)[0] == "i3");
  CHECK(d["items"][0]["reasons"][0]["type"] == "boost");
}

TEST_CASE("an explained decision lists rule effects and the fallback that served an item") {
  DecideFixture f;
  json rules = json::array({{{"type", "pin"}, {"id", "i29"}, {"slot", 1}}});
  f.Define("row", DecideFixture::Surface({{"deadline_ms", 100}, {"budgets_ms", {{"similar", 40}}},
                                          {"rules", rules}}));
  auto& decider = f.MakeDecider();
  REQUIRE(decider.SetFault({{"target", "recipe:similar"}, {"delay_ms", 1000}}).ok());
  json d = f.Decide("row", {{"user", "u1"}, {"explain", true}});
  REQUIRE(d["items"].size() == 5);
  bool fallback_seen = false, rule_seen = false;
  for (const json& item : d["items"]) {
    for (const json& entry : item["explanation"].value("decision", json::array())) {
      if (entry["kind"] == "fallback") {
        fallback_seen = true;
        CHECK(entry["served_by"] == item["source"]);
        CHECK(entry["reasons"].dump().find("source_timeout:similar") != std::string::npos);
      }
      if (entry["kind"] == "rule") {
        rule_seen = true;
        CHECK(item["id"] == "i29");
        CHECK(entry["type"] == "pin");
      }
    }
  }
  CHECK(fallback_seen);
  CHECK(rule_seen);
}

TEST_CASE("a quota counts the items already served when later steps fill the list") {
  DecideFixture f;
  json rules = json::array({{{"type", "quota"}, {"by", "i.category"}, {"max", 1}}});
  f.Define("row", DecideFixture::Surface({{"rules", rules}, {"min_items", 5}}));
  json d = f.Decide("row", {{"user", "u1"}});
  // Three categories, one item each: the fallback and the popular list cannot add a fourth.
  CHECK(d["items"].size() == 3);
  std::set<int> categories;
  for (const auto& item : d["items"]) {
    categories.insert(std::stoi(item["id"].get<std::string>().substr(1)) % 3);
  }
  CHECK(categories.size() == 3);
  CHECK(DecideFixture::HasReason(d, "few_candidates"));
}

TEST_CASE("rules that read the user filter per user") {
  DecideFixture f;
  json rules = json::array({{{"type", "filter"}, {"where", "u.age >= 18 OR NOT i.adult"}}});
  f.Define("row", DecideFixture::Surface({{"rules", rules}, {"k", 20}}));
  auto adult_items = [](const json& d) {
    int n = 0;
    for (const auto& item : d["items"]) {
      std::string id = item["id"];
      n += std::stoi(id.substr(1)) % 5 == 0;
    }
    return n;
  };
  CHECK(adult_items(f.Decide("row", {{"user", "u1"}})) > 0);
  CHECK(adult_items(f.Decide("row", {{"user", "kid"}})) == 0);
  // An unknown user cannot be shown to pass: user rules read null and the filter removes.
  CHECK(adult_items(f.Decide("row", {{"user", "nobody"}})) == 0);
}

TEST_CASE("rules that remove everything give rule_filtered_all and an empty list, not an error") {
  DecideFixture f;
  json rules = json::array({{{"type", "filter"}, {"where", "i.price > 1000"}}});
  f.Define("row", DecideFixture::Surface({{"rules", rules}}));
  json d = f.Decide("row", {{"user", "u1"}});
  CHECK(DecideFixture::HasReason(d, "rule_filtered_all"));
  CHECK(d["items"].empty());
  CHECK(d["served_by"] == "none");
}

TEST_CASE("the request's exclude list removes items and the list is backfilled to k") {
  DecideFixture f;
  f.Define("row", DecideFixture::Surface());
  json base = f.Decide("row", {{"user", "u1"}});
  std::vector<std::string> first = DecideFixture::Ids(base);
  json d = f.Decide("row", {{"user", "u1"}, {"exclude", {first[0], first[1]}}});
  std::vector<std::string> ids = DecideFixture::Ids(d);
  CHECK(ids.size() == 5);
  CHECK(std::find(ids.begin(), ids.end(), first[0]) == ids.end());
  CHECK(ids[0] == first[2]);
}

TEST_CASE("too few items are filled from the next list; low confidence replaces the list") {
  DecideFixture f;
  json few = json::array({{{"type", "filter"}, {"where", "i.price <= 4"}}});
  f.Define("row", DecideFixture::Surface({{"rules", few}, {"min_items", 3}, {"fallbacks", json::array()}}));
  json d = f.Decide("row", {{"user", "u1"}});
  // similar finds i3 and i4 under the filter: two items, then the popular list fills.
  CHECK(DecideFixture::HasReason(d, "few_candidates"));
  CHECK(d["served_by"] == "primary");
  CHECK(d["items"].size() >= 3);

  f.Define("strict", DecideFixture::Surface({{"min_confidence", 0.99}}));
  json r = f.Decide("strict", {{"user", "u1"}});
  CHECK(DecideFixture::HasReason(r, "low_confidence"));
  CHECK(r["served_by"] == "popular");
}

TEST_CASE("with no free worker a decision answers from the popular list with overload") {
  DecideFixture f;
  f.Define("row", DecideFixture::Surface({{"deadline_ms", 50}}));
  decide::DeciderOptions options;
  options.workers = 1;
  options.max_queued = 0;
  auto& decider = f.MakeDecider(options);
  // Warm the popular list, then hold the only worker with a stuck recipe. The warm-up waits
  // for its recipe however slow the build (ASan) or the machine, so the worker is free after it.
  f.Decide("row", {{"user", "u1"}, {"deadline_ms", 10000}});
  REQUIRE(decider.SetFault({{"target", "recipe:similar"}, {"delay_ms", 2000}}).ok());
  json held = f.Decide("row", {{"user", "u1"}});
  INFO(held.dump());
  CHECK(DecideFixture::HasReason(held, "source_timeout:similar"));
  json d = f.Decide("row", {{"user", "u1"}});
  CHECK(DecideFixture::HasReason(d, "overload"));
  CHECK(d["items"].size() == 5);
  CHECK(d["degraded"] == true);
}

TEST_CASE("concurrent first decisions compute the popular list once") {
  DecideFixture f;
  f.Define("row", DecideFixture::Surface({{"recipe", "no_such_recipe"}, {"fallbacks", json::array()},
                                          {"last_served", false}}));
  auto& decider = f.MakeDecider();
  std::vector<std::thread> threads;
  std::atomic<int> served{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      auto d = decider.Decide("row", {{"user", "u" + std::to_string(t)}});
      if (d.ok() && (*d)["served_by"] == "popular") served++;
    });
  }
  for (auto& t : threads) t.join();
  CHECK(served == 8);
  CHECK(decider.Metrics()["popular_cache"]["computations"] == 1);
}

TEST_CASE("a user's new event is reflected in the very next decision") {
  DecideFixture f;
  f.Define("row", DecideFixture::Surface({{"k", 20}}));
  json before = f.Decide("row", {{"user", "new"}});
  CHECK(DecideFixture::HasReason(before, "no_history"));
  REQUIRE(f.db->Apply(Set(Edge("VIEWED", {"User", "new"}, {"Item", "i2"}))).ok());
  json after = f.Decide("row", {{"user", "new"}});
  CHECK(after["served_by"] == "primary");
  std::vector<std::string> ids = DecideFixture::Ids(after);
  CHECK(std::find(ids.begin(), ids.end(), "i14") != ids.end());  // similar to i2
}

TEST_CASE("a recipe stored by another writer is run by the very next decision") {
  DecideFixture f;
  f.Define("row", DecideFixture::Surface());
  json before = f.Decide("row", {{"user", "u1"}});
  REQUIRE(before["served_by"] == "primary");
  CHECK(before["items"][0]["id"] == "i14");
  // Stored straight into the metadata: no Invalidate tells the decider.
  f.PutRecipe("similar", kHotRecipe);
  json after = f.Decide("row", {{"user", "u1"}});
  CHECK(after["served_by"] == "primary");
  CHECK(DecideFixture::Ids(after) == std::vector<std::string>{"i25", "i24", "i23", "i22", "i21"});
}

TEST_CASE("a surface stored or deleted by another writer is seen by the very next decision") {
  DecideFixture f;
  f.Define("row", DecideFixture::Surface());
  CHECK(f.Decide("row", {{"user", "u1"}})["items"].size() == 5);
  // PutSurface without the decider's Invalidate, as another process's admin call would.
  REQUIRE(decide::PutSurface(f.db.get(), "row", DecideFixture::Surface({{"k", 3}})).ok());
  CHECK(f.Decide("row", {{"user", "u1"}})["items"].size() == 3);
  REQUIRE(decide::DeleteSurface(f.db.get(), "row").ok());
  CHECK(f.decider->Decide("row", {{"user", "u1"}}).status().code() == Status::Code::kNotFound);
}

TEST_CASE("recommendation ids are unique") {
  DecideFixture f;
  f.Define("row", DecideFixture::Surface());
  std::set<std::string> ids;
  for (int i = 0; i < 200; ++i) ids.insert(f.Decide("row", {{"user", "u1"}})["recommendation_id"]);
  CHECK(ids.size() == 200);
}

TEST_CASE("bad decide requests are InvalidArgument naming the field; unknown surfaces NotFound") {
  DecideFixture f;
  f.Define("row", DecideFixture::Surface());
  auto& decider = f.MakeDecider();
  auto code = [&](const json& body) { return decider.Decide("row", body).status().code(); };
  CHECK(code(json::object()) == Status::Code::kInvalidArgument);
  CHECK(code({{"user", 7}}) == Status::Code::kInvalidArgument);
  CHECK(code({{"user", "u1"}, {"k", 0}}) == Status::Code::kInvalidArgument);
  CHECK(code({{"user", "u1"}, {"deadline_ms", -1}}) == Status::Code::kInvalidArgument);
  CHECK(code({{"user", "u1"}, {"exclude", "i1"}}) == Status::Code::kInvalidArgument);
  CHECK(code({{"user", "u1"}, {"context", {{"user", "x"}}}}) == Status::Code::kInvalidArgument);
  CHECK(code({{"user", "u1"}, {"bogus", 1}}) == Status::Code::kInvalidArgument);
  CHECK(decider.Decide("nope", {{"user", "u1"}}).status().code() == Status::Code::kNotFound);
}

TEST_CASE("surface definitions are checked and rule errors name the rule") {
  DecideFixture f;
  auto put = [&](const json& def) { return decide::PutSurface(f.db.get(), "s", def).status(); };
  CHECK(put(json::object()).code() == Status::Code::kInvalidArgument);  // no recipe
  CHECK(put(DecideFixture::Surface({{"bogus", 1}})).message().find("bogus") != std::string::npos);
  Status bad_rule = put(DecideFixture::Surface(
      {{"rules", json::array({{{"type", "filter"}, {"where", "i.price >"}}})}}));
  CHECK(bad_rule.code() == Status::Code::kInvalidArgument);
  CHECK(bad_rule.message().find("rules[0].where") != std::string::npos);
  Status bad_type = put(DecideFixture::Surface({{"rules", json::array({{{"type", "shuffle"}}})}}));
  CHECK(bad_type.message().find("rules[0].type") != std::string::npos);
  CHECK(put(DecideFixture::Surface({{"k", 0}})).code() == Status::Code::kInvalidArgument);
  CHECK(put(DecideFixture::Surface({{"rules", json::array({{{"type", "filter"}, {"where", "x.y"}}})}}))
            .code() == Status::Code::kInvalidArgument);
  auto stored = decide::PutSurface(f.db.get(), "ok", DecideFixture::Surface());
  REQUIRE(stored.ok());
  CHECK((*stored)["deadline_ms"] == 200);
  CHECK((*stored)["breaker"]["failures"] == 5);
  CHECK(decide::GetSurface(*f.db, "ok").value() == *stored);
  CHECK(decide::ListSurfaces(*f.db).value().size() == 1);
  CHECK(decide::DeleteSurface(f.db.get(), "ok").ok());
  CHECK(decide::GetSurface(*f.db, "ok").status().code() == Status::Code::kNotFound);
}

}  // namespace
}  // namespace pathwise::testing

namespace pathwise::testing {
namespace {

TEST_CASE("a definitions document stores recipes then surfaces, and names the first bad entry") {
  DecideFixture f;
  nlohmann::json doc = {
      {"recipes", {{"hot2", {{"query", kHotRecipe}, {"params", {{"limit", 5}}}, {"max_limit", 50}}}}},
      {"surfaces", {{"row2", DecideFixture::Surface({{"recipe", "hot2"}})}}}};
  REQUIRE(decide::IsDefinitionsDocument(doc));
  CHECK_FALSE(decide::IsDefinitionsDocument({{"node", "Item"}, {"id", "x"}}));
  CHECK_FALSE(decide::IsDefinitionsDocument(nlohmann::json::array()));
  auto stored = decide::ApplyDefinitions(f.db.get(), doc);
  REQUIRE_MESSAGE(stored.ok(), stored.status().ToString());
  CHECK((*stored)["surfaces"] == nlohmann::json::array({"row2"}));
  CHECK(decide::LoadRecipe(*f.db, "hot2").value()["max_limit"] == 50);
  CHECK(f.Decide("row2", {{"user", "u1"}})["served_by"] == "primary");

  nlohmann::json bad = {{"recipes", {{"broken", {{"query", "RECOMMEND (c:Item"}}}}}};
  Status s = decide::ApplyDefinitions(f.db.get(), bad).status();
  CHECK(s.code() == Status::Code::kSyntaxError);
  CHECK(s.message().rfind("recipes.broken: ", 0) == 0);
}

TEST_CASE("recipes are checked when stored: fields, max_limit, syntax with its position") {
  DecideFixture f;
  auto put = [&](const nlohmann::json& body) { return decide::PutRecipe(f.db.get(), "r", body).status(); };
  CHECK(put({{"query", kHotRecipe}, {"bogus", 1}}).code() == Status::Code::kInvalidArgument);
  CHECK(put({{"query", kHotRecipe}, {"max_limit", 0}}).code() == Status::Code::kInvalidArgument);
  CHECK(put({{"query", kHotRecipe}, {"name", "other"}}).code() == Status::Code::kInvalidArgument);
  CHECK(put(nlohmann::json::object()).code() == Status::Code::kInvalidArgument);
  Status syntax = put({{"query", "MATCH (n RETURN n"}});
  CHECK(syntax.code() == Status::Code::kSyntaxError);
  CHECK(syntax.line() == 1);
  CHECK(put({{"query", kHotRecipe}, {"params", {{"limit", 3}}}}).ok());
  CHECK(decide::DeleteRecipe(f.db.get(), "r").ok());
  CHECK(decide::DeleteRecipe(f.db.get(), "r").code() == Status::Code::kNotFound);
}

}  // namespace
}  // namespace pathwise::testing
