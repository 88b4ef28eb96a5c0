// The proof that counters have one definition: a recorded stream of events and decisions goes
// through a real Database (events parsed by POST /v1/events' own parser), the online counter
// values at T are read, and `pathwise export features --as-of T` (the real binary, folding the
// stored logs) writes exactly the same values; so does the database rebuilt at reopen.
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <set>

#include "features/features.h"
#include "server/write_ops.h"
#include "server_fixture.h"

namespace pathwise::server::testing {
namespace {

using json = nlohmann::json;
constexpr int64_t kHour = 3600 * 1000;

constexpr char kCounters[] = R"({"counters": [
  {"name": "views_24h", "key": "item", "source": {"events": ["view"]}, "window": "24h"},
  {"name": "views_decayed", "key": "item", "source": {"events": ["view", "click"]},
   "window": "7d", "bucket": "1h", "form": "decayed", "half_life": "1d"},
  {"name": "user_actions_3d", "key": "user", "source": {"events": ["click", "purchase"]},
   "window": "3d", "bucket": "15m"},
  {"name": "user_item_views", "key": "user_item", "source": {"events": ["view"]}, "window": "2d"},
  {"name": "impressions_24h", "key": "user_item", "source": "impressions", "window": "24h"},
  {"name": "item_impressions_7d", "key": "item", "source": "impressions", "window": "7d"},
  {"name": "clicks_7d", "key": "item", "source": {"events": ["click"]}, "window": "7d"},
  {"name": "ctr", "key": "item", "form": "ratio", "numerator": "clicks_7d",
   "denominator": "item_impressions_7d", "alpha": 1, "beta": 20},
  {"name": "surface_impressions", "key": "item_surface", "source": "impressions", "window": "2d",
   "bucket": "30m"},
  {"name": "surface_decayed", "key": "item_surface", "source": "impressions", "window": "2d",
   "form": "decayed", "half_life": "6h"},
  {"name": "segment_clicks", "key": "segment_item", "source": {"events": ["click"]}, "window": "7d"},
  {"name": "segment_impressions", "key": "segment_item", "source": "impressions", "window": "7d",
   "bucket": "1h"},
  {"name": "segment_ctr", "key": "segment_item", "form": "ratio", "numerator": "segment_clicks",
   "denominator": "segment_impressions", "alpha": 1, "beta": 10}]})";

// Most observations carry one of three segments; every fourth (decisions) or fifth (events) none.
std::string SegmentOf(int index, int none_every) {
  return index % none_every == 0 ? "" : "s" + std::to_string(index % 3);
}

std::string RecommendationId(int64_t served_ms, std::mt19937_64& rng) {
  char id[33];
  std::snprintf(id, sizeof id, "%012llx%020llx", static_cast<unsigned long long>(served_ms),
                static_cast<unsigned long long>(rng() >> 1));
  return std::string(id, 32);
}

// A recorded stream over three days before `end`: decisions (impressions) and events, some of
// them clicks carrying the decision's recommendation_id, applied in batches out of time order;
// most with a segment (the decision's as the decider logs it, from the request's context).
struct Stream {
  std::vector<std::string> event_bodies;  // NDJSON bodies of POST /v1/events
  std::vector<WriteSet> decisions;
  std::vector<json> event_lines;
  std::vector<features::Impression> impressions;
};

Stream Record(int64_t end) {
  std::mt19937_64 rng(20261204);
  Stream s;
  const int64_t start = end - 3 * 24 * kHour;
  std::uniform_int_distribution<int64_t> when(start, end);
  std::uniform_int_distribution<int> user(0, 24), item(0, 14), surface(0, 1), type(0, 9);
  for (int d = 0; d < 300; ++d) {
    const int64_t served = when(rng);
    const std::string u = "u" + std::to_string(user(rng));
    const std::string sf = surface(rng) == 0 ? "home" : "detail";
    json items = json::array();
    std::vector<std::string> ids;
    for (int slot = 0; slot < 3; ++slot) {
      ids.push_back("i" + std::to_string(item(rng)));
      items.push_back({{"id", ids.back()}, {"slot", slot}, {"score", 1.0 / (slot + 1)}});
    }
    const std::string rec = RecommendationId(served, rng);
    const std::string segment = SegmentOf(d, 4);
    json record = {{"surface", sf}, {"user", u}, {"items", items}};
    if (!segment.empty()) record["segment"] = segment;
    WriteSet set;
    set.ops.push_back(ImpressionWrite{rec, record, 24 * kHour});
    s.decisions.push_back(std::move(set));
    s.impressions.push_back({sf, u, ids, served, segment});
    if (d % 3 == 0) {  // a click on the first item, attributed to the decision
      json click = {{"event_id", "c" + std::to_string(d)}, {"user", u}, {"item", ids[0]},
                    {"type", "click"}, {"ts", served + 5000}, {"recommendation_id", rec}};
      if (!segment.empty()) click["segment"] = segment;
      s.event_lines.push_back(std::move(click));
    }
  }
  static const char* const kTypes[] = {"view", "view", "view", "view", "view",
                                       "view", "click", "click", "purchase", "view"};
  for (int e = 0; e < 1500; ++e) {
    s.event_lines.push_back({{"event_id", "e" + std::to_string(e)},
                             {"user", "u" + std::to_string(user(rng))},
                             {"item", "i" + std::to_string(item(rng))},
                             {"type", kTypes[type(rng)]},
                             {"ts", when(rng)}});
    if (e % 5 != 0) s.event_lines.back()["segment"] = SegmentOf(e, 5);
  }
  s.event_lines.push_back(s.event_lines[7]);  // a duplicate: applied and counted once
  std::shuffle(s.event_lines.begin(), s.event_lines.end(), rng);
  for (size_t i = 0; i < s.event_lines.size(); i += 100) {
    std::string body;
    for (size_t j = i; j < std::min(i + 100, s.event_lines.size()); ++j) {
      body += s.event_lines[j].dump() + "\n";
    }
    s.event_bodies.push_back(std::move(body));
  }
  return s;
}

