// The demo graph loaded into a real Database: recipes run as PQL, exclude rated movies and
// explain themselves with edges that exist; the server serves the explorer and takes events.
#include <doctest/doctest.h>

#include <httplib.h>

#include <unistd.h>
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "examples/movielens/dataset.h"
#include "examples/movielens/evaluate.h"
#include "examples/movielens/graph_builder.h"
#include "db/database.h"
#include "server/server.h"

namespace demo = pathwise::demo;
using nlohmann::json;

namespace {

struct Loaded {
  demo::Dataset data;
  demo::DemoGraph graph;
  std::string dir;
  std::unique_ptr<pathwise::Database> db;
  std::map<std::string, std::set<std::string>> rated;  // user -> movie ids
  std::map<std::string, double> edges;                  // "TYPE|FromType:id|ToType:id" -> weight
  // The brute-force reference of the similarity job's SIMILAR_TO model: per movie id, its
  // (neighbour id, similarity), best first.
  std::map<int64_t, std::vector<std::pair<int64_t, double>>> similar;
};

// The similarity job's model with the demo's parameters (BuildOptions::similarity), computed
// pair by pair from the ratings: cosine over the rating values, dot / (|i| |j| + shrink), pairs
// with at least min_cooccurrence common raters, top k by similarity (then movie order).
std::map<int64_t, std::vector<std::pair<int64_t, double>>> BruteForceSimilar(
    const demo::Dataset& data, const json& job) {
  const size_t k = job["k"];
  const double shrink = job["shrink"];
  const size_t min_common = job["min_cooccurrence"];
  REQUIRE(job["measure"] == "cosine");
  REQUIRE(job["weighted"] == true);
  const size_t n = data.movies.size();
  std::map<int64_t, std::vector<std::pair<size_t, double>>> by_user;  // user -> (movie, rating)
  std::vector<std::vector<std::pair<int64_t, double>>> by_movie(n);   // movie -> (user, rating)
  std::vector<double> norm(n, 0);
  for (const auto& r : data.ratings) {
    size_t m = data.movie_index.at(r.movie);
    by_user[r.user].emplace_back(m, r.rating);
    by_movie[m].emplace_back(r.user, r.rating);
    norm[m] += r.rating * r.rating;
  }
  std::map<int64_t, std::vector<std::pair<int64_t, double>>> out;
  std::vector<double> dot(n);
  std::vector<size_t> common(n);
  for (size_t a = 0; a < n; ++a) {
    std::fill(dot.begin(), dot.end(), 0);
    std::fill(common.begin(), common.end(), 0);
    for (const auto& [user, ra] : by_movie[a]) {
      for (const auto& [b, rb] : by_user[user]) dot[b] += ra * rb, ++common[b];
    }
    for (size_t b = 0; b < n; ++b) {
      if (b == a || common[b] < min_common || dot[b] <= 0) continue;
      double sim = dot[b] / (std::sqrt(norm[a]) * std::sqrt(norm[b]) + shrink);
      out[data.movies[a].id].emplace_back(data.movies[b].id, sim);
    }
  }
  for (auto& [movie, list] : out) {
    std::sort(list.begin(), list.end(), [&](const auto& a, const auto& b) {
      if (a.second != b.second) return a.second > b.second;
      return data.movie_index.at(a.first) < data.movie_index.at(b.first);
    });
    if (list.size() > k) list.resize(k);
  }
  return out;
}

std::string EdgeKey(const std::string& type, const std::string& from, const std::string& to) {
  return type + "|" + from + "|" + to;
}

// Every succession the transitions job sums (BuildOptions::transitions, docs/jobs.md), before
// its top-k cut, computed from the ratings: per user in (time, movie) order, a movie d <= window
// positions after another adds 1/d, both ways when the two were rated at the same second.
std::map<std::string, double> BruteForceFollowedBy(const demo::Dataset& data, const json& job) {
  const size_t window = job["window"];
  std::map<int64_t, std::vector<std::pair<int64_t, size_t>>> by_user;  // user -> (ts, movie)
  for (const auto& r : data.ratings) by_user[r.user].emplace_back(r.timestamp, data.movie_index.at(r.movie));
  std::map<std::string, double> sums;
  auto key = [&](size_t a, size_t b) {
    return EdgeKey("FOLLOWED_BY", "Movie:" + std::to_string(data.movies[a].id),
                   "Movie:" + std::to_string(data.movies[b].id));
  };
  for (auto& [user, list] : by_user) {
    std::sort(list.begin(), list.end());
    for (size_t a = 0; a < list.size(); ++a) {
      for (size_t d = 1; d <= window && a + d < list.size(); ++d) {
        sums[key(list[a].second, list[a + d].second)] += 1.0 / static_cast<double>(d);
        if (list[a].first == list[a + d].first) {
          sums[key(list[a + d].second, list[a].second)] += 1.0 / static_cast<double>(d);
        }
      }
    }
  }
  return sums;
}

Loaded& Fixture() {
  static Loaded* loaded = [] {
    auto* l = new Loaded;
    auto data = demo::LoadDataset(std::string(PATHWISE_SOURCE_DIR) + "/examples/movielens-small");
    REQUIRE(data.ok());
    l->data = std::move(data).value();
    l->graph = demo::BuildDemoGraph(l->data, l->data.ratings, demo::BuildOptions{});
    l->dir = (std::filesystem::temp_directory_path() /
              ("pathwise-demo-test-" + std::to_string(::getpid())))
                 .string();
    std::filesystem::remove_all(l->dir);
    auto db = pathwise::Database::Open({}, l->dir);
    REQUIRE(db.ok());
    l->db = std::move(db).value();
    pathwise::Status status = demo::LoadDemoGraph(l->db.get(), &l->graph);
    REQUIRE_MESSAGE(status.ok(), status.message());
    for (const auto& r : l->data.ratings) {
      l->rated[std::to_string(r.user)].insert(std::to_string(r.movie));
    }
    for (const auto& set : l->graph.writes) {
      for (const auto& op : set.ops) {
        if (auto* e = std::get_if<pathwise::EdgeWrite>(&op)) {
          l->edges[EdgeKey(e->type, e->from.type + ":" + e->from.id,
                           e->to.type + ":" + e->to.id)] = e->weight.value_or(1.0);
        }
      }
    }
    l->similar = BruteForceSimilar(l->data, l->graph.options.similarity);
    for (const auto& [movie, list] : l->similar) {
      for (const auto& [other, sim] : list) {
        l->edges[EdgeKey("SIMILAR_TO", "Movie:" + std::to_string(movie),
                         "Movie:" + std::to_string(other))] = sim;
      }
    }
    for (const auto& [key, weight] : BruteForceFollowedBy(l->data, l->graph.options.transitions)) {
      l->edges[key] = weight;
    }
    std::atexit([] {
      std::string dir = Fixture().dir;
      Fixture().db.reset();
      std::filesystem::remove_all(dir);
    });
    return l;
  }();
  return *loaded;
}

json ParamsFor(const demo::Recipe& recipe, const std::string& user) {
  json params = recipe.params;
  params["user"] = user;
  return params;
}

// Paths in an explanation: objects with "nodes" and "edges" arrays, anywhere inside it.
void CollectPaths(const json& x, std::vector<const json*>* out, int depth = 0) {
  if (depth > 8) return;
  if (x.is_object()) {
    if (x.contains("nodes") && x.contains("edges") && x["nodes"].is_array() &&
        x["edges"].is_array()) {
      out->push_back(&x);
      return;
    }
    for (const auto& [key, value] : x.items()) CollectPaths(value, out, depth + 1);
  } else if (x.is_array()) {
    for (const auto& value : x) CollectPaths(value, out, depth + 1);
  }
}

std::string NodeName(const json& node) {
  if (node.is_string()) return node.get<std::string>();
  return node.value("type", "") + ":" + node.value("id", "");
}

const std::vector<std::string> kUsers = {"1", "15", "68", "414", "599"};

}  // namespace

