// Database: NDJSON bulk load and event dedupe.
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "tests/query/database_test_util.h"

namespace pathwise {
namespace {

using namespace pathwise::testing;
using Json = nlohmann::json;

// kTestSchema with an HNSW index that builds several times faster (m 4, ef_construction 16):
// for tests of what a load writes, which never search the index. Under TSan, the default
// index's per-element locks made one test take minutes.
std::string QuickIndexSchema() {
  Json schema = Json::parse(kTestSchema);
  schema["vector_spaces"][0]["m"] = 4;
  schema["vector_spaces"][0]["ef_construction"] = 16;
  return schema.dump();
}

// Seventeen lines, six of them bad (5, 7, 10, 12, 16, 17), each for a different reason.
std::string BadLinesText(const std::string& schema = Json::parse(kTestSchema).dump()) {
  std::stringstream in;
  in << "{\"schema\": " << schema << "}\n"  // 1
     << R"({"node": "User", "id": "u1", "props": {"age": 30}})"
     << "\n"  // 2
     << R"({"node": "Item", "id": "i1", "props": {"price": 9.5}})"
     << "\n"  // 3
     << R"({"node": "Item", "id": "i2"})"
     << "\n"  // 4
     << R"({"node": "Item", "id": )"
     << "\n"  // 5 malformed
     << "\n"  // 6 blank
     << R"({"node": "Gadget", "id": "g1"})"
     << "\n"  // 7 unknown type
     << R"({"edge": "VIEWED", "from": ["User","u1"], "to": ["Item","i1"], "weight": 2, "ts": 1700000000000})"
     << "\n"  // 8
     << R"({"edge": "VIEWED", "from": ["User","u1"], "to": ["Item","i1"], "weight": 3, "ts": 1600000000000})"
     << "\n"  // 9
     << R"({"edge": "VIEWED", "from": ["User","ghost"], "to": ["Item","i1"]})"
     << "\n"  // 10 missing endpoint
     << R"({"vector": "Item.embedding", "id": "i1", "values": [0.1, 0.2, 0.3, 0.4]})"
     << "\n"  // 11
     << R"({"vector": "Item.embedding", "id": "i2", "values": [0.1, 0.2]})"
     << "\n"  // 12 wrong dim
     << R"({"node": "Item", "id": "i2", "op": "patch", "props": {"title": "two"}})"
     << "\n"  // 13
     << R"({"edge": "SIMILAR", "from": ["Item","i1"], "to": ["Item","i2"]})"
     << "\n"  // 14
     << R"({"edge": "SIMILAR", "from": ["Item","i1"], "to": ["Item","i2"], "op": "delete"})"
     << "\n"  // 15
     << R"([1, 2, 3])"
     << "\n"  // 16 not an object
     << R"({"node": "User", "id": "u2", "props": {"age": "old"}})"
     << "\n";  // 17 bad prop type
  return in.str();
}

const std::vector<size_t> kBadLines = {5, 7, 10, 12, 16, 17};

TEST_CASE("NDJSON load keeps good lines and reports bad ones with line numbers") {
  TempDir dir;
  std::stringstream in(BadLinesText());
  size_t progress_calls = 0;
  LoadOptions options;
  options.progress = [&](const LoadProgress& p) {
    ++progress_calls;
    CHECK(p.lines <= 17);
  };
  {
    auto db = OpenDb(dir.path);
    auto report = db->Load(in, options);
    REQUIRE_MESSAGE(report.ok(), report.status().ToString());
    CHECK(report->lines == 17);
    CHECK(report->schema_lines == 1);
    CHECK(report->nodes == 4);
    CHECK(report->edges == 4);
    CHECK(report->vectors == 1);
    CHECK(report->errors == 6);
    std::vector<size_t> lines;
    for (const auto& e : report->error_list) lines.push_back(e.line);
    CHECK(lines == kBadLines);
    CHECK(report->error_list[1].reason.find("Gadget") != std::string::npos);
    CHECK(report->error_list[3].reason.find("dimension") != std::string::npos);
    CHECK(progress_calls >= 1);
    Json json = report->ToJson();
    CHECK(json["errors"] == 6);
    CHECK(json["error_list"][0]["line"] == 5);
  }
  auto db = OpenDb(dir.path);
  CHECK(db->Stats()["nodes"] == 3);
  CHECK(db->Stats()["edges"] == 1);
  CHECK(db->Stats()["vectors"]["Item.embedding"] == 1);
  CHECK(db->GetNode("Item", "i2").value()["properties"] == Json{{"title", "two"}});
  CHECK(db->GetNode("User", "u1").value()["properties"]["age"] == 30);
  CHECK(db->GetNode("Item", "i1").value()["vectors"]["embedding"] == true);
  db.reset();
  ClosedDb closed(dir.path);
  auto edge = closed.store->GetEdge(closed.Id("User", "u1"), closed.EdgeType("VIEWED"),
                                    closed.Id("Item", "i1"));
  REQUIRE(edge.ok());
  CHECK(edge->weight == 5.0);
  CHECK(edge->count == 2);
  CHECK(edge->ts == 1700000000000);
}

// Items with vectors, then users, then VIEWED edges between them: about 55,000 lines.
constexpr int kItems = 12000, kUsers = 500, kEdgesPerUser = 60;
std::string LargeLoadText(const std::string& schema = Json::parse(kTestSchema).dump()) {
  std::stringstream in;
  in << "{\"schema\": " << schema << "}\n";
  for (int i = 0; i < kItems; ++i) {
    in << R"({"node": "Item", "id": "item-)" << i
       << R"(", "props": {"title": "a fairly long title to fill batches )" << i << "\"}}\n";
    in << R"({"vector": "Item.embedding", "id": "item-)" << i << R"(", "values": [)" << (i % 7)
       << ", 1, " << (i % 11) << ", " << (i % 3) << "]}\n";
  }
  for (int u = 0; u < kUsers; ++u) in << R"({"node": "User", "id": "user-)" << u << "\"}\n";
  for (int u = 0; u < kUsers; ++u) {
    for (int k = 0; k < kEdgesPerUser; ++k) {
      in << R"({"edge": "VIEWED", "from": ["User","user-)" << u << R"("], "to": ["Item","item-)"
         << (u * 13 + k) % kItems << R"("], "weight": 1, "ts": )" << k << "}\n";
    }
  }
  return in.str();
}

