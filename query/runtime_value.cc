#include "query/runtime_value.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <tuple>

#include "graph/graph.h"
#include "query/temporal.h"

namespace pathwise::query {

RtValue MakeList(RtList items) { return RtValue(std::make_shared<const RtList>(std::move(items))); }

RtValue MakeMap(RtMap entries) {
  std::stable_sort(entries.begin(), entries.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  RtMap out;
  out.reserve(entries.size());
  for (auto& entry : entries) {
    if (!out.empty() && out.back().first == entry.first) {
      out.back().second = std::move(entry.second);
    } else {
      out.push_back(std::move(entry));
    }
  }
  return RtValue(std::make_shared<const RtMap>(std::move(out)));
}

RtValue MapGet(const RtMap& map, std::string_view key) {
  auto it = std::lower_bound(map.begin(), map.end(), key,
                             [](const auto& entry, std::string_view k) { return entry.first < k; });
  return it != map.end() && it->first == key ? it->second : RtValue();
}

RtValue FromProperty(Value value) {
  switch (value.index()) {
    case 0: return RtValue();
    case 1: return RtValue(std::get<bool>(value));
    case 2: return RtValue(std::get<int64_t>(value));
    case 3: return RtValue(std::get<double>(value));
    case 4: return RtValue(std::move(std::get<std::string>(value)));
    default: {
      RtList items;
      for (auto& s : std::get<std::vector<std::string>>(value)) items.emplace_back(std::move(s));
      return MakeList(std::move(items));
    }
  }
}

namespace {

template <typename T>
Cmp Order(const T& a, const T& b) {
  if (a < b) return Cmp::kLess;
  if (b < a) return Cmp::kGreater;
  return Cmp::kEqual;
}

Cmp CompareNumbers(const RtValue& a, const RtValue& b) {
  if (a.IsInt() && b.IsInt()) return Order(a.AsInt(), b.AsInt());
  double x = a.AsDouble(), y = b.AsDouble();
  if (std::isnan(x) || std::isnan(y)) return Cmp::kNull;
  return Order(x, y);
}

bool SameEdge(const EdgeVal& a, const EdgeVal& b) {
  return a.src == b.src && a.dst == b.dst && a.type == b.type;
}

// Equal keys and equal values; null when a value comparison is null and nothing else differs.
RtValue MapEquals(const RtMap& x, const RtMap& y) {
  if (x.size() != y.size()) return RtValue(false);
  bool unknown = false;
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i].first != y[i].first) return RtValue(false);
    RtValue e = Equals(x[i].second, y[i].second);
    if (e.IsNull()) {
      unknown = true;
    } else if (!e.AsBool()) {
      return RtValue(false);
    }
  }
  return unknown ? RtValue() : RtValue(true);
}

// Dates with dates and datetimes with datetimes in time order; durations only by equality.
Cmp CompareTemporal(const TemporalVal& x, const TemporalVal& y) {
  if (x.kind != y.kind) return Cmp::kNull;
  if (x.kind == TemporalVal::Kind::kDate) return Order(x.days, y.days);
  if (x.kind == TemporalVal::Kind::kDateTime) return Order(x.millis, y.millis);
  bool same = x.months == y.months && x.days == y.days && x.millis == y.millis;
  return same ? Cmp::kEqual : Cmp::kNull;
}

}  // namespace

Cmp Compare(const RtValue& a, const RtValue& b) {
  if (a.IsNull() || b.IsNull()) return Cmp::kNull;
  if (a.IsNumber() && b.IsNumber()) return CompareNumbers(a, b);
  if (a.v.index() != b.v.index()) return Cmp::kNull;
  if (a.IsBool()) return Order(a.AsBool(), b.AsBool());
  if (a.IsString()) return Order(a.AsString(), b.AsString());
  if (a.IsNode()) return a.AsNode() == b.AsNode() ? Cmp::kEqual : Cmp::kNull;
  if (a.IsEdge()) return SameEdge(a.AsEdge(), b.AsEdge()) ? Cmp::kEqual : Cmp::kNull;
  if (a.IsMap()) {
    RtValue eq = Equals(a, b);
    return eq.IsBool() && eq.AsBool() ? Cmp::kEqual : Cmp::kNull;
  }
  if (a.IsTemporal()) return CompareTemporal(a.AsTemporal(), b.AsTemporal());
  if (a.IsList()) {
    const RtList& x = a.AsList();
    const RtList& y = b.AsList();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      Cmp c = Compare(x[i], y[i]);
      if (c != Cmp::kEqual) return c;
    }
    return Order(x.size(), y.size());
  }
  if (a.IsVector()) {
    const auto& x = *a.AsVector().values;
    const auto& y = *b.AsVector().values;
    return x == y ? Cmp::kEqual : Cmp::kNull;
  }
  return Cmp::kNull;
}

