// Request JSON -> writes, without a server.
#include <doctest/doctest.h>

#include <filesystem>
#include <limits>
#include <random>
#include <sstream>

#include "server/json_fields.h"
#include "server/write_ops.h"

namespace pathwise::server {
namespace {

TEST_CASE("events become edge writes deduped on their event id") {
  EventTypeTable table;
  table["view"] = EventType{"VIEWED", "Customer", "Product", 2.0};
  auto lines = ParseEvents(
      "{\"event_id\":\"e1\",\"user\":7,\"item\":\"p1\",\"type\":\"view\",\"ts\":5}\n"
      "\n"
      "{\"event_id\":\"e2\",\"user\":\"c1\",\"item\":\"p2\",\"type\":\"view\",\"weight\":0.5,"
      "\"props\":{\"src\":\"app\"}}\n",
      table);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].line == 1);
  CHECK(lines[1].line == 3);
  REQUIRE(lines[0].status.ok());
  CHECK(lines[0].writes.unless_meta_exists == "event/e1");
  const auto& edge = std::get<EdgeWrite>(lines[0].writes.ops.at(0));
  CHECK(edge.type == "VIEWED");
  CHECK(edge.from.type == "Customer");
  CHECK(edge.from.id == "7");
  CHECK(edge.from.create_if_missing);
  CHECK(edge.to.type == "Product");
  CHECK(!edge.to.create_if_missing);
  CHECK(*edge.weight == doctest::Approx(2.0));
  CHECK(*edge.ts == 5);
  const auto& second = std::get<EdgeWrite>(lines[1].writes.ops.at(0));
  CHECK(*second.weight == doctest::Approx(0.5));
  CHECK(!second.ts.has_value());
  CHECK(std::get<std::string>(second.props.at("src")) == "app");
  // Each event's set also logs the event as accepted (the event log).
  const auto& logged = std::get<EventWrite>(lines[0].writes.ops.back());
  CHECK(logged.event_id == "e1");
  CHECK(logged.type == "view");
  CHECK(logged.user == "7");
  CHECK(logged.item == "p1");
  CHECK(*logged.ts == 5);
  CHECK(logged.weight == 2.0);
  CHECK(logged.recommendation_id.empty());
}

TEST_CASE("bad event lines carry their line number and a reason naming the field") {
  EventTypeTable table;
  table["view"] = EventType{"VIEWED"};
  auto lines = ParseEvents("{\"event_id\":\"e1\",\"user\":\"u\",\"item\":\"i\",\"type\":\"buy\"}\n"
                           "{oops\n"
                           "{\"event_id\":\"e3\",\"user\":\"u\",\"item\":\"i\",\"type\":\"view\",\"weight\":\"x\"}\n"
                           "{\"user\":\"u\",\"item\":\"i\",\"type\":\"view\"}\n",
                           table);
  REQUIRE(lines.size() == 4);
  CHECK(lines[0].status.message().find("buy") != std::string::npos);
  CHECK(lines[1].status.message().find("JSON") != std::string::npos);
  CHECK(lines[2].status.message().find("weight") != std::string::npos);
  CHECK(lines[3].status.message().find("event_id") != std::string::npos);
  auto broken_array = ParseEvents("[{\"event_id\": 1}", table);
  REQUIRE(broken_array.size() == 1);
  CHECK(!broken_array[0].status.ok());
}

