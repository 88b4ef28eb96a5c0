// Bad input never produces a 500 or a crash: malformed JSON, wrong field types, limits, unknown
// names and syntax errors map to the documented 4xx codes with the one error shape.
#include "server/errors.h"
#include "server_fixture.h"

namespace pathwise::server::testing {
namespace {

TEST_CASE("status codes map to HTTP statuses in one place") {
  CHECK(HttpStatusFor(Status::InvalidArgument("x")) == 400);
  CHECK(HttpStatusFor(Status::SyntaxError("x", 1, 2)) == 400);
  CHECK(HttpStatusFor(Status::Unauthenticated("x")) == 401);
  CHECK(HttpStatusFor(Status::PermissionDenied("x")) == 403);
  CHECK(HttpStatusFor(Status::NotFound("x")) == 404);
  CHECK(HttpStatusFor(Status::DeadlineExceeded("x")) == 408);
  CHECK(HttpStatusFor(Status::AlreadyExists("x")) == 409);
  CHECK(HttpStatusFor(Status::ResourceExhausted("x")) == 413);
  CHECK(HttpStatusFor(TooManyRequests("x")) == 429);
  CHECK(HttpStatusFor(Status::Unavailable("x")) == 503);
  CHECK(HttpStatusFor(Status::Internal("x")) == 500);
  CHECK(HttpStatusFor(Status::IOError("x")) == 500);
  CHECK(HttpStatusFor(Status::Corruption("x")) == 500);
  auto body = ErrorJson(Status::SyntaxError("unexpected 'RETRUN'", 2, 5));
  CHECK(body["error"]["code"] == "syntax_error");
  CHECK(body["error"]["line"] == 2);
  CHECK(body["error"]["column"] == 5);
  CHECK(!ErrorJson(Status::NotFound("x"))["error"].contains("line"));
}

TEST_CASE("malformed JSON and wrong field types are 400 naming the field") {
  TempDir dir;
  ServerHarness h(dir.path());
  auto client = h.Client();
  struct Case {
    std::string body;
    std::string mention;
  };
  std::vector<Case> cases = {
      {"{not json", "JSON"},
      {"[1, 2]", "object"},
      {"", "empty"},
      {R"({"params": {}})", "query"},
      {R"({"query": 5})", "query"},
      {R"({"query": "MATCH (u:User) RETURN u.id", "params": [1]})", "params"},
      {R"({"query": "MATCH (u:User) RETURN u.id", "deadline_ms": "soon"})", "deadline_ms"},
      {R"({"query": "MATCH (u:User) RETURN u.id", "deadline_ms": -5})", "deadline_ms"},
      {R"({"query": "MATCH (u:User) RETURN u.id", "explain": "yes"})", "explain"},
  };
  for (const Case& c : cases) {
    INFO(c.body);
    auto res = client.Post("/v1/query", h.Auth("read"), c.body, "application/json");
    REQUIRE(res);
    CHECK(res->status == 400);
    REQUIRE(HasErrorShape(res->body));
    CHECK(Json(res)["error"]["message"].get<std::string>().find(c.mention) != std::string::npos);
  }
  auto edge = client.Put("/v1/edges", h.Auth("write"), R"({"type": "VIEWED", "from": "u1", "to": ["Item", "i1"]})",
                         "application/json");
  REQUIRE(edge);
  CHECK(edge->status == 400);
  CHECK(Json(edge)["error"]["message"].get<std::string>().find("from") != std::string::npos);
  auto node = client.Put("/v1/nodes/Item/z", h.Auth("write"), R"({"properties": {"title": {"a": 1}}})",
                         "application/json");
  REQUIRE(node);
  CHECK(node->status == 400);
  CHECK(Json(node)["error"]["message"].get<std::string>().find("title") != std::string::npos);
  auto vec = client.Put("/v1/vectors/Item.embedding/i1", h.Auth("write"), R"({"values": ["a"]})",
                        "application/json");
  REQUIRE(vec);
  CHECK(vec->status == 400);
}

TEST_CASE("a query syntax error is 400 with line and column") {
  TempDir dir;
  ServerHarness h(dir.path());
  auto client = h.Client();
  nlohmann::json body = {{"query", "MATCH (u:User)\n  RETRUN u.id"}};
  auto res = client.Post("/v1/query", h.Auth("read"), body.dump(), "application/json");
  REQUIRE(res);
  CHECK(res->status == 400);
  auto error = Json(res)["error"];
  CHECK(error["code"] == "syntax_error");
  CHECK(error["line"] == 2);
  CHECK(error["column"] == 3);
}

TEST_CASE("unknown names in a query are 400 and unknown nodes are 404") {
  TempDir dir;
  ServerHarness h(dir.path());
  auto client = h.Client();
  nlohmann::json body = {{"query", "MATCH (u:Nope) RETURN u.id"}};
  auto res = client.Post("/v1/query", h.Auth("read"), body.dump(), "application/json");
  REQUIRE(res);
  CHECK(res->status == 400);
  CHECK(HasErrorShape(res->body));
  auto node = client.Get("/v1/nodes/Item/absent", h.Auth("read"));
  REQUIRE(node);
  CHECK(node->status == 404);
  auto route = client.Get("/v1/no-such-endpoint", h.Auth("read"));
  REQUIRE(route);
  CHECK(route->status == 404);
  CHECK(HasErrorShape(route->body));
}

TEST_CASE("body and query size limits answer 413") {
  TempDir dir;
  ServerOptions options;
  options.max_body_bytes = 4096;
  options.max_query_bytes = 256;
  ServerHarness h(dir.path(), options);
  auto client = h.Client();
  std::string huge = R"({"query": ")" + std::string(8192, ' ') + R"("})";
  auto res = client.Post("/v1/query", h.Auth("read"), huge, "application/json");
  REQUIRE(res);
  CHECK(res->status == 413);
  CHECK(HasErrorShape(res->body));
  std::string long_query = "MATCH (u:User) RETURN u.id" + std::string(300, ' ');
  auto long_res = client.Post("/v1/query", h.Auth("read"), nlohmann::json{{"query", long_query}}.dump(),
                              "application/json");
  REQUIRE(long_res);
  CHECK(long_res->status == 413);
  CHECK(Json(long_res)["error"]["code"] == "resource_exhausted");
}

TEST_CASE("a full query slot table answers 429") {
  TempDir dir;
  ServerOptions options;
  options.max_concurrent_queries = 0;
  ServerHarness h(dir.path(), options);
  auto client = h.Client();
  auto res = client.Post("/v1/query", h.Auth("read"), R"({"query": "MATCH (u:User) RETURN u.id"})",
                         "application/json");
  REQUIRE(res);
  CHECK(res->status == 429);
  CHECK(HasErrorShape(res->body));
}

TEST_CASE("results beyond the row limit are refused rather than truncated silently") {
  TempDir dir;
  ServerOptions options;
  options.max_result_rows = 1;
  ServerHarness h(dir.path(), options);
  auto client = h.Client();
  auto res = client.Post("/v1/query", h.Auth("read"), R"({"query": "MATCH (i:Item) RETURN i.id"})",
                         "application/json");
  REQUIRE(res);
  CHECK(res->status == 413);
  CHECK(Json(res)["error"]["code"] == "resource_exhausted");
}

TEST_CASE("requests after shutdown began are refused and the server stops cleanly") {
  TempDir dir;
  ServerHarness h(dir.path());
  int port = h.server()->port();
  h.server()->Stop();
  h.server()->Stop();  // idempotent
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(1, 0);
  auto res = client.Get("/health");
  CHECK(!res);
}

}  // namespace
}  // namespace pathwise::server::testing
