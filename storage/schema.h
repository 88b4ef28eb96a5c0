// The data model's vocabulary: property values, dense ids and the schema (node types, edge types,
// vector spaces). Part of storage's public interface (storage/storage.h includes it).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "storage/status.h"

namespace pathwise {

// Dense internal node id. Every node gets one at creation; ids are never reused, so serving
// structures are arrays and bitsets indexed by NodeId.
using NodeId = uint32_t;
constexpr NodeId kInvalidNode = UINT32_MAX;
using TypeId = uint16_t;   // node type or edge type id (separate id spaces)
using SpaceId = uint16_t;  // vector space id
constexpr TypeId kInvalidType = UINT16_MAX;

// A property value: null, bool, int64, double, string or list of strings.
using Value = std::variant<std::monostate, bool, int64_t, double, std::string, std::vector<std::string>>;
// Properties of one node or edge, by name. Ordered so that encodings are deterministic.
using Properties = std::map<std::string, Value, std::less<>>;

enum class ValueType : uint8_t { kAny, kString, kInt, kDouble, kBool, kStringList };
enum class EdgeMode : uint8_t { kReplace, kAccumulate };
enum class Metric : uint8_t { kCosine, kInnerProduct, kL2 };

const char* ValueTypeName(ValueType t);  // "string", "int", "double", "bool", "string_list", "any"
const char* EdgeModeName(EdgeMode m);    // "replace", "accumulate"
const char* MetricName(Metric m);        // "cosine", "ip", "l2"

// Maximum length in bytes of an external node id; ids must also be non-empty valid UTF-8.
constexpr size_t kMaxIdBytes = 512;
// OK, or InvalidArgument naming the problem (empty, too long, not UTF-8).
Status ValidateExternalId(std::string_view id);

struct NodeTypeDef {
  TypeId id = kInvalidType;
  std::string name;
  // Declared properties and their types. Undeclared properties are allowed (type kAny);
  // a declared one must match its type (int is accepted where double is declared).
  std::map<std::string, ValueType, std::less<>> properties;
  // The property that names a node of this type for people (explanations show it as the node's
  // `label`, e.g. Movie.title); empty: the external id is the label. A later declaration with a
  // non-empty label replaces it.
  std::string label;
};

struct EdgeTypeDef {
  TypeId id = kInvalidType;
  std::string name;
  EdgeMode mode = EdgeMode::kReplace;
  // Optional endpoint node types; empty means any. When set, writes are checked against them.
  std::string from_type;
  std::string to_type;
};

// How a vector space is held in memory (the schema's "index" field).
//  - kHnsw: an HNSW graph (hnswlib): approximate k-NN, sub-linear search; every write
//    also repairs the graph (tens to hundreds of us per vector).
//  - kFlat: a contiguous array of the vectors, no graph: Get/Upsert/Remove O(dim), every
//    search an exact scan, O(size x dim): about 0.8 ms at 100k and 8-12 ms at 1M 64-d vectors
//    on one core of this machine (docs/benchmarks.md, "Flat user spaces"). For spaces read by
//    id far more than they are searched (users' taste vectors).
enum class VectorIndexKind : uint8_t { kHnsw, kFlat };

const char* VectorIndexKindName(VectorIndexKind kind);

struct VectorSpaceDef {
  SpaceId id = 0;
  std::string node_type;  // e.g. "Item"
  std::string name;       // e.g. "embedding"; the space is addressed as "Item.embedding"
  uint32_t dim = 0;
  Metric metric = Metric::kCosine;
  uint32_t m = 16;                 // HNSW graph degree
  uint32_t ef_construction = 200;  // HNSW build beam width
  uint32_t ef_search = 64;         // default search beam width (raised to k when smaller)
  VectorIndexKind index = VectorIndexKind::kHnsw;  // m / ef_* apply to kHnsw only
  std::string FullName() const { return node_type + "." + name; }
};

// The schema of one database. Ids are assigned in order of declaration and never change.
// A plain value type: copy it to read a consistent version while writers extend the original.
class Schema {
 public:
  const NodeTypeDef* FindNodeType(std::string_view name) const;
  const NodeTypeDef* NodeType(TypeId id) const;  // nullptr if unknown
  const EdgeTypeDef* FindEdgeType(std::string_view name) const;
  const EdgeTypeDef* EdgeType(TypeId id) const;
  // "Type.name" or (type, name).
  const VectorSpaceDef* FindSpace(std::string_view full_name) const;
  const VectorSpaceDef* FindSpace(std::string_view node_type, std::string_view name) const;
  const VectorSpaceDef* Space(SpaceId id) const;

  const std::vector<NodeTypeDef>& node_types() const { return node_types_; }
  const std::vector<EdgeTypeDef>& edge_types() const { return edge_types_; }
  const std::vector<VectorSpaceDef>& spaces() const { return spaces_; }

  // Adds or extends definitions. Re-declaring an identical definition is OK (idempotent);
  // adding properties to a node type is OK; changing an edge mode, a space's dim, metric or
  // index, or a declared property's type is InvalidArgument. Names: [A-Za-z_][A-Za-z0-9_]*.
  Status AddNodeType(NodeTypeDef def);
  Status AddEdgeType(EdgeTypeDef def);
  Status AddSpace(VectorSpaceDef def);

  // Checks a property map against a node type's declared property types.
  Status CheckProperties(const NodeTypeDef& type, const Properties& props) const;

  // JSON form, also the form accepted by the HTTP schema endpoint and NDJSON "schema" lines:
  // {"node_types":[{"name":"Item","properties":{"price":"double"}}],
  //  "edge_types":[{"name":"VIEWED","mode":"accumulate","from":"User","to":"Item"}],
  //  "vector_spaces":[{"node_type":"Item","name":"embedding","dim":128,"metric":"cosine",
  //                    "m":16,"ef_construction":200,"ef_search":64,"index":"hnsw"}]}
  // ("index": "hnsw" or "flat", see VectorIndexKind; absent: hnsw for a new space, the
  // existing index when a space is redeclared.)
  std::string ToJson() const;
  // Merges a JSON document of that form into this schema (all-or-nothing).
  Status MergeJson(std::string_view json);

  uint64_t version() const { return version_; }  // bumps on every change

 private:
  std::vector<NodeTypeDef> node_types_;
  std::vector<EdgeTypeDef> edge_types_;
  std::vector<VectorSpaceDef> spaces_;
  uint64_t version_ = 0;
};

}  // namespace pathwise
