// RECOMMEND candidate generation: the seed, graph sources (capped expansion from an anchor with
// per-path aggregates), NEAREST sources (filtered vector search around a node's vector, a
// parameter vector, or the mean of example nodes' vectors) and the operators of the rank
// sources (WALK, PAGERANK, RP3BETA: query/rank_sources.h).
#include <algorithm>
#include <chrono>

#include "query/expr_eval.h"
#include "query/pattern_exec.h"
#include "query/rank_sources.h"
#include "query/recommend_exec.h"

namespace pathwise::query {

std::vector<NodeId> AnchorNodes(RecState* st, const NodeSpec& anchor, bool anchor_is_seed) {
  if (anchor_is_seed) return {st->seed};
  const graph::Graph& g = *st->graph;
  std::vector<NodeId> out;
  if (anchor.id) {
    EvalEnv env;
    env.st = st;
    env.row = st->row.data();
    RtValue key = Eval(*anchor.id, env);
    if (!key.IsString()) return out;
    if (anchor.type != kInvalidType) {
      NodeId id = g.Lookup(anchor.type, key.AsString());
      if (id != kInvalidNode) out.push_back(id);
      return out;
    }
    for (const NodeTypeDef& def : st->schema->node_types()) {
      NodeId id = g.Lookup(def.id, key.AsString());
      if (id != kInvalidNode) out.push_back(id);
    }
    return out;
  }
  if (anchor.type != kInvalidType) return g.NodesOfType(anchor.type);
  for (const NodeTypeDef& def : st->schema->node_types()) {
    std::vector<NodeId> ids = g.NodesOfType(def.id);
    out.insert(out.end(), ids.begin(), ids.end());
  }
  return out;
}

std::vector<size_t> GraphSourceAggs(const RecommendPlan& rec, size_t graph_source) {
  std::vector<size_t> out;
  for (size_t a = 0; a < rec.aggs.size(); ++a) {
    if (rec.aggs[a].source < 0 || rec.aggs[a].source == static_cast<int>(graph_source)) {
      out.push_back(a);
    }
  }
  return out;
}

namespace {

// Filter outcomes a NEAREST search must have seen before they update the plan's pass rate.
constexpr size_t kMinEvaluationsForRate = 16;

bool AllTrue(const std::vector<BoundExprPtr>& conjuncts, const EvalEnv& env) {
  for (const auto& c : conjuncts) {
    if (!EvalPredicate(*c, env)) return false;
  }
  return true;
}

class SeedOp : public RecOp {
 public:
  SeedOp() : RecOp("Seed") {}

