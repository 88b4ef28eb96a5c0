// server/: reading request JSON with errors that name the offending field. Nothing here throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "storage/schema.h"
#include "storage/status.h"

namespace pathwise::server {

// The deepest nesting of arrays and objects accepted in any JSON the server reads (request
// bodies, query and recipe parameters, schemas, batch lines). {"a":[1]} has depth 2.
inline constexpr size_t kMaxJsonDepth = 64;

// The one JSON parser for client input: the depth limit is checked while parsing (the parser
// stops at the first value nested deeper than kMaxJsonDepth), so no input can exhaust the stack.
// Errors: InvalidArgument "<what> is not valid JSON (...)" or "<what> nests deeper than the limit
// of 64 levels".
Result<nlohmann::json> ParseJson(std::string_view text, std::string_view what = "request body");

// Parses a request body that must be a JSON object (an empty body is {} when allow_empty).
Result<nlohmann::json> ParseJsonObject(std::string_view body, bool allow_empty = false);

// InvalidArgument "unknown field 'x'<context>; known fields: a, b" when obj has a member not in
// known. context, if not empty, is appended as " in <context>".
Status CheckKnownFields(const nlohmann::json& obj, std::initializer_list<std::string_view> known,
                        std::string_view context = "");

// Field readers over an object. Missing optional fields give nullopt; a present field of the
// wrong type is InvalidArgument "field 'x' must be a string" (context prefixes the name).
Result<std::string> RequiredString(const nlohmann::json& obj, std::string_view field);
Result<std::optional<std::string>> OptionalString(const nlohmann::json& obj, std::string_view field);
Result<std::optional<int64_t>> OptionalInt(const nlohmann::json& obj, std::string_view field);
Result<std::optional<double>> OptionalNumber(const nlohmann::json& obj, std::string_view field);
Result<std::optional<bool>> OptionalBool(const nlohmann::json& obj, std::string_view field);
// A string, or an integer written as its decimal form (ids such as user 42).
Result<std::string> RequiredId(const nlohmann::json& obj, std::string_view field);

// Properties are read with pathwise::PropertiesFromJson (db/database.h), shared with the loader.
// A JSON array of numbers -> floats.
Result<std::vector<float>> FloatsFromJson(const nlohmann::json& arr, std::string_view field);

}  // namespace pathwise::server
