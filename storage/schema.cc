// Schema: lookups, validated additions and the JSON form (see schema.h).
#include "storage/schema.h"

#include <cmath>

#include <nlohmann/json.hpp>

namespace pathwise {

namespace {

using Json = nlohmann::json;

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  auto alpha = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  if (!alpha(name[0])) return false;
  for (char c : name) {
    if (!alpha(c) && !(c >= '0' && c <= '9')) return false;
  }
  return true;
}

std::optional<ValueType> ParseValueType(std::string_view s) {
  if (s == "string") return ValueType::kString;
  if (s == "int") return ValueType::kInt;
  if (s == "double") return ValueType::kDouble;
  if (s == "bool") return ValueType::kBool;
  if (s == "string_list") return ValueType::kStringList;
  if (s == "any") return ValueType::kAny;
  return std::nullopt;
}

bool Matches(ValueType t, const Value& v) {
  switch (t) {
    case ValueType::kAny:
      return true;
    case ValueType::kString:
      return std::holds_alternative<std::string>(v);
    case ValueType::kInt:
      return std::holds_alternative<int64_t>(v);
    case ValueType::kDouble:
      return std::holds_alternative<double>(v) || std::holds_alternative<int64_t>(v);
    case ValueType::kBool:
      return std::holds_alternative<bool>(v);
    case ValueType::kStringList:
      return std::holds_alternative<std::vector<std::string>>(v);
  }
  return false;
}

// Reads an optional string field; InvalidArgument if present with another type.
Status OptString(const Json& obj, const char* field, std::string* out) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return Status::OK();
  if (!it->is_string())
    return Status::InvalidArgument(std::string("'") + field + "' must be a string");
  *out = it->get<std::string>();
  return Status::OK();
}

