// End-to-end tests of the HTTP API over a real Server and Database.
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "server/assets.h"
#include "server_fixture.h"

namespace pathwise::server::testing {
namespace {

constexpr char kViewedQuery[] =
    "MATCH (u:User {id: $user})-[:VIEWED]->(i:Item) RETURN i.id ORDER BY i.id";

std::vector<std::string> FirstColumn(const nlohmann::json& result) {
  std::vector<std::string> out;
  for (const auto& row : result["rows"]) out.push_back(row[0].get<std::string>());
  return out;
}

nlohmann::json QueryBody(const std::string& query, nlohmann::json params) {
  return {{"query", query}, {"params", std::move(params)}};
}

// POST /v1/query of kViewedQuery for user u1.
httplib::Result PostViewedQuery(ServerHarness& h, httplib::Client& client) {
  return client.Post("/v1/query", h.Auth("read"), QueryBody(kViewedQuery, {{"user", "u1"}}).dump(),
                     "application/json");
}

TEST_CASE("query endpoint runs PQL with parameters and returns columns and rows") {
  TempDir dir;
  ServerHarness h(dir.path());
  auto client = h.Client();
  auto res = PostViewedQuery(h, client);
  REQUIRE(res);
  INFO(res->body);
  CHECK(res->status == 200);
  auto body = Json(res);
  CHECK(body["columns"].size() == 1);
  CHECK(FirstColumn(body) == std::vector<std::string>{"i1", "i2"});
  CHECK(body.contains("stats"));
}

// The stage names and durations (ms) of a Server-Timing header, in order.
std::vector<std::pair<std::string, double>> TimingStages(const std::string& header) {
  std::vector<std::pair<std::string, double>> stages;
  std::stringstream in(header);
  std::string entry;
  while (std::getline(in, entry, ',')) {
    size_t start = entry.find_first_not_of(' ');
    size_t dur = entry.find(";dur=");
    REQUIRE(dur != std::string::npos);
    stages.emplace_back(entry.substr(start, dur - start), std::stod(entry.substr(dur + 5)));
  }
  return stages;
}

TEST_CASE("every reply times its stages in a Server-Timing header, a query's parse, query and json") {
  TempDir dir;
  ServerHarness h(dir.path());
  auto client = h.Client();
  auto res = PostViewedQuery(h, client);
  REQUIRE(res);
  CHECK(res->status == 200);
  auto stages = TimingStages(res->get_header_value("Server-Timing"));
  std::vector<std::string> names;
  double handler = 0;
  for (const auto& [name, ms] : stages) {
    names.push_back(name);
    CHECK(ms >= 0);
    if (name == "body" || name == "parse" || name == "query" || name == "json") handler += ms;
  }
  CHECK(names == std::vector<std::string>{"recv", "body", "parse", "query", "json", "total"});
  CHECK(stages.back().second >= handler - 0.01);  // total holds the body and the handler's stages

  auto health = client.Get("/health");
  REQUIRE(health);
  names.clear();
  for (const auto& [name, ms] : TimingStages(health->get_header_value("Server-Timing"))) {
    names.push_back(name);
  }
  CHECK(names == std::vector<std::string>{"recv", "body", "total"});
}

TEST_CASE("recipes are stored, listed, fetched, run with merged params and deleted") {
  TempDir dir;
  ServerHarness h(dir.path());
  auto client = h.Client();
  nlohmann::json recipe = {{"query", kViewedQuery},
                           {"description", "items a user viewed"},
                           {"params", {{"user", "u2"}}}};
  auto created = client.Post("/v1/recipes/viewed", h.Auth("admin"), recipe.dump(), "application/json");
  REQUIRE(created);
  INFO(created->body);
  REQUIRE(created->status == 200);

  auto list = Json(client.Get("/v1/recipes", h.Auth("read")));
  REQUIRE(list["recipes"].size() == 1);
  CHECK(list["recipes"][0]["name"] == "viewed");

  auto fetched = Json(client.Get("/v1/recipes/viewed", h.Auth("read")));
  CHECK(fetched["query"] == kViewedQuery);
  CHECK(fetched["params"]["user"] == "u2");

  // Defaults: u2 viewed nothing. Overridden: u1 viewed i1, i2.
  auto run_default = Json(client.Post("/v1/recipes/viewed/run", h.Auth("read"), "", "application/json"));
  CHECK(run_default["rows"].empty());
  auto run_u1 = client.Post("/v1/recipes/viewed/run", h.Auth("read"),
                            nlohmann::json{{"params", {{"user", "u1"}}}}.dump(), "application/json");
  REQUIRE(run_u1);
  CHECK(run_u1->status == 200);
  CHECK(FirstColumn(Json(run_u1)) == std::vector<std::string>{"i1", "i2"});

  auto deleted = client.Delete("/v1/recipes/viewed", h.Auth("admin"));
  REQUIRE(deleted);
  CHECK(deleted->status == 200);
  auto gone = client.Get("/v1/recipes/viewed", h.Auth("read"));
  REQUIRE(gone);
  CHECK(gone->status == 404);
  CHECK(HasErrorShape(gone->body));
}

TEST_CASE("unknown recipe is 404 for get, run and delete") {
  TempDir dir;
  ServerHarness h(dir.path());
  auto client = h.Client();
  auto get = client.Get("/v1/recipes/nope", h.Auth("read"));
  auto run = client.Post("/v1/recipes/nope/run", h.Auth("read"), "{}", "application/json");
  auto del = client.Delete("/v1/recipes/nope", h.Auth("admin"));
  for (const auto* res : {&get, &run, &del}) {
    REQUIRE(*res);
    CHECK((*res)->status == 404);
    CHECK(Json(*res)["error"]["code"] == "not_found");
  }
}

TEST_CASE("recipe with a syntax error is rejected with line and column") {
  TempDir dir;
  ServerHarness h(dir.path());
  auto client = h.Client();
  nlohmann::json recipe = {{"query", "MATCH (u:User)\nRETRUN u.id"}};
  auto res = client.Post("/v1/recipes/broken", h.Auth("admin"), recipe.dump(), "application/json");
  REQUIRE(res);
  CHECK(res->status == 400);
  auto body = Json(res);
  CHECK(body["error"]["code"] == "syntax_error");
  CHECK(body["error"]["line"] == 2);
  CHECK(body["error"]["column"].get<int>() >= 1);
  auto missing = client.Get("/v1/recipes/broken", h.Auth("read"));
  REQUIRE(missing);
  CHECK(missing->status == 404);
}

TEST_CASE("node endpoints upsert, patch, get and delete a node") {
  TempDir dir;
  ServerHarness h(dir.path());
  auto client = h.Client();
  auto put = client.Put("/v1/nodes/Item/i9", h.Auth("write"),
                        R"({"properties": {"title": "Nine", "price": 9.5}})", "application/json");
  REQUIRE(put);
  INFO(put->body);
  REQUIRE(put->status == 200);
  auto node = Json(client.Get("/v1/nodes/Item/i9", h.Auth("read")));
  CHECK(node["id"] == "i9");
  CHECK(node["properties"]["title"] == "Nine");

  auto patch = client.Patch("/v1/nodes/Item/i9", h.Auth("write"),
                            R"({"properties": {"price": 12.0}})", "application/json");
  REQUIRE(patch);
  CHECK(patch->status == 200);
  node = Json(client.Get("/v1/nodes/Item/i9", h.Auth("read")));
  CHECK(node["properties"]["title"] == "Nine");
  CHECK(node["properties"]["price"].get<double>() == doctest::Approx(12.0));

  auto del = client.Delete("/v1/nodes/Item/i9", h.Auth("write"));
  REQUIRE(del);
  CHECK(del->status == 200);
  auto gone = client.Get("/v1/nodes/Item/i9", h.Auth("read"));
  REQUIRE(gone);
  CHECK(gone->status == 404);
  CHECK(HasErrorShape(gone->body));
}

TEST_CASE("edge and vector endpoints write through to the next query") {
  TempDir dir;
  ServerHarness h(dir.path());
  auto client = h.Client();
  auto put = client.Put("/v1/edges", h.Auth("write"),
                        R"({"type": "VIEWED", "from": ["User", "u2"], "to": ["Item", "i3"], "weight": 2})",
                        "application/json");
  REQUIRE(put);
  INFO(put->body);
  REQUIRE(put->status == 200);
  auto result = Json(client.Post("/v1/query", h.Auth("read"),
                                 QueryBody(kViewedQuery, {{"user", "u2"}}).dump(), "application/json"));
  CHECK(FirstColumn(result) == std::vector<std::string>{"i3"});

  auto del = client.Delete("/v1/edges", h.Auth("write"),
                           R"({"type": "VIEWED", "from": ["User", "u2"], "to": ["Item", "i3"]})",
                           "application/json");
  REQUIRE(del);
  CHECK(del->status == 200);
  result = Json(client.Post("/v1/query", h.Auth("read"),
                            QueryBody(kViewedQuery, {{"user", "u2"}}).dump(), "application/json"));
  CHECK(result["rows"].empty());

  auto vec = client.Put("/v1/vectors/Item.embedding/i3", h.Auth("write"),
                        R"({"values": [0.1, 0.2, 0.3, 0.4]})", "application/json");
  REQUIRE(vec);
  CHECK(vec->status == 200);
  auto node = Json(client.Get("/v1/nodes/Item/i3", h.Auth("read")));
  CHECK(node["vectors"].contains("embedding"));
  auto wrong_dim = client.Put("/v1/vectors/Item.embedding/i3", h.Auth("write"),
                              R"({"values": [0.1, 0.2]})", "application/json");
  REQUIRE(wrong_dim);
  CHECK(wrong_dim->status == 400);
  auto vdel = client.Delete("/v1/vectors/Item.embedding/i3", h.Auth("write"));
  REQUIRE(vdel);
  CHECK(vdel->status == 200);
}

TEST_CASE("batch applies every line or none and names bad lines") {
  TempDir dir;
  ServerHarness h(dir.path());
  auto client = h.Client();
  std::string bad =
      "{\"node\":\"Item\",\"id\":\"b1\"}\n"
      "{\"edge\":\"VIEWED\",\"from\":\"u1\"}\n"
      "not json\n";
  auto res = client.Post("/v1/batch", h.Auth("write"), bad, "application/x-ndjson");
  REQUIRE(res);
  CHECK(res->status == 400);
  auto body = Json(res);
  REQUIRE(body["errors"].size() == 2);
  CHECK(body["errors"][0]["line"] == 2);
  CHECK(body["errors"][1]["line"] == 3);
  auto absent = client.Get("/v1/nodes/Item/b1", h.Auth("read"));
  REQUIRE(absent);
  CHECK(absent->status == 404);

  std::string good =
      "{\"node\":\"Item\",\"id\":\"b1\",\"props\":{\"title\":\"B\"}}\n"
      "\n"
      "{\"edge\":\"VIEWED\",\"from\":[\"User\",\"u2\"],\"to\":[\"Item\",\"b1\"]}\n"
      "{\"vector\":\"Item.embedding\",\"id\":\"b1\",\"values\":[1,0,0,0]}\n";
  res = client.Post("/v1/batch", h.Auth("write"), good, "application/x-ndjson");
  REQUIRE(res);
  INFO(res->body);
  CHECK(res->status == 200);
  CHECK(Json(res)["applied"] == 3);
  auto result = Json(client.Post("/v1/query", h.Auth("read"),
                                 QueryBody(kViewedQuery, {{"user", "u2"}}).dump(), "application/json"));
  CHECK(FirstColumn(result) == std::vector<std::string>{"b1"});
}

TEST_CASE("schema endpoints return and merge the schema") {
  TempDir dir;
  ServerHarness h(dir.path());
  auto client = h.Client();
  auto schema = Json(client.Get("/v1/schema", h.Auth("read")));
  CHECK(schema["node_types"].size() == 2);
  auto merged = client.Post("/v1/schema", h.Auth("admin"),
                            R"({"node_types": [{"name": "Tag"}]})", "application/json");
  REQUIRE(merged);
  CHECK(merged->status == 200);
  CHECK(Json(merged)["node_types"].size() == 3);
  auto conflict = client.Post("/v1/schema", h.Auth("admin"),
                              R"({"edge_types": [{"name": "VIEWED", "mode": "replace"}]})",
                              "application/json");
  REQUIRE(conflict);
  CHECK(conflict->status == 400);
  CHECK(HasErrorShape(conflict->body));
}

TEST_CASE("schema counters are declared over HTTP and a bad declaration is a 400 naming it") {
  TempDir dir;
  ServerHarness h(dir.path());
  auto client = h.Client();
  auto declared = client.Post("/v1/schema", h.Auth("admin"),
                              R"({"counters": [{"name": "views_7d", "key": "item",
                                  "source": {"events": ["view"]}, "window": "7d"}]})",
                              "application/json");
  REQUIRE(declared);
  CHECK(declared->status == 200);
  auto schema = Json(client.Get("/v1/schema", h.Auth("read")));
  REQUIRE(schema["counters"].size() == 1);
  CHECK(schema["counters"][0]["window"] == 7 * 24 * 3600 * 1000);
  CHECK(schema["counters"][0]["bucket"] == 7 * 3600 * 1000);
  auto bad = client.Post("/v1/schema", h.Auth("admin"),
                         R"({"counters": [{"name": "ctr", "key": "item", "form": "ratio",
                             "numerator": "clicks", "denominator": "views_7d"}]})",
                         "application/json");
  REQUIRE(bad);
  CHECK(bad->status == 400);
  CHECK(HasErrorShape(bad->body));
  CHECK(bad->body.find("counter 'ctr': unknown counter 'clicks'") != std::string::npos);
}

