// decide/: decisions for placements ("surfaces") on top of recipes. A surface names a primary
// recipe, an ordered fallback chain, business rules applied after scoring, a deadline and
// per-source budgets and breakers. Decider::Decide always answers inside the deadline with the
// best list it can serve (a 200 for the server), degrading to a fallback recipe, the list last
// served to the user, or a precomputed popular list; only bad input is an error.
// docs/decisions.md explains surfaces, the chain, confidence, rules and every reason code.
//
// Recipes (named, parameterised PQL queries) and surfaces are stored in the database's metadata
// ("recipe/<name>", "surface/<name>") and managed through the functions below, which the server,
// the CLI and the demo share.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "db/database.h"
#include "storage/status.h"

namespace pathwise::decide {

// ---- Recipes ------------------------------------------------------------------------------------

// The stored recipe {"name","query","description"?,"params"?,"max_limit"?}; NotFound when absent.
Result<nlohmann::json> LoadRecipe(const Database& db, const std::string& name);

struct RecipeLimits {
  size_t max_rows = 10000;              // max_limit may not exceed it
  size_t max_query_bytes = 64u << 10;   // ResourceExhausted beyond it
};
// Checks and stores a recipe body {"name"?, "query", "description"?, "params"?, "max_limit"?}
// ("name", when present, must equal name). The query is run once with its default params under
// a 250 ms deadline: a syntax error is rejected (with line and column); other errors are not,
// since they may only mean a parameter without a default. Returns the stored form.
Result<nlohmann::json> PutRecipe(Database* db, const std::string& name, const nlohmann::json& body,
                                 const RecipeLimits& limits = {});
Status DeleteRecipe(Database* db, const std::string& name);

// A definitions file (`pathwise load`, the demo): one JSON document
// {"recipes": {name: recipe body}, "surfaces": {name: surface definition}}, either part
// optional. Recipes are stored first. True when the text is such a document (whole-file JSON
// with no other top-level key); an NDJSON data file never is.
bool IsDefinitionsDocument(const nlohmann::json& document);
// Stores every recipe and surface of the document; the first error stops (and names the entry).
Result<nlohmann::json> ApplyDefinitions(Database* db, const nlohmann::json& document);

// ---- Surfaces -----------------------------------------------------------------------------------

// Checks a surface definition (format in docs/decisions.md) and returns it normalised, with
// every default filled in. InvalidArgument names the offending field. Rule expressions are
// compiled against the database's schema, so a typo is an error here, not at decision time.
// The recipes it names need not exist yet (a missing recipe is a source_error when deciding).
Result<nlohmann::json> NormalizeSurface(Database* db, const std::string& name,
                                        const nlohmann::json& definition);
// Stores a definition (normalised first); returns the stored form.
Result<nlohmann::json> PutSurface(Database* db, const std::string& name,
                                  const nlohmann::json& definition);
Result<nlohmann::json> GetSurface(const Database& db, const std::string& name);
Result<nlohmann::json> ListSurfaces(const Database& db);  // [definition, ...] by name
Status DeleteSurface(Database* db, const std::string& name);
// Surface and recipe names: 1 to 128 of [A-Za-z0-9_.-].
bool IsValidName(const std::string& name);

// ---- The report (docs/feedback-loop.md, "Report") -------------------------------------------------

struct ReportLimits {
  // The most logged decisions (of every surface) one report reads; beyond it the report says
  // "complete": false and "scanned_until_ms".
  size_t max_decisions = 1'000'000;
};
struct ReportOptions {
  // 0: no time series; else 1 .. kMaxReportBuckets equal time buckets of [since, until), each
  // variant's counts and CTR per bucket in "series" (the explorer's CTR-over-time chart).
  size_t buckets = 0;
  // The most recent decisions of the surface in the range listed in "recent" (newest first,
  // 0 .. kMaxReportRecent): id, time, variant, user, served_by, item and outcome counts.
  size_t recent = 0;
  ReportLimits limits;
};
inline constexpr size_t kMaxReportBuckets = 200;
inline constexpr size_t kMaxReportRecent = 100;
// GET /v1/surfaces/{name}/report: per variant (the surface's in their order, the first being
// the control, then any other found in the log) the decisions served in [since_ms, until_ms)
// and their item impressions, the attributed clicks and conversions (by the surface's "report"
// event types), CTR (clicked item impressions / item impressions) and conversion rate
// (decisions with a conversion / decisions) with 95% Wilson intervals, and each variant's
// difference from the control with a 95% Newcombe interval, and the share of item impressions
// placed by exploration. Read from the impression log. NotFound for an unknown surface;
// InvalidArgument when until_ms <= since_ms or options are out of range.
Result<nlohmann::json> SurfaceReport(const Database& db, const std::string& name,
                                     int64_t since_ms, int64_t until_ms,
                                     const ReportOptions& options = {});

// ---- Off-policy evaluation (docs/feedback-loop.md, "Off-policy evaluation") -------------------

struct ReplayEvaluationOptions {
  std::string surface;
  std::string recipe;  // the policy to evaluate: a stored recipe, run for each logged user
  int64_t since_ms = 0, until_ms = 0;
  size_t max_decisions = 100'000;  // the most logged decisions of the surface read
  size_t bootstrap = 500;          // bootstrap resamples (of decisions) for the intervals
  uint64_t seed = 1;               // the bootstrap's
};
// Estimates the click rate per impression the recipe would have had on the surface's logged
// decisions served in [since_ms, until_ms): for each decision the recipe ranks items for the
// logged user now (the surface's params, $limit = k x candidates_factor, no rules); a logged
// impression at slot j counts when the recipe's j-th item is the logged item, weighted by
// 1 / its logged propensity. Reward: an attributed event of the surface's click types on that
// item. Returns {surface, recipe, since_ms, until_ms, decisions, impressions, matched,
// logged_ctr, ips: {value, low, high}, snips: {value, low, high}, effective_sample_size,
// complete, assumptions}; intervals are 95% percentile bootstrap over decisions. NotFound for an
// unknown surface or recipe; InvalidArgument when until_ms <= since_ms.
Result<nlohmann::json> EvaluateReplay(Database* db, const ReplayEvaluationOptions& options);

// Milliseconds since the epoch from digits, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[Z] (UTC);
// InvalidArgument otherwise. The report's and `pathwise export`'s time arguments.
Result<int64_t> ParseTimeMillis(const std::string& text);

// ---- Decisions ----------------------------------------------------------------------------------

struct DeciderOptions {
  // Threads that run the recipe steps that do not run inline (below) and candidate-cache
  // refreshes; the request thread waits for a step only until its budget. A recipe abandoned at
  // its budget keeps its worker until its own deadline.
  int workers = 8;
  // Decisions waiting for a worker beyond this many are answered from the cheapest fallback
  // (reason "overload") instead of queueing.
  size_t max_queued = 64;
  // The most recipe steps running at once, inline and on the workers together; a step waits
  // for a free one only while it could still start and end within its budget, else the
  // decision answers from the cheapest fallback (reason "overload"). A worker run gives its
  // slot back when it ends or when its decision stops waiting for it; an inline run when it
  // returns. 0: the machine's hardware threads (docs/decisions.md, "Overload").
  size_t max_running_steps = 0;
  // Run a recipe step on the deciding thread ("inline") while its recipe is healthy: no hand-off
  // to a worker (two thread wake-ups per step). A recipe that overran a step budget within the
  // last isolation_cooldown_ms, or has an injected recipe fault or a half-open breaker, is
  // "isolated": its steps run on the workers, so a stuck run cannot hold the decision past its
  // deadline. false: every step runs on a worker (docs/decisions.md, "How a step runs").
  bool inline_steps = true;
  // How long a recipe stays isolated after its last run that overran its step budget.
  int64_t isolation_cooldown_ms = 30'000;
  // The most inline steps in flight at once (over all decisions); beyond it a step runs on a
  // worker (it still holds one of max_running_steps). 0: the machine's hardware threads.
  size_t max_inline_steps = 0;
  // The most decisions doing their work at once (from the user lookup to the answer, not the
  // impression write nor a wait for a worker); more wait for a token in arrival order. A
  // decision that waited longer than max_admission_wait_ms answers from the cheapest list
  // (reason "overload"), so a saturated server's queue stays short. 0: the machine's hardware
  // threads (docs/decisions.md, "Overload").
  size_t max_running_decisions = 0;
  // 0: a fifth of the decision's deadline.
  int64_t max_admission_wait_ms = 0;
  // Deadline limits of the request's deadline_ms (default: the surface's).
  int64_t max_deadline_ms = 10'000;
  // Time kept back from the deadline for applying rules, labels and writing the answer.
  int64_t reserve_ms = 2;
  // Users whose last served list is remembered (least recently served forgotten first).
  size_t last_served_users = 100'000;
  // Fault injection (tests and demos): when false, SetFault is refused.
  bool enable_fault_injection = false;
  // Log every decision's impressions (subject to the surface's sample rate) before answering
  // (docs/feedback-loop.md). Off only to measure what logging costs.
  bool log_impressions = true;
  // The most an impression write waits for the writer role (a bulk load, backup or index
  // snapshot holds it for long); beyond it the record is dropped unwritten and the decision
  // answers unlogged with reason impression_log_failed.
  int64_t impression_max_queue_wait_ms = 20;
  // How long past its deadline a decision still waits for its impression record to be
  // written. A record not written by then is written after the answer, which says
  // "impression_logged": false and reason impression_log_late (docs/feedback-loop.md,
  // "Impressions"): a decision keeps its deadline whatever the disk does. Tests that read a
  // record right after its decision raise it.
  int64_t impression_wait_past_deadline_ms = 0;
  // Records waiting for the impression writer's threads; a decision that finds the queue full
  // answers unlogged (impression_log_failed).
  size_t impression_max_queued = 65'536;
  // Wait for the log write's fsync (durable across power loss). false: the write is in the WAL
  // (durable across a process crash) but not synced; for measuring what the fsync costs.
  bool sync_impressions = true;
  // Frequency caps (docs/decisions.md): the most decisions the in-memory index of recent
  // impressions holds (about 0.5 KB each with k = 10); beyond it the least recently served
  // users are forgotten. 0 turns the index off (caps then apply never_after only).
  size_t frequency_max_decisions = 500'000;
  // The candidate cache (docs/decisions.md, "Caches"): the most (surface, recipe, user) entries
  // it holds and about how many bytes of candidates (a set costs about 40 bytes per candidate
  // plus 16 per candidate and SCORE aggregate); least recently used entries are evicted first.
  // 0 entries turns it off.
  size_t candidate_cache_entries = 10'000;
  size_t candidate_cache_bytes = size_t{256} << 20;
  // Exploration (docs/feedback-loop.md): the most (surface, context bucket, item) posterior
  // counts held (about 100 bytes each); beyond it the least recently used are forgotten.
  size_t explore_max_keys = 1'000'000;
  // How far back the counts are rebuilt from the impression log when an exploring surface is
  // first loaded (0: not rebuilt; counts start empty).
  int64_t explore_history_ms = 7LL * 24 * 3600 * 1000;
  // The wall clock in ms since the epoch: recommendation ids (the serving time), cap windows
  // and the report's defaults read it. Empty: the system clock. Tests set it to move time.
  std::function<int64_t()> clock_ms;
};

class Decider {
 public:
  // Does not own db, which must outlive the decider.
  Decider(Database* db, DeciderOptions options);
  ~Decider();  // stops the workers and the popular-list refresher; writes queued impressions

