// The job registry: names to their validation and run functions (jobs/jobs.h).
#include "jobs/jobs.h"

#include "jobs/fastrp_job.h"
#include "jobs/similarity_job.h"
#include "jobs/svd_job.h"
#include "jobs/transitions_job.h"

namespace pathwise::jobs {
namespace {

Status UnknownJob(std::string_view job) {
  return Status::InvalidArgument("unknown job '" + std::string(job) + "' (jobs: similarity, svd, fastrp, transitions)");
}

}  // namespace

nlohmann::json Progress::ToJson() const {
  return {{"phase", phase}, {"done", done}, {"total", total}};
}

Status Validate(Database& db, std::string_view job, const nlohmann::json& params) {
  if (job == "similarity") return ValidateSimilarity(db, params);
  if (job == "svd") return ValidateSvd(db, params);
  if (job == "fastrp") return ValidateFastRp(db, params);
  if (job == "transitions") return ValidateTransitions(db, params);
  return UnknownJob(job);
}

Result<nlohmann::json> Run(Database& db, std::string_view job, const nlohmann::json& params,
                           const ProgressFn& progress) {
  if (job == "similarity") return RunSimilarity(db, params, progress);
  if (job == "svd") return RunSvd(db, params, progress);
  if (job == "fastrp") return RunFastRp(db, params, progress);
  if (job == "transitions") return RunTransitions(db, params, progress);
  return UnknownJob(job);
}

}  // namespace pathwise::jobs
