// GET /v1/surfaces/{name}/report (docs/feedback-loop.md, "Report"): per variant, the logged
// decisions and item impressions of a time range, the attributed clicks and conversions, the
// rates with Wilson intervals and each variant's difference from the control with Newcombe's.
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <set>

#include "decide/decide.h"
#include "decide/stats.h"
#include "decide/surface.h"

namespace pathwise::decide {
namespace {

using json = nlohmann::json;

struct Counts {
  uint64_t decisions = 0;
  uint64_t impressions = 0;          // items served
  uint64_t clicks = 0;               // attributed click events
  uint64_t clicked_impressions = 0;  // served items with at least one attributed click
  uint64_t conversions = 0;          // attributed conversion events
  uint64_t converted_decisions = 0;  // decisions with at least one attributed conversion
};

bool Listed(const std::vector<std::string>& types, const json& type) {
  return type.is_string() && std::find(types.begin(), types.end(), type.get<std::string>()) != types.end();
}

void AddDecision(const Surface& s, const json& record, Counts* c) {
  std::set<std::string> served, clicked;
  for (const json& item : record.value("items", json::array())) {
    if (item.is_object() && item.contains("id") && item["id"].is_string()) served.insert(item["id"]);
  }
  bool converted = false;
  for (const json& outcome : record.value("outcomes", json::array())) {
    if (!outcome.is_object()) continue;
    json type = outcome.value("type", json());
    if (Listed(s.click_types, type)) {
      ++c->clicks;
      json item = outcome.value("item", json());
      if (item.is_string() && served.count(item.get<std::string>())) clicked.insert(item);
    }
    if (Listed(s.conversion_types, type)) {
      ++c->conversions;
      converted = true;
    }
  }
  ++c->decisions;
  c->impressions += served.size();
  c->clicked_impressions += clicked.size();
  c->converted_decisions += converted;
}

json IntervalJson(const Interval& i) {
  return {{"value", i.value}, {"low", i.low}, {"high", i.high}};
}

json Rate(uint64_t successes, uint64_t trials) {
  return trials == 0 ? json(nullptr) : IntervalJson(Wilson(successes, trials));
}

json Difference(uint64_t xa, uint64_t na, uint64_t xb, uint64_t nb) {
  return na == 0 || nb == 0 ? json(nullptr) : IntervalJson(NewcombeDifference(xa, na, xb, nb));
}

json VariantJson(const std::string& name, const Counts& c, const Counts& control, bool is_control) {
  json v = {{"variant", name},
            {"decisions", c.decisions},
            {"impressions", c.impressions},
            {"clicks", c.clicks},
            {"clicked_impressions", c.clicked_impressions},
            {"conversions", c.conversions},
            {"converted_decisions", c.converted_decisions},
            {"ctr", Rate(c.clicked_impressions, c.impressions)},
            {"conversion_rate", Rate(c.converted_decisions, c.decisions)}};
  if (!is_control) {
    v["vs_control"] = {
        {"ctr", Difference(c.clicked_impressions, c.impressions, control.clicked_impressions,
                           control.impressions)},
        {"conversion_rate", Difference(c.converted_decisions, c.decisions,
                                       control.converted_decisions, control.decisions)}};
  }
  return v;
}

}  // namespace

Result<json> SurfaceReport(const Database& db, const std::string& name, int64_t since_ms,
                           int64_t until_ms, const ReportLimits& limits) {
  PW_ASSIGN_OR_RETURN(json definition, GetSurface(db, name));
  PW_ASSIGN_OR_RETURN(Surface s, ParseSurface(name, definition));
  if (until_ms <= since_ms) {
    return Status::InvalidArgument("'until' must be after 'since'");
  }
  std::map<std::string, Counts> counts;
  uint64_t scanned = 0;
  int64_t last_ms = since_ms;
  bool complete = true;
  PW_RETURN_IF_ERROR(db.ScanRecommendations(since_ms, until_ms, [&](const json& record) {
    if (scanned >= limits.max_decisions) {
      complete = false;
      return false;
    }
    ++scanned;
    last_ms = record.value("served_at_ms", last_ms);
    if (record.value("surface", json()) != name) return true;
    AddDecision(s, record, &counts[record.value("variant", std::string("default"))]);
    return true;
  }));
  // The surface's variants in their order (the first is the control), then any other variant
  // found in the log (a removed variant, or "default" from before variants existed).
  std::vector<std::string> order;
  for (const Variant& v : s.variants) order.push_back(v.name);
  if (order.empty()) order.push_back("default");
  for (const auto& [variant, c] : counts) {
    if (std::find(order.begin(), order.end(), variant) == order.end()) order.push_back(variant);
  }
  json variants = json::array();
  const Counts control = counts[order[0]];
  for (size_t i = 0; i < order.size(); ++i) {
    variants.push_back(VariantJson(order[i], counts[order[i]], control, i == 0));
  }
  json report = {{"surface", name},
                 {"since_ms", since_ms},
                 {"until_ms", until_ms},
                 {"control", order[0]},
                 {"clicks", s.click_types},
                 {"conversions", s.conversion_types},
                 {"decisions_scanned", scanned},
                 {"complete", complete},
                 {"variants", std::move(variants)}};
  // A truncated scan covers decisions served from since up to (and at) scanned_until_ms.
  if (!complete) report["scanned_until_ms"] = last_ms;
  return report;
}

Result<int64_t> ParseTimeMillis(const std::string& text) {
  bool digits = !text.empty() && text.size() <= 15 &&
                text.find_first_not_of("0123456789") == std::string::npos;
  if (digits) return static_cast<int64_t>(std::stoll(text));
  std::tm tm{};
  int consumed = 0;
  int fields = std::sscanf(text.c_str(), "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                           &consumed);
  if (fields == 3 && static_cast<size_t>(consumed) < text.size()) {
    int more = 0;
    fields += std::sscanf(text.c_str() + consumed, "T%2d:%2d:%2d%n", &tm.tm_hour, &tm.tm_min,
                          &tm.tm_sec, &more);
    consumed += more;
    if (static_cast<size_t>(consumed) < text.size() && text.substr(consumed) == "Z") ++consumed;
  }
  bool shape = (fields == 3 || fields == 6) && static_cast<size_t>(consumed) == text.size();
  if (!shape || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
      tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60 || tm.tm_year < 1970) {
    return Status::InvalidArgument("'" + text +
                                   "' is not a time (milliseconds, YYYY-MM-DD or "
                                   "YYYY-MM-DDTHH:MM:SSZ)");
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

}  // namespace pathwise::decide
