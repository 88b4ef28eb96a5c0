// Shared by the end-to-end server tests that speak TLS: a self-signed certificate, and a TLS
// client over a RawConnection (chosen loopback source address, byte-at-a-time sends).
#pragma once

#include <openssl/ssl.h>

#include <cstdlib>
#include <string>

#include <doctest/doctest.h>

#include "raw_connection.h"

namespace pathwise::server::testing {

// Writes a self-signed RSA certificate for 127.0.0.1 and its key to cert and key (PEM).
inline void MakeSelfSignedCertificate(const std::string& cert, const std::string& key) {
  std::string command =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -keyout " + key +
      " -out " + cert + " >/dev/null 2>&1";
  REQUIRE(std::system(command.c_str()) == 0);
}

// A TLS client connection (no certificate verification) over a raw TCP connection from `from`.
class TlsConnection {
 public:
  TlsConnection(int port, const char* from = "127.0.0.1", int timeout_s = 10)
      : raw_(port, from, timeout_s) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    REQUIRE(ctx_ != nullptr);
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, raw_.fd());
  }
  ~TlsConnection() {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
  }
  TlsConnection(const TlsConnection&) = delete;
  TlsConnection& operator=(const TlsConnection&) = delete;

  RawConnection& raw() { return raw_; }
  // Completes the client side of the handshake; false when the server refused or closed.
  bool Handshake() { return raw_.connected() && SSL_connect(ssl_) == 1; }
  // False once the server has closed or a send timed out.
  bool Send(const std::string& data) {
    return data.empty() || SSL_write(ssl_, data.data(), static_cast<int>(data.size())) > 0;
  }
  // Everything received until the server closes, max_bytes arrive or a receive times out.
  std::string ReceiveAll(size_t max_bytes = 1 << 20) {
    std::string out;
    char buf[4096];
    while (out.size() < max_bytes) {
      int n = SSL_read(ssl_, buf, sizeof(buf));
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }
  // One response whose header announces Content-Length (enough for the small replies here).
  std::string ReceiveResponse() {
    std::string out;
    char buf[4096];
    while (true) {
      size_t end = out.find("\r\n\r\n");
      if (end != std::string::npos) {
        size_t at = out.find("Content-Length: ");
        size_t length = at == std::string::npos ? 0 : std::stoul(out.substr(at + 16));
        if (out.size() >= end + 4 + length) return out;
      }
      int n = SSL_read(ssl_, buf, sizeof(buf));
      if (n <= 0) return out;
      out.append(buf, static_cast<size_t>(n));
    }
  }

 private:
  RawConnection raw_;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
};

}  // namespace pathwise::server::testing
