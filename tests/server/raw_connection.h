// Shared by the end-to-end server tests: a raw TCP connection for requests httplib's client cannot
// make (chunked floods, slow headers, idle sockets, a chosen loopback source address).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include <doctest/doctest.h>

namespace pathwise::server::testing {

// A raw TCP connection to 127.0.0.1 from a chosen loopback address, with send/receive timeouts.
class RawConnection {
 public:
  RawConnection(int port, const char* from = "127.0.0.1", int timeout_s = 10) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    timeval tv{timeout_s, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    sockaddr_in local{};
    local.sin_family = AF_INET;
    inet_pton(AF_INET, from, &local.sin_addr);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof(local)) == 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~RawConnection() { ::close(fd_); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }
  int fd() const { return fd_; }
  // False once the peer has closed or the send timed out.
  bool Send(const std::string& data) {
    size_t sent = 0;
    while (sent < data.size()) {
      ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }
  // Everything received until the peer closes, max_bytes arrive or a receive times out.
  std::string ReceiveAll(size_t max_bytes = 1 << 20) {
    std::string out;
    char buf[4096];
    while (out.size() < max_bytes) {
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }
  // One response on a keep-alive connection: the head, then Content-Length bytes of body.
  // Whatever arrived before a timeout or close when the response is incomplete.
  std::string ReceiveResponse() {
    std::string out;
    char c;
    while (out.find("\r\n\r\n") == std::string::npos && ::recv(fd_, &c, 1, 0) == 1) {
      out.push_back(c);
    }
    size_t head_end = out.find("\r\n\r\n");
    size_t length_at = out.find("Content-Length: ");
    if (head_end == std::string::npos || length_at == std::string::npos) return out;
    size_t want = head_end + 4 + std::stoul(out.substr(length_at + 16));
    while (out.size() < want && ::recv(fd_, &c, 1, 0) == 1) out.push_back(c);
    return out;
  }
  // True when the peer has closed the connection (recv returns 0 or an error other than timeout).
  bool PeerClosed() {
    char c;
    ssize_t n = ::recv(fd_, &c, 1, 0);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

// The status code of a raw HTTP/1.1 response; 0 when it is not one.
inline int StatusOf(const std::string& response) {
  if (response.rfind("HTTP/1.1 ", 0) != 0 || response.size() < 12) return 0;
  return std::stoi(response.substr(9, 3));
}

// The body of a raw HTTP response (after the blank line); empty when there is none.
inline std::string BodyOf(const std::string& response) {
  size_t end = response.find("\r\n\r\n");
  return end == std::string::npos ? "" : response.substr(end + 4);
}

}  // namespace pathwise::server::testing
