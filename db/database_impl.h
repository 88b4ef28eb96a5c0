// Internal to db/: the state behind a Database handle, shared by database.cc (open, reads,
// administration), write_path.cc (the single-writer queue and group commit) and loader.cc
// (NDJSON bulk load, with load_pipeline.h). Staging and applying writes is in staged_write.h.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "graph/graph.h"
#include "db/database.h"
#include "db/fold_in.h"
#include "db/staged_write.h"
#include "query/query.h"
#include "storage/mutex.h"
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
    std::function<Status()> exclusive;
    bool run_when_failed = false;  // exclusive tasks only: run even after a storage fault
    // Guarded by Impl::mu (the analysis cannot name another object's mutex here):
    bool taken = false;  // a leader put it into its group (it can no longer withdraw)
    Status status;       // of the group commit (or of the exclusive task)
    bool done = false;
    CondVar cv;  // signalled when done or when it reaches the front
  };

  DatabaseOptions options;
  std::string dir;
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<graph::Graph> graph;
  std::unique_ptr<vector::VectorSet> vectors;
  std::unique_ptr<query::Engine> engine;

  // Write observers (Database::AddWriteObserver), by id.
  Mutex observers_mu;
  std::map<uint64_t, WriteObserver> observers PW_GUARDED_BY(observers_mu);
  uint64_t next_observer PW_GUARDED_BY(observers_mu) = 1;
  void NotifyObservers(const WrittenNodes& written);
  // Database::MetaGeneration: bumped by ApplyMany after a set with a MetaWrite is applied.
  std::atomic<uint64_t> meta_generation{0};

  mutable Mutex schema_mu;
  std::shared_ptr<const Schema> schema PW_GUARDED_BY(schema_mu);  // replaced copy-on-write

  // Online fold-in models (db/fold_in.h), replaced copy-on-write under the writer role.
  mutable Mutex fold_in_mu;
  std::shared_ptr<const FoldIns> fold_ins PW_GUARDED_BY(fold_in_mu) =
      std::make_shared<const FoldIns>();
  // Which user vectors fold-in may update incrementally (db/fold_in.h); memory only, changed by
  // writers holding the writer role. Never null.
  std::unique_ptr<FoldInLedger> fold_ledger = std::make_unique<FoldInLedger>();

  // The event log's next sequence number after the last written group: advanced (under mu) by
  // the leader whose group was written, read (under mu) by a leader that stages while no group
  // is in flight.
  uint64_t next_event_seq = 1;
  // The greatest WriteSet::log_sequence written, the same way (Database::AppliedLogSequence reads
  // it without mu).
  std::atomic<uint64_t> log_sequence{0};
  // The declared counters (features/), fed by every applied event and logged decision; replaced
  // whole when counters are declared. Never null after Open.
  mutable Mutex counters_mu;
  std::unique_ptr<features::CounterSet> counters PW_GUARDED_BY(counters_mu);
  // Builds counters of defs from the logs (events and decisions with ts >= now_ms minus their
  // horizon) and installs them (events.cc).
  Status RebuildCounters(std::vector<features::CounterDef> defs, int64_t now_ms);
  // Feeds the events and decisions of an applied group to the counters.
  void FeedCounters(const StagedGroup& group);
  // What queries' counter() reads: the online counters under counters_mu (events.cc).
  class OnlineCounters final : public query::CounterReader {
   public:
    explicit OnlineCounters(const Impl* impl) : impl_(impl) {}
    Result<double> Value(std::string_view name, const std::vector<std::string>& key,
                         int64_t at_ms) const override;

   private:
    const Impl* impl_;
  };
  const OnlineCounters online_counters{this};

  mutable Mutex mu;
  std::deque<Writer*> writers PW_GUARDED_BY(mu);  // front is the leader
  // The groups staged and not yet applied (their writers already off the queue), in the order
  // they were staged: at most two, one being written and the one before it being applied. The
  // leader behind them stages its own group against their overlays meanwhile (write_path.cc).
  std::deque<std::shared_ptr<StagedGroup>> in_flight PW_GUARDED_BY(mu);
  bool writing PW_GUARDED_BY(mu) = false;  // whether a group of in_flight is being written
  CondVar pipeline_cv;  // signalled when a write ends and when a group leaves in_flight
  // Set by a real storage fault (a durable write failed, or memory could not take a durable
  // write): later writes are refused with it until the database is reopened. Bad input never
  // sets it.
  Status failed PW_GUARDED_BY(mu);

  // The periodic checkpoint (DatabaseOptions::checkpoint_interval_seconds).
  std::thread checkpointer;
  Mutex checkpoint_mu;
  CondVar checkpoint_cv;
  bool stop_checkpoints PW_GUARDED_BY(checkpoint_mu) = false;  // also stops the expirer
  // Waits up to `period` for stop_checkpoints; true when it was set.
  bool WaitForStop(std::chrono::steady_clock::duration period) PW_EXCLUDES(checkpoint_mu);
  void CheckpointLoop();
  // Saves the vector snapshots (vector::VectorSnapshot) holding the writer role only to begin
  // and to finish them: events and writes that touch no space being saved go on while the files
  // are written. One at a time (snapshot_mu). REQUIRES: the caller does not hold the writer role.
  Status SnapshotVectors() PW_EXCLUDES(snapshot_mu);
  Mutex snapshot_mu;
  // Open: loads the graph (from the topology snapshot at topology_path when it is intact and
  // matches the store, else rebuilt from the store) and the vectors, side by side (they read
  // disjoint data); then deletes the snapshot, so that only a clean close leaves one.
  Status LoadServingStructures(const Schema& schema, const std::string& hnsw_dir,
                               const std::string& topology_path);
  // "snapshot" or "store": where the open took the topology from (Stats()).
  std::string topology_source;
  // Impression and event retention (DatabaseOptions::impression_retention_days,
  // event_retention_days): expires at start, then hourly, until stop_checkpoints.
  std::thread expirer;
  void ExpiryLoop(Database* db);

  std::shared_ptr<const Schema> CurrentSchema() const {
    MutexLock lock(&schema_mu);
    return schema;
  }
  void SetSchema(std::shared_ptr<const Schema> next) {
    MutexLock lock(&schema_mu);
    schema = std::move(next);
  }
  std::shared_ptr<const FoldIns> CurrentFoldIns() const {
    MutexLock lock(&fold_in_mu);
    return fold_ins;
  }
  void SetFoldIns(std::shared_ptr<const FoldIns> next) {
    MutexLock lock(&fold_in_mu);
    fold_ins = std::move(next);
  }

  // Queues w and returns once it was applied by some leader (possibly itself).
  Status RunWriter(Writer* w) PW_EXCLUDES(mu);
  // Queues w and waits until it is done, at the front, or (max_queue_wait_ms) withdrawn.
  Status WaitForTurn(Writer* w) PW_REQUIRES(mu);
  bool AtFront(const Writer* w) const PW_REQUIRES(mu);
  // The leader w takes the WriteSet writers queued from the front into its group.
  std::vector<Writer*> TakeGroup(bool* sync) PW_REQUIRES(mu);
  // Pops the group (at the front of the queue) off it and wakes the next writer, the new leader.
  void PopGroup(const std::vector<Writer*>& group) PW_REQUIRES(mu);
  // Marks the group's writers done with status and wakes them (not the leader, who returns).
  void CompleteGroup(const std::vector<Writer*>& group, Writer* leader, const Status& status)
      PW_REQUIRES(mu);
  // Waits until no group is in flight (every staged group written and applied).
  void WaitForCommitted() PW_REQUIRES(mu);
  // Runs the exclusive writer w at the front, once no group is in flight.
  Status RunExclusiveTurn(Writer* w) PW_REQUIRES(mu);
  // Runs fn while holding the writer role (no other write runs concurrently). In the failed
  // state fn is skipped and the sticky error returned, unless run_when_failed.
  Status RunExclusive(std::function<Status()> fn, bool run_when_failed = false);

  // Stages the sets of group into staged (step 1 of write_path.cc): against memory, the store
  // and the overlays of `before`, the groups staged before it that are still in flight (oldest
  // first, at most two). Per-set errors go to the sets' outcomes.
  void StageGroup(const std::vector<Writer*>& group,
                  const std::vector<std::shared_ptr<StagedGroup>>& before, StagedGroup* staged);
  // Applies a written group to memory and the counters (step 3); an error is a fault that
  // fails every staged set.
  Status ApplyStaged(const StagedGroup& staged);
  // Marks the database failed by a storage fault (see failed).
  void Fail(const Status& fault);
  // The view staging reads: current schema, memory, store, fold-in models; now_ms = the wall
  // clock.
  StagingView View(const Schema& schema) const;

  // The bulk loader (loader.cc); it merges schema lines with MergeSchemaLocked.
  class Loader;
  Status MergeSchemaLocked(std::string_view json);
};

}  // namespace pathwise
