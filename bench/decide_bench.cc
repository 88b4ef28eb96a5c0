// `pathwise bench decide`: decisions (decide::Decider, docs/decisions.md) on the shop graph. A
// surface with a two-source primary recipe, a fallback recipe, a popular list and three rules;
// measured side by side with the bare recipe query, with impression logging on and off
// (docs/feedback-loop.md), under an injected 200 ms fault, and at twice the saturation rate
// (open loop, latency from the scheduled send time).
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "bench/commands.h"
#include "bench/fixture.h"
#include "bench/harness.h"
#include "decide/decide.h"

namespace pathwise::bench {
namespace {

using json = nlohmann::json;

constexpr const char* kSurface = "bench_home";
constexpr const char* kPrimary = "bench_primary";
constexpr const char* kFallback = "bench_taste";

// Two sources, named: "graph" (what the user viewed or bought, then SIMILAR_TO) and "nearest"
// (the user's taste vector). No price filter and no DIVERSIFY: the surface's rules do those.
constexpr const char* kPrimaryQuery = R"(RECOMMEND (c:Item) FOR (u:User {id: $user})
  FROM (u)-[v:VIEWED|BOUGHT]->(:Item)-[s:SIMILAR_TO]->(c) MAX 50 PER NODE AS graph
  FROM NEAREST 200 TO u.taste IN Item.embedding AS nearest
  WHERE c.in_stock
    AND NOT (u)-[:BOUGHT]->(c)
    AND NOT (u)-[:BLOCKED]->(:Seller)<-[:SOLD_BY]-(c)
  SCORE 0.6 * sum(v.weight * decay(v.ts, 7d) * s.weight)
      + 0.4 * similarity(c.embedding, u.taste)
      + 0.1 * log(1 + c.popularity)
  LIMIT $limit)";

constexpr const char* kFallbackQuery = R"(RECOMMEND (c:Item) FOR (u:User {id: $user})
  FROM NEAREST 100 TO u.taste IN Item.embedding AS taste
  WHERE c.in_stock
  SCORE similarity(c.embedding, u.taste) + 0.05 * log(1 + c.popularity)
  LIMIT $limit)";

constexpr const char* kPopularQuery =
    "MATCH (i:Item) WHERE i.in_stock RETURN i.id ORDER BY i.popularity DESC LIMIT 200";

constexpr int64_t kMaxLimit = 100;
constexpr int64_t kK = 10;
constexpr int64_t kCandidatesFactor = 3;  // the surface default: $limit = k x 3 = 30

// breaker_off: 1,000 failures within 1 ms to open, so the breakers never open.
json SurfaceDefinition(int64_t deadline_ms, int64_t source_budget_ms, bool breaker_off = false) {
  json s = {{"recipe", kPrimary},
          {"fallbacks", {kFallback}},
          {"last_served", true},
          {"popular", {{"query", kPopularQuery}, {"refresh_seconds", 60}}},
          {"k", kK},
          {"min_items", 3},
          {"deadline_ms", deadline_ms},
          {"item_type", "Item"},
          {"user_type", "User"},
          {"label", "title"},
          {"source_budget_ms", source_budget_ms},
          {"rules",
           {{{"type", "filter"}, {"where", "i.price <= 150"}},
            {{"type", "boost"}, {"where", "i.popularity >= 20"}, {"factor", 1.2}},
            {{"type", "quota"}, {"by", "i.category"}, {"max", 3}}}}};
  if (breaker_off) s["breaker"] = {{"failures", 1000}, {"window_ms", 1}, {"cooldown_ms", 1}};
  return s;
}

Status DefineSurface(Database* db, int64_t deadline_ms, int64_t source_budget_ms,
                     bool breaker_off) {
  auto stored =
      decide::PutSurface(db, kSurface, SurfaceDefinition(deadline_ms, source_budget_ms, breaker_off));
  return stored.ok() ? Status::OK() : stored.status();
}

Status StoreRecipesAndSurface(Database* db, int64_t deadline_ms, int64_t source_budget_ms) {
  WriteSet set;
  for (const auto& [name, query] :
       {std::pair<const char*, const char*>{kPrimary, kPrimaryQuery}, {kFallback, kFallbackQuery}}) {
    json recipe = {{"name", name},
                   {"query", query},
                   {"params", {{"limit", kK}}},
                   {"max_limit", kMaxLimit}};
    set.ops.push_back(MetaWrite{std::string("recipe/") + name, recipe.dump()});
  }
  PW_RETURN_IF_ERROR(db->Apply(set));
  return DefineSurface(db, deadline_ms, source_budget_ms, false);
}

// Outcomes of many decisions.
struct Tally {
  Samples latency;  // microseconds, measured around Decide (or from the scheduled send time)
  size_t decisions = 0, non_ok = 0, degraded = 0, empty = 0;
  std::map<std::string, size_t> served_by, reasons;
  std::string first_error;

  void Add(const Result<json>& r, double micros) {
    ++decisions;
    latency.Add(micros);
    if (!r.ok()) {
      if (non_ok++ == 0) first_error = r.status().ToString();
      return;
    }
    const json& d = *r;
    if (d.value("degraded", false)) ++degraded;
    if (d["items"].empty()) ++empty;
    ++served_by[d.value("served_by", "?")];
    for (const auto& reason : d["reasons"]) ++reasons[reason.get<std::string>()];
  }
  void Merge(const Tally& o) {
    for (double v : o.latency.values()) latency.Add(v);
    decisions += o.decisions;
    non_ok += o.non_ok;
    degraded += o.degraded;
    empty += o.empty;
    for (const auto& [k, n] : o.served_by) served_by[k] += n;
    for (const auto& [k, n] : o.reasons) reasons[k] += n;
    if (first_error.empty()) first_error = o.first_error;
  }
  double DegradedShare() const {
    return decisions ? static_cast<double>(degraded) / static_cast<double>(decisions) : 0;
  }
  json ToJson() const {
    json j = {{"decisions", decisions}, {"non_ok", non_ok},       {"degraded", degraded},
              {"degraded_share", DegradedShare()}, {"empty_lists", empty},
              {"served_by", served_by}, {"reasons", reasons},     {"latency", latency.ToJson()}};
    if (!first_error.empty()) j["first_error"] = first_error;
    return j;
  }
};

