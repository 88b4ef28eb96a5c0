// Internal to decide/: how many decisions do their work at once (docs/decisions.md,
// "Overload"). A decision takes one of a few tokens before its chain runs and gives it back
// before its impression write, so a saturated server runs about as many decisions as it has
// cores, each at full speed, instead of every request thread sharing the cores. Waiters are
// served in arrival order; a decision that resumes after waiting for a worker goes first.
// Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>

#include "storage/mutex.h"

namespace pathwise::decide {

class DecisionGate {
 public:
  using Clock = std::chrono::steady_clock;
  explicit DecisionGate(size_t tokens);  // at least 1

  // Takes a token: at once when one is free and nobody waits, else after the waiters ahead
  // (first: ahead of every waiter), but not past `until`. Returns how long it waited, or nullopt
  // when no token came by `until` (nothing taken).
  std::optional<Clock::duration> Enter(Clock::time_point until, bool first = false);
  // Gives a token back: to the first waiter, if any.
  void Leave();

  size_t tokens() const { return tokens_; }
  size_t running() const;  // tokens taken
  size_t waiting() const;

  // One decision's token: held from Enter until Leave or the end of its scope.
  class Ticket {
   public:
    explicit Ticket(DecisionGate* gate) : gate_(gate) {}
    ~Ticket() { Leave(); }
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    // As DecisionGate::Enter; held() says whether the token came.
    std::optional<Clock::duration> Enter(Clock::time_point until, bool first = false) {
      auto waited = gate_->Enter(until, first);
      held_ = waited.has_value();
      return waited;
    }
    void Leave() {
      if (held_) gate_->Leave();
      held_ = false;
    }
    bool held() const { return held_; }

   private:
    DecisionGate* gate_;
    bool held_ = false;
  };

 private:
  struct Waiter {
    CondVar cv;
    bool granted = false;
  };
  const size_t tokens_;
  mutable Mutex mu_;
  size_t running_ PW_GUARDED_BY(mu_) = 0;
  std::deque<Waiter*> waiters_ PW_GUARDED_BY(mu_);
};

}  // namespace pathwise::decide
