// Frequency caps, A/B variants and the per-variant report on the embedded database
// (docs/decisions.md "Frequency caps" and "A/B variants", docs/feedback-loop.md "Report").
#include <atomic>
#include <cstdio>
#include <set>

#include "decide/stats.h"
#include "decide/surface.h"
#include "tests/decide/decide_fixture.h"

namespace pathwise::testing {
namespace {

using json = nlohmann::json;

constexpr int64_t kStart = 1'800'000'000'000;  // the tests' wall clock starts here (2027)

json Cap(int64_t max, int64_t window_seconds) {
  return {{"type", "frequency_cap"}, {"max", max}, {"window_seconds", window_seconds}};
}

// A decider whose wall clock is `now`, which the test moves.
struct ClockedFixture : DecideFixture {
  std::atomic<int64_t> now{kStart};
  decide::Decider& Start() {
    decide::DeciderOptions options;
    options.clock_ms = [this] { return now.load(); };
    return MakeDecider(options);
  }
  void Reopen() {
    decider.reset();
    db.reset();
    auto opened = Database::Open({}, dir.path);
    REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
    db = std::move(opened).value();
    Start();
  }
  // Adds the PURCHASED edge type and the event types view and purchase.
  void AddPurchases() {
    REQUIRE(db->MergeSchema(R"({"edge_types": [{"name": "PURCHASED", "from": "User", "to": "Item"}]})").ok());
    json table = {{"purchase", {{"edge", "PURCHASED"}, {"user_type", "User"}, {"item_type", "Item"}}},
                  {"view", {{"edge", "VIEWED"}, {"user_type", "User"}, {"item_type", "Item"}}},
                  {"tag", {{"edge", "TAGGED"}, {"user_type", "Tag"}, {"item_type", "Item"}}}};
    WriteSet set;
    set.ops.push_back(MetaWrite{std::string(Database::kEventTypesMetaKey), table.dump()});
    REQUIRE(db->Apply(set).ok());
  }
};

std::set<std::string> IdSet(const json& decision) {
  std::vector<std::string> ids = DecideFixture::Ids(decision);
  return {ids.begin(), ids.end()};
}

Status DefineError(DecideFixture& f, const json& overrides) {
  return decide::PutSurface(f.db.get(), "bad", DecideFixture::Surface(overrides)).status();
}

TEST_CASE("a frequency cap removes items shown max times in its window and backfills to k") {
  ClockedFixture f;
  f.Start();
  f.Define("row", DecideFixture::Surface({{"rules", json::array({Cap(2, 3600)})}}));
  json first = f.Decide("row", {{"user", "u1"}});
  json second = f.Decide("row", {{"user", "u1"}});
  REQUIRE(first["items"].size() == 5);
  CHECK(IdSet(first) == IdSet(second));
  // The second showing says how often the item was seen in the window.
  CHECK(second["items"][0]["reasons"][0] == json{{"rule", 0}, {"type", "frequency_cap"},
                                                 {"impressions", 1}, {"max", 2}});
  json third = f.Decide("row", {{"user", "u1"}});
  REQUIRE(third["items"].size() == 5);  // backfilled from the next candidates
  for (const std::string& id : DecideFixture::Ids(third)) CHECK(IdSet(first).count(id) == 0);
  CHECK(third["rules"][0]["type"] == "frequency_cap");
  CHECK(third["rules"][0]["affected"] == 5);
  REQUIRE(third["rules"][0]["capped"].size() == 5);
  CHECK(third["rules"][0]["capped"][0]["impressions"] == 2);
  // Another user is not capped by u1's impressions.
  CHECK(IdSet(f.Decide("row", {{"user", "kid"}})) == IdSet(first));
}

TEST_CASE("a frequency cap's window expires: items capped return after window_seconds") {
  ClockedFixture f;
  f.Start();
  f.Define("row", DecideFixture::Surface({{"rules", json::array({Cap(1, 3600)})}}));
  json first = f.Decide("row", {{"user", "u1"}});
  f.now += 1000;
  json capped = f.Decide("row", {{"user", "u1"}});
  for (const std::string& id : DecideFixture::Ids(capped)) CHECK(IdSet(first).count(id) == 0);
  f.now += 3600 * 1000;  // the first decision left the window; the second is 1 s inside it
  json later = f.Decide("row", {{"user", "u1"}});
  CHECK(IdSet(later) == IdSet(first));
}

TEST_CASE("never_after removes an item for good once the user has the listed event") {
  ClockedFixture f;
  f.AddPurchases();
  f.Start();
  json rule = {{"type", "frequency_cap"}, {"never_after", {"purchase"}}};
  f.Define("row", DecideFixture::Surface({{"rules", json::array({rule})}}));
  auto stored = decide::GetSurface(*f.db, "row");
  REQUIRE(stored.ok());
  CHECK((*stored)["rules"][0]["never_after"] == json{{"purchase", "PURCHASED"}});
  json before = f.Decide("row", {{"user", "u1"}});
  std::string bought = before["items"][0]["id"];
  WriteSet purchase;
  purchase.ops.push_back(Edge("PURCHASED", {"User", "u1"}, {"Item", bought}));
  REQUIRE(f.db->Apply(purchase).ok());
  f.now += int64_t{400} * 24 * 3600 * 1000;  // no window: more than a year later
  json after = f.Decide("row", {{"user", "u1"}});
  CHECK(IdSet(after).count(bought) == 0);
  CHECK(after["items"].size() == 5);
  CHECK(after["rules"][0]["capped"] == json::array({{{"id", bought}, {"event", "purchase"}}}));
  // Unknown event types, and ones between other node types, are refused when stored.
  Status unknown = DefineError(f, {{"rules", json::array({{{"type", "frequency_cap"},
                                                           {"never_after", {"refund"}}}})}});
  CHECK(unknown.code() == Status::Code::kInvalidArgument);
  CHECK(unknown.message().find("event type 'refund'") != std::string::npos);
  Status other = DefineError(f, {{"rules", json::array({{{"type", "frequency_cap"},
                                                         {"never_after", {"tag"}}}})}});
  CHECK(other.message().find("not from the surface's User to Item") != std::string::npos);
}

TEST_CASE("frequency caps hold after a restart: recent impressions are reloaded from the log") {
  ClockedFixture f;
  f.Start();
  f.Define("row", DecideFixture::Surface({{"rules", json::array({Cap(1, 3600)})}}));
  json first = f.Decide("row", {{"user", "u1"}});
  REQUIRE(first["impression_logged"] == true);
  f.Reopen();
  f.now += 1000;
  json after = f.Decide("row", {{"user", "u1"}});
  REQUIRE(after["items"].size() == 5);
  for (const std::string& id : DecideFixture::Ids(after)) CHECK(IdSet(first).count(id) == 0);
  CHECK(f.decider->Metrics()["frequency_decisions_loaded"] == 1);
}

TEST_CASE("a cap added to a surface counts the impressions it logged before the cap existed") {
  ClockedFixture f;
  f.Start();
  f.Define("row", DecideFixture::Surface());
  json first = f.Decide("row", {{"user", "u1"}});
  f.Decide("row", {{"user", "u1"}});
  f.now += 1000;
  f.Define("row", DecideFixture::Surface({{"rules", json::array({Cap(2, 3600)})}}));
  json capped = f.Decide("row", {{"user", "u1"}});
  REQUIRE(capped["items"].size() == 5);
  for (const std::string& id : DecideFixture::Ids(capped)) CHECK(IdSet(first).count(id) == 0);
  CHECK(capped["rules"][0]["affected"] == 5);
}

TEST_CASE("a pinned item must pass the frequency cap too") {
  ClockedFixture f;
  f.Start();
  json rules = json::array({Cap(1, 3600), {{"type", "pin"}, {"id", "i29"}, {"slot", 0}}});
  f.Define("row", DecideFixture::Surface({{"rules", rules}}));
  CHECK(f.Decide("row", {{"user", "u1"}})["items"][0]["id"] == "i29");
  CHECK(IdSet(f.Decide("row", {{"user", "u1"}})).count("i29") == 0);
}

TEST_CASE("bad frequency caps are rejected with a message naming the field") {
  DecideFixture f;
  auto message = [&](const json& rule) {
    return DefineError(f, {{"rules", json::array({rule})}}).message();
  };
  CHECK(message(Cap(3, -5)).find("rules[0].window_seconds' must be an integer from 1") !=
        std::string::npos);
  CHECK(message(Cap(0, 60)).find("rules[0].max' must be an integer from 1") != std::string::npos);
  CHECK(message({{"type", "frequency_cap"}, {"max", 3}}).find("needs both 'max' and 'window_seconds'") !=
        std::string::npos);
  CHECK(message({{"type", "frequency_cap"}}).find("needs 'max' with 'window_seconds'") !=
        std::string::npos);
  CHECK(message({{"type", "frequency_cap"}, {"max", 3}, {"window_seconds", 60}, {"every", 2}})
            .find("unknown field 'every'") != std::string::npos);
}

json TwoVariants(double control_weight, double test_weight) {
  return json::array({{{"name", "control"}, {"weight", control_weight}},
                      {{"name", "hot_first"}, {"weight", test_weight}, {"recipe", "hot"},
                       {"fallbacks", json::array()}, {"k", 3}}});
}

TEST_CASE("a user's variant is sticky, runs the variant's overrides and is recorded on the impressions") {
  DecideFixture f;
  f.Define("row", DecideFixture::Surface({{"variants", TwoVariants(1, 1)}}));
  WriteSet users;
  for (int u = 0; u < 40; ++u) users.ops.push_back(Node("User", "user-" + std::to_string(u)));
  REQUIRE(f.db->Apply(users).ok());
  std::map<std::string, std::string> first;
  for (int u = 0; u < 40; ++u) {
    std::string user = "user-" + std::to_string(u);
    json d = f.Decide("row", {{"user", user}});
    first[user] = d["variant"];
    auto logged = f.db->GetRecommendation(d["recommendation_id"].get<std::string>());
    REQUIRE(logged.ok());
    CHECK((*logged)["variant"] == d["variant"]);
    if (d["variant"] == "hot_first") {
      CHECK(d["items"].size() == 3);  // the variant's k
      CHECK(d["served_by"] == "primary");
      CHECK(d["items"][0]["id"] == "i25");  // the hot recipe: most expensive hot item first
    } else {
      CHECK(d["items"].size() == 5);
    }
  }
  std::set<std::string> seen;
  for (const auto& [user, variant] : first) {
    seen.insert(variant);
    CHECK(f.Decide("row", {{"user", user}})["variant"] == variant);
  }
  CHECK(seen.size() == 2);
  // Re-storing the surface keeps its salt, so every user keeps their variant.
  auto salt = (*decide::GetSurface(*f.db, "row"))["variant_salt"];
  CHECK(salt.get<std::string>().size() == 16);
  f.Define("row", DecideFixture::Surface({{"variants", TwoVariants(1, 1)}}));
  CHECK((*decide::GetSurface(*f.db, "row"))["variant_salt"] == salt);
  for (const auto& [user, variant] : first) CHECK(f.Decide("row", {{"user", user}})["variant"] == variant);
  // A surface without variants serves "default".
  f.Define("plain", DecideFixture::Surface());
  CHECK(f.Decide("plain", {{"user", "u1"}})["variant"] == "default");
}

TEST_CASE("variant weights split a seeded population of 10,000 users within statistical tolerance") {
  DecideFixture f;
  json def = DecideFixture::Surface({{"variants", TwoVariants(1, 3)}, {"variant_salt", "seed-42"}});
  auto parsed = decide::ParseSurface("row", def);
  REQUIRE(parsed.ok());
  auto base = std::make_shared<const decide::Surface>(std::move(parsed).value());
  int control = 0;
  for (int u = 0; u < 10000; ++u) {
    control += decide::VariantFor(base, "user-" + std::to_string(u))->variant == "control";
  }
  // Binomial(10000, 0.25): sd 43.3; 4 sd either side.
  CHECK(control > 2500 - 174);
  CHECK(control < 2500 + 174);
  // Another salt assigns users independently of the first.
  def["variant_salt"] = "seed-43";
  auto other = std::make_shared<const decide::Surface>(*decide::ParseSurface("row", def));
  int same = 0;
  for (int u = 0; u < 10000; ++u) {
    std::string user = "user-" + std::to_string(u);
    same += decide::VariantFor(base, user)->variant == decide::VariantFor(other, user)->variant;
  }
  CHECK(same > 6250 - 200);  // 0.25^2 + 0.75^2 = 0.625 by chance
  CHECK(same < 6250 + 200);
}

TEST_CASE("bad variants are rejected with a message naming the field") {
  DecideFixture f;
  auto message = [&](const json& variants) {
    return DefineError(f, {{"variants", variants}}).message();
  };
  CHECK(message(TwoVariants(0, 1)).find("variants[0].weight' must be a number above 0") != std::string::npos);
  CHECK(message(TwoVariants(1, -2)).find("variants[1].weight' must be a number above 0") != std::string::npos);
  CHECK(message(json::array({{{"name", "a"}}, {{"name", "a"}}})).find("variants[1].name' repeats 'a'") !=
        std::string::npos);
  CHECK(message(json::array()).find("'variants' must be a list of 1 to 16") != std::string::npos);
  CHECK(message(json::array({{{"name", "a"}, {"deadline_ms", 5}}})).find("unknown field 'deadline_ms' in variants[0]") !=
        std::string::npos);
  CHECK(message(json::array({{{"name", "a"}, {"k", 0}}})).find("variants[0]") != std::string::npos);
  CHECK(message(json::array({{{"name", "a"}, {"rules", json::array({{{"type", "filter"}, {"where", "i.nope >"}}})}}}))
            .find("variants[0]") != std::string::npos);
}

// A logged decision of `surface` served at ms, with two items.
WriteSet Logged(const std::string& id, const std::string& surface, const std::string& variant) {
  WriteSet set;
  json items = json::array({{{"id", "i1"}, {"slot", 0}}, {{"id", "i2"}, {"slot", 1}}});
  set.ops.push_back(ImpressionWrite{
      id, {{"surface", surface}, {"variant", variant}, {"user", "u1"}, {"items", items}},
      3600 * 1000});
  return set;
}

std::string IdAt(int64_t ms, int tail) {
  char buf[33];
  std::snprintf(buf, sizeof buf, "%012llx%020d", static_cast<unsigned long long>(ms), tail);
  return buf;
}

TEST_CASE("the report counts impressions, clicks and conversions per variant, with Wilson and Newcombe intervals") {
  DecideFixture f;
  f.Define("row", DecideFixture::Surface({{"variants", TwoVariants(1, 1)}}));
  int tail = 0;
  int64_t t = kStart;
  std::vector<std::string> control, test;
  auto log = [&](const std::string& surface, const std::string& variant, int64_t at) {
    std::string id = IdAt(at, ++tail);
    REQUIRE(f.db->Apply(Logged(id, surface, variant)).ok());
    return id;
  };
  for (int i = 0; i < 4; ++i) control.push_back(log("row", "control", t + i));
  for (int i = 0; i < 5; ++i) test.push_back(log("row", "hot_first", t + 10 + i));
  log("other", "control", t + 20);  // another surface
  log("row", "control", t - 5000);  // before the range
  int event = 0;
  auto outcome = [&](const std::string& id, const std::string& type, const std::string& item) {
    WriteSet set;
    set.ops.push_back(OutcomeWrite{id, "e" + std::to_string(++event), type, item, t + 100});
    REQUIRE(f.db->ApplyMany({set})[0].attributed == 1);
  };
  // control: 8 item impressions, clicks on 2 of them (one clicked twice, and a click on an
  // item it did not serve), 1 of 4 decisions converted.
  outcome(control[0], "click", "i1");
  outcome(control[0], "click", "i1");
  outcome(control[1], "click", "i2");
  outcome(control[2], "click", "i9");
  outcome(control[0], "purchase", "i1");
  outcome(control[3], "view", "i1");  // neither a click nor a conversion
  // hot_first: 10 item impressions, 5 clicked, 2 of 5 decisions converted.
  for (int i = 0; i < 5; ++i) outcome(test[i], "click", i % 2 ? "i1" : "i2");
  outcome(test[0], "purchase", "i2");
  outcome(test[1], "purchase", "i1");
  outcome(test[1], "purchase", "i2");

  auto report = decide::SurfaceReport(*f.db, "row", t, t + 1000);
  REQUIRE_MESSAGE(report.ok(), report.status().ToString());
  CHECK((*report)["control"] == "control");
  CHECK((*report)["complete"] == true);
  CHECK((*report)["decisions_scanned"] == 10);
  const json& c = (*report)["variants"][0];
  const json& h = (*report)["variants"][1];
  CHECK(c["variant"] == "control");
  CHECK(c["decisions"] == 4);
  CHECK(c["impressions"] == 8);
  CHECK(c["clicks"] == 4);
  CHECK(c["clicked_impressions"] == 2);
  CHECK(c["conversions"] == 1);
  CHECK(c["converted_decisions"] == 1);
  CHECK(c["ctr"]["value"].get<double>() == doctest::Approx(0.25));
  CHECK(c["ctr"]["low"].get<double>() == doctest::Approx(0.0714792128));
  CHECK(c["ctr"]["high"].get<double>() == doctest::Approx(0.5907245697));
  CHECK(c["conversion_rate"]["low"].get<double>() == doctest::Approx(0.0455872608));
  CHECK(c["conversion_rate"]["high"].get<double>() == doctest::Approx(0.6993581574));
  CHECK_FALSE(c.contains("vs_control"));
  CHECK(h["variant"] == "hot_first");
  CHECK(h["impressions"] == 10);
  CHECK(h["clicked_impressions"] == 5);
  CHECK(h["conversions"] == 3);
  CHECK(h["converted_decisions"] == 2);
  CHECK(h["ctr"]["low"].get<double>() == doctest::Approx(0.2365930905));
  CHECK(h["ctr"]["high"].get<double>() == doctest::Approx(0.7634069095));
  CHECK(h["conversion_rate"]["value"].get<double>() == doctest::Approx(0.4));
  CHECK(h["vs_control"]["ctr"]["value"].get<double>() == doctest::Approx(0.25));
  CHECK(h["vs_control"]["ctr"]["low"].get<double>() == doctest::Approx(-0.1806697486));
  CHECK(h["vs_control"]["ctr"]["high"].get<double>() == doctest::Approx(0.5682025635));
  CHECK(h["vs_control"]["conversion_rate"]["value"].get<double>() == doctest::Approx(0.15));
  CHECK(h["vs_control"]["conversion_rate"]["low"].get<double>() == doctest::Approx(-0.3807172324));
  CHECK(h["vs_control"]["conversion_rate"]["high"].get<double>() == doctest::Approx(0.5720771545));

  // A bounded scan says where it stopped.
  auto partial = decide::SurfaceReport(*f.db, "row", t, t + 1000, {.limits = {3}});
  REQUIRE(partial.ok());
  CHECK((*partial)["complete"] == false);
  CHECK((*partial)["variants"][0]["decisions"] == 3);
  CHECK((*partial)["scanned_until_ms"] == t + 2);
  CHECK(decide::SurfaceReport(*f.db, "nope", t, t + 1).status().code() == Status::Code::kNotFound);
  CHECK(decide::SurfaceReport(*f.db, "row", t, t).status().code() == Status::Code::kInvalidArgument);
}

decide::ReportOptions Shape(size_t buckets, size_t recent) {
  decide::ReportOptions options;
  options.buckets = buckets;
  options.recent = recent;
  return options;
}

TEST_CASE("the report's series splits the range into equal buckets, and it lists the latest decisions and the explored share") {
  DecideFixture f;
  f.Define("row", DecideFixture::Surface({{"variants", TwoVariants(1, 1)}}));
  const int64_t t = kStart;
  auto log = [&](int64_t at, int tail, bool explored) {
    WriteSet set = Logged(IdAt(at, tail), "row", "control");
    auto& record = std::get<ImpressionWrite>(set.ops[0]);
    if (explored) record.record["items"][1]["reasons"] = json::array({"explore: new item"});
    REQUIRE(f.db->Apply(set).ok());
    return IdAt(at, tail);
  };
  log(t + 100, 1, true);
  const std::string second = log(t + 200, 2, false);
  const std::string last = log(t + 700, 3, true);
  WriteSet click;
  click.ops.push_back(OutcomeWrite{last, "e1", "click", "i2", t + 800});
  REQUIRE(f.db->ApplyMany({click})[0].attributed == 1);

  auto report = decide::SurfaceReport(*f.db, "row", t, t + 1000, Shape(2, 2));
  REQUIRE_MESSAGE(report.ok(), report.status().ToString());
  const json& c = (*report)["variants"][0];
  CHECK(c["impressions"] == 6);
  CHECK(c["explored_impressions"] == 2);
  CHECK(c["exploration_share"].get<double>() == doctest::Approx(2.0 / 6));
  REQUIRE(c["series"].size() == 2);
  CHECK(c["series"][0]["since_ms"] == t);
  CHECK(c["series"][0]["until_ms"] == t + 500);
  CHECK(c["series"][0]["decisions"] == 2);
  CHECK(c["series"][0]["explored_impressions"] == 1);
  CHECK(c["series"][0]["ctr"].get<double>() == doctest::Approx(0.0));
  CHECK(c["series"][1]["decisions"] == 1);
  CHECK(c["series"][1]["ctr"].get<double>() == doctest::Approx(0.5));
  // The other variant has a series of empty buckets, with a null ctr.
  CHECK((*report)["variants"][1]["series"][1]["ctr"].is_null());
  // Newest first, at most `recent`.
  REQUIRE((*report)["recent"].size() == 2);
  CHECK((*report)["recent"][0]["recommendation_id"] == last);
  CHECK((*report)["recent"][0]["outcomes"] == 1);
  CHECK((*report)["recent"][0]["items"] == 2);
  CHECK((*report)["recent"][1]["recommendation_id"] == second);
  // Without options there is neither a series nor a list.
  auto plain = decide::SurfaceReport(*f.db, "row", t, t + 1000);
  REQUIRE(plain.ok());
  CHECK_FALSE((*plain)["variants"][0].contains("series"));
  CHECK_FALSE(plain->contains("recent"));
  CHECK(decide::SurfaceReport(*f.db, "row", t, t + 1000, Shape(decide::kMaxReportBuckets + 1, 0))
            .status().code() == Status::Code::kInvalidArgument);
  CHECK(decide::SurfaceReport(*f.db, "row", t, t + 1000, Shape(0, decide::kMaxReportRecent + 1))
            .status().code() == Status::Code::kInvalidArgument);
}

TEST_CASE("a variant with no impressions has null rates and differences, not an error") {
  DecideFixture f;
  f.Define("row", DecideFixture::Surface({{"variants", TwoVariants(1, 1)}}));
  auto report = decide::SurfaceReport(*f.db, "row", kStart, kStart + 1000);
  REQUIRE(report.ok());
  CHECK((*report)["variants"].size() == 2);
  CHECK((*report)["variants"][0]["ctr"].is_null());
  CHECK((*report)["variants"][1]["vs_control"]["ctr"].is_null());
}

TEST_CASE("Wilson intervals of 0 and all successes stay inside [0, 1]") {
  CHECK(decide::Wilson(0, 6).low == 0);
  CHECK(decide::Wilson(6, 6).high == 1);
  decide::Interval none = decide::Wilson(0, 20), all = decide::Wilson(20, 20);
  CHECK(none.low == 0);
  CHECK(none.high == doctest::Approx(0.1611251581));
  CHECK(all.high == doctest::Approx(1.0));
  CHECK(all.low == doctest::Approx(1 - 0.1611251581));
}

}  // namespace
}  // namespace pathwise::testing
