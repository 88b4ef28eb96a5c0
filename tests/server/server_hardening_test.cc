// Hostile input against a real server: deep JSON, oversized and chunked bodies, form content
// types, unknown fields, path escapes (slow and idle connections: server_connections_test.cc).
// Each case is a finding of issue 8 that once crashed, wedged or silently misread a request.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <openssl/ssl.h>

#include "server/json_fields.h"
#include "server/server_internal.h"
#include "raw_connection.h"
#include "server_fixture.h"
#include "tls_client.h"

namespace pathwise::server::testing {
namespace {

// "[[[...1...]]]" nested depth times, inside the given prefix/suffix.
std::string Deep(size_t depth) { return std::string(depth, '[') + "1" + std::string(depth, ']'); }

size_t ResidentBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6)) * 1024;
  }
  return 0;
}

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

TEST_CASE("a chunked body over the body limit is a 413 without being buffered") {
  TempDir dir;
  ServerOptions options;
  options.max_body_bytes = 1 << 20;
  ServerHarness h(dir.path(), options);
  size_t rss_before = ResidentBytes();
  RawConnection conn(h.server()->port());
  REQUIRE(conn.connected());
  REQUIRE(conn.Send("POST /v1/batch HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + h.Key("write") +
                    "\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n"));
  // Up to 64 MiB in 64 KiB chunks; the server stops reading after the first MiB.
  const std::string chunk_data(64 << 10, ' ');
  char size_line[32];
  std::snprintf(size_line, sizeof(size_line), "%zx\r\n", chunk_data.size());
  const std::string chunk = size_line + chunk_data + "\r\n";
  size_t sent = 0;
  for (int i = 0; i < 1024 && conn.Send(chunk); ++i) sent += chunk_data.size();
  std::string response = conn.ReceiveAll();
  INFO(response.substr(0, 300));
  CHECK(StatusOf(response) == 413);
  CHECK(response.find("exceeds the limit of 1048576") != std::string::npos);
  CHECK(sent < (64u << 20));  // the server closed the connection instead of draining the flood
  CHECK(ResidentBytes() < rss_before + (32u << 20));
}

TEST_CASE("a body over the limit with Content-Length is a 413 naming the limit") {
  TempDir dir;
  ServerOptions options;
  options.max_body_bytes = 4096;
  ServerHarness h(dir.path(), options);
  auto client = h.Client();
  std::string body = R"({"query": "MATCH (u:User) RETURN u.id", "pad": ")" + std::string(8192, 'x') + "\"}";
  auto res = client.Post("/v1/query", h.Auth("read"), body, "application/json");
  REQUIRE(res);
  CHECK(res->status == 413);
  CHECK(MessageOf(res).find("exceeds the limit of 4096") != std::string::npos);
}

TEST_CASE("a JSON body sent as a form (curl's default content type) is read as JSON") {
  TempDir dir;
  ServerHarness h(dir.path());
  auto client = h.Client();
  // Over 8 KiB, where httplib's form parser used to refuse it with 413.
  std::string query = "MATCH (u:User) WHERE u.id <> '" + std::string(9000, 'x') + "' RETURN u.id";
  nlohmann::json body = {{"query", query}};
  auto res = client.Post("/v1/query", h.Auth("read"), body.dump(),
                         "application/x-www-form-urlencoded");
  REQUIRE(res);
  INFO(res->body.substr(0, 300));
  CHECK(res->status == 200);
  CHECK(Json(res)["rows"].size() == 2);
  nlohmann::json node = {{"properties", {{"title", std::string(9000, 't')}}}};
  auto put = client.Put("/v1/nodes/Item/i9", h.Auth("write"), node.dump(),
                        "application/x-www-form-urlencoded");
  REQUIRE(put);
  CHECK(put->status == 200);
  auto multipart = client.Post("/v1/query", h.Auth("read"), body.dump(),
                               "multipart/form-data; boundary=x");
  REQUIRE(multipart);
  CHECK(multipart->status == 415);
  CHECK(HasErrorShape(multipart->body));
}

TEST_CASE("an unknown path with a body is a 404 in the error shape") {
  TempDir dir;
  ServerHarness h(dir.path());
  auto client = h.Client();
  auto res = client.Post("/v1/nope", std::string(20000, 'x'), "application/x-www-form-urlencoded");
  REQUIRE(res);
  CHECK(res->status == 404);
  CHECK(HasErrorShape(res->body));
}

