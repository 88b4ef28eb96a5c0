// One recipe run of a decision: on the deciding thread or a worker thread (docs/decisions.md,
// "How a step runs"), under the step's deadline, with per-source budgets, source breakers and
// injected faults (docs/decisions.md, "Inside the deadline").
#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <set>

#include "decide/decider_impl.h"

namespace pathwise::decide {
namespace {

using json = nlohmann::json;

// recipe params < surface params < request context < the user (and limit).
json RecipeParams(const json& recipe, const Surface& s, const Request& req) {
  json params = recipe.value("params", json::object());
  if (!params.is_object()) params = json::object();
  for (const auto& [k, v] : s.params.items()) params[k] = v;
  for (const auto& [k, v] : req.context.items()) params[k] = v;
  params["user"] = req.user;
  auto max_limit = recipe.find("max_limit");
  if (max_limit != recipe.end() && max_limit->is_number_integer()) {
    size_t pins = std::count_if(s.rules.begin(), s.rules.end(),
                                [](const Rule& r) { return r.type == Rule::Type::kPin; });
    int64_t want = static_cast<int64_t>(req.k) * s.candidates_factor +
                   static_cast<int64_t>(req.exclude.size() + pins);
    params["limit"] = std::min(want, max_limit->get<int64_t>());
  }
  return params;
}

// The result's rows as items, moved out of it.
ItemList ItemsOf(QueryResult* result) {
  ItemList items;
  items.reserve(result->rows.size());
  for (size_t i = 0; i < result->rows.size(); ++i) {
    json& row = result->rows[i];
    if (!row.is_array() || row.size() < 3 || !row[0].is_string()) continue;
    Item item;
    item.id = std::move(row[0].get_ref<std::string&>());
    if (row[1].is_string()) item.type = std::move(row[1].get_ref<std::string&>());
    item.score = row[2].is_number() ? row[2].get<double>() : NAN;
    if (row.size() > 3 && row[3].is_array()) item.sources = std::move(row[3]);
    if (i < result->explanations.size()) item.explanation = std::move(result->explanations[i]);
    items.push_back(std::move(item));
  }
  return items;
}

// A run that did not answer by its step's `until`.
RecipeRun LateRun(const std::string& recipe) {
  RecipeRun late;
  late.status = Status::DeadlineExceeded("recipe '" + recipe + "' did not answer within its budget");
  return late;
}

}  // namespace

std::optional<RecipeRun> Decider::Impl::RunStep(const std::shared_ptr<const Surface>& s,
                                                const std::string& recipe, const Request& req,
                                                Clock::time_point until, bool suspect,
                                                DecisionGate::Ticket* ticket,
                                                StepTiming* timing) {
  // One budget of running steps, inline and on workers: no slot in time means the server is
  // saturated, and the decision answers overload instead of running past its budget.
  if (!slots.Acquire(until)) return std::nullopt;
  auto slot = std::make_shared<StepSlots::Slot>(&slots);
  StepIsolation::Way way = StepIsolation::Way::kBusy;
  if (options.inline_steps) {
    suspect = suspect || (!faults.empty() && faults.Has("recipe:" + recipe));
    way = isolation.Begin(recipe, suspect, until);
  }
  timing->isolated = way == StepIsolation::Way::kIsolated;
  if (timing->isolated) Count("steps_isolated");
  timing->run = way == StepIsolation::Way::kInline ? "inline" : "worker";
  Count(way == StepIsolation::Way::kInline ? "steps_inline" : "steps_worker");
  std::optional<RecipeRun> run = way == StepIsolation::Way::kInline
                                     ? RunInline(s, recipe, req, until)
                                     : RunOnWorker(s, recipe, req, until, slot, ticket);
  // A step the pool refused or no worker started did not run: its slot time is no run's.
  slot->Release(/*ran=*/run.has_value());
  // A run that hit its deadline overran it, wherever it ran.
  if (run.has_value() && run->status.code() == Status::Code::kDeadlineExceeded) {
    isolation.Overran(recipe);
  }
  return run;
}

RecipeRun Decider::Impl::RunInline(const std::shared_ptr<const Surface>& s,
                                   const std::string& recipe, const Request& req,
                                   Clock::time_point until) {
  RecipeRun run = RunRecipe(s, recipe, req, until);
  auto now = Clock::now();
  isolation.EndInline(recipe, until, now);
  // As on a worker: what answers after the step's budget is not used.
  return now > until ? LateRun(recipe) : run;
}

std::optional<RecipeRun> Decider::Impl::RunOnWorker(const std::shared_ptr<const Surface>& s,
                                                    const std::string& recipe, const Request& req,
                                                    Clock::time_point until,
                                                    std::shared_ptr<StepSlots::Slot> slot,
                                                    DecisionGate::Ticket* ticket) {
  auto promise = std::make_shared<Promise<RecipeRun>>();
  auto run = std::make_shared<RecipeRun>();
  auto started = std::make_shared<std::atomic<bool>>(false);
  auto work = [this, s, recipe, req, until, run, started] {
    // A run whose decision gave up while it waited for a worker is not started at all.
    if (Clock::now() >= until) {
      run->status = Status::DeadlineExceeded("abandoned before it started");
      return;
    }
    started->store(true);
    *run = RunRecipe(s, recipe, req, until);
  };
  auto done = [run, promise, slot, started] {
    slot->Release(/*ran=*/started->load());
    promise->Set(std::move(*run));
  };
  if (!pool.TrySubmit(std::move(work), std::move(done), until)) return std::nullopt;
  // Waiting uses no core: another decision may work meanwhile. The token is taken back ahead of
  // new decisions, waiting at most until 1 ms past the step's budget (then the decision goes on
  // without one); a decision that held none (none came in time) does not take one now.
  const bool had_token = ticket->held();
  ticket->Leave();
  std::unique_ptr<RecipeRun> answered = promise->WaitUntil(until);
  if (had_token) {
    ticket->Enter(std::max(until, Clock::now()) + std::chrono::milliseconds(1), /*first=*/true);
  }
  if (answered != nullptr) return std::move(*answered);
  // Still waiting for a worker at the deadline: the pool was saturated, not the recipe slow.
  if (!started->load()) return std::nullopt;
  return LateRun(recipe);
}

RecipeRun Decider::Impl::RunRecipe(const std::shared_ptr<const Surface>& sp,
                                   const std::string& recipe_name, const Request& req,
                                   Clock::time_point until, uint64_t refresh_token) {
  const Surface& s = *sp;
  RecipeRun run;
  auto recipe = LoadRecipeCached(recipe_name);
  if (!recipe.ok()) {
    run.status = recipe.status();
    return run;
  }
  const json& stored = **recipe;
  if (!faults.empty()) {
    // An injected recipe delay ignores the deadline: it stands for a stuck backend.
    run.status = Perform(faults.Draw("recipe:" + recipe_name), Clock::time_point::max());
    if (!run.status.ok()) return run;
  }
  QueryOptions qo;
  qo.deadline = Deadline::At(until);
  qo.explain = req.explain;
  qo.drop_failed_sources = true;
  qo.source_budget_ms = s.source_budget_ms;
  std::string prefix = recipe_name + "/";
  for (const auto& [key, ms] : s.budgets_ms) {
    if (key.rfind(prefix, 0) == 0) qo.source_budgets_ms[key.substr(prefix.size())] = ms;
  }
  std::set<std::string> probes;
  std::mutex probes_mu;
  qo.source_hook = [&](std::string_view source, Deadline budget) -> Status {
    std::string name(source);
    decide::Breakers::Admit admit = breakers.Check(recipe_name, name, s.breaker);
    if (admit == decide::Breakers::Admit::kSkip) return Status::Unavailable("breaker_open");
    if (admit == decide::Breakers::Admit::kProbe) {
      std::lock_guard<std::mutex> lock(probes_mu);
      probes.insert(name);
    }
    if (faults.empty()) return Status::OK();
    return Perform(faults.Draw("source:" + name), budget.at());
  };
  CandidateUse use = LookupCandidates(sp, recipe_name, req, until, refresh_token);
  qo.reuse_candidates = use.lookup.set;
  qo.keep_candidates = use.cached;
  auto text = stored.find("query");
  auto result = db->Query(text != stored.end() && text->is_string()
                              ? std::string_view(text->get_ref<const std::string&>())
                              : std::string_view(),
                          RecipeParams(stored, s, req), qo);
  FinishCandidates(sp, recipe_name, req, use, result, &run);
  if (!result.ok()) {
    for (const std::string& p : probes) breakers.ReleaseProbe(recipe_name, p);
    run.status = result.status();
    return run;
  }
  run.items = ItemsOf(&*result);
  run.stats = std::move(result->stats);
  const json& dropped = run.stats.contains("dropped_sources") ? run.stats["dropped_sources"]
                                                              : json::object();
  const json& sources = run.stats.contains("source_stats") ? run.stats["source_stats"]
                                                           : json::object();
  // Reused candidates: the sources did not run now, so their breakers learn nothing.
  const bool reused = run.stats.value("candidates_reused", false);
  for (const auto& [source, st] : sources.items()) {
    if (st.is_object() && st.value("no_query_vector", false)) run.no_query_vector = true;
    if (!dropped.contains(source)) {
      ++run.sources;
      if (!reused) breakers.RecordSuccess(recipe_name, source, s.breaker);
    }
  }
  for (const auto& [source, info] : dropped.items()) {
    std::string reason = info.value("reason", "error");
    std::string message = info.value("message", "");
    if (message == "breaker_open") {
      run.dropped.emplace_back(source, "breaker_open");
      continue;
    }
    run.dropped.emplace_back(source, reason == "timeout" ? "source_timeout" : "source_error");
    breakers.RecordFailure(recipe_name, source, s.breaker);
  }
  return run;
}

double RecipeConfidence(const UserInfo& user, const RecipeRun& run, size_t k) {
  if (run.items.empty()) return 0;
  double history = static_cast<double>(user.history) / (static_cast<double>(user.history) + 10.0);
  size_t top = std::min(k, run.items.size());
  double support = 0;
  for (size_t i = 0; i < top; ++i) {
    double found = static_cast<double>(run.items[i].sources.size());
    support += run.sources > 0 ? std::min(1.0, found / static_cast<double>(run.sources)) : 0;
  }
  support /= static_cast<double>(top);
  // Margin: how far the top k stand above the next k (0.5 when there is nothing to compare).
  double margin = 0.5;
  auto mean = [&](size_t from, size_t to) {
    double sum = 0;
    size_t n = 0;
    for (size_t i = from; i < to; ++i) {
      if (!std::isnan(run.items[i].score)) sum += run.items[i].score, ++n;
    }
    return n > 0 ? std::optional<double>(sum / static_cast<double>(n)) : std::nullopt;
  };
  if (run.items.size() > top) {
    auto a = mean(0, top);
    auto b = mean(top, std::min(run.items.size(), 2 * top));
    if (a && b) margin = std::clamp((*a - *b) / (std::abs(*a) + std::abs(*b) + 1e-9), 0.0, 1.0);
  }
  double kept = static_cast<double>(run.sources);
  double all = kept + static_cast<double>(run.dropped.size());
  double dropped_factor = all > 0 ? kept / all : 1.0;
  return dropped_factor * (0.5 * history + 0.25 * support + 0.25 * margin);
}

}  // namespace pathwise::decide
