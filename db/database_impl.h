// Internal to db/: the state behind a Database handle, shared by database.cc (open, reads,
// administration), write_path.cc (the single-writer queue and group commit) and loader.cc
// (NDJSON bulk load, with load_pipeline.h). Staging and applying writes is in staged_write.h.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "graph/graph.h"
#include "db/database.h"
#include "db/staged_write.h"
#include "query/query.h"
#include "storage/storage.h"
#include "vector/vector.h"

namespace pathwise {

// JSON <-> property values. null, bool, integer, number, string, array of strings.
Result<Value> ValueFromJson(const nlohmann::json& j);
nlohmann::json ValueToJson(const Value& v);
nlohmann::json PropertiesToJson(const Properties& props);

struct Database::Impl {
  // One caller waiting in the writer queue: either WriteSets or an exclusive task (schema
  // change, load, backup, snapshot) that runs alone while holding the writer role.
  struct Writer {
    const std::vector<WriteSet>* sets = nullptr;
    std::vector<WriteOutcome>* outcomes = nullptr;
    bool sync = true;
    int64_t max_queue_wait_ms = 0;  // WriteOptions::max_queue_wait_ms
    bool taken = false;             // a leader put it into its group (it can no longer withdraw)
    std::function<Status()> exclusive;
    bool run_when_failed = false;  // exclusive tasks only: run even after a storage fault
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
  // Set by a real storage fault (a durable write failed, or memory could not take a durable
  // write): later writes are refused with it until the database is reopened. Bad input never
  // sets it.
  Status failed;
  bool closing = false;

  // The periodic checkpoint (DatabaseOptions::checkpoint_interval_seconds).
  std::thread checkpointer;
  std::mutex checkpoint_mu;
  std::condition_variable checkpoint_cv;
  bool stop_checkpoints = false;  // guarded by checkpoint_mu; also stops the expirer
  void CheckpointLoop();
  // Impression retention (DatabaseOptions::impression_retention_days): expires at start, then
  // hourly, until stop_checkpoints.
  std::thread expirer;
  void ExpiryLoop(Database* db);

  std::shared_ptr<const Schema> CurrentSchema() const {
    std::lock_guard<std::mutex> lock(schema_mu);
    return schema;
  }

  // Queues w and returns once it was applied by some leader (possibly itself).
  Status RunWriter(Writer* w);
  // Runs fn while holding the writer role (no other write runs concurrently). In the failed
  // state fn is skipped and the sticky error returned, unless run_when_failed.
  Status RunExclusive(std::function<Status()> fn, bool run_when_failed = false);

  // Stages, writes and applies one group of WriteSet writers (write_path.cc).
  Status CommitGroup(const std::vector<Writer*>& group, bool sync);
  // Marks the database failed by a storage fault (see failed).
  void Fail(const Status& fault);
  // The view staging reads: current schema, memory, store; now_ms = the wall clock.
  StagingView View(const Schema& schema) const;

  // The bulk loader (loader.cc); it merges schema lines with MergeSchemaLocked.
  class Loader;
  Status MergeSchemaLocked(std::string_view json);
};

}  // namespace pathwise
