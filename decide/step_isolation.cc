#include "decide/step_isolation.h"

#include <algorithm>

namespace pathwise::decide {

StepIsolation::StepIsolation(int64_t cooldown_ms, size_t max_inline)
    : cooldown_(std::chrono::milliseconds(std::max<int64_t>(0, cooldown_ms))),
      max_inline_(std::max<size_t>(1, max_inline)) {}

void StepIsolation::Isolate(Entry* e, Clock::time_point now) {
  if (e->isolated_until <= now) ++isolations_;
  e->isolated_until = std::max(e->isolated_until, now + cooldown_);
}

StepIsolation::Way StepIsolation::Begin(const std::string& recipe, bool suspect,
                                        Clock::time_point until, Clock::time_point now) {
  MutexLock lock(&mu_);
  Entry& e = entries_[recipe];
  // An inline run still going past its budget: later decisions do not wait behind it too.
  if (!e.inline_untils.empty() && *e.inline_untils.begin() < now) Isolate(&e, now);
  if (suspect || now < e.isolated_until) return Way::kIsolated;
  if (inline_in_flight_ >= max_inline_) return Way::kBusy;
  ++inline_in_flight_;
  e.inline_untils.insert(until);
  return Way::kInline;
}

void StepIsolation::EndInline(const std::string& recipe, Clock::time_point until,
                              Clock::time_point now) {
  MutexLock lock(&mu_);
  --inline_in_flight_;
  Entry& e = entries_[recipe];
  auto it = e.inline_untils.find(until);
  if (it != e.inline_untils.end()) e.inline_untils.erase(it);
  if (now > until) Isolate(&e, now);
}

void StepIsolation::Overran(const std::string& recipe, Clock::time_point now) {
  MutexLock lock(&mu_);
  Isolate(&entries_[recipe], now);
}

size_t StepIsolation::IsolatedCount(Clock::time_point now) const {
  MutexLock lock(&mu_);
  return static_cast<size_t>(std::count_if(entries_.begin(), entries_.end(), [&](const auto& kv) {
    const Entry& e = kv.second;
    return now < e.isolated_until ||
           (!e.inline_untils.empty() && *e.inline_untils.begin() < now);
  }));
}

uint64_t StepIsolation::isolations() const {
  MutexLock lock(&mu_);
  return isolations_;
}

}  // namespace pathwise::decide
