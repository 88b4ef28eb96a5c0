// The candidate cache of decisions (docs/decisions.md, "Caches"): per (surface, user) retrieved
// candidates reused by the next decisions, while scores, filters and rules run every time.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include "tests/decide/decide_fixture.h"

namespace pathwise::testing {
namespace {

using json = nlohmann::json;

// What the candidate cache did in the decision's primary step ("" when it was not used).
std::string PrimaryCandidates(const json& decision) {
  const json& step = decision["timings"]["steps"][0];
  return step.value("candidates", "");
}

json CacheCounts(decide::Decider& decider) { return decider.Metrics()["candidate_cache"]; }

NodeWrite Patch(const std::string& id, Properties props) {
  NodeWrite w = Node("Item", id, std::move(props));
  w.op = NodeWrite::Op::kPatch;
  return w;
}

TEST_CASE("a second decision for the same user reuses the cached candidates and serves the same items") {
  DecideFixture f;
  f.Define("row", DecideFixture::Surface());
  json first = f.Decide("row", {{"user", "u1"}});
  json second = f.Decide("row", {{"user", "u1"}});
  CHECK(PrimaryCandidates(first) == "miss");
  CHECK(PrimaryCandidates(second) == "hit");
  CHECK(second["served_by"] == "primary");
  CHECK(DecideFixture::Ids(second) == DecideFixture::Ids(first));
  for (size_t i = 0; i < first["items"].size(); ++i) {
    CHECK(second["items"][i]["score"] == first["items"][i]["score"]);
  }
  CHECK(second["confidence"] == first["confidence"]);
  json counts = CacheCounts(*f.decider);
  CHECK(counts["hits"] == 1);
  CHECK(counts["misses"] == 1);
  CHECK(counts["computations"] == 1);
  CHECK(counts["entries"] == 1);
}

TEST_CASE("a user's event erases only their cached candidates and the next decision reflects it") {
  DecideFixture f;
  f.Define("row", DecideFixture::Surface({{"k", 20}}));
  f.Decide("row", {{"user", "new"}});
  f.Decide("row", {{"user", "u1"}});
  REQUIRE(PrimaryCandidates(f.Decide("row", {{"user", "new"}})) == "hit");
  REQUIRE(f.db->Apply(Set(Edge("VIEWED", {"User", "new"}, {"Item", "i2"}))).ok());
  json after = f.Decide("row", {{"user", "new"}});
  CHECK(PrimaryCandidates(after) == "miss");
  std::vector<std::string> ids = DecideFixture::Ids(after);
  CHECK(std::find(ids.begin(), ids.end(), "i14") != ids.end());  // similar to i2
  CHECK(PrimaryCandidates(f.Decide("row", {{"user", "u1"}})) == "hit");
  CHECK(CacheCounts(*f.decider)["invalidations"] == 1);
}

TEST_CASE("a model job's swap of an edge type erases every cached candidate set") {
  DecideFixture f;
  f.Define("row", DecideFixture::Surface({{"k", 20}}));
  f.Decide("row", {{"user", "u1"}});
  REQUIRE(PrimaryCandidates(f.Decide("row", {{"user", "u1"}})) == "hit");
  // The similarity job's swap: SIMILAR replaced by nothing.
  REQUIRE(f.db->ReplaceEdges("SIMILAR", {}).ok());
  json after = f.Decide("row", {{"user", "u1"}});
  CHECK(PrimaryCandidates(after) == "miss");
}

TEST_CASE("scores, filters, rules and the exclude list run on every decision served from the cache") {
  DecideFixture f;
  f.Define("row", DecideFixture::Surface({{"rules", json::array({{{"type", "filter"},
                                                                  {"where", "NOT i.adult"}}})}}));
  json first = f.Decide("row", {{"user", "u1"}});
  std::vector<std::string> ids = DecideFixture::Ids(first);
  REQUIRE(ids.size() == 5);
  // The exclude list of this request.
  json excluded = f.Decide("row", {{"user", "u1"}, {"exclude", {ids[0], ids[1]}}});
  CHECK(PrimaryCandidates(excluded) == "hit");
  std::vector<std::string> rest = DecideFixture::Ids(excluded);
  CHECK(rest.size() == 5);
  CHECK(std::find(rest.begin(), rest.end(), ids[0]) == rest.end());
  CHECK(rest[0] == ids[2]);
  // An item's new price changes its score (SCORE reads c.price); a write to an item does not
  // erase the user's candidates.
  REQUIRE(f.db->Apply(Set(Patch(ids[4], {{"price", 1000.0}}))).ok());
  json repriced = f.Decide("row", {{"user", "u1"}});
  CHECK(PrimaryCandidates(repriced) == "hit");
  CHECK(DecideFixture::Ids(repriced)[0] == ids[4]);
  // The surface's filter rule reads the item as it is now.
  REQUIRE(f.db->Apply(Set(Patch(ids[4], {{"adult", true}}))).ok());
  json filtered = f.Decide("row", {{"user", "u1"}});
  CHECK(PrimaryCandidates(filtered) == "hit");
  std::vector<std::string> now = DecideFixture::Ids(filtered);
  CHECK(std::find(now.begin(), now.end(), ids[4]) == now.end());
}

TEST_CASE("an entry past its TTL is served stale while one refresh retrieves it again") {
  DecideFixture f;
  f.Define("row", DecideFixture::Surface({{"candidate_ttl_seconds", 1}}));
  auto& decider = f.MakeDecider();
  json first = f.Decide("row", {{"user", "u1"}});
  // A new similar item: found by retrieval only, and an item write keeps u1's entry.
  REQUIRE(f.db->Apply(Set(Edge("SIMILAR", {"Item", "i1"}, {"Item", "i30"}))).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  json stale = f.Decide("row", {{"user", "u1"}});
  CHECK(PrimaryCandidates(stale) == "stale");
  CHECK(DecideFixture::Ids(stale) == DecideFixture::Ids(first));
  // The refresh runs in the background; then the entry is fresh and holds i30.
  for (int i = 0; i < 200 && CacheCounts(decider)["computations"] == 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  json refreshed;
  for (int i = 0; i < 200; ++i) {
    refreshed = f.Decide("row", {{"user", "u1"}});
    if (PrimaryCandidates(refreshed) == "hit") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(PrimaryCandidates(refreshed) == "hit");
  std::vector<std::string> ids = DecideFixture::Ids(refreshed);
  CHECK(std::find(ids.begin(), ids.end(), "i30") != ids.end());
  json counts = CacheCounts(decider);
  CHECK(counts["computations"] == 2);
  CHECK(counts["stale"].get<int>() >= 1);
}

TEST_CASE("concurrent identical misses retrieve once and the others wait for that set") {
  DecideFixture f;
  f.Define("row", DecideFixture::Surface({{"deadline_ms", 3000}}));
  // Tokens and slots for all six decisions: with fewer, the later ones would wait and then hit.
  decide::DeciderOptions options;
  options.max_running_decisions = 6;
  options.max_running_steps = 6;
  auto& decider = f.MakeDecider(options);
  REQUIRE(decider.SetFault({{"target", "source:viewed_similar"}, {"delay_ms", 300}}).ok());
  std::vector<std::thread> threads;
  std::vector<std::vector<std::string>> served(6);
  for (size_t t = 0; t < served.size(); ++t) {
    threads.emplace_back([&, t] {
      auto d = decider.Decide("row", {{"user", "u1"}});
      if (d.ok()) served[t] = DecideFixture::Ids(*d);
    });
  }
  for (auto& t : threads) t.join();
  json counts = CacheCounts(decider);
  CHECK(counts["computations"] == 1);
  CHECK(counts["misses"] == 1);
  CHECK(counts["coalesced"] == 5);
  for (const auto& ids : served) CHECK(ids == served[0]);
  CHECK(served[0].size() == 5);
}

TEST_CASE("the candidate cache holds at most its entry bound, evicting the least recently used") {
  DecideFixture f;
  f.Define("row", DecideFixture::Surface());
  decide::DeciderOptions options;
  options.candidate_cache_entries = 2;
  f.MakeDecider(options);
  f.Decide("row", {{"user", "u1"}});
  f.Decide("row", {{"user", "kid"}});
  f.Decide("row", {{"user", "u1"}});    // u1 is now the most recent
  f.Decide("row", {{"user", "new"}});   // evicts kid
  json counts = CacheCounts(*f.decider);
  CHECK(counts["entries"] == 2);
  CHECK(counts["evictions"] == 1);
  CHECK(PrimaryCandidates(f.Decide("row", {{"user", "u1"}})) == "hit");
  CHECK(PrimaryCandidates(f.Decide("row", {{"user", "kid"}})) == "miss");
}

TEST_CASE("a context parameter the sources read is not served another context's candidates") {
  DecideFixture f;
  f.PutRecipe("tagged", R"(RECOMMEND (c:Item) FOR (u:User {id: $user})
    FROM (t:Tag {id: $tag})-[:TAGGED]->(c) AS tagged
    SCORE c.price
    LIMIT $limit)");
  WriteSet set;
  set.ops.push_back(Node("Tag", "cheap"));
  for (int i = 1; i <= 5; ++i) set.ops.push_back(Edge("TAGGED", {"Tag", "cheap"}, {"Item", "i" + std::to_string(i)}));
  REQUIRE(f.db->Apply(set).ok());
  f.Define("row", DecideFixture::Surface({{"recipe", "tagged"}, {"fallbacks", json::array()}}));
  json hot = f.Decide("row", {{"user", "u1"}, {"context", {{"tag", "hot"}}}});
  json cheap = f.Decide("row", {{"user", "u1"}, {"context", {{"tag", "cheap"}}}});
  CHECK(PrimaryCandidates(cheap) == "mismatch");
  CHECK(DecideFixture::Ids(cheap) == std::vector<std::string>{"i5", "i4", "i3", "i2", "i1"});
  CHECK(DecideFixture::Ids(hot) != DecideFixture::Ids(cheap));
  CHECK(PrimaryCandidates(f.Decide("row", {{"user", "u1"}, {"context", {{"tag", "cheap"}}}})) == "hit");
}

TEST_CASE("explained decisions and surfaces with candidate_ttl_seconds 0 do not use the cache") {
  DecideFixture f;
  f.Define("row", DecideFixture::Surface({{"candidate_ttl_seconds", 0}}));
  f.Define("explained", DecideFixture::Surface());
  f.Decide("row", {{"user", "u1"}});
  CHECK(PrimaryCandidates(f.Decide("row", {{"user", "u1"}})) == "");
  f.Decide("explained", {{"user", "u1"}});
  json explained = f.Decide("explained", {{"user", "u1"}, {"explain", true}});
  CHECK(PrimaryCandidates(explained) == "");
  CHECK(explained["items"][0].contains("explanation"));
}

}  // namespace
}  // namespace pathwise::testing
