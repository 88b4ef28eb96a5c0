// Exploration slots (docs/feedback-loop.md, "Exploration"): explored positions filled by
// Thompson sampling (or epsilon-greedy) from the candidates ranked below the exploit slots, with
// propensities, seeded per recommendation_id so a decision replays, and posterior counts per
// context bucket from the impression log and attributed clicks.
#include <chrono>
#include <cstdio>
#include <map>
#include <set>

#include "decide/explore.h"
#include "tests/decide/decide_fixture.h"

namespace pathwise::testing {
namespace {

using json = nlohmann::json;

// u1's candidates from the "similar" recipe (k = 5, candidates x3 = 15 rows) rank i14, i13, ...,
// i3, then i25, i24, i23: with one explored slot the exploit list is i14..i11 and the pool the
// other 11.
json Exploring(json exploration, json overrides = json::object()) {
  json s = DecideFixture::Surface({{"exploration", std::move(exploration)}});
  for (const auto& [k, v] : overrides.items()) s[k] = v;
  return s;
}

std::vector<std::string> Reasons(const json& item) {
  std::vector<std::string> out;
  for (const json& r : item.value("reasons", json::array())) {
    if (r.is_string()) out.push_back(r);
  }
  return out;
}

bool Says(const json& item, const std::string& reason) {
  std::vector<std::string> r = Reasons(item);
  return std::find(r.begin(), r.end(), reason) != r.end();
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string IdAt(int64_t ms, int tail) {
  char buf[33];
  std::snprintf(buf, sizeof buf, "%012llx%020d", static_cast<unsigned long long>(ms), tail);
  return buf;
}

TEST_CASE("explored slots appear at the configured positions; exploit slots keep the ranking") {
  DecideFixture f;
  f.Define("plain", DecideFixture::Surface());
  f.Define("row", Exploring({{"slots", {1, 4}}}));
  json plain = f.Decide("plain", {{"user", "u1"}});
  json d = f.Decide("row", {{"user", "u1"}});
  REQUIRE(d["items"].size() == 5);
  std::vector<std::string> ranked = DecideFixture::Ids(plain);
  // Positions 0, 2, 3 are the first three of the exploit ranking, in order.
  CHECK(d["items"][0]["id"] == ranked[0]);
  CHECK(d["items"][2]["id"] == ranked[1]);
  CHECK(d["items"][3]["id"] == ranked[2]);
  for (size_t slot : {0, 2, 3}) CHECK_FALSE(d["items"][slot].contains("propensity"));
  for (size_t slot : {1, 4}) {
    const json& item = d["items"][slot];
    double p = item["propensity"].get<double>();
    CHECK(p > 0);
    CHECK(p <= 1);
    CHECK(std::find(ranked.begin(), ranked.begin() + 3, item["id"].get<std::string>()) ==
          ranked.begin() + 3);
  }
  // The log has every item's propensity: 1 for exploit slots, the answer's for explored ones.
  auto logged = f.db->GetRecommendation(d["recommendation_id"].get<std::string>());
  REQUIRE(logged.ok());
  for (size_t slot = 0; slot < 5; ++slot) {
    double p = (*logged)["items"][slot]["propensity"].get<double>();
    if (slot == 1 || slot == 4) {
      CHECK(p == d["items"][slot]["propensity"].get<double>());
    } else {
      CHECK(p == 1.0);
    }
  }
  CHECK((*logged)["exploration"]["policy"] == "thompson");
  CHECK((*logged)["exploration"]["positions"] == json({1, 4}));
}

TEST_CASE("every N explores one slot in N at positions N-1, 2N-1, ...") {
  DecideFixture f;
  f.Define("row", Exploring({{"every", 2}}, {{"k", 5}}));
  json d = f.Decide("row", {{"user", "u1"}});
  REQUIRE(d["items"].size() == 5);
  for (size_t slot = 0; slot < 5; ++slot) {
    CHECK(d["items"][slot].contains("propensity") == (slot == 1 || slot == 3));
  }
}

TEST_CASE("replaying a logged decision from its recommendation_id reproduces its exploration") {
  DecideFixture f;
  f.Define("row", Exploring({{"slots", {1, 4}}, {"context_key", "segment"}}));
  f.Define("greedy", Exploring({{"policy", "epsilon_greedy"}, {"epsilon", 0.5}, {"slots", {4}}}));
  for (const char* surface : {"row", "greedy"}) {
    for (int i = 0; i < 10; ++i) {
      json d = f.Decide(surface, {{"user", "u1"}, {"context", {{"segment", "s" + std::to_string(i % 2)}}}});
      auto replay = f.decider->ReplayExploration(d["recommendation_id"].get<std::string>());
      REQUIRE_MESSAGE(replay.ok(), replay.status().ToString());
      CHECK((*replay)["reproduced"] == true);
      for (const json& e : (*replay)["items"]) {
        const json& served = d["items"][e["slot"].get<size_t>()];
        CHECK(served["id"] == e["id"]);
        CHECK(served["propensity"] == e["propensity"]);
      }
      CHECK_FALSE((*replay)["items"].empty());
    }
  }
  json plain_surface = DecideFixture::Surface();
  f.Define("plain", plain_surface);
  json plain = f.Decide("plain", {{"user", "u1"}});
  auto none = f.decider->ReplayExploration(plain["recommendation_id"].get<std::string>());
  CHECK(none.status().code() == Status::Code::kNotFound);
  CHECK(f.decider->ReplayExploration("nothex").status().code() == Status::Code::kInvalidArgument);
}

TEST_CASE("the same seed draws the same items and propensities") {
  decide::ExploreSettings x;
  x.policy = decide::ExploreSettings::Policy::kThompson;
  std::vector<decide::Arm> pool = {{10, 1}, {0, 0}, {50, 10}, {3, 0}, {100, 2}};
  uint64_t seed = decide::ExploreSeed("0192d3a4c5e6a1b2c3d4e5f60718293a");
  auto a = decide::DrawExploration(x, pool, 2, seed);
  auto b = decide::DrawExploration(x, pool, 2, seed);
  REQUIRE(a.size() == 2);
  for (size_t r = 0; r < 2; ++r) {
    CHECK(a[r].index == b[r].index);
    CHECK(a[r].propensity == b[r].propensity);
  }
  CHECK(a[0].index != a[1].index);
}

TEST_CASE("for a fixed context the propensities of an explored slot's items sum to about one") {
  DecideFixture f;
  // Some history first: decisions logged (impressions) and clicks on two items, so that the
  // posteriors differ; then the surface samples its log out, which freezes the counts.
  f.Define("row", Exploring({{"slots", {4}}}));
  for (int i = 0; i < 20; ++i) {
    json d = f.Decide("row", {{"user", "u1"}});
    std::string id = d["recommendation_id"];
    for (const char* item : {"i5", "i24"}) {
      WriteSet set;
      set.ops.push_back(OutcomeWrite{id, "e" + std::to_string(i) + item, "click", item, std::nullopt});
      REQUIRE(f.db->Apply(set).ok());
      f.decider->CountOutcome(id, "click", item);
    }
  }
  f.Define("row", Exploring({{"slots", {4}}}, {{"impressions", {{"sample_rate", 0.0}}}}));
  constexpr int kDecisions = 400;
  std::map<std::string, std::pair<int, double>> seen;  // item -> (times explored, propensity sum)
  for (int i = 0; i < kDecisions; ++i) {
    json d = f.Decide("row", {{"user", "u1"}});
    const json& item = d["items"][4];
    auto& [times, sum] = seen[item["id"].get<std::string>()];
    ++times;
    sum += item["propensity"].get<double>();
  }
  double total = 0;
  for (const auto& entry : seen) {  // not a structured binding: clang's CHECK lambdas can't capture one
    const std::string& id = entry.first;
    const auto& s = entry.second;
    double p = s.second / s.first;  // the mean of the item's estimates
    total += p;
    // Each estimate agrees with how often the item was drawn (4 standard errors, plus the
    // Monte Carlo error of the estimate).
    double freq = static_cast<double>(s.first) / kDecisions;
    CHECK_MESSAGE(std::abs(freq - p) < 4 * std::sqrt(p * (1 - p) / kDecisions) + 0.02, id);
  }
  CHECK(total == doctest::Approx(1.0).epsilon(0.05));
  CHECK(seen.size() > 3);
}

TEST_CASE("epsilon-greedy propensities are closed-form and sum to one over the pool") {
  decide::ExploreSettings x;
  x.policy = decide::ExploreSettings::Policy::kEpsilonGreedy;
  x.epsilon = 0.2;
  std::vector<decide::Arm> pool = {{10, 1}, {10, 5}, {10, 0}, {10, 2}};
  std::map<size_t, double> propensity;
  std::map<size_t, int> times;
  for (int i = 0; i < 2000; ++i) {
    auto c = decide::DrawExploration(x, pool, 1, decide::ExploreSeed(std::to_string(i)));
    REQUIRE(c.size() == 1);
    propensity[c[0].index] = c[0].propensity;
    ++times[c[0].index];
  }
  // Item 1 has the highest posterior mean: 1 - 0.2 + 0.2 / 4; the others 0.2 / 4.
  CHECK(propensity[1] == doctest::Approx(0.85));
  CHECK(propensity[0] == doctest::Approx(0.05));
  double total = 0;
  for (const auto& [i, p] : propensity) total += p;
  CHECK(total == doctest::Approx(1.0));
  CHECK(times[1] / 2000.0 == doctest::Approx(0.85).epsilon(0.05));
}

TEST_CASE("cold items get exposure and their reasons say explore: new item") {
  DecideFixture f;
  f.Define("row", Exploring({{"slots", {4}}}));
  json d = f.Decide("row", {{"user", "u1"}, {"explain", true}});
  const json& item = d["items"][4];
  CHECK(Says(item, "explore: new item"));
  bool explained = false;
  for (const json& e : item["explanation"]["decision"]) explained |= e["kind"] == "explore";
  CHECK(explained);
  // Over a few decisions the explored slot shows several different pool items.
  std::set<std::string> shown;
  for (int i = 0; i < 30; ++i) shown.insert(f.Decide("row", {{"user", "u1"}})["items"][4]["id"].get<std::string>());
  CHECK(shown.size() >= 4);
}

TEST_CASE("an item with many impressions and no clicks is explored less than a cold item") {
  DecideFixture f;
  f.Define("row", Exploring({{"slots", {4}}, {"context_key", "context.segment"}},
                            {{"impressions", {{"sample_rate", 0.0}}}}));
  // The log before the decider starts: i3 shown 200 times in segment "a" and never clicked. The
  // decider rebuilds its counts from it.
  int64_t t = NowMs() - 60'000;
  for (int i = 0; i < 200; ++i) {
    WriteSet set;
    json record = {{"surface", "row"}, {"user", "u" + std::to_string(i)},
                   {"items", json::array({{{"id", "i3"}, {"slot", 4}, {"propensity", 0.1}}})},
                   {"exploration", {{"bucket", "a"}}}};
    set.ops.push_back(ImpressionWrite{IdAt(t + i, i), record, 24 * 3600 * 1000});
    REQUIRE(f.db->Apply(set).ok());
  }
  f.MakeDecider();
  std::map<std::string, std::map<std::string, int>> explored;  // segment -> item -> times
  for (const char* segment : {"a", "b"}) {
    for (int i = 0; i < 300; ++i) {
      json d = f.Decide("row", {{"user", "u1"}, {"context", {{"segment", segment}}}});
      ++explored[segment][d["items"][4]["id"].get<std::string>()];
    }
  }
  // Segment a: i3's posterior is Beta(1, 201), so it is almost never drawn; a cold item of the
  // same pool (i4) is drawn about 1 in 10. Segment b: i3 is as cold as the rest.
  CHECK(explored["a"]["i3"] < 5);
  CHECK(explored["a"]["i4"] > 10);
  CHECK(explored["b"]["i3"] > 10);
}

TEST_CASE("bad exploration settings are rejected with a message naming the field") {
  DecideFixture f;
  auto error = [&](const json& exploration) {
    auto stored = decide::PutSurface(f.db.get(), "bad", Exploring(exploration));
    REQUIRE_FALSE(stored.ok());
    CHECK(stored.status().code() == Status::Code::kInvalidArgument);
    return stored.status().message();
  };
  auto contains = [](const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
  };
  CHECK(contains(error({{"slots", {5}}}), "exploration.slots"));          // k is 5
  CHECK(contains(error({{"slots", {1, 1}}}), "repeats position 1"));
  CHECK(contains(error({{"slots", {1}}, {"every", 2}}), "exactly one of"));
  CHECK(contains(error(json::object()), "exactly one of"));
  CHECK(contains(error({{"every", 9}}), "above the surface's k"));
  CHECK(contains(error({{"every", 1}}), "exploration.every"));
  CHECK(contains(error({{"slots", {1}}, {"policy", "ucb"}}), "thompson or epsilon_greedy"));
  CHECK(contains(error({{"slots", {1}}, {"epsilon", 0.1}}), "epsilon_greedy only"));
  CHECK(contains(error({{"slots", {1}}, {"policy", "epsilon_greedy"}, {"epsilon", 1.5}}),
                 "exploration.epsilon"));
  CHECK(contains(error({{"slots", {1}}, {"prior", {{"alpha", -1}}}}), "exploration.prior.alpha"));
  CHECK(contains(error({{"slots", {1}}, {"pool_size", 0}}), "exploration.pool_size"));
  CHECK(contains(error({{"slots", {1}}, {"context_key", "a b"}}), "exploration.context_key"));
  CHECK(contains(error({{"slots", {1}}, {"propensity_samples", 5}}), "propensity_samples"));
  CHECK(contains(error({{"slots", {1}}, {"colour", "red"}}), "unknown field 'colour'"));
  CHECK(contains(error("yes"), "must be an object"));
  // A good one is stored normalised, with the defaults.
  auto stored = decide::PutSurface(f.db.get(), "good", Exploring({{"every", 5}}));
  REQUIRE(stored.ok());
  CHECK((*stored)["exploration"]["policy"] == "thompson");
  CHECK((*stored)["exploration"]["pool_size"] == 20);
  CHECK((*stored)["exploration"]["propensity_samples"] == 1000);
}

}  // namespace
}  // namespace pathwise::testing