 protected:
  Status Execute(RecState* st, OpCounts* counts) const override {
    const RecommendPlan& rec = *st->rec;
    st->row.assign(rec.width, Slot());
    EvalEnv env;
    env.st = st;
    env.row = st->row.data();
    RtValue key = rec.seed.id ? Eval(*rec.seed.id, env) : RtValue();
    if (rec.seed.id && !key.IsString() && !key.IsNull()) {
      return Status::InvalidArgument("the seed id must be a string")
          .WithPosition(rec.seed.id->pos.line, rec.seed.id->pos.column);
    }
    NodeId seed = kInvalidNode;
    if (rec.seed_value) {  // FOR m, m passed on by WITH
      RtValue v = Eval(*rec.seed_value, env);
      if (!v.IsNode() && !v.IsNull()) {
        return Status::InvalidArgument("the seed '" + rec.seed.var + "' passed on by WITH must be a node")
            .WithPosition(rec.seed_value->pos.line, rec.seed_value->pos.column);
      }
      if (v.IsNode()) seed = v.AsNode();
    } else if (key.IsString()) {
      if (rec.seed.type != kInvalidType) {
        seed = st->graph->Lookup(rec.seed.type, key.AsString());
      } else {
        for (const NodeTypeDef& def : st->schema->node_types()) {
          if (seed == kInvalidNode) seed = st->graph->Lookup(def.id, key.AsString());
        }
      }
    }
    if (seed != kInvalidNode && !NodeMatches(rec.seed, seed, env)) seed = kInvalidNode;
    st->seed = seed;
    st->seed_found = seed != kInvalidNode;
    counts->rows_out = st->seed_found ? 1 : 0;
    if (!st->seed_found) return Status::OK();
    st->row[0].node = seed;
    ComputeCached(st, st->row.data());
    st->global_pass = AllTrue(rec.global_filters, env);
    return st->error;
  }
};

// ---- Per-source budgets, the source hook and dropping a failed source --------------------------
//
// Sources run one after another into the shared RecState. Each source adds candidates at the end
// of the candidate arrays and otherwise writes only its own column (mask bit, source value, path
// count) -- except a graph source, which also folds its paths into aggregates shared with other
// graph sources (AggSpec::source == -1) and appends its paths to the explanation's path log. So
// a source is taken out again by truncating the arrays and the log to their sizes before it,
// clearing its column, and restoring copies of the shared aggregates taken before it ran.

// What a source may change in the candidates that existed before it ran.
struct SourceSnapshot {
  size_t candidates = 0;
  std::vector<uint8_t> prechecked;
  std::vector<NumAcc> accs;  // graph sources with aggregates
  size_t logged_paths = 0;
  size_t logged_inputs = 0;
  bool log_full = false;
};

SourceSnapshot TakeSnapshot(const RecState* st, bool graph_source) {
  SourceSnapshot snap;
  snap.candidates = st->nodes.size();
  snap.prechecked = st->prechecked;
  if (graph_source) snap.accs = st->accs;
  snap.logged_paths = st->path_log.size();
  snap.logged_inputs = st->path_inputs.size();
  snap.log_full = st->path_log_full;
  return snap;
}

// Discards everything source `bit` contributed since `snap` was taken.
void DropContribution(RecState* st, int bit, const SourceSnapshot& snap) {
  const size_t n0 = snap.candidates;
  const size_t added = st->nodes.size() - n0;
  const size_t n_sources = st->num_sources();
  const uint64_t mask = ~(uint64_t{1} << bit);
  for (size_t c = 0; c < n0; ++c) {
    st->masks[c] &= mask;  // still non-zero: an earlier (kept) source found c
    st->source_values[c * n_sources + bit] = 0;
    st->path_counts[c * n_sources + bit] = 0;
  }
  // Candidates from n0 on were added by this source alone.
  st->nodes.resize(n0);
  st->masks.resize(n0);
  st->prechecked = snap.prechecked;
  st->source_values.resize(n0 * n_sources);
  st->path_counts.resize(n0 * n_sources);
  if (snap.accs.size() == n0 * st->rec->aggs.size()) {
    st->accs = snap.accs;
  } else {
    st->accs.resize(n0 * st->rec->aggs.size());
  }
  st->path_log.resize(snap.logged_paths);
  st->path_inputs.resize(snap.logged_inputs);
  st->path_log_full = snap.log_full;
  if (static_cast<size_t>(bit) < st->nearest_examples.size()) st->nearest_examples[bit].clear();
  if (static_cast<size_t>(bit) < st->walk_paths.size()) st->walk_paths[bit].clear();
  if (added > 0) {
    st->index.Reset(std::max<size_t>(1024, n0));
    bool inserted;
    for (size_t c = 0; c < n0; ++c) {
      st->index.FindOrInsert(st->nodes[c], static_cast<uint32_t>(c), &inserted);
    }
    st->Credit(added * st->CandidateBytes());
  }
  // Cached pattern-predicate sets built while the source ran may be incomplete (the walk that
  // built them stopped at the budget); they are rebuilt on their next use.
  st->exists_sets.clear();
  for (size_t s = 1; s < st->row.size(); ++s) st->row[s] = Slot();
}

// Input errors and the query's own memory budgets fail the query whatever drop_failed_sources
// says.
bool AlwaysFatal(const Status& s) {
  return s.code() == Status::Code::kInvalidArgument || s.code() == Status::Code::kSyntaxError ||
         s.code() == Status::Code::kResourceExhausted;
}

// A RECOMMEND source: runs the hook, then its work under its budget deadline, and drops itself on
// failure when QueryOptions::drop_failed_sources says so.
class SourceOp : public RecOp {
 public:
  using RecOp::RecOp;

