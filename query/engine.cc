// The PQL pipeline in one place:
//   plan cache (text, schema version) -> parse (ast::Parse) -> bind + plan (BuildPlan)
//   -> per-execution state (parameters, property ids, clock) -> operators -> QueryResult.
#include "query/rank_sources.h"
#include "query/query.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <thread>

#include "query/binder.h"
#include "query/candidate_set.h"
#include "query/memory.h"
#include "query/match_ops.h"
#include "query/plan_cache.h"
#include "query/reclaimer.h"
#include "query/source_pool.h"
#include "query/recommend_exec.h"

namespace pathwise::query {

namespace {

using Clock = std::chrono::steady_clock;

int64_t Micros(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
}

int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string LimitText(const char* name, size_t value) {
  return std::string("the limit ") + name + " (" + std::to_string(value) + ")";
}

// Bounds the whole parameter object before anything converts it (iteratively: a deep value
// cannot exhaust the stack here): total values, approximate bytes, each value's depth, each
// list's length. Every parameter counts, used by the query or not.
Status CheckParams(const nlohmann::json& params, const Limits& limits) {
  if (params.is_null()) return Status::OK();
  if (!params.is_object()) return Status::InvalidArgument("query parameters must be a JSON object");
  struct Item {
    const nlohmann::json* value;
    int depth;
    const std::string* name;
  };
  std::vector<Item> stack;
  size_t elements = 0, bytes = 0;
  for (const auto& [name, value] : params.items()) {
    bytes += name.size();
    stack.push_back({&value, 1, &name});
    while (!stack.empty()) {
      Item item = stack.back();
      stack.pop_back();
      const nlohmann::json& v = *item.value;
      if (++elements > limits.max_param_elements) {
        return Status::InvalidArgument(
            "query parameters hold more than " + std::to_string(limits.max_param_elements) +
            " values, over " + LimitText("max_param_elements", limits.max_param_elements));
      }
      if (item.depth > limits.max_param_depth) {
        return Status::InvalidArgument("parameter $" + *item.name + " is nested more than " +
                                       std::to_string(limits.max_param_depth) +
                                       " levels deep, over " +
                                       LimitText("max_param_depth", limits.max_param_depth));
      }
      bytes += v.is_string() ? v.get_ref<const std::string&>().size() : 8;
      if (bytes > limits.max_param_bytes) {
        return Status::InvalidArgument(
            "query parameters are more than " + std::to_string(limits.max_param_bytes) +
            " bytes, over " + LimitText("max_param_bytes", limits.max_param_bytes));
      }
      if (v.is_array() && v.size() > limits.max_list_elements) {
        return Status::InvalidArgument("parameter $" + *item.name + " is a list of " +
                                       std::to_string(v.size()) + " elements, more than " +
                                       LimitText("max_list_elements", limits.max_list_elements));
      }
      if (v.is_structured()) {
        for (const auto& child : v) stack.push_back({&child, item.depth + 1, item.name});
        if (v.is_object()) {
          for (const auto& [key, child] : v.items()) bytes += key.size();
        }
      }
    }
  }
  return Status::OK();
}

Status InitState(const Plan& plan, const Catalog& catalog, const nlohmann::json& params,
                 const QueryOptions& options, ExecState* st) {
  st->plan = &plan;
  st->schema = catalog.schema.get();
  st->graph = catalog.graph;
  st->vectors = catalog.vectors;
  st->store = catalog.store;
  st->counters = catalog.counters;
  st->default_max_per_node = catalog.default_max_per_node;
  st->deadline = options.deadline;
  st->now_ms = options.now_ms ? *options.now_ms : SystemNowMs();
  st->max_rows = options.max_rows;
  st->explain = plan.explain || options.explain;
  PW_RETURN_IF_ERROR(CheckParams(params, options.limits));
  if (st->deadline.Expired()) {
    return Status::DeadlineExceeded("query deadline exceeded while reading parameters");
  }
  st->params.reserve(plan.params.size());
  for (size_t i = 0; i < plan.params.size(); ++i) {
    if (plan.param_column[i] >= 0) {  // filled by RunPrelude
      st->params.emplace_back();
      continue;
    }
    const std::string& name = plan.params[i];
    auto it = params.is_object() ? params.find(name) : params.end();
    if (!params.is_object() || it == params.end()) {
      return Status::InvalidArgument("missing parameter $" + name)
          .WithPosition(plan.param_pos[i].line, plan.param_pos[i].column);
    }
    auto value = FromJson(*it);
    if (!value.ok()) {
      return Status::InvalidArgument("parameter $" + name + ": " + value.status().message())
          .WithPosition(plan.param_pos[i].line, plan.param_pos[i].column);
    }
    st->params.push_back(std::move(value).value());
  }
  st->props.reserve(plan.props.size());
  for (const std::string& name : plan.props) st->props.push_back(catalog.graph->FindProperty(name));
  st->profile.assign(plan.op_count, OpProfile());
  return Status::OK();
}

template <typename S, typename Ops>
Status RunOps(const Ops& ops, S* st) {
  for (const auto& op : ops) {
    if (st->deadline.Expired()) return Status::DeadlineExceeded("query deadline exceeded");
    PW_RETURN_IF_ERROR(op->Run(st));
  }
  return Status::OK();
}

// Runs a match pipeline from one empty row; the result rows are st->values.
Status RunMatchOps(const MatchPlan& match, MatchState* st) {
  st->width = std::max<size_t>(match.width, 1);
  st->table = RowTable(st->width);
  const std::vector<Slot> empty(st->width);
  st->table.Append(empty.data());
  st->rows = 1;
  return RunOps(match.ops, st);
}

Status RunMatch(const Plan& plan, MatchState* st, QueryResult* out) {
  const MatchPlan& match = std::get<MatchPlan>(plan.body);
  PW_RETURN_IF_ERROR(RunMatchOps(match, st));
  if (st->values.size() > st->max_rows) {
    return Status::ResourceExhausted("result has " + std::to_string(st->values.size()) +
                                     " rows, more than max_rows " + std::to_string(st->max_rows));
  }
  for (const std::string& c : match.columns) out->columns.push_back(c);
  size_t n = match.columns.size();
  for (const auto& row : st->values) {
    if (!st->Tick(static_cast<uint32_t>(n))) return st->error;
    nlohmann::json r = nlohmann::json::array();
    for (size_t i = 0; i < n; ++i) r.push_back(ResultJson(row[i], st->graph, st->schema, st->store));
    out->rows.push_back(std::move(r));
  }
  out->stats["rows"] = out->rows.size();
  out->stats["truncated"] = st->hops_truncated;
  return Status::OK();
}

int64_t OpMicros(const ExecState& st, size_t from, size_t to) {
  int64_t ns = 0;
  for (size_t i = from; i < to && i < st.profile.size(); ++i) ns += st.profile[i].time_ns;
  return ns / 1000;
}

Status CheckSourceBudgets(const QueryOptions& options) {
  if (options.source_budget_ms < 0) {
    return Status::InvalidArgument("source_budget_ms must not be negative");
  }
  for (const auto& [name, ms] : options.source_budgets_ms) {
    if (ms < 0) {
      return Status::InvalidArgument("source_budgets_ms['" + name + "'] must not be negative");
    }
  }
  return Status::OK();
}

// Every graph-source relationship whose fan-out cap dropped edges: the source, the hop (1-based,
// in pattern order) as written, the cap and where it came from ("relationship": MAX n in the
// brackets; "source": MAX n PER NODE; "default": the database's default_max_per_node).
nlohmann::json CappedHopsJson(const RecommendPlan& rec, const RecState& st) {
  nlohmann::json out = nlohmann::json::array();
  for (const GraphSourcePlan& src : rec.graph_sources) {
    uint32_t hops = st.source_stats[src.bit].truncated_hops;
    for (size_t h = 0; h < src.pattern.hops.size(); ++h) {
      if ((hops >> h & 1) == 0) continue;
      size_t own = src.pattern.hops[h].cap;
      const char* from = own != 0 ? "relationship" : src.cap != 0 ? "source" : "default";
      size_t cap = own != 0 ? own : src.cap != 0 ? src.cap : st.default_max_per_node;
      out.push_back({{"source", src.name},
                     {"hop", h + 1},
                     {"relationship", src.hop_texts[h]},
                     {"cap", cap},
                     {"cap_from", from}});
    }
  }
  return out;
}

Status RunRecommend(const Plan& plan, const QueryOptions& options, const RetrievalKey& key,
                    RecState* st, QueryResult* out) {
  const RecommendPlan& rec = std::get<RecommendPlan>(plan.body);
  PW_RETURN_IF_ERROR(CheckSourceBudgets(options));
  if (options.explain_options.paths > ExplainOptions::kMaxPaths) {
    return Status::InvalidArgument("explain paths must be at most " +
                                   std::to_string(ExplainOptions::kMaxPaths));
  }
  st->rec = &rec;
  st->options = &options;
  st->source_stats.assign(rec.source_names.size(), SourceStats());
  PW_RETURN_IF_ERROR(RunRetrieval(rec, options, key, st, out));  // Seed and sources
  for (size_t i = 1 + rec.source_names.size(); i < rec.ops.size(); ++i) {
    if (st->deadline.Expired()) return Status::DeadlineExceeded("query deadline exceeded");
    PW_RETURN_IF_ERROR(rec.ops[i]->Run(st));
  }
  out->columns = {"id", "type", "score", "sources"};
  for (uint32_t c : st->ranked) {
    NodeId node = st->nodes[c];
    const NodeTypeDef* type = st->schema->NodeType(st->graph->TypeOf(node));
    nlohmann::json sources = nlohmann::json::array();
    for (size_t s = 0; s < rec.source_names.size(); ++s) {
      if (st->masks[c] >> s & 1) sources.push_back(rec.source_names[s]);
    }
    double score = st->scores[c];
    out->rows.push_back({st->graph->KeyOf(node), type ? type->name : std::string(),
                         std::isnan(score) ? nlohmann::json(nullptr) : nlohmann::json(score),
                         sources});
  }
  if (st->explain) out->explanations = std::move(st->explanations);
  if (options.why_not) {
    PW_ASSIGN_OR_RETURN(out->why_not, WhyNot(st, *options.why_not));
  }
  // Stage times: ops are [the prelude's], Seed, sources..., Merge, Filter, Exclude, Score, TopK,
  // [Diversify], Limit, Explain.
  size_t first = rec.prelude ? rec.prelude->ops.size() : 0;
  size_t n_sources = rec.source_names.size();
  size_t merge = first + 1 + n_sources;
  size_t diversify_end = first + rec.ops.size() - 1;
  nlohmann::json& stats = out->stats;
  stats["seed_found"] = st->seed_found;
  stats["parallel_sources"] = st->sources_parallel;
  stats["sources_us"] = OpMicros(*st, first, merge + 1);
  stats["filter_us"] = OpMicros(*st, merge + 1, merge + 3);
  stats["score_us"] = OpMicros(*st, merge + 3, merge + 4);
  stats["diversify_us"] = OpMicros(*st, merge + 4, diversify_end);
  stats["explain_us"] = OpMicros(*st, diversify_end, first + rec.ops.size());
  nlohmann::json candidates = nlohmann::json::object();
  nlohmann::json per_source = nlohmann::json::object();
  nlohmann::json dropped = nlohmann::json::object();
  bool truncated = false, fewer = false;
  for (size_t s = 0; s < rec.source_names.size(); ++s) {
    const SourceStats& ss = st->source_stats[s];
    candidates[rec.source_names[s]] = ss.candidates;
    nlohmann::json j = {{"candidates", ss.candidates}, {"us", ss.us}};
    if (ss.dropped != nullptr) {
      dropped[rec.source_names[s]] = {
          {"reason", ss.dropped}, {"message", ss.drop_message}, {"us", ss.us}};
    }
    bool nearest = false;
    for (const NearestSourcePlan& n : rec.nearest_sources) nearest |= n.bit == static_cast<int>(s);
    if (const RankSourcePlan* rank = RankSourceOf(rec, static_cast<int>(s))) {
      RankStatsJson(*rank, ss, &j);
    } else if (nearest) {
      j["fewer_than_k"] = ss.fewer_than_k;
      j["exhaustive"] = ss.exhaustive;
      j["strategy"] = ss.strategy;
      j["filter_evaluations"] = ss.filter_evaluations;
      if (ss.no_query_vector) j["no_query_vector"] = true;
    } else {
      j["paths"] = ss.paths;
      j["truncated"] = ss.truncated;
    }
    per_source[rec.source_names[s]] = j;
    truncated |= ss.truncated || ss.deadline_hit;
    fewer |= ss.fewer_than_k;
  }
  stats["candidates"] = candidates;
  stats["source_stats"] = per_source;
  stats["capped_hops"] = CappedHopsJson(rec, *st);
  if (!dropped.empty()) stats["dropped_sources"] = dropped;
  stats["candidates_total"] = st->nodes.size();
  stats["candidates_after_filter"] = st->survivors.size();
  stats["truncated"] = truncated;
  stats["fewer_than_k"] = fewer;
  stats["rows"] = out->rows.size();
  return Status::OK();
}

// RECOMMEND after MATCH ... WITH: runs the prelude and fills the parameters that stand for the
// WITH's names from its row. No row: they stay null (so a seed from WITH is not found); more
// than one row is an error, as RECOMMEND has one seed.
Status RunPrelude(const Plan& plan, const Catalog& catalog, const nlohmann::json& params,
                  const QueryOptions& options, Reclaimer* reclaimer, RecState* st) {
  const RecommendPlan& rec = std::get<RecommendPlan>(plan.body);
  if (!rec.prelude) return Status::OK();
  MatchState ms;
  ms.memory = st->memory;
  ms.reclaimer = reclaimer;
  Status status = InitState(plan, catalog, params, options, &ms);
  ms.now_ms = st->now_ms;  // one clock for the whole query
  if (status.ok()) status = RunMatchOps(*rec.prelude, &ms);
  DiscardTable(&ms, &ms.table);
  DiscardTable(&ms, &ms.building);
  PW_RETURN_IF_ERROR(status);
  std::copy_n(ms.profile.begin(), rec.prelude->ops.size(), st->profile.begin());
  if (ms.values.size() > 1) {
    return Status::InvalidArgument(
               "RECOMMEND after WITH takes one row (one seed), but WITH passed on " +
               std::to_string(ms.values.size()) +
               "; add LIMIT 1 to the WITH, or aggregate (collect(), count()) into one row")
        .WithPosition(rec.pos.line, rec.pos.column);
  }
  if (ms.values.empty()) return Status::OK();
  for (size_t i = 0; i < plan.params.size(); ++i) {
    int column = plan.param_column[i];
    if (column >= 0) st->params[i] = ms.values[0][static_cast<size_t>(column)];
  }
  return Status::OK();
}

nlohmann::json ProfileJson(const ExecState& st) {
  nlohmann::json rows = nlohmann::json::array();
  for (const OpProfile& p : st.profile) {
    rows.push_back({{"operator", p.name},
                    {"rows_in", p.rows_in},
                    {"rows_out", p.rows_out},
                    {"time_us", static_cast<double>(p.time_ns) / 1000.0}});
  }
  return rows;
}

}  // namespace

namespace {

size_t ParallelSourcesMaxQueries(const EngineOptions& options) {
  if (options.parallel_sources_max_queries > 0) return options.parallel_sources_max_queries;
  const size_t cores = std::thread::hardware_concurrency();
  return cores > 2 ? cores - 1 : 1;
}

}  // namespace

struct Engine::Impl {
  explicit Impl(const EngineOptions& options)
      : cache(options.plan_cache_entries, options.plan_cache_bytes),
        pool(options.max_total_query_memory_bytes),
        sources(options.source_threads),
        parallel_max_queries(ParallelSourcesMaxQueries(options)) {}
  PlanCache cache;
  MemoryPool pool;
  Reclaimer reclaimer;
  SourcePool sources;  // RECOMMEND sources in parallel
  const size_t parallel_max_queries;  // EngineOptions::parallel_sources_max_queries, resolved
  std::atomic<size_t> executing{0};   // queries inside Execute
};

namespace {

// Counts a query in Engine::Impl::executing for its scope.
class Executing {
 public:
  explicit Executing(std::atomic<size_t>* count)
      : count_(count), now_(count->fetch_add(1, std::memory_order_relaxed) + 1) {}
  ~Executing() { count_->fetch_sub(1, std::memory_order_relaxed); }
  Executing(const Executing&) = delete;
  Executing& operator=(const Executing&) = delete;
  // Queries executing when this one began, itself included.
  size_t now() const { return now_; }

