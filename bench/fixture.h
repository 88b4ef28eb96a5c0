// Shared set-up of the benchmarks: a Database loaded with the synthetic shop graph, and a
// read-only copy of its serving structures (graph, vectors) for the raw-floor measurements.
#pragma once

#include <memory>
#include <string>

#include "bench/generator.h"
#include "bench/harness.h"
#include "graph/graph.h"
#include "db/database.h"
#include "storage/storage.h"
#include "vector/vector.h"

namespace pathwise::bench {

struct LoadFigures {
  bool loaded = false;  // false: an existing database of the same scale was reused
  double seconds = 0;   // wall time of Database::Load (generation runs concurrently)
  // The process's CPU seconds while the load inserted its held vectors (phase "indexing", when
  // nothing else of the load runs); < 0 when it had none.
  double indexing_cpu_seconds = -1;
  LoadReport report;
  GeneratorOptions generator;
};

// Generator options from --items, --seed, --ef-construction (resolved).
GeneratorOptions GeneratorFromFlags(const Flags& flags);

// Opens dir; if it does not hold a bench database generated with the same items and seed (or
// fresh is set), deletes it and loads a newly generated one. Progress goes to stderr.
Result<std::unique_ptr<Database>> OpenBenchDatabase(const std::string& dir,
                                                    const GeneratorOptions& generator, bool fresh,
                                                    LoadFigures* figures);

// The serving structures of a database, opened from an online backup (hard links) so that the
// raw floor runs in the same process while the Database stays open.
struct RawCopy {
  std::unique_ptr<storage::Store> store;
  Schema schema;
  std::unique_ptr<graph::Graph> graph;
  std::unique_ptr<vector::VectorSet> vectors;
  const vector::VectorIndex* item_index = nullptr;
  const vector::VectorIndex* user_index = nullptr;
  TypeId user_type = kInvalidType, item_type = kInvalidType;
  TypeId viewed = kInvalidType, bought = kInvalidType, similar = kInvalidType;
};
Result<std::unique_ptr<RawCopy>> OpenRawCopy(Database* db, const std::string& backup_dir);

// A writable copy of db (an online backup into copy_dir, replacing an earlier copy there), for
// benchmarks that change the data; the bench database itself stays as generated.
Result<std::unique_ptr<Database>> OpenBenchCopy(Database* db, const std::string& copy_dir);

// The recommend query of docs/benchmarks.md (with EXPLAIN), and the same without EXPLAIN.
extern const char* const kRecommendQuery;
std::string RecommendQueryWithoutExplain();

// The clock the benchmarks' queries read (QueryOptions::now_ms, now_ms over HTTP): the end of
// the generated interactions (GeneratorOptions::end_ts_ms), so decay() weighs them as on the
// day they end, whatever the day of the run (docs/benchmarks.md, "Data").
int64_t BenchNowMs(const GeneratorOptions& generator);
QueryOptions BenchQueryOptions(const GeneratorOptions& generator);

}  // namespace pathwise::bench
