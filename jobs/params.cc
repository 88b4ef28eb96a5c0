// Job parameters from JSON (jobs/params.h).
#include "jobs/params.h"

#include <cmath>

namespace pathwise::jobs {
namespace {

Status Bad(std::string_view name, const std::string& what) {
  return Status::InvalidArgument("params." + std::string(name) + " must be " + what);
}

std::string Range(double min, double max) {
  auto text = [](double v) {
    std::string s = std::to_string(v);
    while (s.find('.') != std::string::npos && (s.back() == '0' || s.back() == '.')) s.pop_back();
    return s;
  };
  return "between " + text(min) + " and " + text(max);
}

}  // namespace

Result<Params> Params::Of(const nlohmann::json& params,
                          std::initializer_list<std::string_view> known) {
  if (params.is_null()) return Params(params);
  if (!params.is_object()) return Status::InvalidArgument("params must be a JSON object");
  for (const auto& [key, value] : params.items()) {
    bool ok = false;
    for (std::string_view k : known) ok |= key == k;
    if (!ok) {
      std::string names;
      for (std::string_view k : known) names += (names.empty() ? "" : ", ") + std::string(k);
      return Status::InvalidArgument("unknown parameter '" + key + "' (known: " + names + ")");
    }
  }
  return Params(params);
}

const nlohmann::json* Params::Find(std::string_view name) const {
  if (!params_.is_object()) return nullptr;
  auto it = params_.find(std::string(name));
  return it == params_.end() || it->is_null() ? nullptr : &*it;
}

Result<std::string> Params::String(std::string_view name) const {
  const nlohmann::json* v = Find(name);
  if (v == nullptr) return Status::InvalidArgument("params." + std::string(name) + " is required");
  if (!v->is_string() || v->get<std::string>().empty()) return Bad(name, "a non-empty string");
  return v->get<std::string>();
}

Result<std::string> Params::String(std::string_view name, std::string_view fallback) const {
  if (Find(name) == nullptr) return std::string(fallback);
  return String(name);
}

Result<int64_t> Params::Int(std::string_view name, int64_t fallback, int64_t min,
                            int64_t max) const {
  const nlohmann::json* v = Find(name);
  if (v == nullptr) return fallback;
  std::string what = "an integer " + Range(static_cast<double>(min), static_cast<double>(max));
  if (!v->is_number_integer()) return Bad(name, what);
  if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(max)) {
    return Bad(name, what);
  }
  int64_t n = v->get<int64_t>();
  if (n < min || n > max) return Bad(name, what);
  return n;
}

Result<double> Params::Number(std::string_view name, double fallback, double min,
                              double max) const {
  const nlohmann::json* v = Find(name);
  if (v == nullptr) return fallback;
  std::string what = "a number " + Range(min, max);
  if (!v->is_number()) return Bad(name, what);
  double d = v->get<double>();
  if (!std::isfinite(d) || d < min || d > max) return Bad(name, what);
  return d;
}

Result<bool> Params::Bool(std::string_view name, bool fallback) const {
  const nlohmann::json* v = Find(name);
  if (v == nullptr) return fallback;
  if (!v->is_boolean()) return Bad(name, "true or false");
  return v->get<bool>();
}

}  // namespace pathwise::jobs
