#include "server/errors.h"

namespace pathwise::server {
namespace {
constexpr const char kTooManyPrefix[] = "too many requests: ";
constexpr const char kMediaTypePrefix[] = "unsupported media type: ";
}  // namespace

Status UnsupportedMediaType(std::string msg) {
  return Status::InvalidArgument(kMediaTypePrefix + msg);
}

Status TooManyRequests(std::string msg) { return Status::ResourceExhausted(kTooManyPrefix + msg); }

int HttpStatusFor(const Status& status) {
  using Code = Status::Code;
  switch (status.code()) {
    case Code::kOk: return 200;
    case Code::kNotFound: return 404;
    case Code::kInvalidArgument:
      return status.message().rfind(kMediaTypePrefix, 0) == 0 ? 415 : 400;
    case Code::kSyntaxError: return 400;
    case Code::kAlreadyExists: return 409;
    case Code::kDeadlineExceeded: return 408;
    case Code::kResourceExhausted:
      return status.message().rfind(kTooManyPrefix, 0) == 0 ? 429 : 413;
    case Code::kUnauthenticated: return 401;
    case Code::kPermissionDenied: return 403;
    case Code::kUnavailable: return 503;
    case Code::kCorruption:
    case Code::kIOError:
    case Code::kInternal: return 500;
  }
  return 500;
}

nlohmann::json ErrorJson(const Status& status) {
  nlohmann::json error = {{"code", status.CodeName()}, {"message", status.message()}};
  if (status.line() > 0) {
    error["line"] = status.line();
    error["column"] = status.column();
  }
  return {{"error", std::move(error)}};
}

}  // namespace pathwise::server