TEST_CASE("demo graph in a database has the movielens nodes, edges and properties") {
  auto& f = Fixture();
  REQUIRE(f.db->GetMeta(demo::kLoadedMarker).ok());
  auto toy = f.db->GetNode("Movie", "1");
  REQUIRE(toy.ok());
  CHECK(toy.value()["properties"]["title"] == "Toy Story");
  CHECK(toy.value()["properties"]["year"] == 1995);
  CHECK(toy.value()["properties"]["rating_count"] == 215);
  CHECK(toy.value()["degrees"]["RATED"]["in"] == 215);
  auto user = f.db->GetNode("User", "1");
  REQUIRE(user.ok());
  CHECK(user.value()["degrees"]["RATED"]["out"] == f.rated["1"].size());
  // last_rated (the recipes' recency reference) is the user's latest rating time in ms.
  int64_t last_rated = 0;
  for (const auto& r : f.data.ratings) {
    if (r.user == 1) last_rated = std::max(last_rated, r.timestamp * 1000);
  }
  CHECK(last_rated == 965719662000);
  CHECK(user.value()["properties"]["last_rated"] == last_rated);
  auto count = f.db->Query("MATCH (m:Movie) RETURN count(*)", json::object());
  REQUIRE_MESSAGE(count.ok(), count.status().message());
  CHECK(count.value().rows[0][0] == 9742);
  auto ratings = f.db->Query("MATCH (u:User)-[r:RATED]->(m:Movie) RETURN count(*)", json::object());
  REQUIRE_MESSAGE(ratings.ok(), ratings.status().message());
  CHECK(ratings.value().rows[0][0] == 100836);
  auto recipe = f.db->GetMeta("recipe/because_you_watched");
  REQUIRE(recipe.ok());
  CHECK(json::parse(recipe.value())["query"].get<std::string>().find("RECOMMEND") == 0);
}