TEST_CASE("a large NDJSON load spans many bulk batches and vector batches") {
  TempDir dir;
  std::stringstream in(LargeLoadText());
  size_t progress_calls = 0;
  LoadOptions options;
  options.progress = [&](const LoadProgress&) { ++progress_calls; };
  {
    auto db = OpenDb(dir.path);
    auto report = db->Load(in, options);
    REQUIRE(report.ok());
    CHECK(report->errors == 0);
    CHECK(report->edges == kUsers * kEdgesPerUser);
    CHECK(report->vectors == kItems);
    CHECK(progress_calls >= 5);
  }
  auto db = OpenDb(dir.path);
  CHECK(db->Stats()["nodes"] == kItems + kUsers);
  CHECK(db->Stats()["edges"] == kUsers * kEdgesPerUser);
  CHECK(db->Stats()["vectors"]["Item.embedding"] == kItems);
  CHECK(db->GetNode("User", "user-7").value()["degrees"]["VIEWED"]["out"] == kEdgesPerUser);
}

TEST_CASE("a load in chunks ends a chunk at the first line of each node or edge type it has not had") {
  std::stringstream in;
  in << "{\"schema\": " << Json::parse(kTestSchema).dump() << "}\n";
  for (int i = 0; i < 3; ++i) in << R"({"node": "User", "id": "u)" << i << "\"}\n";
  for (int i = 0; i < 3; ++i) in << R"({"node": "Item", "id": "i)" << i << "\"}\n";  // new type
  in << R"({"edge": "VIEWED", "from": ["User","u0"], "to": ["Item","i0"]})" << "\n"  // new type
     << R"({"edge": "VIEWED", "from": ["User","u1"], "to": ["Item","i1"]})" << "\n"
     << R"({"node": "User", "id": "u9"})" << "\n"  // a type it has had: same chunk
     << R"({"edge": "SIMILAR", "from": ["Item","i0"], "to": ["Item","i1"]})" << "\n";  // new type
  TempDir dir;
  auto db = OpenDb(dir.path);
  LoadOptions options;
  options.ingest = false;  // an empty database would be loaded by ingestion, in one part
  auto report = db->Load(in, options);
  REQUIRE(report.ok());
  CHECK(report->errors == 0);
  CHECK(report->mode == "chunks");
  // Users | items | VIEWED edges and a user | the SIMILAR edge.
  CHECK(report->chunks == 4);
  CHECK(db->Stats()["edges"] == 3);
  const LoadReport::Turn& longest = report->longest_turn;
  CHECK(longest.lines >= 1);
  CHECK(longest.lines <= 3);
  CHECK(longest.edge_lines <= longest.lines);
  CHECK(longest.began_at >= 0);
  CHECK(longest.began_at <= report->seconds);
  const LoadPhases& p = longest.phases;
  CHECK(p.stage + p.write + p.memory + p.vectors <= report->max_chunk_seconds + 1e-9);
  CHECK(report->ToJson()["longest_turn"]["lines"] == longest.lines);
}

