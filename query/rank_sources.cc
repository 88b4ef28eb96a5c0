// RECOMMEND's rank sources: option checking and the run of WALK (graph::RandomWalk), PAGERANK
// (graph::PersonalizedPageRank), RP3BETA (graph::Rp3Beta) and NEXT (graph::NextItems) from the
// FOR node.
#include "query/rank_sources.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>

#include "query/expr_eval.h"
#include "query/pattern_exec.h"
#include "query/source_pool.h"

namespace pathwise::query {

namespace {

using ast::RankAlgorithm;

enum class OptKind : uint8_t { kInt, kNumber, kBool };

// One option: its algorithm, name, value kind, inclusive range (open ends where stated) and how
// it sets the library options.
struct OptSpec {
  RankAlgorithm algorithm;
  const char* name;
  OptKind kind;
  double min;
  double max;
  bool min_open;
  bool max_open;
  void (*set)(RankParams*, double);
};

constexpr double kMaxInt = 9.2e18;

constexpr OptSpec kOptions[] = {
    {RankAlgorithm::kWalk, "steps", OptKind::kInt, 1, 1e8, false, false,
     [](RankParams* p, double v) { p->walk.total_steps = static_cast<size_t>(v); }},
    {RankAlgorithm::kWalk, "restart", OptKind::kNumber, 0, 1, true, false,
     [](RankParams* p, double v) { p->walk.restart = v; }},
    {RankAlgorithm::kWalk, "seed", OptKind::kInt, 0, kMaxInt, false, false,
     [](RankParams* p, double v) { p->walk.random_seed = static_cast<uint64_t>(v); }},
    {RankAlgorithm::kWalk, "weighted", OptKind::kBool, 0, 1, false, false,
     [](RankParams* p, double v) { p->walk.sampling.weighted = v != 0; }},
    {RankAlgorithm::kWalk, "half_life", OptKind::kInt, 0, kMaxInt, false, false,
     [](RankParams* p, double v) { p->walk.sampling.half_life_ms = static_cast<int64_t>(v); }},
    {RankAlgorithm::kWalk, "max_neighbors", OptKind::kInt, 0, 1e6, false, false,
     [](RankParams* p, double v) { p->walk.sampling.max_neighbors = static_cast<size_t>(v); }},
    {RankAlgorithm::kWalk, "stop_candidates", OptKind::kInt, 0, 1e5, false, false,
     [](RankParams* p, double v) { p->walk.early_stop_candidates = static_cast<size_t>(v); }},
    {RankAlgorithm::kWalk, "stop_visits", OptKind::kInt, 1, 1e6, false, false,
     [](RankParams* p, double v) { p->walk.early_stop_visits = static_cast<uint32_t>(v); }},
    {RankAlgorithm::kWalk, "shards", OptKind::kInt, 1, 16, false, false,
     [](RankParams* p, double v) { p->walk.shards = static_cast<size_t>(v); }},
    {RankAlgorithm::kWalk, "paths", OptKind::kInt, 0, 32, false, false,
     [](RankParams* p, double v) { p->walk.paths_per_candidate = static_cast<size_t>(v); }},
    {RankAlgorithm::kWalk, "top", OptKind::kInt, 1, 1e5, false, false,
     [](RankParams* p, double v) { p->top = static_cast<size_t>(v); }},
    {RankAlgorithm::kWalk, "recent", OptKind::kInt, 0, 100, false, false,
     [](RankParams* p, double v) { p->recent = static_cast<size_t>(v); }},
    {RankAlgorithm::kPageRank, "alpha", OptKind::kNumber, 0, 1, true, true,
     [](RankParams* p, double v) { p->push.alpha = v; }},
    {RankAlgorithm::kPageRank, "epsilon", OptKind::kNumber, 1e-9, 1, false, true,
     [](RankParams* p, double v) { p->push.epsilon = v; }},
    {RankAlgorithm::kPageRank, "weighted", OptKind::kBool, 0, 1, false, false,
     [](RankParams* p, double v) { p->push.weighted = v != 0; }},
    {RankAlgorithm::kPageRank, "max_pushes", OptKind::kInt, 1, 1e8, false, false,
     [](RankParams* p, double v) { p->push.max_pushes = static_cast<size_t>(v); }},
    {RankAlgorithm::kPageRank, "top", OptKind::kInt, 1, 1e5, false, false,
     [](RankParams* p, double v) { p->top = static_cast<size_t>(v); }},
    {RankAlgorithm::kPageRank, "recent", OptKind::kInt, 0, 100, false, false,
     [](RankParams* p, double v) { p->recent = static_cast<size_t>(v); }},
    {RankAlgorithm::kRp3Beta, "alpha", OptKind::kNumber, 0, 10, true, false,
     [](RankParams* p, double v) { p->rp3.alpha = v; }},
    {RankAlgorithm::kRp3Beta, "beta", OptKind::kNumber, 0, 10, false, false,
     [](RankParams* p, double v) { p->rp3.beta = v; }},
    {RankAlgorithm::kRp3Beta, "weighted", OptKind::kBool, 0, 1, false, false,
     [](RankParams* p, double v) { p->rp3.weighted = v != 0; }},
    {RankAlgorithm::kRp3Beta, "max_neighbors", OptKind::kInt, 0, 1e6, false, false,
     [](RankParams* p, double v) { p->rp3.max_neighbors = static_cast<size_t>(v); }},
    {RankAlgorithm::kRp3Beta, "top", OptKind::kInt, 1, 1e5, false, false,
     [](RankParams* p, double v) { p->top = static_cast<size_t>(v); }},
    {RankAlgorithm::kNext, "recent", OptKind::kInt, 1, 100, false, false,
     [](RankParams* p, double v) { p->next.recent = static_cast<size_t>(v); }},
    {RankAlgorithm::kNext, "decay", OptKind::kNumber, 0, 1, true, false,
     [](RankParams* p, double v) { p->next.decay = v; }},
    {RankAlgorithm::kNext, "weighted", OptKind::kBool, 0, 1, false, false,
     [](RankParams* p, double v) { p->next.weighted = v != 0; }},
    {RankAlgorithm::kNext, "top", OptKind::kInt, 1, 1e5, false, false,
     [](RankParams* p, double v) { p->top = static_cast<size_t>(v); }},
};

// What each algorithm is called where, by ast::RankAlgorithm.
struct AlgorithmNames {
  const char* keyword;
  const char* kind;
  const char* score_label;
  const char* op;
};
constexpr AlgorithmNames kNames[] = {
    {"WALK", "walk", "walk score (boosted visits)", "Walk"},
    {"PAGERANK", "pagerank", "personalized PageRank", "PageRank"},
    {"RP3BETA", "rp3beta", "RP3beta score", "Rp3Beta"},
    {"NEXT", "next", "next-item score", "Next"},
};
const AlgorithmNames& NamesOf(RankAlgorithm algorithm) { return kNames[static_cast<size_t>(algorithm)]; }

const OptSpec* FindOption(RankAlgorithm algorithm, std::string_view name) {
  for (const OptSpec& spec : kOptions) {
    if (spec.algorithm == algorithm && name == spec.name) return &spec;
  }
  return nullptr;
}

std::string Num(double x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", x);
  return buf;
}

std::string RangeText(const OptSpec& spec) {
  if (spec.kind == OptKind::kBool) return "true or false";
  std::string kind = spec.kind == OptKind::kInt ? "an integer" : "a number";
  std::string hi = spec.max >= kMaxInt ? "" : (spec.max_open ? " and below " : " and at most ") + Num(spec.max);
  return kind + (spec.min_open ? " above " : " of at least ") + Num(spec.min) + hi;
}

// The value as a double when it has the option's kind and lies in its range.
bool InRange(const OptSpec& spec, const RtValue& value, double* out) {
  if (spec.kind == OptKind::kBool) {
    if (!value.IsBool()) return false;
    *out = value.AsBool() ? 1 : 0;
    return true;
  }
  if (spec.kind == OptKind::kInt ? !value.IsInt() : !value.IsNumber()) return false;
  double v = value.AsDouble();
  if (!std::isfinite(v)) return false;
  if (spec.min_open ? v <= spec.min : v < spec.min) return false;
  if (spec.max_open ? v >= spec.max : v > spec.max) return false;
  *out = v;
  return true;
}

// A node the source offers as a candidate: of the candidate pattern, not the seed.
class CandidateCheck {
 public:
  explicit CandidateCheck(RecState* st) : st_(st), row_(st->row) {
    env_.st = st;
    env_.row = row_.data();
  }
  bool operator()(NodeId node) {
    if (node == st_->seed) return false;
    row_[1].node = node;
    return NodeMatches(st_->rec->target, node, env_);
  }

