// jobs/: models built inside the database. A job reads the in-memory graph, computes a model and
// writes it back atomically (Database::ReplaceEdges): readers see the old or the new model.
// Jobs run from the CLI (`pathwise jobs run NAME`) and the server (POST /v1/admin/jobs); each
// run's parameters, state and result are stored under the meta key "job/<id>", so they survive
// a restart. docs/jobs.md lists the jobs and their parameters.
//
//   jobs::JobRunner runner(db);
//   auto id = runner.Start("similarity", {{"edge", "RATED"}, {"output", "SIMILAR"}, {"k", 50}});
//   runner.Get(*id);  // {"id", "job", "params", "state": "running", "progress": {...}, ...}
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include <nlohmann/json.hpp>

#include "db/database.h"
#include "storage/mutex.h"
#include "storage/status.h"

namespace pathwise::jobs {

// Where a running job is: its phase ("reading", "computing", "writing") and, while computing,
// items done out of total.
struct Progress {
  std::string phase;
  size_t done = 0;
  size_t total = 0;
  nlohmann::json ToJson() const;
};
using ProgressFn = std::function<void(const Progress&)>;

// Checks a job's name and parameters against the schema without running it: InvalidArgument
// (an unknown job or parameter, a value out of range or of the wrong type, a missing edge type,
// an output type with other endpoints) naming the problem.
Status Validate(Database& db, std::string_view job, const nlohmann::json& params);

// Runs a job to the end on the calling thread and returns its result (for "similarity":
// {"mode","items","items_recomputed","users","relation_edges","edges_written","edges_removed",
// "compute_seconds","write_seconds","seconds","items_per_second", ...}, docs/jobs.md). Any error
// leaves the previous model in place.
// Stores nothing about the run (JobRunner does).
Result<nlohmann::json> Run(Database& db, std::string_view job, const nlohmann::json& params,
                           const ProgressFn& progress = nullptr);

// Runs jobs with ids and stored records. Thread-safe. Destroying it waits for running jobs.
class JobRunner {
 public:
  explicit JobRunner(Database* db);
  ~JobRunner();
  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;

  // Validates, stores the record (state "running") and starts the job on its own thread.
  // Returns the job's id; errors are Validate's or the record's write error.
  Result<std::string> Start(std::string_view job, const nlohmann::json& params);
  // The same on the calling thread; returns the final record (state "done" or "failed").
  // Errors: Validate's, or the record's write error.
  Result<nlohmann::json> RunNow(std::string_view job, const nlohmann::json& params,
                                const ProgressFn& progress = nullptr);
  // The record {"id","job","params","state","started_at_ms", "finished_at_ms", "progress",
  // "result" | "error"}; state is "running", "done", "failed", or "interrupted" (stored as
  // running by a process that stopped before the job ended). NotFound for an unknown id.
  Result<nlohmann::json> Get(std::string_view id) const;
  // Every stored record, newest first.
  Result<nlohmann::json> List() const;

 private:
  struct Running;
  Result<std::string> Begin(std::string_view job, const nlohmann::json& params, Running** out);
  // Runs the job, stores and returns its final record, then marks run finished.
  nlohmann::json Execute(Running* run, const ProgressFn& progress);
  static bool Finished(Running* run);
  // Joins and forgets finished runs; AlreadyExists when one still runs.
  Status ReapLocked() PW_REQUIRES(mu_);

  Database* db_;
  mutable Mutex mu_;
  std::map<std::string, std::unique_ptr<Running>, std::less<>> running_ PW_GUARDED_BY(mu_);
  size_t next_ PW_GUARDED_BY(mu_) = 1;
};

}  // namespace pathwise::jobs
