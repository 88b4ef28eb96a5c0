#include "server/connection_loop.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <optional>

#include "server/errors.h"

namespace pathwise::server {

bool ClientCounts::TryAcquire(const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  size_t& open = open_[address];
  if (open >= max_per_client_) {
    if (open == 0) open_.erase(address);
    return false;
  }
  ++open;
  return true;
}

void ClientCounts::Release(const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = open_.find(address);
  if (it == open_.end()) return;
  if (--it->second == 0) open_.erase(it);
}

size_t ClientCounts::open(const std::string& address) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = open_.find(address);
  return it == open_.end() ? 0 : it->second;
}

namespace {

using Clock = std::chrono::steady_clock;
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

// poll() for one event, at most timeout; true when it is ready (or the peer hung up).
bool WaitFor(int fd, short events, milliseconds timeout) {
  pollfd pfd{fd, events, 0};
  int ms = static_cast<int>(std::max<int64_t>(0, timeout.count()));
  int rc;
  do {
    rc = ::poll(&pfd, 1, ms);
  } while (rc < 0 && errno == EINTR);
  return rc > 0;
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
void SendCloseReply(int fd, const Status& status, milliseconds write_timeout) {
  int code = HttpStatusFor(status);
  std::string body = ErrorJson(status).dump();
  std::string reply = "HTTP/1.1 " + std::to_string(code) + " " + ReasonPhrase(code) +
                      "\r\nContent-Type: application/json\r\nContent-Length: " +
                      std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  for (size_t sent = 0; sent < reply.size();) {
    if (!WaitFor(fd, POLLOUT, write_timeout)) return;
    ssize_t n = ::send(fd, reply.data() + sent, reply.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += static_cast<size_t>(n);
  }
}

// One connection's socket as an httplib::Stream: buffered reads under the read timeout and, while
// a request's header is being read, under the header deadline too; writes under the write
// timeout. Once the header deadline has passed, reads fail and httplib's own replies are
// dropped, so the loop can answer 408 itself.
class ConnectionStream : public httplib::Stream {
 public:
  ConnectionStream(int fd, milliseconds read_timeout, milliseconds write_timeout)
      : fd_(fd), read_timeout_(read_timeout), write_timeout_(write_timeout) {}

  bool is_readable() const override { return buffered() > 0 || WaitFor(fd_, POLLIN, ReadWait()); }
  bool is_writable() const override { return WaitFor(fd_, POLLOUT, write_timeout_); }

  ssize_t read(char* ptr, size_t size) override {
    if (buffered() == 0 && !Fill()) return -1;
    size_t n = std::min(size, buffered());
    std::copy_n(buffer_ + begin_, n, ptr);
    begin_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (header_expired_ || !WaitFor(fd_, POLLOUT, write_timeout_)) return -1;
    return ::send(fd_, ptr, size, MSG_NOSIGNAL);
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    SocketAddress(fd_, /*remote=*/true, &ip, &port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    SocketAddress(fd_, /*remote=*/false, &ip, &port);
  }
  socket_t socket() const override { return fd_; }

  // Waits up to idle for the first byte of the next request, in short slices so that a server
  // stop (keep_running false) ends the wait. False when none came or the peer closed.
  template <typename KeepRunning>
  bool WaitForRequest(milliseconds idle, KeepRunning keep_running) {
    if (buffered() > 0) return true;
    Clock::time_point end = Clock::now() + idle;
    while (keep_running()) {
      Clock::time_point now = Clock::now();
      if (now >= end) return false;
      if (WaitFor(fd_, POLLIN, std::min<milliseconds>(
                                   milliseconds(50),
                                   std::chrono::duration_cast<milliseconds>(end - now)))) {
        return true;
      }
    }
    return false;
  }

  void StartHeaderDeadline(Clock::time_point deadline) { header_deadline_ = deadline; }
  void EndHeaderDeadline() { header_deadline_.reset(); }
  bool header_expired() const { return header_expired_; }

 private:
  size_t buffered() const { return end_ - begin_; }

  // Time left until the header deadline, rounded up (none when no header is being read).
  std::optional<milliseconds> HeaderTimeLeft() const {
    if (!header_deadline_) return std::nullopt;
    return std::max(milliseconds(0),
                    std::chrono::ceil<milliseconds>(*header_deadline_ - Clock::now()));
  }

  // How long the next read may wait: the read timeout, cut short by the header deadline.
  milliseconds ReadWait() const {
    std::optional<milliseconds> left = HeaderTimeLeft();
    return left ? std::min(read_timeout_, *left) : read_timeout_;
  }

  bool Fill() {
    if (header_expired_) return false;
    std::optional<milliseconds> left = HeaderTimeLeft();
    bool readable = WaitFor(fd_, POLLIN, ReadWait());
    // A wait cut short by the deadline that saw no byte, or any wait that ended past it.
    if ((left && !readable && *left <= read_timeout_) ||
        (header_deadline_ && Clock::now() >= *header_deadline_)) {
      header_expired_ = true;
      return false;
    }
    if (!readable) return false;
    ssize_t n;
    do {
      n = ::recv(fd_, buffer_, sizeof(buffer_), 0);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) return false;
    begin_ = 0;
    end_ = static_cast<size_t>(n);
    return true;
  }

  const int fd_;
  const milliseconds read_timeout_;
  const milliseconds write_timeout_;
  std::optional<Clock::time_point> header_deadline_;
  bool header_expired_ = false;
  char buffer_[4096];
  size_t begin_ = 0;
  size_t end_ = 0;
};

milliseconds ToMillis(time_t sec, time_t usec) {
  return milliseconds(static_cast<int64_t>(sec) * 1000 + static_cast<int64_t>(usec) / 1000);
}

// Discards what the peer has sent, for at most timeout or until it closes, so that closing the
// socket does not reset the connection before the peer has read the reply.
void Drain(int fd, milliseconds timeout) {
  Clock::time_point end = Clock::now() + timeout;
  char sink[4096];
  for (Clock::time_point now = Clock::now(); now < end; now = Clock::now()) {
    if (!WaitFor(fd, POLLIN, std::chrono::duration_cast<milliseconds>(end - now))) return;
    if (::recv(fd, sink, sizeof(sink), 0) <= 0) return;
  }
}

// Sends the reply for status, then closes the sending side and reads what the peer still sends
// for a moment: closing a socket with unread input resets the connection, which can destroy
// the reply before the peer has read it.
void ReplyAndLinger(int fd, const Status& status, milliseconds write_timeout) {
  SendCloseReply(fd, status, write_timeout);
  ::shutdown(fd, SHUT_WR);
  Drain(fd, milliseconds(200));
}

}  // namespace

LimitedServer::LimitedServer(ConnectionLimits limits, Metrics* metrics)
    : limits_(limits), metrics_(metrics), clients_(limits.max_per_client) {}

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
    ret = ServeConnection(sock);
    clients_.Release(address);
  } else {
    metrics_->RecordConnectionClosed("per_client_cap");
    ReplyAndLinger(sock,
                   Status::Unavailable(
                       "this client already has " + std::to_string(limits_.max_per_client) +
                       " open connections, the limit per client "
                       "(--max-connections-per-client); close one or retry later"),
                   ToMillis(write_timeout_sec_, write_timeout_usec_));
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return ret;
}

bool LimitedServer::ServeConnection(socket_t sock) {
  ConnectionStream strm(sock, ToMillis(read_timeout_sec_, read_timeout_usec_),
                        ToMillis(write_timeout_sec_, write_timeout_usec_));
  auto running = [this] { return svr_sock_ != INVALID_SOCKET; };
  bool ret = false;
  for (size_t left = keep_alive_max_count_; left > 0; --left) {
    if (!strm.WaitForRequest(std::chrono::seconds(limits_.keep_alive_timeout_seconds), running)) {
      break;
    }
    strm.StartHeaderDeadline(Clock::now() + limits_.header_timeout);
    bool connection_closed = false;
    ret = process_request(strm, /*close_connection=*/left == 1, connection_closed,
                          [&strm](httplib::Request&) { strm.EndHeaderDeadline(); });
    if (strm.header_expired()) {
      metrics_->RecordConnectionClosed("header_timeout");
      ReplyAndLinger(sock,
                     Status::DeadlineExceeded(
                         "the request line and headers were not complete within " +
                         std::to_string(limits_.header_timeout.count()) +
                         " ms (--header-timeout-ms)"),
                     ToMillis(write_timeout_sec_, write_timeout_usec_));
      return false;
    }
    if (!ret || connection_closed) break;
  }
  return ret;
}

}  // namespace pathwise::server