TEST_CASE("event dedupe with unless_meta_exists applies each event once, also after reopen") {
  TempDir dir;
  auto event = [](const std::string& key) {
    WriteSet set = Set(Edge("VIEWED", {"User", "u1", true}, {"Item", "i1", true}, 1.0, 10));
    set.unless_meta_exists = "event/" + key;
    return set;
  };
  {
    auto db = OpenDbWithSchema(dir.path);
    std::vector<WriteSet> sets = {event("a"), event("a"), event("b")};
    auto outcomes = db->ApplyMany(sets);
    CHECK(outcomes[0].status.ok());
    CHECK(!outcomes[0].duplicate);
    CHECK(outcomes[1].status.ok());
    CHECK(outcomes[1].duplicate);
    CHECK(!outcomes[2].duplicate);
    auto again = db->ApplyMany({event("b")});
    CHECK(again[0].duplicate);
    CHECK(db->GetMeta("event/a").ok());
  }
  {
    auto db = OpenDb(dir.path);
    auto outcomes = db->ApplyMany({event("a"), event("c")});
    CHECK(outcomes[0].duplicate);
    CHECK(!outcomes[1].duplicate);
    std::vector<std::string> keys;
    REQUIRE(db->ScanMeta("event/", [&](std::string_view k, std::string_view) {
                keys.emplace_back(k);
                return true;
              }).ok());
    CHECK(keys == std::vector<std::string>{"event/a", "event/b", "event/c"});
  }
  ClosedDb closed(dir.path);
  auto edge = closed.store->GetEdge(closed.Id("User", "u1"), closed.EdgeType("VIEWED"),
                                    closed.Id("Item", "i1"));
  REQUIRE(edge.ok());
  CHECK(edge->count == 3);
  CHECK(edge->weight == 3.0);
}


// What a load left in the database: counts, a few nodes, and an aggregate over every edge.
Json Fingerprint(Database& db) {
  Json out = db.Stats();
  out.erase("disk_bytes");
  out.erase("memory_bytes");
  out.erase("sequence");
  auto sums = db.Query("MATCH (u:User)-[v:VIEWED]->(i:Item) RETURN count(*), sum(v.weight), "
                       "sum(v.ts), count(DISTINCT i)",
                       Json::object());
  REQUIRE_MESSAGE(sums.ok(), sums.status().ToString());
  out["sums"] = sums->ToJson()["rows"];
  for (const char* id : {"item-0", "item-11999", "i1", "i2"}) {
    auto node = db.GetNode("Item", id);
    out[id] = node.ok() ? node.value() : Json(nullptr);
  }
  return out;
}

