// The bulk format's node, edge and vector records (docs/data-format.md): one parser for the
// loader and for POST /v1/batch, so both accept and reject exactly the same lines.
#include <cstdint>
#include <initializer_list>

#include "db/database_impl.h"

namespace pathwise {

namespace {

using Json = nlohmann::json;

Status Invalid(const std::string& what) { return Status::InvalidArgument(what); }

// Every key of obj must be one of allowed.
Status OnlyFields(const Json& obj, const char* kind, std::initializer_list<const char*> allowed) {
  for (const auto& [key, value] : obj.items()) {
    bool known = false;
    for (const char* a : allowed) known |= key == a;
    if (!known) return Invalid("unknown field '" + key + "' in " + kind + " line");
  }
  return Status::OK();
}

Result<std::string> StringField(const Json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end()) return Invalid(std::string("field '") + name + "' is required");
  if (!it->is_string()) return Invalid(std::string("field '") + name + "' must be a string");
  return it->get<std::string>();
}

// An id is a string or an integer (written as its decimal text).
Result<std::string> IdValue(const Json& v, const std::string& where) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return v.dump();  // signed and unsigned integers
  return Invalid("field '" + where + "' must be a string or an integer id");
}

Result<NodeRef> RefField(const Json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end()) return Invalid(std::string("field '") + name + "' is required");
  if (!it->is_array() || it->size() != 2 || !(*it)[0].is_string()) {
    return Invalid(std::string("field '") + name + "' must be [node type, node id]");
  }
  PW_ASSIGN_OR_RETURN(std::string id, IdValue((*it)[1], std::string(name) + "[1]"));
  return NodeRef{(*it)[0].get<std::string>(), std::move(id), false};
}

Result<Properties> PropsField(const Json& obj) {
  auto it = obj.find("props");
  if (it == obj.end()) return Properties{};
  return PropertiesFromJson(*it);
}

Result<std::string> OpField(const Json& obj) {
  auto it = obj.find("op");
  if (it == obj.end()) return std::string();
  if (!it->is_string()) return Invalid("field 'op' must be a string");
  return it->get<std::string>();
}

Result<Record> NodeRecord(const Json& obj) {
  PW_RETURN_IF_ERROR(OnlyFields(obj, "a node", {"node", "id", "props", "op"}));
  NodeWrite w;
  PW_ASSIGN_OR_RETURN(w.type, StringField(obj, "node"));
  auto id = obj.find("id");
  if (id == obj.end()) return Invalid("field 'id' is required");
  PW_ASSIGN_OR_RETURN(w.id, IdValue(*id, "id"));
  PW_ASSIGN_OR_RETURN(w.props, PropsField(obj));
  PW_ASSIGN_OR_RETURN(std::string op, OpField(obj));
  if (op == "patch") {
    w.op = NodeWrite::Op::kPatch;
  } else if (op == "delete") {
    w.op = NodeWrite::Op::kDelete;
  } else if (!op.empty() && op != "upsert") {
    return Invalid("field 'op' of a node must be upsert, patch or delete");
  }
  return Record(std::move(w));
}

Result<Record> EdgeRecord(const Json& obj) {
  PW_RETURN_IF_ERROR(
      OnlyFields(obj, "an edge", {"edge", "from", "to", "weight", "ts", "props", "op"}));
  EdgeWrite w;
  PW_ASSIGN_OR_RETURN(w.type, StringField(obj, "edge"));
  PW_ASSIGN_OR_RETURN(w.from, RefField(obj, "from"));
  PW_ASSIGN_OR_RETURN(w.to, RefField(obj, "to"));
  PW_ASSIGN_OR_RETURN(w.props, PropsField(obj));
  if (auto it = obj.find("weight"); it != obj.end()) {
    if (!it->is_number()) return Invalid("field 'weight' must be a number");
    w.weight = it->get<double>();
  }
  if (auto it = obj.find("ts"); it != obj.end()) {
    bool in_range = it->is_number_unsigned()
                        ? it->get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX)
                        : it->is_number_integer();
    if (!in_range) {
      return Invalid("field 'ts' must be an integer number of milliseconds within int64");
    }
    w.ts = it->get<int64_t>();
  }
  PW_ASSIGN_OR_RETURN(std::string op, OpField(obj));
  if (op == "delete") {
    w.op = EdgeWrite::Op::kDelete;
  } else if (!op.empty() && op != "put") {
    return Invalid("field 'op' of an edge must be put or delete");
  }
  return Record(std::move(w));
}

Result<Record> VectorRecord(const Json& obj) {
  PW_RETURN_IF_ERROR(OnlyFields(obj, "a vector", {"vector", "id", "values", "op"}));
  VectorWrite w;
  PW_ASSIGN_OR_RETURN(w.space, StringField(obj, "vector"));
  auto id = obj.find("id");
  if (id == obj.end()) return Invalid("field 'id' is required");
  PW_ASSIGN_OR_RETURN(w.id, IdValue(*id, "id"));
  PW_ASSIGN_OR_RETURN(std::string op, OpField(obj));
  if (op == "delete") {
    w.op = VectorWrite::Op::kDelete;
    return Record(std::move(w));
  }
  if (!op.empty() && op != "put") return Invalid("field 'op' of a vector must be put or delete");
  auto values = obj.find("values");
  if (values == obj.end()) return Invalid("field 'values' is required");
  if (!values->is_array()) return Invalid("field 'values' must be an array of numbers");
  w.values.reserve(values->size());
  for (const auto& x : *values) {
    if (!x.is_number()) return Invalid("field 'values' must be an array of numbers");
    w.values.push_back(static_cast<float>(x.get<double>()));
  }
  return Record(std::move(w));
}

}  // namespace

Result<Record> RecordFromJson(const nlohmann::json& line) {
  if (!line.is_object()) return Invalid("a line must be a JSON object");
  const char* kind = nullptr;
  for (const char* key : {"node", "edge", "vector", "schema"}) {
    if (!line.contains(key)) continue;
    if (kind != nullptr) {
      return Invalid(std::string("a line must have exactly one of node, edge, vector, schema; "
                                 "this one has both '") +
                     kind + "' and '" + key + "'");
    }
    kind = key;
  }
  if (kind == nullptr) return Invalid("a line needs one of 'schema', 'node', 'edge', 'vector'");
  std::string k = kind;
  if (k == "node") return NodeRecord(line);
  if (k == "edge") return EdgeRecord(line);
  if (k == "vector") return VectorRecord(line);
  return Invalid("a schema line is not a node, edge or vector record");
}

}  // namespace pathwise
