// The circuit breaker's state machine on explicit clocks (decide/breaker.h).
#include <doctest/doctest.h>

#include "decide/breaker.h"

namespace pathwise::decide {
namespace {

using Clock = Breakers::Clock;
using std::chrono::milliseconds;

TEST_CASE("a breaker opens on enough failures that are also a large enough share of runs") {
  Breakers b;
  BreakerSettings s;
  s.failures = 3;
  s.failure_ratio = 0.5;
  s.window_ms = 10'000;
  s.cooldown_ms = 1'000;
  Clock::time_point t0 = Clock::now();
  b.RecordFailure("r", "*", s, t0);  // the first failure starts the count
  for (int i = 0; i < 20; ++i) b.RecordSuccess("r", "*", s, t0 + milliseconds(i));
  b.RecordFailure("r", "*", s, t0 + milliseconds(30));
  b.RecordFailure("r", "*", s, t0 + milliseconds(31));
  // 3 failures, but 3 of 23 runs: still closed.
  CHECK(b.Check("r", "*", s, t0 + milliseconds(32)) == Breakers::Admit::kRun);
  // Once the successes leave the window, the failures dominate.
  Clock::time_point later = t0 + milliseconds(20'000);
  for (int i = 0; i < 3; ++i) b.RecordFailure("r", "*", s, later + milliseconds(i));
  CHECK(b.Check("r", "*", s, later + milliseconds(5)) == Breakers::Admit::kSkip);
  CHECK(b.OpenCount() == 1);
}

TEST_CASE("an open breaker lets one probe through after the cool-down; its outcome decides") {
  Breakers b;
  BreakerSettings s;
  s.failures = 1;
  s.cooldown_ms = 100;
  Clock::time_point t0 = Clock::now();
  b.RecordFailure("r", "src", s, t0);
  CHECK(b.Check("r", "src", s, t0 + milliseconds(50)) == Breakers::Admit::kSkip);
  CHECK(b.Check("r", "src", s, t0 + milliseconds(150)) == Breakers::Admit::kProbe);
  CHECK(b.Check("r", "src", s, t0 + milliseconds(151)) == Breakers::Admit::kSkip);  // one probe
  b.RecordFailure("r", "src", s, t0 + milliseconds(160));  // the probe failed: open again
  CHECK(b.Check("r", "src", s, t0 + milliseconds(200)) == Breakers::Admit::kSkip);
  CHECK(b.Check("r", "src", s, t0 + milliseconds(270)) == Breakers::Admit::kProbe);
  b.RecordSuccess("r", "src", s, t0 + milliseconds(280));  // the probe succeeded: closed
  CHECK(b.Check("r", "src", s, t0 + milliseconds(281)) == Breakers::Admit::kRun);
  CHECK(b.ToJson()[0]["state"] == "closed");
  CHECK(b.Check("other", "src", s) == Breakers::Admit::kRun);
}

}  // namespace
}  // namespace pathwise::decide
