// The event log (encoding, scans, expiry) and the counters built from it and from the
// impression log. Events are logged by the stager (staged_write.cc) and fed to the online
// counters when their group is applied (write_path.cc).
#include <algorithm>
#include <climits>

#include "db/database_impl.h"
#include "db/event_log.h"
#include "db/impression_log.h"

namespace pathwise {

namespace event_log {

using json = nlohmann::json;

std::string Key(uint64_t sequence) {
  std::string key(8, '\0');
  for (int i = 7; i >= 0; --i) {
    key[i] = static_cast<char>(sequence & 0xff);
    sequence >>= 8;
  }
  return key;
}

namespace {

uint64_t SequenceOf(std::string_view key) {
  uint64_t seq = 0;
  for (char c : key) seq = (seq << 8) | static_cast<unsigned char>(c);
  return seq;
}

}  // namespace

std::string Encode(const LoggedEvent& e) {
  json j = {{"seq", e.sequence}, {"event_id", e.event_id}, {"type", e.type},
            {"user", e.user},    {"item", e.item},         {"ts", e.ts},
            {"logged_ms", e.logged_ms}, {"weight", e.weight}};
  if (!e.recommendation_id.empty()) j["recommendation_id"] = e.recommendation_id;
  if (!e.segment.empty()) j["segment"] = e.segment;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<LoggedEvent> Decode(std::string_view key, std::string_view value) {
  json j = json::parse(value, nullptr, false);
  auto corrupt = [&] {
    return Status::Corruption("event log entry " + std::to_string(SequenceOf(key)) +
                              " is unreadable");
  };
  if (key.size() != 8 || !j.is_object()) return corrupt();
  LoggedEvent e;
  e.sequence = SequenceOf(key);
  try {
    e.event_id = j.at("event_id").get<std::string>();
    e.type = j.at("type").get<std::string>();
    e.user = j.at("user").get<std::string>();
    e.item = j.at("item").get<std::string>();
    e.ts = j.at("ts").get<int64_t>();
    e.logged_ms = j.at("logged_ms").get<int64_t>();
    e.weight = j.at("weight").get<double>();
    if (auto it = j.find("recommendation_id"); it != j.end()) {
      e.recommendation_id = it->get<std::string>();
    }
    if (auto it = j.find("segment"); it != j.end()) e.segment = it->get<std::string>();
  } catch (const json::exception&) {
    return corrupt();
  }
  return e;
}

Result<uint64_t> NextSequence(const storage::Store& store) {
  auto last = store.LastEventLogKey();
  if (last.ok()) return SequenceOf(*last) + 1;
  if (last.status().code() == Status::Code::kNotFound) return uint64_t{1};
  return last.status();
}

Status ScanAll(const storage::Store& store, const std::function<bool(const LoggedEvent&)>& fn) {
  Status error;
  PW_RETURN_IF_ERROR(store.ScanEventLog(
      Key(0), Key(UINT64_MAX), [&](std::string_view key, std::string_view value) {
        auto event = Decode(key, value);
        if (!event.ok()) {
          error = event.status();
          return false;
        }
        return fn(*event);
      }));
  return error;
}

features::Event EventOf(const LoggedEvent& event) {
  return features::Event{event.type, event.user, event.item, event.ts, event.segment};
}

features::Impression ImpressionOf(const json& record) {
  features::Impression out;
  auto text = [&](const json& j, const char* field) {
    auto it = j.find(field);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  out.surface = text(record, "surface");
  out.user = text(record, "user");
  out.segment = text(record, "segment");
  auto served = record.find("served_at_ms");
  out.ts = served != record.end() && served->is_number_integer() ? served->get<int64_t>() : -1;
  auto items = record.find("items");
  if (items != record.end() && items->is_array()) {
    for (const json& item : *items) {
      if (item.is_object()) out.items.push_back(text(item, "id"));
    }
  }
  return out;
}

Result<features::CounterSet> FoldLogs(const storage::Store& store,
                                      std::vector<features::CounterDef> defs, int64_t from_ms,
                                      int64_t as_of_ms) {
  features::CounterSet counters(std::move(defs));
  PW_RETURN_IF_ERROR(ScanAll(store, [&](const LoggedEvent& event) {
    if (event.ts >= from_ms && event.ts <= as_of_ms) counters.AddEvent(EventOf(event));
    return true;
  }));
  Status error;
  const std::string end = as_of_ms >= INT64_MAX - 1 ? std::string(impression_log::kKeyBytes + 1, '\xff')
                                                     : impression_log::KeyAtMillis(as_of_ms + 1);
  PW_RETURN_IF_ERROR(store.ScanImpressionLog(
      impression_log::KeyAtMillis(from_ms), end,
      [&](std::string_view key, std::string_view value) {
        if (key.size() != impression_log::kKeyBytes) return true;  // an outcome
        json record = json::parse(value, nullptr, false);
        if (!record.is_object()) {
          error = Status::Corruption("impression record " + impression_log::IdOfKey(key) +
                                     " is unreadable");
          return false;
        }
        features::Impression impression = ImpressionOf(record);
        if (impression.ts >= from_ms && impression.ts <= as_of_ms) {
          counters.AddImpression(impression);
        }
        return true;
      }));
  PW_RETURN_IF_ERROR(error);
  return counters;
}

}  // namespace event_log

Result<std::string> SegmentFromJson(const nlohmann::json& value, std::string_view what) {
  if (value.is_null()) return std::string();
  if (!value.is_string()) return Status::InvalidArgument(std::string(what) + " must be a string");
  std::string segment = value.get<std::string>();
  Status valid = ValidateExternalId(segment);
  if (!valid.ok()) return Status::InvalidArgument(std::string(what) + ": " + valid.message());
  return segment;
}

Status Database::ScanEvents(int64_t since_ms, int64_t until_ms,
                            const std::function<bool(const LoggedEvent&)>& fn) const {
  return event_log::ScanAll(*impl_->store, [&](const LoggedEvent& event) {
    return event.ts < since_ms || event.ts >= until_ms || fn(event);
  });
}

Status Database::ExpireEvents(int64_t before_ms) {
  // In the writer queue, so no event is logged while the prefix is found and deleted.
  return impl_->RunExclusive([this, before_ms] {
    std::string end;
    PW_RETURN_IF_ERROR(event_log::ScanAll(*impl_->store, [&](const LoggedEvent& event) {
      if (event.logged_ms >= before_ms) return false;
      end = event_log::Key(event.sequence + 1);
      return true;
    }));
    return impl_->store->DeleteEventLogRange(event_log::Key(0), end);
  });
}

Result<double> Database::CounterValue(std::string_view counter, const features::KeyFields& key,
                                      int64_t at_ms) const {
  MutexLock lock(&impl_->counters_mu);
  return impl_->counters->Value(counter, key, at_ms);
}

void Database::ForEachCounterValue(
    int64_t at_ms,
    const std::function<void(const features::CounterDef&, const features::KeyFields&, double)>& fn)
    const {
  MutexLock lock(&impl_->counters_mu);
  impl_->counters->ForEach(at_ms, fn);
}

Result<features::CounterSet> Database::FoldCounters(int64_t as_of_ms) const {
  std::vector<features::CounterDef> defs;
  {
    MutexLock lock(&impl_->counters_mu);
    defs = impl_->counters->defs();
  }
  return event_log::FoldLogs(*impl_->store, std::move(defs), INT64_MIN, as_of_ms);
}

// Open and schema changes: counters of defs rebuilt from the logs, within their horizon.
Status Database::Impl::RebuildCounters(std::vector<features::CounterDef> defs, int64_t now_ms) {
  if (defs.empty()) {  // nothing to count: no scan of the logs at open
    MutexLock lock(&counters_mu);
    counters = std::make_unique<features::CounterSet>(std::move(defs));
    return Status::OK();
  }
  const int64_t horizon = features::CounterSet(defs).Horizon();
  PW_ASSIGN_OR_RETURN(features::CounterSet rebuilt,
                      event_log::FoldLogs(*store, std::move(defs), now_ms - horizon, INT64_MAX));
  MutexLock lock(&counters_mu);
  counters = std::make_unique<features::CounterSet>(std::move(rebuilt));
  return Status::OK();
}

void Database::Impl::FeedCounters(const StagedGroup& group) {
  if (group.events.empty() && group.impressions.empty()) return;
  MutexLock lock(&counters_mu);
  for (const auto& event : group.events) counters->AddEvent(event);
  for (const auto& impression : group.impressions) counters->AddImpression(impression);
}

}  // namespace pathwise
