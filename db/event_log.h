// Internal to db/: the event log's keys and values in the `events` column family
// (docs/storage-format.md) and the one conversion of logged events and decisions into counter
// observations, used online (staging) and offline (folding the logs). A key is the event's
// sequence number as 8 bytes big-endian, so key order is log order; a value is JSON text
// {"seq", "event_id", "type", "user", "item", "ts", "logged_ms", "weight", "recommendation_id"?,
// "segment"?} (the optional fields only when not empty).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "db/database.h"
#include "features/features.h"
#include "storage/status.h"
#include "storage/storage.h"

namespace pathwise::event_log {

std::string Key(uint64_t sequence);
std::string Encode(const LoggedEvent& event);
// Corruption when key or value is not what Key and Encode write. Also reads an optional
// "segment" string. Entries in Encode's shape are read without building a JSON DOM;
// any other valid JSON object is read by the DOM with the same result.
Result<LoggedEvent> Decode(std::string_view key, std::string_view value);
// Visits every logged event in sequence order until fn returns false; Corruption for an
// unreadable entry.
Status ScanAll(const storage::Store& store, const std::function<bool(const LoggedEvent&)>& fn);
// The sequence number the next logged event gets (1 for an empty log).
Result<uint64_t> NextSequence(const storage::Store& store);

// Counter observations of a logged event and of a logged decision record (its "user",
// "surface", "segment", "served_at_ms" and the "id" of each of its "items").
features::Event EventOf(const LoggedEvent& event);
features::Impression ImpressionOf(const nlohmann::json& record);

// Fresh counters of defs folded from the stored logs: the events and decisions with
// from_ms <= ts <= as_of_ms. The event log is scanned and decoded on a second thread while the
// calling thread counts, in log order (the same observations in the same order as online).
Result<features::CounterSet> FoldLogs(const storage::Store& store,
                                      std::vector<features::CounterDef> defs, int64_t from_ms,
                                      int64_t as_of_ms);

}  // namespace pathwise::event_log
