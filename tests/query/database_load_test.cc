// Database: NDJSON bulk load and event dedupe.
#include <sstream>

#include "tests/query/database_test_util.h"

namespace pathwise {
namespace {

using namespace pathwise::testing;
using Json = nlohmann::json;

TEST_CASE("NDJSON load keeps good lines and reports bad ones with line numbers") {
  TempDir dir;
  std::string schema = Json::parse(kTestSchema).dump();
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
    CHECK(lines == std::vector<size_t>{5, 7, 10, 12, 16, 17});
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

TEST_CASE("a large NDJSON load spans many bulk batches and vector batches") {
  TempDir dir;
  std::stringstream in;
  in << "{\"schema\": " << Json::parse(kTestSchema).dump() << "}\n";
  const int kItems = 12000, kUsers = 500, kEdgesPerUser = 60;
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

}  // namespace
}  // namespace pathwise