Status OptUint(const Json& obj, const char* field, uint32_t lo, uint32_t hi, uint32_t* out) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return Status::OK();
  if (!it->is_number_integer() || it->get<int64_t>() < lo || it->get<int64_t>() > hi) {
    return Status::InvalidArgument(std::string("'") + field + "' must be an integer in [" +
                                   std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  *out = static_cast<uint32_t>(it->get<int64_t>());
  return Status::OK();
}

// A space's "index": absent or null keeps *out; "hnsw" or "flat" otherwise.
Status OptIndexKind(const Json& space, const std::string& full_name, VectorIndexKind* out) {
  auto it = space.find("index");
  if (it == space.end() || it->is_null()) return Status::OK();
  const std::string value = it->is_string() ? it->get<std::string>() : it->dump();
  if (value == "hnsw" || value == "flat") {
    *out = value == "hnsw" ? VectorIndexKind::kHnsw : VectorIndexKind::kFlat;
    return Status::OK();
  }
  return Status::InvalidArgument("vector space '" + full_name + "' has unknown index '" + value +
                                 "' (hnsw or flat)");
}

Status MergeParsed(const Json& doc, Schema* schema) {
  if (!doc.is_object()) return Status::InvalidArgument("schema must be a JSON object");
  for (const auto& [key, _] : doc.items()) {
    if (key != "node_types" && key != "edge_types" && key != "vector_spaces") {
      return Status::InvalidArgument("unknown schema field '" + key + "'");
    }
  }
  auto list = [&](const char* name) -> Result<Json> {
    auto it = doc.find(name);
    if (it == doc.end() || it->is_null()) return Json::array();
    if (!it->is_array())
      return Status::InvalidArgument(std::string("'") + name + "' must be an array");
    return *it;
  };
  PW_ASSIGN_OR_RETURN(Json nodes, list("node_types"));
  for (const Json& n : nodes) {
    if (!n.is_object()) return Status::InvalidArgument("node type must be an object");
    NodeTypeDef def;
    for (const auto& [field, _] : n.items()) {
      if (field != "name" && field != "properties" && field != "label") {
        return Status::InvalidArgument("unknown node type field '" + field + "'");
      }
    }
    PW_RETURN_IF_ERROR(OptString(n, "name", &def.name));
    PW_RETURN_IF_ERROR(OptString(n, "label", &def.label));
    if (auto p = n.find("properties"); p != n.end() && !p->is_null()) {
      if (!p->is_object()) return Status::InvalidArgument("'properties' must be an object");
      for (const auto& [prop, type] : p->items()) {
        std::optional<ValueType> t;
        if (type.is_string()) t = ParseValueType(type.get<std::string>());
        if (!t) {
          return Status::InvalidArgument("property '" + prop + "' of node type '" + def.name +
                                         "' has an unknown type " + type.dump());
        }
        def.properties[prop] = *t;
      }
    }
    PW_RETURN_IF_ERROR(schema->AddNodeType(std::move(def)));
  }
  PW_ASSIGN_OR_RETURN(Json edges, list("edge_types"));
  for (const Json& e : edges) {
    if (!e.is_object()) return Status::InvalidArgument("edge type must be an object");
    EdgeTypeDef def;
    std::string mode = "replace";
    PW_RETURN_IF_ERROR(OptString(e, "name", &def.name));
    PW_RETURN_IF_ERROR(OptString(e, "mode", &mode));
    PW_RETURN_IF_ERROR(OptString(e, "from", &def.from_type));
    PW_RETURN_IF_ERROR(OptString(e, "to", &def.to_type));
    if (mode == "replace") {
      def.mode = EdgeMode::kReplace;
    } else if (mode == "accumulate") {
      def.mode = EdgeMode::kAccumulate;
    } else {
      return Status::InvalidArgument("edge type '" + def.name + "' has unknown mode '" + mode +
                                     "' (replace or accumulate)");
    }
    PW_RETURN_IF_ERROR(schema->AddEdgeType(std::move(def)));
  }
  PW_ASSIGN_OR_RETURN(Json spaces, list("vector_spaces"));
  for (const Json& s : spaces) {
    if (!s.is_object()) return Status::InvalidArgument("vector space must be an object");
    VectorSpaceDef def;
    std::string metric = "cosine";
    PW_RETURN_IF_ERROR(OptString(s, "node_type", &def.node_type));
    PW_RETURN_IF_ERROR(OptString(s, "name", &def.name));
    PW_RETURN_IF_ERROR(OptString(s, "metric", &metric));
    PW_RETURN_IF_ERROR(OptUint(s, "dim", 1, 65536, &def.dim));
    PW_RETURN_IF_ERROR(OptUint(s, "m", 2, 256, &def.m));
    PW_RETURN_IF_ERROR(OptUint(s, "ef_construction", 1, 100000, &def.ef_construction));
    PW_RETURN_IF_ERROR(OptUint(s, "ef_search", 1, 100000, &def.ef_search));
    // Without "index", a redeclaration keeps the space's index; a new space is hnsw.
    if (const VectorSpaceDef* existing = schema->FindSpace(def.node_type, def.name)) {
      def.index = existing->index;
    }
    PW_RETURN_IF_ERROR(OptIndexKind(s, def.FullName(), &def.index));
    if (metric == "cosine") {
      def.metric = Metric::kCosine;
    } else if (metric == "ip") {
      def.metric = Metric::kInnerProduct;
    } else if (metric == "l2") {
      def.metric = Metric::kL2;
    } else {
      return Status::InvalidArgument("vector space '" + def.FullName() + "' has unknown metric '" +
                                     metric + "' (cosine, ip or l2)");
    }
    PW_RETURN_IF_ERROR(schema->AddSpace(std::move(def)));
  }
  return Status::OK();
}

}  // namespace

const char* ValueTypeName(ValueType t) {
  switch (t) {
    case ValueType::kAny:
      return "any";
    case ValueType::kString:
      return "string";
    case ValueType::kInt:
      return "int";
    case ValueType::kDouble:
      return "double";
    case ValueType::kBool:
      return "bool";
    case ValueType::kStringList:
      return "string_list";
  }
  return "any";
}

const char* EdgeModeName(EdgeMode m) {
  return m == EdgeMode::kAccumulate ? "accumulate" : "replace";
}

const char* VectorIndexKindName(VectorIndexKind kind) {
  return kind == VectorIndexKind::kFlat ? "flat" : "hnsw";
}

const char* MetricName(Metric m) {
  switch (m) {
    case Metric::kCosine:
      return "cosine";
    case Metric::kInnerProduct:
      return "ip";
    case Metric::kL2:
      return "l2";
  }
  return "cosine";
}

