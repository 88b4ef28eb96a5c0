// Fuzzes the JSON request bodies of every write endpoint, the way server/write_routes.cc reads
// them: the first input byte picks the endpoint, the rest is the body.
//   0 PUT/PATCH /v1/nodes/T/ID {"properties":{...}}   1 PUT/DELETE /v1/edges
//   2 PUT /v1/vectors/S/ID {"values":[...]}            3 POST /v1/batch (NDJSON lines)
//   4 POST /v1/events (JSON array or NDJSON)           5 PUT /v1/admin/event-types
//   6 POST /v1/schema (Schema::MergeJson)              7 plain nlohmann parse + dump round trip
// Properties: no crash; every rejection is a Status; what parses re-serializes and re-parses
// to the same value.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "server/json_fields.h"
#include "server/write_ops.h"
#include "storage/schema.h"

namespace {

namespace server = pathwise::server;
using nlohmann::json;

void Check(bool condition, const char* what) {
  if (!condition) {
    fprintf(stderr, "request_body_fuzz: property violated: %s\n", what);
    abort();
  }
}

const server::EventTypeTable& Table() {
  static const server::EventTypeTable table = [] {
    auto parsed = server::EventTypesFromJson(
        json::parse(R"({"view":{"edge":"VIEWED"},"buy":{"edge":"BOUGHT","weight":5},
                        "follow":{"edge":"FOLLOWS","item_type":"User"}})"));
    if (!parsed.ok()) abort();
    return *parsed;
  }();
  return table;
}

void NodeBody(std::string_view body) {
  auto obj = server::ParseJsonObject(body, /*allow_empty=*/true);
  if (!obj.ok()) return;
  auto it = obj->find("properties");
  if (it != obj->end()) (void)pathwise::PropertiesFromJson(*it, "properties");
}

void EdgeBody(std::string_view body) {
  auto obj = server::ParseJsonObject(body);
  if (!obj.ok()) return;
  (void)server::EdgeFromJson(*obj, pathwise::EdgeWrite::Op::kPut);
  (void)server::EdgeFromJson(*obj, pathwise::EdgeWrite::Op::kDelete);
}

void VectorBody(std::string_view body) {
  auto obj = server::ParseJsonObject(body);
  if (!obj.ok()) return;
  auto it = obj->find("values");
  if (it != obj->end()) (void)server::FloatsFromJson(*it, "values");
}

void BatchBody(std::string_view body) {
  for (const auto& [line, text] : server::SplitLines(body)) {
    Check(line >= 1, "batch line numbers start at 1");
    json obj = json::parse(text, nullptr, false);
    if (obj.is_discarded()) continue;
    (void)server::BatchLineFromJson(obj);
  }
}

void EventsBody(std::string_view body) {
  for (const auto& event : server::ParseEvents(body, Table())) {
    Check(event.line >= 1, "event line numbers start at 1");
    Check(event.status.ok() || event.writes.ops.empty(), "a rejected event carries no writes");
  }
}

void EventTypesBody(std::string_view body) {
  auto obj = server::ParseJsonObject(body);
  if (!obj.ok()) return;
  auto table = server::EventTypesFromJson(*obj);
  if (!table.ok()) return;
  // What the server stores must read back as the same table.
  json normalized = server::EventTypesToJson(*table);
  auto again = server::EventTypesFromJson(normalized);
  Check(again.ok(), "normalized event types parse again");
  Check(server::EventTypesToJson(*again) == normalized, "event types round trip");
}

void SchemaBody(std::string_view body) {
  pathwise::Schema schema;
  (void)schema.MergeJson(body);
}

void JsonRoundTrip(std::string_view body) {
  json value = json::parse(body, nullptr, false);
  if (value.is_discarded()) return;
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  json again = json::parse(text, nullptr, false);
  Check(!again.is_discarded(), "dumped JSON parses again");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 8) {
    case 0: NodeBody(body); break;
    case 1: EdgeBody(body); break;
    case 2: VectorBody(body); break;
    case 3: BatchBody(body); break;
    case 4: EventsBody(body); break;
    case 5: EventTypesBody(body); break;
    case 6: SchemaBody(body); break;
    default: JsonRoundTrip(body); break;
  }
  return 0;
}
