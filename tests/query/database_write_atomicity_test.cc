// The write path's guarantees under bad input: a set is applied whole or not at all, memory only
// ever shows durable writes, and one bad set never stops the writes after it (issue: hardening).
#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <sstream>
#include <thread>

#include "database_test_util.h"

namespace pathwise::testing {
namespace {

bool NodeExists(Database& db, const std::string& type, const std::string& id) {
  return db.GetNode(type, id).ok();
}

size_t EdgeCount(Database& db) { return db.Stats()["edges"].get<size_t>(); }

}  // namespace

TEST_CASE("a zero vector in a cosine space is a clean InvalidArgument and later writes succeed") {
  TempDir dir;
  auto db = OpenDbWithSchema(dir.path);
  REQUIRE(db->Apply(Set(Node("Item", "x"))).ok());
  for (std::vector<float> zero :
       {std::vector<float>{0, 0, 0, 0}, std::vector<float>{static_cast<float>(1e-50), 0, 0, 0}}) {
    Status s = db->Apply(Set(Vec("x", zero)));
    CHECK(s.code() == Status::Code::kInvalidArgument);
    CHECK(s.message().find("norm") != std::string::npos);
  }
  CHECK(db->Health().ok());
  // The writer is not poisoned: nodes, edges and vectors still go in.
  CHECK(db->Apply(Set(Node("Item", "y"))).ok());
  CHECK(db->Apply(Set(Node("User", "u"), Edge("VIEWED", {"User", "u"}, {"Item", "y"}))).ok());
  CHECK(db->Apply(Set(Vec("y", {1, 0, 0, 0}))).ok());
}

TEST_CASE("a set holding a node and a rejected vector stores neither, also after reopen") {
  TempDir dir;
  {
    auto db = OpenDbWithSchema(dir.path);
    Status s = db->Apply(Set(Node("Item", "n1"), Vec("n1", {0, 0, 0, 0})));
    CHECK(s.code() == Status::Code::kInvalidArgument);
    CHECK_FALSE(NodeExists(*db, "Item", "n1"));
  }
  auto db = OpenDb(dir.path);
  CHECK_FALSE(NodeExists(*db, "Item", "n1"));
}

TEST_CASE(
    "a failing set in a group leaves the other sets of the group whole and nothing of itself") {
  TempDir dir;
  auto db = OpenDbWithSchema(dir.path);
  std::vector<WriteSet> sets;
  sets.push_back(Set(Node("Item", "a"), Vec("a", {1, 0, 0, 0})));
  // Fails on its last op, after a node, an edge with a created endpoint and a vector were staged.
  sets.push_back(Set(Node("Item", "b"), Edge("VIEWED", {"User", "ub", true}, {"Item", "b"}),
                     Vec("b", {0, 1, 0, 0}), Edge("VIEWED", {"User", "nobody"}, {"Item", "b"})));
  sets.push_back(Set(Node("Item", "c"), Edge("SIMILAR", {"Item", "a"}, {"Item", "c"}, 0.5)));
  std::vector<WriteOutcome> out = db->ApplyMany(sets);
  CHECK(out[0].status.ok());
  CHECK(out[1].status.code() == Status::Code::kNotFound);
  CHECK(out[2].status.ok());
  CHECK(NodeExists(*db, "Item", "a"));
  CHECK_FALSE(NodeExists(*db, "Item", "b"));
  CHECK_FALSE(NodeExists(*db, "User", "ub"));
  CHECK(NodeExists(*db, "Item", "c"));
  CHECK(EdgeCount(*db) == 1);
  auto r =
      db->Query("MATCH (i:Item)-[s:SIMILAR]->(c:Item) RETURN i.id, c.id", nlohmann::json::object());
  REQUIRE(r.ok());
  CHECK(r.value().rows.size() == 1);
  db.reset();
  ClosedDb closed(dir.path);
  CHECK(closed.Id("Item", "b") == kInvalidNode);
  CHECK(closed.Id("User", "ub") == kInvalidNode);
  CHECK(closed.Id("Item", "c") != kInvalidNode);
}

TEST_CASE("later sets of a group see the nodes, edges and vectors earlier sets created") {
  TempDir dir;
  auto db = OpenDbWithSchema(dir.path);
  std::vector<WriteSet> sets;
  sets.push_back(Set(Node("Item", "p")));
  sets.push_back(Set(Vec("p", {0, 0, 1, 0})));
  sets.push_back(Set(Edge("VIEWED", {"User", "v", true}, {"Item", "p"}, 2.0)));
  sets.push_back(Set(Edge("VIEWED", {"User", "v"}, {"Item", "p"}, 3.0)));
  NodeWrite del = Node("Item", "p");
  del.op = NodeWrite::Op::kDelete;
  sets.push_back(Set(del));
  sets.push_back(Set(Node("Item", "p", {{"title", std::string("again")}})));
  std::vector<WriteOutcome> out = db->ApplyMany(sets);
  for (const auto& o : out) CHECK_MESSAGE(o.status.ok(), o.status.ToString());
  auto node = db->GetNode("Item", "p");
  REQUIRE(node.ok());
  CHECK(node.value()["properties"]["title"] == "again");
  CHECK(node.value()["vectors"]["embedding"] == false);
  CHECK(EdgeCount(*db) == 0);
  db.reset();
  auto reopened = OpenDb(dir.path);
  auto again = reopened->GetNode("Item", "p");
  REQUIRE(again.ok());
  CHECK(again.value()["properties"]["title"] == "again");
  CHECK(EdgeCount(*reopened) == 0);
}

TEST_CASE("accumulating an edge weight past the float range is rejected and keeps the old weight") {
  TempDir dir;
  auto db = OpenDbWithSchema(dir.path);
  REQUIRE(db->Apply(Set(Node("Item", "i"))).ok());
  CHECK(db->Apply(Set(Edge("VIEWED", {"User", "u", true}, {"Item", "i"}, 1e308))).code() ==
        Status::Code::kInvalidArgument);
  REQUIRE(db->Apply(Set(Edge("VIEWED", {"User", "u", true}, {"Item", "i"}, 3e38))).ok());
  CHECK(db->Apply(Set(Edge("VIEWED", {"User", "u"}, {"Item", "i"}, 3e38))).code() ==
        Status::Code::kInvalidArgument);
  auto r =
      db->Query("MATCH (u:User)-[v:VIEWED]->(i:Item) RETURN v.weight", nlohmann::json::object());
  REQUIRE(r.ok());
  REQUIRE(r.value().rows.size() == 1);
  CHECK(r.value().rows[0][0].get<double>() == doctest::Approx(3e38).epsilon(1e-6));
}

TEST_CASE("property values and ids beyond their limits are rejected") {
  TempDir dir;
  auto db = OpenDbWithSchema(dir.path);
  std::string big(kMaxPropertyValueBytes + 1, 'x');
  CHECK(db->Apply(Set(Node("Item", "i", {{"title", big}}))).code() ==
        Status::Code::kInvalidArgument);
  CHECK(db->Apply(Set(Node("Item", std::string(kMaxIdBytes + 1, 'i')))).code() ==
        Status::Code::kInvalidArgument);
  CHECK_FALSE(NodeExists(*db, "Item", "i"));
}

TEST_CASE("a concurrent reader never sees a set that is rejected") {
  TempDir dir;
  auto db = OpenDbWithSchema(dir.path);
  std::atomic<bool> stop{false};
  std::atomic<size_t> seen{0};
  std::thread reader([&] {
    while (!stop.load()) {
      for (int i = 0; i < 50; ++i) seen += NodeExists(*db, "Item", "r" + std::to_string(i));
    }
  });
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 50; ++i) {
      std::string id = "r" + std::to_string(i);
      // Node, edge and vector staged; the zero vector makes the whole set fail.
      Status s = db->Apply(Set(Node("Item", id), Edge("VIEWED", {"User", "u", true}, {"Item", id}),
                               Vec(id, {0, 0, 0, 0})));
      REQUIRE(s.code() == Status::Code::kInvalidArgument);
    }
  }
  stop = true;
  reader.join();
  CHECK(seen.load() == 0);
  CHECK(EdgeCount(*db) == 0);
}

