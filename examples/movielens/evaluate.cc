#include "examples/movielens/evaluate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include <unistd.h>

#include "db/database.h"
#include "examples/movielens/graph_builder.h"
#include "examples/movielens/rating_matrix.h"
#include "graph/similarity.h"

namespace pathwise::demo {
namespace {

// Adds one ranked list's outcome: hit if `target` is in the first k, NDCG = 1/log2(rank+1).
void Score(const std::vector<int64_t>& ranked, int64_t target, size_t k, MethodScore* out) {
  ++out->users;
  for (size_t i = 0; i < ranked.size() && i < k; ++i) {
    if (ranked[i] == target) {
      double gain = 1.0 / std::log2(double(i) + 2.0);
      ++out->hits;
      out->ndcg_sum += gain;
      out->hit.push_back(1);
      out->ndcg.push_back(gain);
      return;
    }
  }
  out->hit.push_back(0);
  out->ndcg.push_back(0);
}

// Top k of scores (movie index -> score) excluding rated movies, as external movie ids.
std::vector<int64_t> TopK(const Dataset& data, const std::vector<double>& scores,
                          const std::unordered_set<uint32_t>& rated, size_t k) {
  std::vector<uint32_t> order;
  for (uint32_t m = 0; m < scores.size(); ++m) {
    if (!rated.count(m) && scores[m] > -1e300) order.push_back(m);
  }
  size_t keep = std::min(k, order.size());
  std::partial_sort(order.begin(), order.begin() + keep, order.end(), [&](uint32_t a, uint32_t b) {
    return scores[a] != scores[b] ? scores[a] > scores[b] : a < b;
  });
  std::vector<int64_t> out;
  for (size_t i = 0; i < keep; ++i) out.push_back(data.movies[order[i]].id);
  return out;
}

// The user's favourite genres in training (count of ratings >= 4), most frequent first.
std::vector<std::string> TopGenres(const Dataset& data, const RatingMatrix& matrix, size_t user,
                                   size_t n) {
  std::map<std::string, int> counts;
  for (const auto& [movie, rating] : matrix.by_user[user]) {
    if (rating < 4) continue;
    for (const auto& g : data.movies[movie].genres) ++counts[g];
  }
  std::vector<std::pair<int, std::string>> sorted;
  for (const auto& [g, c] : counts) sorted.push_back({-c, g});
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::string> out;
  for (size_t i = 0; i < sorted.size() && i < n; ++i) out.push_back(sorted[i].second);
  if (out.empty()) out.push_back("Drama");
  return out;
}

MethodScore Named(std::string name, bool baseline = false, std::string restriction = "") {
  MethodScore s;
  s.method = std::move(name);
  s.baseline = baseline;
  s.restriction = std::move(restriction);
  return s;
}

// The p-quantile (0..1) of sorted values, interpolating linearly between order statistics.
double Quantile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  double position = p * double(sorted.size() - 1);
  size_t below = static_cast<size_t>(std::floor(position));
  size_t above = std::min(below + 1, sorted.size() - 1);
  double fraction = position - double(below);
  return sorted[below] + fraction * (sorted[above] - sorted[below]);
}

// (movie, similarity) neighbours per dense movie index.
using NeighbourLists = std::vector<std::vector<std::pair<uint32_t, float>>>;

// Item-KNN neighbourhoods from graph::ItemSimilarity (the similarity job's computation) over the
// training database's RATED edges, with the demo's measure and k neighbours per movie.
Result<NeighbourLists> KnnNeighbours(const Database& db, const Dataset& data,
                                     const nlohmann::json& job, size_t k) {
  NeighbourLists out(data.movies.size());
  PW_RETURN_IF_ERROR(db.ReadGraph([&](const graph::Graph& g, const Schema& schema) -> Status {
    const EdgeTypeDef* rated = schema.FindEdgeType(job.value("edge", "RATED"));
    const NodeTypeDef* movie = schema.FindNodeType("Movie");
    if (rated == nullptr || movie == nullptr) return Status::Internal("demo schema missing");
    graph::SimilarityOptions options;
    options.edge_type = rated->id;
    options.item_type = movie->id;
    PW_ASSIGN_OR_RETURN(options.measure,
                        graph::ParseSimilarityMeasure(job.value("measure", "cosine")));
    options.k = k;
    options.shrink = job.value("shrink", 0.0);
    options.min_cooccurrence = job.value("min_cooccurrence", 1u);
    options.weighted = job.value("weighted", false);
    PW_ASSIGN_OR_RETURN(graph::SimilarityResult model, graph::ItemSimilarity(g, options));
    std::unordered_map<NodeId, uint32_t> dense;
    for (size_t m = 0; m < data.movies.size(); ++m) {
      NodeId node = g.Lookup(movie->id, std::to_string(data.movies[m].id));
      if (node != kInvalidNode) dense[node] = static_cast<uint32_t>(m);
    }
    for (size_t i = 0; i < model.items.size(); ++i) {
      auto item = dense.find(model.items[i]);
      if (item == dense.end()) continue;
      for (size_t n = model.offsets[i]; n < model.offsets[i + 1]; ++n) {
        auto other = dense.find(model.neighbors[n].node);
        if (other == dense.end()) continue;
        out[item->second].emplace_back(other->second, model.neighbors[n].score);
      }
    }
    return Status::OK();
  }));
  return out;
}

// The vectors of one space per dense index (empty when the node has none).
std::vector<std::vector<float>> ReadVectors(const Database& db, const std::string& space,
                                            const std::vector<std::string>& ids) {
  std::vector<std::vector<float>> out(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    auto vector = db.GetVector(space, ids[i]);
    if (vector.ok()) out[i] = std::move(vector).value();
  }
  return out;
}

double Dot(const std::vector<float>& a, const std::vector<float>& b) {
  double sum = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) sum += double(a[i]) * b[i];
  return sum;
}

}  // namespace