RtValue Equals(const RtValue& a, const RtValue& b) {
  if (a.IsNull() || b.IsNull()) return RtValue();
  if (a.IsNumber() && b.IsNumber()) {
    Cmp c = CompareNumbers(a, b);
    return c == Cmp::kNull ? RtValue(false) : RtValue(c == Cmp::kEqual);
  }
  if (a.v.index() != b.v.index()) return RtValue(false);
  if (a.IsList()) {
    const RtList& x = a.AsList();
    const RtList& y = b.AsList();
    if (x.size() != y.size()) return RtValue(false);
    bool unknown = false;
    for (size_t i = 0; i < x.size(); ++i) {
      RtValue e = Equals(x[i], y[i]);
      if (e.IsNull()) {
        unknown = true;
      } else if (!e.AsBool()) {
        return RtValue(false);
      }
    }
    return unknown ? RtValue() : RtValue(true);
  }
  if (a.IsMap()) return MapEquals(a.AsMap(), b.AsMap());
  if (a.IsNode()) return RtValue(a.AsNode() == b.AsNode());
  if (a.IsEdge()) return RtValue(SameEdge(a.AsEdge(), b.AsEdge()));
  return RtValue(Compare(a, b) == Cmp::kEqual);
}

namespace {

// Kind rank for the total order: numbers share one rank; null sorts last.
int KindRank(const RtValue& v) {
  switch (v.v.index()) {
    case 0: return 100;
    case 1: return 3;
    case 2:
    case 3: return 4;
    case 4: return 2;
    case 5: return 1;
    case 6: return 0;
    case 7: return 0;
    case 9: return -1;  // maps first, as in Cypher's ordering of kinds
    case 10: return 6;
    default: return 5;
  }
}

}  // namespace

namespace {

// Maps in the total order: entry by entry, keys before values; a prefix first.
int MapOrder(const RtMap& x, const RtMap& y) {
  for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
    if (x[i].first != y[i].first) return x[i].first < y[i].first ? -1 : 1;
    int c = TotalOrder(x[i].second, y[i].second);
    if (c != 0) return c;
  }
  return x.size() < y.size() ? -1 : (x.size() > y.size() ? 1 : 0);
}

}  // namespace

int TotalOrder(const RtValue& a, const RtValue& b) {
  int ra = KindRank(a), rb = KindRank(b);
  if (ra != rb) return ra < rb ? -1 : 1;
  if (a.IsNull()) return 0;
  if (a.IsNumber()) {
    double x = a.AsDouble(), y = b.AsDouble();
    if (a.IsInt() && b.IsInt()) return a.AsInt() < b.AsInt() ? -1 : (a.AsInt() > b.AsInt() ? 1 : 0);
    bool nx = std::isnan(x), ny = std::isnan(y);
    if (nx || ny) return nx == ny ? 0 : (nx ? 1 : -1);
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.IsNode() || a.IsEdge()) {
    NodeId x = a.IsNode() ? a.AsNode() : a.AsEdge().src;
    NodeId y = b.IsNode() ? b.AsNode() : b.AsEdge().src;
    if (x != y) return x < y ? -1 : 1;
    if (a.IsEdge() && b.IsEdge()) {
      const EdgeVal& e = a.AsEdge();
      const EdgeVal& f = b.AsEdge();
      if (e.type != f.type) return e.type < f.type ? -1 : 1;
      if (e.dst != f.dst) return e.dst < f.dst ? -1 : 1;
    }
    return a.v.index() == b.v.index() ? 0 : (a.IsNode() ? -1 : 1);
  }
  if (a.IsList()) {
    const RtList& x = a.AsList();
    const RtList& y = b.AsList();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      int c = TotalOrder(x[i], y[i]);
      if (c != 0) return c;
    }
    return x.size() < y.size() ? -1 : (x.size() > y.size() ? 1 : 0);
  }
  if (a.IsVector()) {
    const auto& x = *a.AsVector().values;
    const auto& y = *b.AsVector().values;
    return x < y ? -1 : (y < x ? 1 : 0);
  }
  if (a.IsMap()) return MapOrder(a.AsMap(), b.AsMap());
  if (a.IsTemporal()) {
    const TemporalVal& x = a.AsTemporal();
    const TemporalVal& y = b.AsTemporal();
    auto key = [](const TemporalVal& t) { return std::make_tuple(t.kind, t.months, t.days, t.millis); };
    return key(x) < key(y) ? -1 : (key(y) < key(x) ? 1 : 0);
  }
  Cmp c = Compare(a, b);
  return c == Cmp::kLess ? -1 : (c == Cmp::kGreater ? 1 : 0);
}

