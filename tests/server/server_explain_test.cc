// The HTTP side of explanations: the explain object of /v1/query and recipe runs, and
// POST /v1/explain/why-not (docs/explanations.md).
#include "server_fixture.h"

namespace pathwise::server::testing {
namespace {

constexpr char kRecommend[] =
    "RECOMMEND (c:Item) FOR (u:User {id: $user}) FROM (u)-[:VIEWED]->(c) "
    "WHERE c.price < 11 SCORE 1 AS base + c.price";

nlohmann::json Post(ServerHarness& h, httplib::Client& client, const char* path,
                    const nlohmann::json& body, int want_status) {
  auto res = client.Post(path, h.Auth("read"), body.dump(), "application/json");
  REQUIRE(res);
  INFO(path << " " << body.dump() << " -> " << res->body);
  CHECK(res->status == want_status);
  if (want_status != 200) CHECK(HasErrorShape(res->body));
  return nlohmann::json::parse(res->body);
}

TEST_CASE("the explain object pages paths and adds properties, checks and a sentence") {
  TempDir dir;
  ServerHarness h(dir.path());
  auto client = h.Client();
  nlohmann::json body = {{"query", kRecommend},
                         {"params", {{"user", "u1"}}},
                         {"explain",
                          {{"paths", 1},
                           {"properties", {"title"}},
                           {"checks", true},
                           {"context", true},
                           {"sentence", "{item} because you viewed {via:1}."}}}};
  auto result = Post(h, client, "/v1/query", body, 200);
  REQUIRE(result["explanations"].size() == 1);
  const nlohmann::json& e = result["explanations"][0];
  CHECK(e["id"] == "i1");
  CHECK(e["properties"]["title"] == "Alpha");
  CHECK(e["terms"][0]["name"] == "base");
  CHECK(e["terms"][1]["name"] == "price");
  CHECK(e["checks"][0]["expr"] == "c.price < 11");
  CHECK(e["checks"][0]["passed"] == true);
  CHECK(e["paths_total"] == 1);
  // The only path feeds no term (SCORE reads no path aggregate): context, and the template's
  // {via} has nothing to say, so the sentence is the generated one.
  CHECK(e["paths"][0]["kind"] == "context");
  CHECK(e["sentence"] == "Ranked by base and price.");
}

TEST_CASE("a bad explain object is a 400 naming the field") {
  TempDir dir;
  ServerHarness h(dir.path());
  auto client = h.Client();
  for (const nlohmann::json& explain :
       {nlohmann::json("yes"), nlohmann::json{{"paths", 0}}, nlohmann::json{{"paths", 1001}},
        nlohmann::json{{"offset", -1}}, nlohmann::json{{"bogus", 1}},
        nlohmann::json{{"properties", "title"}}, nlohmann::json{{"properties", {1}}},
        nlohmann::json{{"context", "yes"}},
        nlohmann::json{{"sentence", std::string(1001, 'x')}}}) {
    nlohmann::json body = {{"query", kRecommend}, {"params", {{"user", "u1"}}}, {"explain", explain}};
    auto error = Post(h, client, "/v1/query", body, 400);
    CHECK(error["error"]["code"] == "invalid_argument");
  }
}

TEST_CASE("why-not answers for a query and for a recipe, with what removed the item") {
  TempDir dir;
  ServerHarness h(dir.path());
  auto client = h.Client();
  nlohmann::json body = {{"query", kRecommend}, {"params", {{"user", "u1"}}}, {"item", "i2"}};
  auto report = Post(h, client, "/v1/explain/why-not", body, 200);
  CHECK(report["item"]["id"] == "i2");
  CHECK(report["item"]["label"] == "i2");  // the fixture's Item type declares no label
  CHECK(report["candidate"] == true);
  CHECK(report["in_results"] == false);
  CHECK(report["removed_by"][0]["expr"] == "c.price < 11");
  CHECK(report["removed_by"][0]["values"]["result"] == false);
  CHECK(report["rank"] == 1);
  CHECK(report["score"] == 12.0);

  nlohmann::json recipe = {{"query", kRecommend}, {"params", {{"user", "u1"}}}};
  auto created = client.Post("/v1/recipes/cheap", h.Auth("admin"), recipe.dump(), "application/json");
  REQUIRE(created);
  REQUIRE(created->status == 200);
  auto by_recipe = Post(h, client, "/v1/explain/why-not", {{"recipe", "cheap"}, {"item", "i3"}}, 200);
  CHECK(by_recipe["candidate"] == false);
  CHECK(by_recipe["sources"][0]["found"] == false);
  CHECK(by_recipe["verdict"].get<std::string>().find("was never a candidate") != std::string::npos);
}

TEST_CASE("why-not rejects bad requests: 400 for shape, 404 for unknown items and recipes") {
  TempDir dir;
  ServerHarness h(dir.path());
  auto client = h.Client();
  Post(h, client, "/v1/explain/why-not", {{"query", kRecommend}}, 400);  // no item
  Post(h, client, "/v1/explain/why-not", {{"item", "i1"}}, 400);         // no query or recipe
  Post(h, client, "/v1/explain/why-not",
       {{"query", kRecommend}, {"recipe", "x"}, {"item", "i1"}}, 400);
  Post(h, client, "/v1/explain/why-not", {{"query", kRecommend}, {"item", "i1"}, {"extra", 1}}, 400);
  Post(h, client, "/v1/explain/why-not", {{"query", "MATCH (i:Item) RETURN i.id"}, {"item", "i1"}}, 400);
  auto unknown = Post(h, client, "/v1/explain/why-not",
                      {{"query", kRecommend}, {"params", {{"user", "u1"}}}, {"item", "i9"}}, 404);
  CHECK(unknown["error"]["message"].get<std::string>().find("no Item with id 'i9'") != std::string::npos);
  Post(h, client, "/v1/explain/why-not", {{"recipe", "nope"}, {"item", "i1"}}, 404);
}

}  // namespace
}  // namespace pathwise::server::testing
