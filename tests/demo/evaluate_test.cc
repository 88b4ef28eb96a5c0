#include <doctest/doctest.h>

#include <unistd.h>
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <vector>

#include "db/database.h"
#include "examples/movielens/evaluate.h"
#include "examples/movielens/graph_builder.h"
#include "examples/movielens/rating_matrix.h"

namespace demo = pathwise::demo;

namespace {

demo::BootstrapOptions Resamples(size_t n) {
  demo::BootstrapOptions options;
  options.resamples = n;
  return options;
}

// A scratch database holding a users x movies rating matrix as RATED edges (zero entries are
// missing ratings): users "u0".., movies "m0"...
struct MatrixDb {
  std::string dir;
  std::unique_ptr<pathwise::Database> db;
  explicit MatrixDb(const std::vector<std::vector<double>>& rows) {
    dir = (std::filesystem::temp_directory_path() /
           ("pathwise-evaluate-test-" + std::to_string(::getpid())))
              .string();
    std::filesystem::remove_all(dir);
    auto opened = pathwise::Database::Open({}, dir);
    REQUIRE(opened.ok());
    db = std::move(opened).value();
    REQUIRE(db->MergeSchema(R"({"node_types": [{"name": "User"}, {"name": "Movie"}],
        "edge_types": [{"name": "RATED", "mode": "replace", "from": "User", "to": "Movie"}]})")
                .ok());
    pathwise::WriteSet set;
    for (size_t j = 0; j < rows[0].size(); ++j) {
      set.ops.emplace_back(pathwise::NodeWrite{
          pathwise::NodeWrite::Op::kUpsert, "Movie", "m" + std::to_string(j), {}});
    }
    for (size_t u = 0; u < rows.size(); ++u) {
      set.ops.emplace_back(pathwise::NodeWrite{
          pathwise::NodeWrite::Op::kUpsert, "User", "u" + std::to_string(u), {}});
      for (size_t j = 0; j < rows[u].size(); ++j) {
        if (rows[u][j] == 0) continue;
        pathwise::EdgeWrite e;
        e.type = "RATED";
        e.from = {"User", "u" + std::to_string(u), false};
        e.to = {"Movie", "m" + std::to_string(j), false};
        e.weight = rows[u][j];
        set.ops.emplace_back(std::move(e));
      }
    }
    REQUIRE(db->Apply(set).ok());
  }
  ~MatrixDb() {
    db.reset();
    std::filesystem::remove_all(dir);
  }
  // PureSVD score of user u for movie j from the svd job's vectors (user . movie).
  double Score(size_t u, size_t j) const {
    auto user = db->GetVector("User.puresvd", "u" + std::to_string(u));
    auto movie = db->GetVector("Movie.puresvd", "m" + std::to_string(j));
    REQUIRE(user.ok());
    REQUIRE(movie.ok());
    double dot = 0;
    for (size_t k = 0; k < user.value().size(); ++k) dot += user.value()[k] * movie.value()[k];
    return dot;
  }
};

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
  // The baseline's svd job on that matrix (users and movies all have ratings).
  demo::PureSvdOptions options;
  options.rank = 3;
  options.oversample = 6;  // width 9 >= rank(A): the sketch captures A exactly
  MatrixDb matrix(a);
  auto record = demo::RunDemoJob(matrix.db.get(), "svd", demo::PureSvdJobParams(options));
  REQUIRE_MESSAGE(record.ok(), record.status().message());
  for (size_t u = 0; u < a.size(); ++u) {
    const auto& row = a[u];
    for (size_t j = 0; j < 12; ++j) {
      double expected = 0;
      for (const auto& x : top) {
        double dot = 0;
        for (size_t i = 0; i < 12; ++i) dot += row[i] * x[i];
        expected += dot * x[j];
      }
      CHECK(matrix.Score(u, j) == doctest::Approx(expected).epsilon(1e-4));
    }
  }
}

namespace {

// max over k of ||A^T A v_k - s_k^2 v_k|| / s_k^2, for the svd job's item vectors v (V, with
// item_scaling 0) and singular values s: 0 for exact right singular vectors.
double MaxResidual(const demo::Dataset& data, const demo::RatingMatrix& a,
                   const pathwise::Database& db, const std::vector<double>& s) {
  const size_t rank = s.size();
  std::vector<std::vector<float>> v(a.num_movies);
  for (size_t m = 0; m < a.num_movies; ++m) {
    auto vector = db.GetVector("Movie.puresvd", std::to_string(data.movies[m].id));
    v[m] = vector.ok() ? vector.value() : std::vector<float>(rank, 0);
  }
  double worst = 0;
  for (size_t c = 0; c < rank; ++c) {
    std::vector<double> atav(a.num_movies, 0);
    for (size_t u = 0; u < a.num_users; ++u) {
      double av = 0;
      for (const auto& [movie, rating] : a.by_user[u]) av += rating * v[movie][c];
      for (const auto& [movie, rating] : a.by_user[u]) atav[movie] += rating * av;
    }
    double sum = 0;
    for (size_t m = 0; m < a.num_movies; ++m) {
      double r = atav[m] - s[c] * s[c] * v[m][c];
      sum += r * r;
    }
    worst = std::max(worst, std::sqrt(sum) / (s[c] * s[c]));
  }
  return worst;
}

}  // namespace

TEST_CASE("PureSVD at the evaluation settings has converged on MovieLens at rank 50") {
  // The demo's embedding settings (oversample 10, 4 power iterations) leave residuals of ~10%
  // at rank 50; the evaluation's PureSVD settings must get every singular vector within 1%
  // (the vectors are stored as floats, which bounds the residual from below).
  auto data = demo::LoadDataset(std::string(PATHWISE_SOURCE_DIR) + "/examples/movielens-small");
  REQUIRE(data.ok());
  demo::Holdout split = demo::SplitLeaveLastOut(data.value(), 4.0);
  demo::PureSvdOptions options = demo::EvalOptions{}.pure_svd;
  REQUIRE(options.rank == 50);
  // Only the RATED edges of the training split: what the baseline's job reads.
  demo::RatingMatrix a = demo::BuildRatingMatrix(data.value(), split.train);
  MatrixDb db(std::vector<std::vector<double>>{{0.0}});  // no RATED edge yet
  pathwise::WriteSet set;
  for (const demo::Movie& movie : data.value().movies) {
    set.ops.emplace_back(pathwise::NodeWrite{
        pathwise::NodeWrite::Op::kUpsert, "Movie", std::to_string(movie.id), {}});
  }
  for (int64_t user : data.value().users) {
    set.ops.emplace_back(
        pathwise::NodeWrite{pathwise::NodeWrite::Op::kUpsert, "User", std::to_string(user), {}});
  }
  for (const demo::Rating& r : split.train) {
    pathwise::EdgeWrite e;
    e.type = "RATED";
    e.from = {"User", std::to_string(r.user), false};
    e.to = {"Movie", std::to_string(r.movie), false};
    e.weight = r.rating;
    set.ops.emplace_back(std::move(e));
  }
  REQUIRE(db.db->Apply(set).ok());
  auto record = demo::RunDemoJob(db.db.get(), "svd", demo::PureSvdJobParams(options));
  REQUIRE_MESSAGE(record.ok(), record.status().message());
  std::vector<double> s = record.value()["result"]["singular_values"];
  REQUIRE(s.size() == 50);
  double residual = MaxResidual(data.value(), a, *db.db, s);
  MESSAGE("max residual " << residual);
  CHECK(residual < 0.01);
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
