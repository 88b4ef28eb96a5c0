// Internal to query/: the values a PQL expression produces at execution time.
//
// A superset of storage's property Value: besides null, bool, int64, double, string and lists it
// holds maps (string keys, sorted, unique), dates, datetimes, durations, graph references (a node, an edge with its
// weight/count/timestamp) and embedding vectors. Lists, maps and vectors are shared immutable
// buffers, so copying a value never copies their elements.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "storage/schema.h"

namespace pathwise::graph {
class Graph;
}
namespace pathwise::storage {
class Store;
}

namespace pathwise::query {

struct RtValue;
using RtList = std::vector<RtValue>;
using RtListPtr = std::shared_ptr<const RtList>;
// A map's entries sorted by key, keys unique (build it with MakeMap).
using RtMap = std::vector<std::pair<std::string, RtValue>>;
using RtMapPtr = std::shared_ptr<const RtMap>;

// A node reference.
struct NodeVal {
  NodeId id = kInvalidNode;
};

// An edge as stored: src -[type]-> dst (regardless of the direction it was traversed in).
struct EdgeVal {
  NodeId src = kInvalidNode;
  NodeId dst = kInvalidNode;
  TypeId type = kInvalidType;
  uint32_t count = 0;
  float weight = 0;
  int64_t ts = 0;
};

// A date, a datetime or a duration (query/temporal.h). Date: days since 1970-01-01. Datetime: UTC
// milliseconds since the epoch. Duration: months, days and milliseconds, each signed (Cypher's
// split: a month or a day has no fixed length).
struct TemporalVal {
  enum class Kind : uint8_t { kDate, kDateTime, kDuration };
  Kind kind = Kind::kDate;
  int64_t months = 0;  // duration
  int64_t days = 0;    // date, duration
  int64_t millis = 0;  // datetime, duration
};

// An embedding. space is the vector space it came from (-1 for a parameter vector).
struct VectorVal {
  std::shared_ptr<const std::vector<float>> values;
  int space = -1;
};

struct RtValue {
  std::variant<std::monostate, bool, int64_t, double, std::string, RtListPtr, NodeVal, EdgeVal,
               VectorVal, RtMapPtr, TemporalVal>
      v;

  RtValue() = default;
  RtValue(bool b) : v(b) {}  // NOLINT: implicit by design, like the variant alternatives
  RtValue(int64_t i) : v(i) {}  // NOLINT
  RtValue(double d) : v(d) {}   // NOLINT
  RtValue(std::string s) : v(std::move(s)) {}  // NOLINT
  RtValue(RtListPtr l) : v(std::move(l)) {}    // NOLINT
  RtValue(NodeVal n) : v(n) {}                 // NOLINT
  RtValue(EdgeVal e) : v(e) {}                 // NOLINT
  RtValue(VectorVal x) : v(std::move(x)) {}    // NOLINT
  RtValue(RtMapPtr m) : v(std::move(m)) {}     // NOLINT
  RtValue(TemporalVal t) : v(t) {}             // NOLINT

  bool IsNull() const { return v.index() == 0; }
  bool IsBool() const { return v.index() == 1; }
  bool IsInt() const { return v.index() == 2; }
  bool IsDouble() const { return v.index() == 3; }
  bool IsNumber() const { return IsInt() || IsDouble(); }
  bool IsString() const { return v.index() == 4; }
  bool IsList() const { return v.index() == 5; }
  bool IsNode() const { return v.index() == 6; }
  bool IsEdge() const { return v.index() == 7; }
  bool IsVector() const { return v.index() == 8; }
  bool IsMap() const { return v.index() == 9; }
  bool IsTemporal() const { return v.index() == 10; }

  bool AsBool() const { return std::get<bool>(v); }
  int64_t AsInt() const { return std::get<int64_t>(v); }
  // REQUIRES: IsNumber().
  double AsDouble() const { return IsInt() ? static_cast<double>(AsInt()) : std::get<double>(v); }
  const std::string& AsString() const { return std::get<std::string>(v); }
  const RtList& AsList() const { return *std::get<RtListPtr>(v); }
  NodeId AsNode() const { return std::get<NodeVal>(v).id; }
  const EdgeVal& AsEdge() const { return std::get<EdgeVal>(v); }
  const VectorVal& AsVector() const { return std::get<VectorVal>(v); }
  const RtMap& AsMap() const { return *std::get<RtMapPtr>(v); }
  const TemporalVal& AsTemporal() const { return std::get<TemporalVal>(v); }
};

RtValue MakeList(RtList items);
// A map of the entries; of entries with equal keys the last one is kept.
RtValue MakeMap(RtMap entries);
// The value of key in map, null when absent.
RtValue MapGet(const RtMap& map, std::string_view key);
// Converts a stored property value (string lists become lists of strings).
RtValue FromProperty(Value value);

// Three-valued comparison result of Compare: kNull when either side is null or the two are not
// comparable (a string and a number).
enum class Cmp : uint8_t { kLess, kEqual, kGreater, kNull };
// Ordering comparison (numbers numerically, strings bytewise, bools false < true, lists
// element-wise, dates and datetimes in time order). Nodes, edges, maps and durations compare by
// equality only (kEqual or kNull); a date and a datetime are not comparable.
Cmp Compare(const RtValue& a, const RtValue& b);
// Cypher `=`: null if either side is null; false for values of different kinds (1 = 'a'); lists
// element-wise (null when an element comparison is null and no other element differs); maps
// equal when they have the same keys and their values are equal (the same null rule).
RtValue Equals(const RtValue& a, const RtValue& b);
// A total order for sorting (ORDER BY, DISTINCT keys): null last in ascending order; different
// kinds ordered by kind. Returns <0, 0, >0.
int TotalOrder(const RtValue& a, const RtValue& b);
// A stable string key used for grouping, DISTINCT and DIVERSIFY buckets (distinct values get
// distinct keys; 1 and 1.0 share a key).
void AppendKey(const RtValue& value, std::string* out);

// Approximate heap bytes a value owns beyond sizeof(RtValue): string payloads, list elements
// (shared lists counted as if owned: an upper bound), vector payloads. For memory accounting.
size_t ApproxPayloadBytes(const RtValue& value);

// A vector view of a value: a VectorVal, or a list of numbers (parameters). Empty if neither.
std::vector<float> ToFloats(const RtValue& value);

// JSON rendering: nodes as {"type","id"}, edges as {"type","from","to","weight","ts","count"},
// maps as objects, dates, datetimes and durations as ISO 8601 strings, non-finite doubles as null. graph and schema may be null (nodes then render as {"node": id}).
nlohmann::json ToJson(const RtValue& value, const graph::Graph* graph, const Schema* schema);
// A result cell of a match query: like ToJson, but a node (also inside a list, such as a path)
// is {"id", "type", "properties"} with all its properties, and an edge adds "properties", its
// stored properties read from store (empty when store is null).
nlohmann::json ResultJson(const RtValue& value, const graph::Graph* graph, const Schema* schema,
                          const storage::Store* store = nullptr);
// Parameter values: null, bool, integers, numbers, strings, arrays (lists) and objects (maps),
// nested (Limits::max_param_depth is checked before).
Result<RtValue> FromJson(const nlohmann::json& j);

}  // namespace pathwise::query