TEST_CASE("the similarity job wrote the brute-force co-rating neighbours as SIMILAR_TO") {
  auto& f = Fixture();
  const json& record = f.graph.jobs["similarity"];
  CHECK(record["state"] == "done");
  size_t expected = 0;
  for (const auto& [movie, list] : f.similar) expected += list.size();
  CHECK(f.graph.counts.similar_to == expected);
  MESSAGE("SIMILAR_TO edges: " << expected << ", job " << record["result"].dump());
  auto count =
      f.db->Query("MATCH (a:Movie)-[:SIMILAR_TO]->(b:Movie) RETURN count(*)", json::object());
  REQUIRE_MESSAGE(count.ok(), count.status().message());
  CHECK(count.value().rows[0][0] == expected);
  // A few neighbour lists, in order, with their similarities.
  for (int64_t movie : {1, 260, 318, 2571, 4993}) {
    auto result =
        f.db->Query("MATCH (a:Movie {id: $id})-[s:SIMILAR_TO]->(b:Movie) RETURN b.id, s.weight",
                    json{{"id", std::to_string(movie)}});
    REQUIRE_MESSAGE(result.ok(), result.status().message());
    std::map<std::string, double> got;
    for (const auto& row : result.value().rows) got[row[0].get<std::string>()] = row[1];
    const auto& want = f.similar[movie];
    CHECK(got.size() == want.size());
    // No structured binding: clang 14 cannot capture one inside doctest's macros.
    for (const auto& neighbour : want) {
      const auto other = neighbour.first;
      const double sim = neighbour.second;
      auto it = got.find(std::to_string(other));
      CHECK_MESSAGE(it != got.end(), movie << " lacks neighbour " << other);
      if (it != got.end()) CHECK(it->second == doctest::Approx(sim).epsilon(1e-5));
    }
  }
  // Toy Story's co-rating neighbours include Toy Story 2.
  CHECK(std::any_of(f.similar[1].begin(), f.similar[1].end(),
                    [](const auto& n) { return n.first == 3114; }));
}

namespace {

bool IsFamilyMovie(const demo::Movie& movie) {
  for (const auto& g : movie.genres) {
    if (g == "Animation" || g == "Children") return true;
  }
  return false;
}

double Cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    dot += double(a[i]) * b[i];
    na += double(a[i]) * a[i];
    nb += double(b[i]) * b[i];
  }
  return na == 0 || nb == 0 ? 0 : dot / std::sqrt(na * nb);
}

}  // namespace

