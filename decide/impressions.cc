// The impression log of decisions (docs/feedback-loop.md): what was served, written durably
// through the database's write path (by the ImpressionWriter's threads) before the answer leaves,
// unless the surface samples it out or the write is still going at the decision's deadline.
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
                                   Clock::time_point wait_until, const json& explore_trace,
                                   json* answer) {
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
  json items = json::array();
  for (const json& item : (*answer)["items"]) items.push_back(ImpressionItem(item));
  // Counted when the write succeeded, on the writer's thread (after the answer if it is late).
  auto counted = [this, surface = s.name, variant = s.variant, trace = explore_trace,
                  items](const Status& written) {
    if (!written.ok()) {
      Count("impression_log_failures");
      return;
    }
    Count("impressions_logged");
    Count("impression_items_logged", items.size());
    if (!trace.is_null()) CountExploreImpressions(surface, trace, items);
    MutexLock lock(&metrics_mu);
    VariantCounts& c = variant_counts[{surface, variant}];
    ++c.decisions;
    c.impressions += items.size();
  };
  ImpressionWrite write;
  write.recommendation_id = (*answer)["recommendation_id"].get<std::string>();
  write.attribution_window_ms = s.attribution_window_seconds * 1000;
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
  auto ticket = impressions.Submit(std::move(set), std::move(counted));
  Status logged;
  if (!ticket.ok()) {
    logged = ticket.status();
    Count("impression_log_failures");
  } else if (!(*ticket)->WaitUntil(wait_until, &logged)) {
    // A decision keeps its deadline whatever the disk does: the write goes on after the answer.
    (*answer)["impression_logged"] = false;
    (*answer)["reasons"].push_back("impression_log_late");
    Count("reason:impression_log_late");
    return;
  }
  (*answer)["impression_logged"] = logged.ok();
  if (logged.ok()) return;
  // A decision never fails for its log: it answers, says so and is counted.
  (*answer)["reasons"].push_back("impression_log_failed");
  Count("reason:impression_log_failed");
}

}  // namespace pathwise::decide
