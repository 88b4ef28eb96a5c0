#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "examples/movielens/evaluate.h"
#include "examples/movielens/model.h"

namespace demo = pathwise::demo;

namespace {

demo::BootstrapOptions Resamples(size_t n) {
  demo::BootstrapOptions options;
  options.resamples = n;
  return options;
}

// A rating matrix from a dense users x movies array; every entry (zeros too) is stored.
demo::RatingMatrix DenseMatrix(const std::vector<std::vector<double>>& rows) {
  demo::RatingMatrix m;
  m.num_users = rows.size();
  m.num_movies = rows.empty() ? 0 : rows[0].size();
  m.by_user.resize(m.num_users);
  m.by_movie.resize(m.num_movies);
  m.user_mean.assign(m.num_users, 0);
  for (uint32_t u = 0; u < m.num_users; ++u) {
    m.user_ids.push_back(u + 1);
    for (uint32_t j = 0; j < m.num_movies; ++j) {
      m.by_user[u].emplace_back(j, static_cast<float>(rows[u][j]));
      m.by_movie[j].emplace_back(u, static_cast<float>(rows[u][j]));
    }
  }
  return m;
}

std::vector<std::pair<uint32_t, float>> Row(const std::vector<double>& values) {
  std::vector<std::pair<uint32_t, float>> row;
  for (uint32_t j = 0; j < values.size(); ++j) row.emplace_back(j, static_cast<float>(values[j]));
  return row;
}

// Top-k eigenvectors of a symmetric matrix by power iteration with deflation (brute force,
// independent of the code under test).
std::vector<std::vector<double>> TopEigenvectors(std::vector<std::vector<double>> sym, size_t k) {
  size_t n = sym.size();
  std::vector<std::vector<double>> out;
  std::mt19937_64 rng(7);
  std::normal_distribution<double> gaussian(0, 1);
  for (size_t e = 0; e < k; ++e) {
    std::vector<double> x(n);
    for (double& v : x) v = gaussian(rng);
    double lambda = 0;
    for (int it = 0; it < 20000; ++it) {
      std::vector<double> y(n, 0);
      for (size_t i = 0; i < n; ++i) {
        for (size_t j = 0; j < n; ++j) y[i] += sym[i][j] * x[j];
      }
      double norm = 0;
      for (double v : y) norm += v * v;
      norm = std::sqrt(norm);
      lambda = norm;
      for (size_t i = 0; i < n; ++i) x[i] = y[i] / norm;
    }
    for (size_t i = 0; i < n; ++i) {
      for (size_t j = 0; j < n; ++j) sym[i][j] -= lambda * x[i] * x[j];
    }
    out.push_back(x);
  }
  return out;
}

}  // namespace

TEST_CASE("paired bootstrap of identical per-user vectors is exactly [0, 0]") {
  std::vector<double> a = {1, 0, 0, 1, 0.5, 0, 0.63, 1, 0, 0};
  auto difference = demo::PairedBootstrap(a, a, Resamples(2000));
  REQUIRE(difference.ok());
  CHECK(difference.value().mean == 0);
  CHECK(difference.value().low == 0);
  CHECK(difference.value().high == 0);
  CHECK(std::string(demo::Verdict(difference.value())) == "level");
}

TEST_CASE("paired bootstrap of a constant +1 shift is exactly [1, 1] even when the values vary") {
  std::vector<double> b = {0, 0.2, 0.9, 0, 0, 0.43, 0.1, 0, 1, 0};
  std::vector<double> a = b;
  for (double& v : a) v += 1;
  auto difference = demo::PairedBootstrap(a, b, Resamples(2000));
  REQUIRE(difference.ok());
  CHECK(difference.value().mean == doctest::Approx(1).epsilon(1e-12));
  CHECK(difference.value().low == doctest::Approx(1).epsilon(1e-12));
  CHECK(difference.value().high == doctest::Approx(1).epsilon(1e-12));
  CHECK(std::string(demo::Verdict(difference.value())) == "better");
  auto reverse = demo::PairedBootstrap(b, a, Resamples(2000));
  REQUIRE(reverse.ok());
  CHECK(std::string(demo::Verdict(reverse.value())) == "worse");
}

TEST_CASE("bootstrap of {0, 1} has mean 0.5 and an interval from 0 to 1") {
  // Resampled means are 0, 0.5, 1 with probabilities 1/4, 1/2, 1/4: both 2.5% tails are
  // inside the end atoms.
  demo::Interval i = demo::BootstrapMean({0, 1}, Resamples(10000));
  CHECK(i.mean == 0.5);
  CHECK(i.low == 0);
  CHECK(i.high == 1);
}