TEST_CASE("a load gives the same database and report in every mode and with any number of parse threads") {
  struct Mode {
    bool exclusive;
    int threads;
    bool ingest;
  };
  Json expected;
  std::vector<size_t> expected_errors;
  for (Mode mode : {Mode{false, 1, false}, Mode{true, 1, false}, Mode{false, 3, false},
                    Mode{true, 4, false}, Mode{false, 1, true}, Mode{false, 3, true}}) {
    CAPTURE(mode.exclusive);
    CAPTURE(mode.threads);
    CAPTURE(mode.ingest);
    TempDir dir;
    auto db = OpenDb(dir.path);
    LoadOptions options;
    options.exclusive = mode.exclusive;
    options.threads = mode.threads;
    options.ingest = mode.ingest;
    std::vector<std::string> phases;
    options.progress = [&](const LoadProgress& p) {
      if (phases.empty() || phases.back() != p.phase) phases.push_back(p.phase);
    };
    std::stringstream in(BadLinesText(QuickIndexSchema()) + LargeLoadText(QuickIndexSchema()));
    auto report = db->Load(in, options);
    REQUIRE_MESSAGE(report.ok(), report.status().ToString());
    if (mode.ingest) {
      CHECK(phases ==
            std::vector<std::string>{"parsing", "ingesting", "indexing", "finishing", "done"});
      CHECK(report->chunks == 1);
    } else if (mode.exclusive) {
      // The second schema line inserts the vectors held before it; the rest go in at the end.
      CHECK(std::vector<std::string>(phases.end() - 3, phases.end()) ==
            std::vector<std::string>{"indexing", "finishing", "done"});
      CHECK(report->chunks > 3);  // sized by bytes alone: their vectors are not in their turns
    } else {
      CHECK(phases == std::vector<std::string>{"parsing", "finishing", "done"});
      CHECK(report->chunks > 10);
    }
    std::vector<size_t> errors;
    for (const auto& e : report->error_list) errors.push_back(e.line);
    Json print = Fingerprint(*db);
    if (expected.is_null()) {
      CHECK(errors == kBadLines);
      CHECK(print["nodes"] == 3 + kItems + kUsers);
      expected = print;
      expected_errors = errors;
    } else {
      CHECK(errors == expected_errors);
      CHECK(print == expected);
    }
  }
}

// Items with vectors, then (in later chunks) vectors deleted, replaced, deleted and put back, and
// nodes deleted with their vectors.
std::string VectorChurnText() {
  std::stringstream in;
  in << "{\"schema\": " << Json::parse(kTestSchema).dump() << "}\n";
  auto vector = [&](int i, int salt) {
    in << R"({"vector": "Item.embedding", "id": "item-)" << i << R"(", "values": [)"
       << (i % 7 + salt) << ", 1, " << (i % 11) << ", " << (i % 3 + 2 * salt) << "]}\n";
  };
  for (int i = 0; i < 3000; ++i) {
    in << R"({"node": "Item", "id": "item-)" << i << "\"}\n";
    vector(i, 0);
  }
  for (int i = 0; i < 100; ++i) {
    in << R"({"vector": "Item.embedding", "id": "item-)" << i << R"(", "op": "delete"})" << "\n";
  }
  for (int i = 100; i < 200; ++i) vector(i, 1);
  for (int i = 0; i < 10; ++i) vector(i, 2);
  for (int i = 200; i < 210; ++i) in << R"({"node": "Item", "id": "item-)" << i << R"(", "op": "delete"})" << "\n";
  return in.str();
}

Json VectorPrint(Database& db) {
  Json out;
  out["count"] = db.Stats()["vectors"]["Item.embedding"];
  for (int i : {0, 9, 10, 99, 100, 199, 200, 209, 210, 2999}) {
    auto v = db.GetVector("Item.embedding", "item-" + std::to_string(i));
    out[std::to_string(i)] = v.ok() ? Json(*v) : Json(v.status().ToString());
  }
  return out;
}

TEST_CASE("vectors put, replaced and deleted across chunks end the same in every load mode") {
  struct Mode {
    bool exclusive;
    bool ingest;
    size_t max_held;
  };
  Json expected;
  for (Mode mode : {Mode{false, false, size_t{2} << 30}, Mode{true, false, size_t{2} << 30},
                    Mode{false, true, size_t{2} << 30}, Mode{true, false, 4096},
                    Mode{false, true, 1}}) {
    CAPTURE(mode.exclusive);
    CAPTURE(mode.ingest);
    CAPTURE(mode.max_held);
    TempDir dir;
    LoadOptions options;
    options.exclusive = mode.exclusive;
    options.ingest = mode.ingest;
    options.max_ingest_bytes = 64 << 10;  // an ingestion load ingests in parts of 64 KB
    options.max_held_vector_bytes = mode.max_held;
    size_t to_index = 0;
    options.progress = [&](const LoadProgress& p) {
      if (p.phase == "indexing") to_index = std::max(to_index, p.vectors_to_index);
    };
    Json print;
    {
      auto db = OpenDb(dir.path);
      std::stringstream in(VectorChurnText());
      auto report = db->Load(in, options);
      REQUIRE_MESSAGE(report.ok(), report.status().ToString());
      CHECK(report->errors == 0);
      CHECK(report->chunks >= 2);  // the deletes come after the first chunk (256 KB)
      print = VectorPrint(*db);  // read from the indexes
    }
    // Held vectors are inserted at the end only by a load that holds the writer role throughout.
    const bool held = mode.exclusive || mode.ingest;
    CHECK((to_index > 0) == held);
    if (mode.max_held == (size_t{2} << 30) && held) CHECK(to_index > 1000);
    auto db = OpenDb(dir.path);
    CHECK(VectorPrint(*db) == print);
    if (expected.is_null()) {
      CHECK(print["count"] == 3000 - 100 + 10 - 10);
      CHECK(print["99"].is_string());
      CHECK(print["209"].is_string());
      expected = print;
    } else {
      CHECK(print == expected);
    }
  }
}

