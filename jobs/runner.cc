// JobRunner: job ids, stored records and background threads (jobs/jobs.h).
#include <algorithm>
#include <chrono>

#include "jobs/jobs.h"

namespace pathwise::jobs {
namespace {

constexpr char kRecordPrefix[] = "job/";

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status Store(Database& db, const nlohmann::json& record) {
  WriteSet set;
  set.ops.push_back(MetaWrite{kRecordPrefix + record["id"].get<std::string>(), record.dump()});
  return db.Apply(set);
}

// A stored record as Get reports it: "running" from a process that is gone is "interrupted".
Result<nlohmann::json> FromStored(std::string_view text) {
  nlohmann::json record = nlohmann::json::parse(text, nullptr, false);
  if (!record.is_object()) return Status::Corruption("unreadable job record");
  if (record.value("state", "") == "running") record["state"] = "interrupted";
  return record;
}

}  // namespace

struct JobRunner::Running {
  Mutex mu;
  nlohmann::json record PW_GUARDED_BY(mu);  // as stored, plus "progress" while running
  bool finished PW_GUARDED_BY(mu) = false;
  std::thread thread;
};

JobRunner::JobRunner(Database* db) : db_(db) {}

JobRunner::~JobRunner() {
  std::map<std::string, std::unique_ptr<Running>, std::less<>> runs;
  {
    MutexLock lock(&mu_);
    runs.swap(running_);
  }
  for (auto& [id, run] : runs) {
    if (run->thread.joinable()) run->thread.join();
  }
}

bool JobRunner::Finished(Running* run) {
  MutexLock lock(&run->mu);
  return run->finished;
}

Status JobRunner::ReapLocked() {
  for (auto it = running_.begin(); it != running_.end();) {
    if (!Finished(it->second.get())) {
      return Status::AlreadyExists("job '" + it->first + "' is running; one job runs at a time");
    }
    if (it->second->thread.joinable()) it->second->thread.join();
    it = running_.erase(it);
  }
  return Status::OK();
}

Result<std::string> JobRunner::Begin(std::string_view job, const nlohmann::json& params,
                                     Running** out) {
  PW_RETURN_IF_ERROR(Validate(*db_, job, params));
  MutexLock lock(&mu_);
  PW_RETURN_IF_ERROR(ReapLocked());
  int64_t now = NowMillis();
  std::string id = std::string(job) + "-" + std::to_string(now) + "-" + std::to_string(next_++);
  nlohmann::json record = {{"id", id},           {"job", job},
                           {"params", params},    {"state", "running"},
                           {"started_at_ms", now}};
  PW_RETURN_IF_ERROR(Store(*db_, record));
  auto run = std::make_unique<Running>();
  {
    MutexLock run_lock(&run->mu);
    run->record = std::move(record);
  }
  *out = run.get();
  running_.emplace(id, std::move(run));
  return id;
}

nlohmann::json JobRunner::Execute(Running* run, const ProgressFn& progress) {
  std::string job;
  nlohmann::json params;
  {
    MutexLock lock(&run->mu);
    job = run->record["job"].get<std::string>();
    params = run->record["params"];
  }
  auto result = Run(*db_, job, params, [&](const Progress& p) {
    {
      MutexLock lock(&run->mu);
      run->record["progress"] = p.ToJson();
    }
    if (progress) progress(p);
  });
  // The final record is published together with `finished`, so a caller that sees it done can
  // start the next job at once.
  nlohmann::json record;
  {
    MutexLock lock(&run->mu);
    record = run->record;
  }
  record.erase("progress");
  record["finished_at_ms"] = NowMillis();
  if (result.ok()) {
    record["state"] = "done";
    record["result"] = *result;
  } else {
    record["state"] = "failed";
    record["error"] = result.status().ToString();
  }
  // If the record cannot be stored the job's outcome is still reported by Get until restart.
  Status stored = Store(*db_, record);
  if (!stored.ok()) record["record_error"] = stored.ToString();
  MutexLock lock(&run->mu);
  run->record = record;
  run->finished = true;  // from here on another thread may destroy run
  return record;
}

Result<std::string> JobRunner::Start(std::string_view job, const nlohmann::json& params) {
  Running* run = nullptr;
  PW_ASSIGN_OR_RETURN(std::string id, Begin(job, params, &run));
  MutexLock lock(&mu_);
  run->thread = std::thread([this, run] { Execute(run, nullptr); });
  return id;
}

Result<nlohmann::json> JobRunner::RunNow(std::string_view job, const nlohmann::json& params,
                                         const ProgressFn& progress) {
  Running* run = nullptr;
  PW_RETURN_IF_ERROR(Begin(job, params, &run).status());
  return Execute(run, progress);
}

Result<nlohmann::json> JobRunner::Get(std::string_view id) const {
  {
    MutexLock lock(&mu_);
    auto it = running_.find(id);
    if (it != running_.end()) {
      MutexLock run_lock(&it->second->mu);
      return it->second->record;
    }
  }
  auto stored = db_->GetMeta(kRecordPrefix + std::string(id));
  if (!stored.ok()) {
    if (stored.status().code() == Status::Code::kNotFound) {
      return Status::NotFound("no job '" + std::string(id) + "'");
    }
    return stored.status();
  }
  return FromStored(*stored);
}

Result<nlohmann::json> JobRunner::List() const {
  std::vector<nlohmann::json> records;
  Status scanned = db_->ScanMeta(kRecordPrefix, [&](std::string_view key, std::string_view) {
    auto record = Get(key.substr(sizeof(kRecordPrefix) - 1));
    if (record.ok()) records.push_back(std::move(record).value());
    return true;
  });
  PW_RETURN_IF_ERROR(scanned);
  std::stable_sort(records.begin(), records.end(), [](const auto& a, const auto& b) {
    return a.value("started_at_ms", int64_t{0}) > b.value("started_at_ms", int64_t{0});
  });
  return nlohmann::json(records);
}

}  // namespace pathwise::jobs
