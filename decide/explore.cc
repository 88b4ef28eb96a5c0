// Exploration slots: the settings of a surface and the seeded draws (decide/explore.h).
#include "decide/explore.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include "decide/surface.h"

namespace pathwise::decide {
namespace {

using json = nlohmann::json;

constexpr int64_t kMaxSlot = 999;
constexpr int64_t kMaxPool = 1000;
constexpr double kMaxPrior = 1e6;

// splitmix64: small, fast and good enough for sampling; the sequence is fixed by the seed.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in (0, 1).
  double Uniform() { return (static_cast<double>(Next() >> 11) + 0.5) * 0x1.0p-53; }
  double Normal() {  // Box-Muller: a pair per two uniforms, the second kept for the next call
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double r = std::sqrt(-2.0 * std::log(Uniform())), t = 6.283185307179586 * Uniform();
    spare_ = r * std::sin(t);
    has_spare_ = true;
    return r * std::cos(t);
  }
  // Gamma(shape, 1) by Marsaglia and Tsang (with their squeeze, which skips the logs for ~98%
  // of draws); shape < 1 through Gamma(shape + 1) * U^(1/shape).
  double Gamma(double shape) {
    if (shape < 1) return Gamma(shape + 1) * std::pow(Uniform(), 1.0 / shape);
    double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
    for (;;) {
      double x = Normal(), v = 1 + c * x;
      if (v <= 0) continue;
      v = v * v * v;
      double u = Uniform();
      if (u < 1 - 0.0331 * (x * x) * (x * x)) return d * v;
      if (std::log(u) < 0.5 * x * x + d - d * v + d * std::log(v)) return d * v;
    }
  }
  // Beta(a, b). Closed forms when a or b is 1 (every item without clicks under the default
  // prior Beta(1, 1)): Beta(1, 1) is uniform, Beta(1, b) is 1 - U^(1/b), Beta(a, 1) is U^(1/a).
  double Beta(double a, double b) {
    if (a == 1 && b == 1) return Uniform();
    if (a == 1) return 1 - std::pow(Uniform(), 1.0 / b);
    if (b == 1) return std::pow(Uniform(), 1.0 / a);
    double x = Gamma(a), y = Gamma(b);
    return x / (x + y);
  }

 private:
  uint64_t state_;
  double spare_ = 0;
  bool has_spare_ = false;
};

struct Posterior {
  double alpha, beta;
};

std::vector<Posterior> Posteriors(const ExploreSettings& x, const std::vector<Arm>& pool) {
  std::vector<Posterior> out;
  out.reserve(pool.size());
  for (const Arm& a : pool) {
    double clicks = static_cast<double>(std::max<int64_t>(0, a.clicks));
    double misses = static_cast<double>(std::max<int64_t>(0, a.impressions - a.clicks));
    out.push_back({x.prior_alpha + clicks, x.prior_beta + misses});
  }
  return out;
}

// Pool indexes by descending sample, the first n of them.
std::vector<size_t> TopSamples(const std::vector<double>& samples, size_t n) {
  std::vector<size_t> order(samples.size());
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + n, order.end(),
                    [&](size_t a, size_t b) { return samples[a] > samples[b]; });
  order.resize(n);
  return order;
}

std::vector<ExploreChoice> DrawThompson(const ExploreSettings& x, const std::vector<Arm>& pool,
                                        size_t n, uint64_t seed) {
  std::vector<Posterior> post = Posteriors(x, pool);
  std::vector<double> samples(pool.size());
  Rng rng(seed);
  for (size_t i = 0; i < pool.size(); ++i) samples[i] = rng.Beta(post[i].alpha, post[i].beta);
  std::vector<size_t> top = TopSamples(samples, n);
  // Re-draws with a derived seed: how often each chosen item takes the same rank.
  std::vector<int64_t> hits(n, 0);
  Rng redraw(StableHash("propensity:" + std::to_string(seed)));
  for (int64_t rep = 0; rep < x.propensity_samples; ++rep) {
    for (size_t i = 0; i < pool.size(); ++i) samples[i] = redraw.Beta(post[i].alpha, post[i].beta);
    for (size_t r = 0; r < n; ++r) {
      size_t above = 0;
      double mine = samples[top[r]];
      for (double s : samples) above += s > mine;
      hits[r] += above == r;
    }
  }
  std::vector<ExploreChoice> out;
  double denominator = static_cast<double>(x.propensity_samples + 1);
  for (size_t r = 0; r < n; ++r) {
    out.push_back({top[r], static_cast<double>(hits[r] + 1) / denominator});
  }
  return out;
}

