#include "decide/breaker.h"

namespace pathwise::decide {
namespace {

const char* StateName(int state) {
  switch (state) {
    case 0: return "closed";
    case 1: return "open";
    default: return "half_open";
  }
}

}  // namespace

Breakers::Admit Breakers::Check(const std::string& recipe, const std::string& source,
                                const BreakerSettings& s, Clock::time_point now) {
  MutexLock lock(&mu_);
  auto it = entries_.find({recipe, source});
  if (it == entries_.end()) return Admit::kRun;
  Entry& e = it->second;
  switch (e.state) {
    case State::kClosed: return Admit::kRun;
    case State::kOpen:
      if (now - e.opened_at < std::chrono::milliseconds(s.cooldown_ms)) return Admit::kSkip;
      e.state = State::kHalfOpen;
      e.probe_in_flight = true;
      return Admit::kProbe;
    case State::kHalfOpen:
      if (e.probe_in_flight) return Admit::kSkip;
      e.probe_in_flight = true;
      return Admit::kProbe;
  }
  return Admit::kRun;
}

namespace {

void Prune(std::deque<std::chrono::steady_clock::time_point>* times,
           std::chrono::steady_clock::time_point now, int64_t window_ms) {
  while (!times->empty() && now - times->front() > std::chrono::milliseconds(window_ms)) {
    times->pop_front();
  }
}

// Most successes remembered per breaker: enough to weigh failures against, bounded memory.
constexpr size_t kMaxSuccesses = 10'000;

}  // namespace

void Breakers::RecordSuccess(const std::string& recipe, const std::string& source,
                             const BreakerSettings& s, Clock::time_point now) {
  MutexLock lock(&mu_);
  auto it = entries_.find({recipe, source});
  if (it == entries_.end()) return;  // never failed: nothing to weigh
  Entry& e = it->second;
  if (e.state == State::kHalfOpen) {
    e.state = State::kClosed;
    e.failures.clear();
    e.successes.clear();
    e.probe_in_flight = false;
    return;
  }
  e.successes.push_back(now);
  if (e.successes.size() > kMaxSuccesses) e.successes.pop_front();
  Prune(&e.successes, now, s.window_ms);
}

void Breakers::RecordFailure(const std::string& recipe, const std::string& source,
                             const BreakerSettings& s, Clock::time_point now) {
  MutexLock lock(&mu_);
  Entry& e = entries_[{recipe, source}];
  e.cooldown_ms = s.cooldown_ms;
  if (e.state == State::kHalfOpen) {
    e.state = State::kOpen;
    e.opened_at = now;
    e.probe_in_flight = false;
    return;
  }
  if (e.state == State::kOpen) return;
  e.failures.push_back(now);
  Prune(&e.failures, now, s.window_ms);
  Prune(&e.successes, now, s.window_ms);
  double runs = static_cast<double>(e.failures.size() + e.successes.size());
  if (static_cast<int>(e.failures.size()) >= s.failures &&
      static_cast<double>(e.failures.size()) >= s.failure_ratio * runs) {
    e.state = State::kOpen;
    e.opened_at = now;
    e.failures.clear();
    e.successes.clear();
  }
}

void Breakers::ReleaseProbe(const std::string& recipe, const std::string& source) {
  MutexLock lock(&mu_);
  auto it = entries_.find({recipe, source});
  if (it != entries_.end()) it->second.probe_in_flight = false;
}

nlohmann::json Breakers::ToJson() const {
  MutexLock lock(&mu_);
  auto now = Clock::now();
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [key, e] : entries_) {
    nlohmann::json j = {{"recipe", key.first},
                        {"source", key.second},
                        {"state", StateName(static_cast<int>(e.state))},
                        {"failures_in_window", e.failures.size()}};
    if (e.state == State::kOpen) {
      auto open_ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(now - e.opened_at).count();
      j["open_for_ms"] = open_ms;
      j["probe_after_ms"] = std::max<int64_t>(0, e.cooldown_ms - open_ms);
    }
    out.push_back(std::move(j));
  }
  return out;
}

size_t Breakers::OpenCount() const {
  MutexLock lock(&mu_);
  size_t n = 0;
  for (const auto& [key, e] : entries_) n += e.state != State::kClosed;
  return n;
}

void Breakers::ForgetRecipe(const std::string& recipe) {
  MutexLock lock(&mu_);
  for (auto it = entries_.begin(); it != entries_.end();) {
    it = it->first.first == recipe ? entries_.erase(it) : std::next(it);
  }
}

}  // namespace pathwise::decide
