// Fast Random Projection embeddings (jobs/fastrp.h).
#include "jobs/fastrp.h"

#include <cmath>

namespace pathwise::jobs {
namespace {

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Scales every row of m to norm 1; zero rows stay zero.
void NormalizeRows(Eigen::MatrixXd* m) {
  for (Eigen::Index r = 0; r < m->rows(); ++r) {
    double norm = m->row(r).norm();
    if (norm > 0) m->row(r) /= norm;
  }
}

}  // namespace

Eigen::MatrixXd VerySparseRandomMatrix(Eigen::Index rows, Eigen::Index dim, uint64_t seed) {
  const double value = std::sqrt(3.0);
  const uint64_t base = SplitMix64(seed);
  Eigen::MatrixXd r(rows, dim);
  for (Eigen::Index i = 0; i < rows; ++i) {
    const uint64_t row = SplitMix64(base ^ static_cast<uint64_t>(i));
    for (Eigen::Index c = 0; c < dim; ++c) {
      // The top 32 bits of the hash, uniform over [0, 2^32): 1/6 each for +-, 2/3 for 0 (the
      // bias of the split is below 2^-31).
      uint64_t u = SplitMix64(row + static_cast<uint64_t>(c)) >> 32;
      uint64_t sixth = (u * 6) >> 32;  // 0..5
      r(i, c) = sixth == 0 ? value : sixth == 1 ? -value : 0.0;
    }
  }
  return r;
}

Eigen::MatrixXd FastRp(const SparseAdjacency& adjacency, const FastRpOptions& options) {
  const Eigen::Index n = adjacency.rows();
  const Eigen::Index dim = static_cast<Eigen::Index>(options.dim);
  Eigen::VectorXd degree = adjacency * Eigen::VectorXd::Ones(adjacency.cols());
  Eigen::VectorXd inverse(n), scale(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    bool none = !(degree(i) > 0);
    inverse(i) = none ? 0.0 : 1.0 / degree(i);
    scale(i) = none ? 0.0 : std::pow(degree(i), options.normalization_strength);
  }
  SparseAdjacency transition = inverse.asDiagonal() * adjacency;
  Eigen::MatrixXd current = scale.asDiagonal() * VerySparseRandomMatrix(n, dim, options.seed);
  Eigen::MatrixXd embedding = Eigen::MatrixXd::Zero(n, dim);
  const size_t total = options.weights.size();
  for (size_t i = 0; i < total; ++i) {
    current = transition * current;
    if (options.weights[i] != 0) {
      Eigen::MatrixXd normalized = current;
      NormalizeRows(&normalized);
      embedding += options.weights[i] * normalized;
    }
    if (options.progress) options.progress(i + 1, total);
  }
  NormalizeRows(&embedding);
  return embedding;
}

}  // namespace pathwise::jobs