 private:
  RecState* st_;
  std::vector<Slot> row_;
  EvalEnv env_;
};

// Adds one candidate of source `bit` with its score and path count.
uint32_t AddScored(RecState* st, int bit, NodeId node, double score, uint32_t paths) {
  const size_t n = st->num_sources();
  uint32_t c = st->AddCandidate(node);
  if ((st->masks[c] >> bit & 1) == 0) {
    st->masks[c] |= uint64_t{1} << bit;
    ++st->source_stats[bit].candidates;
  }
  st->source_values[c * n + bit] = score;
  st->path_counts[c * n + bit] = paths;
  return c;
}

// The seeds: the FOR node, or with `recent` its most recent neighbours over the first hop, each
// weighted by recency (0.5^(age / half_life) with WALK's half_life, else 1).
std::vector<graph::Seed> SeedsOf(RecState* st, const RankSourcePlan& src, const RankParams& params) {
  if (params.recent == 0 || src.hops.empty()) return {{st->seed, 1.0}};
  std::vector<graph::Neighbor> list;
  st->graph->ForEachNeighbor(st->seed, src.hops[0].edge_type, src.hops[0].dir,
                             [&](const graph::Neighbor& n) {
                               list.push_back(n);
                               return true;
                             });
  st->Tick(static_cast<uint32_t>(std::min<size_t>(list.size(), UINT32_MAX)));
  const size_t n = std::min(params.recent, list.size());
  std::partial_sort(list.begin(), list.begin() + n, list.end(),
                    [](const graph::Neighbor& a, const graph::Neighbor& b) {
                      return a.ts != b.ts ? a.ts > b.ts : a.node < b.node;
                    });
  const int64_t half_life = params.walk.sampling.half_life_ms;
  std::vector<graph::Seed> seeds;
  for (size_t i = 0; i < n; ++i) {
    double age = static_cast<double>(std::max<int64_t>(0, st->now_ms - list[i].ts));
    double weight = half_life > 0 ? std::pow(0.5, age / static_cast<double>(half_life)) : 1.0;
    seeds.push_back({list[i].node, std::max(weight, 1e-12)});
  }
  return seeds;
}

Status RunWalk(RecState* st, const RankSourcePlan& src, RankParams& params, OpCounts* counts) {
  graph::RandomWalkOptions& o = params.walk;
  const std::vector<graph::Seed> seeds = SeedsOf(st, src, params);
  // From the recent neighbours the cycle starts at its second hop (the first led to them).
  if (params.recent > 0) std::rotate(o.hops.begin(), o.hops.begin() + 1, o.hops.end());
  o.target_type = st->rec->target.type;
  o.sampling.now_ms = st->now_ms;
  o.deadline = st->deadline;
  o.max_path_hops = kMaxRecordedHops;
  if (!st->explain) o.paths_per_candidate = 0;
  // A sharded walk's parts run on the Engine's idle source threads beside this one.
  graph::ShardRunner runner;
  if (o.shards > 1 && st->source_pool != nullptr) {
    SourcePool* pool = st->source_pool;
    runner = [pool](size_t n, const std::function<void(size_t)>& part) { RunParts(pool, n, part); };
  }
  PW_ASSIGN_OR_RETURN(graph::WalkResult result, graph::RandomWalk(*st->graph, seeds, o, runner));
  SourceStats& stats = st->source_stats[src.bit];
  stats.steps = result.steps;
  stats.restarts = result.restarts;
  stats.early_stopped = result.early_stopped;
  stats.deadline_hit = result.deadline_hit;
  counts->rows_in = result.candidates.size();
  CandidateCheck ok(st);
  for (graph::WalkCandidate& cand : result.candidates) {
    if (counts->rows_out >= params.top) break;
    if (!ok(cand.node)) continue;
    // One seed: Pixie's boosted score (sum of sqrt(visits))^2 is the visit count, taken exactly.
    double score = seeds.size() == 1 ? static_cast<double>(cand.visits) : cand.score;
    uint32_t c = AddScored(st, src.bit, cand.node, score, cand.visits);
    if (!cand.paths.empty()) st->walk_paths[src.bit][c] = std::move(cand.paths);
    counts->rows_out++;
  }
  return st->error;
}

// Adds the best `top` of (node, score) pairs ordered by score descending.
Status AddRanked(RecState* st, const RankSourcePlan& src, size_t top,
                 const std::vector<std::pair<NodeId, double>>& scores, OpCounts* counts) {
  counts->rows_in = scores.size();
  CandidateCheck ok(st);
  for (const auto& [node, score] : scores) {
    if (counts->rows_out >= top) break;
    if (!ok(node)) continue;
    AddScored(st, src.bit, node, score, 1);
    counts->rows_out++;
  }
  return st->error;
}

Status RunPageRank(RecState* st, const RankSourcePlan& src, RankParams& params, OpCounts* counts) {
  params.push.deadline = st->deadline;
  PW_ASSIGN_OR_RETURN(graph::PushResult result,
                      graph::PersonalizedPageRank(*st->graph, SeedsOf(st, src, params), params.push));
  SourceStats& stats = st->source_stats[src.bit];
  stats.steps = result.pushes;
  stats.converged = result.converged;
  stats.residual = result.residual_sum;
  stats.deadline_hit = result.deadline_hit;
  return AddRanked(st, src, params.top, result.scores, counts);
}

Status RunRp3Beta(RecState* st, const RankSourcePlan& src, RankParams& params, OpCounts* counts) {
  params.rp3.deadline = st->deadline;
  PW_ASSIGN_OR_RETURN(graph::Rp3Result result, graph::Rp3Beta(*st->graph, st->seed, params.rp3));
  st->source_stats[src.bit].deadline_hit = result.deadline_hit;
  return AddRanked(st, src, params.top, result.scores, counts);
}

Status RunNext(RecState* st, const RankSourcePlan& src, RankParams& params, OpCounts* counts) {
  params.next.deadline = st->deadline;
  PW_ASSIGN_OR_RETURN(graph::NextResult result, graph::NextItems(*st->graph, st->seed, params.next));
  st->source_stats[src.bit].deadline_hit = result.deadline_hit;
  st->source_stats[src.bit].steps = result.seeds.size();
  return AddRanked(st, src, params.top, result.scores, counts);
}

// The options as written, applied to the defaults (parameters evaluated now).
Result<RankParams> ParamsOf(RecState* st, const RankSourcePlan& src) {
  RankParams params = DefaultRankParams(src);
  EvalEnv env;
  env.st = st;
  env.row = st->row.data();
  for (const RankOptionPlan& option : src.options) {
    Status s = ApplyRankOption(src.algorithm, option.name, Eval(*option.value, env), &params);
    if (!s.ok()) return s.WithPosition(option.pos.line, option.pos.column);
  }
  PW_RETURN_IF_ERROR(st->error);
  return params;
}

}  // namespace

graph::Path NextPath(RecState* st, const RankSourcePlan& src, NodeId candidate) {
  Result<RankParams> params = ParamsOf(st, src);
  if (!params.ok()) return {};
  return graph::NextBestPath(*st->graph, st->seed, candidate, params->next);
}

RankParams DefaultRankParams(const RankSourcePlan& src) {
  RankParams p;
  p.walk.hops = src.hops;
  p.walk.paths_per_candidate = 3;
  p.push.hops = src.hops;
  if (!src.hops.empty()) p.rp3.relation = src.hops[0];
  if (src.hops.size() == 2) {
    p.next.history = src.hops[0];
    p.next.follow = src.hops[1];
  }
  return p;
}

const char* RankKeyword(RankAlgorithm algorithm) { return NamesOf(algorithm).keyword; }
const char* RankKind(RankAlgorithm algorithm) { return NamesOf(algorithm).kind; }
const char* RankScoreLabel(RankAlgorithm algorithm) { return NamesOf(algorithm).score_label; }
const char* RankOperator(RankAlgorithm algorithm) { return NamesOf(algorithm).op; }

std::string RankOptionNames(RankAlgorithm algorithm) {
  std::string out;
  for (const OptSpec& spec : kOptions) {
    if (spec.algorithm != algorithm) continue;
    out += (out.empty() ? "" : ", ") + std::string(spec.name);
  }
  return out;
}

bool IsRankOption(RankAlgorithm algorithm, std::string_view name) {
  return FindOption(algorithm, name) != nullptr;
}

Status ApplyRankOption(RankAlgorithm algorithm, std::string_view name, const RtValue& value,
                       RankParams* params) {
  const OptSpec* spec = FindOption(algorithm, name);
  if (spec == nullptr) {
    return Status::InvalidArgument("unknown " + std::string(RankKeyword(algorithm)) + " option '" +
                                   std::string(name) + "' (options: " + RankOptionNames(algorithm) + ")");
  }
  double v = 0;
  if (!InRange(*spec, value, &v)) {
    return Status::InvalidArgument(std::string(RankKeyword(algorithm)) + " option " + spec->name +
                                   " must be " + RangeText(*spec));
  }
  spec->set(params, v);
  return Status::OK();
}

void RankStatsJson(const RankSourcePlan& src, const SourceStats& stats, nlohmann::json* out) {
  nlohmann::json& j = *out;
  j["kind"] = RankKind(src.algorithm);
  j["truncated"] = stats.deadline_hit;
  j["deadline_hit"] = stats.deadline_hit;
  if (src.algorithm == RankAlgorithm::kWalk) {
    j["steps"] = stats.steps;
    j["restarts"] = stats.restarts;
    j["early_stopped"] = stats.early_stopped;
  } else if (src.algorithm == RankAlgorithm::kPageRank) {
    j["pushes"] = stats.steps;
    j["converged"] = stats.converged;
    j["residual"] = stats.residual;
  } else if (src.algorithm == RankAlgorithm::kNext) {
    j["seeds"] = stats.steps;
  }
}

Status RunRankSource(RecState* st, const RankSourcePlan& src, OpCounts* counts) {
  PW_ASSIGN_OR_RETURN(RankParams params, ParamsOf(st, src));
  st->walk_paths.resize(st->num_sources());
  st->walk_paths[src.bit].clear();
  switch (src.algorithm) {
    case RankAlgorithm::kWalk: return RunWalk(st, src, params, counts);
    case RankAlgorithm::kPageRank: return RunPageRank(st, src, params, counts);
    case RankAlgorithm::kRp3Beta: return RunRp3Beta(st, src, params, counts);
    case RankAlgorithm::kNext: return RunNext(st, src, params, counts);
  }
  return Status::OK();
}

}  // namespace pathwise::query