TEST_CASE("batch lines parse nodes, edges and vectors with their ops") {
  auto node = BatchLineFromJson(nlohmann::json::parse(
      R"({"node":"Item","id":"i1","op":"patch","props":{"tags":["a","b"],"n":3}})"));
  REQUIRE(node.ok());
  const auto& n = std::get<NodeWrite>(*node);
  CHECK(n.op == NodeWrite::Op::kPatch);
  CHECK(std::get<std::vector<std::string>>(n.props.at("tags")).size() == 2);
  CHECK(std::get<int64_t>(n.props.at("n")) == 3);
  auto edge = BatchLineFromJson(nlohmann::json::parse(
      R"({"edge":"VIEWED","from":["User","u1"],"to":["Item",5],"op":"delete"})"));
  REQUIRE(edge.ok());
  CHECK(std::get<EdgeWrite>(*edge).op == EdgeWrite::Op::kDelete);
  CHECK(std::get<EdgeWrite>(*edge).to.id == "5");
  auto vec = BatchLineFromJson(
      nlohmann::json::parse(R"({"vector":"Item.e","id":"i1","values":[1,2.5]})"));
  REQUIRE(vec.ok());
  CHECK(std::get<VectorWrite>(*vec).values == std::vector<float>{1.0f, 2.5f});
  CHECK(std::get<EdgeWrite>(*edge).type == "VIEWED");
  CHECK(std::get<VectorWrite>(*vec).space == "Item.e");
  CHECK(!BatchLineFromJson(nlohmann::json::parse(R"({"tree":"x"})")).ok());
  CHECK(!BatchLineFromJson(nlohmann::json::parse(R"({"node":"Item"})")).ok());
  CHECK(!BatchLineFromJson(nlohmann::json::parse(R"({"node":"Item","edge":"E","id":"x"})")).ok());
  CHECK(!BatchLineFromJson(nlohmann::json::parse(R"({"vector":"S","id":"i"})")).ok());
  CHECK(!BatchLineFromJson(nlohmann::json::parse(R"({"node":"T","id":"x","op":"merge"})")).ok());
  auto schema = BatchLineFromJson(nlohmann::json::parse(R"({"schema":{}})"));
  REQUIRE(!schema.ok());
  CHECK(schema.status().message().find("/v1/schema") != std::string::npos);
}

TEST_CASE("event type tables round-trip and require an edge") {
  auto table = EventTypesFromJson(nlohmann::json::parse(R"({"view":{"edge":"VIEWED","weight":0.5}})"));
  REQUIRE(table.ok());
  auto json = EventTypesToJson(*table);
  CHECK(json["view"]["user_type"] == "User");
  CHECK(json["view"]["weight"].get<double>() == doctest::Approx(0.5));
  auto again = EventTypesFromJson(json);
  REQUIRE(again.ok());
  CHECK(again->at("view").edge == "VIEWED");
  CHECK(!EventTypesFromJson(nlohmann::json::parse(R"({"view":{}})")).ok());
  CHECK(!EventTypesFromJson(nlohmann::json::parse(R"([1])")).ok());
}

TEST_CASE("property values outside the data model are rejected with their name") {
  auto bad = pathwise::PropertiesFromJson(nlohmann::json::parse(R"({"ok": 1, "nested": {"a": 1}})"), "props");
  REQUIRE(!bad.ok());
  CHECK(bad.status().message().find("props.nested") != std::string::npos);
  auto mixed = pathwise::PropertiesFromJson(nlohmann::json::parse(R"({"tags": ["a", 1]})"), "props");
  CHECK(!mixed.ok());
  auto good = pathwise::PropertiesFromJson(nlohmann::json::parse(R"({"a": null, "b": true, "c": 1.5, "d": "s"})"), "p");
  REQUIRE(good.ok());
  CHECK(good->size() == 4);
  // The JSON parser refuses 1e999, but a caller building the object in code can hold infinity:
  // property values must be finite, in every endpoint and in loads.
  nlohmann::json with_infinity = {{"x", std::numeric_limits<double>::infinity()}};
  auto infinite = pathwise::PropertiesFromJson(with_infinity, "properties");
  REQUIRE(!infinite.ok());
  CHECK(infinite.status().message().find("properties.x") != std::string::npos);
}

constexpr char kLineSchema[] = R"({
  "node_types": [{"name": "User"}, {"name": "Item", "properties": {"price": "double"}}],
  "edge_types": [{"name": "VIEWED", "mode": "accumulate", "from": "User", "to": "Item"}],
  "vector_spaces": [{"node_type": "Item", "name": "e", "dim": 2, "metric": "cosine"}]})";