 protected:
  Status Execute(RecState* st, OpCounts* counts) const final {
    if (!st->seed_found || !st->global_pass) return Status::OK();
    const int bit = Bit(*st);
    SourceStats& stats = st->source_stats[bit];
    static const QueryOptions kNoOptions;
    const QueryOptions* options = st->options != nullptr ? st->options : &kNoOptions;
    const std::string& name = st->rec->source_names[bit];
    const auto start = std::chrono::steady_clock::now();
    const Deadline query_deadline = st->deadline;
    int64_t budget_ms = options->source_budget_ms;
    if (auto it = options->source_budgets_ms.find(name); it != options->source_budgets_ms.end()) {
      budget_ms = it->second;
    }
    Deadline budget = query_deadline;
    bool own_budget = false;  // the budget ends before the query deadline
    if (budget_ms > 0) {
      Deadline d = Deadline::AfterMillis(budget_ms);
      if (d.at() < query_deadline.at()) {
        budget = d;
        own_budget = true;
      }
    }
    const std::string budget_message =
        "source '" + name + "' exceeded its budget of " + std::to_string(budget_ms) + " ms";
    SourceSnapshot snap;
    if (options->drop_failed_sources) snap = TakeSnapshot(st, IsGraphSource());
    Status status;
    if (options->source_hook) {
      status = options->source_hook(name, budget);
      if (status.ok() && own_budget && budget.Expired()) {
        status = Status::DeadlineExceeded(budget_message);
      }
    }
    if (status.ok()) {
      st->deadline = budget;
      if (own_budget) st->deadline_message = budget_message;
      status = ExecuteSource(st, counts);
      // Without dropping, an error left in st->error propagates as before (the next loop's Tick).
      if (status.ok() && options->drop_failed_sources) status = st->error;
      st->deadline = query_deadline;
      st->deadline_message = "query deadline exceeded";
    }
    stats.us = std::chrono::duration_cast<std::chrono::microseconds>(
                   std::chrono::steady_clock::now() - start)
                   .count();
    if (status.ok()) return status;
    const bool timeout = status.code() == Status::Code::kDeadlineExceeded;
    if (timeout && own_budget && budget.Expired()) {
      // Tick's, the vector search's or the hook's message: say which deadline passed.
      status = query_deadline.Expired() ? Status::DeadlineExceeded("query deadline exceeded")
                                        : Status::DeadlineExceeded(budget_message);
    }
    if (timeout && query_deadline.Expired()) return status;
    if (!options->drop_failed_sources || AlwaysFatal(status)) return status;
    DropContribution(st, bit, snap);
    st->error = Status::OK();
    const int64_t us = stats.us;
    stats = SourceStats();
    stats.us = us;
    stats.dropped = timeout ? "timeout" : "error";
    stats.drop_message = status.message();
    counts->rows_out = 0;
    return Status::OK();
  }

  // The source's work; called only when the seed was found and the query-wide filters passed.
  virtual Status ExecuteSource(RecState* st, OpCounts* counts) const = 0;
  // The source's index in RecommendPlan::source_names (its mask bit).
  virtual int Bit(const RecState& st) const = 0;
  virtual bool IsGraphSource() const = 0;
};

// Appends one path and its aggregate inputs to the explanation's log (until kMaxLoggedPaths).
void LogPath(RecState* st, uint32_t c, const PathRec& path, const std::vector<AggInput>& inputs) {
  if (st->path_log.size() >= kMaxLoggedPaths) {
    st->path_log_full = true;
    return;
  }
  st->Charge(sizeof(LoggedPath) + inputs.size() * sizeof(AggInput));
  LoggedPath logged;
  logged.rec = path;
  logged.candidate = c;
  logged.first_input = static_cast<uint32_t>(st->path_inputs.size());
  st->path_log.push_back(logged);
  st->path_inputs.insert(st->path_inputs.end(), inputs.begin(), inputs.end());
}

AggInput InputOf(const RtValue& v) {
  AggInput in;
  if (v.IsNumber()) {
    in.kind = AggInput::kNumber;
    in.number = v.AsDouble();
  } else if (!v.IsNull()) {
    in.kind = AggInput::kOther;
  }
  return in;
}

class GraphSourceOp : public SourceOp {
 public:
  explicit GraphSourceOp(size_t source, std::string name)
      : SourceOp(std::move(name)), source_(source) {}