 private:
  std::atomic<size_t>* count_;
  size_t now_;
};

}  // namespace

Engine::Engine(EngineOptions options) : impl_(std::make_unique<Impl>(options)) {}
Engine::~Engine() = default;

size_t Engine::plan_cache_entries() const { return impl_->cache.size(); }
size_t Engine::plan_cache_bytes() const { return impl_->cache.bytes(); }
size_t Engine::query_memory_bytes() const { return impl_->pool.used(); }

Result<QueryResult> Engine::Execute(const Catalog& catalog, std::string_view text,
                                    const nlohmann::json& params, const QueryOptions& options) {
  if (catalog.schema == nullptr || catalog.graph == nullptr) {
    return Status::Internal("query catalog without schema or graph");
  }
  const Executing executing(&impl_->executing);
  try {
    auto t0 = Clock::now();
    const uint64_t version = catalog.schema->version();
    std::shared_ptr<const Plan> plan = impl_->cache.Get(text, version);
    const bool cached = plan != nullptr;
    auto t_parsed = t0, t_bound = t0;
    if (!cached) {
      PW_ASSIGN_OR_RETURN(std::unique_ptr<ast::Statement> stmt,
                          ast::Parse(text, options.limits, options.deadline, &impl_->reclaimer));
      t_parsed = Clock::now();
      auto bound = BuildPlan(*stmt, *catalog.schema, catalog.graph, options.deadline);
      impl_->reclaimer.Dispose(std::move(stmt));  // a large AST takes a while to free
      PW_ASSIGN_OR_RETURN(plan, std::move(bound));
      t_bound = Clock::now();
      impl_->cache.Put(text, version, plan);
    }
    QueryResult out;
    QueryMemory memory(options.limits.max_query_memory_bytes, &impl_->pool);
    const bool profile = plan->profile || options.profile;
    auto run = [&](ExecState* st, auto&& body) -> Status {
      st->memory = &memory;
      PW_RETURN_IF_ERROR(InitState(*plan, catalog, params, options, st));
      auto t_setup = Clock::now();
      PW_RETURN_IF_ERROR(body());
      auto t_done = Clock::now();
      out.stats["parse_us"] = Micros(t_parsed - t0);
      out.stats["bind_us"] = Micros(t_bound - t_parsed);
      out.stats["plan_us"] = Micros(t_setup - t_bound);
      out.stats["exec_us"] = Micros(t_done - t_setup);
      out.stats["plan_cached"] = cached;
      if (profile) out.profile = ProfileJson(*st);
      if (plan->explain || options.explain || profile) out.stats["plan"] = plan->op_names;
      return Status::OK();
    };
    Status status;
    if (std::holds_alternative<MatchPlan>(plan->body)) {
      if (options.why_not) return Status::InvalidArgument("why_not applies to RECOMMEND queries only");
      MatchState st;
      st.reclaimer = &impl_->reclaimer;
      status = run(&st, [&]() { return RunMatch(*plan, &st, &out); });
      DiscardTable(&st, &st.table);
      DiscardTable(&st, &st.building);
    } else {
      RecState st;
      const bool cores_idle = executing.now() <= impl_->parallel_max_queries;
      st.source_pool = impl_->sources.size() > 0 && cores_idle ? &impl_->sources : nullptr;
      status = run(&st, [&]() {
        PW_RETURN_IF_ERROR(RunPrelude(*plan, catalog, params, options, &impl_->reclaimer, &st));
        return RunRecommend(*plan, options, RetrievalKey{text, version}, &st, &out);
      });
    }
    if (!status.ok()) return status;
    return out;
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("out of memory while executing the query");
  } catch (const std::exception& e) {
    return Status::Internal(std::string("query execution failed: ") + e.what());
  }
}

}  // namespace pathwise::query
