// POST /v1/events: event-type table, dedupe (also across restarts), per-line errors and
// read-your-writes.
#include "server_fixture.h"

namespace pathwise::server::testing {
namespace {

constexpr char kEventTypes[] =
    R"({"view": {"edge": "VIEWED"}, "like": {"edge": "LIKED", "weight": 5}})";

void ConfigureEventTypes(ServerHarness& h) {
  auto client = h.Client();
  auto res = client.Put("/v1/admin/event-types", h.Auth("admin"), kEventTypes, "application/json");
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 200);
}

std::vector<std::string> Column(const nlohmann::json& result) {
  std::vector<std::string> out;
  for (const auto& row : result["rows"]) out.push_back(row[0].get<std::string>());
  return out;
}

TEST_CASE("event types are stored with defaults filled in") {
  TempDir dir;
  ServerHarness h(dir.path());
  ConfigureEventTypes(h);
  auto client = h.Client();
  auto table = Json(client.Get("/v1/admin/event-types", h.Auth("admin")));
  CHECK(table["view"]["edge"] == "VIEWED");
  CHECK(table["view"]["user_type"] == "User");
  CHECK(table["view"]["item_type"] == "Item");
  CHECK(table["view"]["weight"].get<double>() == doctest::Approx(1.0));
  CHECK(table["like"]["weight"].get<double>() == doctest::Approx(5.0));
  auto bad = client.Put("/v1/admin/event-types", h.Auth("admin"), R"({"view": {"weight": 2}})",
                        "application/json");
  REQUIRE(bad);
  CHECK(bad->status == 400);
  CHECK(Json(bad)["error"]["message"].get<std::string>().find("edge") != std::string::npos);
}

TEST_CASE("events are applied once and duplicates are counted, also after a restart") {
  TempDir dir;
  ServerHarness h(dir.path());
  ConfigureEventTypes(h);
  std::string body =
      "{\"event_id\":\"e1\",\"user\":\"new-user\",\"item\":\"i1\",\"type\":\"view\",\"ts\":2000}\n"
      "{\"event_id\":\"e2\",\"user\":\"u2\",\"item\":\"i3\",\"type\":\"like\",\"ts\":2001}\n"
      "{\"event_id\":\"e1\",\"user\":\"new-user\",\"item\":\"i1\",\"type\":\"view\",\"ts\":2000}\n";
  {
    auto client = h.Client();
    auto res = client.Post("/v1/events", h.Auth("write"), body, "application/x-ndjson");
    REQUIRE(res);
    INFO(res->body);
    REQUIRE(res->status == 200);
    auto out = Json(res);
    CHECK(out["applied"] == 2);
    CHECK(out["duplicates"] == 1);
    CHECK(out["errors"].empty());
    // The user was created by the event.
    auto user = client.Get("/v1/nodes/User/new-user", h.Auth("read"));
    REQUIRE(user);
    CHECK(user->status == 200);
  }
  h.Reopen();
  auto client = h.Client();
  auto res = client.Post("/v1/events", h.Auth("write"), body, "application/x-ndjson");
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 200);
  auto out = Json(res);
  CHECK(out["applied"] == 0);
  CHECK(out["duplicates"] == 3);
  // The accumulate edge was not counted twice.
  auto result = Json(client.Post(
      "/v1/query", h.Auth("read"),
      nlohmann::json{{"query", "MATCH (u:User {id: $user})-[v:VIEWED]->(i:Item) RETURN v.weight"},
                     {"params", {{"user", "new-user"}}}}
          .dump(),
      "application/json"));
  REQUIRE(result["rows"].size() == 1);
  CHECK(result["rows"][0][0].get<double>() == doctest::Approx(1.0));
  auto metrics = client.Get("/metrics", h.Auth("read"));
  REQUIRE(metrics);
  CHECK(metrics->body.find("pathwise_events_total{outcome=\"deduplicated\"} 3") != std::string::npos);
}

