// Internal to query/: execution state and operators of RECOMMEND.
//
// Pipeline: Seed -> GraphSource* / Nearest* / Walk* / PageRank* / Rp3Beta* -> Merge -> Filter -> Exclude -> Score -> TopK ->
// [Diversify] -> Limit -> Explain. Candidates live in flat arrays indexed by a dense candidate
// number (NodeIndexMap: NodeId -> number), so adding a path costs one hash probe and no
// allocation. Per-path aggregates of SCORE are folded into numeric accumulators as paths are
// found; when explaining, every path is also logged with its aggregate inputs, so that the
// explanation can split each term into the exact contributions of its paths.
#pragma once

#include <array>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "query/exec_state.h"
#include "graph/node_map.h"
#include "query/plan.h"

namespace pathwise::query {

using graph::NodeIndexMap;
using graph::NodeSet;

class SourcePool;

// Paths longer than this are not logged for explanations (their sources' results are explained
// by terms and counts only).
constexpr size_t kMaxRecordedHops = 4;
// At most this many paths per query are logged for explanations (about 200 bytes each); past it
// the explanation says paths_complete: false and pages through the logged ones.
constexpr size_t kMaxLoggedPaths = 250'000;

struct PathRec {
  uint8_t hops = 0;
  int8_t source = -1;  // source bit (RecommendPlan::source_names); -1: empty
  double strength = 0;  // product of the edge weights
  std::array<NodeId, kMaxRecordedHops + 1> nodes{};
  std::array<Slot, kMaxRecordedHops> edges{};
};

// One aggregate input of a logged path: what AggSpec::arg evaluated to.
struct AggInput {
  enum Kind : uint8_t { kNull, kNumber, kOther };
  Kind kind = kNull;
  double number = 0;
};

// A path found by a graph source, in the order found: its candidate, its nodes and edges, and
// the inputs it gave the aggregates of its source (inputs[first_input + i] for the i-th entry
// of the source's aggregate list, GraphSourceAggs).
struct LoggedPath {
  PathRec rec;
  uint32_t candidate = 0;
  uint32_t first_input = 0;
};

// A numeric accumulator for one SCORE aggregate of one candidate.
struct NumAcc {
  double sum = 0;
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  uint32_t count = 0;    // non-null values (or paths, for count(*))
  uint32_t numbers = 0;  // numeric values

  void Add(AggFn fn, const RtValue& v) {
    if (fn == AggFn::kCountStar) {
      ++count;
      return;
    }
    if (v.IsNull()) return;
    ++count;
    if (!v.IsNumber()) return;
    double d = v.AsDouble();
    ++numbers;
    sum += d;
    if (d < min) min = d;
    if (d > max) max = d;
  }
  RtValue Finish(AggFn fn) const {
    switch (fn) {
      case AggFn::kCountStar:
      case AggFn::kCount: return RtValue(static_cast<int64_t>(count));
      case AggFn::kSum: return RtValue(sum);
      case AggFn::kAvg: return numbers ? RtValue(sum / numbers) : RtValue();
      case AggFn::kMin: return numbers ? RtValue(min) : RtValue();
      case AggFn::kMax: return numbers ? RtValue(max) : RtValue();
      case AggFn::kCollect:
      case AggFn::kPercentileCont:
      case AggFn::kPercentileDisc:
      case AggFn::kStDev:
      case AggFn::kStDevP: return RtValue();  // MATCH only (the binder rejects them here)
    }
    return RtValue();
  }
};

struct SourceStats {
  size_t candidates = 0;
  size_t paths = 0;
  bool truncated = false;
  uint32_t truncated_hops = 0;  // graph source: bit i: a fan-out cap dropped edges of hop i
  bool fewer_than_k = false;
  bool exhaustive = false;
  bool no_query_vector = false;
  // NEAREST: how eligibility was applied ("post_filter", "filtered_walk", "exact") and how often
  // the filter ran.
  const char* strategy = "";
  size_t filter_evaluations = 0;
  // WALK: hops taken and restarts; PAGERANK: pushes. deadline_hit: the algorithm stopped at the
  // deadline and its partial result was kept.
  size_t steps = 0;
  size_t restarts = 0;
  bool early_stopped = false;
  bool converged = false;  // PAGERANK: every residual under its threshold
  double residual = 0;     // PAGERANK: the probability mass not yet pushed
  bool deadline_hit = false;
  // The source's own run time: its hook and its work (0 when it did not run: no seed).
  int64_t us = 0;
  // Dropped (QueryOptions::drop_failed_sources): "timeout" or "error", and the failure's
  // message; the counts above are then reset, as its contribution was discarded.
  const char* dropped = nullptr;
  std::string drop_message;
};

struct RecState : ExecState {
  const RecommendPlan* rec = nullptr;
  // Per-source budgets, hook and drop policy (QueryOptions::source_*); null: none.
  const QueryOptions* options = nullptr;
  // Runs sources beside the query's thread (the Engine's; null: sources run one after another).
  SourcePool* source_pool = nullptr;
  bool sources_parallel = false;  // the sources ran in parallel (stats.parallel_sources)
  std::vector<Slot> row;  // scratch row: [0] seed, [1] candidate, then source variables
  bool seed_found = false;
  bool global_pass = true;

