// Internal to decide/: one budget of recipe steps running at once, inline and on the workers
// together (docs/decisions.md, "Overload"). A step takes a slot before it runs; when none is
// free it waits for one only while it could still start and finish before its budget ends,
// otherwise the decision answers from the cheapest list with reason `overload`. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>

#include "storage/mutex.h"

namespace pathwise::decide {

class StepSlots {
 public:
  using Clock = std::chrono::steady_clock;
  explicit StepSlots(size_t slots);  // at least 1

  // Takes a slot for a step whose budget ends at `until`: at once when one is free. Else it waits
  // for one, but only while the expected wait (the steps waiting ahead + 1, times the recent
  // mean time a slot is held, over the slots) and one mean step still end before `until`, and
  // never past `until` minus one mean step. False: no slot in time (nothing taken).
  bool Acquire(Clock::time_point until);
  // Gives back a slot held for `held`. ran: a recipe ran in it, so `held` counts in the mean; a
  // step that never ran (the pool refused it, or no worker started it) leaves the mean alone.
  void Release(Clock::duration held, bool ran = true);

  size_t slots() const { return slots_; }
  size_t running() const;
  size_t waiting() const;

  // A taken slot, given back once: by the first Release, from whichever holder ends first (a
  // worker run that ends, or the decision that stops waiting for it).
  class Slot {
   public:
    explicit Slot(StepSlots* owner) : owner_(owner), taken_(Clock::now()) {}
    ~Slot() { Release(); }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    void Release(bool ran = true) {
      if (!released_.exchange(true)) owner_->Release(Clock::now() - taken_, ran);
    }

   private:
    StepSlots* owner_;
    Clock::time_point taken_;
    std::atomic<bool> released_{false};
  };

 private:
  const size_t slots_;
  mutable Mutex mu_;
  CondVar cv_;
  size_t running_ PW_GUARDED_BY(mu_) = 0;
  size_t waiting_ PW_GUARDED_BY(mu_) = 0;
  double mean_us_ PW_GUARDED_BY(mu_) = 0;  // moving average of the time a slot is held
};

}  // namespace pathwise::decide
