// End-to-end: surfaces and decisions over HTTP (docs/decisions.md). The decision logic itself is
// tested on the embedded database in tests/decide/.
#include "server_fixture.h"

namespace pathwise::server::testing {
namespace {

using json = nlohmann::json;

constexpr char kViewedRecipe[] = R"(RECOMMEND (c:Item) FOR (u:User {id: $user})
  FROM NEAREST 10 TO [1.0, 1.0, 0.5, 0.25] IN Item.embedding AS near
  WHERE NOT (u)-[:VIEWED]->(c)
  SCORE c.price LIMIT 10)";

json Surface() {
  return {{"recipe", "unviewed"},
          {"k", 2},
          {"item_type", "Item"},
          {"label", "title"},
          {"popular", {{"query", "MATCH (i:Item) RETURN i.id ORDER BY i.price DESC"}}},
          {"rules", json::array({{{"type", "filter"}, {"where", "i.price < 100"}}})}};
}

void StoreRecipe(ServerHarness& h) {
  auto res = h.Client().Post("/v1/recipes/unviewed", h.Auth("admin"),
                             json{{"query", kViewedRecipe}}.dump(), "application/json");
  REQUIRE(res);
  REQUIRE(res->status == 200);
}

// Stores the recipe and surface "row" (Surface()); returns a client of the server.
httplib::Client StoreRow(ServerHarness& h) {
  StoreRecipe(h);
  auto client = h.Client();
  auto res = client.Post("/v1/surfaces/row", h.Auth("admin"), Surface().dump(), "application/json");
  REQUIRE(res);
  REQUIRE(res->status == 200);
  return client;
}

TEST_CASE("surfaces are stored, listed, fetched and deleted over HTTP with admin rights") {
  TempDir dir;
  ServerHarness h(dir.path());
  auto client = h.Client();
  auto denied = client.Post("/v1/surfaces/row", h.Auth("read"), Surface().dump(), "application/json");
  REQUIRE(denied);
  CHECK(denied->status == 403);
  auto put = client.Post("/v1/surfaces/row", h.Auth("admin"), Surface().dump(), "application/json");
  REQUIRE(put);
  INFO(put->body);
  CHECK(put->status == 200);
  CHECK(Json(put)["deadline_ms"] == 50);
  CHECK(Json(client.Get("/v1/surfaces", h.Auth("read")))["surfaces"].size() == 1);
  CHECK(Json(client.Get("/v1/surfaces/row", h.Auth("read")))["recipe"] == "unviewed");
  auto bad = client.Post("/v1/surfaces/bad", h.Auth("admin"),
                         json{{"recipe", "x"}, {"item_type", "Item"},
                              {"rules", json::array({{{"type", "filter"}, {"where", "i.nope +"}}})}}
                             .dump(),
                         "application/json");
  REQUIRE(bad);
  CHECK(bad->status == 400);
  CHECK(HasErrorShape(bad->body));
  CHECK(bad->body.find("rules[0].where") != std::string::npos);
  auto del = client.Delete("/v1/surfaces/row", h.Auth("admin"));
  REQUIRE(del);
  CHECK(del->status == 200);
  CHECK(client.Get("/v1/surfaces/row", h.Auth("read"))->status == 404);
}

TEST_CASE("decide answers 200 with items, reasons and timings, and 4xx only for bad input") {
  TempDir dir;
  ServerHarness h(dir.path());
  auto client = StoreRow(h);
  auto res = client.Post("/v1/surfaces/row/decide", h.Auth("read"), json{{"user", "u1"}}.dump(),
                         "application/json");
  REQUIRE(res);
  INFO(res->body);
  CHECK(res->status == 200);
  json d = Json(res);
  CHECK(d["served_by"] == "primary");
  REQUIRE(d["items"].size() == 1);  // u1 viewed i1 and i2
  CHECK(d["items"][0]["id"] == "i3");
  CHECK(d["items"][0]["label"] == "Gamma");
  CHECK(d["timings"]["steps"][0]["source"] == "primary");
  CHECK(d["timings"]["steps"][0]["run"] == "inline");

  // A user the database has never seen: still a 200.
  json unknown = Json(client.Post("/v1/surfaces/row/decide", h.Auth("read"),
                                  json{{"user", "stranger"}}.dump(), "application/json"));
  CHECK(unknown["items"].size() == 2);
  bool no_history = false;
  for (const auto& r : unknown["reasons"]) no_history |= r == "no_history";
  CHECK(no_history);

  CHECK(client.Post("/v1/surfaces/row/decide", h.Auth("read"), "{}", "application/json")->status == 400);
  CHECK(client.Post("/v1/surfaces/row/decide", h.Auth("read"), "not json", "application/json")->status == 400);
  CHECK(client.Post("/v1/surfaces/none/decide", h.Auth("read"), json{{"user", "u1"}}.dump(),
                    "application/json")->status == 404);
  auto metrics = client.Get("/metrics", h.Auth("read"));
  REQUIRE(metrics);
  CHECK(metrics->body.find("pathwise_decisions_total{served_by=\"primary\"} 1") != std::string::npos);
  CHECK(metrics->body.find("pathwise_decision_steps_total{run=\"worker\"} 0") != std::string::npos);
  CHECK(metrics->body.find("pathwise_decision_isolated_recipes 0") != std::string::npos);
  CHECK(metrics->body.find("pathwise_decisions_working 0") != std::string::npos);
  CHECK(metrics->body.find("pathwise_decisions_waiting 0") != std::string::npos);
  CHECK(metrics->body.find("pathwise_decisions_shed_total 0") != std::string::npos);
  CHECK(Json(client.Get("/v1/admin/breakers", h.Auth("read")))["breakers"].is_array());
}

TEST_CASE("a user's event over HTTP erases their cached candidates; cache counts are in /metrics") {
  TempDir dir;
  ServerHarness h(dir.path());
  StoreRecipe(h);
  auto client = h.Client();
  REQUIRE(client.Put("/v1/admin/event-types", h.Auth("admin"), R"({"view": {"edge": "VIEWED"}})",
                     "application/json")->status == 200);
  REQUIRE(client.Post("/v1/surfaces/row", h.Auth("admin"), Surface().dump(), "application/json")->status == 200);
  auto decide = [&] {
    return Json(client.Post("/v1/surfaces/row/decide", h.Auth("read"), json{{"user", "u1"}}.dump(),
                            "application/json"));
  };
  json first = decide();
  CHECK(first["timings"]["steps"][0]["candidates"] == "miss");
  REQUIRE(first["items"].size() == 1);
  CHECK(first["items"][0]["id"] == "i3");
  CHECK(decide()["timings"]["steps"][0]["candidates"] == "hit");
  auto event = client.Post("/v1/events", h.Auth("write"),
                           "{\"event_id\":\"e1\",\"user\":\"u1\",\"item\":\"i3\",\"type\":\"view\"}\n",
                           "application/x-ndjson");
  REQUIRE(event);
  INFO(event->body);
  REQUIRE(event->status == 200);
  json after = decide();
  CHECK(after["timings"]["steps"][0]["candidates"] == "miss");
  // The recipe no longer finds i3 (u1 viewed it); what is left comes from the popular list.
  for (const auto& item : after["items"]) CHECK((item["source"] != "primary" || item["id"] != "i3"));
  CHECK(after["served_by"] != "primary");
  auto metrics = client.Get("/metrics", h.Auth("read"));
  REQUIRE(metrics);
  for (const char* line : {"pathwise_decision_cache_total{cache=\"candidates\",outcome=\"hits\"} 1",
                           "pathwise_decision_cache_total{cache=\"candidates\",outcome=\"misses\"} 2",
                           "pathwise_decision_cache_total{cache=\"candidates\",outcome=\"invalidations\"} 1",
                           "pathwise_candidate_cache_entries 1"}) {
    INFO(line);
    CHECK(metrics->body.find(line) != std::string::npos);
  }
}

TEST_CASE("a server started with no candidate cache retrieves on every decision") {
  TempDir dir;
  ServerOptions options;
  options.candidate_cache_entries = 0;
  ServerHarness h(dir.path(), options);
  auto client = StoreRow(h);
  for (int i = 0; i < 3; ++i) {
    json decided = Json(client.Post("/v1/surfaces/row/decide", h.Auth("read"),
                                    json{{"user", "u1"}}.dump(), "application/json"));
    CHECK(decided["served_by"] == "primary");
    CHECK_FALSE(decided["timings"]["steps"][0].contains("candidates"));
  }
  auto metrics = client.Get("/metrics", h.Auth("read"));
  REQUIRE(metrics);
  CHECK(metrics->body.find("pathwise_candidate_cache_entries 0") != std::string::npos);
  CHECK(metrics->body.find("pathwise_decision_cache_total{cache=\"candidates\",outcome=\"hits\"} 0") !=
        std::string::npos);
}

TEST_CASE("a server started with inline steps off runs every decision step on a worker") {
  TempDir dir;
  ServerOptions options;
  options.decide_inline_steps = false;
  ServerHarness h(dir.path(), options);
  auto client = StoreRow(h);
  json decided = Json(client.Post("/v1/surfaces/row/decide", h.Auth("read"),
                                  json{{"user", "u1"}}.dump(), "application/json"));
  CHECK(decided["served_by"] == "primary");
  CHECK(decided["timings"]["steps"][0]["run"] == "worker");
  CHECK(decided["timings"]["steps"][0]["isolated"] == false);
}

TEST_CASE("bad decide and surface bodies are 4xx with the error shape and the server keeps answering") {
  TempDir dir;
  ServerHarness h(dir.path());
  auto client = StoreRow(h);
  std::string deep = std::string(200, '[') + std::string(200, ']');
  std::vector<std::string> bodies = {
      deep,
      json{{"user", std::string(600, 'u')}}.dump(),                       // too long
      json{{"user", "u1"}, {"exclude", json(std::vector<std::string>(1001, "x"))}}.dump(),  // too many
      json{{"user", "u1"}, {"k", "ten"}}.dump(),                           // wrong type
      json{{"user", "u1"}, {"k", 100000}}.dump(),                          // too big
      json{{"user", "u1"}, {"context", {{"a", {{"b", 1}}}}}}.dump(),       // nested context value
  };
  for (const std::string& body : bodies) {
    auto res = client.Post("/v1/surfaces/row/decide", h.Auth("read"), body, "application/json");
    REQUIRE(res);
    INFO(body.substr(0, 80));
    CHECK(res->status == 400);
    CHECK(HasErrorShape(res->body));
  }
  auto deep_surface = client.Post("/v1/surfaces/deep", h.Auth("admin"), deep, "application/json");
  REQUIRE(deep_surface);
  CHECK(deep_surface->status == 400);
  auto many_rules = Surface();
  many_rules["rules"] = json(std::vector<json>(33, {{"type", "filter"}, {"where", "true"}}));
  CHECK(client.Post("/v1/surfaces/many", h.Auth("admin"), many_rules.dump(), "application/json")->status == 400);
  CHECK(client.Post("/v1/surfaces/" + std::string(129, 'n'), h.Auth("admin"), Surface().dump(),
                    "application/json")->status == 404);
  CHECK(client.Get("/health")->status == 200);
  CHECK(Json(client.Post("/v1/surfaces/row/decide", h.Auth("read"), json{{"user", "u1"}}.dump(),
                         "application/json"))["served_by"] == "primary");
}

TEST_CASE("fault injection exists only when enabled, and a failed recipe still gets a 200") {
  TempDir plain_dir;
  {
    ServerHarness plain(plain_dir.path());
    auto res = plain.Client().Post("/v1/admin/faults", plain.Auth("admin"),
                                   json{{"target", "recipe:unviewed"}, {"fail_rate", 1}}.dump(),
                                   "application/json");
    REQUIRE(res);
    CHECK(res->status == 404);
  }
  TempDir dir;
  ServerOptions options;
  options.enable_fault_injection = true;
  ServerHarness h(dir.path(), options);
  auto client = StoreRow(h);
  auto fault = client.Post("/v1/admin/faults", h.Auth("admin"),
                           json{{"target", "recipe:unviewed"}, {"fail_rate", 1}}.dump(),
                           "application/json");
  REQUIRE(fault);
  CHECK(fault->status == 200);
  CHECK(client.Post("/v1/admin/faults", h.Auth("admin"), json{{"target", "nonsense"}}.dump(),
                    "application/json")->status == 400);
  json d = Json(client.Post("/v1/surfaces/row/decide", h.Auth("read"), json{{"user", "u1"}}.dump(),
                            "application/json"));
  CHECK(d["served_by"] == "popular");
  CHECK(d["degraded"] == true);
  CHECK(d["reasons"][0] == "source_error:unviewed");
  CHECK(Json(client.Delete("/v1/admin/faults", h.Auth("admin")))["faults"].empty());
}

TEST_CASE("fault injection is refused off loopback") {
  TempDir dir;
  auto db = Database::Open(DatabaseOptions{}, dir.path());
  REQUIRE(db.ok());
  ServerOptions options;
  options.host = "0.0.0.0";
  options.port = 0;
  options.enable_fault_injection = true;
  Server server(db->get(), options);
  Status started = server.Start();
  CHECK(started.code() == Status::Code::kInvalidArgument);
  CHECK(started.message().find("fault-injection") != std::string::npos);
}

TEST_CASE("bad exploration settings are a 400 naming the field; a decision's exploration replays over HTTP and is counted in /metrics") {
  TempDir dir;
  ServerHarness h(dir.path());
  StoreRecipe(h);
  auto client = h.Client();
  json bad = Surface();
  bad["exploration"] = {{"slots", {5}}};
  auto res = client.Post("/v1/surfaces/bad", h.Auth("admin"), bad.dump(), "application/json");
  REQUIRE(res);
  CHECK(res->status == 400);
  CHECK(HasErrorShape(res->body));
  CHECK(res->body.find("exploration.slots") != std::string::npos);
  json good = Surface();
  good["exploration"] = {{"slots", {1}}};
  REQUIRE(client.Post("/v1/surfaces/row", h.Auth("admin"), good.dump(), "application/json")->status == 200);
  json d = Json(client.Post("/v1/surfaces/row/decide", h.Auth("read"), json{{"user", "u1"}}.dump(),
                            "application/json"));
  std::string id = d["recommendation_id"];
  auto replay = client.Get("/v1/recommendations/" + id + "/replay", h.Auth("read"));
  REQUIRE(replay);
  CHECK(replay->status == 200);
  CHECK(json::parse(replay->body)["reproduced"] == true);
  CHECK(client.Get("/v1/recommendations/nothex/replay", h.Auth("read"))->status == 400);
  // The explored items and the posterior counts held are in /metrics.
  size_t explored = 0;
  for (const json& item : d["items"]) explored += item.contains("propensity");
  auto metrics = client.Get("/metrics", h.Auth("read"));
  REQUIRE(metrics);
  CHECK(metrics->body.find("pathwise_explored_items_total " + std::to_string(explored) + "\n") !=
        std::string::npos);
  CHECK(metrics->body.find("pathwise_explore_posterior_keys ") != std::string::npos);
}

}  // namespace
}  // namespace pathwise::server::testing