TEST_CASE("a vector space's index is declared over HTTP and an unknown one is a 400 naming it") {
  TempDir dir;
  ServerHarness h(dir.path());
  auto client = h.Client();
  auto declared = client.Post("/v1/schema", h.Auth("admin"),
                              R"({"node_types": [{"name": "User"}],
                                  "vector_spaces": [{"node_type": "User", "name": "taste",
                                                     "dim": 4, "index": "flat"}]})",
                              "application/json");
  REQUIRE(declared);
  CHECK(declared->status == 200);
  auto schema = Json(client.Get("/v1/schema", h.Auth("read")));
  std::map<std::string, std::string> index_of;  // "Type.name" -> index
  for (const auto& space : schema["vector_spaces"]) {
    index_of[space["node_type"].get<std::string>() + "." + space["name"].get<std::string>()] =
        space["index"].get<std::string>();
  }
  CHECK(index_of["User.taste"] == "flat");
  auto bad = client.Post("/v1/schema", h.Auth("admin"),
                         R"({"vector_spaces": [{"node_type": "User", "name": "other", "dim": 4,
                                                "index": "annoy"}]})",
                         "application/json");
  REQUIRE(bad);
  CHECK(bad->status == 400);
  CHECK(HasErrorShape(bad->body));
  CHECK(bad->body.find("vector space 'User.other' has unknown index 'annoy' (hnsw or flat)") !=
        std::string::npos);
}

