// One budget of recipe steps running at once, inline and on workers (docs/decisions.md,
// "Overload"): a step without a slot in time answers from the cheapest list with `overload`.
#include <chrono>
#include <future>
#include <thread>

#include "decide/step_slots.h"
#include "tests/decide/decide_fixture.h"

namespace pathwise::testing {
namespace {

using json = nlohmann::json;
using decide::StepSlots;
using std::chrono::milliseconds;

TEST_CASE("a step takes a free slot at once and is refused when none is free in time") {
  StepSlots slots(2);
  auto now = StepSlots::Clock::now();
  CHECK(slots.Acquire(now + milliseconds(10'000)));
  CHECK(slots.Acquire(now));  // free: taken even with no time left
  CHECK(slots.running() == 2);
  CHECK_FALSE(slots.Acquire(StepSlots::Clock::now()));  // full, and its budget is over
  CHECK(slots.running() == 2);
  slots.Release(milliseconds(1));
  CHECK(slots.running() == 1);
  CHECK(slots.Acquire(StepSlots::Clock::now()));
}

TEST_CASE("a step waits on its thread for a slot another thread gives back before its budget ends") {
  StepSlots slots(1);
  REQUIRE(slots.Acquire(StepSlots::Clock::now() + milliseconds(10'000)));
  auto waiter = std::async(std::launch::async, [&] {
    return slots.Acquire(StepSlots::Clock::now() + milliseconds(10'000));
  });
  while (slots.waiting() == 0) std::this_thread::sleep_for(milliseconds(1));
  slots.Release(milliseconds(1));
  CHECK(waiter.get());
  CHECK(slots.running() == 1);
  CHECK(slots.waiting() == 0);
}

TEST_CASE("a step is refused at once when the expected wait for a slot passes its budget") {
  StepSlots slots(1);
  REQUIRE(slots.Acquire(StepSlots::Clock::now()));
  slots.Release(milliseconds(500));  // steps hold a slot for about 500 ms
  REQUIRE(slots.Acquire(StepSlots::Clock::now()));
  // With 100 ms left, one step ahead of it would not end in time: no wait at all.
  auto asked = StepSlots::Clock::now();
  CHECK_FALSE(slots.Acquire(asked + milliseconds(100)));
  CHECK(slots.waiting() == 0);
  CHECK(StepSlots::Clock::now() - asked < milliseconds(100));
}

TEST_CASE("steps that never ran do not shorten the expected wait for a slot") {
  StepSlots slots(1);
  REQUIRE(slots.Acquire(StepSlots::Clock::now()));
  slots.Release(milliseconds(500));  // a run held its slot for 500 ms
  for (int i = 0; i < 50; ++i) {  // refused by the pool at once, many times
    REQUIRE(slots.Acquire(StepSlots::Clock::now()));
    slots.Release(milliseconds(0), /*ran=*/false);
  }
  REQUIRE(slots.Acquire(StepSlots::Clock::now()));
  // Still one 500 ms step ahead: with 100 ms left it is refused without waiting.
  CHECK_FALSE(slots.Acquire(StepSlots::Clock::now() + milliseconds(100)));
  CHECK(slots.waiting() == 0);
}

TEST_CASE("a held slot is given back once, by whichever holder ends first") {
  StepSlots slots(1);
  REQUIRE(slots.Acquire(StepSlots::Clock::now()));
  {
    StepSlots::Slot slot(&slots);
    slot.Release();  // the decision stopped waiting
    CHECK(slots.running() == 0);
    REQUIRE(slots.Acquire(StepSlots::Clock::now()));
    slot.Release();  // the worker run ends later: nothing more is given back
    CHECK(slots.running() == 1);
  }  // nor when the last holder lets go
  CHECK(slots.running() == 1);
}

TEST_CASE("a decision concurrent with a stuck inline run holding every slot answers overload in time") {
  DecideFixture f;
  // The primary's source is delayed to its budget (all of 2 s, no fallback follows): the run
  // holds the only slot inline for that long.
  f.Define("slow", DecideFixture::Surface({{"deadline_ms", 2000}, {"fallbacks", json::array()}}));
  f.Define("hot_only", DecideFixture::Surface({{"recipe", "hot"}, {"fallbacks", json::array()}}));
  decide::DeciderOptions options;
  options.max_running_steps = 1;
  options.enable_fault_injection = true;
  auto& decider = f.MakeDecider(options);
  // Warm the popular list, however slow the build.
  f.Decide("hot_only", {{"user", "u1"}, {"deadline_ms", 10000}});
  REQUIRE(decider.SetFault({{"target", "source:viewed_similar"}, {"delay_ms", 5000}}).ok());
  auto stuck = std::async(std::launch::async, [&] { return decider.Decide("slow", {{"user", "u1"}}); });
  while (decider.Metrics().value("steps_inline", 0) < 2) std::this_thread::sleep_for(milliseconds(1));
  json d = f.Decide("hot_only", {{"user", "u1"}});
  INFO(d.dump());
  CHECK(DecideFixture::HasReason(d, "overload"));
  CHECK(d["served_by"] == "popular");
  CHECK(d["timings"]["steps"][0].value("run", "") == "");  // it never ran the recipe
  // In time: not held by the stuck run (a behaviour, not a timing: the margin is 5x the
  // 200 ms deadline).
  CHECK(d["timings"]["total_us"].get<int64_t>() < 1'000'000);
  auto slow = stuck.get();
  REQUIRE(slow.ok());
  CHECK(slow->value("degraded", false));
  // Its slot is back: the next decision runs its recipe inline again.
  json after = f.Decide("hot_only", {{"user", "u1"}});
  CHECK(after["served_by"] == "primary");
  CHECK(after["timings"]["steps"][0].value("run", "") == "inline");
}

}  // namespace
}  // namespace pathwise::testing
