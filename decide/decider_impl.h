// Internal to decide/: the state behind Decider and the steps of one decision.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "db/database.h"
#include "decide/breaker.h"
#include "decide/candidates.h"
#include "decide/decision_gate.h"
#include "decide/decide.h"
#include "decide/explore_counts.h"
#include "decide/faults.h"
#include "decide/frequency.h"
#include "decide/impression_writer.h"
#include "decide/lists.h"
#include "decide/rules.h"
#include "decide/step_isolation.h"
#include "decide/step_slots.h"
#include "decide/surface.h"
#include "decide/worker_pool.h"

namespace pathwise::decide {

using Clock = std::chrono::steady_clock;

// A checked decide request.
struct Request {
  std::string user;
  nlohmann::json context = nlohmann::json::object();
  size_t k = 10;
  int64_t deadline_ms = 50;
  std::set<std::string> exclude;
  bool explain = false;
};

// What the user's node says about them (one lookup per decision).
struct UserInfo {
  bool exists = false;
  int64_t history = 0;  // outgoing edges of every type: the items the user interacted with
};

// The outcome of one recipe run on a worker.
struct RecipeRun {
  Status status;
  ItemList items;  // in rank order
  nlohmann::json stats = nlohmann::json::object();
  size_t sources = 0;  // sources of the recipe that ran and were kept
  std::vector<std::pair<std::string, std::string>> dropped;  // (source, reason code prefix)
  bool no_query_vector = false;  // a NEAREST source had no vector to search with
  // The candidate cache's part: hit | stale | miss | coalesced | mismatch; empty: not cached.
  std::string candidates;
};

// Confidence of the lists that are not a recipe's (docs/decisions.md, "Confidence").
constexpr double kLastServedConfidence = 0.2;
constexpr double kPopularConfidence = 0.1;

// One step of the chain, for the answer's timings.
struct StepTiming {
  std::string source;  // primary:<recipe> | fallback:<recipe> | last_served | popular
  int64_t us = 0;
  std::string outcome;  // ok | timeout | error | breaker_open | skipped | empty
  std::string candidates;  // RecipeRun::candidates
  // Recipe steps that ran: on the deciding thread or a worker, and whether the recipe was
  // isolated (docs/decisions.md, "How a step runs"). Empty: the step did not run a recipe.
  std::string run;  // inline | worker
  bool isolated = false;
};

// The decision being built.
struct Draft {
  ItemList items;
  // With exploration: the candidates the steps ranked below the items (rules applied), at most
  // the surface's pool_size per step; the explored slots draw from them.
  ItemList pool;
  std::string served_by;
  double confidence_sum = 0;  // sum over items of their list's confidence
  std::vector<std::string> reasons;
  std::vector<StepTiming> steps;
  nlohmann::json rules = nlohmann::json::array();  // per rule: items affected, over all steps
  int64_t rules_us = 0;
  bool done = false;        // a list good enough to serve was found
  bool overloaded = false;  // no token or worker in time: go straight to the cheapest list
  int64_t admission_us = 0;  // the wait for a token (Decider::Impl::Admit)
  void Reason(const std::string& code);
  void AddRuleReport(const Surface& s, const RuleReport& report);
};

struct Decider::Impl {
  Impl(Database* db, DeciderOptions options);

  Database* db;
  DeciderOptions options;
  decide::Breakers breakers;
  FaultInjector faults;
  PopularLists popular;
  LastServed last_served;
  FrequencyIndex frequency;
  CandidateCache candidates;
  uint64_t write_observer = 0;  // Database::AddWriteObserver's id: invalidates candidates
  ExploreCounts explore_counts;
  StepIsolation isolation;
  DecisionGate gate;  // decisions doing their work at once
  StepSlots slots;  // recipe steps running at once, inline and on workers (outlives the pool)

  // Parsed surfaces and recipes by name, each with the stored text it was parsed from and the
  // Database::MetaGeneration read before that text: while the generation is unchanged a
  // decision uses them without reading the metadata (a stored definition is seen by the next
  // decision; docs/decisions.md, "Surfaces"). Only definitions that exist are kept.
  template <typename T>
  struct Parsed {
    std::string text;
    uint64_t generation = 0;
    std::shared_ptr<const T> value;
  };
  Mutex surfaces_mu;
  std::map<std::string, Parsed<Surface>> surfaces PW_GUARDED_BY(surfaces_mu);
  Mutex recipes_mu;
  std::map<std::string, Parsed<nlohmann::json>> recipes PW_GUARDED_BY(recipes_mu);

