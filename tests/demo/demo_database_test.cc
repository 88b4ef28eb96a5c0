// The demo graph loaded into a real Database: recipes run as PQL, exclude rated movies and
// explain themselves with edges that exist; the server serves the explorer and takes events.
#include <doctest/doctest.h>

#include <httplib.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <unistd.h>

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
};

std::string EdgeKey(const std::string& type, const std::string& from, const std::string& to) {
  return type + "|" + from + "|" + to;
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
    pathwise::Status status = demo::LoadDemoGraph(l->db.get(), l->graph);
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
