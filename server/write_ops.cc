#include "server/write_ops.h"

#include "server/json_fields.h"

namespace pathwise::server {
namespace {

Result<NodeRef> EndpointFromJson(const nlohmann::json& obj, const char* field) {
  auto it = obj.find(field);
  if (it == obj.end() || !it->is_array() || it->size() != 2 || !(*it)[0].is_string() ||
      !((*it)[1].is_string() || (*it)[1].is_number_integer())) {
    return Status::InvalidArgument(std::string("field '") + field +
                                   "' must be [node type, node id]");
  }
  NodeRef ref;
  ref.type = (*it)[0].get<std::string>();
  ref.id = (*it)[1].is_string() ? (*it)[1].get<std::string>() : (*it)[1].dump();
  return ref;
}

Result<std::string> OpOf(const nlohmann::json& obj) {
  PW_ASSIGN_OR_RETURN(std::optional<std::string> op, OptionalString(obj, "op"));
  return op.value_or("");
}

}  // namespace

Result<EdgeWrite> EdgeFromJson(const nlohmann::json& obj, EdgeWrite::Op op) {
  if (!obj.is_object()) return Status::InvalidArgument("an edge must be a JSON object");
  EdgeWrite edge;
  edge.op = op;
  PW_ASSIGN_OR_RETURN(edge.type, RequiredString(obj, "type"));
  PW_ASSIGN_OR_RETURN(edge.from, EndpointFromJson(obj, "from"));
  PW_ASSIGN_OR_RETURN(edge.to, EndpointFromJson(obj, "to"));
  PW_ASSIGN_OR_RETURN(edge.weight, OptionalNumber(obj, "weight"));
  PW_ASSIGN_OR_RETURN(edge.ts, OptionalInt(obj, "ts"));
  auto props = obj.find("props");
  if (props != obj.end()) {
    PW_ASSIGN_OR_RETURN(edge.props, PropertiesFromJson(*props, "props"));
  }
  return edge;
}

Result<AnyWrite> BatchLineFromJson(const nlohmann::json& obj) {
  if (!obj.is_object()) return Status::InvalidArgument("a line must be a JSON object");
  // Exactly one of "node", "edge", "vector" (or "schema", which a batch cannot hold) names the
  // line's kind and its node type / edge type / space.
  std::string kind;
  for (const char* key : {"node", "edge", "vector", "schema"}) {
    if (obj.contains(key)) {
      if (!kind.empty()) {
        return Status::InvalidArgument("a line must have exactly one of node, edge, vector");
      }
      kind = key;
    }
  }
  if (kind.empty()) {
    return Status::InvalidArgument("a line must have one of the keys node, edge or vector");
  }
  if (kind == "schema") {
    return Status::InvalidArgument("schema lines are not allowed in a batch; use POST /v1/schema");
  }
  PW_ASSIGN_OR_RETURN(std::string op, OpOf(obj));
  if (kind == "node") {
    NodeWrite node;
    if (op.empty() || op == "upsert") {
      node.op = NodeWrite::Op::kUpsert;
    } else if (op == "patch") {
      node.op = NodeWrite::Op::kPatch;
    } else if (op == "delete") {
      node.op = NodeWrite::Op::kDelete;
    } else {
      return Status::InvalidArgument("field 'op' of a node must be upsert, patch or delete");
    }
    PW_ASSIGN_OR_RETURN(node.type, RequiredString(obj, "node"));
    PW_ASSIGN_OR_RETURN(node.id, RequiredId(obj, "id"));
    auto props = obj.find("props");
    if (props != obj.end()) {
      PW_ASSIGN_OR_RETURN(node.props, PropertiesFromJson(*props, "props"));
    }
    return AnyWrite(std::move(node));
  }
  if (kind == "edge") {
    if (!op.empty() && op != "put" && op != "delete") {
      return Status::InvalidArgument("field 'op' of an edge must be put or delete");
    }
    // The catalog endpoint's edge shape names the type "type"; a line names it "edge".
    nlohmann::json as_edge = obj;
    as_edge.erase("edge");
    as_edge["type"] = obj["edge"];
    PW_ASSIGN_OR_RETURN(EdgeWrite edge,
                        EdgeFromJson(as_edge, op == "delete" ? EdgeWrite::Op::kDelete
                                                             : EdgeWrite::Op::kPut));
    return AnyWrite(std::move(edge));
  }
  if (kind == "vector") {
    if (!op.empty() && op != "put" && op != "delete") {
      return Status::InvalidArgument("field 'op' of a vector must be put or delete");
    }
    VectorWrite vec;
    vec.op = op == "delete" ? VectorWrite::Op::kDelete : VectorWrite::Op::kPut;
    PW_ASSIGN_OR_RETURN(vec.space, RequiredString(obj, "vector"));
    PW_ASSIGN_OR_RETURN(vec.id, RequiredId(obj, "id"));
    if (vec.op == VectorWrite::Op::kPut) {
      auto values = obj.find("values");
      if (values == obj.end()) return Status::InvalidArgument("field 'values' is required");
      PW_ASSIGN_OR_RETURN(vec.values, FloatsFromJson(*values, "values"));
    }
    return AnyWrite(std::move(vec));
  }
  return Status::Internal("unreachable line kind");
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

Result<WriteSet> EventToWrites(const nlohmann::json& event, const EventTypeTable& table) {
  if (!event.is_object()) return Status::InvalidArgument("an event must be a JSON object");
  PW_ASSIGN_OR_RETURN(std::string event_id, RequiredId(event, "event_id"));
  PW_ASSIGN_OR_RETURN(std::string user, RequiredId(event, "user"));
  PW_ASSIGN_OR_RETURN(std::string item, RequiredId(event, "item"));
  PW_ASSIGN_OR_RETURN(std::string type_name, RequiredString(event, "type"));
  PW_ASSIGN_OR_RETURN(std::optional<int64_t> ts, OptionalInt(event, "ts"));
  PW_ASSIGN_OR_RETURN(std::optional<double> weight, OptionalNumber(event, "weight"));
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
    PW_ASSIGN_OR_RETURN(edge.props, PropertiesFromJson(*props, "props"));
  }
  WriteSet writes;
  writes.ops.push_back(std::move(edge));
  writes.unless_meta_exists = "event/" + event_id;
  return writes;
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
    nlohmann::json array = nlohmann::json::parse(body, nullptr, false);
    if (array.is_array()) {
      for (size_t i = 0; i < array.size(); ++i) lines.push_back(MakeLine(i + 1, array[i], table));
      return lines;
    }
    EventLine bad;
    bad.line = 1;
    bad.status = Status::InvalidArgument("the body starts with '[' but is not a valid JSON array");
    lines.push_back(std::move(bad));
    return lines;
  }
  for (const auto& [line_number, text] : SplitLines(body)) {
    nlohmann::json event = nlohmann::json::parse(text, nullptr, false);
    if (event.is_discarded()) {
      EventLine bad;
      bad.line = line_number;
      bad.status = Status::InvalidArgument("not valid JSON");
      lines.push_back(std::move(bad));
      continue;
    }
    lines.push_back(MakeLine(line_number, event, table));
  }
  return lines;
}

}  // namespace pathwise::server
