// server/: the one mapping from Status to an HTTP status code and the one error body shape
//   {"error": {"code": "invalid_argument", "message": "...", "line": 2, "column": 7}}
// ("line"/"column" only when the status knows a position).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "storage/status.h"

namespace pathwise::server {

// ResourceExhausted means "a size limit was hit" (413) unless it was made by TooManyRequests()
// (429: the concurrent-query limit).
Status TooManyRequests(std::string msg);

// InvalidArgument that maps to 415 (a request body in a media type the server does not read).
Status UnsupportedMediaType(std::string msg);

// The HTTP status for a non-OK Status: 400 invalid_argument/syntax_error, 401, 403, 404, 408,
// 409, 413/415/429, 503, and 500 only for internal, io_error and corruption.
int HttpStatusFor(const Status& status);

// {"error": {...}} for a non-OK Status.
nlohmann::json ErrorJson(const Status& status);

}  // namespace pathwise::server
