// Internal to query/: RECOMMEND's rank sources, FROM WALK / PAGERANK / RP3BETA / NEXT. Each runs
// one algorithm of graph/walks.h or graph/sequences.h from the FOR node (WALK and PAGERANK
// optionally from its most recent neighbours instead; NEXT always from them) and feeds the best `top` nodes of the candidate
// type into the candidate arrays, with the algorithm's score as the source's value (the default
// score, source_score('name')). docs/query-language.md lists the options, their defaults and
// their limits; docs/graph-algorithms.md the algorithms.
#pragma once

#include <string>
#include <string_view>

#include "graph/sequences.h"
#include "graph/walks.h"
#include "query/recommend_exec.h"

namespace pathwise::query {

// The library options an execution passes, built from the defaults and the query's options.
struct RankParams {
  graph::RandomWalkOptions walk;
  graph::PushOptions push;
  graph::Rp3Options rp3;
  graph::NextOptions next;
  size_t top = 1000;  // candidates kept, the best scores first
  // WALK, PAGERANK: seeds are the FOR node's `recent` most recent neighbours over the first hop
  // instead of the FOR node (0: the FOR node).
  size_t recent = 0;
};

// The defaults of an algorithm (with the source's hops).
RankParams DefaultRankParams(const RankSourcePlan& src);

// "WALK", "PAGERANK", "RP3BETA", "NEXT".
const char* RankKeyword(ast::RankAlgorithm algorithm);

// "walk", "pagerank", "rp3beta", "next": the default name's stem and the explanation's source kind.
const char* RankKind(ast::RankAlgorithm algorithm);

// What the source's value is, for the default score's terms: "walk score (boosted visits)",
// "personalized PageRank", "RP3beta score", "next-item score".
const char* RankScoreLabel(ast::RankAlgorithm algorithm);

// The operator's name in plans and PROFILE: "Walk", "PageRank", "Rp3Beta", "Next".
const char* RankOperator(ast::RankAlgorithm algorithm);

// The option names of an algorithm, comma-separated, for error messages.
std::string RankOptionNames(ast::RankAlgorithm algorithm);

bool IsRankOption(ast::RankAlgorithm algorithm, std::string_view name);

// Sets option `name` (one of IsRankOption's) from value. InvalidArgument naming the option, the
// kind of value it takes and its range when the value is of another kind or out of range.
Status ApplyRankOption(ast::RankAlgorithm algorithm, std::string_view name, const RtValue& value,
                       RankParams* params);

// Runs the source from the seed under st->deadline and adds its candidates. On the deadline the
// algorithm's partial result is kept (SourceStats::deadline_hit). InvalidArgument for an option
// value out of range (a parameter's, checked here).
Status RunRankSource(RecState* st, const RankSourcePlan& src, OpCounts* counts);

// NEXT's explanation: the path FOR node -> recent item -> candidate that contributes most to the
// candidate's score (graph::NextBestPath), with the source's options as the query ran it; empty
// when none does or an option is out of range.
graph::Path NextPath(RecState* st, const RankSourcePlan& src, NodeId candidate);

// The source's entry of stats.source_stats: candidates and time are filled by the caller; this
// adds kind, truncated, deadline_hit and the algorithm's counts (steps, restarts, early_stopped;
// pushes, converged, residual).
void RankStatsJson(const RankSourcePlan& src, const SourceStats& stats, nlohmann::json* out);

}  // namespace pathwise::query
