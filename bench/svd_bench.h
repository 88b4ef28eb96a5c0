// Internal to bench/: the `svd` section of `bench engine` (docs/benchmarks.md, "The svd
// embeddings job and fold-in").
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "bench/harness.h"
#include "db/database.h"

namespace pathwise::bench {

// On a writable copy of db (copy_dir): event latency before the model exists, the svd job
// (rank 64 over VIEWED into Item.factors / User.svd_taste) with its result, event latency with
// fold-in, and the fold-in computation alone (the user's edges and the weighted sum of their
// item factors, as the stager does it) on a raw copy. runs events and fold-ins each.
Status MeasureSvd(Report* report, Database* db, const std::string& copy_dir, size_t runs,
                  size_t users, size_t items, uint64_t seed);

}  // namespace pathwise::bench
