// Internal to query/: RECOMMEND's retrieval stage (Seed and sources) and the candidate sets it
// keeps and reuses (QueryOptions::keep_candidates / reuse_candidates, query/query.h).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "query/recommend_exec.h"

namespace pathwise::query {

struct CandidateSet {
  // What the set fits (QueryOptions::reuse_candidates).
  std::string text;
  uint64_t schema_version = 0;
  NodeId seed = kInvalidNode;
  bool global_pass = true;
  std::vector<std::pair<size_t, RtValue>> params_read;  // (Plan::params index, value)
  // RecState's candidate arrays after the sources.
  std::vector<NodeId> nodes;
  std::vector<uint64_t> masks;
  std::vector<double> source_values;
  std::vector<uint32_t> path_counts;
  std::vector<NumAcc> accs;
  std::vector<SourceStats> source_stats;
};

// Which query a candidate set belongs to.
struct RetrievalKey {
  std::string_view text;
  uint64_t schema_version = 0;
};

// Runs rec's Seed, then its sources, or installs options.reuse_candidates instead when it fits;
// keeps the retrieved set in out->candidates when options.keep_candidates asks. Sets
// out->stats["candidates_reused"] when a set was offered. Leaves the state where the sources
// would have: the next operator is Merge.
Status RunRetrieval(const RecommendPlan& rec, const QueryOptions& options, const RetrievalKey& key,
                    RecState* st, QueryResult* out);

}  // namespace pathwise::query