  Mutex metrics_mu;
  std::map<std::string, uint64_t> counters PW_GUARDED_BY(metrics_mu);
  struct VariantCounts {
    uint64_t decisions = 0, impressions = 0, clicks = 0, conversions = 0;
  };
  // (surface, variant) -> logged decisions, their items, attributed clicks and conversions.
  std::map<std::pair<std::string, std::string>, VariantCounts> variant_counts
      PW_GUARDED_BY(metrics_mu);

  // The threads last, so that they stop before the state they use goes away: the pool first,
  // then the impression writer (its callbacks count into the metrics above).
  ImpressionWriter impressions;  // LogImpressions' records
  WorkerPool pool;

  // The wall clock (DeciderOptions::clock_ms or the system's), ms since the epoch.
  int64_t NowMs() const;

  Result<std::shared_ptr<const Surface>> LoadSurface(const std::string& name);
  // The stored recipe (decide.h LoadRecipe), parsed once per stored text.
  Result<std::shared_ptr<const nlohmann::json>> LoadRecipeCached(const std::string& name);
  Result<Request> ParseRequest(const Surface& s, const nlohmann::json& body) const;
  UserInfo LookupUser(const Surface& s, const std::string& user) const;

  // The recipe run of one chain step on a worker, waited for until `until` without the
  // decision's token (taken again, ahead of new decisions, once the wait ends); the worker gives
  // back `slot` when the run ends. nullopt: the worker pool is saturated (overload): no worker
  // would be free soon enough, or none started the run by `until`. A run started but still
  // going at `until` is a DeadlineExceeded status.
  std::optional<RecipeRun> RunOnWorker(const std::shared_ptr<const Surface>& s,
                                       const std::string& recipe, const Request& req,
                                       Clock::time_point until,
                                       std::shared_ptr<StepSlots::Slot> slot,
                                       DecisionGate::Ticket* ticket);
  // The recipe run of one chain step on this thread; ending after `until` is DeadlineExceeded.
  RecipeRun RunInline(const std::shared_ptr<const Surface>& s, const std::string& recipe,
                      const Request& req, Clock::time_point until);
  // The recipe run of one chain step, once it holds one of `slots` (nullopt: none free in time,
  // overload): inline on this thread unless the recipe is isolated (StepIsolation; suspect: a
  // half-open breaker) or inline runs are at their bound, else on a worker (RunOnWorker,
  // nullopt: overload). A run that ends after `until` is a DeadlineExceeded status either way.
  // Sets timing->run and timing->isolated when the step runs.
  std::optional<RecipeRun> RunStep(const std::shared_ptr<const Surface>& s,
                                   const std::string& recipe, const Request& req,
                                   Clock::time_point until, bool suspect,
                                   DecisionGate::Ticket* ticket, StepTiming* timing);
  // refresh_token: a background refresh of the candidate cache (CandidateCache::Lookup::token):
  // the run retrieves afresh and stores what it found.
  RecipeRun RunRecipe(const std::shared_ptr<const Surface>& s, const std::string& recipe,
                      const Request& req, Clock::time_point until, uint64_t refresh_token = 0);
  // The candidate cache's part in a recipe run (decide/candidate_use.cc).
  struct CandidateUse {
    bool cached = false;  // this run's candidates are cached
    std::string key;
    CandidateCache::Lookup lookup;
  };
  CandidateUse LookupCandidates(const std::shared_ptr<const Surface>& s, const std::string& recipe,
                                const Request& req, Clock::time_point until,
                                uint64_t refresh_token);
  // Stores what the run retrieved, starts the refresh of a stale entry, and names the cache's
  // part in the run.
  void FinishCandidates(const std::shared_ptr<const Surface>& s, const std::string& recipe,
                        const Request& req, const CandidateUse& use,
                        const Result<QueryResult>& result, RecipeRun* run);
  void RefreshCandidates(const std::shared_ptr<const Surface>& s, const std::string& recipe,
                         const Request& req, uint64_t token);