TEST_CASE("svd job's embedding neighbours of Toy Story are animated or children's movies") {
  auto& f = Fixture();
  CHECK(f.graph.jobs["svd"]["state"] == "done");
  auto toy = f.db->GetVector("Movie.embedding", "1");
  REQUIRE(toy.ok());
  CHECK(toy.value().size() == 32);
  std::vector<std::pair<double, size_t>> candidates;
  size_t family = 0;
  for (size_t m = 0; m < f.data.movies.size(); ++m) {
    if (f.data.movies[m].id == 1 || f.graph.matrix.by_movie[m].size() < 20) continue;
    auto v = f.db->GetVector("Movie.embedding", std::to_string(f.data.movies[m].id));
    REQUIRE(v.ok());
    candidates.push_back({-Cosine(toy.value(), v.value()), m});
    if (IsFamilyMovie(f.data.movies[m])) ++family;
  }
  double base_rate = double(family) / candidates.size();
  std::sort(candidates.begin(), candidates.end());
  size_t top = 20, family_top = 0;
  for (size_t i = 0; i < top; ++i) family_top += IsFamilyMovie(f.data.movies[candidates[i].second]);
  double top_rate = double(family_top) / top;
  MESSAGE("family share: top-20 " << top_rate << " vs all " << base_rate);
  CHECK(top_rate >= 2.5 * base_rate);
  CHECK(family_top >= 6);
}

TEST_CASE("svd job's user taste vectors score liked movies above disliked ones") {
  // user . movie is the PureSVD score, the projection of the user's ratings onto the top
  // singular directions: liked movies score higher than disliked ones.
  auto& f = Fixture();
  const auto& m = f.graph.matrix;
  size_t agree = 0, pairs = 0;
  for (size_t u = 0; u < m.num_users; u += 7) {
    auto taste = f.db->GetVector("User.taste", std::to_string(m.user_ids[u]));
    REQUIRE(taste.ok());
    double liked = 0, disliked = 0;
    size_t n_liked = 0, n_disliked = 0;
    for (const auto& [movie, rating] : m.by_user[u]) {
      auto v = f.db->GetVector("Movie.embedding", std::to_string(f.data.movies[movie].id));
      REQUIRE(v.ok());
      double dot = 0;
      for (size_t k = 0; k < v.value().size(); ++k) dot += taste.value()[k] * v.value()[k];
      if (rating >= 4.5) liked += dot, ++n_liked;
      if (rating <= 2) disliked += dot, ++n_disliked;
    }
    if (!n_liked || !n_disliked) continue;
    ++pairs;
    if (liked / n_liked > disliked / n_disliked) ++agree;
  }
  REQUIRE(pairs > 20);
  MESSAGE("users whose liked movies score higher: " << agree << " of " << pairs);
  CHECK(agree >= 0.9 * pairs);
}

TEST_CASE("no recipe recommends a movie the user already rated") {
  auto& f = Fixture();
  for (const demo::Recipe& recipe : demo::DemoRecipes()) {
    for (const std::string& user : kUsers) {
      auto result = f.db->Query(recipe.query, ParamsFor(recipe, user));
      REQUIRE_MESSAGE(result.ok(), recipe.name << ": " << result.status().message());
      auto ids = demo::ResultMovieIds(result.value());
      CHECK_MESSAGE(ids.size() == 10, recipe.name << " for user " << user);
      for (int64_t id : ids) {
        CHECK_MESSAGE(!f.rated[user].count(std::to_string(id)),
                      recipe.name << " recommended movie " << id << " already rated by " << user);
      }
    }
  }
}

