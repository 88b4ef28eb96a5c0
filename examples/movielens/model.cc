#include "examples/movielens/model.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <unordered_map>

namespace pathwise::demo {
namespace {

// Row-major dense matrix of doubles.
struct Dense {
  size_t rows = 0;
  size_t cols = 0;
  std::vector<double> v;
  Dense(size_t r, size_t c) : rows(r), cols(c), v(r * c, 0.0) {}
  double& at(size_t r, size_t c) { return v[r * cols + c]; }
  double at(size_t r, size_t c) const { return v[r * cols + c]; }
};

// Orthonormalizes the columns in place (modified Gram-Schmidt).
void Orthonormalize(Dense* m) {
  for (size_t c = 0; c < m->cols; ++c) {
    for (size_t p = 0; p < c; ++p) {
      double dot = 0;
      for (size_t r = 0; r < m->rows; ++r) dot += m->at(r, c) * m->at(r, p);
      for (size_t r = 0; r < m->rows; ++r) m->at(r, c) -= dot * m->at(r, p);
    }
    double norm = 0;
    for (size_t r = 0; r < m->rows; ++r) norm += m->at(r, c) * m->at(r, c);
    norm = std::sqrt(norm);
    if (norm < 1e-12) norm = 1;  // a degenerate direction stays ~zero
    for (size_t r = 0; r < m->rows; ++r) m->at(r, c) /= norm;
  }
}

// Y = A X with A the sparse user x movie matrix (ratings minus the user's mean when `centred`)
// and X a movie x l matrix.
Dense MultiplyA(const RatingMatrix& a, bool centred, const Dense& x) {
  Dense y(a.num_users, x.cols);
  for (size_t u = 0; u < a.num_users; ++u) {
    double shift = centred ? a.user_mean[u] : 0.0;
    for (const auto& [movie, rating] : a.by_user[u]) {
      double value = rating - shift;
      const double* row = &x.v[movie * x.cols];
      double* out = &y.v[u * x.cols];
      for (size_t c = 0; c < x.cols; ++c) out[c] += value * row[c];
    }
  }
  return y;
}

// Z = A^T Y with Y a user x l matrix.
Dense MultiplyAt(const RatingMatrix& a, bool centred, const Dense& y) {
  Dense z(a.num_movies, y.cols);
  for (size_t u = 0; u < a.num_users; ++u) {
    double shift = centred ? a.user_mean[u] : 0.0;
    const double* row = &y.v[u * y.cols];
    for (const auto& [movie, rating] : a.by_user[u]) {
      double value = rating - shift;
      double* out = &z.v[movie * y.cols];
      for (size_t c = 0; c < y.cols; ++c) out[c] += value * row[c];
    }
  }
  return z;
}

// Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations: values, and vectors
// as the columns of *vectors.
void JacobiEigen(Dense sym, std::vector<double>* values, Dense* vectors) {
  size_t n = sym.rows;
  *vectors = Dense(n, n);
  for (size_t i = 0; i < n; ++i) vectors->at(i, i) = 1;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0;
    for (size_t i = 0; i < n; ++i) {
      for (size_t j = i + 1; j < n; ++j) off += sym.at(i, j) * sym.at(i, j);
    }
    if (off < 1e-18) break;
    for (size_t p = 0; p < n; ++p) {
      for (size_t q = p + 1; q < n; ++q) {
        double apq = sym.at(p, q);
        if (std::fabs(apq) < 1e-300) continue;
        double theta = (sym.at(q, q) - sym.at(p, p)) / (2 * apq);
        double t = (theta >= 0 ? 1.0 : -1.0) / (std::fabs(theta) + std::sqrt(theta * theta + 1));
        double c = 1 / std::sqrt(t * t + 1);
        double s = t * c;
        for (size_t k = 0; k < n; ++k) {
          double akp = sym.at(k, p);
          double akq = sym.at(k, q);
          sym.at(k, p) = c * akp - s * akq;
          sym.at(k, q) = s * akp + c * akq;
        }
        for (size_t k = 0; k < n; ++k) {
          double apk = sym.at(p, k);
          double aqk = sym.at(q, k);
          sym.at(p, k) = c * apk - s * aqk;
          sym.at(q, k) = s * apk + c * aqk;
        }
        for (size_t k = 0; k < n; ++k) {
          double vkp = vectors->at(k, p);
          double vkq = vectors->at(k, q);
          vectors->at(k, p) = c * vkp - s * vkq;
          vectors->at(k, q) = s * vkp + c * vkq;
        }
      }
    }
  }
  values->resize(n);
  for (size_t i = 0; i < n; ++i) (*values)[i] = sym.at(i, i);
}

}  // namespace

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

