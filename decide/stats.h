// Internal to decide/: 95% intervals for the surface report (docs/feedback-loop.md, "Report").
#pragma once

#include <cstdint>

namespace pathwise::decide {

struct Interval {
  double value = 0;
  double low = 0;
  double high = 0;
};

// z of a two-sided 95% interval.
constexpr double kZ95 = 1.959963984540054;

// The Wilson score interval of a proportion: successes out of trials. REQUIRES: trials > 0 and
// successes <= trials.
Interval Wilson(uint64_t successes, uint64_t trials);

// The difference a - b of two independent proportions with Newcombe's hybrid score interval
// (Newcombe 1998, method 10, built from the two Wilson intervals). REQUIRES: both trials > 0.
Interval NewcombeDifference(uint64_t successes_a, uint64_t trials_a, uint64_t successes_b,
                            uint64_t trials_b);

}  // namespace pathwise::decide