std::vector<ExploreChoice> DrawEpsilonGreedy(const ExploreSettings& x, const std::vector<Arm>& pool,
                                             size_t n, uint64_t seed) {
  std::vector<Posterior> post = Posteriors(x, pool);
  std::vector<size_t> left(pool.size());
  std::iota(left.begin(), left.end(), 0);
  Rng rng(seed);
  std::vector<ExploreChoice> out;
  for (size_t r = 0; r < n; ++r) {
    size_t greedy = 0;  // position in left of the highest posterior mean
    for (size_t j = 1; j < left.size(); ++j) {
      const Posterior& a = post[left[j]];
      const Posterior& b = post[left[greedy]];
      if (a.alpha / (a.alpha + a.beta) > b.alpha / (b.alpha + b.beta)) greedy = j;
    }
    double m = static_cast<double>(left.size());
    size_t pick = greedy;
    if (rng.Uniform() < x.epsilon) {
      pick = std::min(left.size() - 1, static_cast<size_t>(rng.Uniform() * m));
    }
    double p = x.epsilon / m + (pick == greedy ? 1 - x.epsilon : 0.0);
    out.push_back({left[pick], p});
    left.erase(left.begin() + static_cast<std::ptrdiff_t>(pick));
  }
  return out;
}

Result<double> PositiveNumber(const json& obj, const char* field, double fallback, double hi,
                              const std::string& path) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return fallback;
  if (!it->is_number() || !std::isfinite(it->get<double>()) || it->get<double>() <= 0 ||
      it->get<double>() > hi) {
    return Bad(path, "must be a number above 0, at most " + json(hi).dump());
  }
  return it->get<double>();
}

Status ParseSlots(const json& e, int64_t k, ExploreSettings* x) {
  bool has_slots = e.contains("slots") && !e["slots"].is_null();
  bool has_every = e.contains("every") && !e["every"].is_null();
  if (has_slots == has_every) {
    return Bad("exploration", "needs exactly one of 'slots' (0-based positions) and 'every' (N: "
                              "one slot in N)");
  }
  if (has_every) {
    PW_ASSIGN_OR_RETURN(x->every, IntField(e, "every", 0, 2, kMaxSlot + 1, "exploration.every"));
    if (x->every > k) {
      return Bad("exploration.every", "is " + std::to_string(x->every) +
                                          ", above the surface's k (" + std::to_string(k) +
                                          "): no slot would be explored");
    }
    return Status::OK();
  }
  const json& slots = e["slots"];
  if (!slots.is_array() || slots.empty() || slots.size() > static_cast<size_t>(k)) {
    return Bad("exploration.slots", "must be a list of 1 to k (" + std::to_string(k) +
                                        ") distinct 0-based positions");
  }
  std::set<int64_t> seen;
  for (const json& p : slots) {
    if (!p.is_number_integer() || p.get<int64_t>() < 0 || p.get<int64_t>() >= k) {
      return Bad("exploration.slots", "must hold positions from 0 to k - 1 (" +
                                          std::to_string(k - 1) + "), got " + p.dump());
    }
    if (!seen.insert(p.get<int64_t>()).second) {
      return Bad("exploration.slots", "repeats position " + p.dump());
    }
  }
  x->slots.assign(seen.begin(), seen.end());
  return Status::OK();
}

Status ParsePolicy(const json& e, ExploreSettings* x) {
  PW_ASSIGN_OR_RETURN(std::string policy,
                      StringField(e, "policy", "exploration.policy", false));
  if (policy.empty() || policy == "thompson") {
    x->policy = ExploreSettings::Policy::kThompson;
  } else if (policy == "epsilon_greedy") {
    x->policy = ExploreSettings::Policy::kEpsilonGreedy;
  } else {
    return Bad("exploration.policy", "must be thompson or epsilon_greedy (got '" + policy + "')");
  }
  bool thompson = x->policy == ExploreSettings::Policy::kThompson;
  if (thompson && e.contains("epsilon") && !e["epsilon"].is_null()) {
    return Bad("exploration.epsilon", "applies to policy epsilon_greedy only");
  }
  if (!thompson && e.contains("propensity_samples") && !e["propensity_samples"].is_null()) {
    return Bad("exploration.propensity_samples", "applies to policy thompson only");
  }
  PW_ASSIGN_OR_RETURN(x->epsilon, PositiveNumber(e, "epsilon", 0.1, 1, "exploration.epsilon"));
  PW_ASSIGN_OR_RETURN(x->propensity_samples,
                      IntField(e, "propensity_samples", 1000, 100, 100000,
                               "exploration.propensity_samples"));
  return Status::OK();
}

