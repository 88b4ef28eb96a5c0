// Schema: JSON round trip, redeclaration rules, external id validation.
#include <doctest/doctest.h>

#include <string>

#include "storage/schema.h"

namespace pathwise {
namespace {

constexpr char kSchema[] = R"({
  "node_types": [{"name": "User", "properties": {"age": "int"}},
                 {"name": "Item", "properties": {"price": "double", "tags": "string_list"}}],
  "edge_types": [{"name": "VIEWED", "mode": "accumulate", "from": "User", "to": "Item"},
                 {"name": "SIMILAR"}],
  "vector_spaces": [{"node_type": "Item", "name": "embedding", "dim": 8, "metric": "ip",
                     "m": 12, "ef_construction": 100, "ef_search": 40}]})";

TEST_CASE("schema JSON round trip keeps every definition and id") {
  Schema schema;
  REQUIRE(schema.MergeJson(kSchema).ok());
  Schema copy;
  REQUIRE(copy.MergeJson(schema.ToJson()).ok());
  CHECK(copy.ToJson() == schema.ToJson());
  REQUIRE(copy.FindNodeType("Item") != nullptr);
  CHECK(copy.FindNodeType("Item")->id == 1);
  CHECK(copy.FindNodeType("Item")->properties.at("tags") == ValueType::kStringList);
  const EdgeTypeDef* viewed = copy.FindEdgeType("VIEWED");
  REQUIRE(viewed != nullptr);
  CHECK(viewed->mode == EdgeMode::kAccumulate);
  CHECK(viewed->from_type == "User");
  CHECK(viewed->to_type == "Item");
  CHECK(copy.FindEdgeType("SIMILAR")->mode == EdgeMode::kReplace);
  const VectorSpaceDef* space = copy.FindSpace("Item.embedding");
  REQUIRE(space != nullptr);
  CHECK(space->dim == 8);
  CHECK(space->metric == Metric::kInnerProduct);
  CHECK(space->m == 12);
  CHECK(space->ef_construction == 100);
  CHECK(space->ef_search == 40);
  CHECK(copy.Space(0) == space);
  CHECK(copy.FindSpace("Item", "embedding") == space);
  CHECK(copy.FindSpace("Item.nothing") == nullptr);
  CHECK(copy.NodeType(7) == nullptr);
}

TEST_CASE("schema redeclaration is idempotent but conflicting changes are rejected") {
  Schema schema;
  REQUIRE(schema.MergeJson(kSchema).ok());
  uint64_t version = schema.version();
  CHECK(schema.MergeJson(kSchema).ok());
  CHECK(schema.version() == version);

  Status s = schema.MergeJson(R"({"edge_types": [{"name": "VIEWED", "mode": "replace",
                                   "from": "User", "to": "Item"}]})");
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(s.message().find("VIEWED") != std::string::npos);
  s = schema.MergeJson(R"({"vector_spaces": [{"node_type": "Item", "name": "embedding",
                            "dim": 16, "metric": "ip"}]})");
  CHECK(s.code() == Status::Code::kInvalidArgument);
  s = schema.MergeJson(R"({"node_types": [{"name": "User", "properties": {"age": "string"}}]})");
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(schema.version() == version);

  // All-or-nothing: a valid addition next to a conflict is not applied either.
  s = schema.MergeJson(R"({"node_types": [{"name": "Shop"}, {"name": "User",
                            "properties": {"age": "bool"}}]})");
  CHECK(!s.ok());
  CHECK(schema.FindNodeType("Shop") == nullptr);

  // Extending a node type with a new property is fine.
  CHECK(schema.MergeJson(R"({"node_types": [{"name": "User", "properties": {"name": "string"}}]})")
            .ok());
  CHECK(schema.FindNodeType("User")->properties.size() == 2);
  CHECK(schema.version() > version);
}

TEST_CASE("a vector space's index is hnsw by default, flat when declared, and kept on redeclaration") {
  Schema schema;
  REQUIRE(schema.MergeJson(kSchema).ok());
  CHECK(schema.FindSpace("Item.embedding")->index == VectorIndexKind::kHnsw);
  REQUIRE(schema.MergeJson(R"({"vector_spaces": [{"node_type": "User", "name": "taste",
                               "dim": 8, "metric": "ip", "index": "flat"}]})").ok());
  CHECK(schema.FindSpace("User.taste")->index == VectorIndexKind::kFlat);
  Schema copy;
  REQUIRE(copy.MergeJson(schema.ToJson()).ok());
  CHECK(copy.FindSpace("User.taste")->index == VectorIndexKind::kFlat);
  CHECK(copy.FindSpace("Item.embedding")->index == VectorIndexKind::kHnsw);
  // Redeclared without "index": the space keeps its index.
  uint64_t version = schema.version();
  CHECK(schema.MergeJson(R"({"vector_spaces": [{"node_type": "User", "name": "taste",
                             "dim": 8, "metric": "ip"}]})").ok());
  CHECK(schema.FindSpace("User.taste")->index == VectorIndexKind::kFlat);
  CHECK(schema.version() == version);
  // Redeclared with the other index: rejected, naming both.
  Status s = schema.MergeJson(R"({"vector_spaces": [{"node_type": "User", "name": "taste",
                                 "dim": 8, "metric": "ip", "index": "hnsw"}]})");
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(s.message().find("flat; cannot redeclare it as dim 8 ip hnsw") != std::string::npos);
}

