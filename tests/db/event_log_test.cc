// db/: the event log (sequence numbers, atomicity with the event's edge and dedupe key,
// recovery at open, retention) and the counters the write path feeds.
#include <algorithm>
#include <filesystem>
#include <random>
#include <set>
#include <thread>

#include <doctest/doctest.h>

#include "db/database.h"

namespace pathwise {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

struct TempDir {
  std::string path;
  TempDir() {
    path = (fs::temp_directory_path() / ("pathwise_evlog_" + std::to_string(::getpid()) + "_" +
                                         std::to_string(counter++)))
               .string();
    fs::remove_all(path);
  }
  ~TempDir() { fs::remove_all(path); }
  static inline int counter = 0;
};

DatabaseOptions Quiet() {
  DatabaseOptions o;
  o.checkpoint_interval_seconds = 0;
  o.impression_retention_days = 0;
  o.event_retention_days = 0;
  return o;
}

std::unique_ptr<Database> OpenDb(const std::string& dir) {
  auto db = Database::Open(Quiet(), dir);
  REQUIRE(db.ok());
  return std::move(db).value();
}

void Setup(Database* db) {
  REQUIRE(db->MergeSchema(R"({"node_types":[{"name":"User"},{"name":"Item"}],
    "edge_types":[{"name":"VIEWED","mode":"accumulate","from":"User","to":"Item"}]})").ok());
  WriteSet items;
  for (const char* id : {"i1", "i2"}) items.ops.push_back(NodeWrite{NodeWrite::Op::kUpsert, "Item", id, {}});
  REQUIRE(db->Apply(items).ok());
}

// An event's write set as POST /v1/events builds it: the edge, the logged event, the dedupe key.
WriteSet Event(const std::string& id, const std::string& user, const std::string& item, int64_t ts,
               const std::string& segment = "") {
  EdgeWrite edge;
  edge.type = "VIEWED";
  edge.from = NodeRef{"User", user, true};
  edge.to = NodeRef{"Item", item, false};
  edge.weight = 1.0;
  edge.ts = ts;
  return EventWriteSet(std::move(edge), EventWrite{id, "view", user, item, ts, 1.0, "", segment});
}

// A whole hour ten hours before now: recent, so the rebuild at open (events within the
// counters' horizon) keeps events at it.
int64_t TenHoursAgo() {
  const int64_t hour = 3600 * 1000;
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  return (now / hour - 10) * hour;
}

std::vector<LoggedEvent> Logged(const Database& db) {
  std::vector<LoggedEvent> out;
  REQUIRE(db.ScanEvents(INT64_MIN, INT64_MAX, [&](const LoggedEvent& e) {
    out.push_back(e);
    return true;
  }).ok());
  return out;
}

TEST_CASE("accepted events are logged in stage order with consecutive sequence numbers") {
  TempDir dir;
  auto db = OpenDb(dir.path);
  Setup(db.get());
  std::vector<WriteSet> sets = {Event("e1", "u1", "i1", 3000), Event("e2", "u2", "i2", 1000),
                                Event("e3", "u1", "i2", 2000)};
  for (const auto& outcome : db->ApplyMany(sets)) CHECK(outcome.status.ok());
  auto log = Logged(*db);
  REQUIRE(log.size() == 3);
  CHECK(log[0].event_id == "e1");
  CHECK(log[1].event_id == "e2");
  CHECK(log[2].event_id == "e3");
  CHECK(log[0].sequence == 1);
  CHECK(log[2].sequence == 3);
  CHECK(log[1].ts == 1000);
  CHECK(log[1].user == "u2");
  CHECK(log[1].type == "view");
  size_t in_range = 0;
  REQUIRE(db->ScanEvents(1500, 3000, [&](const LoggedEvent&) { return ++in_range, true; }).ok());
  CHECK(in_range == 1);  // only e3 (ts 2000): since <= ts < until
}

TEST_CASE("a duplicate or rejected event logs nothing and takes no sequence number") {
  TempDir dir;
  auto db = OpenDb(dir.path);
  Setup(db.get());
  REQUIRE(db->Apply(Event("e1", "u1", "i1", 1000)).ok());
  std::vector<WriteOutcome> dup = db->ApplyMany({Event("e1", "u1", "i1", 1000)});
  CHECK(dup[0].duplicate);
  CHECK(db->Apply(Event("e2", "u1", "no-such-item", 1000)).code() == Status::Code::kNotFound);
  REQUIRE(db->Apply(Event("e3", "u1", "i2", 1000)).ok());
  auto log = Logged(*db);
  REQUIRE(log.size() == 2);
  CHECK(log[0].event_id == "e1");
  CHECK(log[1].event_id == "e3");
  CHECK(log[1].sequence == 2);
}

TEST_CASE("the event log survives reopen and numbering continues after its last entry") {
  TempDir dir;
  {
    auto db = OpenDb(dir.path);
    Setup(db.get());
    REQUIRE(db->Apply(Event("e1", "u1", "i1", 1000)).ok());
    REQUIRE(db->Apply(Event("e2", "u1", "i2", 2000)).ok());
  }
  auto db = OpenDb(dir.path);
  REQUIRE(db->Apply(Event("e3", "u2", "i1", 3000)).ok());
  auto log = Logged(*db);
  REQUIRE(log.size() == 3);
  CHECK(log[0].event_id == "e1");
  CHECK(log[2].event_id == "e3");
  CHECK(log[2].sequence == 3);
}

TEST_CASE("an event's segment survives the log round trip and reopen and rebuilds its counters") {
  TempDir dir;
  const int64_t hour = 3600 * 1000;
  const int64_t base = TenHoursAgo();
  constexpr char kCounter[] = R"({"counters":[{"name":"seg_views","key":"segment_item",
    "source":{"events":["view"]},"window":"24h","bucket":"1h"}]})";
  auto key = [](const char* segment) { return features::KeyFields{"", "i1", "", segment}; };
  {
    auto db = OpenDb(dir.path);
    Setup(db.get());
    REQUIRE(db->MergeSchema(kCounter).ok());
    REQUIRE(db->Apply(Event("e1", "u1", "i1", base, "young")).ok());
    REQUIRE(db->Apply(Event("e2", "u2", "i1", base + 1, "young")).ok());
    REQUIRE(db->Apply(Event("e3", "u3", "i1", base + 2)).ok());  // no segment
    CHECK(db->Apply(Event("e4", "u3", "i1", base, std::string(kMaxIdBytes + 1, 's'))).code() ==
          Status::Code::kInvalidArgument);
    CHECK(db->CounterValue("seg_views", key("young"), base + hour).value() == 2);
  }
  auto db = OpenDb(dir.path);
  auto log = Logged(*db);
  REQUIRE(log.size() == 3);
  CHECK(log[0].segment == "young");
  CHECK(log[1].segment == "young");
  CHECK(log[2].segment.empty());
  CHECK(db->CounterValue("seg_views", key("young"), base + hour).value() == 2);  // rebuilt
  CHECK(db->CounterValue("seg_views", key(""), base + hour).value() == 0);
}