std::vector<json> OnlineValues(const Database& db, int64_t at) {
  std::vector<json> out;
  db.ForEachCounterValue(at, [&](const features::CounterDef& def, const features::KeyFields& key,
                                 double value) { out.push_back(features::ValueLine(def, key, value)); });
  return out;
}

std::vector<json> Export(const std::string& data, int64_t at, const std::string& out) {
  const std::string command = std::string(PATHWISE_BINARY_DIR) + "/pathwise export features --data " +
                              data + " --as-of " + std::to_string(at) + " --out " + out +
                              " 2>/dev/null";
  const int rc = std::system(command.c_str());
  REQUIRE((WIFEXITED(rc) && WEXITSTATUS(rc) == 0));
  std::vector<json> lines;
  std::ifstream in(out);
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
  return lines;
}

DatabaseOptions NoBackground() {
  DatabaseOptions options;
  options.checkpoint_interval_seconds = 0;
  options.impression_retention_days = 0;
  options.event_retention_days = 0;
  return options;
}

TEST_CASE("online counters at T equal the offline export at T exactly and so does the rebuild at open") {
  TempDir dir;
  const std::string data = dir.Sub("data");
  // Recent times, so the rebuild at reopen (the counters' horizon before now) holds them all.
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const int64_t end = now - kHour;
  Stream stream = Record(end);
  EventTypeTable table;
  table["view"] = EventType{"VIEWED", "User", "Item", 1.0};
  table["click"] = EventType{"LIKED", "User", "Item", 1.0};
  table["purchase"] = EventType{"LIKED", "User", "Item", 1.0};
  const int64_t at = end + 1234567;  // after every ts; not on a bucket boundary
  const int64_t mid = end - 30 * kHour - 777;  // a point in time inside the stream
  std::vector<json> online;
  size_t accepted = 0;
  {
    auto opened = Database::Open(NoBackground(), data);
    REQUIRE(opened.ok());
    auto db = std::move(opened).value();
    REQUIRE(db->MergeSchema(kSchema).ok());
    WriteSet items;
    for (int i = 0; i < 15; ++i) {
      items.ops.push_back(NodeWrite{NodeWrite::Op::kUpsert, "Item", "i" + std::to_string(i), {}});
    }
    REQUIRE(db->Apply(items).ok());
    REQUIRE(db->MergeSchema(kCounters).ok());
    size_t next_decision = 0;
    for (const std::string& body : stream.event_bodies) {
      std::vector<WriteSet> sets;
      for (auto& line : ParseEvents(body, table)) {
        REQUIRE(line.status.ok());
        sets.push_back(std::move(line.writes));
      }
      for (const auto& outcome : db->ApplyMany(sets)) {
        REQUIRE(outcome.status.ok());
        accepted += !outcome.duplicate;
      }
      for (size_t k = 0; k < 20 && next_decision < stream.decisions.size(); ++k) {
        REQUIRE(db->Apply(stream.decisions[next_decision++]).ok());
      }
    }
    while (next_decision < stream.decisions.size()) {
      REQUIRE(db->Apply(stream.decisions[next_decision++]).ok());
    }
    online = OnlineValues(*db, at);
  }
  CHECK(accepted == stream.event_lines.size() - 1);
  REQUIRE(online.size() > 100);
  std::set<std::string> counters_seen;
  for (const json& line : online) counters_seen.insert(line["counter"].get<std::string>());
  CHECK(counters_seen.size() == 13);

  const std::vector<json> offline = Export(data, at, dir.Sub("features.ndjson"));
  REQUIRE(offline.size() == online.size());
  for (size_t i = 0; i < online.size(); ++i) {
    INFO(online[i].dump(), " vs ", offline[i].dump());
    CHECK(offline[i] == online[i]);  // == on the values: exact, not near
  }

  auto reopened = Database::Open(NoBackground(), data);
  REQUIRE(reopened.ok());
  CHECK(OnlineValues(**reopened, at) == online);

  // Point in time: the export at mid counts only what happened at or before mid.
  auto defs = features::ParseCounters(json::parse(kCounters)["counters"]);
  REQUIRE(defs.ok());
  features::CounterSet expected(*defs);
  std::set<std::string> seen_ids;
  for (const json& e : stream.event_lines) {
    if (!seen_ids.insert(e["event_id"].get<std::string>()).second) continue;
    if (e["ts"].get<int64_t>() <= mid) {
      expected.AddEvent({e["type"].get<std::string>(), e["user"].get<std::string>(),
                         e["item"].get<std::string>(), e["ts"].get<int64_t>(),
                         e.value("segment", std::string())});
    }
  }
  for (const auto& impression : stream.impressions) {
    if (impression.ts <= mid) expected.AddImpression(impression);
  }
  std::vector<json> expected_lines;
  expected.ForEach(mid, [&](const features::CounterDef& def, const features::KeyFields& key,
                            double value) { expected_lines.push_back(features::ValueLine(def, key, value)); });
  reopened->reset();
  const std::vector<json> at_mid = Export(data, mid, dir.Sub("mid.ndjson"));
  REQUIRE(at_mid.size() == expected_lines.size());
  CHECK(at_mid == expected_lines);
  CHECK(at_mid != offline);
}

}  // namespace
}  // namespace pathwise::server::testing
