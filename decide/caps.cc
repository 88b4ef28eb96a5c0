// Frequency caps (docs/decisions.md, "Frequency caps"): the recent impressions of a surface with
// caps are loaded from the impression log, kept in the decider's FrequencyIndex, and read into
// each item's cap values before the rules run. And the per-variant outcome counters.
#include <limits>

#include "decide/decider_impl.h"

namespace pathwise::decide {
namespace {

using json = nlohmann::json;

std::vector<std::string> ItemIds(const json& record) {
  std::vector<std::string> ids;
  const json items = record.value("items", json::array());
  for (const json& item : items) {
    if (item.is_object() && item.contains("id") && item["id"].is_string()) ids.push_back(item["id"]);
  }
  return ids;
}

}  // namespace

void Decider::Impl::LoadCaps(const Surface& base) {
  int64_t horizon = base.MaxCapWindowMs();
  if (horizon == 0 || options.frequency_max_decisions == 0) {
    frequency.Forget(base.name);  // no cap counts impressions (never_after needs no index)
    return;
  }
  std::optional<int64_t> covered = frequency.Track(base.name, horizon);
  int64_t since = NowMs() - horizon;
  if (covered.has_value() && *covered <= since) return;
  // Decisions served from `since` up to what is covered already (everything, the first time);
  // decisions recorded live meanwhile are added once: the index ignores a repeated id.
  int64_t until = covered.value_or(std::numeric_limits<int64_t>::max());
  size_t loaded = 0;
  Status scanned = db->ScanRecommendations(since, until, [&](const json& record) {
    if (record.value("surface", json()) != base.name || !record.contains("user") ||
        !record["user"].is_string() || !record.contains("recommendation_id")) {
      return true;
    }
    frequency.Record(base.name, record["user"], record["recommendation_id"],
                     record.value("served_at_ms", int64_t{0}), ItemIds(record));
    ++loaded;
    return true;
  });
  if (scanned.ok()) {
    frequency.SetCoveredSince(base.name, since);
    Count("frequency_decisions_loaded", loaded);
  } else {
    Count("frequency_load_failures");  // caps count what is served from now on; retried later
  }
}

void Decider::Impl::FillCaps(const Surface& s, const Request& req, ItemList* items,
                             std::map<std::string, Item>* pinnable) const {
  int64_t now = NowMs();
  auto seen = frequency.Since(s.name, req.user, now - s.MaxCapWindowMs());
  auto fill = [&](Item* item) {
    if (item->values.size() != s.rules.size()) return;  // not evaluated: caps remove it
    auto times = seen.find(item->id);
    for (size_t i = 0; i < s.rules.size(); ++i) {
      const Rule& r = s.rules[i];
      if (r.type != Rule::Type::kFrequencyCap) continue;
      int64_t in_window = 0;
      if (times != seen.end() && r.max > 0) {
        for (int64_t t : times->second) in_window += t >= now - r.window_seconds * 1000;
      }
      json event = item->values[i].is_object() ? item->values[i].value("event", json())
                                               : item->values[i];
      item->values[i] = {{"impressions", in_window}, {"event", event}};
    }
  };
  for (Item& item : *items) fill(&item);
  for (auto& [id, item] : *pinnable) fill(&item);
}

void Decider::CountOutcome(const std::string& recommendation_id, const std::string& event_type,
                           const std::string& item) {
  Impl& m = *impl_;
  auto record = m.db->GetRecommendation(recommendation_id);
  if (!record.ok() || !record->contains("surface") || !(*record)["surface"].is_string()) return;
  auto surface = m.LoadSurface((*record)["surface"]);
  if (!surface.ok()) return;
  const Surface& s = **surface;
  auto listed = [&](const std::vector<std::string>& types) {
    return std::find(types.begin(), types.end(), event_type) != types.end();
  };
  bool click = listed(s.click_types), conversion = listed(s.conversion_types);
  if (!click && !conversion) return;
  std::string variant = record->value("variant", std::string("default"));
  const json& trace = record->value("exploration", json());
  if (click && !item.empty() && trace.is_object()) {
    std::vector<std::string> served = ItemIds(*record);
    if (std::find(served.begin(), served.end(), item) != served.end()) {
      m.explore_counts.AddClick(s.name, trace.value("bucket", std::string()), item);
    }
  }
  MutexLock lock(&m.metrics_mu);
  Impl::VariantCounts& c = m.variant_counts[{s.name, variant}];
  c.clicks += click;
  c.conversions += conversion;
}

}  // namespace pathwise::decide
