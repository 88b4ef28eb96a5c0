// server/: the byte transport under one connection: plain TCP, or TLS over it through OpenSSL.
// Every wait ends at an absolute time point, so neither a TLS handshake nor a TLS record
// dribbled a byte at a time can hold a connection past the deadline its caller sets (the
// connection loop's header deadline and read/write timeouts, server/connection_loop.h).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>

#include "storage/status.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace pathwise::server {

using Clock = std::chrono::steady_clock;

// poll() fd for one event until `until`; true when it is ready (or the peer hung up).
bool WaitUntil(int fd, short events, Clock::time_point until);

class Transport {
 public:
  virtual ~Transport() = default;
  // Reads up to size bytes, waiting until `until` for at least one. Returns the count read;
  // 0 when the peer closed or failed, or when nothing arrived in time (then *timed_out).
  virtual size_t Read(char* buf, size_t size, Clock::time_point until, bool* timed_out) = 0;
  // Writes up to size bytes, waiting until `until` for the socket to take at least one.
  // Returns the count written; 0 on failure or timeout.
  virtual size_t Write(const char* buf, size_t size, Clock::time_point until) = 0;
  // True when bytes already received are buffered inside the transport (decrypted TLS data), so
  // a read returns at once although the socket may not be readable.
  virtual bool HasBuffered() const { return false; }
  // Ends the sending side: a TCP half-close, or a TLS close_notify (best effort, no waiting).
  virtual void ShutdownWrite() = 0;
  virtual int fd() const = 0;
};

// The socket's bytes as they are.
class PlainTransport final : public Transport {
 public:
  explicit PlainTransport(int fd) : fd_(fd) {}
  size_t Read(char* buf, size_t size, Clock::time_point until, bool* timed_out) override;
  size_t Write(const char* buf, size_t size, Clock::time_point until) override;
  void ShutdownWrite() override;
  int fd() const override { return fd_; }

 private:
  const int fd_;
};

// A server certificate chain and private key (PEM files), with protocols below TLS 1.2 refused
// (TLS 1.0 and 1.1 are deprecated, RFC 8996). Shared by all connections; thread-safe.
class TlsContext {
 public:
  // InvalidArgument names the file that cannot be read or does not hold a usable PEM
  // certificate or key, or says that they do not match.
  static Result<std::unique_ptr<TlsContext>> Create(const std::string& cert_file,
                                                    const std::string& key_file);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* get() const { return ctx_; }

 private:
  explicit TlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* const ctx_;
};

// The server side of a TLS connection over fd, which it switches to non-blocking mode.
// REQUIRES: Handshake returned true before Read or Write. Does not close fd.
class TlsTransport final : public Transport {
 public:
  TlsTransport(const TlsContext& context, int fd);
  ~TlsTransport() override;
  TlsTransport(const TlsTransport&) = delete;
  TlsTransport& operator=(const TlsTransport&) = delete;

  // Completes the handshake by `until`; false when it fails or does not finish in time (then
  // *timed_out).
  bool Handshake(Clock::time_point until, bool* timed_out);

  size_t Read(char* buf, size_t size, Clock::time_point until, bool* timed_out) override;
  size_t Write(const char* buf, size_t size, Clock::time_point until) override;
  bool HasBuffered() const override;
  void ShutdownWrite() override;
  int fd() const override { return fd_; }

 private:
  // Waits for what the last OpenSSL call returning rc asked for (more input or room to write)
  // until `until`. False when it failed for another reason or the wait timed out (*timed_out).
  bool WaitForRetry(int rc, Clock::time_point until, bool* timed_out);

  const int fd_;
  SSL* ssl_ = nullptr;
  bool shut_down_ = false;
};

}  // namespace pathwise::server
