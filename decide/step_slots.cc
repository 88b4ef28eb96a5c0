#include "decide/step_slots.h"

#include <algorithm>

namespace pathwise::decide {

StepSlots::StepSlots(size_t slots) : slots_(std::max<size_t>(1, slots)) {}

bool StepSlots::Acquire(Clock::time_point until) {
  MutexLock lock(&mu_);
  if (running_ < slots_) {
    ++running_;
    return true;
  }
  const auto mean = std::chrono::microseconds(static_cast<int64_t>(mean_us_));
  const double ahead = static_cast<double>(waiting_ + 1);
  const auto wait = std::chrono::microseconds(
      static_cast<int64_t>(ahead * mean_us_ / static_cast<double>(slots_)));
  const Clock::time_point start_by = until - mean;
  auto now = Clock::now();
  if (now + wait >= start_by) return false;
  ++waiting_;
  while (running_ >= slots_ && now < start_by) {
    cv_.WaitFor(&mu_, start_by - now);
    now = Clock::now();
  }
  --waiting_;
  if (running_ >= slots_) return false;
  ++running_;
  return true;
}

void StepSlots::Release(Clock::duration held, bool ran) {
  {
    MutexLock lock(&mu_);
    --running_;
    double us = std::chrono::duration<double, std::micro>(held).count();
    if (ran) mean_us_ = mean_us_ == 0 ? us : 0.9 * mean_us_ + 0.1 * us;
  }
  cv_.NotifyOne();
}

size_t StepSlots::running() const {
  MutexLock lock(&mu_);
  return running_;
}

size_t StepSlots::waiting() const {
  MutexLock lock(&mu_);
  return waiting_;
}

}  // namespace pathwise::decide