  // POST /v1/surfaces/{name}/decide. request: {user, context?, k?, deadline_ms?, exclude?,
  // explain?}. Returns {recommendation_id, surface, items, confidence, served_by, degraded,
  // reasons, timings, impression_logged}; the impressions are durable before it returns
  // unless their write failed (reason impression_log_failed) or was still going at the deadline
  // (impression_log_late; it finishes after the answer); neither is an error. Errors:
  // NotFound (no such surface), InvalidArgument (bad request fields). Never an error because a
  // source failed or the deadline passed.
  Result<nlohmann::json> Decide(const std::string& surface, const nlohmann::json& request);

  // Circuit breakers: [{recipe, source, state, failures, opened_at_ms?}, ...].
  nlohmann::json Breakers() const;
  // Counters for /metrics: decisions, degraded, by served_by and by reason, breaker states, and
  // "variants": [{surface, variant, decisions, impressions, clicks, conversions}] (logged
  // decisions and their items since the decider started, attributed outcomes by CountOutcome).
  nlohmann::json Metrics() const;

  // Fault injection. fault: {"target": "recipe:<name>" | "source:<name>", "delay_ms"?,
  // "delay_rate"? (0..1, default 1 with delay_ms), "fail_rate"? (0..1)}. FailedPrecondition when
  // fault injection is not enabled; InvalidArgument for a bad fault.
  Status SetFault(const nlohmann::json& fault);
  Status ClearFaults();
  nlohmann::json Faults() const;

  // Forgets what the decider holds for a surface after it is stored or deleted: its parsed
  // definition, popular list (recomputed in the background) and last-served lists. Breakers
  // are per recipe and shared by surfaces, so they are kept. A surface stored with frequency
  // caps has its recent impressions loaded from the log before this returns.
  void Invalidate(const std::string& surface);

  // Counts an attributed outcome (an event carrying recommendation_id, joined to its decision)
  // in the per-variant click and conversion counters of Metrics(), by the event type and the
  // decision's surface settings. Unknown ids and other event types count nothing.
  // The item, when given, is also counted as a click in the exploration posterior of the
  // decision's context bucket (an exploring surface, a click type, an item the decision served).
  void CountOutcome(const std::string& recommendation_id, const std::string& event_type,
                    const std::string& item = "");

  // Replays a logged decision's exploration from its seed (the recommendation_id) and the
  // candidate pool and counts logged with it: {recommendation_id, policy, bucket, items:
  // [{slot, id, propensity, reason}], logged: [the same, as logged], reproduced: bool}.
  // InvalidArgument for a malformed id; NotFound when the decision is not in the log or did not
  // explore.
  Result<nlohmann::json> ReplayExploration(const std::string& recommendation_id) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pathwise::decide
