// The impression log (decisions and the outcomes joined to them): key encoding, reads, export
// scans and expiry. Writes are staged with every other write (staged_write.cc).
#include <algorithm>
#include <optional>

#include "db/database_impl.h"
#include "db/impression_log.h"

namespace pathwise {

namespace impression_log {
namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Result<std::string> DecisionKey(std::string_view id) {
  PW_RETURN_IF_ERROR(ValidateRecommendationId(id));
  std::string key(kKeyBytes, '\0');
  for (size_t i = 0; i < kKeyBytes; ++i) {
    key[i] = static_cast<char>(HexDigit(id[2 * i]) * 16 + HexDigit(id[2 * i + 1]));
  }
  return key;
}

std::string IdOfKey(std::string_view key) {
  static const char kHex[] = "0123456789abcdef";
  std::string id;
  for (size_t i = 0; i < kKeyBytes && i < key.size(); ++i) {
    auto byte = static_cast<unsigned char>(key[i]);
    id += kHex[byte >> 4];
    id += kHex[byte & 15];
  }
  return id;
}

int64_t ServedMillis(std::string_view key) {
  int64_t ms = 0;
  for (size_t i = 0; i < 6 && i < key.size(); ++i) {
    ms = (ms << 8) | static_cast<unsigned char>(key[i]);
  }
  return ms;
}

std::string KeyAtMillis(int64_t ms) {
  constexpr int64_t kMax = (int64_t{1} << 48) - 1;
  uint64_t v = static_cast<uint64_t>(std::clamp<int64_t>(ms, 0, kMax));
  std::string key(6, '\0');
  for (int i = 5; i >= 0; --i) {
    key[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return key;
}

std::string OutcomeKey(std::string_view decision_key, std::string_view event_id) {
  std::string key(decision_key);
  key.append(event_id);
  return key;
}

Result<int64_t> StoredWindow(const storage::Store& store, std::string_view decision_key) {
  PW_ASSIGN_OR_RETURN(std::string value, store.GetImpressionLog(decision_key));
  nlohmann::json record = nlohmann::json::parse(value, nullptr, false);
  auto it = record.is_object() ? record.find("attribution_window_ms") : record.end();
  if (it == record.end() || !it->is_number_integer()) {
    return Status::Corruption("impression record " + IdOfKey(decision_key) + " is unreadable");
  }
  return it->get<int64_t>();
}

}  // namespace impression_log

Status ValidateRecommendationId(std::string_view id) {
  if (id.size() != 2 * impression_log::kKeyBytes) {
    return Status::InvalidArgument("a recommendation_id is 32 hex digits; got " +
                                   std::to_string(id.size()) + " characters");
  }
  for (char c : id) {
    bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!hex) return Status::InvalidArgument("a recommendation_id is 32 hex digits");
  }
  return Status::OK();
}

namespace {

// Reads the decision records (and their outcomes) with keys in [begin, end), in key order.
Status ScanDecisions(const storage::Store& store, std::string_view begin, std::string_view end,
                     const std::function<bool(const nlohmann::json&)>& fn) {
  using impression_log::kKeyBytes;
  nlohmann::json current;  // the decision being read, until the next one starts
  Status error;
  bool stopped = false;
  auto flush = [&] {
    if (current.is_null()) return true;
    bool more = fn(current);
    current = nullptr;
    return more;
  };
  PW_RETURN_IF_ERROR(store.ScanImpressionLog(
      begin, end, [&](std::string_view key, std::string_view value) {
        nlohmann::json j = nlohmann::json::parse(value, nullptr, false);
        if (!j.is_object() || key.size() < kKeyBytes) {
          error = Status::Corruption("impression log entry " + impression_log::IdOfKey(key) +
                                     " is unreadable");
          return false;
        }
        if (key.size() == kKeyBytes) {
          if (!flush()) {
            stopped = true;
            return false;
          }
          current = std::move(j);
          current["outcomes"] = nlohmann::json::array();
        } else if (!current.is_null()) {  // an outcome of the current decision
          current["outcomes"].push_back(std::move(j));
        }
        return true;
      }));
  PW_RETURN_IF_ERROR(error);
  if (!stopped) flush();
  return Status::OK();
}

}  // namespace

Result<nlohmann::json> Database::GetRecommendation(std::string_view id) const {
  PW_ASSIGN_OR_RETURN(std::string key, impression_log::DecisionKey(id));
  std::string end = key;
  end.push_back('\xff');
  end.append(kMaxIdBytes, '\xff');  // above every outcome key (event ids are <= kMaxIdBytes)
  std::optional<nlohmann::json> found;
  PW_RETURN_IF_ERROR(ScanDecisions(*impl_->store, key, end, [&](const nlohmann::json& d) {
    found = d;
    return false;
  }));
  if (!found) return Status::NotFound("no logged recommendation " + std::string(id));
  return *found;
}

Status Database::ScanRecommendations(int64_t since_ms, int64_t until_ms,
                                     const std::function<bool(const nlohmann::json&)>& fn) const {
  if (until_ms <= since_ms) return Status::OK();
  return ScanDecisions(*impl_->store, impression_log::KeyAtMillis(since_ms),
                       impression_log::KeyAtMillis(until_ms), fn);
}

Status Database::ExpireImpressions(int64_t before_ms) {
  // In the writer queue, so an outcome staged concurrently sees the decision or its absence.
  return impl_->RunExclusive([this, before_ms] {
    return impl_->store->DeleteImpressionLogRange(std::string(),
                                                  impression_log::KeyAtMillis(before_ms));
  });
}

}  // namespace pathwise
