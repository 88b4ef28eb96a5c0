// Shared by the jobs/ tests: a temporary data directory, opening it, the ratings schema and
// reading a job's output edges.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "db/database.h"

namespace pathwise::testing {

struct TempDir {
  TempDir() {
    std::random_device rd;
    path = (std::filesystem::temp_directory_path() / ("pw_jobs_" + std::to_string(rd()))).string();
    std::filesystem::remove_all(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string path;
};

inline std::unique_ptr<Database> Open(const std::string& dir, const DatabaseOptions& options = {}) {
  auto db = Database::Open(options, dir);
  REQUIRE_MESSAGE(db.ok(), db.status().ToString());
  return std::move(db).value();
}

// User -RATED-> Movie, and WROTE (User -> User, not bipartite).
inline void DeclareRatingSchema(Database& db) {
  REQUIRE(db.MergeSchema(R"({"node_types": [{"name": "User"}, {"name": "Movie"}],
                              "edge_types": [{"name": "RATED", "from": "User", "to": "Movie"},
                                             {"name": "WROTE", "from": "User", "to": "User"}]})")
              .ok());
}

using Edges = std::map<std::pair<std::string, std::string>, float>;

// Every edge of `type` out of a Movie, as (from id, to id) -> weight; empty without the type.
inline Edges EdgesOf(Database& db, const std::string& type) {
  Edges out;
  REQUIRE(db.ReadGraph([&](const graph::Graph& g, const Schema& schema) {
                const EdgeTypeDef* def = schema.FindEdgeType(type);
                if (def == nullptr) return Status::OK();
                std::vector<graph::Neighbor> list;
                for (NodeId m : g.NodesOfType(schema.FindNodeType("Movie")->id)) {
                  g.TopNeighbors(m, def->id, graph::Direction::kOut, SIZE_MAX, &list);
                  for (const auto& n : list) out[{g.KeyOf(m), g.KeyOf(n.node)}] = n.weight;
                }
                return Status::OK();
              }).ok());
  return out;
}

}  // namespace pathwise::testing
