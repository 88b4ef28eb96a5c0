// Internal to jobs/: the item-transitions job (docs/jobs.md, "transitions").
#pragma once

#include <nlohmann/json.hpp>

#include "db/database.h"
#include "jobs/jobs.h"

namespace pathwise::jobs {

// InvalidArgument for bad parameters or a schema the job cannot run on (see docs/jobs.md).
Status ValidateTransitions(Database& db, const nlohmann::json& params);
// Computes the model and replaces the output edge type with it (declared when absent).
Result<nlohmann::json> RunTransitions(Database& db, const nlohmann::json& params,
                                      const ProgressFn& progress);

}  // namespace pathwise::jobs
