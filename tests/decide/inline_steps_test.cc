// How a recipe step runs (docs/decisions.md, "How a step runs"): inline on the deciding thread
// while the recipe is healthy, on a worker while it is isolated.
#include <chrono>
#include <thread>

#include "decide/step_isolation.h"
#include "tests/decide/decide_fixture.h"

namespace pathwise::testing {
namespace {

using json = nlohmann::json;
using decide::StepIsolation;
using std::chrono::milliseconds;
using Way = StepIsolation::Way;

// What a decision served and why, without its ids, times or how its steps ran.
json Answer(const json& d) {
  json steps = json::array();
  for (const auto& step : d["timings"]["steps"]) {
    steps.push_back({step["source"], step["outcome"], step.value("candidates", "")});
  }
  return {d["items"], d["served_by"], d["reasons"], d["confidence"], d["rules"], steps};
}

std::string RunOf(const json& d, size_t step = 0) {
  return d["timings"]["steps"][step].value("run", "");
}

bool Isolated(const json& d, size_t step = 0) {
  return d["timings"]["steps"][step].value("isolated", false);
}

// A surface whose primary recipe overruns its 40 ms budget while source viewed_similar is
// delayed (the source's budget is the recipe's, so the delay holds the run to its end).
json OverrunSurface() {
  return DecideFixture::Surface({{"deadline_ms", 200}, {"budgets_ms", {{"similar", 40}}}});
}

// Runs one decision with viewed_similar delayed 5 s: the primary recipe overruns its budget.
json DecideWithOverrun(DecideFixture* f) {
  REQUIRE(f->decider->SetFault({{"target", "source:viewed_similar"}, {"delay_ms", 5000}}).ok());
  json d = f->Decide("row", {{"user", "u1"}});
  REQUIRE(f->decider->ClearFaults().ok());
  return d;
}

TEST_CASE("inline steps give exactly the same answers as worker steps") {
  DecideFixture f;
  f.Define("row", DecideFixture::Surface({{"rules", DecideFixture::RulesOfEachKind()}}));
  f.Define("plain", DecideFixture::Surface({{"min_items", 5}}));
  f.Define("uncached", DecideFixture::Surface({{"candidate_ttl_seconds", 0}}));
  decide::DeciderOptions on_workers;
  on_workers.inline_steps = false;
  on_workers.enable_fault_injection = true;
  decide::Decider workers(f.db.get(), on_workers);
  auto both = [&](const std::string& surface, const json& request) {
    json inline_d = f.Decide(surface, request);
    auto worker_d = workers.Decide(surface, request);
    REQUIRE(worker_d.ok());
    CHECK(RunOf(inline_d) == "inline");
    CHECK(RunOf(*worker_d) == "worker");
    CHECK_FALSE(Isolated(*worker_d));
    CHECK(Answer(inline_d) == Answer(*worker_d));
  };
  for (const char* surface : {"row", "plain"}) {
    for (const char* user : {"u1", "kid", "new", "nobody"}) {
      // Twice: a candidate-cache miss, then a hit.
      for (int i = 0; i < 2; ++i) both(surface, {{"user", user}, {"exclude", {"i14"}}});
    }
  }
  // A failing source is dropped the same way on either thread.
  for (decide::Decider* d : {f.decider.get(), &workers}) {
    REQUIRE(d->SetFault({{"target", "source:tagged_hot"}, {"fail_rate", 1.0}}).ok());
  }
  both("uncached", {{"user", "kid"}, {"k", 3}});
  CHECK(f.decider->Metrics().value("steps_worker", 0) == 0);
  CHECK(workers.Metrics().value("steps_inline", 0) == 0);
}

TEST_CASE("an inline overrun isolates the recipe: later decisions run it on workers") {
  DecideFixture f;
  f.Define("row", OverrunSurface());
  f.MakeDecider();
  json overran = DecideWithOverrun(&f);
  CHECK(RunOf(overran) == "inline");
  CHECK_FALSE(Isolated(overran));
  CHECK(overran["timings"]["steps"][0]["outcome"] == "timeout");
  CHECK(DecideFixture::HasReason(overran, "source_timeout:similar"));
  CHECK(overran["served_by"] == "fallback:hot");
  CHECK(f.decider->Metrics()["isolations"] == 1);
  CHECK(f.decider->Metrics()["isolated_recipes"] == 1);

  json next = f.Decide("row", {{"user", "u1"}});
  CHECK(RunOf(next) == "worker");
  CHECK(Isolated(next));
  CHECK(next["served_by"] == "primary");
  // The fallback did not overrun: it still runs inline.
  REQUIRE(f.decider->SetFault({{"target", "recipe:similar"}, {"fail_rate", 1.0}}).ok());
  json fallback = f.Decide("row", {{"user", "u1"}});
  CHECK(RunOf(fallback, 1) == "inline");
  CHECK(f.decider->Metrics().value("steps_isolated", 0) == 2);
}

TEST_CASE("a recipe stuck past the deadline runs on a worker and the decision answers in time") {
  DecideFixture f;
  f.Define("row", OverrunSurface());
  f.MakeDecider();
  // The injected recipe delay ignores deadlines (a stuck backend): the recipe is isolated from
  // its first decision, so the delay holds a worker, never the decision.
  REQUIRE(f.decider->SetFault({{"target", "recipe:similar"}, {"delay_ms", 2000}}).ok());
  json d = f.Decide("row", {{"user", "u1"}});
  CHECK(RunOf(d) == "worker");
  CHECK(Isolated(d));
  CHECK(DecideFixture::HasReason(d, "source_timeout:similar"));
  CHECK(d["served_by"] == "fallback:hot");
  CHECK(RunOf(d, 1) == "inline");
  // Not held by the 2 s delay (a behaviour, not a timing: the margin is 10x the deadline).
  CHECK(d["timings"]["total_us"].get<int64_t>() < 2'000'000);
  // Its worker run overran: the recipe stays isolated after the fault is gone.
  REQUIRE(f.decider->ClearFaults().ok());
  json after = f.Decide("row", {{"user", "u1"}});
  CHECK(RunOf(after) == "worker");
  CHECK(Isolated(after));
  // Primary again, unless this worker run too missed the recipe's 40 ms budget (seen once under
  // ASan on a loaded machine): the behaviour checked here is the isolation, not the pace.
  CHECK((after["served_by"] == "primary" ||
         DecideFixture::HasReason(after, "source_timeout:similar")));
}

TEST_CASE("isolation ends after the cool-down: the recipe runs inline again") {
  DecideFixture f;
  f.Define("row", OverrunSurface());
  decide::DeciderOptions options;
  options.isolation_cooldown_ms = 50;
  f.MakeDecider(options);
  DecideWithOverrun(&f);
  CHECK(RunOf(f.Decide("row", {{"user", "u1"}})) == "worker");
  std::this_thread::sleep_for(milliseconds(80));
  json d = f.Decide("row", {{"user", "u1"}});
  CHECK(RunOf(d) == "inline");
  CHECK_FALSE(Isolated(d));
  CHECK(d["served_by"] == "primary");
  CHECK(f.decider->Metrics()["isolated_recipes"] == 0);
}

TEST_CASE("with inline_steps off every recipe step runs on a worker") {
  DecideFixture f;
  f.Define("row", DecideFixture::Surface());
  decide::DeciderOptions options;
  options.inline_steps = false;
  f.MakeDecider(options);
  json d = f.Decide("row", {{"user", "u1"}});
  CHECK(RunOf(d) == "worker");
  CHECK_FALSE(Isolated(d));
  CHECK(f.decider->Metrics().value("steps_inline", 0) == 0);
  CHECK(f.decider->Metrics().value("steps_worker", 0) == 1);
}

TEST_CASE("while stuck runs hold every worker a healthy recipe's step still runs inline") {
  DecideFixture f;
  f.Define("row", DecideFixture::Surface());
  f.Define("hot_only", DecideFixture::Surface({{"recipe", "hot"}, {"fallbacks", json::array()}}));
  decide::DeciderOptions options;
  options.workers = 1;
  options.max_queued = 1;
  f.MakeDecider(options);
  // Warm the popular list and the worker, however slow the build.
  f.Decide("hot_only", {{"user", "u1"}, {"deadline_ms", 10000}});
  CHECK(RunOf(f.Decide("hot_only", {{"user", "u1"}})) == "inline");
  // A stuck recipe holds the only worker; the next run of it waits in the queue.
  REQUIRE(f.decider->SetFault({{"target", "recipe:similar"}, {"delay_ms", 2000}}).ok());
  f.Decide("row", {{"user", "u1"}});
  json queued = f.Decide("row", {{"user", "u1"}});
  INFO(queued.dump());
  REQUIRE(DecideFixture::HasReason(queued, "overload"));
  // Their decisions stopped waiting and gave back their slots: the pool's queue is no reason to
  // refuse a step that needs no worker.
  json d = f.Decide("hot_only", {{"user", "u1"}});
  INFO(d.dump());
  CHECK(RunOf(d) == "inline");
  CHECK_FALSE(DecideFixture::HasReason(d, "overload"));
  CHECK(d["served_by"] == "primary");
}

TEST_CASE("an inline run still going past its budget isolates its recipe for later steps") {
  StepIsolation iso(/*cooldown_ms=*/1000, /*max_inline=*/4);
  auto t0 = StepIsolation::Clock::now();
  REQUIRE(iso.Begin("r", false, t0 + milliseconds(10), t0) == Way::kInline);
  CHECK(iso.Begin("r", false, t0 + milliseconds(15), t0 + milliseconds(5)) == Way::kInline);
  iso.EndInline("r", t0 + milliseconds(15), t0 + milliseconds(6));
  // The first run is past its budget and still going.
  CHECK(iso.Begin("r", false, t0 + milliseconds(30), t0 + milliseconds(11)) == Way::kIsolated);
  CHECK(iso.Begin("other", false, t0 + milliseconds(30), t0 + milliseconds(11)) == Way::kInline);
  CHECK(iso.IsolatedCount(t0 + milliseconds(11)) == 1);
  iso.EndInline("r", t0 + milliseconds(10), t0 + milliseconds(200));  // it ends late
  // The cool-down counts from the end of the overrun.
  CHECK(iso.Begin("r", false, t0 + milliseconds(1300), t0 + milliseconds(1100)) == Way::kIsolated);
  CHECK(iso.Begin("r", false, t0 + milliseconds(1300), t0 + milliseconds(1200)) == Way::kInline);
  CHECK(iso.isolations() == 1);
}

TEST_CASE("a worker overrun restarts the cool-down and a suspect step starts none") {
  StepIsolation iso(/*cooldown_ms=*/100, /*max_inline=*/4);
  auto t0 = StepIsolation::Clock::now();
  CHECK(iso.Begin("r", /*suspect=*/true, t0 + milliseconds(10), t0) == Way::kIsolated);
  CHECK(iso.Begin("r", false, t0 + milliseconds(10), t0) == Way::kInline);
  iso.EndInline("r", t0 + milliseconds(10), t0 + milliseconds(1));
  CHECK(iso.isolations() == 0);
  iso.Overran("r", t0 + milliseconds(50));
  iso.Overran("r", t0 + milliseconds(120));
  CHECK(iso.Begin("r", false, t0 + milliseconds(300), t0 + milliseconds(200)) == Way::kIsolated);
  CHECK(iso.Begin("r", false, t0 + milliseconds(300), t0 + milliseconds(220)) == Way::kInline);
  CHECK(iso.isolations() == 1);
}

TEST_CASE("inline runs beyond the bound go to the workers") {
  StepIsolation iso(/*cooldown_ms=*/100, /*max_inline=*/2);
  auto t0 = StepIsolation::Clock::now();
  auto until = t0 + milliseconds(10);
  CHECK(iso.Begin("a", false, until, t0) == Way::kInline);
  CHECK(iso.Begin("b", false, until, t0) == Way::kInline);
  CHECK(iso.Begin("c", false, until, t0) == Way::kBusy);
  iso.EndInline("a", until, t0 + milliseconds(1));
  CHECK(iso.Begin("c", false, until, t0 + milliseconds(2)) == Way::kInline);
}

}  // namespace
}  // namespace pathwise::testing
