// JSON <-> property values, and the JSON form of LoadReport.
#include <cmath>

#include "db/database_impl.h"

namespace pathwise {

using Json = nlohmann::json;

Result<Value> ValueFromJson(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null:
      return Value{};
    case Json::value_t::boolean:
      return Value{j.get<bool>()};
    case Json::value_t::number_integer:
      return Value{j.get<int64_t>()};
    case Json::value_t::number_unsigned: {
      uint64_t u = j.get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) {
        return Status::InvalidArgument("integers must be within int64");
      }
      return Value{static_cast<int64_t>(u)};
    }
    case Json::value_t::number_float: {
      double d = j.get<double>();
      if (!std::isfinite(d)) return Status::InvalidArgument("property values must be finite");
      return Value{d};
    }
    case Json::value_t::string:
      return Value{j.get<std::string>()};
    case Json::value_t::array: {
      std::vector<std::string> list;
      list.reserve(j.size());
      for (const auto& item : j) {
        if (!item.is_string()) {
          return Status::InvalidArgument("list property values must be lists of strings");
        }
        list.push_back(item.get<std::string>());
      }
      return Value{std::move(list)};
    }
    default:
      return Status::InvalidArgument("unsupported property value " + j.dump().substr(0, 80));
  }
}

Result<Properties> PropertiesFromJson(const Json& j, std::string_view field) {
  Properties props;
  if (j.is_null()) return props;
  if (!j.is_object()) {
    return Status::InvalidArgument("field '" + std::string(field) + "' must be a JSON object");
  }
  for (const auto& [name, value] : j.items()) {
    auto v = ValueFromJson(value);
    if (!v.ok()) {
      return Status::InvalidArgument("field '" + std::string(field) + "." + name + "': " +
                                     v.status().message());
    }
    props.emplace(name, std::move(v).value());
  }
  return props;
}

Json ValueToJson(const Value& v) {
  switch (v.index()) {
    case 1:
      return std::get<bool>(v);
    case 2:
      return std::get<int64_t>(v);
    case 3:
      return std::get<double>(v);
    case 4:
      return std::get<std::string>(v);
    case 5:
      return std::get<std::vector<std::string>>(v);
    default:
      return nullptr;
  }
}

Json PropertiesToJson(const Properties& props) {
  Json out = Json::object();
  for (const auto& [name, value] : props) out[name] = ValueToJson(value);
  return out;
}

Json LoadReport::ToJson() const {
  Json errs = Json::array();
  for (const auto& e : error_list) errs.push_back({{"line", e.line}, {"reason", e.reason}});
  Json times = {{"parse", phases.parse},   {"parse_wait", phases.parse_wait},
                {"writer_wait", phases.writer_wait}, {"stage", phases.stage},
                {"write", phases.write},   {"memory", phases.memory},
                {"vectors", phases.vectors}, {"ingest", phases.ingest},
                {"finish", phases.finish}};
  return {{"lines", lines},
          {"nodes", nodes},
          {"edges", edges},
          {"vectors", vectors},
          {"schema_lines", schema_lines},
          {"errors", errors},
          {"error_list", errs},
          {"seconds", seconds},
          {"dry_run", dry_run},
          {"cancelled", cancelled},
          {"mode", mode},
          {"chunks", chunks},
          {"max_chunk_seconds", max_chunk_seconds},
          {"longest_turn",
           {{"began_at_s", longest_turn.began_at},
            {"lines", longest_turn.lines},
            {"edge_lines", longest_turn.edge_lines},
            {"vector_lines", longest_turn.vector_lines},
            {"stage", longest_turn.phases.stage},
            {"write", longest_turn.phases.write},
            {"memory", longest_turn.phases.memory},
            {"vectors", longest_turn.phases.vectors}}},
          {"phases", times}};
}

}  // namespace pathwise