TEST_CASE("the Authorization scheme is case-insensitive") {
  TempDir dir;
  ServerHarness h(dir.path());
  auto client = h.Client();
  for (const char* scheme : {"bearer ", "BEARER ", "Bearer ", "bEaReR  "}) {
    INFO(scheme);
    auto res = client.Get("/v1/schema", {{"Authorization", scheme + h.Key("read")}});
    REQUIRE(res);
    CHECK(res->status == 200);
  }
  auto basic = client.Get("/v1/schema", {{"Authorization", "Basic " + h.Key("read")}});
  REQUIRE(basic);
  CHECK(basic->status == 401);
}

TEST_CASE("no-auth parses the bind address: only 127.0.0.0/8 and ::1 are loopback") {
  CHECK(IsLoopbackAddress("127.0.0.1"));
  CHECK(IsLoopbackAddress("127.255.3.4"));
  CHECK(IsLoopbackAddress("::1"));
  CHECK(!IsLoopbackAddress("127.evil.invalid"));
  CHECK(!IsLoopbackAddress("127.0.0.1.evil.invalid"));
  CHECK(!IsLoopbackAddress("localhost"));
  CHECK(!IsLoopbackAddress("128.0.0.1"));
  CHECK(!IsLoopbackAddress("0.0.0.0"));
  CHECK(!IsLoopbackAddress("::"));
  CHECK(!IsLoopbackAddress("::ffff:10.0.0.1"));

  TempDir dir;
  auto db = Database::Open(DatabaseOptions{}, dir.path());
  REQUIRE(db.ok());
  ServerOptions options;
  options.host = "127.evil.invalid";
  options.port = 0;
  options.no_auth = true;
  Server server(db->get(), options);
  Status status = server.Start();
  CHECK(status.code() == Status::Code::kInvalidArgument);
  CHECK(status.message().find("--no-auth is only allowed on a literal loopback address") !=
        std::string::npos);
}

TEST_CASE("ready is 503 with the reason when the database reports a storage fault") {
  Reply healthy = ReadinessReply(Status::OK());
  CHECK(healthy.status == 200);
  Reply faulted = ReadinessReply(Status::IOError("write to WAL failed: No space left on device"));
  CHECK(faulted.status == 503);
  CHECK(HasErrorShape(faulted.body));
  CHECK(faulted.body.find("No space left on device") != std::string::npos);

  TempDir dir;
  ServerHarness h(dir.path());
  auto client = h.Client();
  auto ready = client.Get("/ready");
  REQUIRE(ready);
  CHECK(ready->status == 200);
}

TEST_CASE("backups are confined to the backup root") {
  TempDir dir;
  ServerHarness h(dir.Sub("data"));
  auto client = h.Client();
  namespace fs = std::filesystem;
  fs::path root = fs::weakly_canonical(dir.Sub("data/backups"));
  fs::create_directories(root);
  fs::create_directory_symlink(dir.path(), root / "out");
  for (const std::string& escape :
       {std::string("../x"), std::string("a/../../x"), dir.Sub("elsewhere"), std::string("out/x"),
        std::string("."), root.string()}) {
    INFO(escape);
    auto res = client.Post("/v1/admin/backup", h.Auth("admin"),
                           nlohmann::json{{"dir", escape}}.dump(), "application/json");
    REQUIRE(res);
    CHECK(res->status == 400);
    CHECK(MessageOf(res).find("inside the backup root") != std::string::npos);
  }
  CHECK(!fs::exists(dir.Sub("data/x")));
  CHECK(!fs::exists(dir.Sub("x")));
  CHECK(!fs::exists(dir.Sub("elsewhere")));

  auto named = client.Post("/v1/admin/backup", h.Auth("admin"), R"({"dir": "nightly/1"})",
                           "application/json");
  REQUIRE(named);
  INFO(named->body);
  CHECK(named->status == 200);
  CHECK(Json(named)["dir"] == (root / "nightly" / "1").string());
  CHECK(fs::exists(root / "nightly" / "1"));
  auto inside_absolute = client.Post("/v1/admin/backup", h.Auth("admin"),
                                     nlohmann::json{{"dir", (root / "abs").string()}}.dump(),
                                     "application/json");
  REQUIRE(inside_absolute);
  CHECK(inside_absolute->status == 200);
}