TEST_CASE("every edge on an explanation path exists in the data") {
  auto& f = Fixture();
  pathwise::QueryOptions options;
  options.explain = true;
  options.explain_options.context = true;  // similar_taste's results show only context paths
  size_t paths_checked = 0;
  for (const demo::Recipe& recipe : demo::DemoRecipes()) {
    // similar_taste is a pure vector source: its paths are the engine's shortest path from the
    // user to the movie, which must consist of real edges just the same.
    size_t recipe_paths = 0;
    for (const std::string& user : kUsers) {
      auto result = f.db->Query(recipe.query, ParamsFor(recipe, user), options);
      REQUIRE_MESSAGE(result.ok(), recipe.name << ": " << result.status().message());
      const auto& explanations = result.value().explanations;
      REQUIRE(explanations.size() == result.value().rows.size());
      for (const json& explanation : explanations) {
        std::vector<const json*> paths;
        CollectPaths(explanation, &paths);
        if (recipe.name != "similar_taste") CHECK_FALSE(paths.empty());
        for (const json* path : paths) {
          const json& nodes = (*path)["nodes"];
          const json& edges = (*path)["edges"];
          REQUIRE(nodes.size() == edges.size() + 1);
          REQUIRE(edges.size() >= 1);
          // A path ends at the recommended movie and starts at the user, or at the genre node
          // for the genre-anchored sources of genre_explorer and new_user.
          std::string start = NodeName(nodes.front());
          CHECK_MESSAGE((start == "User:" + user || start.rfind("Genre:", 0) == 0),
                        recipe.name << ": path starts at " << start);
          CHECK(NodeName(nodes.back()) == "Movie:" + explanation.value("id", std::string()));
          for (size_t i = 0; i < edges.size(); ++i) {
            std::string type = edges[i].value("type", "");
            std::string a = NodeName(nodes[i]), b = NodeName(nodes[i + 1]);
            // The edge is stored from -> to in the direction the explanation says it was walked.
            bool out = edges[i].value("direction", "") == "out";
            std::string key = out ? EdgeKey(type, a, b) : EdgeKey(type, b, a);
            auto it = f.edges.find(key);
            CHECK_MESSAGE(it != f.edges.end(), recipe.name << ": edge " << key << " not in the data");
            if (it != f.edges.end()) {
              CHECK_MESSAGE(edges[i].value("weight", -1.0) == doctest::Approx(it->second),
                            recipe.name << ": weight of " << key);
            }
            ++paths_checked;
            ++recipe_paths;
          }
        }
      }
    }
    CHECK_MESSAGE(recipe_paths >= 10, recipe.name << " explained too few edges");
  }
  CHECK(paths_checked > 50);
}

TEST_CASE("demo server serves the explorer page and a rating event changes the recommendations") {
  auto& f = Fixture();
  pathwise::server::ServerOptions options;
  options.port = 0;
  options.no_auth = true;
  pathwise::server::Server server(f.db.get(), options);
  REQUIRE(server.Start().ok());
  httplib::Client client("127.0.0.1", server.port());
  auto page = client.Get("/");
  REQUIRE(page);
  CHECK(page->status == 200);
  CHECK(page->body.find("Pathwise") != std::string::npos);
  auto script = client.Get("/static/app.js");
  REQUIRE(script);
  CHECK(script->status == 200);

  const std::string user = "414";
  auto run = [&]() {
    auto res = client.Post("/v1/recipes/because_you_watched/run",
                           json{{"params", {{"user", user}}}, {"explain", true}}.dump(),
                           "application/json");
    REQUIRE(res);
    REQUIRE_MESSAGE(res->status == 200, res->body);
    json body = json::parse(res->body);
    pathwise::QueryResult result;
    result.columns = body["columns"];
    result.rows = body["rows"];
    return demo::ResultMovieIds(result);
  };
  auto before = run();
  REQUIRE(before.size() == 10);
  json events = json::array({{{"event_id", "demo-test-" + std::to_string(::getpid())},
                              {"user", user},
                              {"item", std::to_string(before[0])},
                              {"type", "rate"},
                              {"weight", 5.0}}});
  auto posted = client.Post("/v1/events", events.dump(), "application/json");
  REQUIRE(posted);
  CHECK_MESSAGE(posted->status / 100 == 2, posted->body);
  auto after = run();
  CHECK(after.size() == 10);
  CHECK(std::find(after.begin(), after.end(), before[0]) == after.end());
  server.Stop();
}