std::vector<std::vector<Neighbour>> ComputeSimilarities(const RatingMatrix& matrix,
                                                        const SimilarityOptions& options) {
  auto value = [&](uint32_t user, float rating) -> double {
    return options.mean_centred ? rating - matrix.user_mean[user] : rating;
  };
  std::vector<double> norm(matrix.num_movies, 0);
  for (size_t m = 0; m < matrix.num_movies; ++m) {
    for (const auto& [user, rating] : matrix.by_movie[m]) {
      double x = value(user, rating);
      norm[m] += x * x;
    }
    norm[m] = std::sqrt(norm[m]);
  }
  std::vector<std::vector<Neighbour>> out(matrix.num_movies);
  std::vector<double> dot(matrix.num_movies, 0);
  std::vector<uint32_t> count(matrix.num_movies, 0);
  std::vector<uint32_t> touched;
  for (size_t m = 0; m < matrix.num_movies; ++m) {
    if (norm[m] == 0) continue;
    touched.clear();
    for (const auto& [user, rating] : matrix.by_movie[m]) {
      double x = value(user, rating);
      for (const auto& [other, other_rating] : matrix.by_user[user]) {
        if (other == m) continue;
        if (count[other] == 0) touched.push_back(other);
        ++count[other];
        dot[other] += x * value(user, other_rating);
      }
    }
    std::vector<Neighbour> candidates;
    for (uint32_t other : touched) {
      if (count[other] >= options.min_co_raters && norm[other] > 0 && dot[other] > 0) {
        double sim = dot[other] / (norm[m] * norm[other]);
        sim *= count[other] / (count[other] + options.shrinkage);
        candidates.push_back({other, static_cast<float>(sim), count[other]});
      }
      dot[other] = 0;
      count[other] = 0;
    }
    size_t keep = std::min(options.top_k, candidates.size());
    std::partial_sort(candidates.begin(), candidates.begin() + keep, candidates.end(),
                      [](const Neighbour& a, const Neighbour& b) {
                        return a.similarity != b.similarity ? a.similarity > b.similarity
                                                            : a.movie < b.movie;
                      });
    candidates.resize(keep);
    out[m] = std::move(candidates);
  }
  return out;
}