TEST_CASE("expiring events deletes the log's prefix logged before the cut") {
  TempDir dir;
  auto db = OpenDb(dir.path);
  Setup(db.get());
  REQUIRE(db->Apply(Event("e1", "u1", "i1", 1000)).ok());
  REQUIRE(db->Apply(Event("e2", "u1", "i2", 2000)).ok());
  const int64_t logged = Logged(*db)[1].logged_ms;
  REQUIRE(db->ExpireEvents(logged - 1000000).ok());  // before both: nothing goes
  CHECK(Logged(*db).size() == 2);
  REQUIRE(db->ExpireEvents(logged + 1).ok());
  CHECK(Logged(*db).empty());
  REQUIRE(db->Apply(Event("e3", "u1", "i1", 3000)).ok());
  CHECK(Logged(*db)[0].sequence == 3);  // numbers are never reused
}

TEST_CASE("declared counters are fed by applied events and rebuilt from the log at open") {
  TempDir dir;
  const int64_t hour = 3600 * 1000;
  const int64_t base = TenHoursAgo();
  {
    auto db = OpenDb(dir.path);
    Setup(db.get());
    REQUIRE(db->Apply(Event("e0", "u1", "i1", base)).ok());  // before the declaration
    REQUIRE(db->MergeSchema(R"({"counters":[{"name":"views","key":"item",
      "source":{"events":["view"]},"window":"24h","bucket":"1h"}]})").ok());
    REQUIRE(db->Apply(Event("e1", "u2", "i1", base + 10)).ok());
    REQUIRE(db->Apply(Event("e2", "u2", "i2", base + 20)).ok());
    CHECK(db->CounterValue("views", {"", "i1", ""}, base + hour).value() == 2);
    CHECK(json::parse(db->SchemaJson())["counters"][0]["name"] == "views");
    CHECK(db->MergeSchema(R"({"counters":[{"name":"views","key":"item",
      "source":{"events":["view"]},"window":"48h"}]})").code() == Status::Code::kInvalidArgument);
    CHECK(db->MergeSchema(R"({"counters":[{"name":"v2","key":"item"}]})").code() ==
          Status::Code::kInvalidArgument);
  }
  auto db = OpenDb(dir.path);
  CHECK(db->CounterValue("views", {"", "i1", ""}, base + hour).value() == 2);
  CHECK(db->CounterValue("views", {"", "i2", ""}, base + hour).value() == 1);
  CHECK(db->CounterValue("unknown", {"", "i1", ""}, base).status().code() ==
        Status::Code::kInvalidArgument);
}