  // Labels and rule values of items (the surface's item query), filled into the items and into
  // `pinnable` for pinned ids not among them. False when the query failed (rules not applied).
  bool EvaluateItems(const Surface& s, const Request& req, const UserInfo& user,
                     Clock::time_point until, const std::string& served_by, ItemList* items,
                     std::map<std::string, Item>* pinnable);
  Result<ItemList> ComputePopular(const Surface& s);
  // Starts computing the surface's popular list in the background unless it exists or is being
  // computed (nothing for a surface without one, or one that does not load).
  void PrefetchPopular(const std::string& name);

  // Takes the decision's token (DecisionGate, docs/decisions.md "Overload"), waiting in arrival
  // order until serve_by at most. One that came after the admission wait, or not at all (the
  // decision then goes on without one), marks the draft overloaded: only the popular list runs.
  void Admit(const Request& req, Clock::time_point serve_by, DecisionGate::Ticket* ticket,
             Draft* d);
  void TryRecipe(const std::shared_ptr<const Surface>& s, size_t step, const Request& req,
                 const UserInfo& user, Clock::time_point serve_by, DecisionGate::Ticket* ticket,
                 Draft* d);
  // Starts tracking the recent impressions of a surface with frequency caps and loads them
  // from the impression log unless the index already covers its longest window; forgets them
  // for a surface without caps.
  void LoadCaps(const Surface& base);
  // Fills each frequency_cap rule's value of the items: {"impressions": in the rule's window,
  // "event": the never_after event type the item query found, or null}.
  void FillCaps(const Surface& s, const Request& req, ItemList* items,
                std::map<std::string, Item>* pinnable) const;

  void TryLastServed(const Surface& s, const Request& req, const UserInfo& user,
                     Clock::time_point serve_by, Draft* d);
  // base: the surface whose popular list it is (computed with the base's rules); s: the
  // variant serving it.
  void ServePopular(const std::shared_ptr<const Surface>& base, const Surface& s,
                    const Request& req, const UserInfo& user, Clock::time_point hard_deadline,
                    Draft* d);
  // Applies rules to a step's list and adds what survives to the draft: a list below
  // min_confidence is dropped (the next step replaces it), one with fewer than min_items leaves
  // the draft open (the next step fills it). evaluated: the items already carry their rule
  // values. last_resort: no confidence check, and a failed item query serves the list with
  // unevaluated rules (filters then remove every item).
  void Offer(const Surface& s, const Request& req, const UserInfo& user, ItemList items,
             double confidence, const std::string& served_by, Clock::time_point until,
             bool evaluated, bool last_resort, Draft* d);

  // Writes the decision's impressions (durably, sync) unless the surface samples it out,
  // waiting for the write until wait_until at most; sets answer's "impression_logged" and adds
  // reason impression_log_failed when the write failed (or could not be queued), or
  // impression_log_late when it had not finished by wait_until (it goes on after the answer).
  // Every served decision of a surface with caps is added to the frequency index (a logged one
  // also survives a restart).
  // explore_trace: the decision's exploration (Explore), logged with it and counted in the
  // posterior counts when the decision is logged.
  void LogImpressions(const Surface& s, const Request& req, int64_t served_ms,
                      Clock::time_point wait_until, const nlohmann::json& explore_trace,
                      nlohmann::json* answer);

  // Exploration (docs/feedback-loop.md): fills the request's explored positions of d->items
  // with items drawn from the exploit list's tail and d->pool, seeded by recommendation_id;
  // sets *trace to what a replay needs (policy, bucket, positions, the pool with its counts),
  // null when nothing was explored.
  void Explore(const Surface& s, const Request& req, const std::string& recommendation_id,
               Draft* d, nlohmann::json* trace);
  // Loads the posterior counts of an exploring surface from the impression log the first time
  // it is loaded (decisions served in the last DeciderOptions::explore_history_ms).
  void LoadExploreCounts(const Surface& base);
  // Adds a logged decision's items to the posterior counts of its bucket (trace: its
  // exploration, as Explore made it).
  void CountExploreImpressions(const std::string& surface, const nlohmann::json& trace,
                               const nlohmann::json& items);

  void Count(const std::string& name, uint64_t n = 1);
};

// Confidence of a recipe's list (docs/decisions.md, "Confidence").
double RecipeConfidence(const UserInfo& user, const RecipeRun& run, size_t k);

// 48 bits of ms (the serving time) then 80 random bits, as 32 hex digits.
std::string NewRecommendationId(int64_t now_ms);

}  // namespace pathwise::decide
