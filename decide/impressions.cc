// The impression log of decisions (docs/feedback-loop.md): what was served, written durably
// through the database's write path before the answer leaves, unless the surface samples it out.
#include <random>

#include "decide/decider_impl.h"

namespace pathwise::decide {
namespace {

using json = nlohmann::json;

bool Sampled(double rate) {
  if (rate >= 1.0) return true;
  if (rate <= 0.0) return false;
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng) < rate;
}

// The logged form of one served item: the answer's item plus its propensity (an explored
// item's answer carries it; an exploit slot's is 1, the policy being deterministic there).
json ImpressionItem(const json& item) {
  json out = item;
  if (!out.contains("propensity")) out["propensity"] = 1.0;
  return out;
}

}  // namespace

void Decider::Impl::LogImpressions(const Surface& s, const Request& req, int64_t served_ms,
                                   const json& explore_trace, json* answer) {
  if (s.HasCaps() && !(*answer)["items"].empty()) {
    std::vector<std::string> ids;
    for (const json& item : (*answer)["items"]) ids.push_back(item["id"].get<std::string>());
    frequency.Record(s.name, req.user, (*answer)["recommendation_id"].get<std::string>(),
                     served_ms, std::move(ids));
  }
  if (!options.log_impressions || !Sampled(s.impression_sample_rate)) {
    (*answer)["impression_logged"] = false;
    Count("impressions_sampled_out");
    return;
  }
  ImpressionWrite write;
  write.recommendation_id = (*answer)["recommendation_id"].get<std::string>();
  write.attribution_window_ms = s.attribution_window_seconds * 1000;
  json items = json::array();
  for (const json& item : (*answer)["items"]) items.push_back(ImpressionItem(item));
  write.record = {{"surface", s.name},
                  {"variant", s.variant},
                  {"user", req.user},
                  {"served_by", (*answer)["served_by"]},
                  {"reasons", (*answer)["reasons"]},
                  {"confidence", (*answer)["confidence"]},
                  {"explain", req.explain},
                  {"items", std::move(items)}};
  if (!explore_trace.is_null()) write.record["exploration"] = explore_trace;
  // The request's segment (validated with the request), for segment_item counters.
  if (auto segment = req.context.find("segment");
      segment != req.context.end() && segment->is_string()) {
    write.record["segment"] = *segment;
  }
  WriteSet set;
  set.ops.push_back(std::move(write));
  WriteOptions write_options;
  write_options.sync = options.sync_impressions;
  write_options.max_queue_wait_ms = options.impression_max_queue_wait_ms;
  Status logged = db->Apply(set, write_options);
  if (logged.ok()) {
    (*answer)["impression_logged"] = true;
    Count("impressions_logged");
    Count("impression_items_logged", (*answer)["items"].size());
    if (!explore_trace.is_null()) CountExploreImpressions(s, explore_trace, (*answer)["items"]);
    MutexLock lock(&metrics_mu);
    VariantCounts& c = variant_counts[{s.name, s.variant}];
    ++c.decisions;
    c.impressions += (*answer)["items"].size();
    return;
  }
  // A decision never fails for its log: it answers, says so and is counted.
  (*answer)["impression_logged"] = false;
  (*answer)["reasons"].push_back("impression_log_failed");
  Count("reason:impression_log_failed");
  Count("impression_log_failures");
}

}  // namespace pathwise::decide
