// What the demo learns from the ratings: co-rating item similarity (SIMILAR_TO edges, also the
// item-KNN baseline) and a truncated SVD (Movie.embedding / User.taste vectors).
#pragma once

#include <cstdint>
#include <vector>

#include "examples/movielens/dataset.h"

namespace pathwise::demo {

// Ratings indexed densely: users 0..U-1 (in Dataset::users order), movies 0..M-1 (in
// Dataset::movies order).
struct RatingMatrix {
  size_t num_users = 0;
  size_t num_movies = 0;
  std::vector<int64_t> user_ids;                            // dense user -> external id
  std::vector<std::vector<std::pair<uint32_t, float>>> by_user;   // (movie, rating)
  std::vector<std::vector<std::pair<uint32_t, float>>> by_movie;  // (user, rating)
  std::vector<float> user_mean;
};

// Builds the matrix from `ratings` (a subset of data.ratings, e.g. a training split).
RatingMatrix BuildRatingMatrix(const Dataset& data, const std::vector<Rating>& ratings);

struct SimilarityOptions {
  size_t top_k = 20;          // neighbours kept per movie
  size_t min_co_raters = 5;   // pairs rated by fewer users are ignored
  bool mean_centred = false;  // adjusted cosine (ratings minus the user's mean) vs plain cosine
  double shrinkage = 10;      // sim * n / (n + shrinkage), n = co-raters (damps thin evidence)
};

struct Neighbour {
  uint32_t movie = 0;
  float similarity = 0;
  uint32_t co_raters = 0;
};

// For each movie, its top_k most similar movies (positive similarity only), best first.
std::vector<std::vector<Neighbour>> ComputeSimilarities(const RatingMatrix& matrix,
                                                        const SimilarityOptions& options);

struct EmbeddingOptions {
  size_t dim = 32;
  size_t oversample = 10;
  size_t power_iterations = 4;
  uint64_t seed = 42;
  // true: factor the ratings minus each user's mean (the demo's embeddings); false: the raw
  // ratings with missing entries as 0 (PureSVD).
  bool mean_centred = true;
};

// A rank-k truncated SVD A ~ U S V^T of the user x movie rating matrix.
struct TruncatedSvd {
  size_t rank = 0;
  std::vector<double> singular_values;  // descending, `rank` of them
  std::vector<double> u;                // num_users x rank, row-major, orthonormal columns
  std::vector<double> v;                // num_movies x rank, row-major, orthonormal columns
};

// Rank options.dim SVD by randomized subspace iteration (Halko, Martinsson, Tropp 2011): a
// Gaussian start of dim + oversample columns, power_iterations rounds of A A^T with
// re-orthonormalization, then the exact SVD of the projected matrix. Accuracy grows with both
// oversample and power_iterations (docs/quality.md records the settings PureSVD needs).
TruncatedSvd ComputeTruncatedSvd(const RatingMatrix& matrix, const EmbeddingOptions& options);

// PureSVD (Cremonesi, Koren, Turrin 2010) scores for one user: r V V^T, with r the user's rating
// row (missing = 0) and V the right singular vectors of `svd` (computed with mean_centred =
// false). One score per movie, training items included (callers exclude them).
std::vector<double> PureSvdScores(const TruncatedSvd& svd,
                                  const std::vector<std::pair<uint32_t, float>>& row);

struct Embeddings {
  size_t dim = 0;
  std::vector<std::vector<float>> movie;  // per dense movie; zero vector if never rated
  std::vector<std::vector<float>> user;   // per dense user
  std::vector<double> singular_values;
};

// ComputeTruncatedSvd of the (by default user-mean-centred) rating matrix as vectors for the
// inner-product metric (user . movie is the predicted centred rating):
// movie vectors V*sqrt(S), user vectors U*sqrt(S), so user·movie approximates the centred rating.
Embeddings ComputeEmbeddings(const RatingMatrix& matrix, const EmbeddingOptions& options);

// Cosine similarity of two vectors (0 if either is zero).
double Cosine(const std::vector<float>& a, const std::vector<float>& b);

}  // namespace pathwise::demo
