// The connection limits of server/connection_loop.h over HTTPS (issue 8): the TLS handshake and
// the request header share the header deadline, the per-client cap holds, and keep-alive works
// through the server's own TLS transport (server/transport.h). Timings are asserted only with
// bounds of seconds; the assertions are about behaviour (closed, refused, answered).
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "server_fixture.h"
#include "tls_client.h"

namespace pathwise::server::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr char kHealth[] = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
constexpr char kHealthClose[] = "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

ServerOptions TlsOptions(const TempDir& dir) {
  ServerOptions options;
  options.tls_cert_file = dir.Sub("cert.pem");
  options.tls_key_file = dir.Sub("key.pem");
  MakeSelfSignedCertificate(options.tls_cert_file, options.tls_key_file);
  return options;
}

// GET /health over a new TLS connection from `from`; the response status (0: none).
int TlsHealthFrom(int port, const char* from) {
  TlsConnection probe(port, from, /*timeout_s=*/5);
  if (!probe.Handshake() || !probe.Send(kHealthClose)) return 0;
  return StatusOf(probe.ReceiveAll());
}

// The value of one sample line of /metrics, read over TLS from 127.0.0.2; -1 if absent.
long TlsMetric(ServerHarness& h, const std::string& sample) {
  TlsConnection conn(h.server()->port(), "127.0.0.2");
  REQUIRE(conn.Handshake());
  REQUIRE(conn.Send("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: "
                    "Bearer " + h.Key("read") + "\r\n\r\n"));
  std::string text = conn.ReceiveAll();
  size_t at = text.find("\n" + sample + " ");
  return at == std::string::npos ? -1 : std::stol(text.substr(at + sample.size() + 2));
}

TEST_CASE("over TLS, keep-alive serves several requests on one connection") {
  TempDir dir;
  ServerHarness h(dir.Sub("data"), TlsOptions(dir));
  TlsConnection conn(h.server()->port());
  REQUIRE(conn.Handshake());
  for (int i = 0; i < 3; ++i) {
    REQUIRE(conn.Send(kHealth));
    CHECK(StatusOf(conn.ReceiveResponse()) == 200);
  }
}

TEST_CASE("over TLS, a slowloris connection gets 408 and is closed at the header deadline") {
  TempDir dir;
  ServerOptions options = TlsOptions(dir);
  options.header_timeout_ms = 1000;
  ServerHarness h(dir.Sub("data"), options);
  int port = h.server()->port();
  TlsConnection slow(port);
  REQUIRE(slow.Handshake());
  const std::string request = "GET /health HTTP/1.1\r\nHost: x\r\nX-Pad: " +
                              std::string(100, 'a') + "\r\n\r\n";
  Clock::time_point start = Clock::now();
  size_t sent = 0;
  bool health_answered = false;
  // One TLS record of one byte every 200 ms, far inside the read timeout: only the deadline
  // can stop it. The server's 408 ends the loop when a send fails or time runs out.
  while (sent < request.size() && Clock::now() - start < std::chrono::seconds(4)) {
    if (!slow.Send(request.substr(sent, 1))) break;
    ++sent;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    if (!health_answered) health_answered = TlsHealthFrom(port, "127.0.0.2") == 200;
  }
  std::string response = slow.ReceiveAll();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  INFO(response);
  CHECK(StatusOf(response) == 408);
  CHECK(HasErrorShape(BodyOf(response)));
  CHECK(sent < request.size());  // the deadline came before the slow client finished
  CHECK(seconds < 10.0);
  CHECK(health_answered);
  CHECK(TlsMetric(h, "pathwise_http_connections_closed_total{reason=\"header_timeout\"}") == 1);
}

TEST_CASE("a TLS client that does not finish its handshake is closed at the header deadline") {
  TempDir dir;
  ServerOptions options = TlsOptions(dir);
  options.header_timeout_ms = 1000;
  ServerHarness h(dir.Sub("data"), options);
  RawConnection silent(h.server()->port(), "127.0.0.1", /*timeout_s=*/10);
  REQUIRE(silent.connected());
  REQUIRE(silent.Send(std::string("\x16\x03\x01", 3)));  // the first bytes of a ClientHello
  Clock::time_point start = Clock::now();
  CHECK(silent.PeerClosed());  // a 10 s receive timeout would fail this
  CHECK(Clock::now() - start < std::chrono::seconds(8));
  CHECK(TlsHealthFrom(h.server()->port(), "127.0.0.2") == 200);
  CHECK(TlsMetric(h, "pathwise_http_connections_closed_total{reason=\"header_timeout\"}") == 1);
}

TEST_CASE("a TLS client over its connection cap is closed while another address is served") {
  TempDir dir;
  ServerOptions options = TlsOptions(dir);
  options.max_connections_per_client = 2;
  options.keep_alive_timeout_seconds = 60;  // the held connections outlast a slow machine
  ServerHarness h(dir.Sub("data"), options);
  int port = h.server()->port();
  std::vector<std::unique_ptr<TlsConnection>> held;
  for (int i = 0; i < 2; ++i) {
    held.push_back(std::make_unique<TlsConnection>(port));
    REQUIRE(held.back()->Handshake());
    REQUIRE(held.back()->Send(kHealth));
    REQUIRE(StatusOf(held.back()->ReceiveResponse()) == 200);  // served, and kept open
  }
  TlsConnection over(port);
  CHECK_FALSE(over.Handshake());  // closed before the handshake, without a reply
  CHECK(TlsHealthFrom(port, "127.0.0.2") == 200);
  CHECK(TlsMetric(h, "pathwise_http_connections_closed_total{reason=\"per_client_cap\"}") == 1);
}

}  // namespace
}  // namespace pathwise::server::testing
