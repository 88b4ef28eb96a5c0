// Database: persistence, edge modes, delete cascades and input validation.
#include <cmath>
#include <limits>

#include "tests/query/database_test_util.h"

namespace pathwise {
namespace {

using namespace pathwise::testing;
using Json = nlohmann::json;

std::vector<float> RandomVector(std::mt19937* rng) {
  std::normal_distribution<float> dist;
  return {dist(*rng), dist(*rng), dist(*rng), dist(*rng)};
}

// Writes 60 items with vectors, 20 users and their edges; returns the vectors by item id.
std::map<std::string, std::vector<float>> Populate(Database* db) {
  std::mt19937 rng(42);
  std::map<std::string, std::vector<float>> vectors;
  std::vector<WriteSet> sets;
  for (int i = 0; i < 60; ++i) {
    std::string id = "i" + std::to_string(i);
    vectors[id] = RandomVector(&rng);
    sets.push_back(
        Set(Node("Item", id, {{"price", 1.5 * i}, {"title", "item " + id}}), Vec(id, vectors[id])));
  }
  for (int u = 0; u < 20; ++u) {
    WriteSet set;
    set.ops.push_back(Node("User", "u" + std::to_string(u), {{"age", int64_t{20 + u}}}));
    for (int k = 0; k < 5; ++k) {
      set.ops.push_back(Edge("VIEWED", {"User", "u" + std::to_string(u)},
                             {"Item", "i" + std::to_string((u * 7 + k * 3) % 60)}, 1.0 + k,
                             1000 + u * 10 + k));
    }
    sets.push_back(std::move(set));
  }
  sets.push_back(Set(Edge("SIMILAR", {"Item", "i1"}, {"Item", "i2"}, 0.9)));
  for (const auto& outcome : db->ApplyMany(sets))
    REQUIRE_MESSAGE(outcome.status.ok(), outcome.status.ToString());
  return vectors;
}

TEST_CASE("nodes, edges and vectors survive close and reopen") {
  for (bool snapshot_on_close : {true, false}) {
    CAPTURE(snapshot_on_close);
    TempDir dir;
    std::map<std::string, Json> before;
    std::map<std::string, std::vector<float>> vectors;
    Json stats_before;
    DatabaseOptions options;
    options.snapshot_on_close = snapshot_on_close;
    {
      auto db = OpenDb(dir.path, options);
      REQUIRE(db->MergeSchema(kTestSchema).ok());
      vectors = Populate(db.get());
      for (int i = 0; i < 60; ++i)
        before["Item/i" + std::to_string(i)] = *db->GetNode("Item", "i" + std::to_string(i));
      for (int u = 0; u < 20; ++u)
        before["User/u" + std::to_string(u)] = *db->GetNode("User", "u" + std::to_string(u));
      stats_before = db->Stats();
      CHECK(stats_before["nodes"] == 80);
      CHECK(stats_before["edges"].get<int>() > 0);
      CHECK(stats_before["vectors"]["Item.embedding"] == 60);
      CHECK(before["Item/i3"]["properties"]["price"] == 4.5);
      CHECK(before["Item/i3"]["vectors"]["embedding"] == true);
    }
    {
      auto db = OpenDb(dir.path, options);
      CHECK(Json::parse(db->SchemaJson()) == Json::parse(db->SchemaJson()));
      for (const auto& [key, json] : before) {
        auto slash = key.find('/');
        auto now = db->GetNode(key.substr(0, slash), key.substr(slash + 1));
        REQUIRE(now.ok());
        CHECK(now.value() == json);
      }
      Json stats_after = db->Stats();
      CHECK(stats_after["nodes"] == stats_before["nodes"]);
      CHECK(stats_after["edges"] == stats_before["edges"]);
      CHECK(stats_after["vectors"] == stats_before["vectors"]);
    }
    // The reopened vector index answers like an exact scan over the vectors that were written.
    ClosedDb closed(dir.path);
    auto set = vector::VectorSet::Open(*closed.store, closed.schema, dir.path + "/hnsw");
    REQUIRE(set.ok());
    const vector::VectorIndex* index = set.value()->Get(0);
    REQUIRE(index != nullptr);
    CHECK(index->Size() == 60);
    std::mt19937 rng(7);
    for (int q = 0; q < 10; ++q) {
      std::vector<float> query = RandomVector(&rng);
      vector::SearchOptions so;
      so.k = 5;
      so.ef = 100;
      auto approx = index->Search(query, so);
      auto exact = index->SearchExact(query, so);
      REQUIRE(approx.ok());
      REQUIRE(exact.ok());
      REQUIRE(approx->hits.size() == 5);
      for (size_t h = 0; h < 5; ++h) CHECK(approx->hits[h].node == exact->hits[h].node);
      // And the exact winner is the written vector with the highest cosine similarity.
      std::string best;
      double best_sim = -2;
      for (const auto& [id, v] : vectors) {
        double dot = 0, nq = 0, nv = 0;
        for (int d = 0; d < 4; ++d)
          dot += v[d] * query[d], nq += query[d] * query[d], nv += v[d] * v[d];
        double sim = dot / std::sqrt(nq * nv);
        if (sim > best_sim) best_sim = sim, best = id;
      }
      CHECK(exact->hits[0].node == closed.Id("Item", best));
    }
  }
}

TEST_CASE("accumulate edges add weights and keep the latest timestamp; replace edges overwrite") {
  TempDir dir;
  {
    auto db = OpenDbWithSchema(dir.path);
    REQUIRE(db->Apply(Set(Node("User", "u1"), Node("Item", "i1"))).ok());
    REQUIRE(db->Apply(Set(Edge("VIEWED", {"User", "u1"}, {"Item", "i1"}, 2.0, 500))).ok());
    REQUIRE(db->Apply(Set(Edge("VIEWED", {"User", "u1"}, {"Item", "i1"}, 3.0, 300))).ok());
    REQUIRE(db->Apply(Set(Edge("VIEWED", {"User", "u1"}, {"Item", "i1"}, 0.5, 900),
                          Edge("VIEWED", {"User", "u1"}, {"Item", "i1"}, 0.25, 800)))
                .ok());
    REQUIRE(db->Apply(Set(Edge("RATED", {"User", "u1"}, {"Item", "i1"}, 4.0, 500))).ok());
    REQUIRE(db->Apply(Set(Edge("RATED", {"User", "u1"}, {"Item", "i1"}, 2.0, 100))).ok());
    auto node = db->GetNode("User", "u1");
    REQUIRE(node.ok());
    CHECK(node.value()["degrees"]["VIEWED"]["out"] == 1);
    CHECK(node.value()["degrees"]["RATED"]["out"] == 1);
  }
  ClosedDb closed(dir.path);
  NodeId u1 = closed.Id("User", "u1"), i1 = closed.Id("Item", "i1");
  auto viewed = closed.store->GetEdge(u1, closed.EdgeType("VIEWED"), i1);
  REQUIRE(viewed.ok());
  CHECK(viewed->weight == doctest::Approx(5.75));
  CHECK(viewed->count == 4);
  CHECK(viewed->ts == 900);
  auto rated = closed.store->GetEdge(u1, closed.EdgeType("RATED"), i1);
  REQUIRE(rated.ok());
  CHECK(rated->weight == 2.0);
  CHECK(rated->count == 1);
  CHECK(rated->ts == 100);
}

TEST_CASE("node patch merges properties and a null removes one; upsert replaces all") {
  TempDir dir;
  auto db = OpenDbWithSchema(dir.path);
  REQUIRE(db->Apply(Set(Node("Item", "i1", {{"price", 2.0}, {"title", std::string("a")}}))).ok());
  NodeWrite patch = Node("Item", "i1", {{"price", Value{}}, {"color", std::string("red")}});
  patch.op = NodeWrite::Op::kPatch;
  REQUIRE(db->Apply(Set(patch)).ok());
  CHECK(db->GetNode("Item", "i1").value()["properties"] == Json{{"title", "a"}, {"color", "red"}});
  REQUIRE(db->Apply(Set(Node("Item", "i1", {{"price", int64_t{3}}}))).ok());
  CHECK(db->GetNode("Item", "i1").value()["properties"] == Json{{"price", 3}});
}

TEST_CASE("deleting a node removes its edges in both directions and its vectors") {
  TempDir dir;
  NodeId old_id;
  {
    auto db = OpenDbWithSchema(dir.path);
    REQUIRE(db->Apply(Set(Node("User", "u1"), Node("User", "u2"), Node("Item", "i1"),
                          Node("Item", "i2"), Node("Item", "i3"), Vec("i1", {1, 0, 0, 0}),
                          Edge("VIEWED", {"User", "u1"}, {"Item", "i1"}),
                          Edge("VIEWED", {"User", "u2"}, {"Item", "i1"}),
                          Edge("VIEWED", {"User", "u2"}, {"Item", "i2"}),
                          Edge("SIMILAR", {"Item", "i1"}, {"Item", "i2"}),
                          Edge("SIMILAR", {"Item", "i3"}, {"Item", "i1"})))
                .ok());
    CHECK(db->Stats()["edges"] == 5);
    NodeWrite del = Node("Item", "i1");
    del.op = NodeWrite::Op::kDelete;
    REQUIRE(db->Apply(Set(del)).ok());
    CHECK(db->GetNode("Item", "i1").status().code() == Status::Code::kNotFound);
    CHECK(db->Stats()["edges"] == 1);
    CHECK(db->Stats()["vectors"]["Item.embedding"] == 0);
    CHECK(db->GetNode("User", "u1").value()["degrees"].value("VIEWED", Json{{"out", 0}})["out"] ==
          0);
    CHECK(db->GetNode("Item", "i3").value()["degrees"].value("SIMILAR", Json{{"out", 0}})["out"] ==
          0);
    CHECK(db->GetNode("User", "u2").value()["degrees"]["VIEWED"]["out"] == 1);
  }
  {
    ClosedDb closed(dir.path);
    CHECK(closed.Id("Item", "i1") == kInvalidNode);
    size_t edges = 0;
    REQUIRE(
        closed.store->ScanEdges([&](const storage::EdgeRecord&) { return ++edges, true; }).ok());
    CHECK(edges == 1);
    for (NodeId id = 0; id < 5; ++id) {
      size_t in = 0;
      REQUIRE(closed.store
                  ->ScanEdgesOf(id, storage::Direction::kIn,
                                [&](const storage::EdgeRecord&) { return ++in, true; })
                  .ok());
      CHECK(in <= 1);
    }
    size_t vectors = 0;
    REQUIRE(closed.store
                ->ScanVectors(0, [&](NodeId, std::span<const float>) { return ++vectors, true; })
                .ok());
    CHECK(vectors == 0);
    old_id = 2;  // i1 was the third node created
  }
  auto db = OpenDb(dir.path);
  CHECK(db->Stats()["edges"] == 1);
  REQUIRE(db->Apply(Set(Node("Item", "i1"))).ok());
  auto again = db->GetNode("Item", "i1");
  REQUIRE(again.ok());
  CHECK(again.value()["degrees"].empty());
  CHECK(again.value()["vectors"]["embedding"] == false);
  (void)old_id;
}

TEST_CASE("a node's out-degree sums its outgoing edges of every type, as GetNode reports them") {
  TempDir dir;
  auto db = OpenDbWithSchema(dir.path);
  REQUIRE(db->Apply(Set(Node("User", "u1"), Node("Item", "i1"), Node("Item", "i2"),
                        Edge("VIEWED", {"User", "u1"}, {"Item", "i1"}),
                        Edge("VIEWED", {"User", "u1"}, {"Item", "i2"}),
                        Edge("SIMILAR", {"Item", "i1"}, {"Item", "i2"})))
              .ok());
  CHECK(db->OutDegree("User", "u1").value() == 2);
  CHECK(db->OutDegree("Item", "i1").value() == 1);  // its VIEWED in-edge does not count
  CHECK(db->OutDegree("Item", "i2").value() == 0);
  for (const char* id : {"i1", "i2"}) {
    uint64_t from_json = 0;
    const Json node = db->GetNode("Item", id).value();
    for (const auto& d : node["degrees"]) from_json += d["out"].get<uint64_t>();
    CHECK(db->OutDegree("Item", id).value() == from_json);
  }
  CHECK(db->OutDegree("User", "nobody").status().code() == Status::Code::kNotFound);
  CHECK(db->OutDegree("Gadget", "u1").status().code() == Status::Code::kInvalidArgument);
}

TEST_CASE("invalid writes are rejected with no partial effect") {
  TempDir dir;
  auto db = OpenDbWithSchema(dir.path);
  REQUIRE(db->Apply(Set(Node("User", "u1"), Node("Item", "i1"))).ok());
  Json stats = db->Stats();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  struct Case {
    const char* name;
    WriteSet set;
    Status::Code code;
    const char* mention;
  };
  std::vector<Case> cases;
  auto with_good = [](auto bad) {
    return Set(Node("Item", "fresh", {{"price", 1.0}}),
               Edge("VIEWED", {"User", "u1"}, {"Item", "i1"}, 1.0), std::move(bad));
  };
  cases.push_back({"unknown node type", with_good(Node("Ghost", "g1")),
                   Status::Code::kInvalidArgument, "Ghost"});
  cases.push_back({"unknown edge type", with_good(Edge("LIKED", {"User", "u1"}, {"Item", "i1"})),
                   Status::Code::kInvalidArgument, "LIKED"});
  VectorWrite bad_space = Vec("i1", {1, 2, 3, 4});
  bad_space.space = "Item.nope";
  cases.push_back(
      {"unknown space", with_good(bad_space), Status::Code::kInvalidArgument, "Item.nope"});
  cases.push_back({"wrong dimension", with_good(Vec("i1", {1, 2, 3})),
                   Status::Code::kInvalidArgument, "dimension"});
  cases.push_back(
      {"NaN", with_good(Vec("i1", {1, nan, 3, 4})), Status::Code::kInvalidArgument, "NaN"});
  cases.push_back({"infinity", with_good(Vec("i1", {1, inf, 3, 4})), Status::Code::kInvalidArgument,
                   "infinite"});
  cases.push_back(
      {"empty id", with_good(Node("User", "")), Status::Code::kInvalidArgument, "empty"});
  cases.push_back({"over-long id", with_good(Node("User", std::string(513, 'x'))),
                   Status::Code::kInvalidArgument, "513"});
  cases.push_back({"non-UTF-8 id", with_good(Node("User", "bad\xC3\x28")),
                   Status::Code::kInvalidArgument, "UTF-8"});
  cases.push_back({"wrong property type",
                   with_good(Node("User", "u9", {{"age", std::string("old")}})),
                   Status::Code::kInvalidArgument, "age"});
  cases.push_back({"wrong endpoint type", with_good(Edge("VIEWED", {"Item", "i1"}, {"Item", "i1"})),
                   Status::Code::kInvalidArgument, "User"});
  cases.push_back({"missing endpoint",
                   with_good(Edge("VIEWED", {"User", "nobody"}, {"Item", "i1"})),
                   Status::Code::kNotFound, "nobody"});
  cases.push_back({"vector for a missing node", with_good(Vec("nothing", {1, 2, 3, 4})),
                   Status::Code::kNotFound, "nothing"});
  cases.push_back({"infinite edge weight",
                   with_good(Edge("VIEWED", {"User", "u1"}, {"Item", "i1"}, INFINITY)),
                   Status::Code::kInvalidArgument, "finite"});
  for (auto& c : cases) {
    CAPTURE(c.name);
    Status s = db->Apply(c.set);
    CHECK(s.code() == c.code);
    CHECK_MESSAGE(s.message().find(c.mention) != std::string::npos, s.message());
    CHECK(db->GetNode("Item", "fresh").status().code() == Status::Code::kNotFound);
    CHECK(db->Stats()["nodes"] == stats["nodes"]);
    CHECK(db->Stats()["edges"] == stats["edges"]);
    CHECK(db->GetNode("User", "u1").value()["degrees"].empty());
  }
  // A bad set in a group fails alone; its neighbours are applied.
  std::vector<WriteSet> sets;
  sets.push_back(Set(Node("User", "good1")));
  sets.push_back(with_good(Node("Ghost", "g")));
  sets.push_back(Set(Node("User", "good2")));
  auto outcomes = db->ApplyMany(sets);
  CHECK(outcomes[0].status.ok());
  CHECK(!outcomes[1].status.ok());
  CHECK(outcomes[2].status.ok());
  CHECK(db->GetNode("User", "good1").ok());
  CHECK(db->GetNode("User", "good2").ok());
  CHECK(db->GetNode("Item", "fresh").status().code() == Status::Code::kNotFound);
  // A node created earlier in the same set can be an endpoint; create_if_missing makes one.
  CHECK(
      db->Apply(Set(Node("Item", "new1"), Edge("VIEWED", {"User", "u1"}, {"Item", "new1"}))).ok());
  CHECK(db->Apply(Set(Edge("VIEWED", {"User", "auto", true}, {"Item", "new1"}))).ok());
  CHECK(db->GetNode("User", "auto").ok());
  CHECK(db->GetNode("Ghost", "x").status().code() == Status::Code::kInvalidArgument);
}

TEST_CASE("schema changes persist and add vector spaces at runtime") {
  TempDir dir;
  {
    auto db = OpenDbWithSchema(dir.path);
    CHECK(db->MergeSchema(R"({"edge_types": [{"name": "VIEWED", "mode": "replace"}]})").code() ==
          Status::Code::kInvalidArgument);
    REQUIRE(
        db->MergeSchema(R"({"vector_spaces": [{"node_type": "User", "name": "taste", "dim": 2}]})")
            .ok());
    REQUIRE(db->Apply(Set(Node("User", "u1"))).ok());
    VectorWrite v = Vec("u1", {0.5f, 0.5f});
    v.space = "User.taste";
    REQUIRE(db->Apply(Set(v)).ok());
  }
  auto db = OpenDb(dir.path);
  Json schema = Json::parse(db->SchemaJson());
  CHECK(schema["vector_spaces"].size() == 2);
  CHECK(db->GetNode("User", "u1").value()["vectors"]["taste"] == true);
  CHECK(db->Stats()["vectors"]["User.taste"] == 1);
}

TEST_CASE("backup and restore reproduce the data directory") {
  TempDir dir;
  std::string data = dir.path + "/data", backup = dir.path + "/backup",
              restored = dir.path + "/restored";
  {
    auto db = OpenDbWithSchema(data);
    Populate(db.get());
    REQUIRE(db->Backup(backup).ok());
    CHECK(db->Backup(backup).code() == Status::Code::kAlreadyExists);
    REQUIRE(db->Apply(Set(Node("User", "after_backup"))).ok());
    REQUIRE(db->Checkpoint().ok());
    CHECK(db->Stats()["disk_bytes"].get<uint64_t>() > 0);
  }
  REQUIRE(Database::Restore(backup, restored).ok());
  auto db = OpenDb(restored);
  CHECK(db->Stats()["nodes"] == 80);
  CHECK(db->Stats()["vectors"]["Item.embedding"] == 60);
  CHECK(db->GetNode("User", "after_backup").status().code() == Status::Code::kNotFound);
  CHECK(db->GetNode("Item", "i5").ok());
}

TEST_CASE("a query past its deadline fails with DeadlineExceeded and the next query runs") {
  TempDir dir;
  auto db = OpenDbWithSchema(dir.path);
  Populate(db.get());
  const std::string text =
      "MATCH (u:User)-[:VIEWED]->(i:Item)<-[:VIEWED]-(o:User) RETURN o.id, count(*)";
  QueryOptions late;
  late.deadline = Deadline::AfterMillis(-1000);
  auto expired = db->Query(text, Json::object(), late);
  REQUIRE_FALSE(expired.ok());
  CHECK(expired.status().code() == Status::Code::kDeadlineExceeded);
  auto again = db->Query(text, Json::object(), QueryOptions());
  REQUIRE_MESSAGE(again.ok(), again.status().ToString());
  CHECK(again->rows.size() > 0);
}

}  // namespace
}  // namespace pathwise
