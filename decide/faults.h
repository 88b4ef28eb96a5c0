// Internal to decide/: injected faults for tests and demos (pathwise serve
// --enable-fault-injection). A fault delays or fails a named recipe run ("recipe:<name>") or a
// RECOMMEND source of any recipe ("source:<name>") with a given probability.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "storage/mutex.h"
#include "storage/status.h"

namespace pathwise::decide {

struct Fault {
  int64_t delay_ms = 0;
  double delay_rate = 0;  // probability that a run is delayed
  double fail_rate = 0;   // probability that a run fails
};

// What to do to one run, drawn from the fault's probabilities.
struct FaultAction {
  int64_t delay_ms = 0;
  bool fail = false;
};

class FaultInjector {
 public:
  // Longest injectable delay: a delayed run holds a worker thread this long at most.
  static constexpr int64_t kMaxDelayMs = 60'000;

  Status Set(const nlohmann::json& fault);  // InvalidArgument names the bad field
  void Clear();
  nlohmann::json ToJson() const;
  bool empty() const;
  bool Has(const std::string& target) const;  // a fault is set for target
  // Draws for target ("recipe:x" / "source:y"); no fault: {0, false}.
  FaultAction Draw(const std::string& target);

 private:
  mutable Mutex mu_;
  std::map<std::string, Fault> faults_ PW_GUARDED_BY(mu_);
  std::mt19937_64 rng_ PW_GUARDED_BY(mu_){0x5eed};
  bool any_ PW_GUARDED_BY(mu_) = false;
};

// Sleeps the action's delay, but not past `until`; returns DeadlineExceeded when `until` cut
// the delay short, Unavailable("injected fault") when the action fails, else OK.
Status Perform(const FaultAction& action, std::chrono::steady_clock::time_point until);

}  // namespace pathwise::decide
