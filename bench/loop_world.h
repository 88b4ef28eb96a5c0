// `pathwise bench loop`'s synthetic world (bench/loop_bench.cc, docs/feedback-loop.md "Simulated
// users"): ground-truth latent factors, item biases, content vectors and the true click model,
// and the world as NDJSON for Database::Load. Deterministic in the seed.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace pathwise::bench::loop {

inline constexpr const char* kNewItem = "new";  // the id of the item injected half way

// splitmix64: the world and the clicks depend on (seed, stream, index) only, not on thread order.
inline uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
class Rng {
 public:
  Rng(uint64_t seed, uint64_t stream, uint64_t index)
      : state_(Mix(seed ^ Mix(stream * 0x1000003ULL + index))) {}
  double Uniform() {
    state_ = Mix(state_);
    return static_cast<double>(state_ >> 11) * 0x1.0p-53;
  }
  double Gaussian() {
    double u1 = std::max(Uniform(), 1e-300), u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  uint64_t state_;
};

struct WorldOptions {
  size_t items = 2000, users = 300, dim = 8, k = 10, rounds = 20, history = 10, neighbours = 10;
  size_t inject_round = 10;
  uint64_t seed = 42;
  double a = -4.0, b = 1.5;  // p = position_bias(slot) * sigmoid(a + bias_i + b * u.v_i)
  double new_item_bias = 2.5;
  double uptake_share = 0.1;
};

// Ground truth: latent factors (variance of u.v about 1), item biases, content vectors (noisy
// factors) from which SIMILAR_TO is built.
struct World {
  WorldOptions o;
  std::vector<std::vector<double>> user, item, content;
  std::vector<double> bias;

  static double Sigmoid(double x) { return 1 / (1 + std::exp(-x)); }
  static double PositionBias(size_t slot) { return 1 / std::log2(2.0 + static_cast<double>(slot)); }
  size_t NewIndex() const { return o.items; }  // the injected item's index
  std::string ItemName(size_t i) const {
    return i == NewIndex() ? kNewItem : "i" + std::to_string(i);
  }
  double Affinity(size_t u, size_t i) const {
    double dot = 0;
    for (size_t d = 0; d < o.dim; ++d) dot += user[u][d] * item[i][d];
    return Sigmoid(o.a + bias[i] + o.b * dot);
  }

  explicit World(const WorldOptions& opts);

  // The `neighbours` items most cosine-similar to item i by content (excluding i and, unless
  // with_new, the injected item), with weights in (0, 1].
  std::vector<std::pair<size_t, double>> Neighbours(size_t i, bool with_new) const;
};

// One edge line of the bulk format.
std::string EdgeLine(const std::string& type, const std::string& from_type, const std::string& from,
                     const std::string& to_type, const std::string& to, double weight);

// The schema, catalog, SIMILAR_TO and each user's seed history (`history` clicks drawn by true
// preference, without position bias), as NDJSON for Database::Load; *seed_clicks: how many.
std::string WorldNdjson(const World& w, size_t* seed_clicks);

}  // namespace pathwise::bench::loop
