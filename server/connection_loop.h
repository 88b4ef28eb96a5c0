// server/: the server's own connection loop for plain HTTP. httplib (0.11.4) reads a request
// with a per-read timeout only, so a client sending one header byte per read timeout holds its
// connection forever, and it lets any one address open every connection the server has.
// LimitedServer overrides httplib::Server's virtual process_and_close_socket (the per-connection
// task httplib runs on the ConnectionPool) and serves each connection through its own Stream:
//   - per-client cap: a connection from an address that already holds max_per_client open
//     connections is answered at once with 503 in the error shape and closed;
//   - header deadline: the request line and headers of each request must arrive within
//     header_timeout of the request's first byte, else 408 in the error shape and close, however
//     slowly the bytes keep coming;
//   - keep-alive idle: a connection waiting for its next request (or its first) is closed after
//     keep_alive_timeout_seconds without a byte.
// Bodies and responses keep httplib's per-read and per-write timeouts. HTTPS (httplib's
// SSLServer) keeps httplib's own loop and has none of the three.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>

#include <httplib.h>

#include "server/metrics.h"

namespace pathwise::server {

struct ConnectionLimits {
  size_t max_per_client = 64;                          // open connections per remote address
  std::chrono::milliseconds header_timeout{5000};      // request line + headers, from first byte
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
  mutable std::mutex mu_;
  std::map<std::string, size_t> open_;  // guarded by mu_; addresses with no connection removed
};

class LimitedServer : public httplib::Server {
 public:
  // metrics counts refused and timed-out connections; it must outlive the server.
  LimitedServer(ConnectionLimits limits, Metrics* metrics);

  // httplib listens with a backlog of 5, so a burst of connects (one client opening its cap)
  // overflows it and other clients' SYNs are dropped and retried after 1 s. Re-listens the
  // bound socket with a longer queue. REQUIRES: after bind_to_port / bind_to_any_port.
  bool WidenListenBacklog(int backlog);

 private:
  // Called by httplib's accept loop (on a ConnectionPool thread) for each accepted socket.
  bool process_and_close_socket(socket_t sock) override;
  bool ServeConnection(socket_t sock);

  const ConnectionLimits limits_;
  Metrics* const metrics_;
  ClientCounts clients_;
};

}  // namespace pathwise::server
