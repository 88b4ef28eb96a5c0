#include "examples/movielens/rating_matrix.h"

#include <unordered_map>

namespace pathwise::demo {

RatingMatrix BuildRatingMatrix(const Dataset& data, const std::vector<Rating>& ratings) {
  RatingMatrix m;
  m.num_movies = data.movies.size();
  m.user_ids = data.users;
  m.num_users = m.user_ids.size();
  std::unordered_map<int64_t, uint32_t> user_index;
  for (size_t u = 0; u < m.user_ids.size(); ++u) user_index[m.user_ids[u]] = u;
  m.by_user.resize(m.num_users);
  m.by_movie.resize(m.num_movies);
  for (const Rating& r : ratings) {
    auto uit = user_index.find(r.user);
    auto mit = data.movie_index.find(r.movie);
    if (uit == user_index.end() || mit == data.movie_index.end()) continue;
    m.by_user[uit->second].emplace_back(mit->second, static_cast<float>(r.rating));
    m.by_movie[mit->second].emplace_back(uit->second, static_cast<float>(r.rating));
  }
  m.user_mean.assign(m.num_users, 0);
  for (size_t u = 0; u < m.num_users; ++u) {
    double sum = 0;
    for (const auto& entry : m.by_user[u]) sum += entry.second;
    m.user_mean[u] = m.by_user[u].empty() ? 0 : sum / m.by_user[u].size();
  }
  return m;
}

}  // namespace pathwise::demo
