// Turns the MovieLens data into Pathwise writes: the schema, User/Movie/Genre/Tag nodes,
// RATED/TAGGED/HAS_GENRE/HAS_TAG edges, the demo recipes and the event-type table. The learned
// parts (SIMILAR_TO and FOLLOWED_BY edges, Movie.embedding and User.taste vectors) are built
// inside the database by the similarity, transitions and svd jobs (jobs/jobs.h, docs/jobs.md)
// once the graph is loaded.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "db/database.h"
#include "examples/movielens/dataset.h"
#include "examples/movielens/rating_matrix.h"

namespace pathwise::demo {

// Meta key set once the demo graph is fully loaded; its value is JSON with the counts.
inline constexpr const char* kLoadedMarker = "demo/movielens_loaded";

// The jobs' parameters (docs/jobs.md) that LoadDemoGraph runs, in this order.
struct BuildOptions {
  // Co-rating cosine over the rating values: Movie -SIMILAR_TO-> Movie, 20 neighbours per
  // movie with at least 5 common raters. The job's shrink is added to the denominator; 100 is
  // the value whose lists agree best (86% of neighbours) with the multiplicative
  // n / (n + 10) damping the demo computed before it used the job (docs/quality.md).
  nlohmann::json similarity = {
      {"edge", "RATED"}, {"output", "SIMILAR_TO"}, {"measure", "cosine"}, {"weighted", true},
      {"k", 20},         {"min_cooccurrence", 5},  {"shrink", 100}};
  // What users rated next: Movie -FOLLOWED_BY-> Movie, each movie rated up to 5 positions after
  // another in a user's time-ordered ratings adding 1/distance, the top 50 per movie
  // (docs/quality.md, "Sequences").
  nlohmann::json transitions = {
      {"edge", "RATED"}, {"output", "FOLLOWED_BY"}, {"window", 5}, {"k", 50}};
  // Rank-32 truncated SVD of the raw rating matrix (the job does not centre ratings):
  // Movie.embedding = V, User.taste = U S (item_scaling 0), so user . movie is the PureSVD score
  // r V V^T; fold-in keeps User.taste up to date as rating events arrive. Scaling 0 rather than
  // the symmetric 0.5: uncentred, the first (popularity) direction would dominate V sqrt(S) and
  // the movies' own neighbours in the space (docs/tutorial.md).
  nlohmann::json svd = {{"edge", "RATED"},
                        {"item_space", "Movie.embedding"},
                        {"user_space", "User.taste"},
                        {"rank", 32},
                        {"oversample", 10},
                        {"iterations", 4},
                        {"seed", 42},
                        {"item_scaling", 0.0}};
  size_t ops_per_write_set = 20000;
};

struct GraphCounts {
  size_t users = 0, movies = 0, genres = 0, tags = 0;
  size_t rated = 0, tagged = 0, has_genre = 0, has_tag = 0;
  size_t similar_to = 0;  // set by LoadDemoGraph from the similarity job's result
  size_t followed_by = 0;  // set by LoadDemoGraph from the transitions job's result
  size_t vectors = 0;     // set by LoadDemoGraph from the svd job's result
  nlohmann::json ToJson() const;
};

// Everything derived from one set of ratings (all of them, or a training split).
struct DemoGraph {
  std::string schema_json;
  std::vector<WriteSet> writes;  // nodes first, then edges; apply in order
  GraphCounts counts;
  RatingMatrix matrix;
  BuildOptions options;  // the jobs LoadDemoGraph runs
  nlohmann::json jobs =
      nlohmann::json::object();  // their records by job name, set by LoadDemoGraph
};

// The schema of the demo graph (JSON accepted by Database::MergeSchema); dim is the svd job's
// rank.
std::string DemoSchemaJson(size_t dim);

// Builds the graph from data.movies/data.tags and the given ratings.
DemoGraph BuildDemoGraph(const Dataset& data, const std::vector<Rating>& ratings,
                         const BuildOptions& options);

// A recipe: stored as meta "recipe/<name>".
struct Recipe {
  std::string name;
  std::string description;
  std::string query;
  nlohmann::json params;  // defaults
  std::string sentence;   // explanation sentence template (docs/explanations.md); empty: generated
  nlohmann::json ToJson() const;
};
std::vector<Recipe> DemoRecipes();
// The demo's surfaces (docs/decisions.md): (name, definition).
std::vector<std::pair<std::string, nlohmann::json>> DemoSurfaces();

// Writes the recipes (meta "recipe/<name>") and the event-type table (meta "config/event_types"),
// replacing older versions. Idempotent; the demo calls it on every start.
Status InstallDemoMeta(Database* db);

// Runs one job to the end through the public jobs API (jobs::JobRunner::RunNow, the entry
// `pathwise jobs run` uses; the record is stored under meta "job/<id>") and returns its record;
// a refused or failed job is InvalidArgument naming the job and its error.
Result<nlohmann::json> RunDemoJob(Database* db, std::string_view job, const nlohmann::json& params);

// Merges the schema, applies the writes, runs the similarity, transitions and then the svd job on the loaded
// graph (jobs::JobRunner::RunNow, as `pathwise jobs run` does; their records are stored),
// installs recipes, the event-type table and the loaded marker (last, so an interrupted load is
// redone). Fills graph->counts.similar_to and .vectors and graph->jobs from the jobs' records.
// Returns the first failing Status (a failed job as its error).
Status LoadDemoGraph(Database* db, DemoGraph* graph);

}  // namespace pathwise::demo
