// Internal to query/: the seam between Database (which owns storage, graph and vectors and
// serialises writes) and the PQL pipeline (parse -> bind -> plan -> execute).
#pragma once

#include <memory>
#include <string_view>

#include <nlohmann/json.hpp>

#include "graph/graph.h"
#include "query/database.h"
#include "storage/storage.h"
#include "vector/vector.h"

namespace pathwise::query {

// What one query execution reads. The schema is an immutable copy (a writer that changes the
// schema publishes a new one); graph and vectors are safe for concurrent reads.
struct Catalog {
  std::shared_ptr<const Schema> schema;
  const graph::Graph* graph = nullptr;
  const vector::VectorSet* vectors = nullptr;
  const storage::Store* store = nullptr;
  size_t default_max_per_node = 100;
};

class Engine {
 public:
  explicit Engine(size_t plan_cache_entries);
  ~Engine();
  // Parses (or takes from the plan cache, keyed by text and schema version), binds, plans and
  // executes one statement. Errors: SyntaxError (line/column), InvalidArgument (binding, naming
  // the unknown thing), DeadlineExceeded, ResourceExhausted (max_rows).
  Result<QueryResult> Execute(const Catalog& catalog, std::string_view text,
                              const nlohmann::json& params, const QueryOptions& options);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pathwise::query
