// The randomized truncated SVD (jobs/randomized_svd.h).
#include "jobs/randomized_svd.h"

#include <algorithm>
#include <random>

#include <Eigen/QR>
#include <Eigen/SVD>

namespace pathwise::jobs {
namespace {

// The thin Q of y's QR factorisation: an orthonormal basis of y's columns.
Eigen::MatrixXd Orthonormal(const Eigen::MatrixXd& y) {
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(y);
  return qr.householderQ() * Eigen::MatrixXd::Identity(y.rows(), y.cols());
}

Eigen::MatrixXd GaussianSketch(Eigen::Index rows, Eigen::Index cols, uint64_t seed) {
  std::mt19937_64 generator(seed);
  std::normal_distribution<double> normal;
  Eigen::MatrixXd omega(rows, cols);
  for (Eigen::Index c = 0; c < cols; ++c) {
    for (Eigen::Index r = 0; r < rows; ++r) omega(r, c) = normal(generator);
  }
  return omega;
}

}  // namespace

TruncatedSvd RandomizedSvd(const SparseRows& a, const SvdOptions& options) {
  const Eigen::Index rank = static_cast<Eigen::Index>(options.rank);
  const Eigen::Index width = std::min<Eigen::Index>(
      rank + static_cast<Eigen::Index>(options.oversample), std::min(a.rows(), a.cols()));
  const size_t total = 2 * options.power_iterations + 2;
  size_t done = 0;
  auto step = [&] {
    if (options.progress) options.progress(++done, total);
  };
  // Range finder: Q spans the dominant column space of (A A^T)^q A.
  Eigen::MatrixXd q = Orthonormal(a * GaussianSketch(a.cols(), width, options.seed));
  step();
  for (size_t it = 0; it < options.power_iterations; ++it) {
    Eigen::MatrixXd z = Orthonormal(a.transpose() * q);
    step();
    q = Orthonormal(a * z);
    step();
  }
  // B = Q^T A = Z^T with Z = A^T Q = Q2 R, so B = R^T Q2^T and, with R^T = Us S Vs^T,
  // B's right singular vectors are Q2 Vs.
  Eigen::MatrixXd z = a.transpose() * q;
  step();
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(z);
  Eigen::MatrixXd q2 = qr.householderQ() * Eigen::MatrixXd::Identity(z.rows(), width);
  Eigen::MatrixXd r = qr.matrixQR().topLeftCorner(width, width).triangularView<Eigen::Upper>();
  Eigen::JacobiSVD<Eigen::MatrixXd> small(r.transpose(), Eigen::ComputeFullV);
  TruncatedSvd out;
  out.singular_values = small.singularValues().head(rank);
  out.right_vectors = q2 * small.matrixV().leftCols(rank);
  return out;
}

}  // namespace pathwise::jobs
