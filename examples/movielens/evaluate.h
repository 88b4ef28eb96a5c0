// Leave-last-out evaluation of the demo recipes against popularity, item-KNN and PureSVD
// baselines, with paired bootstrap intervals (`pathwise demo evaluate`). Results are reported in
// docs/quality.md.
#pragma once

#include <string>
#include <vector>

#include "db/database.h"
#include "examples/movielens/dataset.h"
#include "examples/movielens/rating_matrix.h"
#include "storage/status.h"

namespace pathwise::demo {

// The PureSVD baseline's rank and randomized-SVD accuracy settings, run by the svd job on the
// raw ratings of the training database.
struct PureSvdOptions {
  size_t rank = 50;
  size_t oversample = 50;
  size_t iterations = 10;
  uint64_t seed = 42;
};

// The svd job's parameters (docs/jobs.md) for the PureSVD baseline: spaces Movie.puresvd and
// User.puresvd with item_scaling 0, so user . movie is the PureSVD score r V V^T.
nlohmann::json PureSvdJobParams(const PureSvdOptions& options);

struct EvalOptions {
  std::string source_dir;  // MovieLens CSV directory
  std::string work_dir;    // a scratch directory for the training database (created, removed)
  size_t max_users = 0;    // 0: every eligible user
  size_t k = 10;
  double min_holdout_rating = 4.0;  // users whose last rating is lower are not evaluated
  bool run_recipes = true;          // false: only the C++ baselines (and the jobs they read)
  // Validation split for tuning: every user's last rating is dropped first (never seen), and the
  // second-to-last one is held out instead. The reported figures use the test split (false).
  bool validation = false;
  // A JSON file with an array of recipes ({name, query, params}) evaluated instead of the
  // shipped DemoRecipes(); for trying formulas on the validation split without rebuilding.
  std::string recipes_file;
  // The PureSVD baseline (svd job parameters; checked in tests/demo/evaluate_test.cc).
  PureSvdOptions pure_svd;
  // The transitions job's parameters in place of BuildOptions::transitions (null: the demo's),
  // for tuning its window and k on the validation split.
  nlohmann::json transitions;
};

struct MethodScore {
  std::string method;
  bool baseline = false;  // a C++ baseline the recipes are compared with
  // The candidate set the method is confined to: "" (all movies), "top genre" or "top 2 genres"
  // (the user's favourite genres, as genre_explorer's $genre / new_user's $genres). A recipe is
  // compared with the unrestricted baselines and with those of its own restriction.
  std::string restriction;
  size_t users = 0;
  size_t hits = 0;
  double ndcg_sum = 0;
  size_t errors = 0;  // queries that failed (counted as misses)
  std::string first_error;
  std::vector<double> hit;   // per evaluated user, in split order: 1 for a hit, else 0
  std::vector<double> ndcg;  // per evaluated user, in split order
  double HitRate() const { return users ? double(hits) / users : 0; }
  double Ndcg() const { return users ? ndcg_sum / users : 0; }
};

struct Holdout {
  std::vector<Rating> train;
  std::vector<Rating> test;  // one per evaluated user
};

// Holds out each user's last rating by (timestamp, movie id) when it is >= min_rating; every
// other rating is training data.
Holdout SplitLeaveLastOut(const Dataset& data, double min_rating);

// Drops every user's last rating by (timestamp, movie id): the data the validation split is
// drawn from, so tuning never sees the test split's held-out ratings.
std::vector<Rating> WithoutLastRatings(const Dataset& data);

// A mean with a percentile bootstrap 95% interval.
struct Interval {
  double mean = 0;  // the sample mean (the point estimate)
  double low = 0;   // 2.5th percentile of the resampled means
  double high = 0;  // 97.5th percentile of the resampled means
};

struct BootstrapOptions {
  size_t resamples = 10000;
  uint64_t seed = 2010;  // fixed: the same resamples (over users) for every method and pair
};

// Percentile bootstrap of the mean of `values`: `resamples` times, values.size() values are
// drawn with replacement and averaged; low/high are the 2.5th/97.5th percentiles of those means
// (linear interpolation between order statistics). Empty `values`: all zero.
Interval BootstrapMean(const std::vector<double>& values, const BootstrapOptions& options);

// Paired bootstrap of mean(a[i] - b[i]): the users are resampled, each keeping both of its
// values. InvalidArgument when the sizes differ.
Result<Interval> PairedBootstrap(const std::vector<double>& a, const std::vector<double>& b,
                                 const BootstrapOptions& options);

// "better" when the whole interval is above 0, "worse" when below, else "level".
const char* Verdict(const Interval& difference);

struct Comparison {
  std::string method;
  std::string baseline;
  Interval hit_rate;  // method minus baseline, per user
  Interval ndcg;
};

// Every non-baseline method against every unrestricted baseline and the baselines with its own
// restriction, paired over users (all methods of one Evaluate run score the same users).
std::vector<Comparison> CompareWithBaselines(const std::vector<MethodScore>& scores,
                                             const BootstrapOptions& options);

// Movie ids in the rows of a recommendation result (the "c.id" column, else the first one).
std::vector<int64_t> ResultMovieIds(const QueryResult& result);

Result<std::vector<MethodScore>> Evaluate(const EvalOptions& options);

// `pathwise demo evaluate [--users N] [--source DIR] [--baselines-only]
//  [--split test|validation] [--recipes FILE] [--min-rating X] [--resamples N]
//  [--puresvd-rank N]`.
int EvaluateMain(int argc, char** argv);

}  // namespace pathwise::demo
