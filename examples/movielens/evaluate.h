// Leave-last-out evaluation of the demo recipes against a popularity and an item-KNN baseline
// (`pathwise demo evaluate`). Results are reported in docs/quality.md.
#pragma once

#include <string>
#include <vector>

#include "examples/movielens/dataset.h"
#include "db/database.h"
#include "storage/status.h"

namespace pathwise::demo {

struct EvalOptions {
  std::string source_dir;  // MovieLens CSV directory
  std::string work_dir;    // a scratch directory for the training database (created, removed)
  size_t max_users = 0;    // 0: every eligible user
  size_t k = 10;
  double min_holdout_rating = 4.0;  // users whose last rating is lower are not evaluated
  bool run_recipes = true;          // false: only the C++ baselines (no Database needed)
  // Validation split for tuning: every user's last rating is dropped first (never seen), and the
  // second-to-last one is held out instead. The reported figures use the test split (false).
  bool validation = false;
  // A JSON file with an array of recipes ({name, query, params}) evaluated instead of the
  // shipped DemoRecipes(); for trying formulas on the validation split without rebuilding.
  std::string recipes_file;
};

struct MethodScore {
  std::string method;
  size_t users = 0;
  size_t hits = 0;
  double ndcg_sum = 0;
  size_t errors = 0;  // queries that failed (counted as misses)
  std::string first_error;
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

// Movie ids in the rows of a recommendation result (the "c.id" column, else the first one).
std::vector<int64_t> ResultMovieIds(const QueryResult& result);

Result<std::vector<MethodScore>> Evaluate(const EvalOptions& options);

// `pathwise demo evaluate [--users N] [--source DIR] [--baselines-only]
//  [--split test|validation] [--recipes FILE]`.
int EvaluateMain(int argc, char** argv);

}  // namespace pathwise::demo
