#include "decide/faults.h"

#include <thread>

namespace pathwise::decide {
namespace {

Result<double> Rate(const nlohmann::json& fault, const char* field, double fallback) {
  auto it = fault.find(field);
  if (it == fault.end() || it->is_null()) return fallback;
  if (!it->is_number() || it->get<double>() < 0 || it->get<double>() > 1) {
    return Status::InvalidArgument(std::string("fault field '") + field +
                                   "' must be a number from 0 to 1");
  }
  return it->get<double>();
}

}  // namespace

Status FaultInjector::Set(const nlohmann::json& fault) {
  if (!fault.is_object()) return Status::InvalidArgument("a fault must be a JSON object");
  for (const auto& [key, value] : fault.items()) {
    if (key != "target" && key != "delay_ms" && key != "delay_rate" && key != "fail_rate") {
      return Status::InvalidArgument("unknown fault field '" + key +
                                     "' (expected target, delay_ms, delay_rate, fail_rate)");
    }
  }
  auto target = fault.find("target");
  if (target == fault.end() || !target->is_string()) {
    return Status::InvalidArgument("fault field 'target' must be \"recipe:<name>\" or "
                                   "\"source:<name>\"");
  }
  std::string t = target->get<std::string>();
  if ((t.rfind("recipe:", 0) != 0 && t.rfind("source:", 0) != 0) || t.find(':') + 1 == t.size()) {
    return Status::InvalidArgument("fault target '" + t +
                                   "' must be \"recipe:<name>\" or \"source:<name>\"");
  }
  Fault f;
  auto delay = fault.find("delay_ms");
  if (delay != fault.end() && !delay->is_null()) {
    if (!delay->is_number_integer() || delay->get<int64_t>() < 0 ||
        delay->get<int64_t>() > kMaxDelayMs) {
      return Status::InvalidArgument("fault field 'delay_ms' must be an integer from 0 to " +
                                     std::to_string(kMaxDelayMs));
    }
    f.delay_ms = delay->get<int64_t>();
  }
  PW_ASSIGN_OR_RETURN(f.delay_rate, Rate(fault, "delay_rate", f.delay_ms > 0 ? 1.0 : 0.0));
  PW_ASSIGN_OR_RETURN(f.fail_rate, Rate(fault, "fail_rate", 0.0));
  MutexLock lock(&mu_);
  faults_[t] = f;
  any_ = true;
  return Status::OK();
}

void FaultInjector::Clear() {
  MutexLock lock(&mu_);
  faults_.clear();
  any_ = false;
}

bool FaultInjector::empty() const {
  MutexLock lock(&mu_);
  return !any_;
}

bool FaultInjector::Has(const std::string& target) const {
  MutexLock lock(&mu_);
  return faults_.count(target) > 0;
}

nlohmann::json FaultInjector::ToJson() const {
  MutexLock lock(&mu_);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [target, f] : faults_) {
    out.push_back({{"target", target},
                   {"delay_ms", f.delay_ms},
                   {"delay_rate", f.delay_rate},
                   {"fail_rate", f.fail_rate}});
  }
  return out;
}

FaultAction FaultInjector::Draw(const std::string& target) {
  MutexLock lock(&mu_);
  FaultAction action;
  if (!any_) return action;
  auto it = faults_.find(target);
  if (it == faults_.end()) return action;
  std::uniform_real_distribution<double> u(0.0, 1.0);
  if (it->second.delay_ms > 0 && u(rng_) < it->second.delay_rate) {
    action.delay_ms = it->second.delay_ms;
  }
  action.fail = u(rng_) < it->second.fail_rate;
  return action;
}

Status Perform(const FaultAction& action, std::chrono::steady_clock::time_point until) {
  if (action.delay_ms > 0) {
    auto wake = std::chrono::steady_clock::now() + std::chrono::milliseconds(action.delay_ms);
    if (wake > until) {
      std::this_thread::sleep_until(until);
      return Status::DeadlineExceeded("injected delay of " + std::to_string(action.delay_ms) +
                                      " ms passed the budget");
    }
    std::this_thread::sleep_until(wake);
  }
  if (action.fail) return Status::Unavailable("injected fault");
  return Status::OK();
}

}  // namespace pathwise::decide
