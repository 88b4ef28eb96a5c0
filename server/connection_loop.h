// server/: the server's own connection loop, for HTTP and HTTPS. httplib (0.11.4) reads a request
// with a per-read timeout only, so a client sending one header byte per read timeout holds its
// connection forever, and it lets any one address open every connection the server has.
// LimitedServer overrides httplib::Server's virtual process_and_close_socket (the per-connection
// task httplib runs on the ConnectionPool) and serves each connection through its own Stream:
//   - per-client cap: a connection from an address that already holds max_per_client open
//     connections is answered at once with 503 in the error shape and closed;
//   - header deadline: the request line and headers of each request must arrive within
//     header_timeout of the request's first byte, else 408 in the error shape and close, however
//     slowly the bytes keep coming;
//   - body deadline: a request's body must arrive within body_timeout of the end of its
//     headers, else 408 in the error shape and close (the handler's reply is dropped);
//   - keep-alive idle: a connection waiting for its next request (or its first) is closed after
//     keep_alive_timeout_seconds without a byte.
// Every read also keeps httplib's per-read timeout, and writes its per-write timeout. With a TLS context the
// connection is TLS (server/transport.h): the handshake must complete within header_timeout of
// the accept, and a connection over the per-client cap is closed without a reply (a reply would
// need the handshake the cap withholds). httplib's SSLServer is not used.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include <httplib.h>

#include "server/metrics.h"
#include "storage/mutex.h"
#include "server/transport.h"

namespace pathwise::server {

// Which part of a request a read deadline bounds.
enum class Phase : uint8_t { kNone, kHeader, kBody };

struct ConnectionLimits {
  size_t max_per_client = 64;                          // open connections per remote address
  std::chrono::milliseconds header_timeout{5000};      // request line + headers, from first byte
  std::chrono::seconds body_timeout{120};              // a request's body, from its headers' end
  int keep_alive_timeout_seconds = 5;                  // idle wait for a request
};

// Open connections per remote address. Thread-safe.
class ClientCounts {
 public:
  explicit ClientCounts(size_t max_per_client) : max_per_client_(max_per_client) {}
  // Counts one more connection from address; false (and nothing counted) when it already has
  // max_per_client.
  bool TryAcquire(const std::string& address);
  // REQUIRES: a successful TryAcquire(address) not yet released.
  void Release(const std::string& address);
  size_t open(const std::string& address) const;

 private:
  const size_t max_per_client_;
  mutable Mutex mu_;
  std::map<std::string, size_t> open_ PW_GUARDED_BY(mu_);  // addresses with none are removed
};

// When the request this thread is serving began to arrive (its first byte became readable), on
// the steady clock: set by the connection loop before each request is parsed, read by the
// routes for the Server-Timing header's "recv" (request line, headers and routing).
std::chrono::steady_clock::time_point RequestArrivedAt();

class LimitedServer : public httplib::Server {
 public:
  // metrics counts refused and timed-out connections; tls (null: plain HTTP) makes every
  // connection TLS. Both must outlive the server.
  LimitedServer(ConnectionLimits limits, Metrics* metrics, const TlsContext* tls = nullptr);

  // httplib listens with a backlog of 5, so a burst of connects (one client opening its cap)
  // overflows it and other clients' SYNs are dropped and retried after 1 s. Re-listens the
  // bound socket with a longer queue. REQUIRES: after bind_to_port / bind_to_any_port.
  bool WidenListenBacklog(int backlog);

 private:
  // Called by httplib's accept loop (on a ConnectionPool thread) for each accepted socket.
  bool process_and_close_socket(socket_t sock) override;
  bool ServePlain(socket_t sock);
  bool ServeTls(socket_t sock);
  // The keep-alive loop of one connection: requests until the client closes, idles out, breaks
  // the header deadline or the keep-alive count is used up.
  bool ServeRequests(Transport& transport);
  // Counts and answers a request whose header or body passed its deadline (408, then close).
  void ReplyTimedOut(Transport& transport, Phase phase);

  const ConnectionLimits limits_;
  Metrics* const metrics_;
  const TlsContext* const tls_;
  ClientCounts clients_;
};

}  // namespace pathwise::server
