// Turns the MovieLens data into Pathwise writes: the schema, User/Movie/Genre/Tag nodes,
// RATED/TAGGED/HAS_GENRE/HAS_TAG/SIMILAR_TO edges, Movie.embedding and User.taste vectors,
// the demo recipes and the event-type table.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "examples/movielens/dataset.h"
#include "examples/movielens/model.h"
#include "db/database.h"

namespace pathwise::demo {

// Meta key set once the demo graph is fully loaded; its value is JSON with the counts.
inline constexpr const char* kLoadedMarker = "demo/movielens_loaded";

struct BuildOptions {
  SimilarityOptions similarity;
  EmbeddingOptions embedding;
  size_t ops_per_write_set = 20000;
};

struct GraphCounts {
  size_t users = 0, movies = 0, genres = 0, tags = 0;
  size_t rated = 0, tagged = 0, has_genre = 0, has_tag = 0, similar_to = 0;
  size_t vectors = 0;
  nlohmann::json ToJson() const;
};

// Everything derived from one set of ratings (all of them, or a training split).
struct DemoGraph {
  std::string schema_json;
  std::vector<WriteSet> writes;  // nodes first, then edges, then vectors; apply in order
  GraphCounts counts;
  RatingMatrix matrix;
  std::vector<std::vector<Neighbour>> similar;
  Embeddings embeddings;
};

// The schema of the demo graph (JSON accepted by Database::MergeSchema).
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

// Merges the schema, applies the writes, installs recipes, the event-type table and the loaded
// marker (last, so an interrupted load is redone). Returns the first failing Status.
Status LoadDemoGraph(Database* db, const DemoGraph& graph);

}  // namespace pathwise::demo
