// Shared by the jobs/ tests: a temporary data directory, opening it, and the ratings schema.
#pragma once

#include <doctest/doctest.h>

#include <filesystem>
#include <memory>
#include <random>
#include <string>

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

inline std::unique_ptr<Database> Open(const std::string& dir) {
  auto db = Database::Open({}, dir);
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

}  // namespace pathwise::testing