Status ValidateExternalId(std::string_view id) {
  if (id.empty()) return Status::InvalidArgument("id must not be empty");
  if (id.size() > kMaxIdBytes) {
    return Status::InvalidArgument("id is " + std::to_string(id.size()) + " bytes; the limit is " +
                                   std::to_string(kMaxIdBytes));
  }
  const auto* s = reinterpret_cast<const unsigned char*>(id.data());
  size_t n = id.size();
  for (size_t i = 0; i < n;) {
    unsigned char c = s[i];
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return Status::InvalidArgument("id is not valid UTF-8 (bad lead byte at offset " +
                                     std::to_string(i) + ")");
    }
    if (i + len > n) return Status::InvalidArgument("id is not valid UTF-8 (truncated sequence)");
    for (size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) {
        return Status::InvalidArgument("id is not valid UTF-8 (bad continuation byte at offset " +
                                       std::to_string(i + k) + ")");
      }
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    static constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len]) return Status::InvalidArgument("id is not valid UTF-8 (overlong encoding)");
    if (cp >= 0xD800 && cp <= 0xDFFF) {
      return Status::InvalidArgument("id is not valid UTF-8 (surrogate code point)");
    }
    if (cp > 0x10FFFF) return Status::InvalidArgument("id is not valid UTF-8 (beyond U+10FFFF)");
    i += len;
  }
  return Status::OK();
}

