// server/: request JSON -> Database writes, for the catalog endpoints, POST /v1/batch and
// POST /v1/events. Pure functions (no I/O), so they are easy to test and reuse.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "db/database.h"
#include "storage/status.h"

namespace pathwise::server {

// {"type","from":[type,id],"to":[type,id],"weight"?,"ts"?,"props"?} -> EdgeWrite.
Result<EdgeWrite> EdgeFromJson(const nlohmann::json& obj, EdgeWrite::Op op);

using AnyWrite = std::variant<NodeWrite, EdgeWrite, VectorWrite, MetaWrite>;
// One node/edge/vector line of the bulk format (docs/data-format.md):
//   {"node":"Item","id":"i1","props":{...},"op"?:"upsert"|"patch"|"delete"}
//   {"edge":"VIEWED","from":["User","u1"],"to":["Item","i1"],"weight"?,"ts"?,"props"?,
//    "op"?:"put"|"delete"}
//   {"vector":"Item.embedding","id":"i1","values":[...],"op"?:"put"|"delete"}
// Schema lines are InvalidArgument here (a batch is one WriteSet; use MergeSchema).
Result<AnyWrite> BatchLineFromJson(const nlohmann::json& obj);
// Appends write to set's operations.
void AppendWrite(AnyWrite write, WriteSet* set);

// How an event type maps onto an edge.
struct EventType {
  std::string edge;
  std::string user_type = "User";
  std::string item_type = "Item";
  double weight = 1.0;  // the event's own "weight" overrides it
};
using EventTypeTable = std::map<std::string, EventType, std::less<>>;

// {"view":{"edge":"VIEWED","user_type"?,"item_type"?,"weight"?}, ...}
Result<EventTypeTable> EventTypesFromJson(const nlohmann::json& obj);
nlohmann::json EventTypesToJson(const EventTypeTable& table);

// One parsed line of an events body: a WriteSet (deduped on "event/<event_id>") or an error.
struct EventLine {
  size_t line = 0;  // 1-based line (NDJSON) or array index + 1 (JSON array)
  WriteSet writes;
  Status status;    // not OK: the line is rejected and writes is empty
};

// Parses a JSON array or NDJSON body of {event_id,user,item,type,ts?,weight?,props?,
// recommendation_id?,segment?}. A recommendation_id adds an OutcomeWrite to the event's set; a
// segment (an id: 1..kMaxIdBytes bytes of UTF-8) is logged with the event for segment_item
// counters.
// Blank NDJSON lines are skipped (they still count for line numbers). A body that is not a JSON
// array and has no parseable line still yields per-line errors, never a failure.
std::vector<EventLine> ParseEvents(std::string_view body, const EventTypeTable& table);

// Splits NDJSON into (1-based line number, text) pairs, skipping blank lines.
std::vector<std::pair<size_t, std::string_view>> SplitLines(std::string_view body);

}  // namespace pathwise::server
