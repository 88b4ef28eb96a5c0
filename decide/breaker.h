// Internal to decide/: circuit breakers per (recipe, source). source "*" stands for the whole
// recipe run (its deadline or error); other names are RECOMMEND sources (AS names).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "storage/mutex.h"

namespace pathwise::decide {

struct BreakerSettings {
  int failures = 5;             // failures in the window that open the breaker...
  double failure_ratio = 0.5;   // ...when they are at least this share of the window's runs
  int64_t window_ms = 30'000;   // rolling window of runs
  int64_t cooldown_ms = 5'000;  // open this long before one half-open probe is let through
};

// Closed: everything runs; outcomes are counted in a rolling window, and `failures` failures
// that are also at least `failure_ratio` of the window's runs open the breaker (a handful of
// timeouts among thousands of good runs does not). Open: nothing runs until the cool-down has passed; then one probe runs
// (half-open). The probe's success closes the breaker, its failure opens it again for another
// cool-down. Thread-safe.
class Breakers {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Admit { kRun, kProbe, kSkip };

  Admit Check(const std::string& recipe, const std::string& source, const BreakerSettings& s,
              Clock::time_point now = Clock::now());
  void RecordSuccess(const std::string& recipe, const std::string& source,
                     const BreakerSettings& s, Clock::time_point now = Clock::now());
  void RecordFailure(const std::string& recipe, const std::string& source,
                     const BreakerSettings& s, Clock::time_point now = Clock::now());
  // A probe that was let through but whose outcome is unknown (abandoned): allow another.
  void ReleaseProbe(const std::string& recipe, const std::string& source);

  // [{recipe, source, state, failures_in_window, open_for_ms?}] and state counts.
  nlohmann::json ToJson() const;
  size_t OpenCount() const;
  void ForgetRecipe(const std::string& recipe);

 private:
  enum class State { kClosed, kOpen, kHalfOpen };
  struct Entry {
    State state = State::kClosed;
    std::deque<Clock::time_point> failures;
    std::deque<Clock::time_point> successes;
    Clock::time_point opened_at;
    int64_t cooldown_ms = 0;
    bool probe_in_flight = false;
  };
  using Key = std::pair<std::string, std::string>;
  mutable Mutex mu_;
  std::map<Key, Entry> entries_ PW_GUARDED_BY(mu_);
};

}  // namespace pathwise::decide
