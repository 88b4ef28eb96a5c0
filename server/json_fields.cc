#include "server/json_fields.h"

#include <algorithm>

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

// Builds the DOM like nlohmann's own parser, but refuses to open a container beyond the depth
// limit: returning false from a SAX event stops the parse at once.
class DepthLimitedBuilder {
 public:
  using json = nlohmann::json;
  explicit DepthLimitedBuilder(json& result) : dom_(result, /*allow_exceptions=*/false) {}

  bool null() { return dom_.null(); }
  bool boolean(bool v) { return dom_.boolean(v); }
  bool number_integer(json::number_integer_t v) { return dom_.number_integer(v); }
  bool number_unsigned(json::number_unsigned_t v) { return dom_.number_unsigned(v); }
  bool number_float(json::number_float_t v, const json::string_t& s) {
    return dom_.number_float(v, s);
  }
  bool string(json::string_t& v) { return dom_.string(v); }
  bool binary(json::binary_t& v) { return dom_.binary(v); }
  bool start_object(size_t n) { return Enter() && dom_.start_object(n); }
  bool key(json::string_t& k) { return dom_.key(k); }
  bool end_object() { return Leave() && dom_.end_object(); }
  bool start_array(size_t n) { return Enter() && dom_.start_array(n); }
  bool end_array() { return Leave() && dom_.end_array(); }
  bool parse_error(size_t, const std::string&, const nlohmann::detail::exception& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 1, column 5: ...".
    error_ = e.what();
    if (size_t bracket = error_.find("] "); bracket != std::string::npos) {
      error_ = error_.substr(bracket + 2);
    }
    return false;
  }

  bool too_deep() const { return too_deep_; }
  const std::string& error() const { return error_; }

 private:
  bool Enter() {
    if (++depth_ > kMaxJsonDepth) {
      too_deep_ = true;
      return false;
    }
    return true;
  }
  bool Leave() {
    --depth_;
    return true;
  }

  nlohmann::detail::json_sax_dom_parser<json> dom_;
  size_t depth_ = 0;
  bool too_deep_ = false;
  std::string error_;
};

}  // namespace

Result<nlohmann::json> ParseJson(std::string_view text, std::string_view what) {
  nlohmann::json result;
  DepthLimitedBuilder builder(result);
  bool ok = nlohmann::json::sax_parse(text, &builder, nlohmann::json::input_format_t::json,
                                      /*strict=*/true, /*ignore_comments=*/false);
  if (builder.too_deep()) {
    return Status::InvalidArgument(std::string(what) + " nests deeper than the limit of " +
                                   std::to_string(kMaxJsonDepth) + " levels of arrays and objects");
  }
  if (!ok) {
    const std::string& detail = builder.error();
    return Status::InvalidArgument(std::string(what) + " is not valid JSON" +
                                   (detail.empty() ? "" : " (" + detail + ")"));
  }
  return result;
}

Result<nlohmann::json> ParseJsonObject(std::string_view body, bool allow_empty) {
  size_t first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    if (allow_empty) return nlohmann::json::object();
    return Status::InvalidArgument("request body is empty; expected a JSON object");
  }
  PW_ASSIGN_OR_RETURN(nlohmann::json parsed, ParseJson(body));
  if (!parsed.is_object()) return Status::InvalidArgument("request body must be a JSON object");
  return parsed;
}

Status CheckKnownFields(const nlohmann::json& obj, std::initializer_list<std::string_view> known,
                        std::string_view context) {
  if (!obj.is_object()) return Status::OK();
  for (const auto& [name, value] : obj.items()) {
    if (std::find(known.begin(), known.end(), name) != known.end()) continue;
    std::string list;
    for (std::string_view k : known) list += (list.empty() ? "" : ", ") + std::string(k);
    return Status::InvalidArgument("unknown field '" + name + "'" +
                                   (context.empty() ? "" : " in " + std::string(context)) +
                                   "; known fields: " + list);
  }
  return Status::OK();
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
