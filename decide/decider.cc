// Decider::Decide: one decision walks the surface's chain (primary recipe, fallbacks, the list
// last served, the popular list) and stops at the first list good enough to serve, all inside
// the request's deadline. docs/decisions.md describes the chain, confidence and reason codes.
#include <algorithm>
#include <cmath>
#include <thread>

#include "decide/decider_impl.h"

namespace pathwise::decide {
namespace {

using json = nlohmann::json;

int64_t MicrosSince(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t).count();
}

// A size option's value, or the machine's hardware threads for 0.
size_t OrCores(size_t value) {
  return value > 0 ? value : std::max(1u, std::thread::hardware_concurrency());
}

ImpressionWriter::Options ImpressionWriterOptions(const DeciderOptions& options) {
  ImpressionWriter::Options out;
  out.sync = options.sync_impressions;
  out.max_queue_wait_ms = options.impression_max_queue_wait_ms;
  out.max_queued = std::max<size_t>(1, options.impression_max_queued);
  return out;
}

bool IsDegradingReason(const std::string& code) {
  for (const char* prefix : {"source_timeout", "source_error", "breaker_open", "deadline", "overload"}) {
    if (code.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

// The item's explanation: the recipe's (labels, terms, paths, sentence), plus `decision`:
// kind "fallback" when a step after the primary recipe served it (with the decision's reason
// codes) and kind "rule" for each rule effect on it.
json ItemJson(const Item& item, size_t slot, bool explain, const std::vector<std::string>& reasons) {
  json j = {{"id", item.id}, {"type", item.type}, {"slot", slot}, {"source", item.served_by}};
  j["score"] = std::isnan(item.score) ? json(nullptr) : json(item.score);
  if (!item.label.is_null()) j["label"] = item.label;
  if (!item.applied.empty()) j["reasons"] = item.applied;
  if (!item.explore_reason.empty()) {
    j["reasons"].push_back(item.explore_reason);
    j["propensity"] = item.propensity;
  }
  if (explain) {
    json e = item.explanation.is_null() ? json::object() : item.explanation;
    if (!item.applied.empty()) e["rules"] = item.applied;
    json decision = json::array();
    if (item.served_by != "primary") {
      decision.push_back({{"kind", "fallback"}, {"served_by", item.served_by}, {"reasons", reasons}});
    }
    for (const json& applied : item.applied) {
      json rule = applied;
      rule["kind"] = "rule";
      decision.push_back(std::move(rule));
    }
    if (!item.explore_reason.empty()) {
      decision.push_back({{"kind", "explore"}, {"reason", item.explore_reason},
                          {"propensity", item.propensity}});
    }
    if (!decision.empty()) e["decision"] = std::move(decision);
    j["explanation"] = std::move(e);
  }
  return j;
}

}  // namespace

void Draft::Reason(const std::string& code) {
  if (std::find(reasons.begin(), reasons.end(), code) == reasons.end()) reasons.push_back(code);
}

Decider::Impl::Impl(Database* db_in, DeciderOptions options_in)
    : db(db_in),
      options(options_in),
      last_served(options_in.last_served_users),
      frequency(options_in.frequency_max_decisions),
      candidates(options_in.candidate_cache_entries, options_in.candidate_cache_bytes),
      explore_counts(options_in.explore_max_keys),
      isolation(options_in.isolation_cooldown_ms, OrCores(options_in.max_inline_steps)),
      gate(OrCores(options_in.max_running_decisions)),
      slots(OrCores(options_in.max_running_steps)),
      impressions(db_in, ImpressionWriterOptions(options_in)),
      pool(std::max(1, options_in.workers), options_in.max_queued) {}

void Decider::Impl::Count(const std::string& name, uint64_t n) {
  MutexLock lock(&metrics_mu);
  counters[name] += n;
}

void Decider::Impl::Admit(const Request& req, Clock::time_point serve_by,
                          DecisionGate::Ticket* ticket, Draft* d) {
  auto asked = Clock::now();
  std::optional<Clock::duration> waited = ticket->Enter(serve_by);
  // 0 when a token was free; without one, the time until it gave up.
  d->admission_us = waited.has_value()
                        ? std::chrono::duration_cast<std::chrono::microseconds>(*waited).count()
                        : MicrosSince(asked);
  const auto max_wait = std::chrono::milliseconds(
      options.max_admission_wait_ms > 0 ? options.max_admission_wait_ms : req.deadline_ms / 5);
  if (waited.has_value() && *waited <= max_wait) return;
  d->Reason("overload");
  d->overloaded = true;
  Count("decisions_shed");
}

void Decider::Impl::TryRecipe(const std::shared_ptr<const Surface>& sp, size_t step,
                              const Request& req, const UserInfo& user,
                              Clock::time_point serve_by, DecisionGate::Ticket* ticket,
                              Draft* d) {
  const Surface& s = *sp;
  const std::string& recipe = s.chain[step];
  StepTiming timing{step == 0 ? "primary" : "fallback:" + recipe, 0, "ok"};
  auto start = Clock::now();
  auto finish = [&](const char* outcome) {
    timing.outcome = outcome;
    timing.us = MicrosSince(start);
    d->steps.push_back(timing);
  };
  if (start >= serve_by) {
    d->Reason("deadline");
    return finish("skipped");
  }
  decide::Breakers::Admit admit = breakers.Check(recipe, "*", s.breaker);
  if (admit == decide::Breakers::Admit::kSkip) {
    d->Reason("breaker_open:" + recipe);
    return finish("breaker_open");
  }
  // Without a configured budget a recipe may use 60% of the time left when another recipe
  // follows it (so a stalled primary leaves the fallback time to run), all of it otherwise.
  int64_t budget = s.BudgetMs(recipe);
  Clock::time_point until = serve_by;
  if (budget > 0) {
    until = std::min(serve_by, start + std::chrono::milliseconds(budget));
  } else if (step + 1 < s.chain.size()) {
    until = start + (serve_by - start) * 6 / 10;
  }
  std::optional<RecipeRun> run =
      RunStep(sp, recipe, req, until, admit == decide::Breakers::Admit::kProbe, ticket, &timing);
  if (!run.has_value()) {
    if (admit == decide::Breakers::Admit::kProbe) breakers.ReleaseProbe(recipe, "*");
    d->Reason("overload");
    d->overloaded = true;
    return finish("overload");
  }
  if (!run->status.ok()) {
    bool timeout = run->status.code() == Status::Code::kDeadlineExceeded;
    d->Reason((timeout ? "source_timeout:" : "source_error:") + recipe);
    breakers.RecordFailure(recipe, "*", s.breaker);
    return finish(timeout ? "timeout" : "error");
  }
  breakers.RecordSuccess(recipe, "*", s.breaker);
  for (const auto& [source, code] : run->dropped) d->Reason(code + ":" + source);
  if (run->no_query_vector) d->Reason("no_query_vector");
  double confidence = RecipeConfidence(user, *run, req.k);
  timing.candidates = run->candidates;
  finish(run->items.empty() ? "empty" : "ok");
  Offer(s, req, user, std::move(run->items), confidence, timing.source, serve_by,
        /*evaluated=*/false, /*last_resort=*/false, d);
}

void Decider::Impl::TryLastServed(const Surface& s, const Request& req, const UserInfo& user,
                                  Clock::time_point serve_by, Draft* d) {
  StepTiming timing{"last_served", 0, "ok"};
  auto start = Clock::now();
  ItemList items = last_served.Get(s.name, req.user);
  if (items.empty() || start >= serve_by) {
    timing.outcome = items.empty() ? "empty" : "skipped";
    d->steps.push_back(timing);
    return;
  }
  Offer(s, req, user, std::move(items), kLastServedConfidence, "last_served", serve_by,
        /*evaluated=*/false, /*last_resort=*/false, d);
  timing.us = MicrosSince(start);
  d->steps.push_back(timing);
}

void Decider::Impl::ServePopular(const std::shared_ptr<const Surface>& base, const Surface& s,
                                 const Request& req, const UserInfo& user,
                                 Clock::time_point hard_deadline, Draft* d) {
  StepTiming timing{"popular", 0, "ok"};
  auto start = Clock::now();
  std::shared_ptr<const ItemList> list;
  if (!s.popular_query.empty()) {
    list = popular.Get(
        s.name, s.popular_refresh_seconds, [this, base] { return ComputePopular(*base); },
        hard_deadline);
  }
  if (list == nullptr || list->empty()) {
    timing.outcome = s.popular_query.empty() ? "none" : list == nullptr ? "not_ready" : "empty";
  } else {
    ItemList items = *list;
    bool user_rules = std::any_of(s.rules.begin(), s.rules.end(),
                                  [](const Rule& r) { return r.uses_user; });
    // Item-only rule values were computed with the list (with the base surface's rules); rules
    // that read the user, or a variant's own rules, need a query.
    bool evaluated = !(user_rules && user.exists) && !s.own_rules;
    Offer(s, req, user, std::move(items), kPopularConfidence, "popular", hard_deadline, evaluated,
          /*last_resort=*/true, d);
  }
  timing.us = MicrosSince(start);
  d->steps.push_back(timing);
}

void Decider::Impl::Offer(const Surface& s, const Request& req, const UserInfo& user,
                          ItemList items, double confidence, const std::string& served_by,
                          Clock::time_point until, bool evaluated, bool last_resort, Draft* d) {
  size_t offered = items.size();
  std::map<std::string, Item> pinnable;
  if (s.NeedsItemQuery() && !evaluated && !items.empty()) {
    auto start = Clock::now();
    bool ok = EvaluateItems(s, req, user, until, served_by, &items, &pinnable);
    d->rules_us += MicrosSince(start);
    if (!ok && !last_resort) {
      d->Reason("deadline");
      return;
    }
  }
  if (s.HasCaps()) FillCaps(s, req, &items, &pinnable);
  std::set<std::string> exclude = req.exclude;
  for (const Item& item : d->items) exclude.insert(item.id);
  for (const Item& item : d->pool) exclude.insert(item.id);
  size_t room = req.k - d->items.size();
  // An exploring surface keeps up to pool_size more candidates, for the explored slots.
  size_t extra = s.explore.enabled() ? static_cast<size_t>(s.explore.pool_size) : 0;
  RuleReport report = ApplyRules(s, exclude, pinnable, d->items, room + extra, &items);
  d->AddRuleReport(s, report);
  if (items.empty()) {
    if (offered > 0 && report.excluded < offered) d->Reason("rule_filtered_all");
    return;
  }
  if (!last_resort && confidence < s.min_confidence) {
    d->Reason("low_confidence");
    return;
  }
  size_t kept = std::min(room, items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    items[i].served_by = served_by;
    (i < kept ? d->items : d->pool).push_back(std::move(items[i]));
  }
  if (d->served_by.empty()) d->served_by = served_by;
  d->confidence_sum += confidence * static_cast<double>(kept);
  d->done = d->items.size() >= static_cast<size_t>(std::max<int64_t>(1, s.min_items));
  if (!d->done) d->Reason("few_candidates");
}

Decider::Decider(Database* db, DeciderOptions options)
    : impl_(std::make_unique<Impl>(db, options)) {
  // Read-your-writes: a user's own writes (events are edges from the user) erase their cached
  // candidates before the write returns.
  CandidateCache* cache = &impl_->candidates;
  impl_->write_observer = db->AddWriteObserver([cache](const Database::WrittenNodes& written) {
    if (written.all) return cache->InvalidateAll();
    for (const std::string& id : written.ids) cache->InvalidateUser(id);
  });
  // Compute every stored surface's popular list now, in the background, so that the first
  // decisions after a start do not find it missing.
  auto surfaces = ListSurfaces(*db);
  if (!surfaces.ok()) return;
  for (const json& s : *surfaces) {
    if (s.contains("name") && s["name"].is_string()) impl_->PrefetchPopular(s["name"]);
  }
}

void Decider::Impl::PrefetchPopular(const std::string& name) {
  auto sp = LoadSurface(name);
  if (!sp.ok() || (*sp)->popular_query.empty()) return;
  std::shared_ptr<const Surface> surface = *sp;
  popular.Prefetch(name, [this, surface] { return ComputePopular(*surface); });
}

Decider::~Decider() { impl_->db->RemoveWriteObserver(impl_->write_observer); }

Result<json> Decider::Decide(const std::string& name, const json& body) {
  Impl& m = *impl_;
  auto t0 = Clock::now();
  PW_ASSIGN_OR_RETURN(std::shared_ptr<const Surface> base, m.LoadSurface(name));
  // The user's variant (sticky: a salted hash of the user id) runs the decision.
  PW_ASSIGN_OR_RETURN(Request req, m.ParseRequest(*base, body));
  std::shared_ptr<const Surface> sp = VariantFor(base, req.user);
  const Surface& s = *sp;
  if (sp != base && body.value("k", json()).is_null()) req.k = static_cast<size_t>(s.k);
  Clock::time_point hard = t0 + std::chrono::milliseconds(req.deadline_ms);
  // Rules, labels and the answer get the reserve; tiny deadlines keep half for the chain.
  int64_t reserve_us = std::min<int64_t>(m.options.reserve_ms * 1000, req.deadline_ms * 500);
  Clock::time_point serve_by = hard - std::chrono::microseconds(reserve_us);

  DecisionGate::Ticket ticket(&m.gate);
  Draft d;
  m.Admit(req, serve_by, &ticket, &d);
  UserInfo user = m.LookupUser(s, req.user);
  if (!user.exists || user.history == 0) d.Reason("no_history");
  for (size_t step = 0; step < s.chain.size() && !d.done && !d.overloaded; ++step) {
    m.TryRecipe(sp, step, req, user, serve_by, &ticket, &d);
  }
  // The last served list costs one lookup and the rules query: it may use the reserve too.
  if (!d.done && !d.overloaded && s.last_served) m.TryLastServed(s, req, user, hard, &d);
  if (!d.done) m.ServePopular(base, s, req, user, hard, &d);

  int64_t served_ms = m.NowMs();
  std::string recommendation_id = NewRecommendationId(served_ms);
  json explore_trace;
  if (s.explore.enabled()) m.Explore(s, req, recommendation_id, &d, &explore_trace);
  if (!d.items.empty()) m.last_served.Put(s.name, req.user, d.items);
  double confidence = d.confidence_sum / static_cast<double>(req.k);
  bool degraded = d.served_by != "primary" ||
                  std::any_of(d.reasons.begin(), d.reasons.end(), IsDegradingReason);
  json items = json::array();
  for (size_t i = 0; i < d.items.size(); ++i) items.push_back(ItemJson(d.items[i], i, req.explain, d.reasons));
  json steps = json::array();
  for (const StepTiming& t : d.steps) {
    steps.push_back({{"source", t.source}, {"us", t.us}, {"outcome", t.outcome}});
    if (!t.candidates.empty()) steps.back()["candidates"] = t.candidates;
    if (!t.run.empty()) {
      steps.back()["run"] = t.run;
      steps.back()["isolated"] = t.isolated;
    }
  }
  json answer = {{"recommendation_id", recommendation_id},
                 {"surface", s.name},
                 {"variant", s.variant},
                 {"items", std::move(items)},
                 {"confidence", std::round(std::clamp(confidence, 0.0, 1.0) * 1e4) / 1e4},
                 {"served_by", d.served_by.empty() ? "none" : d.served_by},
                 {"degraded", degraded},
                 {"reasons", d.reasons},
                 {"rules", d.rules},
                 {"timings", {{"total_us", MicrosSince(t0)}, {"rules_us", d.rules_us},
                              {"admission_us", d.admission_us},
                              {"steps", std::move(steps)}}}};
  ticket.Leave();  // the impression write waits for the disk, not the cores
  m.LogImpressions(s, req, served_ms,
                   hard + std::chrono::milliseconds(m.options.impression_wait_past_deadline_ms),
                   explore_trace, &answer);
  m.Count("decisions");
  if (degraded) m.Count("degraded");
  m.Count("served_by:" + answer["served_by"].get<std::string>());
  for (const std::string& r : d.reasons) m.Count("reason:" + r.substr(0, r.find(':')));
  return answer;
}

json Decider::Breakers() const { return impl_->breakers.ToJson(); }

json Decider::Metrics() const {
  json out = json::object();
  {
    MutexLock lock(&impl_->metrics_mu);
    for (const auto& [name, n] : impl_->counters) out[name] = n;
  }
  PopularLists::Counts c = impl_->popular.counts();
  out["popular_cache"] = {{"hits", c.hits},         {"stale", c.stale},
                          {"misses", c.misses},     {"coalesced", c.coalesced},
                          {"computations", c.computations}, {"failures", c.failures}};
  CandidateCache::Counts cc = impl_->candidates.counts();
  out["candidate_cache"] = {{"hits", cc.hits},           {"stale", cc.stale},
                            {"misses", cc.misses},       {"coalesced", cc.coalesced},
                            {"computations", cc.computations}, {"failures", cc.failures},
                            {"mismatches", cc.mismatches}, {"invalidations", cc.invalidations},
                            {"evictions", cc.evictions}, {"entries", cc.entries}};
  out["breakers_open"] = impl_->breakers.OpenCount();
  out["explore_counts"] = {{"keys", impl_->explore_counts.keys()},
                           {"evicted", impl_->explore_counts.evicted()}};
  out["frequency_index"] = {{"decisions", impl_->frequency.decisions()},
                            {"evicted_users", impl_->frequency.evicted_users()}};
  json variants = json::array();
  {
    MutexLock lock(&impl_->metrics_mu);
    for (const auto& [key, c] : impl_->variant_counts) {
      variants.push_back({{"surface", key.first}, {"variant", key.second},
                          {"decisions", c.decisions}, {"impressions", c.impressions},
                          {"clicks", c.clicks}, {"conversions", c.conversions}});
    }
  }
  out["variants"] = std::move(variants);
  out["isolated_recipes"] = impl_->isolation.IsolatedCount();
  out["isolations"] = impl_->isolation.isolations();
  out["decisions_running"] = impl_->gate.running();
  out["decisions_waiting"] = impl_->gate.waiting();
  out["workers_busy"] = impl_->pool.busy();
  out["workers_queued"] = impl_->pool.queued();
  out["impression_writes_in_flight"] = impl_->impressions.in_flight();
  out["impression_records_queued"] = impl_->impressions.queued();
  return out;
}

Status Decider::SetFault(const json& fault) {
  if (!impl_->options.enable_fault_injection) {
    return Status::PermissionDenied(
        "fault injection is off (start the server with --enable-fault-injection on loopback)");
  }
  return impl_->faults.Set(fault);
}

Status Decider::ClearFaults() {
  if (!impl_->options.enable_fault_injection) {
    return Status::PermissionDenied(
        "fault injection is off (start the server with --enable-fault-injection on loopback)");
  }
  impl_->faults.Clear();
  return Status::OK();
}

json Decider::Faults() const { return impl_->faults.ToJson(); }

void Decider::Invalidate(const std::string& surface) {
  {
    MutexLock lock(&impl_->surfaces_mu);
    impl_->surfaces.erase(surface);
  }
  impl_->popular.Forget(surface);
  impl_->last_served.ForgetSurface(surface);
  impl_->candidates.ForgetKeys(surface + '\x1f');
  if (!GetSurface(*impl_->db, surface).ok()) impl_->frequency.Forget(surface);
  impl_->PrefetchPopular(surface);
}

}  // namespace pathwise::decide
