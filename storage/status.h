// Status, Result<T> and Deadline: the vocabulary every Pathwise layer speaks across module
// boundaries. Nothing in Pathwise throws across a folder's public header; errors travel as Status.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace pathwise {

class Status {
 public:
  enum class Code : uint8_t {
    kOk = 0,
    kNotFound,          // the named thing does not exist (HTTP 404)
    kInvalidArgument,   // the caller's input is wrong (HTTP 400)
    kSyntaxError,       // a query text does not parse; line()/column() say where (HTTP 400)
    kAlreadyExists,     // creating something that exists (HTTP 409)
    kDeadlineExceeded,  // a per-query deadline passed (HTTP 408)
    kResourceExhausted, // a configured limit was hit (HTTP 413/429)
    kUnauthenticated,   // no or unknown credentials (HTTP 401)
    kPermissionDenied,  // credentials lack the role (HTTP 403)
    kUnavailable,       // overloaded or shutting down (HTTP 503)
    kCorruption,        // stored data is damaged (HTTP 500)
    kIOError,           // the file system failed (HTTP 500)
    kInternal,          // a bug: an invariant did not hold (HTTP 500)
  };

  Status() = default;  // OK; success costs nothing.

  static Status OK() { return Status(); }
  static Status NotFound(std::string msg) { return Status(Code::kNotFound, std::move(msg)); }
  static Status InvalidArgument(std::string msg) {
    return Status(Code::kInvalidArgument, std::move(msg));
  }
  // A syntax error at a 1-based line and column of the query text.
  static Status SyntaxError(std::string msg, int line, int column) {
    Status s(Code::kSyntaxError, std::move(msg));
    s.line_ = line;
    s.column_ = column;
    return s;
  }
  static Status AlreadyExists(std::string msg) { return Status(Code::kAlreadyExists, std::move(msg)); }
  static Status DeadlineExceeded(std::string msg) {
    return Status(Code::kDeadlineExceeded, std::move(msg));
  }
  static Status ResourceExhausted(std::string msg) {
    return Status(Code::kResourceExhausted, std::move(msg));
  }
  static Status Unauthenticated(std::string msg) {
    return Status(Code::kUnauthenticated, std::move(msg));
  }
  static Status PermissionDenied(std::string msg) {
    return Status(Code::kPermissionDenied, std::move(msg));
  }
  static Status Unavailable(std::string msg) { return Status(Code::kUnavailable, std::move(msg)); }
  static Status Corruption(std::string msg) { return Status(Code::kCorruption, std::move(msg)); }
  static Status IOError(std::string msg) { return Status(Code::kIOError, std::move(msg)); }
  static Status Internal(std::string msg) { return Status(Code::kInternal, std::move(msg)); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // 1-based position for kSyntaxError (and for binder errors that know where); 0 when unknown.
  int line() const { return line_; }
  int column() const { return column_; }
  // The same status with "prefix: " before its message (names what failed in a batch).
  Status WithPrefix(const std::string& prefix) const {
    Status s = *this;
    s.message_ = prefix + ": " + message_;
    return s;
  }
  // Attaches a position to any status (binder errors point at the offending name).
  Status WithPosition(int line, int column) const {
    Status s = *this;
    s.line_ = line;
    s.column_ = column;
    return s;
  }

  // Stable lower-case name of the code, e.g. "invalid_argument"; used in error JSON.
  const char* CodeName() const;
  // "invalid_argument: message" (with " at line L, column C" when known).
  std::string ToString() const;

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}
  Code code_ = Code::kOk;
  std::string message_;
  int line_ = 0;
  int column_ = 0;
};

inline const char* Status::CodeName() const {
  switch (code_) {
    case Code::kOk: return "ok";
    case Code::kNotFound: return "not_found";
    case Code::kInvalidArgument: return "invalid_argument";
    case Code::kSyntaxError: return "syntax_error";
    case Code::kAlreadyExists: return "already_exists";
    case Code::kDeadlineExceeded: return "deadline_exceeded";
    case Code::kResourceExhausted: return "resource_exhausted";
    case Code::kUnauthenticated: return "unauthenticated";
    case Code::kPermissionDenied: return "permission_denied";
    case Code::kUnavailable: return "unavailable";
    case Code::kCorruption: return "corruption";
    case Code::kIOError: return "io_error";
    case Code::kInternal: return "internal";
  }
  return "internal";
}

inline std::string Status::ToString() const {
  if (ok()) return "ok";
  std::string s = std::string(CodeName()) + ": " + message_;
  if (line_ > 0) s += " at line " + std::to_string(line_) + ", column " + std::to_string(column_);
  return s;
}

// Result<T>: a T or a non-OK Status. REQUIRES for value(): ok().
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}             // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}      // NOLINT: REQUIRES !status.ok()
  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

#define PW_RETURN_IF_ERROR(expr)            \
  do {                                      \
    ::pathwise::Status _pw_s = (expr);      \
    if (!_pw_s.ok()) return _pw_s;          \
  } while (0)

#define PW_CONCAT_INNER(a, b) a##b
#define PW_CONCAT(a, b) PW_CONCAT_INNER(a, b)
#define PW_ASSIGN_OR_RETURN(lhs, expr) PW_ASSIGN_OR_RETURN_IMPL(PW_CONCAT(_pw_r_, __LINE__), lhs, expr)
#define PW_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()

// A per-query deadline. Checking it is one steady_clock read (~20 ns through the vDSO); long loops
// check it every few hundred iterations, so a deadline is honoured within microseconds.
class Deadline {
 public:
  using Clock = std::chrono::steady_clock;
  static Deadline Never() { return Deadline(Clock::time_point::max()); }
  static Deadline AfterMillis(int64_t ms) {
    return Deadline(Clock::now() + std::chrono::milliseconds(ms));
  }
  static Deadline At(Clock::time_point at) { return Deadline(at); }
  bool Expired() const { return at_ != Clock::time_point::max() && Clock::now() >= at_; }
  bool IsNever() const { return at_ == Clock::time_point::max(); }
  Clock::time_point at() const { return at_; }

 private:
  explicit Deadline(Clock::time_point at) : at_(at) {}
  Clock::time_point at_;
};

}  // namespace pathwise