const NodeTypeDef* Schema::FindNodeType(std::string_view name) const {
  for (const auto& t : node_types_) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

const NodeTypeDef* Schema::NodeType(TypeId id) const {
  return id < node_types_.size() ? &node_types_[id] : nullptr;
}

const EdgeTypeDef* Schema::FindEdgeType(std::string_view name) const {
  for (const auto& t : edge_types_) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

const EdgeTypeDef* Schema::EdgeType(TypeId id) const {
  return id < edge_types_.size() ? &edge_types_[id] : nullptr;
}

const VectorSpaceDef* Schema::FindSpace(std::string_view full_name) const {
  size_t dot = full_name.find('.');
  if (dot == std::string_view::npos) return nullptr;
  return FindSpace(full_name.substr(0, dot), full_name.substr(dot + 1));
}

const VectorSpaceDef* Schema::FindSpace(std::string_view node_type, std::string_view name) const {
  for (const auto& s : spaces_) {
    if (s.node_type == node_type && s.name == name) return &s;
  }
  return nullptr;
}

const VectorSpaceDef* Schema::Space(SpaceId id) const {
  return id < spaces_.size() ? &spaces_[id] : nullptr;
}

Status Schema::AddNodeType(NodeTypeDef def) {
  if (!ValidName(def.name)) {
    return Status::InvalidArgument("invalid node type name '" + def.name + "'");
  }
  for (const auto& [prop, _] : def.properties) {
    if (!ValidName(prop)) {
      return Status::InvalidArgument("invalid property name '" + prop + "' in node type '" +
                                     def.name + "'");
    }
  }
  if (!def.label.empty() && !ValidName(def.label)) {
    return Status::InvalidArgument("invalid label property name '" + def.label +
                                   "' in node type '" + def.name + "'");
  }
  for (auto& existing : node_types_) {
    if (existing.name != def.name) continue;
    for (const auto& [prop, type] : def.properties) {
      auto it = existing.properties.find(prop);
      if (it != existing.properties.end() && it->second != type) {
        return Status::InvalidArgument("property '" + def.name + "." + prop + "' is declared " +
                                       ValueTypeName(it->second) + "; cannot redeclare it as " +
                                       ValueTypeName(type));
      }
    }
    bool changed = false;
    for (const auto& [prop, type] : def.properties) {
      changed |= existing.properties.emplace(prop, type).second;
    }
    if (!def.label.empty() && def.label != existing.label) {
      existing.label = def.label;
      changed = true;
    }
    if (changed) ++version_;
    return Status::OK();
  }
  if (node_types_.size() >= kInvalidType) return Status::ResourceExhausted("too many node types");
  def.id = static_cast<TypeId>(node_types_.size());
  node_types_.push_back(std::move(def));
  ++version_;
  return Status::OK();
}

Status Schema::AddEdgeType(EdgeTypeDef def) {
  if (!ValidName(def.name)) {
    return Status::InvalidArgument("invalid edge type name '" + def.name + "'");
  }
  for (const std::string* end : {&def.from_type, &def.to_type}) {
    if (!end->empty() && FindNodeType(*end) == nullptr) {
      return Status::InvalidArgument("edge type '" + def.name + "' names unknown node type '" +
                                     *end + "'");
    }
  }
  if (const EdgeTypeDef* existing = FindEdgeType(def.name)) {
    if (existing->mode != def.mode) {
      return Status::InvalidArgument("edge type '" + def.name + "' has mode " +
                                     EdgeModeName(existing->mode) + "; cannot redeclare it as " +
                                     EdgeModeName(def.mode));
    }
    if (existing->from_type != def.from_type || existing->to_type != def.to_type) {
      return Status::InvalidArgument("edge type '" + def.name +
                                     "' cannot change its endpoint types");
    }
    return Status::OK();
  }
  if (edge_types_.size() >= kInvalidType) return Status::ResourceExhausted("too many edge types");
  def.id = static_cast<TypeId>(edge_types_.size());
  edge_types_.push_back(std::move(def));
  ++version_;
  return Status::OK();
}

Status Schema::AddSpace(VectorSpaceDef def) {
  if (!ValidName(def.name)) {
    return Status::InvalidArgument("invalid vector space name '" + def.name + "'");
  }
  if (FindNodeType(def.node_type) == nullptr) {
    return Status::InvalidArgument("vector space '" + def.FullName() +
                                   "' names unknown node type '" + def.node_type + "'");
  }
  if (def.dim == 0 || def.dim > 65536) {
    return Status::InvalidArgument("vector space '" + def.FullName() +
                                   "' needs a dim in [1, 65536]");
  }
  if (const VectorSpaceDef* existing = FindSpace(def.node_type, def.name)) {
    if (existing->dim != def.dim || existing->metric != def.metric ||
        existing->index != def.index) {
      return Status::InvalidArgument(
          "vector space '" + def.FullName() + "' is dim " + std::to_string(existing->dim) + " " +
          MetricName(existing->metric) + " " + VectorIndexKindName(existing->index) +
          "; cannot redeclare it as dim " + std::to_string(def.dim) + " " +
          MetricName(def.metric) + " " + VectorIndexKindName(def.index));
    }
    return Status::OK();
  }
  if (spaces_.size() >= UINT16_MAX) return Status::ResourceExhausted("too many vector spaces");
  def.id = static_cast<SpaceId>(spaces_.size());
  spaces_.push_back(std::move(def));
  ++version_;
  return Status::OK();
}

Status Schema::CheckProperties(const NodeTypeDef& type, const Properties& props) const {
  for (const auto& [name, value] : props) {
    if (name.empty() || name.size() > 256) {
      return Status::InvalidArgument("invalid property name '" + name + "'");
    }
    if (std::holds_alternative<std::monostate>(value)) continue;
    auto it = type.properties.find(name);
    if (it != type.properties.end() && !Matches(it->second, value)) {
      return Status::InvalidArgument("property '" + type.name + "." + name + "' must be " +
                                     ValueTypeName(it->second));
    }
    if (const auto* d = std::get_if<double>(&value); d && !std::isfinite(*d)) {
      return Status::InvalidArgument("property '" + type.name + "." + name + "' is not finite");
    }
  }
  return Status::OK();
}

std::string Schema::ToJson() const {
  Json doc = {{"node_types", Json::array()},
              {"edge_types", Json::array()},
              {"vector_spaces", Json::array()}};
  for (const auto& t : node_types_) {
    Json props = Json::object();
    for (const auto& [name, type] : t.properties) props[name] = ValueTypeName(type);
    Json type = {{"name", t.name}, {"properties", props}};
    if (!t.label.empty()) type["label"] = t.label;
    doc["node_types"].push_back(std::move(type));
  }
  for (const auto& t : edge_types_) {
    Json e = {{"name", t.name}, {"mode", EdgeModeName(t.mode)}};
    if (!t.from_type.empty()) e["from"] = t.from_type;
    if (!t.to_type.empty()) e["to"] = t.to_type;
    doc["edge_types"].push_back(e);
  }
  for (const auto& s : spaces_) {
    doc["vector_spaces"].push_back({{"node_type", s.node_type},
                                    {"name", s.name},
                                    {"dim", s.dim},
                                    {"metric", MetricName(s.metric)},
                                    {"m", s.m},
                                    {"ef_construction", s.ef_construction},
                                    {"ef_search", s.ef_search},
                                    {"index", VectorIndexKindName(s.index)}});
  }
  return doc.dump();
}

Status Schema::MergeJson(std::string_view json) {
  Json doc = Json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::InvalidArgument("schema is not valid JSON");
  Schema copy = *this;
  try {
    PW_RETURN_IF_ERROR(MergeParsed(doc, &copy));
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("bad schema: ") + e.what());
  }
  *this = std::move(copy);
  return Status::OK();
}

}  // namespace pathwise