TEST_CASE("bootstrap interval of a hit rate matches the normal approximation") {
  // 400 users, 100 hits: standard error sqrt(0.25 * 0.75 / 400) = 0.0217, so about
  // 0.25 +- 0.042.
  std::vector<double> hits(400, 0);
  for (size_t i = 0; i < 100; ++i) hits[i * 4] = 1;
  demo::Interval i = demo::BootstrapMean(hits, demo::BootstrapOptions{});
  CHECK(i.mean == 0.25);
  CHECK(i.low == doctest::Approx(0.25 - 0.0424).epsilon(0.04));
  CHECK(i.high == doctest::Approx(0.25 + 0.0424).epsilon(0.04));
}

TEST_CASE("paired bootstrap sees a small consistent gain that unpaired intervals hide") {
  // Both methods hit the same 40 of 100 users; `a` also hits 8 more. The per-method intervals
  // overlap, the paired difference (0.08) is clearly above 0.
  std::vector<double> a(100, 0), b(100, 0);
  for (size_t i = 0; i < 40; ++i) a[i] = b[i] = 1;
  for (size_t i = 40; i < 48; ++i) a[i] = 1;
  demo::Interval ia = demo::BootstrapMean(a, demo::BootstrapOptions{});
  demo::Interval ib = demo::BootstrapMean(b, demo::BootstrapOptions{});
  CHECK(ia.low < ib.high);
  auto difference = demo::PairedBootstrap(a, b, demo::BootstrapOptions{});
  REQUIRE(difference.ok());
  CHECK(difference.value().mean == doctest::Approx(0.08));
  CHECK(difference.value().low > 0.02);
  CHECK(difference.value().high < 0.16);
}

TEST_CASE("bootstrap is deterministic for a seed and rejects unpaired sizes") {
  std::vector<double> a = {1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0};
  demo::Interval first = demo::BootstrapMean(a, demo::BootstrapOptions{});
  demo::Interval second = demo::BootstrapMean(a, demo::BootstrapOptions{});
  CHECK(first.low == second.low);
  CHECK(first.high == second.high);
  auto mismatch = demo::PairedBootstrap(a, {1, 0}, demo::BootstrapOptions{});
  CHECK_FALSE(mismatch.ok());
  CHECK(demo::BootstrapMean({}, demo::BootstrapOptions{}).mean == 0);
}

TEST_CASE("PureSVD recovers a matrix of known singular vectors and projects on the top ones") {
  // A = 6 u1 v1^T + 3 u2 v2^T + 1 u3 v3^T with orthonormal u's and v's.
  const double h = 0.5, r5 = 1 / std::sqrt(5.0), r2 = 1 / std::sqrt(2.0);
  std::vector<std::vector<double>> v = {{h, h, h, h}, {h, -h, h, -h}, {h, h, -h, -h}};
  std::vector<std::vector<double>> u = {
      {r5, r5, r5, r5, r5}, {r2, -r2, 0, 0, 0}, {0, 0, r2, -r2, 0}};
  std::vector<double> s = {6, 3, 1};
  std::vector<std::vector<double>> a(5, std::vector<double>(4, 0));
  for (size_t k = 0; k < 3; ++k) {
    for (size_t i = 0; i < 5; ++i) {
      for (size_t j = 0; j < 4; ++j) a[i][j] += s[k] * u[k][i] * v[k][j];
    }
  }
  for (auto& row : a) {
    for (double& x : row) x = static_cast<float>(x);  // ratings are stored as floats
  }
  demo::EmbeddingOptions options;
  options.dim = 2;
  options.oversample = 2;
  options.mean_centred = false;
  demo::TruncatedSvd svd = demo::ComputeTruncatedSvd(DenseMatrix(a), options);
  REQUIRE(svd.rank == 2);
  CHECK(svd.singular_values[0] == doctest::Approx(6).epsilon(1e-6));
  CHECK(svd.singular_values[1] == doctest::Approx(3).epsilon(1e-6));
  // Any row, in or out of the training matrix: scores are row * (v1 v1^T + v2 v2^T).
  std::vector<std::vector<double>> rows = a;
  rows.push_back({5, 0, 0, 3});
  for (const auto& row : rows) {
    std::vector<double> scores = demo::PureSvdScores(svd, Row(row));
    REQUIRE(scores.size() == 4);
    for (size_t j = 0; j < 4; ++j) {
      double expected = 0;
      for (size_t k = 0; k < 2; ++k) {
        double dot = 0;
        for (size_t i = 0; i < 4; ++i) dot += row[i] * v[k][i];
        expected += dot * v[k][j];
      }
      CHECK(scores[j] == doctest::Approx(expected).epsilon(1e-6));
    }
  }
}

