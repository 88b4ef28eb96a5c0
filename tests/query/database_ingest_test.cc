// Database: loads by SST ingestion (LoadOptions::ingest) against loads in chunks, key by key.
#include <chrono>
#include <fstream>
#include <sstream>

#include "tests/query/database_test_util.h"

namespace pathwise {
namespace {

using namespace pathwise::testing;
using Json = nlohmann::json;
namespace fs = std::filesystem;

const fs::path kFixtures = fs::path(PATHWISE_SOURCE_DIR) / "tests" / "queries" / "fixtures";

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A fixture-like file with every kind of line the staging treats specially: repeated edges of an
// accumulate type (weights summed, latest ts, props merged), replaced edges, patches, deletes of
// nodes (with their edges and vectors), of edges and of vectors, a vector written twice, a
// second schema line, and bad lines (6, 12, 14, 18, 22).
std::string MixedText() {
  std::stringstream in;
  in << "{\"schema\": " << Json::parse(kTestSchema).dump() << "}\n"                       // 1
     << R"({"node": "User", "id": "u1", "props": {"age": 30}})" << "\n"                     // 2
     << R"({"node": "Item", "id": "i1", "props": {"price": 9.5, "title": "one"}})" << "\n"  // 3
     << R"({"node": "Item", "id": "i2"})" << "\n"                                           // 4
     << R"({"node": "Item", "id": "i3"})" << "\n"                                           // 5
     << R"({"node": "Item", "id": )" << "\n"  // 6 malformed
     << R"({"edge": "VIEWED", "from": ["User","u1"], "to": ["Item","i1"], "weight": 2, "ts": 1700000000000, "props": {"src": "a"}})"
     << "\n"  // 7
     << R"({"edge": "VIEWED", "from": ["User","u1"], "to": ["Item","i1"], "weight": 3, "ts": 1600000000000, "props": {"n": 2}})"
     << "\n"  // 8
     << R"({"edge": "RATED", "from": ["User","u1"], "to": ["Item","i2"], "weight": 4, "ts": 5})" << "\n"  // 9
     << R"({"edge": "RATED", "from": ["User","u1"], "to": ["Item","i2"], "weight": 1, "ts": 6})" << "\n"  // 10
     << R"({"vector": "Item.embedding", "id": "i1", "values": [1, 0, 0, 0]})" << "\n"       // 11
     << R"({"vector": "Item.embedding", "id": "i2", "values": [1, 2]})" << "\n"  // 12 wrong dim
     << R"({"vector": "Item.embedding", "id": "i1", "values": [0, 1, 0, 0]})" << "\n"       // 13
     << R"({"edge": "VIEWED", "from": ["User","ghost"], "to": ["Item","i1"], "ts": 1})" << "\n"  // 14
     << R"({"node": "Item", "id": "i2", "op": "patch", "props": {"title": "two"}})" << "\n"  // 15
     << R"({"edge": "SIMILAR", "from": ["Item","i1"], "to": ["Item","i3"], "ts": 7})" << "\n"  // 16
     << R"({"vector": "Item.embedding", "id": "i3", "values": [0, 0, 1, 0]})" << "\n"       // 17
     << R"({"vector": "Item.embedding", "id": "i3", "values": [0, 0, 0, 0]})" << "\n"  // 18 zero norm
     << R"({"node": "Item", "id": "i3", "op": "delete"})" << "\n"                           // 19
     << R"({"schema": {"node_types": [{"name": "Shop"}]}})" << "\n"                         // 20
     << R"({"node": "Shop", "id": "s1"})" << "\n"                                           // 21
     << R"({"node": "User", "id": "u2", "props": {"age": "old"}})" << "\n"  // 22 bad prop type
     << R"({"edge": "TAGGED", "from": ["Tag","t1"], "to": ["Item","i2"], "ts": 8})" << "\n"  // 23 ghost
     << R"({"node": "Tag", "id": "t1"})" << "\n"                                            // 24
     << R"({"edge": "TAGGED", "from": ["Tag","t1"], "to": ["Item","i2"], "ts": 9})" << "\n"  // 25
     << R"({"edge": "TAGGED", "from": ["Tag","t1"], "to": ["Item","i2"], "op": "delete"})" << "\n"  // 26
     << R"({"vector": "Item.embedding", "id": "i2", "values": [0, 0, 1, 1]})" << "\n"       // 27
     << R"({"vector": "Item.embedding", "id": "i2", "op": "delete"})" << "\n";              // 28
  return in.str();
}
const std::vector<size_t> kMixedBadLines = {6, 12, 14, 18, 22, 23};

Json ValueJson(const Value& v) {
  if (const auto* b = std::get_if<bool>(&v)) return *b;
  if (const auto* i = std::get_if<int64_t>(&v)) return *i;
  if (const auto* d = std::get_if<double>(&v)) return *d;
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (const auto* l = std::get_if<std::vector<std::string>>(&v)) return *l;
  return nullptr;
}

Json PropsJson(const Properties& props) {
  Json out = Json::object();
  for (const auto& [name, value] : props) out[name] = ValueJson(value);
  return out;
}

// Every record of a closed data directory (DIR, the store in DIR/db) through storage/'s public API: meta, nodes and
// their ids, edges with the reverse index, vectors and the dirty set. An edge ts at or after
// `now` (one written without a ts, so the wall clock's) reads as "now".
Json StoreDump(const std::string& dir, int64_t now) {
  ClosedDb closed(dir);
  const storage::Store& store = *closed.store;
  Json out = {{"meta", Json::object()}, {"nodes", Json::array()}, {"edges", Json::array()},
              {"in", Json::array()}, {"vectors", Json::array()}, {"dirty", Json::array()}};
  REQUIRE(store.ScanMeta("", [&](std::string_view k, std::string_view v) {
    out["meta"][std::string(k)] = std::string(v);
    return true;
  }).ok());
  std::vector<NodeId> ids;
  REQUIRE(store.ScanNodes([&](const storage::NodeRecord& n) {
    out["nodes"].push_back({n.id, n.type, n.key, PropsJson(n.props)});
    CHECK(store.LookupNode(n.type, n.key).value() == n.id);
    ids.push_back(n.id);
    return true;
  }).ok());
  auto edge_json = [&](const storage::EdgeRecord& e) {
    Json ts = e.ts >= now ? Json("now") : Json(e.ts);
    return Json{e.src, e.type, e.dst, e.weight, ts, e.count, PropsJson(e.props)};
  };
  REQUIRE(store.ScanEdges([&](const storage::EdgeRecord& e) {
    out["edges"].push_back(edge_json(e));
    return true;
  }).ok());
  for (NodeId id : ids) {
    REQUIRE(store.ScanEdgesOf(id, storage::Direction::kIn, [&](const storage::EdgeRecord& e) {
      out["in"].push_back(edge_json(e));
      return true;
    }).ok());
  }
  for (const auto& space : closed.schema.spaces()) {
    REQUIRE(store.ScanVectors(space.id, [&](NodeId node, std::span<const float> values) {
      out["vectors"].push_back({space.id, node, std::vector<float>(values.begin(), values.end())});
      return true;
    }).ok());
  }
  REQUIRE(store.ScanDirtyVectors([&](SpaceId space, NodeId node) {
    out["dirty"].push_back({space, node});
    return true;
  }).ok());
  return out;
}

// What an open database answers: stats and a set of queries over every edge, property and
// vector the fixtures have ("answered": how many ran without an error). Stats that describe
// the process rather than the data are left out (topology_loaded_from: a reopen reads the
// topology snapshot that the load's close wrote).
Json Answers(Database& db) {
  Json out = db.Stats();
  for (const char* key : {"disk_bytes", "memory_bytes", "sequence", "topology_loaded_from"}) {
    out.erase(key);
  }
  const char* queries[] = {
      "MATCH (a)-[r]->(b) RETURN a.id, type(r), b.id, r.weight, r.count ORDER BY a.id, b.id",
      "MATCH (n) RETURN n.id, labels(n) ORDER BY n.id",
      "MATCH (u:User)-[v:VIEWED]->(i:Item) RETURN count(*), sum(v.weight)",
      "RECOMMEND (c:Item) FOR (u:User {id: 'u1'}) FROM NEAREST 5 TO u.taste IN Item.embedding",
      "RECOMMEND (c:Item) FOR (u:User {id: 'u1'}) FROM (u)-[v:VIEWED]->(:Item)-[s:SIMILAR_TO]->(c) "
      "SCORE sum(v.weight * s.weight)",
      "MATCH (i:Item)<-[r]-(x) RETURN i.id, count(r) ORDER BY i.id"};
  for (const char* q : queries) {
    auto result = db.Query(q, Json::object());  // some fixtures lack some types: errors compare
    out["answered"] = out.value("answered", 0) + (result.ok() ? 1 : 0);
    out[q] = result.ok() ? result->ToJson()["rows"] : Json(result.status().message());
  }
  return out;
}

struct Loaded {
  LoadReport report;
  Json answers;
  Json dump;
};

Loaded LoadInto(const std::string& text, LoadOptions options, int64_t now) {
  TempDir dir;
  Loaded out;
  {
    auto db = OpenDb(dir.path);
    std::stringstream in(text);
    auto report = db->Load(in, options);
    REQUIRE_MESSAGE(report.ok(), report.status().ToString());
    out.report = *report;
    out.answers = Answers(*db);
  }
  out.dump = StoreDump(dir.path, now);
  auto reopened = OpenDb(dir.path);
  CHECK(Answers(*reopened) == out.answers);  // memory after the load == memory after a reopen
  return out;
}

std::vector<size_t> ErrorLines(const LoadReport& report) {
  std::vector<size_t> lines;
  for (const auto& e : report.error_list) lines.push_back(e.line);
  return lines;
}

TEST_CASE("a load by ingestion writes the same records and answers as a load in chunks") {
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  std::vector<std::pair<std::string, std::string>> inputs = {
      {"shop_small", ReadFile(kFixtures / "shop_small.ndjson")},
      {"circle", ReadFile(kFixtures / "circle.ndjson")},
      {"mixed", MixedText()}};
  // Plain variables, not structured bindings: doctest's macros capture them in lambdas, which
  // clang 14 (the sanitized CI build) does not allow for bindings.
  for (const auto& input : inputs) {
    const std::string& name = input.first;
    const std::string& text = input.second;
    CAPTURE(name);
    LoadOptions chunks;
    chunks.ingest = false;
    Loaded expected = LoadInto(text, chunks, now);
    CHECK(expected.report.mode == "chunks");
    CHECK(expected.dump["nodes"].size() > 3);
    CHECK(expected.dump["edges"].size() > 0);
    CHECK(expected.answers["answered"] >= (name == "shop_small" ? 6 : 2));

    for (int threads : {1, 3}) {
      CAPTURE(threads);
      LoadOptions ingest;
      ingest.threads = threads;
      std::vector<std::string> phases;
      ingest.progress = [&](const LoadProgress& p) {  // "parsing" only every 10,000 lines
        if (p.phase != "parsing" && (phases.empty() || phases.back() != p.phase)) {
          phases.push_back(p.phase);
        }
      };
      Loaded got = LoadInto(text, ingest, now);
      CHECK(got.report.mode == "ingest");
      CHECK(got.report.chunks == 1);
      CHECK(got.report.phases.write == 0);  // nothing went through memtables and the WAL
      CHECK(got.report.phases.ingest > 0);
      // Vectors are held to the end of the load and inserted then ("indexing").
      std::vector<std::string> expected_phases = {"ingesting", "finishing", "done"};
      if (got.report.vectors > 0) expected_phases.insert(expected_phases.begin() + 1, "indexing");
      CHECK(phases == expected_phases);
      CHECK(ErrorLines(got.report) == ErrorLines(expected.report));
      CHECK(got.report.errors == expected.report.errors);
      CHECK(got.report.nodes == expected.report.nodes);
      CHECK(got.report.edges == expected.report.edges);
      CHECK(got.report.vectors == expected.report.vectors);
      CHECK(got.dump == expected.dump);
      CHECK(got.answers == expected.answers);
    }
  }
}

TEST_CASE("bad lines fail a load by ingestion with the same line numbers and reasons") {
  LoadOptions chunks;
  chunks.ingest = false;
  Loaded expected = LoadInto(MixedText(), chunks, INT64_MAX);
  Loaded got = LoadInto(MixedText(), LoadOptions(), INT64_MAX);
  CHECK(ErrorLines(got.report) == kMixedBadLines);
  REQUIRE(got.report.error_list.size() == expected.report.error_list.size());
  for (size_t i = 0; i < got.report.error_list.size(); ++i) {
    CHECK(got.report.error_list[i].reason == expected.report.error_list[i].reason);
  }
}

TEST_CASE("an ingestion load past max_ingest_bytes ingests part by part, each part written to the store beside memory, with the same result") {
  const std::string text = ReadFile(kFixtures / "circle.ndjson");
  LoadOptions chunks;
  chunks.ingest = false;
  Loaded expected = LoadInto(text, chunks, INT64_MAX);
  LoadOptions small;
  small.max_ingest_bytes = 20000;
  Loaded got = LoadInto(text, small, INT64_MAX);
  CHECK(got.report.mode == "ingest");
  CHECK(got.report.chunks > 1);  // each part is one ingestion
  CHECK(got.report.phases.write == 0);  // no chunk was written through the memtables
  CHECK(got.report.phases.ingest > 0);
  CHECK(got.dump == expected.dump);
  CHECK(got.answers == expected.answers);
}

TEST_CASE("a cancelled ingestion load in parts keeps the parts it ingested and counts exactly them") {
  TempDir dir;
  std::atomic<bool> cancel{false};
  LoadOptions options;
  options.cancel = &cancel;
  options.max_ingest_bytes = 4000;  // several parts within the first block of lines
  // The first progress report after an ingestion cancels the load at the end of its block.
  options.progress = [&](const LoadProgress& p) {
    if (p.phase == "ingesting") cancel = true;
  };
  LoadReport report;
  {
    auto db = OpenDb(dir.path);
    std::stringstream in(ReadFile(kFixtures / "circle.ndjson"));  // 2,005 lines
    auto loaded = db->Load(in, options);
    REQUIRE_MESSAGE(loaded.ok(), loaded.status().ToString());
    report = *loaded;
    CHECK(report.cancelled);
    CHECK(report.chunks >= 1);
    CHECK(report.nodes + report.edges > 0);
    CHECK(db->Stats()["nodes"] == report.nodes);
  }
  CHECK_FALSE(fs::exists(dir.path + "/db.ingest"));
  Json dump = StoreDump(dir.path, INT64_MAX);
  CHECK(dump["nodes"].size() == report.nodes);
  auto db = OpenDb(dir.path);
  CHECK(db->Stats()["nodes"] == report.nodes);
}

TEST_CASE("a cancelled ingestion load writes no nodes, edges or vectors") {
  TempDir dir;
  std::atomic<bool> cancel{true};  // stops after the first block of 1,024 lines
  LoadOptions options;
  options.cancel = &cancel;
  LoadReport report;
  {
    auto db = OpenDb(dir.path);
    std::stringstream in(ReadFile(kFixtures / "circle.ndjson"));  // 2,005 lines
    auto loaded = db->Load(in, options);
    REQUIRE_MESSAGE(loaded.ok(), loaded.status().ToString());
    report = *loaded;
    CHECK(db->Stats()["nodes"] == 0);
  }
  CHECK(report.cancelled);
  CHECK(report.mode == "ingest");
  CHECK(report.lines == 1024);
  CHECK(report.nodes == 0);
  CHECK(report.edges == 0);
  CHECK(report.chunks == 0);
  CHECK_FALSE(fs::exists(dir.path + "/db.ingest"));
  Json dump = StoreDump(dir.path, INT64_MAX);
  CHECK(dump["nodes"].empty());
  CHECK(dump["edges"].empty());
  CHECK(dump["in"].empty());
  CHECK(dump["vectors"].empty());
  CHECK(dump["meta"].contains("schema"));  // schema lines take effect as they are read
  auto db = OpenDb(dir.path);
  CHECK(db->Stats()["nodes"] == 0);
  CHECK(db->Stats()["edges"] == 0);
}

TEST_CASE("a load into a database with nodes or edges loads in chunks, and so does one with ingest off") {
  TempDir dir;
  auto db = OpenDb(dir.path);
  std::stringstream first(R"({"schema": {"node_types": [{"name": "Shop"}]}})"
                          "\n"
                          R"({"node": "Shop", "id": "s0"})"
                          "\n");
  auto seeded = db->Load(first);
  REQUIRE(seeded.ok());
  CHECK(seeded->mode == "ingest");
  std::stringstream in(ReadFile(kFixtures / "circle.ndjson"));
  auto report = db->Load(in);
  REQUIRE_MESSAGE(report.ok(), report.status().ToString());
  CHECK(report->mode == "chunks");
  CHECK(report->phases.ingest == 0);
  CHECK(report->phases.write > 0);
  CHECK(db->GetNode("Shop", "s0").ok());

  TempDir empty;
  auto fresh = OpenDb(empty.path);
  LoadOptions off;
  off.ingest = false;
  std::stringstream again(ReadFile(kFixtures / "circle.ndjson"));
  auto chunked = fresh->Load(again, off);
  REQUIRE(chunked.ok());
  CHECK(chunked->mode == "chunks");
  CHECK(fresh->Stats()["nodes"].get<int>() + 1 == db->Stats()["nodes"].get<int>());
}

}  // namespace
}  // namespace pathwise
