// Internal to bench/: the `svd` section of `bench engine` (docs/benchmarks.md, "The svd
// embeddings job and fold-in").
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "bench/harness.h"
#include "db/database.h"

namespace pathwise::bench {

// On three writable copies of db (copy_dir, copy_dir.plain, copy_dir.hnsw): the svd job (rank
// 64 over VIEWED into Item.factors / User.svd_taste) on two of them, with the user space flat
// (the job's default) and HNSW, with their results; events interleaved across the three (no
// model, fold-in into the flat user space, into the HNSW one); PQL NEAREST over each user space;
// the fold-in computation alone (as the stager does it) on a raw copy; and, outside any
// database, exact searches of flat spaces of 100k and 1M random 64-d vectors. runs events,
// searches and fold-ins each.
Status MeasureSvd(Report* report, Database* db, const std::string& copy_dir, size_t runs,
                  size_t users, size_t items, uint64_t seed);

}  // namespace pathwise::bench
