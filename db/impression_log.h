// Internal to db/: the impression log's keys and values in the `impressions` column family
// (docs/storage-format.md). A decision is keyed by its recommendation_id as 16 bytes (the hex
// decoded: 6 bytes of serving ms, big-endian, then 10 random bytes), so key order is time order;
// each attributed outcome is keyed by the decision's key followed by the event id, so a prefix
// scan of 16 bytes reads a decision and then its outcomes. Values are JSON text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "storage/status.h"
#include "storage/storage.h"

namespace pathwise::impression_log {

constexpr size_t kKeyBytes = 16;

// The decision key of a recommendation_id; InvalidArgument when it is not 32 hex digits.
Result<std::string> DecisionKey(std::string_view id);
// The recommendation_id (32 lowercase hex digits) of a decision key.
std::string IdOfKey(std::string_view key);
// The serving time in ms stored in a key's first 6 bytes.
int64_t ServedMillis(std::string_view key);
// The lowest key of a decision served at ms (ms clamped to 0 .. 2^48 - 1).
std::string KeyAtMillis(int64_t ms);
std::string OutcomeKey(std::string_view decision_key, std::string_view event_id);

// The attribution window of a stored decision record (NotFound when the store has none,
// Corruption when it is unreadable).
Result<int64_t> StoredWindow(const storage::Store& store, std::string_view decision_key);

}  // namespace pathwise::impression_log
