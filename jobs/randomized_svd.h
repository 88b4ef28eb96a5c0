// Internal to jobs/: a rank-r truncated SVD of a sparse matrix by randomized range finding with
// power iterations (Halko, Martinsson, Tropp, "Finding structure with randomness", SIAM Review
// 2011, algorithms 4.4 and 5.1). Eigen's types stay inside jobs/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

#include <Eigen/Dense>
#include <Eigen/SparseCore>

namespace pathwise::jobs {

using SparseRows = Eigen::SparseMatrix<double, Eigen::RowMajor>;

struct SvdOptions {
  size_t rank = 64;
  // Extra columns of the random sketch beyond rank (accuracy of the last singular vectors).
  size_t oversample = 10;
  // Each iteration multiplies by A^T and A once more, sharpening the spectrum's decay.
  size_t power_iterations = 4;
  uint64_t seed = 1;  // the Gaussian sketch's generator: the same seed gives the same result
  // Called after each product with A or A^T: (done, total).
  std::function<void(size_t, size_t)> progress;
};

struct TruncatedSvd {
  Eigen::VectorXd singular_values;  // rank values, largest first
  Eigen::MatrixXd right_vectors;    // cols(A) x rank, orthonormal columns (the item factors V)
};

// A ~= U diag(singular_values) V^T for a matrix a (users x items).
// REQUIRES: 1 <= rank <= min(a.rows(), a.cols()).
// Cost: (2 * power_iterations + 2) sparse products with a dense block of rank + oversample
// columns, and as many thin QR factorisations of rows x (rank + oversample) and
// cols x (rank + oversample) blocks; memory about 4 such blocks of cols(A) rows, in doubles.
TruncatedSvd RandomizedSvd(const SparseRows& a, const SvdOptions& options);

}  // namespace pathwise::jobs
