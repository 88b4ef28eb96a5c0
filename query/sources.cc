// RECOMMEND candidate generation: the seed, graph sources (capped expansion from an anchor with
// per-path aggregates) and NEAREST sources (filtered vector search around a node's vector, a
// parameter vector, or the mean of example nodes' vectors).
#include <algorithm>

#include "query/expr_eval.h"
#include "query/pattern_exec.h"
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
    if (key.IsString()) {
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

// Keeps the strongest kPathsPerCandidate paths of a candidate (ties: the first found).
void RecordPath(RecState* st, uint32_t c, const PathRec& path) {
  PathRec* slots = &st->paths[c * kPathsPerCandidate];
  size_t worst = 0;
  for (size_t i = 0; i < kPathsPerCandidate; ++i) {
    if (slots[i].source < 0) {
      slots[i] = path;
      return;
    }
    if (slots[i].strength < slots[worst].strength) worst = i;
  }
  if (path.strength > slots[worst].strength) slots[worst] = path;
}

class GraphSourceOp : public RecOp {
 public:
  explicit GraphSourceOp(size_t source, std::string name) : RecOp(std::move(name)), source_(source) {}

 protected:
  Status Execute(RecState* st, OpCounts* counts) const override {
    if (!st->seed_found || !st->global_pass) return Status::OK();
    const RecommendPlan& rec = *st->rec;
    const GraphSourcePlan& src = rec.graph_sources[source_];
    const PatternSpec& p = src.pattern;
    SourceStats& stats = st->source_stats[src.bit];
    const size_t n_sources = st->num_sources();
    const size_t n_aggs = rec.aggs.size();
    std::vector<size_t> my_aggs;
    for (size_t a = 0; a < n_aggs; ++a) {
      if (rec.aggs[a].source < 0 || rec.aggs[a].source == static_cast<int>(source_)) my_aggs.push_back(a);
    }
    // Reset this source's variables (another source may have left bindings in shared slots).
    for (size_t s = 2; s < st->row.size(); ++s) st->row[s] = Slot();
    PatternWalk w;
    InitWalk(&w, p, src.order, st, st->row.data());
    w.default_cap = src.cap != 0 ? src.cap : st->default_max_per_node;
    w.env.st = st;
    w.env.row = st->row.data();
    const bool record = st->explain && p.hops.size() <= kMaxRecordedHops;
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
      for (size_t a : my_aggs) {
        const AggSpec& agg = rec.aggs[a];
        st->accs[c * n_aggs + a].Add(agg.fn, agg.arg ? Eval(*agg.arg, w.env) : RtValue());
      }
      if (record) {
        PathRec path;
        path.source = static_cast<int8_t>(src.bit);
        path.hops = static_cast<uint8_t>(p.hops.size());
        path.strength = strength;
        size_t n = p.nodes.size();
        for (size_t i = 0; i < n; ++i) path.nodes[i] = w.nodes[reverse_path ? n - 1 - i : i];
        for (size_t i = 0; i + 1 < n; ++i) path.edges[i] = w.edges[reverse_path ? n - 2 - i : i];
        RecordPath(st, c, path);
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
    st->row[1] = Slot();
    return st->error;
  }

 private:
  size_t source_;
};

// The mean vector of the nodes bound to `ex.var_pos` by the examples pattern (with its WHERE).
std::vector<double> ExampleMean(RecState* st, const ExamplesPlan& ex, const vector::VectorIndex& index,
                                size_t* count) {
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

class NearestOp : public RecOp {
 public:
  NearestOp(size_t source, std::string name) : RecOp(std::move(name)), source_(source) {}

 protected:
  Status Execute(RecState* st, OpCounts* counts) const override {
    if (!st->seed_found || !st->global_pass) return Status::OK();
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
      std::vector<double> mean = ExampleMean(st, *src.positive, *index, &positives);
      if (src.negative && positives > 0) {
        std::vector<double> neg = ExampleMean(st, *src.negative, *index, &negatives);
        if (negatives > 0) {
          for (size_t i = 0; i < mean.size(); ++i) mean[i] -= neg[i];
        }
      }
      if (positives > 0) query.assign(mean.begin(), mean.end());
    }
    PW_RETURN_IF_ERROR(st->error);
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
std::unique_ptr<RecOp> MakeMergeOp() { return std::make_unique<MergeOp>(); }

}  // namespace pathwise::query