TEST_CASE("admin load runs a background job that reports its lines") {
  TempDir dir;
  ServerHarness h(dir.path());
  auto client = h.Client();
  std::string body;
  for (int i = 0; i < 50; ++i) {
    body += "{\"node\":\"Item\",\"id\":\"L" + std::to_string(i) + "\"}\n";
  }
  auto res = client.Post("/v1/admin/load", h.Auth("admin"), body, "application/x-ndjson");
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 202);
  std::string job = Json(res)["job"];
  nlohmann::json status;
  for (int attempt = 0; attempt < 600; ++attempt) {
    status = Json(client.Get("/v1/admin/jobs/" + job, h.Auth("admin")));
    if (status["state"] != "running") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  INFO(status.dump());
  CHECK(status["state"] == "done");
  CHECK(status["lines"] == 50);
  CHECK(status["errors"] == 0);
  CHECK(Json(client.Get("/v1/nodes/Item/L49", h.Auth("read")))["id"] == "L49");
  CHECK(status.contains("report"));
  auto missing = client.Get("/v1/admin/jobs/nope", h.Auth("admin"));
  REQUIRE(missing);
  CHECK(missing->status == 404);
}

TEST_CASE("a query's now_ms sets the clock now() and decay() read") {
  TempDir dir;
  ServerHarness h(dir.path());
  auto client = h.Client();
  nlohmann::json body = {{"query", "MATCH (i:Item {id: 'i1'}) RETURN now(), decay(now() - 7000, 7s)"},
                         {"now_ms", 1793491200000}};
  auto res = client.Post("/v1/query", h.Auth("read"), body.dump(), "application/json");
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 200);
  nlohmann::json rows = Json(res)["rows"];
  CHECK(rows[0][0] == 1793491200000);
  CHECK(rows[0][1].get<double>() == doctest::Approx(0.5));
  body["now_ms"] = "soon";
  auto bad = client.Post("/v1/query", h.Auth("read"), body.dump(), "application/json");
  REQUIRE(bad);
  CHECK(bad->status == 400);
}

