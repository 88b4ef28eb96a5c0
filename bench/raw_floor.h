// The raw floors the benchmarks compare Pathwise against: graph::Graph and hnswlib used directly,
// with no query engine in between.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "bench/fixture.h"
#include "bench/harness.h"

namespace pathwise::bench {

// One-hop expansion on a Graph built directly (CreateEmpty + PutEdge) around hubs of degree
// 10, 100, 1,000 and 10,000: ForEachNeighbor (visit) and TopNeighbors (ranked copy).
std::vector<std::pair<std::string, Samples>> RawOneHop(size_t runs, uint64_t seed);

// Two hops 50 x 20 with score aggregation on a directly built graph: TopNeighbors(50) of a
// source, TopNeighbors(20) of each, sum of w1 * w2 per reached node, top 10.
// Also reports the same traversal unranked (first 50 / first 20 in list order through
// ForEachNeighbor), the memory-access floor without top-N selection.
struct TwoHopSamples {
  Samples ranked, unranked;
};
TwoHopSamples RawTwoHop(size_t runs, uint64_t seed);

struct KnnRow {
  size_t k = 0, ef = 0;
  Samples wrapper, raw;  // VectorIndex::Search vs SearchRaw, interleaved per query
  double wrapper_recall = 0, raw_recall = 0;
};
struct KnnSweep {
  std::vector<KnnRow> rows;
  std::map<size_t, size_t> min_ef_for_target;  // k -> smallest ef with wrapper recall >= 0.99
  Samples exact;
};
// k = 10 and k = 200 over a sweep of ef, queries = user taste vectors; recall against
// SearchExact.
Result<KnnSweep> SweepKnn(const RawCopy& raw, size_t queries, size_t users, uint64_t seed);

// issue 14's HNSW floor: the raw copy's item vectors built again `builds` times by raw hnswlib
// (vector::RawHnswFloor, every core) and by Pathwise's bulk path (a new VectorIndex, UpsertBatch
// on every core), in pairs that alternate which goes first, with the loaded index's parameters;
// recall@10 at ef 64 of the loaded index and of every rebuilt and raw index against an exact
// scan, from `queries` user taste vectors. load_vector_seconds: the HNSW phase of a load in this
// run (< 0: none); when given, each raw build also builds the users' taste vectors, and the
// load's phase is reported over raw's builds of both spaces, in wall time and, when
// load_vector_cpu_seconds >= 0, in the process's CPU time (robust to other processes on the
// machine). Rows "hnsw_build.*" (medians, with
// min and max).
Status MeasureHnswBuild(Report* report, const RawCopy& raw, double load_vector_seconds,
                        double load_vector_cpu_seconds, size_t queries, size_t users,
                        uint64_t seed, size_t builds);

// graph/walks.h over the raw copy's VIEWED edges from `runs` random users: a random walk of
// 10,000 steps (with and without early stopping), personalized PageRank to residual 1e-4 and
// RP3beta, as rows "walks.*" of report (bench/walks_bench.cc).
Status MeasureWalks(Report* report, const RawCopy& raw, size_t runs, size_t users, uint64_t seed);

// The same algorithms as RECOMMEND sources through PQL on the open database, from `runs` random
// users: a WALK source alone, a WALK source plus NEAREST 100 (issue 12: a full RECOMMEND using a
// walk source plus NEAREST, p99 <= 3 ms at 1M items), a PAGERANK source; rows "walks.pql_*".
Status MeasureWalkRecommend(Report* report, Database* db, size_t runs, size_t users, uint64_t seed);

// The floor of the recommend query for one user: raw hnswlib search (k, ef) from the user's
// taste vector plus the raw two-hop expansion (VIEWED|BOUGHT top per_node, SIMILAR_TO top
// per_node each) with score aggregation. Returns candidates found (to keep the work observable).
struct FloorTimes {
  double nearest_us = 0, expand_us = 0, total_us = 0;
  size_t candidates = 0;
};
FloorTimes RecommendFloor(const RawCopy& raw, NodeId user, size_t k, size_t ef, size_t per_node,
                          std::vector<float>* scratch, std::vector<NodeId>* touched);

}  // namespace pathwise::bench
