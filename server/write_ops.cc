#include "server/write_ops.h"

#include "server/json_fields.h"

namespace pathwise::server {

Result<EdgeWrite> EdgeFromJson(const nlohmann::json& obj, EdgeWrite::Op op) {
  if (!obj.is_object()) return Status::InvalidArgument("an edge must be a JSON object");
  if (obj.contains("edge") || obj.contains("op")) {
    return Status::InvalidArgument("an edge names its type in field 'type' (and has no 'op')");
  }
  // The catalog endpoint's edge shape names the type "type"; the record parser reads "edge".
  if (!obj.contains("type")) return Status::InvalidArgument("field 'type' is required");
  nlohmann::json as_record = obj;
  as_record["edge"] = as_record["type"];
  as_record.erase("type");
  PW_ASSIGN_OR_RETURN(Record record, RecordFromJson(as_record));
  EdgeWrite edge = std::get<EdgeWrite>(std::move(record));
  edge.op = op;
  return edge;
}

void AppendWrite(AnyWrite write, WriteSet* set) {
  std::visit([set](auto&& w) { set->ops.emplace_back(std::move(w)); }, std::move(write));
}

Result<AnyWrite> BatchLineFromJson(const nlohmann::json& obj) {
  if (obj.is_object() && obj.contains("schema")) {
    return Status::InvalidArgument("schema lines are not allowed in a batch; use POST /v1/schema");
  }
  // The loader's parser: a batch accepts and rejects exactly the lines a load does.
  PW_ASSIGN_OR_RETURN(Record record, RecordFromJson(obj));
  return std::visit([](auto&& w) { return AnyWrite(std::move(w)); }, std::move(record));
}

Result<EventTypeTable> EventTypesFromJson(const nlohmann::json& obj) {
  if (!obj.is_object()) {
    return Status::InvalidArgument("event types must be an object: {type: {edge, ...}}");
  }
  EventTypeTable table;
  for (const auto& [name, def] : obj.items()) {
    if (!def.is_object()) {
      return Status::InvalidArgument("event type '" + name + "' must be an object");
    }
    EventType type;
    auto edge = RequiredString(def, "edge");
    if (!edge.ok()) return Status::InvalidArgument("event type '" + name + "': " + edge.status().message());
    type.edge = *edge;
    PW_ASSIGN_OR_RETURN(auto user_type, OptionalString(def, "user_type"));
    PW_ASSIGN_OR_RETURN(auto item_type, OptionalString(def, "item_type"));
    PW_ASSIGN_OR_RETURN(auto weight, OptionalNumber(def, "weight"));
    if (user_type) type.user_type = *user_type;
    if (item_type) type.item_type = *item_type;
    if (weight) type.weight = *weight;
    table.emplace(name, std::move(type));
  }
  return table;
}

nlohmann::json EventTypesToJson(const EventTypeTable& table) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, type] : table) {
    out[name] = {{"edge", type.edge},
                 {"user_type", type.user_type},
                 {"item_type", type.item_type},
                 {"weight", type.weight}};
  }
  return out;
}

std::vector<std::pair<size_t, std::string_view>> SplitLines(std::string_view body) {
  std::vector<std::pair<size_t, std::string_view>> lines;
  size_t line_number = 0;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find('\n', pos);
    if (end == std::string_view::npos) end = body.size();
    ++line_number;
    std::string_view text = body.substr(pos, end - pos);
    if (text.find_first_not_of(" \t\r") != std::string_view::npos) {
      lines.emplace_back(line_number, text);
    }
    pos = end + 1;
  }
  return lines;
}

namespace {

constexpr const char* kEventFields[] = {"event_id", "user",  "item",
                                        "type",     "ts",    "weight",
                                        "props",    "recommendation_id", "segment"};

Status CheckEventFields(const nlohmann::json& event) {
  for (const auto& [key, value] : event.items()) {
    bool known = false;
    for (const char* f : kEventFields) known |= key == f;
    if (!known) return Status::InvalidArgument("unknown field '" + key + "' in an event");
  }
  return Status::OK();
}

// ts in milliseconds; JSON integers beyond int64 are refused, not wrapped.
Result<std::optional<int64_t>> EventTs(const nlohmann::json& event) {
  auto it = event.find("ts");
  if (it == event.end()) return std::optional<int64_t>();
  bool in_range = it->is_number_unsigned()
                      ? it->get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX)
                      : it->is_number_integer();
  if (!in_range) {
    return Status::InvalidArgument("field 'ts' must be an integer number of milliseconds within int64");
  }
  return std::optional<int64_t>(it->get<int64_t>());
}

