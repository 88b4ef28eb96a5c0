// Internal to decide/: which recipe steps run on the deciding thread ("inline") and which are
// handed to the worker pool, per recipe (docs/decisions.md, "How a step runs"). A recipe is
// isolated (its steps go to the workers, so a stuck run cannot hold the decision past its
// deadline) for a cool-down after a run of it overran its step budget, including while an
// inline run of it is still going past its budget. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "storage/mutex.h"

namespace pathwise::decide {

class StepIsolation {
 public:
  using Clock = std::chrono::steady_clock;
  // cooldown_ms: how long a recipe stays isolated after its last overrun. max_inline: the most
  // inline runs in flight at once (over all recipes); beyond it steps go to the workers.
  StepIsolation(int64_t cooldown_ms, size_t max_inline);

  enum class Way {
    kInline,    // run on the caller's thread; the caller must call EndInline
    kIsolated,  // the recipe is isolated (or `suspect`): run on a worker
    kBusy,      // max_inline inline runs are in flight: run on a worker
  };
  // How a step of `recipe` with budget `until` runs now. suspect: the caller knows a reason to
  // isolate it (an injected recipe fault, a half-open breaker); it does not start a cool-down.
  Way Begin(const std::string& recipe, bool suspect, Clock::time_point until,
            Clock::time_point now = Clock::now());
  // An inline run begun with `until` ended at `now`; after `until` it isolates the recipe.
  void EndInline(const std::string& recipe, Clock::time_point until,
                 Clock::time_point now = Clock::now());
  // A worker run overran its budget: the recipe is isolated for a cool-down from now.
  void Overran(const std::string& recipe, Clock::time_point now = Clock::now());

  size_t IsolatedCount(Clock::time_point now = Clock::now()) const;  // recipes isolated now
  uint64_t isolations() const;  // times a recipe became isolated (not while it already was)

 private:
  struct Entry {
    Clock::time_point isolated_until = Clock::time_point::min();
    std::multiset<Clock::time_point> inline_untils;  // budgets of its inline runs in flight
  };
  void Isolate(Entry* e, Clock::time_point now) PW_REQUIRES(mu_);

  const Clock::duration cooldown_;
  const size_t max_inline_;
  mutable Mutex mu_;
  std::map<std::string, Entry> entries_ PW_GUARDED_BY(mu_);  // one per recipe run inline
  size_t inline_in_flight_ PW_GUARDED_BY(mu_) = 0;
  uint64_t isolations_ PW_GUARDED_BY(mu_) = 0;
};

}  // namespace pathwise::decide
