// Hostile input against a real server: deep JSON, oversized and chunked bodies, form content
// types, slow and idle connections, unknown fields, path escapes. Each case is a finding of
// issue 8 that once crashed, wedged or silently misread a request.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "server/json_fields.h"
#include "server_fixture.h"

namespace pathwise::server::testing {
namespace {

// "[[[...1...]]]" nested depth times, inside the given prefix/suffix.
std::string Deep(size_t depth) { return std::string(depth, '[') + "1" + std::string(depth, ']'); }

std::string MessageOf(const httplib::Result& res) {
  return Json(res)["error"]["message"].get<std::string>();
}

TEST_CASE("ParseJson accepts the depth limit and refuses one level more") {
  CHECK(ParseJson(Deep(kMaxJsonDepth)).ok());
  auto too_deep = ParseJson(Deep(kMaxJsonDepth + 1), "params");
  REQUIRE(!too_deep.ok());
  CHECK(too_deep.status().code() == Status::Code::kInvalidArgument);
  CHECK(too_deep.status().message().find("params nests deeper than the limit of 64") !=
        std::string::npos);
  auto object_depth = ParseJson(R"({"a":{"b":{"c":[]}}})");
  REQUIRE(object_depth.ok());
  CHECK((*object_depth)["a"]["b"]["c"].is_array());
  auto bad = ParseJson("{\"a\": tru}");
  REQUIRE(!bad.ok());
  CHECK(bad.status().message().find("not valid JSON") != std::string::npos);
}

TEST_CASE("a 100000-deep JSON value in any request body is a 400 naming the depth limit") {
  TempDir dir;
  ServerHarness h(dir.path());
  auto client = h.Client();
  const std::string deep = Deep(100000);
  struct Case {
    std::string method, path, role, body;
  };
  std::vector<Case> cases = {
      {"POST", "/v1/query", "read",
       R"({"query": "MATCH (u:User) RETURN u.id", "params": {"unused": )" + deep + "}}"},
      {"POST", "/v1/recipes/deep", "admin",
       R"({"query": "MATCH (u:User) RETURN u.id", "params": {"x": )" + deep + "}}"},
      {"POST", "/v1/recipes/deep/run", "read", R"({"params": {"x": )" + deep + "}}"},
      {"POST", "/v1/schema", "admin", R"({"node_types": )" + deep + "}"},
      {"POST", "/v1/batch", "write", R"({"node": "User", "id": "u9", "props": {"p": )" + deep + "}}"},
      {"PUT", "/v1/nodes/User/u9", "write", R"({"properties": {"p": )" + deep + "}}"},
      {"PUT", "/v1/edges", "write", R"({"type": "VIEWED", "props": )" + deep + "}"},
      {"PUT", "/v1/vectors/Item.embedding/i1", "write", R"({"values": )" + deep + "}"},
      {"PUT", "/v1/admin/event-types", "admin", R"({"view": )" + deep + "}"},
      {"POST", "/v1/admin/backup", "admin", R"({"dir": )" + deep + "}"},
      {"POST", "/v1/admin/keys", "admin", R"({"role": )" + deep + "}"},
  };
  // The recipe run needs an existing recipe to reach its body.
  REQUIRE(client.Post("/v1/recipes/deep", h.Auth("admin"),
                      R"({"query": "MATCH (u:User) RETURN u.id"})", "application/json")
              ->status == 200);
  for (const Case& c : cases) {
    INFO(c.method << " " << c.path);
    httplib::Result res = c.method == "POST"
                              ? client.Post(c.path, h.Auth(c.role), c.body, "application/json")
                              : client.Put(c.path, h.Auth(c.role), c.body, "application/json");
    REQUIRE(res);
    CHECK(res->status == 400);
    std::string message = c.path == "/v1/batch" ? Json(res)["errors"][0]["error"].get<std::string>()
                                                : MessageOf(res);
    CHECK(message.find("deeper than the limit of 64") != std::string::npos);
  }
  // The server is still up and answers normal requests.
  auto health = client.Get("/health");
  REQUIRE(health);
  CHECK(health->status == 200);
}

}  // namespace
}  // namespace pathwise::server::testing
