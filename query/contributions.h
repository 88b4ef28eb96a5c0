// Internal to query/: how much each path of a RECOMMEND result contributed to each SCORE term.
//
// A term that reads exactly one path aggregate A is split over the paths that fed A. Each path p
// gets its part x_p of A (sum: its value; count: 1; avg: its value / the number of values;
// max/min: all of A for the first path that reached it, 0 for the others), so that the parts add
// up to A. When the term is linear in A (T(A) = k * A, found by evaluating the term with A set
// to 0, 1 and 2), p contributes k * x_p; otherwise p contributes T * x_p / A (T / n when A is
// 0). Either way the contributions of a term's paths add up to the term. A term that reads
// several aggregates, or none, is not split; paths that feed no split term are context.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "query/recommend_exec.h"

namespace pathwise::query {

struct PathContribution {
  uint32_t log = 0;            // index in RecState::path_log
  bool feeds_term = false;     // false: a context path
  double total = 0;            // sum over the terms it contributes to
  int main_term = -1;          // the term of its largest absolute contribution
  std::vector<std::pair<int, double>> terms;  // (term index, contribution), when feeds_term
};

struct ResultContributions {
  std::vector<TermValue> terms;          // ScoreTerms(st, c)
  std::vector<bool> decomposed;          // per term: split over its paths
  std::vector<size_t> term_paths;        // per term: paths that contributed
  // Paths that feed a split term, strongest absolute contribution first (ties: found first),
  // then context paths in the order found.
  std::vector<PathContribution> paths;
};

// The contributions of candidate c's logged paths (`logged`: their indices in path_log, in the
// order found).
ResultContributions ContributionsOf(RecState* st, uint32_t c, const std::vector<uint32_t>& logged);

}  // namespace pathwise::query
