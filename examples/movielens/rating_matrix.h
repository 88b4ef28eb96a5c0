// The ratings as a dense-indexed matrix: the movies' rating counts and means in the demo graph,
// and the evaluation's training rows (its baselines and the users' favourite genres). The
// learned models (SIMILAR_TO edges, embeddings) are built by the database's jobs instead
// (graph_builder.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "examples/movielens/dataset.h"

namespace pathwise::demo {

// Ratings indexed densely: users 0..U-1 (in Dataset::users order), movies 0..M-1 (in
// Dataset::movies order).
struct RatingMatrix {
  size_t num_users = 0;
  size_t num_movies = 0;
  std::vector<int64_t> user_ids;                                  // dense user -> external id
  std::vector<std::vector<std::pair<uint32_t, float>>> by_user;   // (movie, rating)
  std::vector<std::vector<std::pair<uint32_t, float>>> by_movie;  // (user, rating)
  std::vector<float> user_mean;
};

// Builds the matrix from `ratings` (a subset of data.ratings, e.g. a training split).
RatingMatrix BuildRatingMatrix(const Dataset& data, const std::vector<Rating>& ratings);

}  // namespace pathwise::demo
