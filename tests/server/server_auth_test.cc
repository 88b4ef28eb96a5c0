// Authentication and authorization: the role x endpoint matrix, key handling, --no-auth rules
// and TLS.
#include <cstdlib>
#include <fstream>

#include "server/auth.h"
#include "server_fixture.h"
#include "tls_client.h"

namespace pathwise::server::testing {
namespace {

struct Call {
  std::string method;
  std::string path;
  std::string body;
  std::string role;  // least role allowed
};

std::vector<Call> Matrix() {
  std::string query = R"({"query": "MATCH (u:User {id: $user})-[:VIEWED]->(i:Item) RETURN i.id", "params": {"user": "u1"}})";
  return {
      {"POST", "/v1/query", query, "read"},
      {"GET", "/v1/recipes", "", "read"},
      {"POST", "/v1/recipes/r1", query, "admin"},
      {"GET", "/v1/recipes/r1", "", "read"},
      {"POST", "/v1/recipes/r1/run", "{}", "read"},
      {"GET", "/v1/schema", "", "read"},
      {"GET", "/v1/nodes/Item/i1", "", "read"},
      {"GET", "/metrics", "", "read"},
      {"PUT", "/v1/nodes/Item/m1", R"({"properties": {"title": "M"}})", "write"},
      {"PATCH", "/v1/nodes/Item/m1", R"({"properties": {"price": 1.5}})", "write"},
      {"PUT", "/v1/edges", R"({"type": "LIKED", "from": ["User", "u1"], "to": ["Item", "m1"]})", "write"},
      {"DELETE", "/v1/edges", R"({"type": "LIKED", "from": ["User", "u1"], "to": ["Item", "m1"]})", "write"},
      {"PUT", "/v1/vectors/Item.embedding/m1", R"({"values": [1, 2, 3, 4]})", "write"},
      {"DELETE", "/v1/vectors/Item.embedding/m1", "", "write"},
      {"POST", "/v1/batch", R"({"node": "Item", "id": "m2"})", "write"},
      {"DELETE", "/v1/nodes/Item/m2", "", "write"},
      {"PUT", "/v1/admin/event-types", R"({"view": {"edge": "VIEWED"}})", "admin"},
      {"GET", "/v1/admin/event-types", "", "admin"},
      {"POST", "/v1/events", R"({"event_id": "x", "user": "u1", "item": "i3", "type": "view"})", "write"},
      {"POST", "/v1/schema", R"({"node_types": [{"name": "Tag"}]})", "admin"},
      {"POST", "/v1/admin/keys", R"({"role": "read"})", "admin"},
      {"GET", "/v1/admin/keys", "", "admin"},
      {"GET", "/v1/admin/stats", "", "admin"},
      {"POST", "/v1/admin/load", "{\"node\": \"Item\", \"id\": \"m3\"}\n", "admin"},
      {"DELETE", "/v1/recipes/r1", "", "admin"},
  };
}

httplib::Result Send(httplib::Client& client, const Call& call, const httplib::Headers& headers) {
  if (call.method == "GET") return client.Get(call.path, headers);
  if (call.method == "POST") return client.Post(call.path, headers, call.body, "application/json");
  if (call.method == "PUT") return client.Put(call.path, headers, call.body, "application/json");
  if (call.method == "PATCH") return client.Patch(call.path, headers, call.body, "application/json");
  return client.Delete(call.path, headers, call.body, "application/json");
}

int Rank(const std::string& role) { return role == "read" ? 1 : role == "write" ? 2 : 3; }

TEST_CASE("every endpoint needs a key, rejects lower roles with 403 and accepts its role") {
  TempDir dir;
  ServerHarness h(dir.path());
  auto client = h.Client();
  for (const Call& call : Matrix()) {
    INFO(call.method << " " << call.path);
    auto anonymous = Send(client, call, {});
    REQUIRE(anonymous);
    CHECK(anonymous->status == 401);
    CHECK(HasErrorShape(anonymous->body));
    auto bogus = Send(client, call, {{"Authorization", "Bearer pw_0123456789abcdef_nope"}});
    REQUIRE(bogus);
    CHECK(bogus->status == 401);
    for (const std::string role : {"read", "write", "admin"}) {
      if (Rank(role) >= Rank(call.role)) continue;
      auto low = Send(client, call, h.Auth(role));
      REQUIRE(low);
      CHECK(low->status == 403);
      CHECK(HasErrorShape(low->body));
    }
    auto allowed = Send(client, call, h.Auth(call.role));
    REQUIRE(allowed);
    INFO(allowed->body);
    CHECK(allowed->status >= 200);
    CHECK(allowed->status < 300);
  }
}

TEST_CASE("public endpoints need no key") {
  TempDir dir;
  ServerHarness h(dir.path());
  auto client = h.Client();
  for (const char* path : {"/health", "/ready", "/v1/openapi.yaml"}) {
    auto res = client.Get(path);
    REQUIRE(res);
    CHECK(res->status == 200);
  }
}

TEST_CASE("api keys are stored hashed and verify only with the right secret") {
  TempDir dir;
  auto db = Database::Open(DatabaseOptions{}, dir.path());
  REQUIRE(db.ok());
  auto key = CreateApiKey(db->get(), "write");
  REQUIRE(key.ok());
  std::string id = key->substr(3, key->find('_', 3) - 3);
  std::string secret = key->substr(key->find('_', 3) + 1);
  auto stored = (*db)->GetMeta("key/" + id);
  REQUIRE(stored.ok());
  CHECK(stored->find(secret) == std::string::npos);
  auto role = VerifyApiKey(**db, *key);
  REQUIRE(role.ok());
  CHECK(*role == Role::kWrite);
  std::string tampered = *key;
  tampered.back() = tampered.back() == 'a' ? 'b' : 'a';
  CHECK(VerifyApiKey(**db, tampered).status().code() == Status::Code::kUnauthenticated);
  CHECK(VerifyApiKey(**db, "pw_").status().code() == Status::Code::kUnauthenticated);
  CHECK(VerifyApiKey(**db, "Bearer x").status().code() == Status::Code::kUnauthenticated);
  CHECK(!CreateApiKey(db->get(), "superuser").ok());
  auto keys = ListApiKeys(**db);
  REQUIRE(keys.ok());
  REQUIRE(keys->size() == 1);
  CHECK((*keys)[0].id == id);
  CHECK((*keys)[0].role == "write");
  REQUIRE(RevokeApiKey(db->get(), id).ok());
  CHECK(VerifyApiKey(**db, *key).status().code() == Status::Code::kUnauthenticated);
  CHECK(RevokeApiKey(db->get(), id).code() == Status::Code::kNotFound);
}

TEST_CASE("no-auth is refused on a non-loopback address and allowed on loopback") {
  TempDir dir;
  auto db = Database::Open(DatabaseOptions{}, dir.path());
  REQUIRE(db.ok());
  ServerOptions open_options;
  open_options.host = "0.0.0.0";
  open_options.port = 0;
  open_options.no_auth = true;
  Server exposed(db->get(), open_options);
  CHECK(exposed.Start().code() == Status::Code::kInvalidArgument);

  ServerOptions loopback = open_options;
  loopback.host = "127.0.0.1";
  Server local(db->get(), loopback);
  REQUIRE(local.Start().ok());
  httplib::Client client("127.0.0.1", local.port());
  auto res = client.Get("/v1/admin/stats");
  REQUIRE(res);
  CHECK(res->status == 200);
  local.Stop();
}

TEST_CASE("TLS serves HTTPS with a certificate and key") {
  TempDir dir;
  std::string cert = dir.Sub("cert.pem");
  std::string key = dir.Sub("key.pem");
  MakeSelfSignedCertificate(cert, key);
  ServerOptions options;
  options.tls_cert_file = cert;
  options.tls_key_file = key;
  ServerHarness h(dir.Sub("data"), options);
  CHECK(h.server()->BaseUrl().rfind("https://", 0) == 0);
  httplib::SSLClient client("127.0.0.1", h.server()->port());
  client.enable_server_certificate_verification(false);
  auto health = client.Get("/health");
  REQUIRE(health);
  CHECK(health->status == 200);
  auto schema = client.Get("/v1/schema", h.Auth("read"));
  REQUIRE(schema);
  CHECK(schema->status == 200);
  // Plain HTTP against the TLS port gets no HTTP response.
  httplib::Client plain("127.0.0.1", h.server()->port());
  plain.set_read_timeout(2, 0);
  auto refused = plain.Get("/health");
  CHECK((!refused || refused->status != 200));
}

TEST_CASE("TLS with an unreadable certificate fails to start with a clear error") {
  TempDir dir;
  auto db = Database::Open(DatabaseOptions{}, dir.path());
  REQUIRE(db.ok());
  ServerOptions options;
  options.port = 0;
  options.tls_cert_file = dir.Sub("missing-cert.pem");
  options.tls_key_file = dir.Sub("missing-key.pem");
  Server server(db->get(), options);
  Status status = server.Start();
  CHECK(status.code() == Status::Code::kInvalidArgument);
  CHECK(status.message().find("certificate") != std::string::npos);
}

}  // namespace
}  // namespace pathwise::server::testing