struct ScratchDb {
  ScratchDb() {
    path = (std::filesystem::temp_directory_path() / ("pw_lines_" + std::to_string(std::random_device()())))
               .string();
    db = std::move(Database::Open({}, path)).value();
    REQUIRE(db->MergeSchema(kLineSchema).ok());
    WriteSet base;
    NodeWrite item;
    item.type = "Item";
    item.id = "i";
    base.ops.push_back(item);
    REQUIRE(db->Apply(base).ok());
  }
  ~ScratchDb() {
    db.reset();
    std::filesystem::remove_all(path);
  }
  std::string path;
  std::unique_ptr<Database> db;
};

TEST_CASE("the loader and the batch endpoint accept and reject exactly the same lines") {
  const char* lines[] = {
      R"({"node":"Item","id":"a","props":{"price":2.5}})",
      R"({"node":"Item","id":5})",
      R"({"node":"Item","edge":"VIEWED","id":"a"})",
      R"({"node":"Item","id":"a","colour":"red"})",
      R"({"node":"Item","id":"a","props":{"price":"cheap"}})",
      R"({"node":"Item","id":"a","props":{"n":18446744073709551615}})",
      R"({"node":"Nope","id":"a"})",
      R"({"node":"Item","id":""})",
      R"({"edge":"VIEWED","from":["User","u"],"to":["Item","i"]})",
      R"({"edge":"VIEWED","from":["User","u"],"to":["Item","i"],"ts":18446744073709551615})",
      R"({"edge":"VIEWED","from":["User","u"],"to":["Item","i"],"weight":1e300})",
      R"({"edge":"VIEWED","from":["User","u"],"to":["Item","missing"]})",
      R"({"edge":"VIEWED","from":["Item","i"],"to":["Item","i"]})",
      R"({"vector":"Item.e","id":"i","values":[1,0]})",
      R"({"vector":"Item.e","id":"i","values":[0,0]})",
      R"({"vector":"Item.e","id":"i","values":[1e-50,0]})",
      R"({"vector":"Item.e","id":"i","values":[1,0,0]})",
      R"({"vector":"Item.e","id":"i","values":[1e39,0]})",
      R"({"vector":"Item.e","id":"i","op":"delete"})",
      R"({"tree":"x"})",
      R"([1,2])",
  };
  for (const char* line : lines) {
    CAPTURE(line);
    ScratchDb loaded;
    std::stringstream in(std::string(line) + "\n");
    auto report = loaded.db->Load(in);
    REQUIRE(report.ok());
    bool load_ok = report.value().errors == 0;

    ScratchDb batched;
    bool batch_ok = false;
    auto parsed = BatchLineFromJson(nlohmann::json::parse(line));
    if (parsed.ok()) {
      WriteSet set;
      std::visit([&set](auto&& w) { set.ops.emplace_back(std::move(w)); }, std::move(parsed).value());
      batch_ok = batched.db->Apply(set).ok();
    }
    CHECK(load_ok == batch_ok);
  }
}

TEST_CASE("events refuse unknown fields, over-long event ids and ts beyond int64") {
  EventTypeTable table;
  table["view"] = EventType{"VIEWED"};
  std::string long_id(600, 'e');
  auto lines = ParseEvents(
      R"({"event_id":"e1","user":"u","item":"i","type":"view","colour":"red"})"
      "\n{\"event_id\":\"" + long_id + R"(","user":"u","item":"i","type":"view"})"
      "\n" R"({"event_id":"e3","user":"u","item":"i","type":"view","ts":18446744073709551615})",
      table);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].status.message().find("colour") != std::string::npos);
  CHECK(lines[1].status.message().find("event_id") != std::string::npos);
  CHECK(lines[2].status.message().find("ts") != std::string::npos);
}

}  // namespace
}  // namespace pathwise::server
