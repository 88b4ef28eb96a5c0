// server/: reading request JSON with errors that name the offending field. Nothing here throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "storage/schema.h"
#include "storage/status.h"

namespace pathwise::server {

// Parses a request body that must be a JSON object (an empty body is {} when allow_empty).
Result<nlohmann::json> ParseJsonObject(std::string_view body, bool allow_empty = false);

// Field readers over an object. Missing optional fields give nullopt; a present field of the
// wrong type is InvalidArgument "field 'x' must be a string" (context prefixes the name).
Result<std::string> RequiredString(const nlohmann::json& obj, std::string_view field);
Result<std::optional<std::string>> OptionalString(const nlohmann::json& obj, std::string_view field);
Result<std::optional<int64_t>> OptionalInt(const nlohmann::json& obj, std::string_view field);
Result<std::optional<double>> OptionalNumber(const nlohmann::json& obj, std::string_view field);
Result<std::optional<bool>> OptionalBool(const nlohmann::json& obj, std::string_view field);
// A string, or an integer written as its decimal form (ids such as user 42).
Result<std::string> RequiredId(const nlohmann::json& obj, std::string_view field);

// JSON object -> Properties: null, bool, integer, number, string or list of strings per value.
Result<Properties> PropertiesFromJson(const nlohmann::json& obj, std::string_view field);
// A JSON array of numbers -> floats.
Result<std::vector<float>> FloatsFromJson(const nlohmann::json& arr, std::string_view field);

}  // namespace pathwise::server