 protected:
  int Bit(const RecState& st) const override { return st.rec->graph_sources[source_].bit; }
  bool IsGraphSource() const override { return true; }
  Status ExecuteSource(RecState* st, OpCounts* counts) const override {
    const RecommendPlan& rec = *st->rec;
    const GraphSourcePlan& src = rec.graph_sources[source_];
    const PatternSpec& p = src.pattern;
    SourceStats& stats = st->source_stats[src.bit];
    const size_t n_sources = st->num_sources();
    const size_t n_aggs = rec.aggs.size();
    const std::vector<size_t> my_aggs = GraphSourceAggs(rec, source_);
    std::vector<AggInput> inputs(my_aggs.size());
    // Reset this source's variables (another source may have left bindings in shared slots).
    for (size_t s = 2; s < st->row.size(); ++s) st->row[s] = Slot();
    PatternWalk w;
    InitWalk(&w, p, src.order, st, st->row.data());
    w.default_cap = src.cap != 0 ? src.cap : st->default_max_per_node;
    w.env.st = st;
    w.env.row = st->row.data();
    const bool record = st->explain && p.hops.size() <= kMaxRecordedHops;
    if (st->explain && !record) st->path_log_full = true;  // its paths are not logged
    const bool reverse_path = src.target < src.anchor;
    const uint64_t bit = uint64_t{1} << src.bit;
    auto on_bind = [&](size_t k) { return AllTrue(src.filters_at[k], w.env); };
    auto on_done = [&]() {
      NodeId cand = w.nodes[src.target];
      if (cand == st->seed) return true;
      uint32_t c = st->AddCandidate(cand);
      if ((st->masks[c] & bit) == 0) {
        st->masks[c] |= bit;
        ++stats.candidates;
      }
      ++stats.paths;
      double strength = 1;
      for (const Slot& e : w.edges) strength *= e.weight;
      st->source_values[c * n_sources + src.bit] += strength;
      ++st->path_counts[c * n_sources + src.bit];
      for (size_t i = 0; i < my_aggs.size(); ++i) {
        const AggSpec& agg = rec.aggs[my_aggs[i]];
        RtValue v = agg.arg ? Eval(*agg.arg, w.env) : RtValue();
        st->accs[c * n_aggs + my_aggs[i]].Add(agg.fn, v);
        if (record) inputs[i] = InputOf(v);
      }
      if (record) {
        PathRec path;
        path.source = static_cast<int8_t>(src.bit);
        path.hops = static_cast<uint8_t>(p.hops.size());
        path.strength = strength;
        size_t n = p.nodes.size();
        for (size_t i = 0; i < n; ++i) path.nodes[i] = w.nodes[reverse_path ? n - 1 - i : i];
        for (size_t i = 0; i + 1 < n; ++i) path.edges[i] = w.edges[reverse_path ? n - 2 - i : i];
        LogPath(st, c, path, inputs);
      }
      counts->rows_out++;
      return true;
    };
    const NodeSpec& anchor = p.nodes[src.anchor];
    for (NodeId start : AnchorNodes(st, anchor, src.anchor_is_seed)) {
      if (!st->Tick()) break;
      counts->rows_in++;
      w.nodes[src.anchor] = start;
      st->row[anchor.slot].node = start;
      if (!NodeMatches(anchor, start, w.env) || !on_bind(0)) continue;
      if (src.order.size() == 1) {
        on_done();
        continue;
      }
      if (!WalkPattern(&w, 1, on_bind, on_done)) break;
    }
    stats.truncated = w.truncated;
    stats.truncated_hops = w.truncated_hops;
    st->row[1] = Slot();
    return st->error;
  }