Result<WriteSet> EventToWrites(const nlohmann::json& event, const EventTypeTable& table) {
  if (!event.is_object()) return Status::InvalidArgument("an event must be a JSON object");
  PW_RETURN_IF_ERROR(CheckEventFields(event));
  PW_ASSIGN_OR_RETURN(std::string event_id, RequiredId(event, "event_id"));
  if (event_id.size() > kMaxIdBytes) {
    return Status::InvalidArgument("field 'event_id' is " + std::to_string(event_id.size()) +
                                   " bytes; the limit is " + std::to_string(kMaxIdBytes));
  }
  PW_ASSIGN_OR_RETURN(std::string user, RequiredId(event, "user"));
  PW_ASSIGN_OR_RETURN(std::string item, RequiredId(event, "item"));
  PW_ASSIGN_OR_RETURN(std::string type_name, RequiredString(event, "type"));
  PW_ASSIGN_OR_RETURN(std::optional<int64_t> ts, EventTs(event));
  PW_ASSIGN_OR_RETURN(std::optional<double> weight, OptionalNumber(event, "weight"));
  std::string segment;
  if (auto it = event.find("segment"); it != event.end()) {
    PW_ASSIGN_OR_RETURN(segment, SegmentFromJson(*it, "field 'segment'"));
  }
  auto type = table.find(type_name);
  if (type == table.end()) {
    return Status::InvalidArgument("unknown event type '" + type_name +
                                   "' (configure it with PUT /v1/admin/event-types)");
  }
  EdgeWrite edge;
  edge.type = type->second.edge;
  edge.from = NodeRef{type->second.user_type, user, /*create_if_missing=*/true};
  edge.to = NodeRef{type->second.item_type, item, /*create_if_missing=*/false};
  edge.weight = weight.value_or(type->second.weight);
  edge.ts = ts;
  auto props = event.find("props");
  if (props != event.end()) {
    PW_ASSIGN_OR_RETURN(edge.props, pathwise::PropertiesFromJson(*props, "props"));
  }
  EventWrite logged{event_id, type_name, user, item, ts, *edge.weight, std::string(),
                    std::move(segment)};
  auto rec = event.find("recommendation_id");
  if (rec != event.end() && !rec->is_null()) {
    if (!rec->is_string()) return Status::InvalidArgument("field 'recommendation_id' must be a string");
    logged.recommendation_id = rec->get<std::string>();
    Status valid = ValidateRecommendationId(logged.recommendation_id);
    if (!valid.ok()) return Status::InvalidArgument("field 'recommendation_id': " + valid.message());
  }
  // The edge, the outcome (its ts is the edge's: the same instant, now when the event has none),
  // the log entry and the dedupe key, in one atomic set.
  return EventWriteSet(std::move(edge), std::move(logged));
}

EventLine MakeLine(size_t line, const nlohmann::json& event, const EventTypeTable& table) {
  EventLine out;
  out.line = line;
  auto writes = EventToWrites(event, table);
  if (writes.ok()) {
    out.writes = std::move(writes).value();
  } else {
    out.status = writes.status();
  }
  return out;
}

}  // namespace

std::vector<EventLine> ParseEvents(std::string_view body, const EventTypeTable& table) {
  std::vector<EventLine> lines;
  size_t first = body.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && body[first] == '[') {
    auto array = ParseJson(body, "events body");
    if (array.ok() && array->is_array()) {
      for (size_t i = 0; i < array->size(); ++i) {
        lines.push_back(MakeLine(i + 1, (*array)[i], table));
      }
      return lines;
    }
    EventLine bad;
    bad.line = 1;
    bad.status = array.ok() ? Status::InvalidArgument(
                                  "the body starts with '[' but is not a valid JSON array")
                            : array.status();
    lines.push_back(std::move(bad));
    return lines;
  }
  for (const auto& [line_number, text] : SplitLines(body)) {
    auto event = ParseJson(text, "line " + std::to_string(line_number));
    if (!event.ok()) {
      EventLine bad;
      bad.line = line_number;
      bad.status = event.status();
      lines.push_back(std::move(bad));
      continue;
    }
    lines.push_back(MakeLine(line_number, *event, table));
  }
  return lines;
}

}  // namespace pathwise::server