// Polls a load job until it leaves the running state.
nlohmann::json WaitForJob(ServerHarness& h, httplib::Client& client, const std::string& job) {
  nlohmann::json status;
  for (int attempt = 0; attempt < 1200; ++attempt) {
    status = Json(client.Get("/v1/admin/jobs/" + job, h.Auth("admin")));
    if (status["state"] != "running") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return status;
}

TEST_CASE("admin load with dry_run reports the load's errors and writes nothing") {
  TempDir dir;
  ServerHarness h(dir.path());
  auto client = h.Client();
  std::string body = "{\"node\":\"Item\",\"id\":\"D1\"}\n{\"node\":\"Gadget\",\"id\":\"x\"}\n"
                     "{\"edge\":\"VIEWED\",\"from\":[\"User\",\"nobody\"],\"to\":[\"Item\",\"D1\"]}\n";
  auto res = client.Post("/v1/admin/load?dry_run=true", h.Auth("admin"), body, "application/x-ndjson");
  REQUIRE(res);
  REQUIRE(res->status == 202);
  nlohmann::json status = WaitForJob(h, client, Json(res)["job"]);
  INFO(status.dump());
  CHECK(status["state"] == "done");
  CHECK(status["dry_run"] == true);
  CHECK(status["lines"] == 3);
  CHECK(status["errors"] == 2);
  CHECK(status["error_list"][0]["line"] == 2);
  CHECK(status["error_list"][1]["line"] == 3);
  CHECK(client.Get("/v1/nodes/Item/D1", h.Auth("read"))->status == 404);
  auto bad = client.Post("/v1/admin/load?dry_run=maybe", h.Auth("admin"), body, "application/x-ndjson");
  REQUIRE(bad);
  CHECK(bad->status == 400);
}

TEST_CASE("a cancelled admin load keeps the lines before it stopped and says how many") {
  TempDir dir;
  ServerHarness h(dir.path());
  auto client = h.Client();
  std::string body;
  const int kLines = 400000;
  for (int i = 0; i < kLines; ++i) body += "{\"node\":\"Item\",\"id\":\"C" + std::to_string(i) + "\"}\n";
  auto res = client.Post("/v1/admin/load", h.Auth("admin"), body, "application/x-ndjson");
  REQUIRE(res);
  REQUIRE(res->status == 202);
  std::string job = Json(res)["job"];
  auto cancel = client.Post("/v1/admin/jobs/" + job + "/cancel", h.Auth("admin"), "", "application/json");
  REQUIRE(cancel);
  INFO(cancel->body);
  CHECK(cancel->status == 202);
  nlohmann::json status = WaitForJob(h, client, job);
  INFO(status.dump());
  REQUIRE(status["state"] == "cancelled");
  size_t lines = status["lines"];
  CHECK(lines < kLines);
  CHECK(status["report"]["cancelled"] == true);
  // Exactly the lines it reports are loaded: the last one is there, the next one is not.
  CHECK(client.Get("/v1/nodes/Item/C" + std::to_string(lines - 1), h.Auth("read"))->status == 200);
  CHECK(client.Get("/v1/nodes/Item/C" + std::to_string(lines), h.Auth("read"))->status == 404);
  auto again = client.Post("/v1/admin/jobs/" + job + "/cancel", h.Auth("admin"), "", "application/json");
  REQUIRE(again);
  CHECK(again->status == 409);
  auto missing = client.Post("/v1/admin/jobs/nope/cancel", h.Auth("admin"), "", "application/json");
  REQUIRE(missing);
  CHECK(missing->status == 404);
}

TEST_CASE("admin backup writes a restorable backup directory") {
  TempDir dir;
  std::string backup_dir;
  {
    ServerHarness h(dir.Sub("data"));
    auto client = h.Client();
    auto res = client.Post("/v1/admin/backup", h.Auth("admin"), "", "application/json");
    REQUIRE(res);
    INFO(res->body);
    REQUIRE(res->status == 200);
    backup_dir = Json(res)["dir"];
    CHECK(std::filesystem::exists(backup_dir));
    auto again = client.Post("/v1/admin/backup", h.Auth("admin"),
                             nlohmann::json{{"dir", backup_dir}}.dump(), "application/json");
    REQUIRE(again);
    CHECK(again->status == 409);
  }
  REQUIRE(Database::Restore(backup_dir, dir.Sub("restored")).ok());
  auto db = Database::Open(DatabaseOptions{}, dir.Sub("restored"));
  REQUIRE(db.ok());
  CHECK((*db)->GetNode("Item", "i1").ok());
}

TEST_CASE("keys endpoint mints keys that authenticate with their role") {
  TempDir dir;
  ServerHarness h(dir.path());
  auto client = h.Client();
  auto res = client.Post("/v1/admin/keys", h.Auth("admin"), R"({"role": "write"})", "application/json");
  REQUIRE(res);
  REQUIRE(res->status == 200);
  auto minted = Json(res);
  std::string key = minted["key"];
  CHECK(key.rfind("pw_", 0) == 0);
  httplib::Headers auth = {{"Authorization", "Bearer " + key}};
  auto schema = client.Get("/v1/schema", auth);
  REQUIRE(schema);
  CHECK(schema->status == 200);
  auto admin_only = client.Get("/v1/admin/stats", auth);
  REQUIRE(admin_only);
  CHECK(admin_only->status == 403);

  auto listed = Json(client.Get("/v1/admin/keys", h.Auth("admin")));
  CHECK(listed["keys"].size() == 4);
  CHECK(listed.dump().find(key.substr(key.rfind('_') + 1)) == std::string::npos);

  auto revoked = client.Delete("/v1/admin/keys/" + minted["id"].get<std::string>(), h.Auth("admin"));
  REQUIRE(revoked);
  CHECK(revoked->status == 200);
  auto after = client.Get("/v1/schema", auth);
  REQUIRE(after);
  CHECK(after->status == 401);
  auto bad_role = client.Post("/v1/admin/keys", h.Auth("admin"), R"({"role": "root"})", "application/json");
  REQUIRE(bad_role);
  CHECK(bad_role->status == 400);
}

TEST_CASE("health, ready, stats, metrics and openapi are served") {
  TempDir dir;
  ServerHarness h(dir.path());
  auto client = h.Client();
  auto health = client.Get("/health");
  REQUIRE(health);
  CHECK(health->status == 200);
  auto ready = client.Get("/ready");
  REQUIRE(ready);
  CHECK(ready->status == 200);
  auto stats = Json(client.Get("/v1/admin/stats", h.Auth("admin")));
  CHECK(stats.contains("nodes"));

  client.Post("/v1/query", h.Auth("read"), QueryBody(kViewedQuery, {{"user", "u1"}}).dump(),
              "application/json");
  auto metrics = client.Get("/metrics", h.Auth("read"));
  REQUIRE(metrics);
  CHECK(metrics->status == 200);
  CHECK(metrics->body.find("pathwise_http_requests_total{endpoint=\"POST /v1/query\",status=\"200\"} 1") !=
        std::string::npos);
  CHECK(metrics->body.find("pathwise_http_request_seconds_bucket{endpoint=\"POST /v1/query\"") !=
        std::string::npos);
  CHECK(metrics->body.find("pathwise_query_stage_seconds_count{stage=\"exec\"} 1") !=
        std::string::npos);
  CHECK(metrics->body.find("pathwise_query_stage_seconds_count{stage=\"parse\"} 1") !=
        std::string::npos);
  CHECK(metrics->body.find("pathwise_nodes ") != std::string::npos);
  CHECK(metrics->body.find("pathwise_events_total{outcome=\"ingested\"} 0") != std::string::npos);

  auto openapi = client.Get("/v1/openapi.yaml");
  REQUIRE(openapi);
  CHECK(openapi->status == 200);
  CHECK(openapi->body.rfind("openapi: 3", 0) == 0);
}

TEST_CASE("embedded explorer files are served under /static and the index at /") {
  TempDir dir;
  ServerHarness h(dir.path());
  auto client = h.Client();
  for (const EmbeddedAsset& asset : EmbeddedAssets()) {
    auto res = client.Get(std::string("/static/") + asset.path);
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(res->body == std::string(reinterpret_cast<const char*>(asset.data), asset.size));
    CHECK(res->get_header_value("Content-Type") == asset.content_type);
  }
  auto index = client.Get("/");
  REQUIRE(index);
  CHECK(index->status == (FindAsset("index.html") != nullptr ? 200 : 404));
  auto missing = client.Get("/static/definitely-missing.js");
  REQUIRE(missing);
  CHECK(missing->status == 404);
  CHECK(HasErrorShape(missing->body));
}

}  // namespace
}  // namespace pathwise::server::testing