nlohmann::json PureSvdJobParams(const PureSvdOptions& options) {
  return {{"edge", "RATED"},
          {"item_space", "Movie.puresvd"},
          {"user_space", "User.puresvd"},
          {"rank", options.rank},
          {"oversample", options.oversample},
          {"iterations", options.iterations},
          {"seed", options.seed},
          {"item_scaling", 0}};
}

Interval BootstrapMean(const std::vector<double>& values, const BootstrapOptions& options) {
  Interval out;
  if (values.empty()) return out;
  const size_t n = values.size();
  double sum = 0;
  for (double v : values) sum += v;
  out.mean = sum / double(n);
  std::mt19937_64 rng(options.seed);
  std::uniform_int_distribution<size_t> pick(0, n - 1);
  std::vector<double> means(options.resamples);
  for (double& mean : means) {
    double total = 0;
    for (size_t i = 0; i < n; ++i) total += values[pick(rng)];
    mean = total / double(n);
  }
  std::sort(means.begin(), means.end());
  out.low = Quantile(means, 0.025);
  out.high = Quantile(means, 0.975);
  if (means.empty()) out.low = out.high = out.mean;
  return out;
}

Result<Interval> PairedBootstrap(const std::vector<double>& a, const std::vector<double>& b,
                                 const BootstrapOptions& options) {
  if (a.size() != b.size()) {
    return Status::InvalidArgument("paired bootstrap needs one value per user on both sides (" +
                                   std::to_string(a.size()) + " vs " +
                                   std::to_string(b.size()) + ")");
  }
  std::vector<double> difference(a.size());
  for (size_t i = 0; i < a.size(); ++i) difference[i] = a[i] - b[i];
  return BootstrapMean(difference, options);
}

const char* Verdict(const Interval& difference) {
  if (difference.low > 0) return "better";
  if (difference.high < 0) return "worse";
  return "level";
}

std::vector<Comparison> CompareWithBaselines(const std::vector<MethodScore>& scores,
                                             const BootstrapOptions& options) {
  std::vector<Comparison> out;
  for (const MethodScore& method : scores) {
    if (method.baseline) continue;
    for (const MethodScore& baseline : scores) {
      if (!baseline.baseline) continue;
      if (!baseline.restriction.empty() && baseline.restriction != method.restriction) continue;
      auto hit = PairedBootstrap(method.hit, baseline.hit, options);
      auto ndcg = PairedBootstrap(method.ndcg, baseline.ndcg, options);
      if (!hit.ok() || !ndcg.ok()) continue;  // different users: not comparable
      out.push_back({method.method, baseline.method, hit.value(), ndcg.value()});
    }
  }
  return out;
}

