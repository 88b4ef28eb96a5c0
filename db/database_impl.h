// Internal to query/: the state behind a Database handle, shared by database.cc (open, reads,
// administration), write_path.cc (the single-writer queue and WriteSet application) and
// loader.cc (NDJSON bulk load).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "graph/graph.h"
#include "db/database.h"
#include "query/query.h"
#include "storage/storage.h"
#include "vector/vector.h"

namespace pathwise {

// JSON <-> property values. null, bool, integer, number, string, array of strings.
Result<Value> ValueFromJson(const nlohmann::json& j);
Result<Properties> PropertiesFromJson(const nlohmann::json& j);  // object or null
nlohmann::json ValueToJson(const Value& v);
nlohmann::json PropertiesToJson(const Properties& props);

// The state a group of WriteSets accumulates until its batch is written: the storage batch and
// what it holds that the store cannot answer yet (edge values and meta keys written in it).
struct PendingBatch {
  storage::WriteBatch batch;
  // Edges written (value) or deleted (nullopt) by this batch.
  std::map<std::tuple<NodeId, TypeId, NodeId>, std::optional<storage::EdgeRecord>> edges;
  std::map<std::string, bool, std::less<>> meta;  // key -> exists after this batch
  void Clear() {
    batch.Clear();
    edges.clear();
    meta.clear();
  }
};

struct Database::Impl {
  // One caller waiting in the writer queue: either WriteSets or an exclusive task (schema
  // change, load, backup, snapshot) that runs alone while holding the writer role.
  struct Writer {
    const std::vector<WriteSet>* sets = nullptr;
    std::vector<WriteOutcome>* outcomes = nullptr;
    bool sync = true;
    std::function<Status()> exclusive;
    bool run_when_failed = false;  // exclusive tasks only: run even in the failed state
    Status status;                 // of the group commit (or of the exclusive task)
    bool done = false;
    std::condition_variable cv;
  };

  DatabaseOptions options;
  std::string dir;
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<graph::Graph> graph;
  std::unique_ptr<vector::VectorSet> vectors;
  std::unique_ptr<query::Engine> engine;

  mutable std::mutex schema_mu;
  std::shared_ptr<const Schema> schema;  // GUARDED_BY(schema_mu); replaced copy-on-write

  std::mutex mu;                // guards the fields below
  std::deque<Writer*> writers;  // front is the leader
  Status failed;                // sticky error after a failed durable write
  bool closing = false;

  std::shared_ptr<const Schema> CurrentSchema() const {
    std::lock_guard<std::mutex> lock(schema_mu);
    return schema;
  }

  // Queues w and returns once it was applied by some leader (possibly itself).
  Status RunWriter(Writer* w);
  // Runs fn while holding the writer role (no other write runs concurrently). In the failed
  // state fn is skipped and the sticky error returned, unless run_when_failed.
  Status RunExclusive(std::function<Status()> fn, bool run_when_failed = false);

  // Validates the whole set against the current state (graph + pending), then applies it to the
  // in-memory structures and appends its storage operations to pending. On a validation error
  // nothing is changed. *duplicate is set when unless_meta_exists matched.
  Status ApplySet(const Schema& schema, const WriteSet& set, PendingBatch* pending,
                  bool* duplicate);
  // Checks a set without changing anything (the first half of ApplySet).
  // Fills *resolved (when non-null) with the NodeId validation found for each edge endpoint,
  // two per op (from, to; kInvalidNode when absent, not an edge, or when the set deletes a node),
  // so applying the set does not look the same string keys up again.
  Status ValidateSet(const Schema& schema, const WriteSet& set, const PendingBatch& pending,
                     std::vector<NodeId>* resolved = nullptr);
  // True if meta key exists, considering keys written earlier in pending.
  Result<bool> MetaExists(const std::string& key, const PendingBatch& pending) const;

  // Loader pieces (loader.cc).
  class Loader;
  Result<LoadReport> LoadLocked(std::istream& in, const LoadOptions& options);
  Status MergeSchemaLocked(std::string_view json);
};

}  // namespace pathwise
