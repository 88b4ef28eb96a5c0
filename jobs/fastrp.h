// Internal to jobs/: the core of the "fastrp" job (docs/jobs.md, "fastrp"): Fast Random
// Projection node embeddings (Chen, Sultan, Tian, Chen, Skiena, "Fast and Accurate Network
// Embeddings via Very Sparse Random Projection", CIKM 2019). Eigen's types stay inside jobs/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include <Eigen/Dense>
#include <Eigen/SparseCore>

namespace pathwise::jobs {

using SparseAdjacency = Eigen::SparseMatrix<double, Eigen::RowMajor>;

struct FastRpOptions {
  size_t dim = 128;
  // weights[i] is the weight of iteration i + 1 (of N_{i+1}); there are weights.size()
  // iterations. REQUIRES: 1 <= size, every weight >= 0 and finite.
  std::vector<double> weights = {0, 1, 1};
  double normalization_strength = 0;  // beta: column j of R is scaled by degree(j)^beta
  uint64_t seed = 1;
  // Called after each iteration: (done, total = weights.size()).
  std::function<void(size_t, size_t)> progress;
};

// The very sparse random matrix R (rows x dim) with s = 3 (Achlioptas): each entry is +sqrt(3)
// with probability 1/6, -sqrt(3) with probability 1/6 and 0 otherwise. Entry (r, c) is a
// function of (seed, r, c) only (a SplitMix64 hash), so the same seed gives the same matrix on
// every platform, and a larger matrix with the same seed extends a smaller one.
Eigen::MatrixXd VerySparseRandomMatrix(Eigen::Index rows, Eigen::Index dim, uint64_t seed);

// FastRP over a graph given by its n x n adjacency S (S(u, v): the weight of the edges between
// u and v; symmetric for an undirected graph, though this function does not require it):
//   d     = S's row sums (weighted degrees); P = D^-1 S (a row with d = 0 stays 0)
//   L     = diag(d^beta) (beta = normalization_strength; 0^beta counts 0 for d = 0)
//   N_1   = P L R,   N_i = P N_{i-1}         (R = VerySparseRandomMatrix(n, dim, seed))
//   E     = sum_i weights[i-1] * rownormalize(N_i)
// and returns E with its rows L2-normalised (n x dim). rownormalize scales each row to norm 1;
// a zero row stays zero (a node without edges, or whose neighbourhood projects to zero).
// Cost: weights.size() sparse products of S with an n x dim dense block (nnz(S) x dim each);
// memory about four n x dim blocks of doubles.
Eigen::MatrixXd FastRp(const SparseAdjacency& adjacency, const FastRpOptions& options);

}  // namespace pathwise::jobs