std::vector<int64_t> ResultMovieIds(const QueryResult& result) {
  size_t column = 0;
  for (size_t i = 0; i < result.columns.size(); ++i) {
    if (result.columns[i] == "c.id" || result.columns[i] == "id") column = i;
  }
  std::vector<int64_t> ids;
  for (const auto& row : result.rows) {
    if (!row.is_array() || row.size() <= column) continue;
    const auto& cell = row[column];
    if (cell.is_string()) {
      ids.push_back(std::atoll(cell.get<std::string>().c_str()));
    } else if (cell.is_number_integer()) {
      ids.push_back(cell.get<int64_t>());
    } else if (cell.is_object() && cell.contains("id")) {
      ids.push_back(std::atoll(cell["id"].get<std::string>().c_str()));
    }
  }
  return ids;
}

namespace {

// user -> index (into ratings) of that user's last rating by (timestamp, movie id).
std::unordered_map<int64_t, size_t> LastRatings(const std::vector<Rating>& ratings) {
  std::unordered_map<int64_t, size_t> last;
  for (size_t i = 0; i < ratings.size(); ++i) {
    const Rating& r = ratings[i];
    auto it = last.find(r.user);
    if (it == last.end()) {
      last[r.user] = i;
      continue;
    }
    const Rating& best = ratings[it->second];
    if (r.timestamp > best.timestamp || (r.timestamp == best.timestamp && r.movie > best.movie)) {
      it->second = i;
    }
  }
  return last;
}

}  // namespace

std::vector<Rating> WithoutLastRatings(const Dataset& data) {
  std::unordered_set<size_t> drop;
  for (const auto& [user, index] : LastRatings(data.ratings)) drop.insert(index);
  std::vector<Rating> out;
  for (size_t i = 0; i < data.ratings.size(); ++i) {
    if (!drop.count(i)) out.push_back(data.ratings[i]);
  }
  return out;
}

Holdout SplitLeaveLastOut(const Dataset& data, double min_rating) {
  std::unordered_map<int64_t, size_t> last = LastRatings(data.ratings);
  std::unordered_map<int64_t, size_t> count;
  for (const Rating& r : data.ratings) ++count[r.user];
  Holdout out;
  std::unordered_set<size_t> held;
  for (int64_t user : data.users) {
    auto it = last.find(user);
    if (it == last.end() || count[user] < 2) continue;
    if (data.ratings[it->second].rating < min_rating) continue;
    held.insert(it->second);
    out.test.push_back(data.ratings[it->second]);
  }
  for (size_t i = 0; i < data.ratings.size(); ++i) {
    if (!held.count(i)) out.train.push_back(data.ratings[i]);
  }
  return out;
}

