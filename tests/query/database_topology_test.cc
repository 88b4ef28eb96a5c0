// The topology snapshot through Database: written at a clean close and into backups, read at
// open when intact and current, deleted once read; anything else is rebuilt from the store.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include "tests/query/database_test_util.h"

namespace pathwise::testing {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

std::string TopologyFile(const TempDir& dir) { return dir.path + "/topology"; }

void Populate(Database* db) {
  REQUIRE(db->MergeSchema(kTestSchema).ok());
  std::vector<WriteSet> sets;
  for (int i = 0; i < 40; ++i) {
    sets.push_back(Set(Node("Item", "i" + std::to_string(i),
                            {{"price", 1.5 * i}, {"title", "t" + std::to_string(i)}})));
  }
  // Edges written in descending item order: the in-memory lists are not in id order.
  for (int u = 0; u < 15; ++u) {
    WriteSet set;
    set.ops.push_back(Node("User", "u" + std::to_string(u), {{"age", int64_t{20 + u}}}));
    for (int k = 5; k >= 0; --k) {
      set.ops.push_back(Edge("VIEWED", {"User", "u" + std::to_string(u)},
                             {"Item", "i" + std::to_string((u * 7 + k * 3) % 40)}, 1.0 + k,
                             1000 + u * 10 + k));
    }
    sets.push_back(std::move(set));
  }
  for (int i = 39; i > 0; --i) {
    sets.push_back(Set(Edge("SIMILAR", {"Item", "i" + std::to_string(i)},
                            {"Item", "i" + std::to_string(i / 2)}, 0.1 * i)));
  }
  for (const auto& outcome : db->ApplyMany(sets))
    REQUIRE_MESSAGE(outcome.status.ok(), outcome.status.ToString());
}

// What a reader can see: every node (properties, degrees) and the answers of a few queries.
Json Observe(Database* db) {
  Json seen = Json::object();
  for (int i = 0; i < 40; ++i) {
    seen["i" + std::to_string(i)] = *db->GetNode("Item", "i" + std::to_string(i));
  }
  for (int u = 0; u < 16; ++u) {
    auto node = db->GetNode("User", "u" + std::to_string(u));
    seen["u" + std::to_string(u)] = node.ok() ? *node : Json("absent");
  }
  for (const char* q : {"MATCH (u:User)-[r:VIEWED]->(i:Item) RETURN u.id, i.id, r.weight, r.ts",
                        "MATCH (i:Item)<-[:SIMILAR]-(j:Item) RETURN i.id, j.id",
                        "MATCH (u:User {id: 'u3'})-[:VIEWED]->(:Item)-[s:SIMILAR]->(c:Item) "
                        "RETURN c.id, sum(s.weight) AS w ORDER BY w DESC, c.id"}) {
    auto r = db->Query(q, Json::object());
    REQUIRE_MESSAGE(r.ok(), r.status().ToString());
    Json rows = r->rows;
    std::sort(rows.begin(), rows.end());  // row order is not part of these queries' answers
    seen[q] = rows;
  }
  Json stats = db->Stats();
  seen["nodes"] = stats["nodes"];
  seen["edges"] = stats["edges"];
  return seen;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// Populates, closes cleanly, and returns what the database showed before closing.
Json PopulatedAndClosed(const TempDir& dir) {
  auto db = OpenDb(dir.path);
  Populate(db.get());
  Json seen = Observe(db.get());
  db.reset();
  REQUIRE(fs::exists(TopologyFile(dir)));
  return seen;
}

TEST_CASE("a clean close leaves a topology snapshot that the next open reads and deletes") {
  TempDir dir;
  Json before = PopulatedAndClosed(dir);
  auto db = OpenDb(dir.path);
  CHECK(db->Stats()["topology_loaded_from"] == "snapshot");
  CHECK_FALSE(fs::exists(TopologyFile(dir)));  // a crash from here on rebuilds
  CHECK(Observe(db.get()) == before);
  db.reset();
  fs::remove(TopologyFile(dir));
  db = OpenDb(dir.path);
  CHECK(db->Stats()["topology_loaded_from"] == "store");
  CHECK(Observe(db.get()) == before);
}

// Populates and closes, changes the snapshot's bytes with `damage`, and checks that the next
// open rebuilds the topology from the store and shows what the database showed before.
template <typename Damage>
void CheckRebuiltAfter(Damage damage) {
  TempDir dir;
  Json before = PopulatedAndClosed(dir);
  std::string bytes = ReadFile(TopologyFile(dir));
  damage(bytes);
  WriteFile(TopologyFile(dir), bytes);
  auto db = OpenDb(dir.path);
  CHECK(db->Stats()["topology_loaded_from"] == "store");
  CHECK(Observe(db.get()) == before);
}

TEST_CASE("a damaged topology snapshot is rebuilt from the store") {
  CheckRebuiltAfter([](std::string& bytes) { bytes[bytes.size() / 2] ^= 0x01; });
}

TEST_CASE("a topology snapshot of another format version is rebuilt from the store") {
  CheckRebuiltAfter([](std::string& bytes) { bytes[8] += 1; });  // the format word after the magic
}

TEST_CASE("a stale topology snapshot (writes after it, then killed without close) is rebuilt") {
  TempDir dir;
  PopulatedAndClosed(dir);
  const std::string old_snapshot = ReadFile(TopologyFile(dir));
  DatabaseOptions killed;
  killed.snapshot_on_close = false;  // as after a kill: nothing is saved at the end
  Json after;
  {
    auto db = OpenDb(dir.path, killed);
    REQUIRE(db->Apply(Set(Node("User", "u15"),
                          Edge("VIEWED", {"User", "u15"}, {"Item", "i1"}, 9.0))).ok());
    REQUIRE(db->Apply(Set(Edge("VIEWED", {"User", "u0"}, {"Item", "i0"}, 7.0, 5))).ok());
    after = Observe(db.get());
  }
  CHECK_FALSE(fs::exists(TopologyFile(dir)));
  // Even a copy of the last clean close's snapshot put back is refused: its stamp is stale.
  WriteFile(TopologyFile(dir), old_snapshot);
  auto db = OpenDb(dir.path);
  CHECK(db->Stats()["topology_loaded_from"] == "store");
  CHECK(Observe(db.get()) == after);
  CHECK(after["u15"]["degrees"]["VIEWED"]["out"] == 1);
}

TEST_CASE("a restored backup opens from the topology snapshot taken with it") {
  TempDir dir, restored;
  const std::string backup = dir.path + "-backup";
  Json before;
  {
    auto db = OpenDb(dir.path);
    Populate(db.get());
    before = Observe(db.get());
    REQUIRE(db->Backup(backup).ok());
    REQUIRE(db->Apply(Set(Node("User", "u15"))).ok());  // not in the backup
  }
  REQUIRE(fs::exists(backup + "/topology"));
  REQUIRE(Database::Restore(backup, restored.path).ok());
  fs::remove_all(backup);
  auto db = OpenDb(restored.path);
  CHECK(db->Stats()["topology_loaded_from"] == "snapshot");
  CHECK(Observe(db.get()) == before);
}

}  // namespace
}  // namespace pathwise::testing
