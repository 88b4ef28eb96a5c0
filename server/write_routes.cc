// Write endpoints: /v1/events, /v1/nodes, /v1/edges, /v1/vectors, /v1/batch, /v1/schema and
// the event-type table (/v1/admin/event-types).
#include <set>

#include "server/errors.h"
#include "server/json_fields.h"
#include "server/server_internal.h"
#include "server/write_ops.h"

namespace pathwise::server {
namespace {

constexpr char kSegment[] = "([^/]+)";

Result<EventTypeTable> LoadEventTypes(const Database& db) {
  PW_ASSIGN_OR_RETURN(nlohmann::json table, db.GetEventTypes());
  return EventTypesFromJson(table);
}

bool IsServerFault(const Status& status) { return HttpStatusFor(status) >= 500; }

Reply ApplyOne(Database* db, AnyWrite write) {
  WriteSet writes;
  AppendWrite(std::move(write), &writes);
  Status status = db->Apply(writes);
  if (!status.ok()) return ErrorReply(status);
  return JsonReply(200, {{"applied", 1}});
}

}  // namespace

void Server::Impl::CountOutcomes(const WriteSet& set) {
  for (const auto& op : set.ops) {
    if (const auto* o = std::get_if<OutcomeWrite>(&op)) {
      decider->CountOutcome(o->recommendation_id, o->type, o->item);
    }
  }
}

void Server::Impl::AddWriteRoutes() {
  Route("POST", "/v1/events", Role::kWrite, [this](const httplib::Request& req) {
    auto table = LoadEventTypes(*db);
    if (!table.ok()) return ErrorReply(table.status());
    std::vector<EventLine> lines = ParseEvents(req.body, *table);
    if (lines.empty()) return ErrorReply(Status::InvalidArgument("the request has no events"));
    std::vector<WriteSet> sets;
    std::vector<size_t> set_line;  // index into lines
    std::set<std::string> seen_ids;
    size_t duplicates = 0;  // repeated event ids within this request are duplicates too
    for (size_t i = 0; i < lines.size(); ++i) {
      if (!lines[i].status.ok()) continue;
      if (!seen_ids.insert(*lines[i].writes.unless_meta_exists).second) {
        ++duplicates;
        continue;
      }
      sets.push_back(std::move(lines[i].writes));
      set_line.push_back(i);
    }
    std::vector<WriteOutcome> outcomes;
    if (!sets.empty()) {
      WriteOptions write_options;
      write_options.sync = true;
      outcomes = db->ApplyMany(sets, write_options);
      if (outcomes.size() != sets.size()) {
        return ErrorReply(Status::Internal("ApplyMany returned a wrong number of outcomes"));
      }
    }
    size_t applied = 0, attributed = 0, unattributed = 0;
    for (size_t k = 0; k < outcomes.size(); ++k) {
      const WriteOutcome& outcome = outcomes[k];
      if (!outcome.status.ok()) {
        if (IsServerFault(outcome.status)) return ErrorReply(outcome.status);
        lines[set_line[k]].status = outcome.status;
      } else if (outcome.duplicate) {
        ++duplicates;
      } else {
        ++applied;
        attributed += outcome.attributed;
        unattributed += outcome.unattributed;
        if (outcome.attributed > 0) CountOutcomes(sets[k]);
      }
    }
    nlohmann::json errors = nlohmann::json::array();
    for (const EventLine& line : lines) {
      if (!line.status.ok()) {
        errors.push_back({{"line", line.line}, {"error", line.status.message()}});
      }
    }
    metrics.RecordEvents(applied, duplicates, errors.size());
    metrics.RecordOutcomes(attributed, unattributed);
    nlohmann::json body = {{"applied", applied}, {"duplicates", duplicates}, {"errors", errors}};
    if (attributed + unattributed > 0) {
      body["attributed"] = attributed;
      body["unattributed"] = unattributed;
    }
    if (applied + duplicates == 0) {
      std::string first = errors.empty() ? "" : errors[0]["error"].get<std::string>();
      nlohmann::json error = ErrorJson(Status::InvalidArgument(
          "every event was rejected (line " + errors[0]["line"].dump() + ": " + first + ")"));
      body.update(error);
      return JsonReply(400, body);
    }
    return JsonReply(200, body);
  });

  Route("GET", "/v1/admin/event-types", Role::kAdmin, [this](const httplib::Request&) {
    auto table = LoadEventTypes(*db);
    if (!table.ok()) return ErrorReply(table.status());
    return JsonReply(200, EventTypesToJson(*table));
  });

  Route("PUT", "/v1/admin/event-types", Role::kAdmin, [this](const httplib::Request& req) {
    auto body = ParseJsonObject(req.body);
    if (!body.ok()) return ErrorReply(body.status());
    auto table = EventTypesFromJson(*body);
    if (!table.ok()) return ErrorReply(table.status());
    nlohmann::json normalized = EventTypesToJson(*table);
    WriteSet writes;
    writes.ops.push_back(MetaWrite{std::string(Database::kEventTypesMetaKey), normalized.dump()});
    Status status = db->Apply(writes);
    if (!status.ok()) return ErrorReply(status);
    return JsonReply(200, normalized);
  });

  std::string node_path = std::string("/v1/nodes/") + kSegment + "/" + kSegment;
  Route("GET", node_path, Role::kRead, [this](const httplib::Request& req) {
    auto node = db->GetNode(req.matches[1].str(), req.matches[2].str());
    if (!node.ok()) return ErrorReply(node.status());
    return JsonReply(200, *node);
  });
  auto node_write = [this](NodeWrite::Op op) {
    return [this, op](const httplib::Request& req) {
      NodeWrite node;
      node.op = op;
      node.type = req.matches[1];
      node.id = req.matches[2];
      if (op != NodeWrite::Op::kDelete) {
        auto body = ParseJsonObject(req.body, /*allow_empty=*/true);
        if (!body.ok()) return ErrorReply(body.status());
        Status known = CheckKnownFields(*body, {"properties"});
        if (!known.ok()) return ErrorReply(known);
        auto props_it = body->find("properties");
        if (props_it != body->end()) {
          auto props = pathwise::PropertiesFromJson(*props_it, "properties");
          if (!props.ok()) return ErrorReply(props.status());
          node.props = std::move(props).value();
        }
      }
      WriteSet writes;
      writes.ops.push_back(std::move(node));
      Status status = db->Apply(writes);
      if (!status.ok()) return ErrorReply(status);
      if (op == NodeWrite::Op::kDelete) return JsonReply(200, {{"deleted", true}});
      auto stored = db->GetNode(req.matches[1].str(), req.matches[2].str());
      if (!stored.ok()) return ErrorReply(stored.status());
      return JsonReply(200, *stored);
    };
  };
  Route("PUT", node_path, Role::kWrite, node_write(NodeWrite::Op::kUpsert));
  Route("PATCH", node_path, Role::kWrite, node_write(NodeWrite::Op::kPatch));
  Route("DELETE", node_path, Role::kWrite, node_write(NodeWrite::Op::kDelete));

  auto edge_write = [this](EdgeWrite::Op op) {
    return [this, op](const httplib::Request& req) {
      auto body = ParseJsonObject(req.body);
      if (!body.ok()) return ErrorReply(body.status());
      Status known = CheckKnownFields(*body, {"type", "from", "to", "weight", "ts", "props"});
      if (!known.ok()) return ErrorReply(known);
      auto edge = EdgeFromJson(*body, op);
      if (!edge.ok()) return ErrorReply(edge.status());
      return ApplyOne(db, std::move(edge).value());
    };
  };
  Route("PUT", "/v1/edges", Role::kWrite, edge_write(EdgeWrite::Op::kPut));
  Route("DELETE", "/v1/edges", Role::kWrite, edge_write(EdgeWrite::Op::kDelete));

  std::string vector_path = std::string("/v1/vectors/") + kSegment + "/" + kSegment;
  Route("PUT", vector_path, Role::kWrite, [this](const httplib::Request& req) {
    auto body = ParseJsonObject(req.body);
    if (!body.ok()) return ErrorReply(body.status());
    if (Status known = CheckKnownFields(*body, {"values"}); !known.ok()) return ErrorReply(known);
    auto values_it = body->find("values");
    if (values_it == body->end()) {
      return ErrorReply(Status::InvalidArgument("field 'values' is required"));
    }
    auto values = FloatsFromJson(*values_it, "values");
    if (!values.ok()) return ErrorReply(values.status());
    VectorWrite vec;
    vec.space = req.matches[1];
    vec.id = req.matches[2];
    vec.values = std::move(values).value();
    return ApplyOne(db, std::move(vec));
  });
  Route("DELETE", vector_path, Role::kWrite, [this](const httplib::Request& req) {
    VectorWrite vec;
    vec.op = VectorWrite::Op::kDelete;
    vec.space = req.matches[1];
    vec.id = req.matches[2];
    return ApplyOne(db, std::move(vec));
  });

  Route("POST", "/v1/batch", Role::kWrite, [this](const httplib::Request& req) {
    WriteSet writes;
    nlohmann::json errors = nlohmann::json::array();
    for (const auto& [line_number, text] : SplitLines(req.body)) {
      auto obj = ParseJson(text, "the line");
      if (!obj.ok()) {
        errors.push_back({{"line", line_number}, {"error", obj.status().message()}});
        continue;
      }
      auto write = BatchLineFromJson(*obj);
      if (!write.ok()) {
        errors.push_back({{"line", line_number}, {"error", write.status().message()}});
        continue;
      }
      AppendWrite(std::move(write).value(), &writes);
    }
    if (!errors.empty()) {
      nlohmann::json body = ErrorJson(Status::InvalidArgument(
          std::to_string(errors.size()) + " invalid line(s); nothing was applied (first: line " +
          errors[0]["line"].dump() + ": " + errors[0]["error"].get<std::string>() + ")"));
      body["errors"] = errors;
      return JsonReply(400, body);
    }
    if (writes.ops.empty()) return ErrorReply(Status::InvalidArgument("the batch has no lines"));
    size_t count = writes.ops.size();
    Status status = db->Apply(writes);
    if (!status.ok()) return ErrorReply(status);
    return JsonReply(200, {{"applied", count}});
  });

  Route("GET", "/v1/schema", Role::kRead, [this](const httplib::Request&) {
    nlohmann::json schema = nlohmann::json::parse(db->SchemaJson(), nullptr, false);
    if (schema.is_discarded()) return ErrorReply(Status::Internal("schema JSON is malformed"));
    return JsonReply(200, schema);
  });
  Route("POST", "/v1/schema", Role::kAdmin, [this](const httplib::Request& req) {
    auto body = ParseJsonObject(req.body);
    if (!body.ok()) return ErrorReply(body.status());
    Status status = db->MergeSchema(req.body);
    if (!status.ok()) return ErrorReply(status);
    nlohmann::json schema = nlohmann::json::parse(db->SchemaJson(), nullptr, false);
    return JsonReply(200, schema);
  });
}

}  // namespace pathwise::server