void Print(const std::string& name, const Tally& t) {
  std::printf("%-44s decisions %zu, non-OK %zu, degraded %.1f%%, empty lists %zu\n", name.c_str(),
              t.decisions, t.non_ok, 100 * t.DegradedShare(), t.empty);
  std::string served, reasons;
  for (const auto& [k, n] : t.served_by) served += " " + k + "=" + std::to_string(n);
  for (const auto& [k, n] : t.reasons) reasons += " " + k + "=" + std::to_string(n);
  std::printf("%-44s served_by:%s\n%-44s reasons:%s\n", "", served.c_str(), "",
              reasons.empty() ? " (none)" : reasons.c_str());
  if (!t.first_error.empty()) std::printf("%-44s first error: %s\n", "", t.first_error.c_str());
}

void Record(Report* report, const std::string& key, const Tally& t, const std::string& note) {
  report->Latency(key + ".latency", t.latency, note);
  Print(key, t);
  report->json()[key] = t.ToJson();
}

json Request(size_t users, std::mt19937_64& rng, int64_t deadline_ms) {
  return {{"user", UserId(rng() % users)}, {"deadline_ms", deadline_ms}};
}

// `threads` threads deciding back to back for `seconds`.
Tally ClosedLoop(decide::Decider& decider, size_t threads, double seconds, size_t users,
                 uint64_t seed, int64_t deadline_ms, double* elapsed) {
  Tally total;
  std::mutex mu;
  std::atomic<bool> stop{false};
  std::vector<std::thread> pool;
  double start = NowSeconds();
  for (size_t t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      std::mt19937_64 rng(seed * 131 + t);
      Tally local;
      while (!stop.load(std::memory_order_relaxed)) {
        json req = Request(users, rng, deadline_ms);
        double t0 = NowSeconds();
        auto r = decider.Decide(kSurface, req);
        local.Add(r, (NowSeconds() - t0) * 1e6);
      }
      std::lock_guard<std::mutex> lock(mu);
      total.Merge(local);
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& th : pool) th.join();
  *elapsed = NowSeconds() - start;
  return total;
}

// Where the time of the slow decisions went (those over the deadline + 2 ms inside Decide): per
// step source (primary, fallback:<recipe>, last_served, popular) and the rules query, from the
// answer's timings, and "after_timings": inside Decide but after its timings were taken (the
// impression write and the answer's JSON). Means over the slow decisions, in ms.
struct SlowParts {
  size_t n = 0;
  std::map<std::string, double> sum_us;

  void Add(const Result<json>& r, double service_us) {
    ++n;
    if (!r.ok()) return;
    const json& t = (*r)["timings"];
    double total = t.value("total_us", 0.0);
    sum_us["after_timings"] += service_us - total;
    sum_us["rules"] += t.value("rules_us", 0.0);
    double steps = 0;
    for (const json& step : t["steps"]) {
      double us = step.value("us", 0.0);
      steps += us;
      std::string source = step.value("source", "?");
      sum_us[source.substr(0, source.find(':'))] += us;
      if (step.contains("run")) sum_us["run_" + step["run"].get<std::string>()] += us;
    }
    sum_us["steps"] += steps;
    sum_us["total"] += total;
  }
  void Merge(const SlowParts& o) {
    n += o.n;
    for (const auto& [k, v] : o.sum_us) sum_us[k] += v;
  }
  json MeansMs() const {
    json out = {{"decisions", n}};
    for (const auto& [k, v] : sum_us) out[k + "_ms"] = n ? v / static_cast<double>(n) / 1e3 : 0;
    return out;
  }
};

// Open loop: `clients` pacing threads together send `rate` decisions per second on a fixed
// schedule for `seconds`. A thread still busy when its next send is due sends late; latency is
// measured from the scheduled time (no coordinated omission). service: time inside Decide.
Tally OpenLoop(decide::Decider& decider, size_t clients, double rate, double seconds,
               size_t users, uint64_t seed, int64_t deadline_ms, Samples* service,
               size_t* late_sends, SlowParts* slow) {
  using Clock = std::chrono::steady_clock;
  Tally total;
  std::mutex mu;
  std::vector<std::thread> pool;
  const auto start = Clock::now() + std::chrono::milliseconds(20);
  const auto end = start + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(seconds));
  const auto step =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(clients / rate));
  size_t late_total = 0;
  for (size_t c = 0; c < clients; ++c) {
    pool.emplace_back([&, c] {
      std::mt19937_64 rng(seed * 977 + c);
      Tally local;
      Samples local_service;
      SlowParts local_slow;
      const double slow_us = static_cast<double>(deadline_ms + 2) * 1e3;
      size_t late = 0;
      auto next = start + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(static_cast<double>(c) / rate));
      for (; next < end; next += step) {
        std::this_thread::sleep_until(next);
        json req = Request(users, rng, deadline_ms);
        auto sent = Clock::now();
        if (sent - next > std::chrono::milliseconds(1)) ++late;
        auto r = decider.Decide(kSurface, req);
        auto done = Clock::now();
        local.Add(r, std::chrono::duration<double, std::micro>(done - next).count());
        double service_us = std::chrono::duration<double, std::micro>(done - sent).count();
        local_service.Add(service_us);
        if (service_us > slow_us) local_slow.Add(r, service_us);
      }
      std::lock_guard<std::mutex> lock(mu);
      total.Merge(local);
      for (double v : local_service.values()) service->Add(v);
      slow->Merge(local_slow);
      late_total += late;
    });
  }
  for (auto& th : pool) th.join();
  *late_sends = late_total;
  return total;
}