  // Candidates (dense numbers).
  NodeIndexMap index{1024};
  std::vector<NodeId> nodes;
  std::vector<uint64_t> masks;
  std::vector<uint8_t> prechecked;      // passed the candidate filters during retrieval
  std::vector<double> source_values;    // [c * sources + s]: sum of path strengths / similarity
  std::vector<uint32_t> path_counts;    // [c * sources + s]
  std::vector<NumAcc> accs;             // [c * aggs + a]
  // When explaining: every path of every graph source (up to kMaxLoggedPaths) and its aggregate
  // inputs; a source's paths are contiguous, in source order (sources in parallel are merged in
  // that order).
  std::vector<LoggedPath> path_log;
  std::vector<AggInput> path_inputs;
  bool path_log_full = false;  // some paths were not logged (kMaxLoggedPaths, or > kMaxRecordedHops)
  // When explaining: per NEAREST source (by bit), the nodes whose vectors made the query vector
  // (the examples of MEAN(...) OVER), for similarity evidence.
  std::vector<std::vector<NodeId>> nearest_examples;
  // When asked why not (QueryOptions::why_not): per NEAREST source (by bit), its query vector.
  std::vector<std::vector<float>> nearest_queries;
  // When explaining: per WALK source (by bit), each candidate's most visited walk paths.
  std::vector<std::unordered_map<uint32_t, std::vector<graph::WalkPath>>> walk_paths;
  std::vector<SourceStats> source_stats;

  std::vector<uint32_t> survivors;  // after Filter / Exclude
  std::vector<double> scores;       // by candidate number (NaN: null score)
  std::vector<uint32_t> ranked;     // result order after TopK / Diversify / Limit
  size_t limit = 100;
  size_t offset = 0;
  std::vector<RtValue> agg_values;  // scratch
  nlohmann::json explanations = nlohmann::json::array();

  size_t num_sources() const { return rec->source_names.size(); }

  uint32_t AddCandidate(NodeId node) {
    bool inserted;
    uint32_t c = index.FindOrInsert(node, static_cast<uint32_t>(nodes.size()), &inserted);
    if (inserted) {
      // Error set (ResourceExhausted) when a memory budget is passed; the retrieval loops stop
      // at their next Tick.
      Charge(CandidateBytes());
      nodes.push_back(node);
      masks.push_back(0);
      prechecked.push_back(0);
      source_values.resize(source_values.size() + num_sources(), 0.0);
      path_counts.resize(path_counts.size() + num_sources(), 0);
      accs.resize(accs.size() + rec->aggs.size());
    }
    return c;
  }

  // Approximate bytes one candidate holds across the arrays above (and scores, survivors,
  // ranked, the index entry).
  size_t CandidateBytes() const {
    return sizeof(NodeId) + sizeof(uint64_t) + 1 + num_sources() * (sizeof(double) + 4) +
           rec->aggs.size() * sizeof(NumAcc) + sizeof(double) + 2 * sizeof(uint32_t) + 16;
  }

