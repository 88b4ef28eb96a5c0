#include "server/json_fields.h"

namespace pathwise::server {
namespace {

Status WrongType(std::string_view field, std::string_view expected) {
  return Status::InvalidArgument("field '" + std::string(field) + "' must be " +
                                 std::string(expected));
}

const nlohmann::json* Find(const nlohmann::json& obj, std::string_view field) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

}  // namespace

Result<nlohmann::json> ParseJsonObject(std::string_view body, bool allow_empty) {
  size_t first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    if (allow_empty) return nlohmann::json::object();
    return Status::InvalidArgument("request body is empty; expected a JSON object");
  }
  nlohmann::json parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return Status::InvalidArgument("request body is not valid JSON");
  if (!parsed.is_object()) return Status::InvalidArgument("request body must be a JSON object");
  return parsed;
}

Result<std::string> RequiredString(const nlohmann::json& obj, std::string_view field) {
  const nlohmann::json* v = Find(obj, field);
  if (v == nullptr) return Status::InvalidArgument("field '" + std::string(field) + "' is required");
  if (!v->is_string()) return WrongType(field, "a string");
  return v->get<std::string>();
}

Result<std::optional<std::string>> OptionalString(const nlohmann::json& obj,
                                                  std::string_view field) {
  const nlohmann::json* v = Find(obj, field);
  if (v == nullptr) return std::optional<std::string>();
  if (!v->is_string()) return WrongType(field, "a string");
  return std::optional<std::string>(v->get<std::string>());
}

Result<std::optional<int64_t>> OptionalInt(const nlohmann::json& obj, std::string_view field) {
  const nlohmann::json* v = Find(obj, field);
  if (v == nullptr) return std::optional<int64_t>();
  if (v->is_number_integer()) return std::optional<int64_t>(v->get<int64_t>());
  if (v->is_number_unsigned() && v->get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX)) {
    return std::optional<int64_t>(static_cast<int64_t>(v->get<uint64_t>()));
  }
  return WrongType(field, "an integer");
}

Result<std::optional<double>> OptionalNumber(const nlohmann::json& obj, std::string_view field) {
  const nlohmann::json* v = Find(obj, field);
  if (v == nullptr) return std::optional<double>();
  if (!v->is_number()) return WrongType(field, "a number");
  return std::optional<double>(v->get<double>());
}

Result<std::optional<bool>> OptionalBool(const nlohmann::json& obj, std::string_view field) {
  const nlohmann::json* v = Find(obj, field);
  if (v == nullptr) return std::optional<bool>();
  if (!v->is_boolean()) return WrongType(field, "a boolean");
  return std::optional<bool>(v->get<bool>());
}

Result<std::string> RequiredId(const nlohmann::json& obj, std::string_view field) {
  const nlohmann::json* v = Find(obj, field);
  if (v == nullptr) return Status::InvalidArgument("field '" + std::string(field) + "' is required");
  if (v->is_string()) {
    if (v->get_ref<const std::string&>().empty()) {
      return Status::InvalidArgument("field '" + std::string(field) + "' must not be empty");
    }
    return v->get<std::string>();
  }
  if (v->is_number_integer() || v->is_number_unsigned()) return v->dump();
  return WrongType(field, "a string or an integer");
}

Result<Properties> PropertiesFromJson(const nlohmann::json& obj, std::string_view field) {
  Properties props;
  if (obj.is_null()) return props;
  if (!obj.is_object()) return WrongType(field, "an object");
  for (const auto& [name, value] : obj.items()) {
    std::string where = std::string(field) + "." + name;
    if (value.is_null()) {
      props.emplace(name, std::monostate{});
    } else if (value.is_boolean()) {
      props.emplace(name, value.get<bool>());
    } else if (value.is_number_integer() || value.is_number_unsigned()) {
      if (value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
        return WrongType(where, "an integer within int64");
      }
      props.emplace(name, value.get<int64_t>());
    } else if (value.is_number_float()) {
      props.emplace(name, value.get<double>());
    } else if (value.is_string()) {
      props.emplace(name, value.get<std::string>());
    } else if (value.is_array()) {
      std::vector<std::string> list;
      for (const auto& element : value) {
        if (!element.is_string()) return WrongType(where, "a list of strings");
        list.push_back(element.get<std::string>());
      }
      props.emplace(name, std::move(list));
    } else {
      return WrongType(where, "null, a boolean, a number, a string or a list of strings");
    }
  }
  return props;
}

Result<std::vector<float>> FloatsFromJson(const nlohmann::json& arr, std::string_view field) {
  if (!arr.is_array()) return WrongType(field, "an array of numbers");
  std::vector<float> values;
  values.reserve(arr.size());
  for (const auto& element : arr) {
    if (!element.is_number()) return WrongType(field, "an array of numbers");
    values.push_back(element.get<float>());
  }
  return values;
}

}  // namespace pathwise::server
