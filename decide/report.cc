// GET /v1/surfaces/{name}/report (docs/feedback-loop.md, "Report"): per variant, the logged
// decisions and item impressions of a time range, the attributed clicks and conversions, the
// rates with Wilson intervals and each variant's difference from the control with Newcombe's,
// the exploration share, and optionally a time series per variant and the latest decisions.
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <deque>
#include <map>
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
  uint64_t explored_impressions = 0;  // served items placed by exploration
};

// A variant's counts: over the whole range, and per time bucket when the report has a series.
struct VariantCounts {
  Counts total;
  std::vector<Counts> buckets;
};

bool Listed(const std::vector<std::string>& types, const json& type) {
  return type.is_string() && std::find(types.begin(), types.end(), type.get<std::string>()) != types.end();
}

// An explored item carries the reason "explore: <why>" (docs/feedback-loop.md, "Exploration").
bool Explored(const json& item) {
  for (const json& reason : item.value("reasons", json::array())) {
    if (reason.is_string() && reason.get<std::string>().rfind("explore:", 0) == 0) return true;
  }
  return false;
}

void AddDecision(const Surface& s, const json& record, Counts* c) {
  std::set<std::string> served, clicked;
  for (const json& item : record.value("items", json::array())) {
    if (item.is_object() && item.contains("id") && item["id"].is_string()) {
      served.insert(item["id"]);
      c->explored_impressions += Explored(item);
    }
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
            {"conversion_rate", Rate(c.converted_decisions, c.decisions)},
            {"explored_impressions", c.explored_impressions},
            {"exploration_share", c.impressions == 0 ? json(nullptr)
                                                     : json(double(c.explored_impressions) /
                                                            double(c.impressions))}};
  if (!is_control) {
    v["vs_control"] = {
        {"ctr", Difference(c.clicked_impressions, c.impressions, control.clicked_impressions,
                           control.impressions)},
        {"conversion_rate", Difference(c.converted_decisions, c.decisions,
                                       control.converted_decisions, control.decisions)}};
  }
  return v;
}

// The bucket counts of one variant: [{since_ms, until_ms, decisions, impressions,
// clicked_impressions, explored_impressions, ctr}], the ctr without an interval.
json SeriesJson(const std::vector<Counts>& buckets, int64_t since_ms, int64_t until_ms) {
  json series = json::array();
  const int64_t span = until_ms - since_ms;
  const int64_t n = static_cast<int64_t>(buckets.size());
  for (int64_t i = 0; i < n; ++i) {
    const Counts& c = buckets[i];
    series.push_back({{"since_ms", since_ms + span * i / n},
                      {"until_ms", since_ms + span * (i + 1) / n},
                      {"decisions", c.decisions},
                      {"impressions", c.impressions},
                      {"clicked_impressions", c.clicked_impressions},
                      {"explored_impressions", c.explored_impressions},
                      {"ctr", c.impressions == 0 ? json(nullptr)
                                                 : json(double(c.clicked_impressions) /
                                                        double(c.impressions))}});
  }
  return series;
}

// What the report lists of one recent decision; the whole record is GET /v1/recommendations/{id}.
json RecentJson(const json& record) {
  return {{"recommendation_id", record.value("recommendation_id", json())},
          {"served_at_ms", record.value("served_at_ms", json())},
          {"variant", record.value("variant", std::string("default"))},
          {"user", record.value("user", json())},
          {"served_by", record.value("served_by", json())},
          {"items", record.value("items", json::array()).size()},
          {"outcomes", record.value("outcomes", json::array()).size()}};
}

Status CheckOptions(int64_t since_ms, int64_t until_ms, const ReportOptions& options) {
  if (until_ms <= since_ms) return Status::InvalidArgument("'until' must be after 'since'");
  if (options.buckets > kMaxReportBuckets) {
    return Status::InvalidArgument("'buckets' must be 0 to " + std::to_string(kMaxReportBuckets));
  }
  if (options.recent > kMaxReportRecent) {
    return Status::InvalidArgument("'recent' must be 0 to " + std::to_string(kMaxReportRecent));
  }
  return Status::OK();
}

}  // namespace

Result<json> SurfaceReport(const Database& db, const std::string& name, int64_t since_ms,
                           int64_t until_ms, const ReportOptions& options) {
  PW_ASSIGN_OR_RETURN(json definition, GetSurface(db, name));
  PW_ASSIGN_OR_RETURN(Surface s, ParseSurface(name, definition));
  PW_RETURN_IF_ERROR(CheckOptions(since_ms, until_ms, options));
  std::map<std::string, VariantCounts> counts;
  std::deque<json> recent;
  uint64_t scanned = 0;
  int64_t last_ms = since_ms;
  bool complete = true;
  PW_RETURN_IF_ERROR(db.ScanRecommendations(since_ms, until_ms, [&](const json& record) {
    if (scanned >= options.limits.max_decisions) {
      complete = false;
      return false;
    }
    ++scanned;
    last_ms = record.value("served_at_ms", last_ms);
    if (record.value("surface", json()) != name) return true;
    VariantCounts& v = counts[record.value("variant", std::string("default"))];
    AddDecision(s, record, &v.total);
    if (options.buckets > 0) {
      v.buckets.resize(options.buckets);
      // The log is read in time order within [since, until), so the index is in range.
      size_t b = static_cast<size_t>((std::clamp(last_ms, since_ms, until_ms - 1) - since_ms) *
                                     static_cast<int64_t>(options.buckets) / (until_ms - since_ms));
      AddDecision(s, record, &v.buckets[b]);
    }
    if (options.recent > 0) {
      recent.push_front(RecentJson(record));
      if (recent.size() > options.recent) recent.pop_back();
    }
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
  const Counts control = counts[order[0]].total;
  for (size_t i = 0; i < order.size(); ++i) {
    VariantCounts& v = counts[order[i]];
    json variant = VariantJson(order[i], v.total, control, i == 0);
    if (options.buckets > 0) {
      v.buckets.resize(options.buckets);
      variant["series"] = SeriesJson(v.buckets, since_ms, until_ms);
    }
    variants.push_back(std::move(variant));
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
  if (options.recent > 0) report["recent"] = json(std::vector<json>(recent.begin(), recent.end()));
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
