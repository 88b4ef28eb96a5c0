// POST /v1/admin/jobs and GET /v1/admin/jobs[/{id}]: model jobs over HTTP (docs/jobs.md).
#include <chrono>
#include <thread>

#include "server_fixture.h"

using namespace pathwise;
using namespace pathwise::server::testing;

namespace {

// u1 viewed i1, i2 (the fixture); u2 views i2, i3: i1 ~ i2 ~ i3.
void AddViews(Database* db) {
  WriteSet writes;
  for (const char* item : {"i2", "i3"}) {
    EdgeWrite edge;
    edge.type = "VIEWED";
    edge.from = NodeRef{"User", "u2"};
    edge.to = NodeRef{"Item", item};
    writes.ops.push_back(edge);
  }
  REQUIRE(db->Apply(writes).ok());
}

nlohmann::json WaitForJob(httplib::Client& client, const ServerHarness& h, const std::string& id) {
  nlohmann::json status;
  for (int attempt = 0; attempt < 3000; ++attempt) {  // up to a minute on a loaded machine
    status = Json(client.Get("/v1/admin/jobs/" + id, h.Auth("admin")));
    if (status["state"] != "running") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return status;
}

}  // namespace

TEST_CASE("admin jobs: a similarity job runs in the background and writes its edges") {
  TempDir dir;
  ServerHarness h(dir.path());
  AddViews(h.db());
  auto client = h.Client();
  auto res = client.Post("/v1/admin/jobs", h.Auth("admin"),
                         R"({"job": "similarity",
                             "params": {"edge": "VIEWED", "output": "SIMILAR", "k": 2}})",
                         "application/json");
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 202);
  std::string id = Json(res)["job"];
  nlohmann::json status = WaitForJob(client, h, id);
  INFO(status.dump());
  CHECK(status["state"] == "done");
  CHECK(status["params"]["output"] == "SIMILAR");
  CHECK(status["result"]["items"] == 3);
  CHECK(status["result"]["edges_written"] == 4);  // i1-i2, i2-i1, i2-i3, i3-i2
  auto query = client.Post("/v1/query", h.Auth("read"),
                           R"({"query": "MATCH (a:Item {id: 'i2'})-[:SIMILAR]->(b) RETURN b.id ORDER BY b.id"})",
                           "application/json");
  REQUIRE(query);
  INFO(query->body);
  CHECK(Json(query)["rows"] == nlohmann::json::parse(R"([["i1"], ["i3"]])"));
  auto list = Json(client.Get("/v1/admin/jobs", h.Auth("admin")));
  REQUIRE(list["jobs"].size() == 1);
  CHECK(list["jobs"][0]["id"] == id);
}

TEST_CASE("admin jobs: an svd job writes taste vectors and a user created by an event gets NEAREST results") {
  TempDir dir;
  ServerHarness h(dir.path());
  AddViews(h.db());
  auto client = h.Client();
  auto res = client.Post("/v1/admin/jobs", h.Auth("admin"),
                         R"({"job": "svd", "params": {"edge": "VIEWED", "rank": 2,
                             "item_space": "Item.factors", "user_space": "User.taste"}})",
                         "application/json");
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 202);
  nlohmann::json status = WaitForJob(client, h, Json(res)["job"]);
  INFO(status.dump());
  CHECK(status["state"] == "done");
  CHECK(status["result"]["items"] == 3);
  CHECK(status["result"]["user_vectors"] == 2);
  auto events = client.Put("/v1/admin/event-types", h.Auth("admin"),
                           R"({"view": {"edge": "VIEWED"}})", "application/json");
  REQUIRE(events);
  REQUIRE(events->status == 200);
  auto event = client.Post("/v1/events", h.Auth("write"),
                           R"([{"event_id": "e1", "user": "newcomer", "item": "i3", "type": "view"}])",
                           "application/json");
  REQUIRE(event);
  INFO(event->body);
  REQUIRE(event->status == 200);
  auto query = client.Post("/v1/query", h.Auth("read"),
                           R"({"query": "RECOMMEND (c:Item) FOR (u:User {id: 'newcomer'}) FROM NEAREST 3 TO u.taste IN Item.factors LIMIT 3"})",
                           "application/json");
  REQUIRE(query);
  INFO(query->body);
  REQUIRE(query->status == 200);
  CHECK(Json(query)["rows"].size() == 3);
}

TEST_CASE("admin jobs: a fastrp job replaces a vector space with embeddings") {
  TempDir dir;
  ServerHarness h(dir.path());
  AddViews(h.db());
  auto client = h.Client();
  auto res = client.Post("/v1/admin/jobs", h.Auth("admin"),
                         R"({"job": "fastrp", "params": {"edge": "VIEWED",
                             "space": "Item.embedding", "weights": [1, 1], "seed": 3}})",
                         "application/json");
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 202);
  nlohmann::json status = WaitForJob(client, h, Json(res)["job"]);
  INFO(status.dump());
  CHECK(status["state"] == "done");
  CHECK(status["result"]["nodes"] == 5);  // u1, u2, i1..i3
  CHECK(status["result"]["embedded"] == 3);
  CHECK(status["result"]["vectors_written"] == 3);
  CHECK(status["result"]["dim"] == 4);
}

TEST_CASE("admin jobs: bad requests are 400 with the reason and only admins may start jobs") {
  TempDir dir;
  ServerHarness h(dir.path());
  auto client = h.Client();
  struct Case {
    const char* body;
    const char* message;
  };
  for (const Case& c : {
           Case{R"({"job": "similarity", "params": {"edge": "NOPE", "output": "S"}})",
                "unknown edge type 'NOPE'"},
           Case{R"({"job": "similarity", "params": {"edge": "VIEWED", "output": "S", "k": -1}})",
                "params.k must be"},
           Case{R"({"job": "als", "params": {}})", "unknown job 'als'"},
           Case{R"({"job": "svd", "params": {"edge": "VIEWED", "rank": 9,
                    "item_space": "Item.embedding", "user_space": "User.taste"}})",
                "'Item.embedding' has dimension 4; params.rank is 9"},
           Case{R"({"job": "fastrp", "params": {"edge": "VIEWED", "space": "Item.embedding",
                    "dim": 8}})",
                "'Item.embedding' has dimension 4; params.dim is 8"},
           Case{R"({"params": {}})", "job"},
           Case{R"({"job": "similarity", "extra": 1})", "unknown field 'extra'"},
       }) {
    CAPTURE(c.body);
    auto res = client.Post("/v1/admin/jobs", h.Auth("admin"), c.body, "application/json");
    REQUIRE(res);
    CHECK(res->status == 400);
    CHECK(HasErrorShape(res->body));
    CHECK(res->body.find(c.message) != std::string::npos);
  }
  auto denied = client.Post("/v1/admin/jobs", h.Auth("write"),
                            R"({"job": "similarity", "params": {"edge": "VIEWED", "output": "S"}})",
                            "application/json");
  REQUIRE(denied);
  CHECK(denied->status == 403);
  CHECK(client.Get("/v1/admin/jobs/similarity-0-0", h.Auth("admin"))->status == 404);
}