TEST_CASE("the backup root can be set and a relative name is resolved under it") {
  TempDir dir;
  ServerOptions options;
  options.backup_root = dir.Sub("vault");
  ServerHarness h(dir.Sub("data"), options);
  auto client = h.Client();
  auto res = client.Post("/v1/admin/backup", h.Auth("admin"), "", "application/json");
  REQUIRE(res);
  CHECK(res->status == 200);
  std::string written = Json(res)["dir"];
  CHECK(written.rfind(std::filesystem::weakly_canonical(dir.Sub("vault")).string() + "/", 0) == 0);
  auto escape = client.Post("/v1/admin/backup", h.Auth("admin"), R"({"dir": "../data/b"})",
                            "application/json");
  REQUIRE(escape);
  CHECK(escape->status == 400);
}

TEST_CASE("a request-body field an endpoint does not know is a 400 naming it") {
  TempDir dir;
  ServerHarness h(dir.path());
  auto client = h.Client();
  REQUIRE(client.Post("/v1/recipes/all", h.Auth("admin"),
                      R"({"query": "MATCH (u:User) RETURN u.id"})", "application/json")
              ->status == 200);
  struct Case {
    std::string method, path, role, body;
  };
  std::vector<Case> cases = {
      {"POST", "/v1/query", "read", R"({"query": "MATCH (u:User) RETURN u.id", "bogus": 1})"},
      {"POST", "/v1/recipes/r2", "admin", R"({"query": "MATCH (u:User) RETURN u.id", "bogus": 1})"},
      {"POST", "/v1/recipes/all/run", "read", R"({"bogus": 1})"},
      {"PUT", "/v1/nodes/User/u7", "write", R"({"properties": {}, "bogus": 1})"},
      {"PATCH", "/v1/nodes/User/u1", "write", R"({"bogus": 1})"},
      {"PUT", "/v1/edges", "write",
       R"({"type": "LIKED", "from": ["User", "u1"], "to": ["Item", "i1"], "bogus": 1})"},
      {"PUT", "/v1/vectors/Item.embedding/i1", "write", R"({"values": [1, 0, 0, 0], "bogus": 1})"},
      {"POST", "/v1/admin/backup", "admin", R"({"bogus": 1})"},
      {"POST", "/v1/admin/keys", "admin", R"({"role": "read", "bogus": 1})"},
  };
  for (const Case& c : cases) {
    INFO(c.method << " " << c.path);
    httplib::Result res =
        c.method == "POST"  ? client.Post(c.path, h.Auth(c.role), c.body, "application/json")
        : c.method == "PUT" ? client.Put(c.path, h.Auth(c.role), c.body, "application/json")
                            : client.Patch(c.path, h.Auth(c.role), c.body, "application/json");
    REQUIRE(res);
    CHECK(res->status == 400);
    CHECK(MessageOf(res).find("unknown field 'bogus'") != std::string::npos);
  }
  auto mismatched = client.Post("/v1/recipes/r3", h.Auth("admin"),
                                R"({"name": "other", "query": "MATCH (u:User) RETURN u.id"})",
                                "application/json");
  REQUIRE(mismatched);
  CHECK(mismatched->status == 400);
}