TEST_CASE("a dry run reports the same errors and counts as a load and writes nothing") {
  TempDir dir;
  auto db = OpenDb(dir.path);
  LoadOptions options;
  options.dry_run = true;
  std::stringstream in(BadLinesText());
  auto report = db->Load(in, options);
  REQUIRE_MESSAGE(report.ok(), report.status().ToString());
  CHECK(report->dry_run);
  CHECK(report->mode == "dry_run");
  CHECK(report->lines == 17);
  CHECK(report->schema_lines == 1);
  CHECK(report->nodes == 4);
  CHECK(report->edges == 4);
  CHECK(report->vectors == 1);
  std::vector<size_t> lines;
  for (const auto& e : report->error_list) lines.push_back(e.line);
  CHECK(lines == kBadLines);
  CHECK(report->error_list[3].reason.find("dimension") != std::string::npos);
  // Nothing was written: no nodes, and the schema line was not merged.
  CHECK(db->Stats()["nodes"] == 0);
  CHECK(db->GetNode("Item", "i1").status().code() == Status::Code::kInvalidArgument);
  // The real load afterwards agrees with it.
  std::stringstream again(BadLinesText());
  auto loaded = db->Load(again);
  REQUIRE(loaded.ok());
  CHECK(loaded->errors == report->errors);
  CHECK(loaded->nodes == report->nodes);
  CHECK(db->Stats()["nodes"] == 3);
}

TEST_CASE("a cancelled load applies exactly the lines before it stopped, durably") {
  TempDir dir;
  std::atomic<bool> cancel{false};
  LoadOptions options;
  options.ingest = false;  // in chunks (a cancelled ingestion writes nothing: ingest tests)
  options.cancel = &cancel;
  options.progress = [&](const LoadProgress& p) {
    if (p.lines >= 20000) cancel = true;
  };
  LoadReport report;
  {
    auto db = OpenDb(dir.path);
    std::stringstream in(LargeLoadText());
    auto loaded = db->Load(in, options);
    REQUIRE_MESSAGE(loaded.ok(), loaded.status().ToString());
    report = *loaded;
  }
  CHECK(report.cancelled);
  CHECK(report.lines >= 20000);
  CHECK(report.lines < 40000);
  CHECK(report.errors == 0);
  auto db = OpenDb(dir.path);  // reopened: what the report counts survived the close
  CHECK(db->Stats()["nodes"] == report.nodes);
  CHECK(db->Stats()["vectors"]["Item.embedding"] == report.vectors);
  CHECK(db->Stats()["edges"] == 0);
  // Lines are read in order: the last item loaded is the one the count says.
  CHECK(db->GetNode("Item", "item-" + std::to_string(report.nodes - 1)).ok());
  CHECK(db->GetNode("Item", "item-" + std::to_string(report.nodes)).status().code() ==
        Status::Code::kNotFound);
}

// Serves text, blocking the reader at gate (an offset) until Open() is called.
class GatedStreambuf : public std::streambuf {
 public:
  GatedStreambuf(std::string text, size_t gate) : text_(std::move(text)), gate_(gate) {}
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 protected:
  int_type underflow() override {
    if (pos_ >= text_.size()) return traits_type::eof();
    if (pos_ >= gate_) {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return open_; });
    }
    size_t end = pos_ < gate_ ? gate_ : text_.size();
    char* base = text_.data();
    setg(base + pos_, base + pos_, base + end);
    pos_ = end;
    return traits_type::to_int_type(*gptr());
  }

 private:
  std::string text_;
  size_t gate_;
  size_t pos_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

