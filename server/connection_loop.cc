#include "server/connection_loop.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "server/errors.h"

namespace pathwise::server {

bool ClientCounts::TryAcquire(const std::string& address) {
  MutexLock lock(&mu_);
  size_t& open = open_[address];
  if (open >= max_per_client_) {
    if (open == 0) open_.erase(address);
    return false;
  }
  ++open;
  return true;
}

void ClientCounts::Release(const std::string& address) {
  MutexLock lock(&mu_);
  auto it = open_.find(address);
  if (it == open_.end()) return;
  if (--it->second == 0) open_.erase(it);
}

size_t ClientCounts::open(const std::string& address) const {
  MutexLock lock(&mu_);
  auto it = open_.find(address);
  return it == open_.end() ? 0 : it->second;
}

namespace {

using std::chrono::milliseconds;

// The numeric address and port of a socket's peer (remote) or own end (!remote).
void SocketAddress(int fd, bool remote, std::string* ip, int* port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  int rc = remote ? getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len)
                  : getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  char host[NI_MAXHOST] = "";
  char serv[NI_MAXSERV] = "0";
  if (rc == 0) {
    getnameinfo(reinterpret_cast<sockaddr*>(&addr), len, host, sizeof(host), serv, sizeof(serv),
                NI_NUMERICHOST | NI_NUMERICSERV);
  }
  *ip = host;
  *port = std::atoi(serv);
}

const char* ReasonPhrase(int status) {
  switch (status) {
    case 408: return "Request Timeout";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

// Writes a complete HTTP/1.1 response carrying status in the error shape, announcing that the
// connection closes. Gives up when the peer does not take it within write_timeout per write.
void SendCloseReply(Transport& transport, const Status& status, milliseconds write_timeout) {
  int code = HttpStatusFor(status);
  std::string body = ErrorJson(status).dump();
  std::string reply = "HTTP/1.1 " + std::to_string(code) + " " + ReasonPhrase(code) +
                      "\r\nContent-Type: application/json\r\nContent-Length: " +
                      std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  for (size_t sent = 0; sent < reply.size();) {
    size_t n = transport.Write(reply.data() + sent, reply.size() - sent,
                               Clock::now() + write_timeout);
    if (n == 0) return;
    sent += n;
  }
}

// One connection's transport as an httplib::Stream: buffered reads under the read timeout and,
// while a request's header or body is being read, under that phase's deadline too; writes under
// the write timeout. Once a deadline has passed, reads fail and httplib's own replies (and the
// handler's) are dropped, so the loop can answer 408 itself.
class ConnectionStream : public httplib::Stream {
 public:
  ConnectionStream(Transport& transport, milliseconds read_timeout, milliseconds write_timeout)
      : transport_(transport), read_timeout_(read_timeout), write_timeout_(write_timeout) {}

  bool is_readable() const override {
    return buffered() > 0 || transport_.HasBuffered() ||
           WaitUntil(transport_.fd(), POLLIN, Clock::now() + ReadWait());
  }
  bool is_writable() const override {
    return WaitUntil(transport_.fd(), POLLOUT, Clock::now() + write_timeout_);
  }

  ssize_t read(char* ptr, size_t size) override {
    if (buffered() == 0 && !Fill()) return -1;
    size_t n = std::min(size, buffered());
    std::copy_n(buffer_ + begin_, n, ptr);
    begin_ += n;
    return static_cast<ssize_t>(n);
  }

  // Writes are held back, up to kCoalesceBytes, and sent together by Flush (at the end of each
  // reply) or by the write that would pass that size: httplib writes a reply's head and its body
  // in two calls, and sent apart they are two segments, the client's first read wakes on the head
  // alone and it sleeps again for the body. (No route streams its reply; one that did would
  // reach the client in pieces of kCoalesceBytes.)
  ssize_t write(const char* ptr, size_t size) override {
    if (expired_ != Phase::kNone) return -1;
    // httplib writes a reply's status line and headers in one call.
    std::string_view data(ptr, size);
    if (data.starts_with("HTTP/1.")) {
      reply_closes_ = data.substr(0, data.find("\r\n\r\n")).find("\r\nConnection: close\r\n") !=
                      std::string_view::npos;
    }
    if (pending_.size() + size > kCoalesceBytes && !Flush()) return -1;
    if (size > kCoalesceBytes) return WriteAll(ptr, size) ? static_cast<ssize_t>(size) : -1;
    pending_.append(ptr, size);
    return static_cast<ssize_t>(size);
  }

  // Sends what write() held back; false if the peer did not take it within the write timeout.
  bool Flush() {
    if (pending_.empty()) return true;
    bool sent = WriteAll(pending_.data(), pending_.size());
    pending_.clear();
    return sent;
  }
  // Drops what write() held back (a reply the loop replaces with its own).
  void DiscardPending() { pending_.clear(); }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    SocketAddress(transport_.fd(), /*remote=*/true, &ip, &port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    SocketAddress(transport_.fd(), /*remote=*/false, &ip, &port);
  }
  socket_t socket() const override { return transport_.fd(); }

  // Waits up to idle for the first byte of the next request, in short slices so that a server
  // stop (keep_running false) ends the wait. False when none came or the peer closed.
  template <typename KeepRunning>
  bool WaitForRequest(milliseconds idle, KeepRunning keep_running) {
    if (buffered() > 0 || transport_.HasBuffered()) return true;
    Clock::time_point end = Clock::now() + idle;
    while (keep_running()) {
      Clock::time_point now = Clock::now();
      if (now >= end) return false;
      if (WaitUntil(transport_.fd(), POLLIN, std::min(now + milliseconds(50), end))) return true;
    }
    return false;
  }

  // Reads of phase must complete by deadline (one phase at a time; kNone: no deadline).
  void SetDeadline(Phase phase, Clock::time_point deadline) {
    phase_ = phase;
    deadline_ = deadline;
  }
  // The phase whose deadline a read passed (kNone: none did).
  Phase expired() const { return expired_; }
  // Whether the last reply written said `Connection: close` (the server must then close).
  bool reply_closes() const { return reply_closes_; }

 private:
  static constexpr size_t kCoalesceBytes = 64 << 10;

  size_t buffered() const { return end_ - begin_; }

  bool WriteAll(const char* ptr, size_t size) {
    const Clock::time_point until = Clock::now() + write_timeout_;
    for (size_t sent = 0; sent < size;) {
      size_t n = transport_.Write(ptr + sent, size - sent, until);
      if (n == 0) return false;
      sent += n;
    }
    return true;
  }

  // How long the next read may wait: the read timeout, cut short by the phase's deadline
  // (rounded up, so that a wait it cuts short ends at or after the deadline).
  milliseconds ReadWait() const {
    if (phase_ == Phase::kNone) return read_timeout_;
    milliseconds left =
        std::max(milliseconds(0), std::chrono::ceil<milliseconds>(deadline_ - Clock::now()));
    return std::min(read_timeout_, left);
  }

  bool Fill() {
    if (expired_ != Phase::kNone) return false;
    Clock::time_point until = Clock::now() + ReadWait();
    bool timed_out = false;
    size_t n = transport_.Read(buffer_, sizeof(buffer_), until, &timed_out);
    // A wait cut short by the deadline that saw no byte, or any read that ended past it.
    if (phase_ != Phase::kNone &&
        ((timed_out && until >= deadline_) || Clock::now() >= deadline_)) {
      expired_ = phase_;
      return false;
    }
    if (n == 0) return false;
    begin_ = 0;
    end_ = n;
    return true;
  }

  Transport& transport_;
  const milliseconds read_timeout_;
  const milliseconds write_timeout_;
  Phase phase_ = Phase::kNone;
  Clock::time_point deadline_;
  Phase expired_ = Phase::kNone;
  bool reply_closes_ = false;
  std::string pending_;  // written by httplib, not yet sent (write, Flush)
  char buffer_[4096];
  size_t begin_ = 0;
  size_t end_ = 0;
};

thread_local Clock::time_point request_arrived_at;

milliseconds ToMillis(time_t sec, time_t usec) {
  return milliseconds(static_cast<int64_t>(sec) * 1000 + static_cast<int64_t>(usec) / 1000);
}

// Discards what the peer has sent, for at most timeout or until it closes, so that closing the
// socket does not reset the connection before the peer has read the reply.
void Drain(Transport& transport, milliseconds timeout) {
  Clock::time_point end = Clock::now() + timeout;
  char sink[4096];
  bool timed_out = false;
  while (Clock::now() < end && transport.Read(sink, sizeof(sink), end, &timed_out) > 0) {
  }
}

// Sends the reply for status, then closes the sending side and reads what the peer still sends
// for a moment: closing a socket with unread input resets the connection, which can destroy
// the reply before the peer has read it.
void ReplyAndLinger(Transport& transport, const Status& status, milliseconds write_timeout) {
  SendCloseReply(transport, status, write_timeout);
  transport.ShutdownWrite();
  Drain(transport, milliseconds(200));
}

}  // namespace

Clock::time_point RequestArrivedAt() { return request_arrived_at; }

LimitedServer::LimitedServer(ConnectionLimits limits, Metrics* metrics, const TlsContext* tls)
    : limits_(limits), metrics_(metrics), tls_(tls), clients_(limits.max_per_client) {}

bool LimitedServer::WidenListenBacklog(int backlog) {
  socket_t sock = svr_sock_;
  return sock != INVALID_SOCKET && ::listen(sock, backlog) == 0;
}

bool LimitedServer::process_and_close_socket(socket_t sock) {
  std::string address;
  int port = 0;
  SocketAddress(sock, /*remote=*/true, &address, &port);
  bool ret = false;
  if (clients_.TryAcquire(address)) {
    ret = tls_ != nullptr ? ServeTls(sock) : ServePlain(sock);
    clients_.Release(address);
  } else {
    metrics_->RecordConnectionClosed("per_client_cap");
    // Over TLS there is no reply: it would need a handshake, the work the cap withholds.
    if (tls_ == nullptr) {
      PlainTransport transport(sock);
      ReplyAndLinger(transport,
                     Status::Unavailable(
                         "this client already has " + std::to_string(limits_.max_per_client) +
                         " open connections, the limit per client "
                         "(--max-connections-per-client); close one or retry later"),
                     ToMillis(write_timeout_sec_, write_timeout_usec_));
    }
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return ret;
}

bool LimitedServer::ServePlain(socket_t sock) {
  PlainTransport transport(sock);
  return ServeRequests(transport);
}

bool LimitedServer::ServeTls(socket_t sock) {
  TlsTransport transport(*tls_, sock);
  bool timed_out = false;
  if (!transport.Handshake(Clock::now() + limits_.header_timeout, &timed_out)) {
    metrics_->RecordConnectionClosed(timed_out ? "header_timeout" : "tls_handshake_failed");
    return false;
  }
  bool ret = ServeRequests(transport);
  transport.ShutdownWrite();
  return ret;
}

bool LimitedServer::ServeRequests(Transport& transport) {
  ConnectionStream strm(transport, ToMillis(read_timeout_sec_, read_timeout_usec_),
                        ToMillis(write_timeout_sec_, write_timeout_usec_));
  auto running = [this] { return svr_sock_ != INVALID_SOCKET; };
  bool ret = false;
  for (size_t left = keep_alive_max_count_; left > 0; --left) {
    if (!strm.WaitForRequest(std::chrono::seconds(limits_.keep_alive_timeout_seconds), running)) {
      break;
    }
    request_arrived_at = Clock::now();
    strm.SetDeadline(Phase::kHeader, request_arrived_at + limits_.header_timeout);
    bool connection_closed = false;
    ret = process_request(strm, /*close_connection=*/left == 1, connection_closed,
                          [this, &strm](httplib::Request&) {
                            strm.SetDeadline(Phase::kBody, Clock::now() + limits_.body_timeout);
                          });
    if (strm.expired() != Phase::kNone) {
      strm.DiscardPending();
      ReplyTimedOut(transport, strm.expired());
      return false;
    }
    strm.SetDeadline(Phase::kNone, {});
    if (!strm.Flush()) ret = false;
    if (!ret || connection_closed || strm.reply_closes()) break;
  }
  return ret;
}

void LimitedServer::ReplyTimedOut(Transport& transport, Phase phase) {
  bool header = phase == Phase::kHeader;
  metrics_->RecordConnectionClosed(header ? "header_timeout" : "body_timeout");
  std::string message =
      header ? "the request line and headers were not complete within " +
                   std::to_string(limits_.header_timeout.count()) + " ms (--header-timeout-ms)"
             : "the request body was not complete within " +
                   std::to_string(limits_.body_timeout.count()) + " s (--body-timeout-seconds)";
  ReplyAndLinger(transport, Status::DeadlineExceeded(message),
                 ToMillis(write_timeout_sec_, write_timeout_usec_));
}

}  // namespace pathwise::server
