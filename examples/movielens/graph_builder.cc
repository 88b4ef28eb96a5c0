#include "examples/movielens/graph_builder.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "decide/decide.h"
#include "jobs/jobs.h"

namespace pathwise::demo {
namespace {

std::string NormalizeTag(const std::string& tag) {
  std::string out;
  for (char ch : tag) out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
  size_t start = out.find_first_not_of(" \t");
  size_t end = out.find_last_not_of(" \t");
  if (start == std::string::npos) return "";
  return out.substr(start, end - start + 1);
}

// Appends ops, starting a new WriteSet when the current one is full.
class WriteSetBuilder {
 public:
  explicit WriteSetBuilder(size_t per_set) : per_set_(per_set) {}
  template <typename Op>
  void Add(Op op) {
    if (sets_.empty() || sets_.back().ops.size() >= per_set_) sets_.emplace_back();
    sets_.back().ops.emplace_back(std::move(op));
  }
  std::vector<WriteSet> Take() { return std::move(sets_); }

 private:
  size_t per_set_;
  std::vector<WriteSet> sets_;
};

EdgeWrite Edge(const std::string& type, const std::string& from_type, const std::string& from,
               const std::string& to_type, const std::string& to, double weight) {
  EdgeWrite e;
  e.type = type;
  e.from = {from_type, from, false};
  e.to = {to_type, to, false};
  e.weight = weight;
  return e;
}

}  // namespace

nlohmann::json GraphCounts::ToJson() const {
  return {{"users", users},         {"movies", movies},   {"genres", genres},
          {"tags", tags},           {"rated", rated},     {"tagged", tagged},
          {"has_genre", has_genre}, {"has_tag", has_tag}, {"similar_to", similar_to},
          {"followed_by", followed_by},
          {"vectors", vectors}};
}

std::string DemoSchemaJson(size_t dim) {
  nlohmann::json schema = {
      {"node_types",
       {{{"name", "User"}, {"properties", {{"last_rated", "int"}}}},
        {{"name", "Movie"},
         {"label", "full_title"},
         {"properties",
          {{"title", "string"},
           {"full_title", "string"},
           {"year", "int"},
           {"genres", "string_list"},
           {"imdb_id", "string"},
           {"tmdb_id", "string"},
           {"rating_count", "int"},
           {"rating_mean", "double"},
           {"popularity", "int"}}}},
        {{"name", "Genre"}, {"label", "name"}, {"properties", {{"name", "string"}}}},
        {{"name", "Tag"}, {"label", "name"}, {"properties", {{"name", "string"}}}}}},
      {"edge_types",
       {{{"name", "RATED"}, {"mode", "replace"}, {"from", "User"}, {"to", "Movie"}},
        {{"name", "TAGGED"}, {"mode", "replace"}, {"from", "User"}, {"to", "Movie"}},
        {{"name", "HAS_GENRE"}, {"mode", "replace"}, {"from", "Movie"}, {"to", "Genre"}},
        {{"name", "HAS_TAG"}, {"mode", "replace"}, {"from", "Movie"}, {"to", "Tag"}},
        {{"name", "SIMILAR_TO"}, {"mode", "replace"}, {"from", "Movie"}, {"to", "Movie"}},
        {{"name", "FOLLOWED_BY"}, {"mode", "replace"}, {"from", "Movie"}, {"to", "Movie"}},
        {{"name", "CLICKED"}, {"mode", "accumulate"}, {"from", "User"}, {"to", "Movie"}}}},
      {"vector_spaces",
       {{{"node_type", "Movie"}, {"name", "embedding"}, {"dim", dim}, {"metric", "ip"}},
        {{"node_type", "User"}, {"name", "taste"}, {"dim", dim}, {"metric", "ip"}}}},
      // Counters of live traffic (docs/feedback-loop.md, "Counters"): the events the demo's
      // event types accept and the surfaces' impressions.
      {"counters", nlohmann::json::parse(R"([
        {"name": "views_7d", "key": "item", "source": {"events": ["watch", "rate"]},
         "window": "7d", "bucket": "1h"},
        {"name": "clicks_7d", "key": "item", "source": {"events": ["click"]}, "window": "7d",
         "bucket": "1h"},
        {"name": "impressions_7d", "key": "item", "source": "impressions", "window": "7d",
         "bucket": "1h"},
        {"name": "ctr", "key": "item", "form": "ratio", "numerator": "clicks_7d",
         "denominator": "impressions_7d", "alpha": 1, "beta": 20},
        {"name": "impressions_24h", "key": "user_item", "source": "impressions",
         "window": "24h", "bucket": "1h"}])")}};
  return schema.dump();
}

DemoGraph BuildDemoGraph(const Dataset& data, const std::vector<Rating>& ratings,
                         const BuildOptions& options) {
  DemoGraph graph;
  graph.options = options;
  graph.schema_json = DemoSchemaJson(options.svd.value("rank", size_t{64}));
  graph.matrix = BuildRatingMatrix(data, ratings);
  const RatingMatrix& matrix = graph.matrix;
  WriteSetBuilder out(options.ops_per_write_set);

  // Nodes: genres, tags, movies, users.
  std::set<std::string> genres;
  for (const Movie& movie : data.movies) genres.insert(movie.genres.begin(), movie.genres.end());
  for (const std::string& genre : genres) {
    out.Add(NodeWrite{NodeWrite::Op::kUpsert, "Genre", genre, {{"name", genre}}});
  }
  graph.counts.genres = genres.size();
  // (movie, tag) -> distinct users; (user, movie) -> tags in time order.
  std::map<std::pair<size_t, std::string>, std::set<int64_t>> movie_tags;
  std::map<std::pair<int64_t, size_t>, std::vector<std::string>> user_tags;
  std::set<std::string> tag_names;
  for (const Tag& tag : data.tags) {
    std::string name = NormalizeTag(tag.tag);
    if (name.empty()) continue;
    size_t movie = data.movie_index.at(tag.movie);
    movie_tags[{movie, name}].insert(tag.user);
    user_tags[{tag.user, movie}].push_back(tag.tag);
    tag_names.insert(name);
  }
  for (const std::string& name : tag_names) {
    out.Add(NodeWrite{NodeWrite::Op::kUpsert, "Tag", name, {{"name", name}}});
  }
  graph.counts.tags = tag_names.size();
  for (size_t m = 0; m < data.movies.size(); ++m) {
    const Movie& movie = data.movies[m];
    double sum = 0;
    for (const auto& entry : matrix.by_movie[m]) sum += entry.second;
    int64_t count = static_cast<int64_t>(matrix.by_movie[m].size());
    Properties props = {{"title", movie.title},
                        {"full_title", movie.full_title},
                        {"genres", movie.genres},
                        {"imdb_id", movie.imdb_id},
                        {"tmdb_id", movie.tmdb_id},
                        {"rating_count", count},
                        {"rating_mean", count ? sum / count : 0.0},
                        {"popularity", count}};
    if (movie.year) props["year"] = movie.year;
    out.Add(NodeWrite{NodeWrite::Op::kUpsert, "Movie", std::to_string(movie.id), props});
  }
  graph.counts.movies = data.movies.size();
  // last_rated: the time (ms) of the user's latest rating in `ratings`, the reference point of
  // because_you_watched's recency weighting (events sent later count with full weight).
  std::map<int64_t, int64_t> last_rated;
  for (const Rating& r : ratings) {
    int64_t& last = last_rated[r.user];
    last = std::max(last, r.timestamp * 1000);
  }
  std::set<int64_t> user_set(data.users.begin(), data.users.end());
  for (int64_t user : user_set) {
    Properties props;
    if (auto it = last_rated.find(user); it != last_rated.end()) props["last_rated"] = it->second;
    out.Add(NodeWrite{NodeWrite::Op::kUpsert, "User", std::to_string(user), props});
  }
  graph.counts.users = user_set.size();

  // Edges.
  for (const Rating& r : ratings) {
    EdgeWrite e = Edge("RATED", "User", std::to_string(r.user), "Movie", std::to_string(r.movie),
                       r.rating);
    e.ts = r.timestamp * 1000;
    out.Add(std::move(e));
    ++graph.counts.rated;
  }
  for (const auto& [key, tags] : user_tags) {
    EdgeWrite e = Edge("TAGGED", "User", std::to_string(key.first), "Movie",
                       std::to_string(data.movies[key.second].id), 1.0);
    e.props = {{"tag", tags.back()}, {"tags", tags}};
    out.Add(std::move(e));
    ++graph.counts.tagged;
  }
  for (const Movie& movie : data.movies) {
    for (const std::string& genre : movie.genres) {
      out.Add(Edge("HAS_GENRE", "Movie", std::to_string(movie.id), "Genre", genre, 1.0));
      ++graph.counts.has_genre;
    }
  }
  for (const auto& [key, users] : movie_tags) {
    out.Add(Edge("HAS_TAG", "Movie", std::to_string(data.movies[key.first].id), "Tag", key.second,
                 static_cast<double>(users.size())));
    ++graph.counts.has_tag;
  }
  graph.writes = out.Take();
  return graph;
}

Status InstallDemoMeta(Database* db) {
  WriteSet meta;
  for (const Recipe& recipe : DemoRecipes()) {
    meta.ops.push_back(MetaWrite{"recipe/" + recipe.name, recipe.ToJson().dump()});
  }
  nlohmann::json events = {
      {"rate", {{"edge", "RATED"}, {"user_type", "User"}, {"item_type", "Movie"}, {"weight", 1.0}}},
      {"watch",
       {{"edge", "RATED"}, {"user_type", "User"}, {"item_type", "Movie"}, {"weight", 1.0}}},
      {"click",
       {{"edge", "CLICKED"}, {"user_type", "User"}, {"item_type", "Movie"}, {"weight", 1.0}}}};
  meta.ops.push_back(MetaWrite{"config/event_types", events.dump()});
  PW_RETURN_IF_ERROR(db->Apply(meta));
  for (const auto& [name, definition] : DemoSurfaces()) {
    PW_RETURN_IF_ERROR(decide::PutSurface(db, name, definition).status());
  }
  return Status::OK();
}

Result<nlohmann::json> RunDemoJob(Database* db, std::string_view job,
                                  const nlohmann::json& params) {
  jobs::JobRunner runner(db);
  PW_ASSIGN_OR_RETURN(nlohmann::json record, runner.RunNow(job, params));
  if (record.value("state", "") != "done") {
    return Status::InvalidArgument("demo: the " + std::string(job) +
                                   " job failed: " + record.value("error", std::string("?")));
  }
  return record;
}

Status LoadDemoGraph(Database* db, DemoGraph* graph) {
  PW_RETURN_IF_ERROR(db->MergeSchema(graph->schema_json));
  WriteOptions unsynced;
  unsynced.sync = false;
  for (const WriteSet& set : graph->writes) PW_RETURN_IF_ERROR(db->Apply(set, unsynced));
  PW_ASSIGN_OR_RETURN(nlohmann::json similarity,
                      RunDemoJob(db, "similarity", graph->options.similarity));
  graph->counts.similar_to = similarity["result"].value("edges_written", size_t{0});
  graph->jobs["similarity"] = similarity;
  PW_ASSIGN_OR_RETURN(nlohmann::json transitions,
                      RunDemoJob(db, "transitions", graph->options.transitions));
  graph->counts.followed_by = transitions["result"].value("edges_written", size_t{0});
  graph->jobs["transitions"] = transitions;
  PW_ASSIGN_OR_RETURN(nlohmann::json svd, RunDemoJob(db, "svd", graph->options.svd));
  graph->counts.vectors = svd["result"].value("vectors_written", size_t{0});
  graph->jobs["svd"] = svd;
  PW_RETURN_IF_ERROR(InstallDemoMeta(db));
  WriteSet marker;
  marker.ops.push_back(MetaWrite{kLoadedMarker, graph->counts.ToJson().dump()});
  return db->Apply(marker);
}

}  // namespace pathwise::demo