Result<std::vector<MethodScore>> Evaluate(const EvalOptions& options) {
  PW_ASSIGN_OR_RETURN(Dataset data, LoadDataset(options.source_dir));
  if (options.validation) data.ratings = WithoutLastRatings(data);
  std::vector<Recipe> recipes = DemoRecipes();
  if (!options.recipes_file.empty()) {
    std::ifstream in(options.recipes_file);
    if (!in) return Status::IOError("cannot read " + options.recipes_file);
    nlohmann::json list = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (!list.is_array()) {
      return Status::InvalidArgument(options.recipes_file + ": expected a JSON array of recipes");
    }
    recipes.clear();
    for (const auto& r : list) {
      recipes.push_back({r.value("name", ""), "", r.value("query", ""),
                         r.value("params", nlohmann::json{{"user", "1"}})});
    }
  }
  Holdout split = SplitLeaveLastOut(data, options.min_holdout_rating);
  if (options.max_users && split.test.size() > options.max_users) {
    split.test.resize(options.max_users);
  }
  // The training database: the demo graph of split.train, with its SIMILAR_TO edges and
  // embeddings built by the jobs on that database alone (no held-out rating reaches a model).
  BuildOptions build;
  if (!options.transitions.is_null()) build.transitions = options.transitions;
  DemoGraph graph = BuildDemoGraph(data, split.train, build);
  const RatingMatrix& matrix = graph.matrix;
  std::unordered_map<int64_t, size_t> user_index;
  for (size_t u = 0; u < matrix.user_ids.size(); ++u) user_index[matrix.user_ids[u]] = u;
  std::filesystem::remove_all(options.work_dir);
  PW_ASSIGN_OR_RETURN(auto db, Database::Open({}, options.work_dir));
  PW_RETURN_IF_ERROR(LoadDemoGraph(db.get(), &graph));

  // The item-KNN baseline uses wider neighbourhoods, computed directly by graph::ItemSimilarity.
  PW_ASSIGN_OR_RETURN(NeighbourLists sims_plain, KnnNeighbours(*db, data, build.similarity, 50));
  // PureSVD by the svd job on the training database, into its own spaces (item_scaling 0:
  // user . movie = r V V^T). It also replaces the RATED fold-in model, which no event here uses.
  PW_RETURN_IF_ERROR(RunDemoJob(db.get(), "svd", PureSvdJobParams(options.pure_svd)).status());
  std::vector<std::string> movie_ids, user_ids;
  for (const Movie& movie : data.movies) movie_ids.push_back(std::to_string(movie.id));
  for (int64_t user : matrix.user_ids) user_ids.push_back(std::to_string(user));
  auto pure_movie = ReadVectors(*db, "Movie.puresvd", movie_ids);
  auto pure_user = ReadVectors(*db, "User.puresvd", user_ids);
  auto taste_movie = ReadVectors(*db, "Movie.embedding", movie_ids);
  auto taste_user = ReadVectors(*db, "User.taste", user_ids);

  std::vector<MethodScore> scores;
  MethodScore popularity = Named("popularity baseline", true);
  MethodScore item_knn = Named("item-KNN baseline (cosine, 50 nbrs)", true);
  MethodScore pure_svd =
      Named("PureSVD baseline (rank " + std::to_string(options.pure_svd.rank) + ")", true);
  // The model similar_taste serves, scored in C++ (a reference, not a baseline).
  MethodScore svd = Named("SVD dot product (C++, no prior)");
  // The same baselines restricted to the genres genre_explorer / new_user are given, for an
  // apples-to-apples comparison of those constrained recipes.
  MethodScore popularity_genre = Named("popularity baseline, user's top genre only", true,
                                       "top genre");
  MethodScore item_knn_genre = Named("item-KNN baseline (cosine), user's top genre only", true,
                                     "top genre");
  MethodScore popularity_genres =
      Named("popularity baseline, user's top 2 genres only", true, "top 2 genres");
  std::vector<double> pop(matrix.num_movies);
  for (size_t m = 0; m < matrix.num_movies; ++m) pop[m] = matrix.by_movie[m].size();

  for (const Rating& test : split.test) {
    size_t u = user_index.at(test.user);
    std::unordered_set<uint32_t> rated;
    for (const auto& entry : matrix.by_user[u]) rated.insert(entry.first);
    Score(TopK(data, pop, rated, options.k), test.movie, options.k, &popularity);
    std::vector<double> knn(matrix.num_movies, -1e301);
    for (const auto& [movie, rating] : matrix.by_user[u]) {
      for (const auto& [other, similarity] : sims_plain[movie]) {
        if (knn[other] < -1e300) knn[other] = 0;
        knn[other] += similarity * rating;
      }
    }
    Score(TopK(data, knn, rated, options.k), test.movie, options.k, &item_knn);
    // Movies without a vector (never rated in training): PureSVD scores them 0 (r V V^T with a
    // zero row of V); the reference leaves them out, as NEAREST does.
    std::vector<double> dot(matrix.num_movies, -1e301), pure(matrix.num_movies, 0);
    for (size_t m = 0; m < matrix.num_movies; ++m) {
      if (!taste_movie[m].empty()) dot[m] = Dot(taste_user[u], taste_movie[m]);
      if (!pure_movie[m].empty()) pure[m] = Dot(pure_user[u], pure_movie[m]);
    }
    Score(TopK(data, dot, rated, options.k), test.movie, options.k, &svd);
    Score(TopK(data, pure, rated, options.k), test.movie, options.k, &pure_svd);

    auto genres = TopGenres(data, matrix, u, 2);
    auto in_genres = [&](size_t m, size_t n) {
      for (size_t i = 0; i < n && i < genres.size(); ++i) {
        const auto& g = data.movies[m].genres;
        if (std::find(g.begin(), g.end(), genres[i]) != g.end()) return true;
      }
      return false;
    };
    std::vector<double> pop_genre(matrix.num_movies, -1e301), pop_genres(matrix.num_movies, -1e301);
    std::vector<double> knn_genre(matrix.num_movies, -1e301);
    for (size_t m = 0; m < matrix.num_movies; ++m) {
      if (in_genres(m, 1)) pop_genre[m] = pop[m];
      if (in_genres(m, 2)) pop_genres[m] = pop[m];
    }
    for (const auto& [movie, rating] : matrix.by_user[u]) {
      for (const auto& [other, similarity] : sims_plain[movie]) {
        if (!in_genres(other, 1)) continue;
        if (knn_genre[other] < -1e300) knn_genre[other] = 0;
        knn_genre[other] += similarity * rating;
      }
    }
    Score(TopK(data, pop_genre, rated, options.k), test.movie, options.k, &popularity_genre);
    Score(TopK(data, knn_genre, rated, options.k), test.movie, options.k, &item_knn_genre);
    Score(TopK(data, pop_genres, rated, options.k), test.movie, options.k, &popularity_genres);
  }
  scores.push_back(popularity);
  scores.push_back(item_knn);
  scores.push_back(pure_svd);
  scores.push_back(svd);
  scores.push_back(popularity_genre);
  scores.push_back(item_knn_genre);
  scores.push_back(popularity_genres);
  if (options.run_recipes) {
    for (const Recipe& recipe : recipes) {
      std::string restriction = recipe.params.contains("genre")    ? "top genre"
                                : recipe.params.contains("genres") ? "top 2 genres"
                                                                   : "";
      MethodScore method = Named("recipe " + recipe.name + " (PQL)", false, restriction);
      for (const Rating& test : split.test) {
        size_t u = user_index.at(test.user);
        nlohmann::json params = recipe.params;
        params["user"] = std::to_string(test.user);
        auto genres = TopGenres(data, matrix, u, 2);
        if (params.contains("genre")) params["genre"] = genres[0];
        if (params.contains("genres")) params["genres"] = genres;
        auto result = db->Query(recipe.query, params);
        if (!result.ok()) {
          ++method.errors;
          if (method.first_error.empty()) method.first_error = result.status().message();
          Score({}, test.movie, options.k, &method);
          continue;
        }
        Score(ResultMovieIds(result.value()), test.movie, options.k, &method);
      }
      scores.push_back(method);
    }
  }
  db.reset();
  std::filesystem::remove_all(options.work_dir);
  return scores;
}