TEST_CASE("an unknown vector space index is InvalidArgument naming the space and the choices") {
  for (const char* bad : {R"("ivf")", R"("HNSW")", R"(3)", R"("")"}) {
    CAPTURE(bad);
    Schema schema;
    REQUIRE(schema.MergeJson(kSchema).ok());
    Status s = schema.MergeJson(std::string(R"({"vector_spaces": [{"node_type": "User",
        "name": "taste", "dim": 8, "index": )") + bad + "}]}");
    CHECK(s.code() == Status::Code::kInvalidArgument);
    CHECK(s.message().find("vector space 'User.taste' has unknown index") != std::string::npos);
    CHECK(s.message().find("(hnsw or flat)") != std::string::npos);
    CHECK(schema.FindSpace("User.taste") == nullptr);  // all-or-nothing
  }
}

TEST_CASE("schema rejects malformed documents and bad names") {
  Schema schema;
  CHECK(schema.MergeJson("{not json").code() == Status::Code::kInvalidArgument);
  CHECK(schema.MergeJson(R"({"node_types": [{"name": "9lives"}]})").code() ==
        Status::Code::kInvalidArgument);
  CHECK(schema.MergeJson(R"({"nodes": []})").code() == Status::Code::kInvalidArgument);
  CHECK(schema.MergeJson(R"({"edge_types": [{"name": "E", "from": "Ghost"}]})").code() ==
        Status::Code::kInvalidArgument);
  CHECK(schema
            .MergeJson(R"({"node_types": [{"name": "A"}], "vector_spaces":
                             [{"node_type": "A", "name": "v", "dim": 0}]})")
            .code() == Status::Code::kInvalidArgument);
  CHECK(
      schema.MergeJson(R"({"node_types": [{"name": "A", "properties": {"x": "float"}}]})").code() ==
      Status::Code::kInvalidArgument);
  CHECK(schema.node_types().empty());
}

TEST_CASE("declared property types are enforced and int is accepted as double") {
  Schema schema;
  REQUIRE(schema.MergeJson(kSchema).ok());
  const NodeTypeDef& item = *schema.FindNodeType("Item");
  CHECK(schema.CheckProperties(item, {{"price", 3.5}}).ok());
  CHECK(schema.CheckProperties(item, {{"price", int64_t{3}}}).ok());
  CHECK(schema.CheckProperties(item, {{"undeclared", true}}).ok());
  CHECK(schema.CheckProperties(item, {{"price", std::string("cheap")}}).code() ==
        Status::Code::kInvalidArgument);
  CHECK(schema.CheckProperties(item, {{"tags", std::string("a")}}).code() ==
        Status::Code::kInvalidArgument);
}

TEST_CASE("external ids must be non-empty, at most 512 bytes and valid UTF-8") {
  CHECK(ValidateExternalId("u1").ok());
  CHECK(ValidateExternalId("caf\xC3\xA9 \xF0\x9F\x8E\xAC").ok());  // café 🎬
  CHECK(ValidateExternalId(std::string(512, 'x')).ok());
  CHECK(ValidateExternalId("").code() == Status::Code::kInvalidArgument);
  CHECK(ValidateExternalId(std::string(513, 'x')).code() == Status::Code::kInvalidArgument);
  CHECK(!ValidateExternalId("\xFF").ok());              // invalid lead byte
  CHECK(!ValidateExternalId("ab\xC3").ok());            // truncated
  CHECK(!ValidateExternalId("\xC0\xAF").ok());          // overlong '/'
  CHECK(!ValidateExternalId("\xE0\x80\xAF").ok());      // overlong 3-byte
  CHECK(!ValidateExternalId("\xED\xA0\x80").ok());      // surrogate U+D800
  CHECK(!ValidateExternalId("\xF4\x90\x80\x80").ok());  // beyond U+10FFFF
  CHECK(!ValidateExternalId("\xC3\x28").ok());          // bad continuation
}

TEST_CASE("enum names are stable") {
  CHECK(std::string(ValueTypeName(ValueType::kStringList)) == "string_list");
  CHECK(std::string(EdgeModeName(EdgeMode::kAccumulate)) == "accumulate");
  CHECK(std::string(MetricName(Metric::kInnerProduct)) == "ip");
  CHECK(std::string(MetricName(Metric::kL2)) == "l2");
}

}  // namespace
}  // namespace pathwise
