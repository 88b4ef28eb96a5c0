#include "server/transport.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace pathwise::server {

bool WaitUntil(int fd, short events, Clock::time_point until) {
  pollfd pfd{fd, events, 0};
  int rc;
  do {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now()).count();
    rc = ::poll(&pfd, 1, static_cast<int>(std::clamp<int64_t>(left, 0, 1 << 30)));
  } while (rc < 0 && errno == EINTR);
  return rc > 0;
}

// ---- Plain TCP ----------------------------------------------------------------------------------

size_t PlainTransport::Read(char* buf, size_t size, Clock::time_point until, bool* timed_out) {
  *timed_out = false;
  if (!WaitUntil(fd_, POLLIN, until)) {
    *timed_out = true;
    return 0;
  }
  ssize_t n;
  do {
    n = ::recv(fd_, buf, size, 0);
  } while (n < 0 && errno == EINTR);
  return n > 0 ? static_cast<size_t>(n) : 0;
}

size_t PlainTransport::Write(const char* buf, size_t size, Clock::time_point until) {
  if (!WaitUntil(fd_, POLLOUT, until)) return 0;
  ssize_t n = ::send(fd_, buf, size, MSG_NOSIGNAL);
  return n > 0 ? static_cast<size_t>(n) : 0;
}

void PlainTransport::ShutdownWrite() { ::shutdown(fd_, SHUT_WR); }

// ---- TLS ----------------------------------------------------------------------------------------

Result<std::unique_ptr<TlsContext>> TlsContext::Create(const std::string& cert_file,
                                                       const std::string& key_file) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return Status::Internal("cannot create a TLS context");
  std::unique_ptr<TlsContext> context(new TlsContext(ctx));
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION);
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
    return Status::Internal("cannot require TLS 1.2 on the TLS context");
  }
  Status result;
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) {
    result = Status::InvalidArgument("the TLS certificate " + cert_file +
                                     " is unreadable or not a PEM certificate");
  } else if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    result = Status::InvalidArgument("the TLS key " + key_file + " is unreadable or not a PEM key");
  } else if (SSL_CTX_check_private_key(ctx) != 1) {
    result = Status::InvalidArgument("the TLS key " + key_file + " does not match the certificate " +
                                     cert_file);
  }
  ERR_clear_error();
  if (!result.ok()) return result;
  return context;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

TlsTransport::TlsTransport(const TlsContext& context, int fd) : fd_(fd) {
  int flags = ::fcntl(fd, F_GETFL, 0);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  ssl_ = SSL_new(context.get());
  if (ssl_ == nullptr) return;
  SSL_set_fd(ssl_, fd);
  // A write that could not finish is retried with the same bytes, possibly from another address.
  SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}

TlsTransport::~TlsTransport() {
  if (ssl_ != nullptr) SSL_free(ssl_);
  ERR_clear_error();
}

bool TlsTransport::WaitForRetry(int rc, Clock::time_point until, bool* timed_out) {
  int error = SSL_get_error(ssl_, rc);
  short events;
  if (error == SSL_ERROR_WANT_READ) {
    events = POLLIN;
  } else if (error == SSL_ERROR_WANT_WRITE) {
    events = POLLOUT;
  } else {
    ERR_clear_error();
    return false;
  }
  if (!WaitUntil(fd_, events, until)) {
    *timed_out = true;
    return false;
  }
  return true;
}

bool TlsTransport::Handshake(Clock::time_point until, bool* timed_out) {
  *timed_out = false;
  if (ssl_ == nullptr) return false;
  while (true) {
    ERR_clear_error();
    int rc = SSL_accept(ssl_);
    if (rc == 1) return true;
    if (!WaitForRetry(rc, until, timed_out)) return false;
  }
}

size_t TlsTransport::Read(char* buf, size_t size, Clock::time_point until, bool* timed_out) {
  *timed_out = false;
  int want = static_cast<int>(std::min<size_t>(size, 1 << 30));
  while (true) {
    ERR_clear_error();
    int rc = SSL_read(ssl_, buf, want);
    if (rc > 0) return static_cast<size_t>(rc);
    if (!WaitForRetry(rc, until, timed_out)) return 0;
  }
}

size_t TlsTransport::Write(const char* buf, size_t size, Clock::time_point until) {
  int want = static_cast<int>(std::min<size_t>(size, 1 << 30));
  bool timed_out = false;
  while (true) {
    ERR_clear_error();
    int rc = SSL_write(ssl_, buf, want);
    if (rc > 0) return static_cast<size_t>(rc);
    if (!WaitForRetry(rc, until, &timed_out)) return 0;
  }
}

bool TlsTransport::HasBuffered() const { return ssl_ != nullptr && SSL_pending(ssl_) > 0; }

void TlsTransport::ShutdownWrite() {
  if (ssl_ != nullptr && !shut_down_ && SSL_is_init_finished(ssl_)) {
    shut_down_ = true;
    ERR_clear_error();
    SSL_shutdown(ssl_);  // sends close_notify without waiting for the peer's
  }
  ::shutdown(fd_, SHUT_WR);
}

}  // namespace pathwise::server
