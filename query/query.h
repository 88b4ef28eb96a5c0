// query/'s public header: the PQL pipeline (parse -> bind -> plan -> execute) over the serving
// structures that db/'s Database owns. Database::Query is the usual way in; Engine is the seam.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "graph/graph.h"
#include "storage/storage.h"
#include "vector/vector.h"

namespace pathwise {

struct QueryOptions {
  Deadline deadline = Deadline::Never();
  bool explain = false;  // as if the query ended with EXPLAIN
  bool profile = false;  // as if the query started with PROFILE
  size_t max_rows = 10000;  // result size limit; ResourceExhausted beyond it
  // The clock now() and decay() read, in ms since the epoch; unset: the system clock. For
  // reproducible scores (tests, replays).
  std::optional<int64_t> now_ms;
};

// The result of one query; the JSON shapes are documented in docs/query-language.md.
struct QueryResult {
  nlohmann::json columns = nlohmann::json::array();       // ["c.id", "score", ...]
  nlohmann::json rows = nlohmann::json::array();          // [[...], ...]
  nlohmann::json explanations = nlohmann::json::array();  // one per row when EXPLAIN
  nlohmann::json stats = nlohmann::json::object();        // stage times, candidates, flags
  nlohmann::json profile = nlohmann::json::array();       // per-operator rows when PROFILE
  nlohmann::json ToJson() const;
};

}  // namespace pathwise

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