void AppendKey(const RtValue& value, std::string* out) {
  char tag = static_cast<char>('a' + value.v.index());
  if (value.IsInt()) tag = 'd';  // ints and doubles with equal values share a key
  out->push_back(tag);
  switch (value.v.index()) {
    case 0: break;
    case 1: out->push_back(value.AsBool() ? '1' : '0'); break;
    case 2:
    case 3: {
      double d = value.AsDouble();
      if (d == 0) d = 0;  // -0.0 and 0.0 share a key
      char buf[sizeof(double)];
      std::memcpy(buf, &d, sizeof d);
      out->append(buf, sizeof buf);
      break;
    }
    case 4:
      out->append(std::to_string(value.AsString().size()));
      out->push_back(':');
      out->append(value.AsString());
      break;
    case 5:
      out->append(std::to_string(value.AsList().size()));
      out->push_back('[');
      for (const RtValue& item : value.AsList()) AppendKey(item, out);
      break;
    case 6: out->append(std::to_string(value.AsNode())); break;
    case 7: {
      const EdgeVal& e = value.AsEdge();
      out->append(std::to_string(e.src) + "," + std::to_string(e.type) + "," + std::to_string(e.dst));
      break;
    }
    case 10: {
      const TemporalVal& t = value.AsTemporal();
      out->push_back(static_cast<char>('0' + static_cast<int>(t.kind)));
      out->append(std::to_string(t.months) + "," + std::to_string(t.days) + "," +
                  std::to_string(t.millis));
      break;
    }
    case 9:
      out->append(std::to_string(value.AsMap().size()));
      out->push_back('{');
      for (const auto& [key, item] : value.AsMap()) {
        AppendKey(RtValue(key), out);
        AppendKey(item, out);
      }
      break;
    default: {
      const auto& values = *value.AsVector().values;
      out->append(std::to_string(values.size()));
      out->push_back('[');
      out->append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
      break;
    }
  }
}

std::vector<float> ToFloats(const RtValue& value) {
  if (value.IsVector()) return *value.AsVector().values;
  std::vector<float> out;
  if (!value.IsList()) return out;
  out.reserve(value.AsList().size());
  for (const RtValue& item : value.AsList()) {
    if (!item.IsNumber()) return {};
    out.push_back(static_cast<float>(item.AsDouble()));
  }
  return out;
}

namespace {

nlohmann::json NodeJson(NodeId id, const graph::Graph* graph, const Schema* schema) {
  if (graph == nullptr || schema == nullptr) return {{"node", id}};
  const NodeTypeDef* type = schema->NodeType(graph->TypeOf(id));
  return {{"type", type ? type->name : std::string()}, {"id", graph->KeyOf(id)}};
}

}  // namespace

nlohmann::json ResultJson(const RtValue& value, const graph::Graph* graph, const Schema* schema,
                          const storage::Store* store) {
  if (value.IsList()) {
    nlohmann::json out = nlohmann::json::array();
    for (const RtValue& item : value.AsList()) {
      out.push_back(ResultJson(item, graph, schema, store));
    }
    return out;
  }
  if (value.IsMap()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [key, item] : value.AsMap()) out[key] = ResultJson(item, graph, schema, store);
    return out;
  }
  if (value.IsEdge()) {
    nlohmann::json out = ToJson(value, graph, schema);
    nlohmann::json properties = nlohmann::json::object();
    const EdgeVal& e = value.AsEdge();
    if (store != nullptr) {
      auto record = store->GetEdge(e.src, e.type, e.dst);
      if (record.ok()) {
        for (const auto& [name, v] : record->props) {
          properties[name] = ToJson(FromProperty(v), graph, schema);
        }
      }
    }
    out["properties"] = std::move(properties);
    return out;
  }
  if (!value.IsNode() || graph == nullptr || schema == nullptr) return ToJson(value, graph, schema);
  NodeId id = value.AsNode();
  const NodeTypeDef* type = schema->NodeType(graph->TypeOf(id));
  nlohmann::json properties = nlohmann::json::object();
  for (auto& [name, v] : graph->GetProperties(id)) {
    properties[name] = ToJson(FromProperty(std::move(v)), graph, schema);
  }
  return {{"id", graph->KeyOf(id)},
          {"type", type ? type->name : std::string()},
          {"properties", std::move(properties)}};
}

