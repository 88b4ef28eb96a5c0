// Internal to jobs/: the embeddings job "svd" (docs/jobs.md, "svd"): a rank-r truncated SVD of a
// bipartite edge type written as item factors and user vectors, with online fold-in.
#pragma once

#include <nlohmann/json.hpp>

#include "db/database.h"
#include "jobs/jobs.h"

namespace pathwise::jobs {

// InvalidArgument for bad parameters or a schema the job cannot run on (see docs/jobs.md).
Status ValidateSvd(Database& db, const nlohmann::json& params);
// Computes the factors and replaces both vector spaces and the edge type's fold-in model with
// them in one atomic write (Database::ReplaceVectors); declares the spaces when absent.
Result<nlohmann::json> RunSvd(Database& db, const nlohmann::json& params,
                              const ProgressFn& progress);

}  // namespace pathwise::jobs
