// Helpers shared by the Database tests: temporary directories, a small schema, a dense ring of
// Items (DenseDb) and direct (Database-less) access to a closed data directory.
#pragma once

#include <doctest/doctest.h>

#include <filesystem>
#include <memory>
#include <random>
#include <sstream>
#include <string>

#include "db/database.h"
#include "storage/storage.h"
#include "vector/vector.h"

namespace pathwise::testing {

struct TempDir {
  TempDir() {
    std::random_device rd;
    path = (std::filesystem::temp_directory_path() / ("pw_db_" + std::to_string(rd()))).string();
    std::filesystem::remove_all(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string path;
};

inline constexpr char kTestSchema[] = R"({
  "node_types": [{"name": "User", "properties": {"age": "int"}},
                 {"name": "Item", "properties": {"price": "double", "title": "string"}},
                 {"name": "Tag"}],
  "edge_types": [{"name": "VIEWED", "mode": "accumulate", "from": "User", "to": "Item"},
                 {"name": "RATED", "mode": "replace", "from": "User", "to": "Item"},
                 {"name": "SIMILAR", "from": "Item", "to": "Item"},
                 {"name": "TAGGED", "from": "Tag", "to": "Item"}],
  "vector_spaces": [{"node_type": "Item", "name": "embedding", "dim": 4, "metric": "cosine"}]})";

inline std::unique_ptr<Database> OpenDb(const std::string& dir, DatabaseOptions options = {}) {
  auto db = Database::Open(options, dir);
  REQUIRE_MESSAGE(db.ok(), db.status().ToString());
  return std::move(db).value();
}

inline std::unique_ptr<Database> OpenDbWithSchema(const std::string& dir) {
  auto db = OpenDb(dir);
  REQUIRE(db->MergeSchema(kTestSchema).ok());
  return db;
}

inline NodeWrite Node(std::string type, std::string id, Properties props = {}) {
  NodeWrite w;
  w.type = std::move(type);
  w.id = std::move(id);
  w.props = std::move(props);
  return w;
}

inline EdgeWrite Edge(std::string type, NodeRef from, NodeRef to, std::optional<double> weight = {},
                      std::optional<int64_t> ts = {}) {
  EdgeWrite w;
  w.type = std::move(type);
  w.from = std::move(from);
  w.to = std::move(to);
  w.weight = weight;
  w.ts = ts;
  return w;
}

inline VectorWrite Vec(std::string id, std::vector<float> values) {
  VectorWrite w;
  w.space = "Item.embedding";
  w.id = std::move(id);
  w.values = std::move(values);
  return w;
}

template <typename... Ops>
WriteSet Set(Ops... ops) {
  WriteSet set;
  (set.ops.emplace_back(std::move(ops)), ...);
  return set;
}

// Direct access to the system of record of a closed data directory.
struct ClosedDb {
  explicit ClosedDb(const std::string& dir) {
    auto s = storage::Store::Open({}, dir + "/db");
    REQUIRE_MESSAGE(s.ok(), s.status().ToString());
    store = std::move(s).value();
    auto json = store->GetMeta("schema");
    REQUIRE(json.ok());
    REQUIRE(schema.MergeJson(json.value()).ok());
  }
  NodeId Id(const std::string& type, const std::string& key) const {
    auto id = store->LookupNode(schema.FindNodeType(type)->id, key);
    return id.ok() ? id.value() : kInvalidNode;
  }
  TypeId EdgeType(const std::string& name) const { return schema.FindEdgeType(name)->id; }
  std::unique_ptr<storage::Store> store;
  Schema schema;
};

// A dense graph: `nodes` Items, each SIMILAR to the next `fanout` Items (wrapping around), so
// k-hop walks from any node fan out as fanout^k.
inline std::unique_ptr<Database> DenseDb(const std::string& dir, int nodes, int fanout,
                                  DatabaseOptions options = {}) {
  auto db = OpenDb(dir, options);
  std::ostringstream ndjson;
  ndjson << R"({"schema": {"node_types": [{"name": "Item"}], "edge_types": [{"name": "SIMILAR", "from": "Item", "to": "Item"}]}})"
         << "\n";
  for (int i = 0; i < nodes; ++i) ndjson << R"({"node": "Item", "id": "n)" << i << "\"}\n";
  for (int i = 0; i < nodes; ++i) {
    for (int k = 1; k <= fanout; ++k) {
      ndjson << R"({"edge": "SIMILAR", "from": ["Item", "n)" << i << R"("], "to": ["Item", "n)"
             << (i + k) % nodes << R"("], "weight": 1})" << "\n";
    }
  }
  std::istringstream in(ndjson.str());
  auto report = db->Load(in);
  REQUIRE_MESSAGE(report.ok(), report.status().ToString());
  return db;
}

}  // namespace pathwise::testing