TEST_CASE("counters folded from a log of many batches equal the online counters") {
  // More events than the fold hands from its scanning thread to its counting thread in a few
  // batches, so the hand-over runs many times; the online values and the fold's must agree.
  TempDir dir;
  auto db = OpenDb(dir.path);
  Setup(db.get());
  REQUIRE(db->MergeSchema(R"({"counters":[
    {"name":"views","key":"item","source":{"events":["view"]},"window":"1h","bucket":"1m"},
    {"name":"user_item","key":"user_item","source":{"events":["view"]},"window":"10m"},
    {"name":"trend","key":"user","source":{"events":["view"]},"window":"1h","form":"decayed",
     "half_life":"10m","bucket":"1m"}]})").ok());
  const int64_t base = 1764000000000;
  const size_t events = 30000;
  std::vector<WriteSet> sets;
  for (size_t n = 0; n < events; ++n) {
    sets.push_back(Event("e" + std::to_string(n), "u" + std::to_string(n * 7 % 101),
                         n % 3 == 0 ? "i1" : "i2", base + static_cast<int64_t>(n * 500)));
  }
  for (const auto& outcome : db->ApplyMany(sets)) REQUIRE(outcome.status.ok());
  const int64_t as_of = base + static_cast<int64_t>(events * 500) - 90 * 1000;  // not the end
  std::vector<std::string> online, folded;
  auto line = [](std::vector<std::string>* out) {
    return [out](const features::CounterDef& def, const features::KeyFields& key, double value) {
      out->push_back(features::ValueLine(def, key, value).dump());
    };
  };
  auto fold = db->FoldCounters(as_of);
  REQUIRE(fold.ok());
  fold->ForEach(as_of, line(&folded));
  // The fold counts only events up to as_of; online, read at the end, every event counts.
  const int64_t end = base + static_cast<int64_t>(events * 500) + 60 * 1000;
  auto all = db->FoldCounters(end);
  REQUIRE(all.ok());
  std::vector<std::string> all_lines;
  all->ForEach(end, line(&all_lines));
  db->ForEachCounterValue(end, line(&online));
  CHECK(online == all_lines);
  CHECK(online.size() > 100);
  // The same events fed one by one to fresh counters, as the online path does.
  features::CounterSet direct(all->defs());
  for (size_t n = 0; n < events; ++n) {
    const int64_t ts = base + static_cast<int64_t>(n * 500);
    if (ts <= as_of) {
      direct.AddEvent({"view", "u" + std::to_string(n * 7 % 101), n % 3 == 0 ? "i1" : "i2", ts});
    }
  }
  std::vector<std::string> direct_lines;
  direct.ForEach(as_of, line(&direct_lines));
  CHECK(folded == direct_lines);
  CHECK(folded != all_lines);
}

// The write path stages a group while the group before it is written and applied
// (db/write_path.cc): dedupe, accumulation and sequence numbers must see that group anyway.
TEST_CASE("events sent by 8 concurrent writers are logged once each, in dense sequence order") {
  TempDir dir;
  auto db = OpenDb(dir.path);
  Setup(db.get());
  constexpr int kEvents = 600, kThreads = 8, kPerCall = 25;
  std::atomic<int> applied{0}, duplicates{0}, errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<int> order(kEvents);
      for (int i = 0; i < kEvents; ++i) order[i] = i;
      std::shuffle(order.begin(), order.end(), std::mt19937(t));
      for (int start = 0; start < kEvents; start += kPerCall) {
        std::vector<WriteSet> sets;
        for (int i = start; i < start + kPerCall; ++i) {
          int e = order[i];
          sets.push_back(Event("e" + std::to_string(e), "u" + std::to_string(e % 7),
                               e % 2 ? "i1" : "i2", 1000 + e));
        }
        for (const auto& outcome : db->ApplyMany(sets, WriteOptions{t % 2 == 0})) {
          if (!outcome.status.ok()) ++errors;
          else if (outcome.duplicate) ++duplicates;
          else ++applied;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(errors == 0);
  CHECK(applied == kEvents);
  CHECK(duplicates == kEvents * (kThreads - 1));

  std::vector<uint64_t> sequences;
  std::set<std::string> ids;
  REQUIRE(db->ScanEvents(INT64_MIN, INT64_MAX, [&](const LoggedEvent& e) {
    sequences.push_back(e.sequence);
    ids.insert(e.event_id);
    return true;
  }).ok());
  REQUIRE(sequences.size() == kEvents);
  CHECK(ids.size() == kEvents);
  for (size_t i = 1; i < sequences.size(); ++i) CHECK(sequences[i] == sequences[i - 1] + 1);

  // The accumulated edges add up to one view per event.
  auto sum = db->Query("MATCH (:User)-[v:VIEWED]->(:Item) RETURN sum(v.weight), sum(v.count)", json::object());
  REQUIRE(sum.ok());
  CHECK(sum->rows[0][0].get<double>() == kEvents);
  int64_t total = sum->rows[0][1].get<int64_t>();
  CHECK(total == kEvents);
}

}  // namespace
}  // namespace pathwise