Status ParsePrior(const json& e, ExploreSettings* x) {
  auto prior = e.find("prior");
  if (prior == e.end() || prior->is_null()) return Status::OK();
  if (!prior->is_object()) return Bad("exploration.prior", "must be an object {alpha, beta}");
  PW_RETURN_IF_ERROR(CheckFields(*prior, {"alpha", "beta"}, "exploration.prior"));
  PW_ASSIGN_OR_RETURN(x->prior_alpha, PositiveNumber(*prior, "alpha", 1, kMaxPrior,
                                                     "exploration.prior.alpha"));
  PW_ASSIGN_OR_RETURN(x->prior_beta, PositiveNumber(*prior, "beta", 1, kMaxPrior,
                                                    "exploration.prior.beta"));
  return Status::OK();
}

}  // namespace

const char* PolicyName(ExploreSettings::Policy policy) {
  switch (policy) {
    case ExploreSettings::Policy::kNone: return "none";
    case ExploreSettings::Policy::kThompson: return "thompson";
    case ExploreSettings::Policy::kEpsilonGreedy: return "epsilon_greedy";
  }
  return "?";
}

std::vector<size_t> ExploreSettings::Positions(size_t k) const {
  std::vector<size_t> out;
  if (!enabled()) return out;
  if (every > 0) {
    for (size_t p = static_cast<size_t>(every) - 1; p < k; p += static_cast<size_t>(every)) out.push_back(p);
    return out;
  }
  for (int64_t p : slots) {
    if (static_cast<size_t>(p) < k) out.push_back(static_cast<size_t>(p));
  }
  return out;
}

std::string ExploreSettings::Bucket(const json& context) const {
  if (context_key.empty() || !context.is_object()) return "";
  auto it = context.find(context_key);
  if (it == context.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

Result<ExploreSettings> ParseExploreSettings(const json& def, int64_t k) {
  ExploreSettings x;
  auto e = def.find("exploration");
  if (e == def.end() || e->is_null()) return x;
  if (!e->is_object()) return Bad("exploration", "must be an object {policy?, slots | every, ...}");
  PW_RETURN_IF_ERROR(CheckFields(*e,
                                 {"policy", "slots", "every", "pool_size", "context_key", "prior",
                                  "epsilon", "propensity_samples"},
                                 "exploration"));
  PW_RETURN_IF_ERROR(ParsePolicy(*e, &x));
  PW_RETURN_IF_ERROR(ParseSlots(*e, k, &x));
  PW_ASSIGN_OR_RETURN(x.pool_size, IntField(*e, "pool_size", 20, 1, kMaxPool, "exploration.pool_size"));
  PW_ASSIGN_OR_RETURN(x.context_key, StringField(*e, "context_key", "exploration.context_key", false));
  if (x.context_key.rfind("context.", 0) == 0) x.context_key = x.context_key.substr(8);
  if (!x.context_key.empty() && !IsIdentifier(x.context_key)) {
    return Bad("exploration.context_key", "must name a field of the request's context ([A-Za-z0-9_])");
  }
  PW_RETURN_IF_ERROR(ParsePrior(*e, &x));
  return x;
}

json ExploreSettingsJson(const ExploreSettings& x) {
  if (!x.enabled()) return nullptr;
  json j = {{"policy", PolicyName(x.policy)},
            {"pool_size", x.pool_size},
            {"prior", {{"alpha", x.prior_alpha}, {"beta", x.prior_beta}}}};
  if (x.every > 0) j["every"] = x.every; else j["slots"] = x.slots;
  if (!x.context_key.empty()) j["context_key"] = x.context_key;
  if (x.policy == ExploreSettings::Policy::kThompson) {
    j["propensity_samples"] = x.propensity_samples;
  } else {
    j["epsilon"] = x.epsilon;
  }
  return j;
}

std::vector<ExploreChoice> DrawExploration(const ExploreSettings& x, const std::vector<Arm>& pool,
                                           size_t slots, uint64_t seed) {
  size_t n = std::min(slots, pool.size());
  if (n == 0 || !x.enabled()) return {};
  if (x.policy == ExploreSettings::Policy::kEpsilonGreedy) return DrawEpsilonGreedy(x, pool, n, seed);
  return DrawThompson(x, pool, n, seed);
}

uint64_t ExploreSeed(const std::string& recommendation_id) {
  return StableHash("explore:" + recommendation_id);
}

}  // namespace pathwise::decide