TEST_CASE("records: both node and edge keys, unknown fields and out-of-range ts are rejected") {
  auto parse = [](const char* text) { return RecordFromJson(nlohmann::json::parse(text)); };
  CHECK(parse(R"({"node":"Item","id":"i"})").ok());
  CHECK(parse(R"({"node":"Item","id":7})").ok());
  CHECK_FALSE(parse(R"({"node":"Item","edge":"VIEWED","id":"i"})").ok());
  auto unknown = parse(R"({"node":"Item","id":"i","colour":"red"})");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().message().find("colour") != std::string::npos);
  CHECK_FALSE(
      parse(R"({"edge":"V","from":["User","u"],"to":["Item","i"],"ts":18446744073709551615})")
          .ok());
  CHECK(parse(R"({"edge":"V","from":["User","u"],"to":["Item","i"],"ts":-5})").ok());
  CHECK_FALSE(parse(R"({"node":"Item","id":"i","props":{"n":18446744073709551615}})").ok());
  CHECK_FALSE(parse(R"({"vector":"Item.embedding","id":"i","values":"x"})").ok());
  CHECK_FALSE(parse(R"({"schema":{}})").ok());
  CHECK_FALSE(parse(R"([1])").ok());
}

TEST_CASE("a load reports and skips every bad line and keeps every good one") {
  TempDir dir;
  auto db = OpenDbWithSchema(dir.path);
  std::string deep(1000, '[');
  std::string long_line =
      R"({"node":"Item","id":"long","props":{"title":")" + std::string(2000, 'x') + "\"}}";
  std::stringstream in;
  in << R"({"node":"Item","id":"g1"})"
     << "\n"
     << R"({"vector":"Item.embedding","id":"g1","values":[0,0,0,0]})"
     << "\n"
     << R"({"vector":"Item.embedding","id":"g1","values":[1e-50,0,0,0]})"
     << "\n"
     << R"({"node":"Item","edge":"VIEWED","id":"both"})"
     << "\n"
     << R"({"edge":"VIEWED","from":["User","u"],"to":["Item","g1"],"ts":18446744073709551615})"
     << "\n"
     << deep << "\n"
     << long_line << "\n"
     << R"({"node":"Item","id":"g2"})"
     << "\n"
     << R"({"vector":"Item.embedding","id":"g2","values":[0,1,0,0]})"
     << "\n";
  LoadOptions options;
  options.max_line_bytes = 1000;
  auto report = db->Load(in, options);
  REQUIRE_MESSAGE(report.ok(), report.status().ToString());
  CHECK(report.value().errors == 6);
  CHECK(report.value().nodes == 2);
  CHECK(report.value().vectors == 1);
  CHECK(db->Health().ok());
  CHECK(NodeExists(*db, "Item", "g1"));
  CHECK(NodeExists(*db, "Item", "g2"));
  CHECK_FALSE(NodeExists(*db, "Item", "long"));
  CHECK(db->GetNode("Item", "g2").value()["vectors"]["embedding"] == true);
  CHECK(db->GetNode("Item", "g1").value()["vectors"]["embedding"] == false);
  // The writer still works after the load.
  CHECK(db->Apply(Set(Node("Item", "g3"))).ok());
}

}  // namespace pathwise::testing

namespace pathwise::testing {

TEST_CASE("the periodic checkpoint saves changed vector snapshots without a close") {
  TempDir dir;
  DatabaseOptions options;
  options.checkpoint_interval_seconds = 1;
  auto db = OpenDb(dir.path, options);
  REQUIRE(db->MergeSchema(kTestSchema).ok());
  REQUIRE(db->Apply(Set(Node("Item", "v"), Vec("v", {1, 2, 3, 4}))).ok());
  auto snapshot_files = [&] {
    size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir.path + "/hnsw")) {
      n += e.is_regular_file() && e.file_size() > 0;
    }
    return n;
  };
  // Bounded wait for the background checkpoint (a functional check, not a timing one).
  for (int i = 0; i < 200 && snapshot_files() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(snapshot_files() > 0);
}

}  // namespace pathwise::testing
