// Internal to decide/: exploration slots (docs/feedback-loop.md, "Exploration"). A surface may
// reserve positions of its list for items drawn from the candidate pool (the items the serving
// steps ranked below the exploit slots) by Thompson sampling on per-item Beta posteriors, or by
// epsilon-greedy. Every draw is seeded from the decision's recommendation_id, so it can be
// replayed, and every explored item carries its propensity (the probability that the policy put
// it in that slot).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "storage/status.h"

namespace pathwise::decide {

struct ExploreSettings {
  enum class Policy { kNone, kThompson, kEpsilonGreedy };
  Policy policy = Policy::kNone;  // kNone: the surface does not explore
  std::vector<int64_t> slots;     // explicit 0-based positions (sorted), or empty with every
  int64_t every = 0;              // every Nth position (N-1, 2N-1, ...), or 0 with slots
  int64_t pool_size = 20;         // the most candidates below the exploit slots considered
  std::string context_key;        // request context field that buckets the posteriors ("": one)
  double prior_alpha = 1, prior_beta = 1;  // Beta prior: the posterior of a cold item
  double epsilon = 0.1;                    // epsilon_greedy: share of uniform draws
  int64_t propensity_samples = 1000;       // thompson: Monte Carlo re-draws per decision

  bool enabled() const { return policy != Policy::kNone; }
  // The explored positions of a list of k items, ascending.
  std::vector<size_t> Positions(size_t k) const;
  // The posterior bucket of a request context: the context_key's value as text ("" without a
  // key or when the context lacks it; strings as they are, other JSON values dumped).
  std::string Bucket(const nlohmann::json& context) const;
};

const char* PolicyName(ExploreSettings::Policy policy);

// Parses "exploration" of a surface definition (absent or null: no exploration). k is the
// surface's k (explicit slots must be below it). InvalidArgument "surface field
// 'exploration.x' ..." for a bad setting.
Result<ExploreSettings> ParseExploreSettings(const nlohmann::json& def, int64_t k);
nlohmann::json ExploreSettingsJson(const ExploreSettings& x);

// One candidate of the pool: its impressions and attributed clicks in the bucket.
struct Arm {
  int64_t impressions = 0;
  int64_t clicks = 0;
};

// One explored slot's draw: the pool index placed there and its propensity in (0, 1].
struct ExploreChoice {
  size_t index = 0;
  double propensity = 1;
};

// Draws `slots` distinct pool items (fewer when the pool is smaller) for the explored slots in
// order, from seed alone: the same inputs give the same choices.
//  - thompson: one sample per arm from Beta(alpha + clicks, beta + max(0, impressions - clicks));
//    the highest sample takes the first explored slot, the next the second, and so on. The
//    propensity of the item at the r-th explored slot is P(its sample ranks r-th), estimated
//    from propensity_samples re-draws with a seed derived from seed, counting the decision's
//    own draw: (hits + 1) / (samples + 1); standard error about sqrt(p(1 - p) / samples).
//  - epsilon_greedy: per slot, with probability epsilon a uniform draw from the items left,
//    else the item left with the highest posterior mean (ties: the pool's rank order).
//    Propensity in closed form: 1 - epsilon + epsilon / m for that item, epsilon / m for the
//    others (m: items left), conditional on the earlier explored slots' choices.
std::vector<ExploreChoice> DrawExploration(const ExploreSettings& x, const std::vector<Arm>& pool,
                                           size_t slots, uint64_t seed);

// The seed of a decision's exploration (a hash of its recommendation_id).
uint64_t ExploreSeed(const std::string& recommendation_id);

}  // namespace pathwise::decide
