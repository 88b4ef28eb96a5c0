#include "decide/decision_gate.h"

#include <algorithm>

namespace pathwise::decide {

DecisionGate::DecisionGate(size_t tokens) : tokens_(std::max<size_t>(1, tokens)) {}

std::optional<DecisionGate::Clock::duration> DecisionGate::Enter(Clock::time_point until,
                                                                 bool first) {
  const auto start = Clock::now();
  MutexLock lock(&mu_);
  if (running_ < tokens_ && waiters_.empty()) {
    ++running_;
    return Clock::duration::zero();
  }
  Waiter me;
  if (first) {
    waiters_.push_front(&me);
  } else {
    waiters_.push_back(&me);
  }
  auto now = start;
  while (!me.granted && now < until) {
    me.cv.WaitFor(&mu_, until - now);
    now = Clock::now();
  }
  if (!me.granted) {
    waiters_.erase(std::find(waiters_.begin(), waiters_.end(), &me));
    return std::nullopt;
  }
  return Clock::now() - start;
}

void DecisionGate::Leave() {
  MutexLock lock(&mu_);
  if (waiters_.empty()) {
    --running_;
    return;
  }
  // The token passes to the first waiter (running_ is unchanged). Notified under the lock: the
  // waiter's state lives on its stack until it sees `granted`.
  Waiter* next = waiters_.front();
  waiters_.pop_front();
  next->granted = true;
  next->cv.NotifyOne();
}

size_t DecisionGate::running() const {
  MutexLock lock(&mu_);
  return running_;
}

size_t DecisionGate::waiting() const {
  MutexLock lock(&mu_);
  return waiters_.size();
}

}  // namespace pathwise::decide