 private:
  size_t source_;
};

// The mean vector of the nodes bound to `ex.var_pos` by the examples pattern (with its WHERE).
std::vector<double> ExampleMean(RecState* st, const ExamplesPlan& ex, const vector::VectorIndex& index,
                                size_t* count, std::vector<NodeId>* examples) {
  std::vector<Slot> row(ex.width);
  row[0].node = st->seed;
  PatternWalk w;
  InitWalk(&w, ex.pattern, ex.order, st, row.data());
  w.env.st = st;
  w.env.row = row.data();
  NodeSet seen;
  std::vector<NodeId> found;
  auto on_bind = [](size_t) { return true; };
  auto on_done = [&]() {
    if (ex.where && !EvalPredicate(*ex.where, w.env)) return true;
    NodeId node = w.nodes[ex.var_pos];
    if (seen.Insert(node)) found.push_back(node);
    return true;
  };
  const NodeSpec& anchor = ex.pattern.nodes[ex.anchor];
  bool anchor_is_seed = anchor.slot == 0;
  for (NodeId start : AnchorNodes(st, anchor, anchor_is_seed)) {
    if (!st->Tick()) break;
    w.nodes[ex.anchor] = start;
    row[anchor.slot].node = start;
    if (!NodeMatches(anchor, start, w.env)) continue;
    if (ex.order.size() == 1) {
      on_done();
      continue;
    }
    if (!WalkPattern(&w, 1, on_bind, on_done)) break;
  }
  std::vector<double> mean(index.def().dim, 0.0);
  *count = 0;
  for (NodeId node : found) {
    auto v = index.Get(node);
    if (!v.ok()) continue;
    for (size_t i = 0; i < mean.size(); ++i) mean[i] += v.value()[i];
    ++*count;
    if (examples != nullptr) examples->push_back(node);
  }
  if (*count > 0) {
    for (double& x : mean) x /= static_cast<double>(*count);
  }
  return mean;
}

Result<int64_t> PositiveInt(const BoundExpr& e, RecState* st, const char* what) {
  EvalEnv env;
  env.st = st;
  env.row = st->row.data();
  RtValue v = Eval(e, env);
  if (!v.IsInt() || v.AsInt() <= 0) {
    return Status::InvalidArgument(std::string(what) + " must be a positive integer")
        .WithPosition(e.pos.line, e.pos.column);
  }
  return v.AsInt();
}

class NearestOp : public SourceOp {
 public:
  NearestOp(size_t source, std::string name) : SourceOp(std::move(name)), source_(source) {}

 protected:
  int Bit(const RecState& st) const override { return st.rec->nearest_sources[source_].bit; }
  bool IsGraphSource() const override { return false; }
  Status ExecuteSource(RecState* st, OpCounts* counts) const override {
    const RecommendPlan& rec = *st->rec;
    const NearestSourcePlan& src = rec.nearest_sources[source_];
    SourceStats& stats = st->source_stats[src.bit];
    PW_ASSIGN_OR_RETURN(int64_t k, PositiveInt(*src.k, st, "NEAREST k"));
    if (k > 100000) {
      return Status::InvalidArgument("NEAREST k must be at most 100000")
          .WithPosition(src.k->pos.line, src.k->pos.column);
    }
    size_t ef = 0;
    if (src.ef) {
      PW_ASSIGN_OR_RETURN(int64_t e, PositiveInt(*src.ef, st, "EF"));
      ef = static_cast<size_t>(std::min<int64_t>(e, 100000));
    }
    const vector::VectorIndex* index = st->vectors ? st->vectors->Get(src.space) : nullptr;
    if (index == nullptr) return Status::OK();
    std::vector<float> query;
    if (src.target) {
      EvalEnv env;
      env.st = st;
      env.row = st->row.data();
      query = ToFloats(Eval(*src.target, env));
    } else {
      size_t positives = 0, negatives = 0;
      std::vector<NodeId>* examples = nullptr;
      if (st->explain) {
        st->nearest_examples.resize(st->num_sources());
        examples = &st->nearest_examples[src.bit];
      }
      std::vector<double> mean = ExampleMean(st, *src.positive, *index, &positives, examples);
      if (src.negative && positives > 0) {
        std::vector<double> neg = ExampleMean(st, *src.negative, *index, &negatives, nullptr);
        if (negatives > 0) {
          for (size_t i = 0; i < mean.size(); ++i) mean[i] -= neg[i];
        }
      }
      if (positives > 0) query.assign(mean.begin(), mean.end());
    }
    PW_RETURN_IF_ERROR(st->error);
    if (st->options != nullptr && st->options->why_not) {
      st->nearest_queries.resize(st->num_sources());
      st->nearest_queries[src.bit] = query;
    }
    if (query.empty()) {
      stats.no_query_vector = true;
      return Status::OK();
    }
    if (query.size() != index->def().dim) {
      return Status::InvalidArgument("NEAREST query vector has " + std::to_string(query.size()) +
                                     " dimensions; " + index->def().FullName() + " has " +
                                     std::to_string(index->def().dim));
    }
    // Eligibility during retrieval: the candidate-only WHERE conjuncts.
    std::vector<Slot> row = st->row;
    EvalEnv env;
    env.st = st;
    env.row = row.data();
    std::function<bool(NodeId)> filter = [&](NodeId node) {
      if (node == st->seed || !st->Tick()) return false;
      row[1].node = node;
      if (!NodeMatches(rec.target, node, env)) return false;
      for (const auto& c : rec.candidate_filters) {
        if ((c->flags & kUsesSources) == 0 && !EvalPredicate(*c, env)) return false;
      }
      for (const auto& c : rec.candidate_excludes) {
        if ((c->flags & kUsesSources) == 0 && !EvalPredicate(*c, env)) return false;
      }
      return true;
    };
    vector::SearchOptions options;
    options.k = static_cast<size_t>(k);
    options.ef = ef;
    options.filter = &filter;
    options.deadline = st->deadline;
    options.expected_pass_rate = src.pass_rate->load(std::memory_order_relaxed);
    std::function<void(std::span<const NodeId>)> prefetch = [&](std::span<const NodeId> nodes) {
      st->graph->Prefetch(nodes);
    };
    options.prefetch = &prefetch;
    auto result = index->Search(query, options);
    PW_RETURN_IF_ERROR(st->error);
    if (!result.ok()) return result.status();
    if (result->filter_evaluations >= kMinEvaluationsForRate) {
      double observed = static_cast<double>(result->filter_passes) /
                        static_cast<double>(result->filter_evaluations);
      double old = src.pass_rate->load(std::memory_order_relaxed);
      src.pass_rate->store(old < 0 ? observed : 0.7 * old + 0.3 * observed,
                           std::memory_order_relaxed);
    }
    bool uses_sources = false;
    for (const auto& c : rec.candidate_filters) uses_sources |= (c->flags & kUsesSources) != 0;
    for (const auto& c : rec.candidate_excludes) uses_sources |= (c->flags & kUsesSources) != 0;
    const uint64_t bit = uint64_t{1} << src.bit;
    const size_t n_sources = st->num_sources();
    for (const vector::Hit& hit : result->hits) {
      uint32_t c = st->AddCandidate(hit.node);
      if ((st->masks[c] & bit) == 0) {
        st->masks[c] |= bit;
        ++stats.candidates;
      }
      // It passed the candidate-only conjuncts inside the search.
      if (!uses_sources) st->prechecked[c] = 1;
      st->source_values[c * n_sources + src.bit] = hit.similarity;
      st->path_counts[c * n_sources + src.bit] = 1;
    }
    counts->rows_out = result->hits.size();
    stats.exhaustive = result->exhaustive;
    stats.strategy = result->exhaustive     ? "exact"
                     : result->post_filtered ? "post_filter"
                                             : "filtered_walk";
    stats.filter_evaluations = result->filter_evaluations;
    stats.fewer_than_k = result->exhaustive && result->hits.size() < static_cast<size_t>(k);
    return Status::OK();
  }