decide::DeciderOptions Options(bool log_impressions = true) {
  decide::DeciderOptions options;  // the server's defaults: inline steps, 8 workers, 64 queued
  options.enable_fault_injection = true;
  options.log_impressions = log_impressions;
  return options;
}

// A fresh decider (no breaker state) warmed up with a few decisions. The popular list is only
// computed when a decision first needs it (and that takes longer than a 50 ms deadline at 100k
// items, see the cache section), so one decision for an unknown user computes it here: the
// measurements below are of the steady state, not of the first seconds after a start.
std::unique_ptr<decide::Decider> NewDecider(Database* db, size_t users,
                                            const decide::DeciderOptions& options = Options()) {
  auto decider = std::make_unique<decide::Decider>(db, options);
  (void)decider->Decide(kSurface, {{"user", "nobody-warmup"}, {"deadline_ms", 10000}});
  std::mt19937_64 rng(7);
  for (int i = 0; i < 20; ++i) {
    (void)decider->Decide(kSurface, {{"user", UserId(rng() % users)}, {"deadline_ms", 5000}});
  }
  return decider;
}

// Writers applying decision records shaped like `items` for `seconds`, each write synced (as
// concurrent decisions do). Returns records per second; failures are counted.
double LogOnly(Database* db, const json& items, size_t writers, double seconds, uint64_t seed,
               size_t* failures) {
  std::atomic<bool> stop{false};
  std::atomic<size_t> records{0}, failed{0};
  std::vector<std::thread> pool;
  double start = NowSeconds();
  for (size_t w = 0; w < writers; ++w) {
    pool.emplace_back([&, w] {
      std::mt19937_64 id_rng(seed * 7 + w);
      while (!stop.load(std::memory_order_relaxed)) {
        char id[33];
        std::snprintf(id, sizeof id, "%012llx%020llu",
                      static_cast<unsigned long long>(NowSeconds() * 1000),
                      static_cast<unsigned long long>(id_rng() % 10000000000000000000ULL));
        WriteSet set;
        set.ops.push_back(ImpressionWrite{
            id, {{"surface", kSurface}, {"user", "bench"}, {"items", items}}, 86400000});
        Status s = db->Apply(set, WriteOptions{/*sync=*/true});
        (s.ok() ? records : failed).fetch_add(1);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& th : pool) th.join();
  *failures += failed.load();
  return records.load() / (NowSeconds() - start);
}

// Decide with impression logging off, on without fsync and on (synced), interleaved on the same
// users (one thread); decisions closed-loop on `threads` threads with logging on (impressions/s
// under concurrent decisions); and the log path alone: many writers applying decision records
// of k items, each synced, as concurrent decisions would.
Status MeasureImpressions(Database* db, size_t users, size_t runs, size_t threads,
                          double seconds, uint64_t seed, int64_t deadline_ms, Report* report) {
  decide::DeciderOptions unsynced_options = Options(true);
  unsynced_options.sync_impressions = false;
  std::unique_ptr<decide::Decider> deciders[3] = {NewDecider(db, users, Options(false)),
                                                  NewDecider(db, users, unsynced_options),
                                                  NewDecider(db, users, Options(true))};
  std::mt19937_64 rng(seed);
  Tally tallies[3];
  json record_items = json::array();  // the items of the fullest logged decision
  for (size_t run = 0; run < runs; ++run) {
    json req = {{"user", UserId(rng() % users)}};
    for (size_t i = 0; i < 3; ++i) {
      size_t which = (run + i) % 3;  // rotate which goes first
      double t0 = NowSeconds();
      auto d = deciders[which]->Decide(kSurface, req);
      tallies[which].Add(d, (NowSeconds() - t0) * 1e6);
      if (d.ok() && (*d)["items"].size() > record_items.size()) record_items = (*d)["items"];
    }
  }
  // The floor of a synced write on this machine now: one small meta key per Apply.
  Samples floor;
  for (size_t i = 0; i < std::min<size_t>(runs, 500); ++i) {
    WriteSet set;
    set.ops.push_back(MetaWrite{"bench/fsync_floor", std::to_string(i)});
    double t0 = NowSeconds();
    PW_RETURN_IF_ERROR(db->Apply(set, WriteOptions{/*sync=*/true}));
    floor.Add((NowSeconds() - t0) * 1e6);
  }
  report->Latency("impressions.synced_write_floor", floor, "one 20-byte meta write per Apply, synced");
  Record(report, "impressions.decide_unlogged", tallies[0], "Decide with impression logging off");
  Record(report, "impressions.decide_logged_unsynced", tallies[1],
         "impressions written to the WAL, no fsync");
  Record(report, "impressions.decide_logged", tallies[2], "impressions logged, synced (default)");
  for (size_t i = 1; i < 3; ++i) {
    std::string key = i == 1 ? "impressions.unsynced_cost" : "impressions.logging_cost";
    report->Value(key + "_p50_us",
                  tallies[i].latency.Percentile(0.5) - tallies[0].latency.Percentile(0.5), "us");
    report->Value(key + "_p99_us",
                  tallies[i].latency.Percentile(0.99) - tallies[0].latency.Percentile(0.99), "us",
                  "target <= 500 us");
  }

  double elapsed = 0;
  auto logged = NewDecider(db, users, Options(true));
  json before = logged->Metrics();
  Tally concurrent = ClosedLoop(*logged, threads, seconds, users, seed + 1, deadline_ms, &elapsed);
  json after = logged->Metrics();
  Record(report, "impressions.concurrent_decide", concurrent,
         std::to_string(threads) + " threads deciding back to back, logging on");
  report->Value("impressions.concurrent_decisions_per_second", concurrent.decisions / elapsed,
                "decisions/s");
  report->Value("impressions.concurrent_items_logged_per_second",
                (after.value("impression_items_logged", 0.0) -
                 before.value("impression_items_logged", 0.0)) / std::max(elapsed, 1e-9),
                "impressions/s");

  size_t failures = 0;
  const double per_record = static_cast<double>(record_items.size());
  for (size_t writers : {threads * 8, threads * 32}) {
    double rate = LogOnly(db, record_items, writers, std::min(seconds, 5.0), seed + writers, &failures);
    std::string key = "impressions.log_only_" + std::to_string(writers) + "_writers";
    report->Value(key + "_records_per_second", rate, "decisions/s", "each write synced");
    report->Value(key + "_impressions_per_second", rate * per_record, "impressions/s",
                  std::to_string(record_items.size()) +
                      " items a record; target >= 50,000 impressions/s");
  }
  if (failures > 0) report->Value("impressions.log_only_failures", failures, "writes");
  return Status::OK();
}

// Decide with a frequency cap (3 impressions per item and user per day) on vs off: the same
// surface with and without the cap rule, interleaved on the same users, logging on for both.
// Twice: "fresh" users drawn from every user (few have been served before, so the cap costs
// its lookup and removes little), then "returning" users from a pool of 200 (about runs / 200
// decisions each, so the cap removes items and the list is backfilled, through the chain once
// the primary's candidates are used up).
Status MeasureCaps(Database* db, size_t users, size_t runs, uint64_t seed, int64_t deadline_ms,
                   int64_t source_budget_ms, Report* report) {
  // A new surface name each run: the impression log of an earlier run (in the same database)
  // would otherwise count towards this run's caps.
  const std::string capped_name =
      "bench_home_capped_" + std::to_string(static_cast<int64_t>(NowSeconds() * 1000));
  const char* kCapped = capped_name.c_str();
  json capped = SurfaceDefinition(deadline_ms, source_budget_ms, true);
  capped["rules"].push_back({{"type", "frequency_cap"}, {"max", 3}, {"window_seconds", 86400}});
  auto stored = decide::PutSurface(db, kCapped, capped);
  if (!stored.ok()) return stored.status();
  PW_RETURN_IF_ERROR(DefineSurface(db, deadline_ms, source_budget_ms, true));
  auto decider = NewDecider(db, users);
  (void)decider->Decide(kCapped, {{"user", "nobody-warmup"}, {"deadline_ms", 10000}});
  for (const auto& [phase, pool] : {std::pair<std::string, size_t>{"fresh", users},
                                    {"returning", std::min<size_t>(users, 200)}}) {
    std::mt19937_64 rng(seed + pool);
    Tally tallies[2];  // 0: off, 1: on
    double capped_items = 0;
    for (size_t run = 0; run < runs; ++run) {
      json req = {{"user", UserId(rng() % pool)}};
      for (size_t i = 0; i < 2; ++i) {
        size_t which = (run + i) % 2;  // alternate which goes first
        double t0 = NowSeconds();
        auto d = decider->Decide(which == 0 ? kSurface : kCapped, req);
        tallies[which].Add(d, (NowSeconds() - t0) * 1e6);
        if (which == 1 && d.ok()) capped_items += (*d)["rules"].back().value("affected", 0.0);
      }
    }
    const std::string key = "caps." + phase;
    Record(report, key + ".decide_off", tallies[0], "the surface without a frequency cap");
    Record(report, key + ".decide_on", tallies[1], "the same surface plus frequency_cap 3 per day");
    report->Value(key + ".cost_p50_us",
                  tallies[1].latency.Percentile(0.5) - tallies[0].latency.Percentile(0.5), "us");
    report->Value(key + ".cost_p99_us",
                  tallies[1].latency.Percentile(0.99) - tallies[0].latency.Percentile(0.99), "us");
    report->Value(key + ".items_capped_per_decision", capped_items / std::max<size_t>(runs, 1),
                  "items", "removed by the cap, backfilled");
  }
  report->Value("caps.index_decisions", decider->Metrics()["frequency_index"]["decisions"],
                "decisions");
  PW_RETURN_IF_ERROR(decide::DeleteSurface(db, capped_name));
  return DefineSurface(db, deadline_ms, source_budget_ms, false);
}

// The candidate cache (docs/decisions.md, "Caches"), one thread, in rounds of round_users users:
// the bare recipe query for each user of the round, then each user's first decision (a miss:
// retrieval runs and its candidates are kept), then each one's second (a hit: the candidates are
// reused; SCORE, filters and the rules run again). With round_users 1 the three run back to back
// for one user, so the miss finds what the bare query read still in the CPU caches and the hit
// what the miss read; with 200 (over 100 MB of candidates' vectors, slots and properties read
// between a user's turns) each runs with the user's data out of the core's caches, as on a
// server where a user's next decision comes after other users'. Only decisions whose primary step was a miss (a hit) count
// as misses (hits); the first 20 users' turns are a warm-up.
// key: the report's prefix; log_impressions: as DeciderOptions (synced writes when on).
Status MeasureCandidateCache(Database* db, size_t users, size_t runs, uint64_t seed,
                             int64_t deadline_ms, int64_t source_budget_ms, bool log_impressions,
                             size_t round_users, const std::string& key, Report* report) {
  PW_RETURN_IF_ERROR(DefineSurface(db, deadline_ms, source_budget_ms, true));  // breakers off
  auto decider = NewDecider(db, users, Options(log_impressions));
  std::mt19937_64 rng(seed);
  const int64_t limit = std::min<int64_t>(kK * kCandidatesFactor, kMaxLimit);
  Samples bare, step_us[2];  // step_us: the primary step (the recipe run, inline or on a worker)
  Tally miss, hit;
  std::map<std::string, size_t> other;  // decisions whose primary step was neither
  auto primary = [](const Result<json>& d) -> std::string {
    if (!d.ok() || (*d)["timings"]["steps"].empty()) return "none";
    const json& step = (*d)["timings"]["steps"][0];
    return step.value("source", "") == "primary" ? step.value("candidates", "none") : "none";
  };
  constexpr size_t kWarmup = 20;
  round_users = std::max<size_t>(1, round_users);
  for (size_t first = 0; first < runs + kWarmup; first += round_users) {
    std::vector<std::string> round;
    for (size_t i = first; i < std::min(first + round_users, runs + kWarmup); ++i) {
      round.push_back(UserId(rng() % users));
    }
    for (size_t i = 0; i < round.size(); ++i) {
      double t0 = NowSeconds();
      auto q = db->Query(kPrimaryQuery, {{"user", round[i]}, {"limit", limit}});
      double bare_us = (NowSeconds() - t0) * 1e6;
      if (first + i >= kWarmup && q.ok()) bare.Add(bare_us);
    }
    Tally* tallies[2] = {&miss, &hit};
    const char* expected[2] = {"miss", "hit"};
    for (int turn = 0; turn < 2; ++turn) {
      for (size_t i = 0; i < round.size(); ++i) {
        double t1 = NowSeconds();
        auto d = decider->Decide(kSurface, {{"user", round[i]}});
        double us = (NowSeconds() - t1) * 1e6;
        if (first + i < kWarmup) continue;
        std::string outcome = primary(d);
        if (outcome != expected[turn]) {
          ++other[std::string(expected[turn]) + "->" + outcome];
          continue;
        }
        tallies[turn]->Add(d, us);
        step_us[turn].Add((*d)["timings"]["steps"][0].value("us", 0.0));
      }
    }
  }
  const std::string logging = log_impressions ? "impressions logged (synced)" : "no impression log";
  report->Latency(key + ".bare_recipe_query", bare, "Database::Query of the primary recipe");
  Record(report, key + ".miss", miss, "a user's first decision: retrieval runs; " + logging);
  Record(report, key + ".hit", hit, "the same user's next decision: cached candidates; " + logging);
  report->Latency(key + ".miss.primary_step_us", step_us[0], "the recipe step of a miss");
  report->Latency(key + ".hit.primary_step_us", step_us[1], "the recipe step of a hit");
  report->Value(key + ".miss_over_hit_p50",
                miss.latency.Percentile(0.5) / std::max(1e-9, hit.latency.Percentile(0.5)), "x",
                "target >= 3x");
  report->Value(key + ".miss_over_hit_p99",
                miss.latency.Percentile(0.99) / std::max(1e-9, hit.latency.Percentile(0.99)), "x");
  report->Value(key + ".step_miss_over_hit_p50",
                step_us[0].Percentile(0.5) / std::max(1e-9, step_us[1].Percentile(0.5)), "x");
  report->Value(key + ".miss_overhead_p99_us",
                miss.latency.Percentile(0.99) - bare.Percentile(0.99), "us",
                "decide on a cache miss over the bare query; target <= 300 us");
  report->Info(key + ".not_counted", other);
  report->Info(key + ".metrics", decider->Metrics()["candidate_cache"]);
  return DefineSurface(db, deadline_ms, source_budget_ms, false);
}

// Decide with exploration (docs/feedback-loop.md, "Exploration": one slot in 10, Thompson
// sampling with 1,000 Monte Carlo re-draws for its propensity) vs the same surface without it,
// interleaved on the same users, and both vs decide with neither logging nor exploration: the
// issue's "logging + exploration add <= 0.5 ms p99". Three times, each pair of surfaces alike but
// for exploration: the bench surface at candidates_factor 3 and at 10 (its category quota, 3 per
// category, leaves few candidates below the exploit slots, so the explored slot often has an
// empty pool and takes the next exploit item), and the surface without its quota rule at
// factor 3 (a pool for nearly every decision: the cost of the draw and its Monte Carlo
// propensity).
Status MeasureExplore(Database* db, size_t users, size_t runs, uint64_t seed, int64_t deadline_ms,
                      int64_t source_budget_ms, Report* report) {
  const std::string stamp = std::to_string(static_cast<int64_t>(NowSeconds() * 1000));
  auto logged = NewDecider(db, users);
  auto unlogged = NewDecider(db, users, Options(false));
  for (const auto& [factor, quota] : {std::pair<int64_t, bool>{kCandidatesFactor, true},
                                      {10, true}, {kCandidatesFactor, false}}) {
    const std::string config = "factor" + std::to_string(factor) + (quota ? "" : "_noquota");
    const std::string off_name = "bench_home_noexplore_" + config + "_" + stamp;
    const std::string on_name = "bench_home_explore_" + config + "_" + stamp;
    json plain = SurfaceDefinition(deadline_ms, source_budget_ms, true);
    plain["candidates_factor"] = factor;
    if (!quota) plain["rules"].erase(2);  // the quota rule
    json exploring = plain;
    exploring["exploration"] = {{"policy", "thompson"}, {"every", 10}};
    for (const auto& [name, def] : {std::pair<std::string, json>{off_name, plain}, {on_name, exploring}}) {
      auto stored = decide::PutSurface(db, name, def);
      if (!stored.ok()) return stored.status();
      (void)logged->Decide(name, {{"user", "nobody-warmup"}, {"deadline_ms", 10000}});
      (void)unlogged->Decide(name, {{"user", "nobody-warmup"}, {"deadline_ms", 10000}});
    }
    std::mt19937_64 rng(seed + static_cast<uint64_t>(factor) + (quota ? 0 : 100));
    Tally tallies[3];  // 0: neither logging nor exploration, 1: logging only, 2: both
    double explored = 0;
    for (size_t run = 0; run < runs; ++run) {
      json req = {{"user", UserId(rng() % users)}};
      for (size_t i = 0; i < 3; ++i) {
        size_t which = (run + i) % 3;  // rotate which goes first
        double t0 = NowSeconds();
        auto d = which == 0   ? unlogged->Decide(off_name, req)
                 : which == 1 ? logged->Decide(off_name, req)
                              : logged->Decide(on_name, req);
        tallies[which].Add(d, (NowSeconds() - t0) * 1e6);
        if (which == 2 && d.ok()) {
          for (const json& item : (*d)["items"]) explored += item.contains("propensity");
        }
      }
    }
    const std::string key = "explore." + config;
    Record(report, key + ".decide_unlogged", tallies[0], "no impression log, no exploration");
    Record(report, key + ".decide_off", tallies[1], "impressions logged (synced), no exploration");
    Record(report, key + ".decide_on", tallies[2], "logged + exploration every 10th slot (thompson)");
    report->Value(key + ".cost_p50_us",
                  tallies[2].latency.Percentile(0.5) - tallies[1].latency.Percentile(0.5), "us");
    report->Value(key + ".cost_p99_us",
                  tallies[2].latency.Percentile(0.99) - tallies[1].latency.Percentile(0.99), "us");
    report->Value(key + ".logging_and_exploration_cost_p50_us",
                  tallies[2].latency.Percentile(0.5) - tallies[0].latency.Percentile(0.5), "us");
    report->Value(key + ".logging_and_exploration_cost_p99_us",
                  tallies[2].latency.Percentile(0.99) - tallies[0].latency.Percentile(0.99), "us",
                  "target <= 500 us");
    report->Value(key + ".explored_items_per_decision", explored / std::max<size_t>(runs, 1), "items");
    PW_RETURN_IF_ERROR(decide::DeleteSurface(db, off_name));
    PW_RETURN_IF_ERROR(decide::DeleteSurface(db, on_name));
  }
  return DefineSurface(db, deadline_ms, source_budget_ms, false);
}

Status Run(const Flags& flags, Report* report) {
  GeneratorOptions gen = GeneratorFromFlags(flags);
  const std::string dir = flags.Get("data", "/tmp/pathwise-bench-" + std::to_string(gen.items));
  const size_t runs = static_cast<size_t>(flags.GetInt("runs", 2000));
  const double seconds = std::clamp(flags.GetDouble("seconds", 15), 1.0, 120.0);
  const size_t threads = static_cast<size_t>(std::max<int64_t>(1, flags.GetInt("threads", 4)));
  const size_t open_clients =
      static_cast<size_t>(std::max<int64_t>(1, flags.GetInt("open-clients", 160)));
  const int64_t deadline_ms = flags.GetInt("deadline-ms", 50);
  const int64_t source_budget_ms = flags.GetInt("source-budget-ms", 20);
  const int64_t fault_ms = flags.GetInt("fault-ms", 200);
  const std::string sections =
      flags.Get("sections", "latency,impressions,explore,caps,cache,fault,overload");
  auto section = [&](const char* s) { return sections.find(s) != std::string::npos; };
  report->Info("config", {{"items", gen.items},
                          {"users", gen.users},
                          {"data", dir},
                          {"runs", runs},
                          {"seconds", seconds},
                          {"threads", threads},
                          {"open_clients", open_clients},
                          {"deadline_ms", deadline_ms},
                          {"source_budget_ms", source_budget_ms},
                          {"fault_ms", fault_ms},
                          {"surface", SurfaceDefinition(deadline_ms, source_budget_ms)},
                          {"primary_recipe", kPrimaryQuery},
                          {"fallback_recipe", kFallbackQuery}});

  LoadFigures load;
  PW_ASSIGN_OR_RETURN(auto db, OpenBenchDatabase(dir, gen, false, &load));
  PW_RETURN_IF_ERROR(StoreRecipesAndSurface(db.get(), deadline_ms, source_budget_ms));
  const size_t users = gen.users;

  // 1. Decide vs the bare recipe query, same users, interleaved, one thread.
  if (section("latency")) {
    // Breakers that never open: a few timeouts on a loaded machine would otherwise send later
    // decisions to the fallback, and this section compares the primary path with the bare query.
    PW_RETURN_IF_ERROR(DefineSurface(db.get(), deadline_ms, source_budget_ms, true));
    // The candidate cache off: users repeat, and this section compares the path that runs the
    // recipe with the bare query (the cache section measures misses and hits).
    decide::DeciderOptions no_cache = Options();
    no_cache.candidate_cache_entries = 0;
    auto decider = NewDecider(db.get(), users, no_cache);
    std::mt19937_64 rng(gen.seed + 31);
    Samples bare, rows;
    Tally decided;
    Samples rules_us, inner_total_us, primary_step_us, rest_us;
    size_t bare_errors = 0;
    std::string bare_error;
    const int64_t limit = std::min<int64_t>(kK * kCandidatesFactor, kMaxLimit);
    for (size_t run = 0; run < runs + 20; ++run) {
      std::string user = UserId(rng() % users);
      auto run_bare = [&] {
        double t0 = NowSeconds();
        auto q = db->Query(kPrimaryQuery, {{"user", user}, {"limit", limit}});
        double us = (NowSeconds() - t0) * 1e6;
        if (!q.ok()) {
          if (bare_errors++ == 0) bare_error = q.status().ToString();
          return;
        }
        if (run < 20) return;
        bare.Add(us);
        rows.Add(static_cast<double>(q->rows.size()));
      };
      auto run_decide = [&] {
        double t0 = NowSeconds();
        auto d = decider->Decide(kSurface, {{"user", user}});
        double us = (NowSeconds() - t0) * 1e6;
        if (run < 20) return;
        decided.Add(d, us);
        if (d.ok()) {
          rules_us.Add((*d)["timings"].value("rules_us", 0.0));
          const json& timings = (*d)["timings"];
          double total_us = timings.value("total_us", 0.0);
          inner_total_us.Add(total_us);
          double steps_us = 0;
          for (const auto& step : timings["steps"]) {
            steps_us += step.value("us", 0.0);
            if (step.value("source", "") == "primary") primary_step_us.Add(step.value("us", 0.0));
          }
          rest_us.Add(total_us - steps_us - timings.value("rules_us", 0.0));
        }
      };
      if (run % 2 == 0) {
        run_bare();
        run_decide();
      } else {
        run_decide();
        run_bare();
      }
    }
    if (bare_errors) report->Info("bare_errors", {{"count", bare_errors}, {"first", bare_error}});
    report->Latency("bare.recipe_query", bare, "Database::Query of the primary recipe, $limit 30");
    Record(report, "decide.sequential", decided,
           "Decider::Decide, same users, interleaved, candidate cache off");
    report->Latency("decide.sequential.rules_us", rules_us, "the rules' item query + rules");
    report->Latency("decide.sequential.primary_step_us", primary_step_us,
                    "the recipe run: inline, or on a worker (+ hand-off) when isolated");
    report->Latency("decide.sequential.rest_us", rest_us,
                    "total_us minus steps and rules: surface load, request, user lookup, answer");
    report->Latency("decide.sequential.total_us", inner_total_us, "the decision's own timings");
    report->Value("bare.rows_mean", rows.Mean(), "rows");
    report->Value("decide.overhead_p50_us",
                  decided.latency.Percentile(0.5) - bare.Percentile(0.5), "us");
    report->Value("decide.overhead_p99_us",
                  decided.latency.Percentile(0.99) - bare.Percentile(0.99), "us",
                  "target <= 300 us (on a cache miss)");
    report->Value("decide.overhead_mean_us", decided.latency.Mean() - bare.Mean(), "us");
    PW_RETURN_IF_ERROR(DefineSurface(db.get(), deadline_ms, source_budget_ms, false));
  }

  // 2. Impression logging (docs/feedback-loop.md): on vs off in the same run, then throughput.
  if (section("impressions")) {
    PW_RETURN_IF_ERROR(DefineSurface(db.get(), deadline_ms, source_budget_ms, true));
    PW_RETURN_IF_ERROR(MeasureImpressions(db.get(), users, runs, threads, seconds,
                                          gen.seed + 71, deadline_ms, report));
    PW_RETURN_IF_ERROR(DefineSurface(db.get(), deadline_ms, source_budget_ms, false));
  }

  // 2c. Exploration slots (docs/feedback-loop.md): on vs off, same run.
  if (section("explore")) {
    PW_RETURN_IF_ERROR(MeasureExplore(db.get(), users, runs, gen.seed + 47, deadline_ms,
                                      source_budget_ms, report));
  }

  // 2b. Frequency caps (docs/decisions.md): decide with a cap rule vs without, same run.
  if (section("caps")) {
    PW_RETURN_IF_ERROR(MeasureCaps(db.get(), users, runs, gen.seed + 83, deadline_ms,
                                   source_budget_ms, report));
  }

  // 3. The caches. The popular list: unknown users get empty recipe lists, so the popular list
  // serves them; a miss is the first decision after Invalidate (it waits for the popular query),
  // a hit every later one. The candidate cache: MeasureCandidateCache.
  if (section("cache")) {
    auto decider = NewDecider(db.get(), users);
    Tally miss, hit;
    const size_t misses = std::max<size_t>(5, runs / 200);
    for (size_t i = 0; i < misses; ++i) {
      decider->Invalidate(kSurface);
      json req = {{"user", "nobody-m" + std::to_string(i)}, {"deadline_ms", 10000}};
      double t0 = NowSeconds();
      auto d = decider->Decide(kSurface, req);
      miss.Add(d, (NowSeconds() - t0) * 1e6);
      for (size_t j = 0; j < 20; ++j) {
        json r2 = {{"user", "nobody-h" + std::to_string(i * 100 + j)}};
        double t1 = NowSeconds();
        auto h = decider->Decide(kSurface, r2);
        hit.Add(h, (NowSeconds() - t1) * 1e6);
      }
    }
    Record(report, "cache.popular_miss", miss,
           "unknown user, first decision after Invalidate: waits for the popular query");
    Record(report, "cache.popular_hit", hit, "unknown user, popular list cached");
    report->Value("cache.popular_miss_over_hit_p50",
                  miss.latency.Percentile(0.5) / std::max(1e-9, hit.latency.Percentile(0.5)), "x");
    report->Info("cache.popular_metrics", decider->Metrics()["popular_cache"]);
    // Back to back (the figures before 2026-12-06's rounds) and in rounds of 200 users.
    for (size_t round_users : {size_t{1}, size_t{200}}) {
      for (bool logged : {true, false}) {
        std::string key = logged ? "cache.candidates" : "cache.candidates_unlogged";
        if (round_users > 1) key += "_rounds";
        PW_RETURN_IF_ERROR(MeasureCandidateCache(db.get(), users, runs, gen.seed + 97,
                                                 deadline_ms, source_budget_ms, logged,
                                                 round_users, key, report));
      }
    }
  }

  // 4. Faults: one source delayed, then the whole primary recipe delayed.
  if (section("fault")) {
    struct Case {
      std::string key;
      json fault;
      bool breaker_off;
      std::string note;
    };
    const std::string delayed = "delayed " + std::to_string(fault_ms) + " ms";
    std::vector<Case> cases = {
        {"fault.source_nearest", {{"target", "source:nearest"}, {"delay_ms", fault_ms}}, false,
         "source 'nearest' " + delayed + " (stops at its budget)"},
        {"fault.source_nearest_fail", {{"target", "source:nearest"}, {"fail_rate", 1.0}}, false,
         "source 'nearest' fails every time"},
        {"fault.recipe_primary",
         {{"target", std::string("recipe:") + kPrimary}, {"delay_ms", fault_ms}}, false,
         "whole primary recipe " + delayed + " (isolated: holds workers)"},
        {"fault.recipe_primary_no_breaker",
         {{"target", std::string("recipe:") + kPrimary}, {"delay_ms", fault_ms}}, true,
         "whole primary recipe " + delayed + ", breakers never open"}};
    for (const Case& c : cases) {
      PW_RETURN_IF_ERROR(DefineSurface(db.get(), deadline_ms, source_budget_ms, c.breaker_off));
      auto decider = NewDecider(db.get(), users);
      PW_RETURN_IF_ERROR(decider->SetFault(c.fault));
      double elapsed = 0;
      Tally t = ClosedLoop(*decider, threads, seconds, users, gen.seed + 41, deadline_ms, &elapsed);
      Record(report, c.key, t,
             c.note + ", " + std::to_string(threads) + " threads; target p99 <= deadline + 2 ms");
      report->Value(c.key + ".decisions_per_second", t.decisions / elapsed, "decisions/s");
      report->Info(c.key + ".breakers", decider->Breakers());
      report->Info(c.key + ".metrics", decider->Metrics());
      PW_RETURN_IF_ERROR(decider->ClearFaults());
    }
    PW_RETURN_IF_ERROR(DefineSurface(db.get(), deadline_ms, source_budget_ms, false));
  }

  // 5. Saturation (closed loop), then an open loop at twice that rate.
  if (section("overload")) {
    // --max-running-steps: DeciderOptions::max_running_steps (0, the default: the cores);
    // --overload-log 0: no impression log (to see what the synced write adds at 2x);
    // --max-running-decisions, --max-admission-wait-ms: the DeciderOptions (0: their defaults).
    decide::DeciderOptions overload_options = Options(flags.GetInt("overload-log", 1) != 0);
    overload_options.max_running_steps =
        static_cast<size_t>(std::max<int64_t>(0, flags.GetInt("max-running-steps", 0)));
    overload_options.max_running_decisions =
        static_cast<size_t>(std::max<int64_t>(0, flags.GetInt("max-running-decisions", 0)));
    overload_options.max_admission_wait_ms =
        std::max<int64_t>(0, flags.GetInt("max-admission-wait-ms", 0));
    for (bool breaker_off : {false, true}) {
      const std::string key = breaker_off ? "overload_no_breaker" : "overload";
      PW_RETURN_IF_ERROR(DefineSurface(db.get(), deadline_ms, source_budget_ms, breaker_off));
      auto decider = NewDecider(db.get(), users, overload_options);
      double elapsed = 0;
      Tally sat =
          ClosedLoop(*decider, threads, seconds, users, gen.seed + 51, deadline_ms, &elapsed);
      const double saturation = sat.decisions / elapsed;
      Record(report, key + ".saturation_closed_loop", sat,
             std::to_string(threads) + " threads back to back");
      report->Value(key + ".saturation_decisions_per_second", saturation, "decisions/s");
      const double rate = 2 * saturation;
      decider = NewDecider(db.get(), users, overload_options);
      Samples service;
      size_t late = 0;
      SlowParts slow;
      double t0 = NowSeconds();
      Tally open = OpenLoop(*decider, open_clients, rate, seconds, users, gen.seed + 61,
                            deadline_ms, &service, &late, &slow);
      double open_elapsed = NowSeconds() - t0;
      Record(report, key + ".open_loop_2x", open,
             "from the scheduled send time; target p99 <= deadline + 2 ms");
      report->Latency(key + ".open_loop_2x.service", service, "inside Decide only");
      report->Value(key + ".offered_rate", rate, "decisions/s");
      report->Value(key + ".achieved_rate", open.decisions / open_elapsed, "decisions/s");
      report->Value(key + ".late_sends", static_cast<double>(late), "sends",
                    "sent > 1 ms after their scheduled time (all pacing threads busy)");
      report->Value(key + ".degraded_share", open.DegradedShare() * 100, "%");
      std::printf("%-44s %s\n", (key + ".open_loop_2x.slow_parts").c_str(),
                  slow.MeansMs().dump().c_str());
      report->Info(key + ".open_loop_2x.slow_parts", slow.MeansMs());
      report->Info(key + ".metrics", decider->Metrics());
    }
    PW_RETURN_IF_ERROR(DefineSurface(db.get(), deadline_ms, source_budget_ms, false));
  }
  return Status::OK();
}

}  // namespace

int DecideMain(int argc, char** argv) {
  return RunCommand("decide", argc, argv,
      {"ef-construction", "items", "data", "json", "runs", "seed", "seconds", "threads",
       "open-clients", "deadline-ms", "source-budget-ms", "fault-ms", "sections",
       "max-running-steps", "overload-log", "max-running-decisions", "max-admission-wait-ms"},
      Run);
}

}  // namespace pathwise::bench
