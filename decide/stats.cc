#include "decide/stats.h"

#include <algorithm>
#include <cmath>

namespace pathwise::decide {

Interval Wilson(uint64_t successes, uint64_t trials) {
  const double n = static_cast<double>(trials);
  const double p = static_cast<double>(successes) / n;
  const double z2 = kZ95 * kZ95;
  const double denominator = 1 + z2 / n;
  const double center = (p + z2 / (2 * n)) / denominator;
  const double half = kZ95 * std::sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator;
  // At 0 and at all successes the bound is exactly 0 or 1 (the formula leaves a rounding error).
  double low = successes == 0 ? 0.0 : std::max(0.0, center - half);
  double high = successes == trials ? 1.0 : std::min(1.0, center + half);
  return {p, low, high};
}

Interval NewcombeDifference(uint64_t successes_a, uint64_t trials_a, uint64_t successes_b,
                            uint64_t trials_b) {
  Interval a = Wilson(successes_a, trials_a), b = Wilson(successes_b, trials_b);
  double d = a.value - b.value;
  double below = std::sqrt((a.value - a.low) * (a.value - a.low) + (b.high - b.value) * (b.high - b.value));
  double above = std::sqrt((a.high - a.value) * (a.high - a.value) + (b.value - b.low) * (b.value - b.low));
  return {d, d - below, d + above};
}

}  // namespace pathwise::decide