  // Finalised aggregate values of candidate c into agg_values; returns its data.
  const RtValue* AggValues(uint32_t c) {
    agg_values.resize(rec->aggs.size());
    for (size_t a = 0; a < rec->aggs.size(); ++a) {
      agg_values[a] = accs[c * rec->aggs.size() + a].Finish(rec->aggs[a].fn);
    }
    return agg_values.data();
  }

  // The evaluation environment of candidate c (seed and candidate bound, aggregates final).
  EvalEnv CandidateEnv(uint32_t c) {
    row[1].node = nodes[c];
    EvalEnv env;
    env.st = this;
    env.row = row.data();
    env.aggs = AggValues(c);
    env.source_mask = masks[c];
    env.source_values = &source_values[c * num_sources()];
    return env;
  }
};

using RecOp = Operator<RecState>;

// Graph::Prefetch of the given candidates' nodes: call before a pass that reads their properties
// or lists, so the cache misses overlap.
inline void PrefetchCandidates(const RecState* st, const std::vector<uint32_t>& candidates) {
  std::vector<NodeId> nodes;
  nodes.reserve(candidates.size());
  for (uint32_t c : candidates) nodes.push_back(st->nodes[c]);
  st->graph->Prefetch(nodes);
}

// Runs the sources (rec.ops[1 .. source_names.size()]) after Seed: one after another, or each in
// a private state on st->source_pool's idle threads and the query's thread, merged into st in
// source order so that st ends exactly as after the sequential run (parallel_sources.cc).
// Sequential when QueryOptions::parallel_sources is off, there is no pool or no idle pool
// thread, fewer than two sources, no seed, or two or more graph sources feed a shared SCORE
// aggregate (its floating-point sum would be added in another order).
Status RunSources(const RecommendPlan& rec, RecState* st);

std::unique_ptr<RecOp> MakeSeedOp();
std::unique_ptr<RecOp> MakeGraphSourceOp(size_t source, std::string name);
std::unique_ptr<RecOp> MakeNearestOp(size_t source, std::string name);
std::unique_ptr<RecOp> MakeRankOp(size_t source, std::string name);
std::unique_ptr<RecOp> MakeMergeOp();
std::unique_ptr<RecOp> MakeFilterOp();
std::unique_ptr<RecOp> MakeExcludeOp();
std::unique_ptr<RecOp> MakeScoreOp();
std::unique_ptr<RecOp> MakeTopKOp();
std::unique_ptr<RecOp> MakeDiversifyOp();
std::unique_ptr<RecOp> MakeLimitOp();
std::unique_ptr<RecOp> MakeExplainOp();

// The why-not report for the node of the candidate type with external id `id`, after the
// operators ran (docs/explanations.md, "Why not"). NotFound when there is no such node.
Result<nlohmann::json> WhyNot(RecState* st, const std::string& id);

// The score terms of candidate c (values in term order; their sum in order is the score).
// Default score: one term per source that found c.
struct TermValue {
  std::string text;
  std::string name;   // ScoreTerm::name; default score: the source's name
  std::string label;  // ScoreTerm::label; default score: what the source adds
  RtValue value;      // signed contribution
};
std::vector<TermValue> ScoreTerms(RecState* st, uint32_t c);

// Folds term values into the score the way the SCORE expression computes it (null -> NaN).
double ScoreOf(RecState* st, uint32_t c);

// The aggregates (indices into RecommendPlan::aggs) a graph source's paths feed: those over its
// own variables and those over no source's variables.
std::vector<size_t> GraphSourceAggs(const RecommendPlan& rec, size_t graph_source);

// Nodes a pattern walk may start from: the seed, an {id: ...} lookup, or a type scan.
std::vector<NodeId> AnchorNodes(RecState* st, const NodeSpec& anchor, bool anchor_is_seed);

}  // namespace pathwise::query
