// Internal to jobs/: reading a job's parameters from a JSON object. Every reader returns
// InvalidArgument naming the parameter ("params.k must be an integer between 1 and 1000").
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "storage/status.h"

namespace pathwise::jobs {

class Params {
 public:
  // InvalidArgument unless params is an object (or null: no parameters) whose members are all
  // among known.
  static Result<Params> Of(const nlohmann::json& params, std::initializer_list<std::string_view> known);

  Result<std::string> String(std::string_view name) const;  // required
  Result<std::string> String(std::string_view name, std::string_view fallback) const;
  Result<int64_t> Int(std::string_view name, int64_t fallback, int64_t min, int64_t max) const;
  Result<double> Number(std::string_view name, double fallback, double min, double max) const;
  Result<bool> Bool(std::string_view name, bool fallback) const;

 private:
  explicit Params(const nlohmann::json& params) : params_(params) {}
  const nlohmann::json* Find(std::string_view name) const;
  const nlohmann::json& params_;
};

}  // namespace pathwise::jobs
