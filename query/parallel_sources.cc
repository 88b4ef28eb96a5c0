// RECOMMEND's sources one after another, or in parallel (docs/query-execution.md, "Sources in
// parallel"): each source then runs in a private RecState made from what Seed computed, one on
// the query's thread and the others on the Engine's SourcePool when one of its threads is idle
// (else inline on the query's thread), and the private states are merged into the query's state
// in source order, so that the result is exactly the sequential run's: the same candidate
// numbers, masks, source values, path counts, aggregates, explanation paths and stats.
#include <algorithm>
#include <atomic>
#include <exception>
#include <memory>
#include <new>

#include "query/recommend_exec.h"
#include "query/source_pool.h"

namespace pathwise::query {
namespace {

// A SCORE aggregate over the paths of every graph source (AggSpec::source == -1) with two or more
// graph sources: merging would add their partial sums in another order than the sequential run
// (not bit-identical in floating point), so such queries run their sources sequentially.
bool SharesAnAggregate(const RecommendPlan& rec) {
  if (rec.graph_sources.size() < 2) return false;
  for (const AggSpec& agg : rec.aggs) {
    if (agg.source < 0) return true;
  }
  return false;
}

// One source's private run.
struct SourceRun {
  RecState state;
  std::vector<uint8_t> params_read;  // when the query records what its sources read
  Status status;
  // Whoever sets it first runs the source: a pool thread, or the query's thread once it is done
  // with its own sources, so a pool thread slow to wake up never delays the query.
  std::atomic<bool> claimed{false};
  bool on_pool = false;  // a pool thread ran it (set by that thread before it counts it done)
};

// A private state holding what Seed computed in st, with empty candidate arrays.
void InitPrivate(const RecState& st, SourceRun* run) {
  RecState& p = run->state;
  p.plan = st.plan;
  p.schema = st.schema;
  p.graph = st.graph;
  p.vectors = st.vectors;
  p.store = st.store;
  p.counters = st.counters;
  p.default_max_per_node = st.default_max_per_node;
  p.deadline = st.deadline;
  p.deadline_message = st.deadline_message;
  p.now_ms = st.now_ms;
  p.max_rows = st.max_rows;
  p.explain = st.explain;
  p.params = st.params;
  if (st.params_read != nullptr) {
    run->params_read.assign(st.params_read->size(), 0);
    p.params_read = &run->params_read;
  }
  p.props = st.props;
  p.cache = st.cache;
  p.slot_values = st.slot_values;
  p.profile.assign(st.profile.size(), OpProfile());
  p.seed = st.seed;
  p.memory = st.memory;  // QueryMemory is safe to share between threads
  p.reclaimer = st.reclaimer;
  p.rec = st.rec;
  p.options = st.options;
  p.source_pool = st.source_pool;  // for a sharded WALK's parts (the sources themselves are placed)
  p.row = st.row;
  p.seed_found = st.seed_found;
  p.global_pass = st.global_pass;
  p.source_stats.assign(st.num_sources(), SourceStats());
}

// Runs source i (rec.ops[1 + i]) on its private state; never throws.
void RunOne(const RecommendPlan& rec, size_t i, SourceRun* run) {
  try {
    run->status = rec.ops[1 + i]->Run(&run->state);
  } catch (const std::bad_alloc&) {
    run->status = Status::ResourceExhausted("out of memory while executing the query");
  } catch (const std::exception& e) {
    run->status = Status::Internal(std::string("query execution failed: ") + e.what());
  }
}

// The SCORE aggregates source `bit`'s paths feed (none unless it is a graph source).
std::vector<size_t> AggsOfSource(const RecommendPlan& rec, int bit) {
  for (size_t g = 0; g < rec.graph_sources.size(); ++g) {
    if (rec.graph_sources[g].bit == bit) return GraphSourceAggs(rec, g);
  }
  return {};
}

void MergeAcc(const NumAcc& from, NumAcc* to) {
  to->sum += from.sum;
  to->min = std::min(to->min, from.min);
  to->max = std::max(to->max, from.max);
  to->count += from.count;
  to->numbers += from.numbers;
}

// The mask bit of the i-th source operator (rec.ops[1 + i]: graph sources, then NEAREST, then
// rank sources, the order the sequential run takes).
int BitOfSourceOp(const RecommendPlan& rec, size_t i) {
  if (i < rec.graph_sources.size()) return rec.graph_sources[i].bit;
  i -= rec.graph_sources.size();
  if (i < rec.nearest_sources.size()) return rec.nearest_sources[i].bit;
  return rec.rank_sources[i - rec.nearest_sources.size()].bit;
}

// Adds what source i found in its private state to st, as if it had run on st after the
// sources merged before it: new candidates are numbered in the order the source found them,
// its explanation paths are appended (until kMaxLoggedPaths), and what is keyed by candidate
// number is renumbered. Memory: st is charged for what it keeps, then the private state's
// candidates and paths are credited. Sets st->error when st's memory budget is passed.
void Merge(const RecommendPlan& rec, size_t i, RecState* part, RecState* st) {
  const int bit = BitOfSourceOp(rec, i);
  const size_t n_sources = st->num_sources();
  const size_t n_aggs = rec.aggs.size();
  const std::vector<size_t> aggs = AggsOfSource(rec, bit);
  const size_t n = part->nodes.size();
  std::vector<uint32_t> renumber(n);
  for (size_t p = 0; p < n; ++p) {
    const uint32_t c = st->AddCandidate(part->nodes[p]);
    renumber[p] = c;
    st->masks[c] |= part->masks[p];
    st->prechecked[c] |= part->prechecked[p];
    st->source_values[c * n_sources + bit] = part->source_values[p * n_sources + bit];
    st->path_counts[c * n_sources + bit] = part->path_counts[p * n_sources + bit];
    for (size_t a : aggs) MergeAcc(part->accs[p * n_aggs + a], &st->accs[c * n_aggs + a]);
  }
  // Explanation paths: the sequential run stops logging at kMaxLoggedPaths in all.
  size_t keep = part->path_log.size();
  if (st->path_log.size() + keep > kMaxLoggedPaths) {
    keep = kMaxLoggedPaths - std::min(kMaxLoggedPaths, st->path_log.size());
    st->path_log_full = true;
  }
  const size_t inputs = keep < part->path_log.size() ? part->path_log[keep].first_input
                                                      : part->path_inputs.size();
  const uint32_t input_base = static_cast<uint32_t>(st->path_inputs.size());
  st->Charge(keep * sizeof(LoggedPath) + inputs * sizeof(AggInput));
  for (size_t k = 0; k < keep; ++k) {
    LoggedPath logged = part->path_log[k];
    logged.candidate = renumber[logged.candidate];
    logged.first_input += input_base;
    st->path_log.push_back(logged);
  }
  st->path_inputs.insert(st->path_inputs.end(), part->path_inputs.begin(),
                         part->path_inputs.begin() + static_cast<std::ptrdiff_t>(inputs));
  st->path_log_full |= part->path_log_full;
  // Per-source evidence (sized as the sequential run sizes it), walk paths renumbered.
  const size_t b = static_cast<size_t>(bit);
  if (part->nearest_examples.size() > st->nearest_examples.size()) {
    st->nearest_examples.resize(part->nearest_examples.size());
  }
  if (b < part->nearest_examples.size()) st->nearest_examples[b] = std::move(part->nearest_examples[b]);
  if (part->nearest_queries.size() > st->nearest_queries.size()) {
    st->nearest_queries.resize(part->nearest_queries.size());
  }
  if (b < part->nearest_queries.size()) st->nearest_queries[b] = std::move(part->nearest_queries[b]);
  if (part->walk_paths.size() > st->walk_paths.size()) st->walk_paths.resize(part->walk_paths.size());
  if (b < part->walk_paths.size()) {
    for (auto& [c, paths] : part->walk_paths[b]) st->walk_paths[b][renumber[c]] = std::move(paths);
  }
  st->source_stats[b] = std::move(part->source_stats[b]);
  if (st->params_read != nullptr && part->params_read != nullptr) {
    for (size_t k = 0; k < st->params_read->size(); ++k) (*st->params_read)[k] |= (*part->params_read)[k];
  }
  const int op = rec.ops[1 + i]->id();
  st->profile[static_cast<size_t>(op)] = part->profile[static_cast<size_t>(op)];
  // Pattern-predicate sets the source completed serve the operators after it, as in the
  // sequential run (a dropped or cut-short source's sets may be partial: left out).
  const SourceStats& stats = st->source_stats[b];
  if (stats.dropped == nullptr && !stats.deadline_hit) {
    if (part->exists_sets.size() > st->exists_sets.size()) st->exists_sets.resize(part->exists_sets.size());
    for (size_t k = 0; k < part->exists_sets.size(); ++k) {
      if (st->exists_sets[k] == nullptr) st->exists_sets[k] = std::move(part->exists_sets[k]);
    }
  }
  st->Credit(n * part->CandidateBytes() + part->path_log.size() * sizeof(LoggedPath) +
             part->path_inputs.size() * sizeof(AggInput));
}

Status RunSequentially(const RecommendPlan& rec, size_t from, RecState* st) {
  for (size_t i = 1 + from; i <= rec.source_names.size(); ++i) {
    if (st->deadline.Expired()) return Status::DeadlineExceeded("query deadline exceeded");
    PW_RETURN_IF_ERROR(rec.ops[i]->Run(st));
  }
  return Status::OK();
}

}  // namespace

Status RunSources(const RecommendPlan& rec, RecState* st) {
  const size_t n = rec.source_names.size();
  const bool parallel = st->source_pool != nullptr && st->options != nullptr &&
                        st->options->parallel_sources && n >= 2 && st->seed_found &&
                        st->global_pass && !SharesAnAggregate(rec);
  if (!parallel) return RunSequentially(rec, 0, st);
  if (st->deadline.Expired()) return Status::DeadlineExceeded("query deadline exceeded");
  // Sources 0 .. n-2 are offered to idle pool threads until one is refused. This thread runs the
  // last source (NEAREST and rank sources come last and tend to cost the most, so it does not
  // wait for a pool thread to wake up for them), then the refused ones and any offered one no
  // pool thread has started yet. None taken: the plain sequential run.
  std::vector<std::shared_ptr<SourceRun>> runs(n);  // a pool task holds its run
  WorkCounter pending;  // sources run by pool threads, until they are done
  std::vector<bool> offered(n, false);
  bool offering = true;
  size_t taken = 0;
  for (size_t i = 0; i < n; ++i) {
    runs[i] = std::make_shared<SourceRun>();
    InitPrivate(*st, runs[i].get());
    if (i + 1 == n || !offering) continue;
    pending.Add();
    // A task that finds its run claimed touches nothing else: the query may be gone.
    std::shared_ptr<SourceRun> run = runs[i];
    offering = st->source_pool->TryRun(
        [run, &rec, i] {
          if (run->claimed.exchange(true, std::memory_order_acq_rel)) return;
          RunOne(rec, i, run.get());
          run->on_pool = true;
        },
        [run, &pending] {
          if (run->on_pool) pending.Done();
        });
    if (offering) {
      offered[i] = true;
      ++taken;
    } else {
      pending.Done();  // not offered after all
      if (taken == 0) return RunSequentially(rec, 0, st);
    }
  }
  for (size_t k = 0; k < n; ++k) {
    const size_t i = k == 0 ? n - 1 : k - 1;  // the last source first
    if (runs[i]->claimed.exchange(true, std::memory_order_acq_rel)) continue;
    RunOne(rec, i, runs[i].get());
    if (offered[i]) pending.Done();
  }
  pending.Wait();
  for (const auto& run : runs) st->sources_parallel |= run->on_pool;
  // Merged in source order; the first failure (in that order) fails the query as it would have.
  for (size_t i = 0; i < n; ++i) {
    PW_RETURN_IF_ERROR(runs[i]->status);
    PW_RETURN_IF_ERROR(runs[i]->state.error);  // e.g. a memory budget, left for the next Tick
    Merge(rec, i, &runs[i]->state, st);
    PW_RETURN_IF_ERROR(st->error);
  }
  return Status::OK();
}

}  // namespace pathwise::query