TEST_CASE("events accept a JSON array and report bad lines without dropping good ones") {
  TempDir dir;
  ServerHarness h(dir.path());
  ConfigureEventTypes(h);
  auto client = h.Client();
  nlohmann::json events = nlohmann::json::array({
      {{"event_id", "a1"}, {"user", "u2"}, {"item", "i2"}, {"type", "view"}, {"weight", 3}},
      {{"event_id", "a2"}, {"user", "u2"}, {"item", "no-such-item"}, {"type", "view"}},
      {{"event_id", "a3"}, {"user", "u2"}, {"item", "i2"}, {"type", "purchase"}},
      {{"event_id", "a4"}, {"user", "u2"}, {"type", "view"}},
      {{"event_id", "a5"}, {"user", "u2"}, {"item", "i1"}, {"type", "view"}, {"ts", "yesterday"}},
  });
  auto res = client.Post("/v1/events", h.Auth("write"), events.dump(), "application/json");
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 200);
  auto out = Json(res);
  CHECK(out["applied"] == 1);
  REQUIRE(out["errors"].size() == 4);
  CHECK(out["errors"][0]["line"] == 2);
  CHECK(out["errors"][1]["line"] == 3);
  CHECK(out["errors"][1]["error"].get<std::string>().find("purchase") != std::string::npos);
  CHECK(out["errors"][2]["error"].get<std::string>().find("item") != std::string::npos);
  CHECK(out["errors"][3]["error"].get<std::string>().find("ts") != std::string::npos);
}

TEST_CASE("events where every line is invalid are a 400 with the error shape and line errors") {
  TempDir dir;
  ServerHarness h(dir.path());
  ConfigureEventTypes(h);
  auto client = h.Client();
  auto res = client.Post("/v1/events", h.Auth("write"), "garbage\n{\"event_id\": 1}\n",
                         "application/x-ndjson");
  REQUIRE(res);
  CHECK(res->status == 400);
  CHECK(HasErrorShape(res->body));
  auto out = Json(res);
  CHECK(out["applied"] == 0);
  CHECK(out["errors"].size() == 2);
  auto empty = client.Post("/v1/events", h.Auth("write"), "", "application/x-ndjson");
  REQUIRE(empty);
  CHECK(empty->status == 400);
}

TEST_CASE("an ingested event changes the next MATCH query's result") {
  TempDir dir;
  ServerHarness h(dir.path());
  ConfigureEventTypes(h);
  auto client = h.Client();
  nlohmann::json query = {
      {"query", "MATCH (u:User {id: $user})-[:VIEWED]->(i:Item) RETURN i.id ORDER BY i.id"},
      {"params", {{"user", "u2"}}}};
  CHECK(Json(client.Post("/v1/query", h.Auth("read"), query.dump(), "application/json"))["rows"].empty());
  auto res = client.Post("/v1/events", h.Auth("write"),
                         R"({"event_id":"r1","user":"u2","item":"i3","type":"view"})",
                         "application/x-ndjson");
  REQUIRE(res);
  REQUIRE(res->status == 200);
  auto after = Json(client.Post("/v1/query", h.Auth("read"), query.dump(), "application/json"));
  CHECK(Column(after) == std::vector<std::string>{"i3"});
}

TEST_CASE("an ingested event changes the next RECOMMEND result") {
  TempDir dir;
  ServerHarness h(dir.path());
  ConfigureEventTypes(h);
  auto client = h.Client();
  // Co-viewing: items viewed by users who viewed what u2 viewed, excluding u2's own.
  nlohmann::json query = {
      {"query",
       "RECOMMEND (c:Item) FOR (u:User {id: $user})\n"
       "  FROM (u)-[:VIEWED]->(:Item)<-[:VIEWED]-(:User)-[:VIEWED]->(c)\n"
       "  WHERE NOT (u)-[:VIEWED]->(c)\n"
       "  LIMIT 10"},
      {"params", {{"user", "u2"}}}};
  auto before = Json(client.Post("/v1/query", h.Auth("read"), query.dump(), "application/json"));
  INFO(before.dump());
  CHECK(before["rows"].empty());
  auto res = client.Post("/v1/events", h.Auth("write"),
                         R"({"event_id":"r2","user":"u2","item":"i1","type":"view"})",
                         "application/x-ndjson");
  REQUIRE(res);
  REQUIRE(res->status == 200);
  auto after = Json(client.Post("/v1/query", h.Auth("read"), query.dump(), "application/json"));
  INFO(after.dump());
  REQUIRE(after["rows"].size() == 1);
  // The recommended item (first column is the candidate) is i2, which u1 also viewed.
  CHECK(after["rows"][0][0].dump().find("i2") != std::string::npos);
}

}  // namespace
}  // namespace pathwise::server::testing