TEST_CASE("PureSVD scores of a random sparse matrix equal a brute-force eigen projection") {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> coin(0, 1);
  std::vector<std::vector<double>> a(9, std::vector<double>(12, 0));
  for (auto& row : a) {
    for (double& x : row) x = coin(rng) < 0.4 ? double(1 + int(coin(rng) * 5)) : 0;
  }
  // Brute force: the top-3 eigenvectors of A^T A span the same space as the top-3 V.
  std::vector<std::vector<double>> gram(12, std::vector<double>(12, 0));
  for (const auto& row : a) {
    for (size_t i = 0; i < 12; ++i) {
      for (size_t j = 0; j < 12; ++j) gram[i][j] += row[i] * row[j];
    }
  }
  auto top = TopEigenvectors(gram, 3);
  demo::EmbeddingOptions options;
  options.dim = 3;
  options.oversample = 10;  // width 13 >= rank(A): the sketch captures A exactly
  options.mean_centred = false;
  demo::TruncatedSvd svd = demo::ComputeTruncatedSvd(DenseMatrix(a), options);
  for (const auto& row : a) {
    std::vector<double> scores = demo::PureSvdScores(svd, Row(row));
    for (size_t j = 0; j < 12; ++j) {
      double expected = 0;
      for (const auto& x : top) {
        double dot = 0;
        for (size_t i = 0; i < 12; ++i) dot += row[i] * x[i];
        expected += dot * x[j];
      }
      CHECK(scores[j] == doctest::Approx(expected).epsilon(1e-6));
    }
  }
}

namespace {

// max over k of ||A v_k - s_k u_k|| / s_k: 0 for exact singular triplets (A^T u_k = s_k v_k
// holds by construction of ComputeTruncatedSvd).
double MaxResidual(const demo::RatingMatrix& a, const demo::TruncatedSvd& svd) {
  size_t k = svd.rank;
  double worst = 0;
  for (size_t c = 0; c < k; ++c) {
    double sum = 0;
    for (size_t u = 0; u < a.num_users; ++u) {
      double av = 0;
      for (const auto& [movie, rating] : a.by_user[u]) av += rating * svd.v[movie * k + c];
      double r = av - svd.singular_values[c] * svd.u[u * k + c];
      sum += r * r;
    }
    worst = std::max(worst, std::sqrt(sum) / svd.singular_values[c]);
  }
  return worst;
}

}  // namespace

TEST_CASE("PureSVD at the evaluation settings has converged on MovieLens at rank 50") {
  // The demo's embedding settings (oversample 10, 4 power iterations) leave residuals of ~10%
  // at rank 50; the evaluation's PureSVD settings must get every triplet within 1%.
  auto data = demo::LoadDataset(std::string(PATHWISE_SOURCE_DIR) + "/examples/movielens-small");
  REQUIRE(data.ok());
  demo::Holdout split = demo::SplitLeaveLastOut(data.value(), 4.0);
  demo::RatingMatrix matrix = demo::BuildRatingMatrix(data.value(), split.train);
  demo::EmbeddingOptions options = demo::EvalOptions{}.pure_svd;
  REQUIRE(options.dim == 50);
  REQUIRE_FALSE(options.mean_centred);
  demo::TruncatedSvd svd = demo::ComputeTruncatedSvd(matrix, options);
  CHECK(MaxResidual(matrix, svd) < 0.01);
}

TEST_CASE("recipes are compared with unrestricted baselines and those of their own restriction") {
  auto method = [](std::string name, bool baseline, std::string restriction,
                   std::vector<double> hits) {
    demo::MethodScore s;
    s.method = std::move(name);
    s.baseline = baseline;
    s.restriction = std::move(restriction);
    s.users = hits.size();
    s.hit = hits;
    s.ndcg = hits;
    return s;
  };
  std::vector<demo::MethodScore> scores = {
      method("popularity", true, "", {0, 0, 1, 0}),
      method("popularity in genre", true, "top genre", {0, 0, 0, 0}),
      method("popularity in 2 genres", true, "top 2 genres", {0, 1, 0, 0}),
      method("plain recipe", false, "", {1, 1, 1, 1}),
      method("genre recipe", false, "top genre", {1, 0, 1, 0}),
  };
  auto comparisons = demo::CompareWithBaselines(scores, Resamples(1000));
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const auto& c : comparisons) pairs.emplace_back(c.method, c.baseline);
  std::vector<std::pair<std::string, std::string>> expected = {
      {"plain recipe", "popularity"},
      {"genre recipe", "popularity"},
      {"genre recipe", "popularity in genre"},
  };
  CHECK(pairs == expected);
  REQUIRE(comparisons.size() == 3);
  CHECK(comparisons[0].hit_rate.mean == doctest::Approx(0.75));  // 4 hits minus 1, of 4
  CHECK(comparisons[2].ndcg.mean == doctest::Approx(0.5));
}
