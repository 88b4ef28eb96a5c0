// Internal to jobs/: the embeddings job "fastrp" (docs/jobs.md, "fastrp"): Fast Random
// Projection node embeddings over one or more edge types, written into a declared vector space.
#pragma once

#include <nlohmann/json.hpp>

#include "db/database.h"
#include "jobs/jobs.h"

namespace pathwise::jobs {

// InvalidArgument for bad parameters or a schema the job cannot run on (see docs/jobs.md).
Status ValidateFastRp(Database& db, const nlohmann::json& params);
// Computes the embeddings and replaces the space's whole content with them in one atomic write
// (Database::ReplaceVectors). The space must be declared; nothing is declared.
Result<nlohmann::json> RunFastRp(Database& db, const nlohmann::json& params,
                                 const ProgressFn& progress);

}  // namespace pathwise::jobs
