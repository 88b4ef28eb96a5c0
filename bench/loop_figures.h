// Figures of `pathwise bench loop` (bench/loop_bench.cc): Wilson intervals, the pooled replay
// estimates and the CTR chart.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace pathwise::bench::loop {

using json = nlohmann::json;

// A proportion with its 95% Wilson score interval {value, low, high}; null when trials is 0.
json Wilson(double successes, double trials);

// Pools per-round decide::EvaluateReplay answers: IPS exactly (each round's IPS is a sum over its
// logged impressions), SNIPS and the intervals approximately (impression-weighted, normal).
// Returns {impressions, ips, snips}.
json PoolReplay(const std::vector<json>& per_round);

// One user's totals on one surface over the run.
struct UserCounts {
  double impressions = 0, clicks = 0;
};

// CTR(a) - CTR(b) (each the ratio of summed clicks to summed impressions) with a 95% percentile
// bootstrap interval that resamples users, not impressions (a user's impressions are correlated:
// they return every round). paired: a[i] and b[i] are the same user (resampled together);
// otherwise each side is resampled on its own. Users without impressions are left out. Returns
// {value, low, high, users_a, users_b, paired}; null when either side has no impressions.
json CtrDifference(const std::vector<UserCounts>& a, const std::vector<UserCounts>& b, bool paired,
                   size_t resamples, uint64_t seed);

// v with `digits` decimals.
std::string Fixed(double v, int digits);

// CTR over rounds (rounds[r][name]["ctr"]), one line per name (at most 3), a dashed marker at
// inject_round (1-based); a hand-written SVG document.
std::string Svg(const json& rounds, const std::vector<std::string>& names, size_t inject_round);

}  // namespace pathwise::bench::loop