nlohmann::json ToJson(const RtValue& value, const graph::Graph* graph, const Schema* schema) {
  switch (value.v.index()) {
    case 0: return nullptr;
    case 1: return value.AsBool();
    case 2: return value.AsInt();
    case 3: {
      double d = std::get<double>(value.v);
      return std::isfinite(d) ? nlohmann::json(d) : nlohmann::json(nullptr);
    }
    case 4: return value.AsString();
    case 5: {
      nlohmann::json out = nlohmann::json::array();
      for (const RtValue& item : value.AsList()) out.push_back(ToJson(item, graph, schema));
      return out;
    }
    case 6: return NodeJson(value.AsNode(), graph, schema);
    case 7: {
      const EdgeVal& e = value.AsEdge();
      const EdgeTypeDef* type = schema ? schema->EdgeType(e.type) : nullptr;
      return {{"type", type ? type->name : std::string()},
              {"from", NodeJson(e.src, graph, schema)},
              {"to", NodeJson(e.dst, graph, schema)},
              {"weight", e.weight},
              {"ts", e.ts},
              {"count", e.count}};
    }
    case 9: {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& [key, item] : value.AsMap()) out[key] = ToJson(item, graph, schema);
      return out;
    }
    case 10: return TemporalText(value.AsTemporal());
    default: {
      nlohmann::json out = nlohmann::json::array();
      for (float f : *value.AsVector().values) out.push_back(f);
      return out;
    }
  }
}

Result<RtValue> FromJson(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null: return RtValue();
    case nlohmann::json::value_t::boolean: return RtValue(j.get<bool>());
    case nlohmann::json::value_t::number_integer: return RtValue(j.get<int64_t>());
    case nlohmann::json::value_t::number_unsigned: {
      uint64_t u = j.get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) return RtValue(static_cast<double>(u));
      return RtValue(static_cast<int64_t>(u));
    }
    case nlohmann::json::value_t::number_float: return RtValue(j.get<double>());
    case nlohmann::json::value_t::string: return RtValue(j.get<std::string>());
    case nlohmann::json::value_t::array: {
      RtList items;
      items.reserve(j.size());
      for (const auto& item : j) {
        PW_ASSIGN_OR_RETURN(RtValue v, FromJson(item));
        items.push_back(std::move(v));
      }
      return MakeList(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      RtMap entries;
      entries.reserve(j.size());
      for (const auto& [key, item] : j.items()) {
        PW_ASSIGN_OR_RETURN(RtValue v, FromJson(item));
        entries.emplace_back(key, std::move(v));
      }
      return MakeMap(std::move(entries));
    }
    default: return Status::InvalidArgument("parameter values must be JSON values, got binary data");
  }
}

size_t ApproxPayloadBytes(const RtValue& value) {
  if (value.IsString()) {
    size_t n = value.AsString().size();
    return n < 16 ? 0 : n + 1;  // short strings live inside the object
  }
  if (value.IsVector()) {
    const auto& values = value.AsVector().values;
    return values ? 32 + values->size() * sizeof(float) : 0;
  }
  if (value.IsMap()) {  // recursive: maps nest at most the expression depth
    size_t bytes = 32;
    for (const auto& [key, item] : value.AsMap()) {
      bytes += sizeof(RtMap::value_type) + key.size() + ApproxPayloadBytes(item);
    }
    return bytes;
  }
  if (!value.IsList()) return 0;
  // Lists nest at most Limits::max_param_depth (parameters) or the expression depth (literals);
  // an explicit stack keeps this iterative anyway.
  size_t bytes = 0;
  std::vector<const RtList*> stack = {&value.AsList()};
  while (!stack.empty()) {
    const RtList* list = stack.back();
    stack.pop_back();
    bytes += 32 + list->size() * sizeof(RtValue);
    for (const RtValue& item : *list) {
      if (item.IsList()) {
        stack.push_back(&item.AsList());
      } else {
        bytes += ApproxPayloadBytes(item);
      }
    }
  }
  return bytes;
}

}  // namespace pathwise::query