TruncatedSvd ComputeTruncatedSvd(const RatingMatrix& matrix, const EmbeddingOptions& options) {
  const bool centred = options.mean_centred;
  size_t width = options.dim + options.oversample;
  std::mt19937_64 rng(options.seed);
  std::normal_distribution<double> gaussian(0, 1);
  Dense omega(matrix.num_movies, width);
  for (double& x : omega.v) x = gaussian(rng);
  Dense y = MultiplyA(matrix, centred, omega);
  Orthonormalize(&y);
  for (size_t it = 0; it < options.power_iterations; ++it) {
    Dense z = MultiplyAt(matrix, centred, y);
    Orthonormalize(&z);
    y = MultiplyA(matrix, centred, z);
    Orthonormalize(&y);
  }
  // B^T = A^T Q (movies x width); C = B B^T (width x width) = W S^2 W^T.
  Dense bt = MultiplyAt(matrix, centred, y);
  Dense c(width, width);
  for (size_t m = 0; m < matrix.num_movies; ++m) {
    const double* row = &bt.v[m * width];
    for (size_t i = 0; i < width; ++i) {
      for (size_t j = i; j < width; ++j) c.at(i, j) += row[i] * row[j];
    }
  }
  for (size_t i = 0; i < width; ++i) {
    for (size_t j = 0; j < i; ++j) c.at(i, j) = c.at(j, i);
  }
  std::vector<double> eigenvalues;
  Dense w(0, 0);
  JacobiEigen(c, &eigenvalues, &w);
  std::vector<size_t> order(width);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return eigenvalues[a] > eigenvalues[b]; });
  TruncatedSvd out;
  out.rank = std::min(options.dim, width);
  out.u.assign(matrix.num_users * out.rank, 0);
  out.v.assign(matrix.num_movies * out.rank, 0);
  for (size_t k = 0; k < out.rank; ++k) {
    size_t col = order[k];
    double sigma = std::sqrt(std::max(0.0, eigenvalues[col]));
    out.singular_values.push_back(sigma);
    if (sigma < 1e-12) continue;  // a null direction: U and V columns stay zero
    // V = B^T W / S, U = Q W.
    for (size_t m = 0; m < matrix.num_movies; ++m) {
      double sum = 0;
      for (size_t i = 0; i < width; ++i) sum += bt.at(m, i) * w.at(i, col);
      out.v[m * out.rank + k] = sum / sigma;
    }
    for (size_t u = 0; u < matrix.num_users; ++u) {
      double sum = 0;
      for (size_t i = 0; i < width; ++i) sum += y.at(u, i) * w.at(i, col);
      out.u[u * out.rank + k] = sum;
    }
  }
  return out;
}

std::vector<double> PureSvdScores(const TruncatedSvd& svd,
                                  const std::vector<std::pair<uint32_t, float>>& row) {
  const size_t rank = svd.rank;
  std::vector<double> projected(rank, 0);  // r V
  for (const auto& [movie, rating] : row) {
    const double* v = &svd.v[movie * rank];
    for (size_t k = 0; k < rank; ++k) projected[k] += rating * v[k];
  }
  size_t movies = rank ? svd.v.size() / rank : 0;
  std::vector<double> scores(movies, 0);  // (r V) V^T
  for (size_t m = 0; m < movies; ++m) {
    const double* v = &svd.v[m * rank];
    double sum = 0;
    for (size_t k = 0; k < rank; ++k) sum += projected[k] * v[k];
    scores[m] = sum;
  }
  return scores;
}

Embeddings ComputeEmbeddings(const RatingMatrix& matrix, const EmbeddingOptions& options) {
  TruncatedSvd svd = ComputeTruncatedSvd(matrix, options);
  Embeddings out;
  out.dim = options.dim;
  out.singular_values = svd.singular_values;
  out.movie.assign(matrix.num_movies, std::vector<float>(options.dim, 0));
  out.user.assign(matrix.num_users, std::vector<float>(options.dim, 0));
  // movie vectors V sqrt(S), user vectors U sqrt(S).
  for (size_t k = 0; k < svd.rank; ++k) {
    double root = std::sqrt(svd.singular_values[k]);
    for (size_t m = 0; m < matrix.num_movies; ++m) {
      out.movie[m][k] = static_cast<float>(svd.v[m * svd.rank + k] * root);
    }
    for (size_t u = 0; u < matrix.num_users; ++u) {
      out.user[u][k] = static_cast<float>(svd.u[u * svd.rank + k] * root);
    }
  }
  return out;
}

double Cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    dot += double(a[i]) * b[i];
    na += double(a[i]) * a[i];
    nb += double(b[i]) * b[i];
  }
  if (na == 0 || nb == 0) return 0;
  return dot / std::sqrt(na * nb);
}

}  // namespace pathwise::demo