namespace {

std::string Format(const Interval& i) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.4f [%.4f, %.4f]", i.mean, i.low, i.high);
  return buffer;
}

std::string FormatDifference(const Interval& i) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%+.4f [%+.4f, %+.4f]", i.mean, i.low, i.high);
  return buffer;
}

void PrintResults(const EvalOptions& options, const BootstrapOptions& bootstrap,
                  const std::vector<MethodScore>& scores) {
  std::printf("split: %s (%s), held-out rating >= %.1f\n",
              options.validation ? "validation" : "test",
              options.validation ? "last rating dropped, second-to-last held out"
                                 : "last rating held out",
              options.min_holdout_rating);
  std::printf("intervals: percentile bootstrap 95%% over users, %zu resamples, seed %llu\n\n",
              bootstrap.resamples, static_cast<unsigned long long>(bootstrap.seed));
  std::printf("| method | users | HitRate@%zu [95%% CI] | NDCG@%zu [95%% CI] | errors |\n"
              "|---|---|---|---|---|\n",
              options.k, options.k);
  for (const MethodScore& s : scores) {
    std::printf("| %s | %zu | %s | %s | %zu |\n", s.method.c_str(), s.users,
                Format(BootstrapMean(s.hit, bootstrap)).c_str(),
                Format(BootstrapMean(s.ndcg, bootstrap)).c_str(), s.errors);
  }
  std::printf("\npaired differences (method minus baseline, per user); \"better\"/\"worse\" only "
              "when the 95%% interval excludes 0\n\n");
  std::printf("| method | baseline | diff HitRate@%zu [95%% CI] | | diff NDCG@%zu [95%% CI] | |\n"
              "|---|---|---|---|---|---|\n",
              options.k, options.k);
  for (const Comparison& c : CompareWithBaselines(scores, bootstrap)) {
    std::printf("| %s | %s | %s | %s | %s | %s |\n", c.method.c_str(), c.baseline.c_str(),
                FormatDifference(c.hit_rate).c_str(), Verdict(c.hit_rate),
                FormatDifference(c.ndcg).c_str(), Verdict(c.ndcg));
  }
  for (const MethodScore& s : scores) {
    if (!s.first_error.empty()) {
      std::printf("first error of %s: %s\n", s.method.c_str(), s.first_error.c_str());
    }
  }
}

}  // namespace