 private:
  size_t source_;
};

// FROM WALK / PAGERANK / RP3BETA (query/rank_sources.h).
class RankOp : public SourceOp {
 public:
  RankOp(size_t source, std::string name) : SourceOp(std::move(name)), source_(source) {}

 protected:
  int Bit(const RecState& st) const override { return st.rec->rank_sources[source_].bit; }
  bool IsGraphSource() const override { return false; }
  Status ExecuteSource(RecState* st, OpCounts* counts) const override {
    return RunRankSource(st, st->rec->rank_sources[source_], counts);
  }

 private:
  size_t source_;
};

class MergeOp : public RecOp {
 public:
  MergeOp() : RecOp("Merge") {}

 protected:
  Status Execute(RecState* st, OpCounts* counts) const override {
    for (const SourceStats& s : st->source_stats) counts->rows_in += s.candidates;
    counts->rows_out = st->nodes.size();
    return Status::OK();
  }
};

}  // namespace

std::unique_ptr<RecOp> MakeSeedOp() { return std::make_unique<SeedOp>(); }
std::unique_ptr<RecOp> MakeGraphSourceOp(size_t source, std::string name) {
  return std::make_unique<GraphSourceOp>(source, std::move(name));
}
std::unique_ptr<RecOp> MakeNearestOp(size_t source, std::string name) {
  return std::make_unique<NearestOp>(source, std::move(name));
}
std::unique_ptr<RecOp> MakeRankOp(size_t source, std::string name) {
  return std::make_unique<RankOp>(source, std::move(name));
}
std::unique_ptr<RecOp> MakeMergeOp() { return std::make_unique<MergeOp>(); }

}  // namespace pathwise::query
