// features/: counter declarations and values derived from integer buckets.
#include <cmath>

#include <doctest/doctest.h>

#include "features/features.h"

namespace pathwise::features {
namespace {

using json = nlohmann::json;
constexpr int64_t kHour = 3600 * 1000;

std::vector<CounterDef> Defs(const json& j) {
  auto defs = ParseCounters(j);
  REQUIRE(defs.ok());
  return std::move(defs).value();
}

Status DeclarationError(const json& counter) { return ParseCounters(json::array({counter})).status(); }

TEST_CASE("a count counter sums the whole buckets that end inside its window before T") {
  CounterSet set(Defs(json::parse(
      R"([{"name":"views_24h","key":"item","source":{"events":["view"]},"window":"24h","bucket":"1h"}])")));
  set.AddEvent({"view", "u1", "i1", 10 * kHour + 5});   // bucket [10h, 11h)
  set.AddEvent({"view", "u2", "i1", 10 * kHour + 99});  // same bucket
  set.AddEvent({"click", "u1", "i1", 10 * kHour});      // another type: not counted
  KeyFields item{"", "i1", ""};
  CHECK(set.Value("views_24h", item, 11 * kHour - 1).value() == 0);  // bucket not complete yet
  CHECK(set.Value("views_24h", item, 11 * kHour).value() == 2);      // its end reached
  CHECK(set.Value("views_24h", item, 35 * kHour - 1).value() == 2);  // end still inside
  CHECK(set.Value("views_24h", item, 35 * kHour).value() == 0);      // end left the window
  CHECK(set.Value("views_24h", KeyFields{"", "other", ""}, 11 * kHour).value() == 0);
  CHECK_FALSE(set.Value("nope", item, 0).ok());
}

TEST_CASE("a decayed counter halves a bucket's count every half-life after the bucket's end") {
  CounterSet set(Defs(json::parse(
      R"([{"name":"pop","key":"item","source":{"events":["view"]},"window":"7d","bucket":"1h","form":"decayed","half_life":"2h"}])")));
  set.AddEvent({"view", "u1", "i1", 0});
  set.AddEvent({"view", "u1", "i1", 1});
  KeyFields item{"", "i1", ""};
  CHECK(set.Value("pop", item, kHour).value() == 2.0);
  CHECK(set.Value("pop", item, 3 * kHour).value() == 1.0);
  CHECK(set.Value("pop", item, 5 * kHour).value() == 0.5);
}

TEST_CASE("a ratio divides numerator plus alpha by denominator plus alpha plus beta per key") {
  CounterSet set(Defs(json::parse(R"([
    {"name":"clicks","key":"item","source":{"events":["click"]},"window":"24h","bucket":"1h"},
    {"name":"shown","key":"item","source":"impressions","window":"24h","bucket":"1h"},
    {"name":"ctr","key":"item","form":"ratio","numerator":"clicks","denominator":"shown","alpha":1,"beta":9}])")));
  set.AddImpression({"home", "u1", {"i1", "i2"}, 0});
  set.AddImpression({"home", "u2", {"i1"}, 0});
  set.AddEvent({"click", "u1", "i1", 5});
  CHECK(set.Value("ctr", KeyFields{"", "i1", ""}, kHour).value() == (1.0 + 1) / (2.0 + 10));
  CHECK(set.Value("ctr", KeyFields{"", "i2", ""}, kHour).value() == 1.0 / 11);
  CHECK(set.Value("ctr", KeyFields{"", "never", ""}, kHour).value() == 0.1);
  size_t ratio_keys = 0;
  set.ForEach(kHour, [&](const CounterDef& def, const KeyFields&, double) {
    ratio_keys += def.name == "ctr";
  });
  CHECK(ratio_keys == 2);
}

TEST_CASE("a segment_item counter counts per segment and ignores observations without one") {
  CounterSet set(Defs(json::parse(R"([
    {"name":"clicks","key":"segment_item","source":{"events":["click"]},"window":"24h","bucket":"1h"},
    {"name":"shown","key":"segment_item","source":"impressions","window":"24h","bucket":"1h"},
    {"name":"ctr","key":"segment_item","form":"ratio","numerator":"clicks","denominator":"shown","alpha":1,"beta":9}])")));
  set.AddEvent({"click", "u1", "i1", 5, "young"});
  set.AddEvent({"click", "u2", "i1", 6, "young"});
  set.AddEvent({"click", "u3", "i1", 7, "old"});
  set.AddEvent({"click", "u4", "i1", 8});  // no segment: not counted
  set.AddImpression({"home", "u1", {"i1", "i2"}, 0, "young"});
  set.AddImpression({"home", "u2", {"i1"}, 0, "young"});
  set.AddImpression({"home", "u3", {"i1"}, 0});  // no segment: not counted
  auto key = [](const char* segment, const char* item) { return KeyFields{"", item, "", segment}; };
  CHECK(set.Value("clicks", key("young", "i1"), kHour).value() == 2);
  CHECK(set.Value("clicks", key("old", "i1"), kHour).value() == 1);
  CHECK(set.Value("clicks", key("", "i1"), kHour).value() == 0);
  CHECK(set.Value("shown", key("young", "i1"), kHour).value() == 2);
  CHECK(set.Value("shown", key("young", "i2"), kHour).value() == 1);
  CHECK(set.Value("ctr", key("young", "i1"), kHour).value() == (2.0 + 1) / (2.0 + 10));
  CHECK(set.Value("ctr", key("old", "i1"), kHour).value() == (1.0 + 1) / (0.0 + 10));
  CHECK(set.Value("ctr", key("nobody", "i1"), kHour).value() == 0.1);
  std::vector<json> lines;
  set.ForEach(kHour, [&](const CounterDef& d, const KeyFields& k, double v) { lines.push_back(ValueLine(d, k, v)); });
  REQUIRE(lines.size() == 2 + 2 + 3);  // clicks: (old, i1), (young, i1); shown: 2; ctr: 3
  CHECK(lines[0] == json{{"counter", "clicks"}, {"segment", "old"}, {"item", "i1"}, {"value", 1.0}});
  CHECK(lines[1]["segment"] == "young");
  CHECK(KeyFieldNames(KeyKind::kSegmentItem) == std::vector<std::string>{"segment", "item"});
  CHECK(set.Stats()["counters"]["clicks"]["keys"] == 2);
}

TEST_CASE("the same observations in another order give the same values to the last bit") {
  auto defs = Defs(json::parse(R"([
    {"name":"d","key":"user_item","source":{"events":["view"]},"window":"24h","form":"decayed","half_life":"3h"},
    {"name":"s","key":"item_surface","source":"impressions","window":"24h"},
    {"name":"g","key":"segment_item","source":{"events":["view"]},"window":"24h"}])"));
  std::vector<Event> events;
  for (int i = 0; i < 200; ++i) {
    events.push_back({"view", "u" + std::to_string(i % 7), "i" + std::to_string(i % 5), i * 397 * 1000LL,
                      i % 3 == 0 ? "" : "s" + std::to_string(i % 2)});
  }
  CounterSet forward(defs), backward(defs);
  for (const auto& e : events) forward.AddEvent(e);
  for (auto it = events.rbegin(); it != events.rend(); ++it) backward.AddEvent(*it);
  forward.AddImpression({"home", "u1", {"i1", "i2"}, 1000});
  forward.AddImpression({"row", "u1", {"i1"}, 2000});
  backward.AddImpression({"row", "u1", {"i1"}, 2000});
  backward.AddImpression({"home", "u1", {"i1", "i2"}, 1000});
  std::vector<json> a, b;
  const int64_t at = 200 * 397 * 1000LL;
  forward.ForEach(at, [&](const CounterDef& d, const KeyFields& k, double v) { a.push_back(ValueLine(d, k, v)); });
  backward.ForEach(at, [&](const CounterDef& d, const KeyFields& k, double v) { b.push_back(ValueLine(d, k, v)); });
  CHECK(a.size() > 10);
  CHECK(a == b);
}

TEST_CASE("new keys beyond max_keys are refused and reported in stats") {
  CounterSet set(Defs(json::parse(
      R"([{"name":"v","key":"user","source":{"events":["view"]},"window":"1h","max_keys":2}])")));
  set.AddEvent({"view", "a", "i", 0});
  set.AddEvent({"view", "b", "i", 0});
  set.AddEvent({"view", "c", "i", 0});
  set.AddEvent({"view", "a", "i", 1});  // a known key is still counted
  CHECK(set.Stats()["counters"]["v"]["keys"] == 2);
  CHECK(set.Stats()["counters"]["v"]["refused_keys"] == 1);
  CHECK(set.Value("v", KeyFields{"a", "", ""}, kHour).value() == 2);
  // Once the old keys left the window, room is made for new ones.
  set.AddEvent({"view", "c", "i", 5 * kHour});
  CHECK(set.Value("v", KeyFields{"c", "", ""}, 6 * kHour).value() == 1);
}

TEST_CASE("bad counter declarations are errors naming the counter") {
  CHECK(DeclarationError(json::parse(R"({"name":"x","key":"item","source":{"events":["v"]}})")).message().find("window") != std::string::npos);
  CHECK(DeclarationError(json::parse(R"({"name":"x","key":"shop","source":"impressions","window":"1d"})")).code() == Status::Code::kInvalidArgument);
  CHECK(DeclarationError(json::parse(R"({"name":"x","key":"item","source":"impressions","window":"-1d"})")).code() == Status::Code::kInvalidArgument);
  CHECK(DeclarationError(json::parse(R"({"name":"x","key":"item","source":"impressions","window":0})")).code() == Status::Code::kInvalidArgument);
  CHECK(DeclarationError(json::parse(R"({"name":"x","key":"item","source":"impressions","window":"1d","bucket":"2d"})")).code() == Status::Code::kInvalidArgument);
  CHECK(DeclarationError(json::parse(R"({"name":"x","key":"item","source":"impressions","window":"7d","bucket":"1s"})")).message().find("buckets") != std::string::npos);
  CHECK(DeclarationError(json::parse(R"({"name":"x","key":"item","source":"impressions","window":"1d","form":"decayed"})")).message().find("half_life") != std::string::npos);
  CHECK(DeclarationError(json::parse(R"({"name":"x","key":"item_surface","source":{"events":["v"]},"window":"1d"})")).message().find("impressions") != std::string::npos);
  CHECK(DeclarationError(json::parse(R"({"name":"x","key":"item","source":"impressions","window":"1d","colour":1})")).message().find("colour") != std::string::npos);
  CHECK(DeclarationError(json::parse(R"({"name":"x","key":"item","form":"ratio","numerator":"a","denominator":"b"})")).message().find("unknown counter") != std::string::npos);
  CHECK(DeclarationError(json::parse(R"({"name":"9x","key":"item","source":"impressions","window":"1d"})")).code() == Status::Code::kInvalidArgument);
  auto wrong_key = ParseCounters(json::parse(R"([
    {"name":"a","key":"user","source":"impressions","window":"1d"},
    {"name":"r","key":"item","form":"ratio","numerator":"a","denominator":"a"}])"));
  CHECK(wrong_key.status().message().find("keyed by user") != std::string::npos);
  auto twice = ParseCounters(json::parse(R"([
    {"name":"a","key":"user","source":"impressions","window":"1d"},
    {"name":"a","key":"user","source":"impressions","window":"2d"}])"));
  CHECK(twice.status().message().find("declared twice") != std::string::npos);
  CHECK_FALSE(ParseCounters(json::object()).ok());
}

TEST_CASE("a declaration written back as JSON parses to the same declaration") {
  auto defs = Defs(json::parse(R"([
    {"name":"a","key":"user","source":"impressions","window":"1d"},
    {"name":"b","key":"user","source":{"events":["click"]},"window":"7d","form":"decayed","half_life":"1d"},
    {"name":"r","key":"user","form":"ratio","numerator":"b","denominator":"a","alpha":2},
    {"name":"s","key":"segment_item","source":"impressions","window":"1d"}])"));
  json written = json::array();
  for (const auto& d : defs) written.push_back(CounterToJson(d));
  auto again = ParseCounters(written);
  REQUIRE(again.ok());
  for (size_t i = 0; i < defs.size(); ++i) CHECK(CounterToJson((*again)[i]) == written[i]);
  CHECK(defs[0].bucket_ms == 3600 * 1000);  // window / 24
}

}  // namespace
}  // namespace pathwise::features