TEST_CASE("a recipe run's limit cuts the rows, and a recipe with max_limit reads it as $limit") {
  TempDir dir;
  ServerHarness h(dir.path());
  auto client = h.Client();
  REQUIRE(client.Post("/v1/recipes/items", h.Auth("admin"),
                      R"({"query": "MATCH (i:Item) RETURN i.id ORDER BY i.id LIMIT 2"})",
                      "application/json")
              ->status == 200);
  auto one = client.Post("/v1/recipes/items/run", h.Auth("read"), R"({"limit": 1})",
                         "application/json");
  REQUIRE(one);
  CHECK(one->status == 200);
  CHECK(Json(one)["rows"] == nlohmann::json::parse(R"([["i1"]])"));
  // The recipe's own LIMIT is the upper bound.
  auto many = client.Post("/v1/recipes/items/run", h.Auth("read"), R"({"limit": 50})",
                          "application/json");
  REQUIRE(many);
  CHECK(Json(many)["rows"].size() == 2);
  for (const char* bad : {R"({"limit": 0})", R"({"limit": "3"})", R"({"limit": -1})"}) {
    auto res = client.Post("/v1/recipes/items/run", h.Auth("read"), bad, "application/json");
    REQUIRE(res);
    CHECK(res->status == 400);
    CHECK(MessageOf(res).find("limit") != std::string::npos);
  }

  REQUIRE(client.Post("/v1/recipes/paged", h.Auth("admin"),
                      R"({"query": "MATCH (i:Item) RETURN i.id ORDER BY i.id LIMIT $limit",
                          "params": {"limit": 1}, "max_limit": 3})",
                      "application/json")
              ->status == 200);
  auto by_default = client.Post("/v1/recipes/paged/run", h.Auth("read"), "", "application/json");
  REQUIRE(by_default);
  INFO(by_default->body);
  CHECK(Json(by_default)["rows"].size() == 1);
  auto three = client.Post("/v1/recipes/paged/run", h.Auth("read"), R"({"limit": 3})",
                           "application/json");
  REQUIRE(three);
  CHECK(Json(three)["rows"].size() == 3);
  auto over = client.Post("/v1/recipes/paged/run", h.Auth("read"), R"({"limit": 4})",
                          "application/json");
  REQUIRE(over);
  CHECK(over->status == 400);
  CHECK(MessageOf(over).find("at most 3") != std::string::npos);
}

// A TLS handshake with the server from a client that offers only versions min..max.
bool HandshakeSucceeds(int port, int min_version, int max_version) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  REQUIRE(ctx != nullptr);
  SSL_CTX_set_security_level(ctx, 0);  // let this client offer TLS 1.1 at all
  SSL_CTX_set_min_proto_version(ctx, min_version);
  SSL_CTX_set_max_proto_version(ctx, max_version);
  RawConnection conn(port);
  REQUIRE(conn.connected());
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, conn.fd());
  bool ok = SSL_connect(ssl) == 1;
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  return ok;
}

TEST_CASE("the TLS context refuses protocols below TLS 1.2") {
  TempDir dir;
  std::string cert = dir.Sub("cert.pem");
  std::string key = dir.Sub("key.pem");
  MakeSelfSignedCertificate(cert, key);
  ServerOptions options;
  options.tls_cert_file = cert;
  options.tls_key_file = key;
  ServerHarness h(dir.Sub("data"), options);
  CHECK(!HandshakeSucceeds(h.server()->port(), TLS1_VERSION, TLS1_1_VERSION));
  CHECK(HandshakeSucceeds(h.server()->port(), TLS1_2_VERSION, TLS1_2_VERSION));
  CHECK(HandshakeSucceeds(h.server()->port(), TLS1_2_VERSION, TLS1_3_VERSION));
}

TEST_CASE("metrics and stats are served from a cache the background refresh updates") {
  TempDir dir;
  {
    ServerOptions options;
    options.stats_refresh_seconds = 3600;
    ServerHarness h(dir.Sub("a"), options);
    auto client = h.Client();
    int64_t nodes = Json(client.Get("/v1/admin/stats", h.Auth("admin")))["nodes"];
    REQUIRE(client.Put("/v1/nodes/User/u9", h.Auth("write"), "{}", "application/json")->status ==
            200);
    // Not recomputed per request: the cached figure stands until the next refresh.
    CHECK(Json(client.Get("/v1/admin/stats", h.Auth("admin")))["nodes"] == nodes);
    auto metrics = client.Get("/metrics", h.Auth("read"));
    REQUIRE(metrics);
    CHECK(metrics->body.find("pathwise_nodes " + std::to_string(nodes) + "\n") != std::string::npos);
  }
  ServerOptions options;
  options.stats_refresh_seconds = 1;
  ServerHarness h(dir.Sub("b"), options);
  auto client = h.Client();
  int64_t nodes = Json(client.Get("/v1/admin/stats", h.Auth("admin")))["nodes"];
  REQUIRE(client.Put("/v1/nodes/User/u9", h.Auth("write"), "{}", "application/json")->status == 200);
  bool refreshed = false;
  for (int i = 0; i < 100 && !refreshed; ++i) {  // at most ~10 s
    refreshed = Json(client.Get("/v1/admin/stats", h.Auth("admin")))["nodes"] == nodes + 1;
    if (!refreshed) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(refreshed);
}

}  // namespace
}  // namespace pathwise::server::testing