int EvaluateMain(int argc, char** argv) {
  EvalOptions options;
  BootstrapOptions bootstrap;
  options.source_dir = DefaultDataDir();
  options.work_dir =
      (std::filesystem::temp_directory_path() / ("pathwise-eval-" + std::to_string(::getpid())))
          .string();
  bool ok = true;
  for (int i = 1; i < argc && ok; ++i) {
    std::string arg = argv[i];
    bool has_value = i + 1 < argc;
    if (arg == "--users" && has_value) {
      options.max_users = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg == "--source" && has_value) {
      options.source_dir = argv[++i];
    } else if (arg == "--baselines-only") {
      options.run_recipes = false;
    } else if (arg == "--split" && has_value &&
               (std::string(argv[i + 1]) == "test" || std::string(argv[i + 1]) == "validation")) {
      options.validation = std::string(argv[++i]) == "validation";
    } else if (arg == "--recipes" && has_value) {
      options.recipes_file = argv[++i];
    } else if (arg == "--min-rating" && has_value) {
      char* end = nullptr;
      options.min_holdout_rating = std::strtod(argv[++i], &end);
      ok = *end == '\0' && options.min_holdout_rating >= 0 && options.min_holdout_rating <= 5;
    } else if (arg == "--resamples" && has_value) {
      bootstrap.resamples = std::strtoull(argv[++i], nullptr, 10);
      ok = bootstrap.resamples >= 100 && bootstrap.resamples <= 1000000;
    } else if (arg == "--transitions" && has_value) {
      options.transitions = nlohmann::json::parse(argv[++i], nullptr, false);
      ok = options.transitions.is_object();
    } else if (arg == "--puresvd-rank" && has_value) {
      options.pure_svd.rank = std::strtoull(argv[++i], nullptr, 10);
      ok = options.pure_svd.rank >= 1 && options.pure_svd.rank <= 200;
    } else {
      ok = false;
    }
  }
  if (!ok) {
    std::fprintf(stderr,
                 "usage: pathwise demo evaluate [--users N] [--source DIR] [--baselines-only]\n"
                 "                              [--split test|validation] [--recipes FILE]\n"
                 "                              [--min-rating X] [--resamples N]\n"
                 "                              [--puresvd-rank N] [--transitions JSON]\n"
                 "  --split validation: drop every user's last rating, hold out the\n"
                 "    second-to-last (for tuning; report figures from --split test)\n"
                 "  --recipes FILE: JSON array of {name, query, params} instead of the\n"
                 "    shipped recipes\n"
                 "  --min-rating X: evaluate only users whose held-out rating is >= X\n"
                 "    (0..5, default 4; 0 evaluates every user)\n"
                 "  --resamples N: bootstrap resamples over users (100..1000000, default 10000)\n"
                 "  --puresvd-rank N: rank of the PureSVD baseline (1..200, default 50)\n"
                 "  --transitions JSON: the transitions job's parameters instead of the\n"
                 "    demo's (e.g. '{\"edge\": \"RATED\", \"output\": \"FOLLOWED_BY\", \"window\": 3}')\n");
    return 2;
  }
  auto start = std::chrono::steady_clock::now();
  auto result = Evaluate(options);
  if (!result.ok()) {
    std::fprintf(stderr, "evaluate: %s\n", result.status().message().c_str());
    return 1;
  }
  PrintResults(options, bootstrap, result.value());
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("evaluated in %.1f s\n", seconds);
  return 0;
}

}  // namespace pathwise::demo