TEST_CASE("events are acknowledged during a load, concurrently, and all are durable and visible after it") {
  TempDir dir;
  std::string text = LargeLoadText(QuickIndexSchema());
  GatedStreambuf buf(text, text.size() / 2);
  std::istream in(&buf);
  std::atomic<int> acked{0};
  {
    auto db = OpenDb(dir.path);
    std::optional<Result<LoadReport>> report;  // read only after the loader is joined
    std::atomic<bool> loaded{false};
    std::thread loader([&] {
      LoadOptions chunks;
      chunks.ingest = false;  // an ingestion load holds the writer role throughout
      report = db->Load(in, chunks);
      loaded = true;
    });
    std::atomic<bool> stop{false};
    std::thread events([&] {
      WriteOptions wo;
      wo.max_queue_wait_ms = 10000;
      for (int n = 0; !stop; ++n) {
        WriteSet set = Set(Edge("VIEWED", {"User", "ev-user", true},
                                {"Item", "ev-" + std::to_string(n), true}, 1.0, n));
        Status s = db->Apply(set, wo);
        if (!s.ok()) {
          // The schema line may not be merged yet when the first events run.
          CHECK(s.code() == Status::Code::kInvalidArgument);
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
          continue;
        }
        ++acked;
      }
    });
    // The reader is held at the middle of the input: the load waits for lines, not holding the
    // writer role, so events keep being acknowledged.
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (acked < 20 && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    CHECK(acked >= 20);
    CHECK_FALSE(loaded.load());
    buf.Open();
    loader.join();
    stop = true;
    events.join();
    REQUIRE(report.has_value());
    REQUIRE_MESSAGE(report->ok(), report->status().ToString());
    CHECK((*report)->errors == 0);
  }
  auto db = OpenDb(dir.path);
  CHECK(db->Stats()["nodes"] == kItems + kUsers + 1 + acked.load());
  CHECK(db->Stats()["edges"] == kUsers * kEdgesPerUser + acked.load());
  CHECK(db->GetNode("User", "ev-user").value()["degrees"]["VIEWED"]["out"] == acked.load());
  CHECK(db->Stats()["vectors"]["Item.embedding"] == kItems);
}

TEST_CASE("the event-type table reads as empty until stored, as stored after, and a non-object is corruption") {
  TempDir dir;
  auto db = OpenDbWithSchema(dir.path);
  auto empty = db->GetEventTypes();
  REQUIRE(empty.ok());
  CHECK(*empty == Json::object());
  Json table = {{"view", {{"edge", "VIEWED"}}}};
  REQUIRE(db->Apply(Set(MetaWrite{std::string(Database::kEventTypesMetaKey), table.dump()})).ok());
  auto stored = db->GetEventTypes();
  REQUIRE(stored.ok());
  CHECK(*stored == table);
  REQUIRE(db->Apply(Set(MetaWrite{std::string(Database::kEventTypesMetaKey), "[1, 2]"})).ok());
  CHECK(db->GetEventTypes().status().code() == Status::Code::kCorruption);
}

TEST_CASE("the metadata generation grows with each metadata write and not with other writes") {
  TempDir dir;
  auto db = OpenDbWithSchema(dir.path);
  const uint64_t start = db->MetaGeneration();
  REQUIRE(db->Apply(Set(Node("User", "gen-user"))).ok());
  CHECK(db->MetaGeneration() == start);
  REQUIRE(db->Apply(Set(MetaWrite{"recipe/r", std::string("{}")})).ok());
  const uint64_t after_put = db->MetaGeneration();
  CHECK(after_put > start);
  REQUIRE(db->Apply(Set(MetaWrite{"recipe/r", std::nullopt})).ok());
  CHECK(db->MetaGeneration() > after_put);
  // A set that fails writes nothing, so the generation stays.
  const uint64_t before_bad = db->MetaGeneration();
  CHECK_FALSE(db->Apply(Set(MetaWrite{"recipe/r", std::string("{}")}, Node("NoSuchType", "x"))).ok());
  CHECK(db->MetaGeneration() == before_bad);
}

}  // namespace
}  // namespace pathwise
