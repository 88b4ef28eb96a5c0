// The event log (encoding, scans, expiry) and the counters built from it and from the
// impression log. Events are logged by the stager (staged_write.cc) and fed to the online
// counters when their group is applied (write_path.cc).
#include <algorithm>
#include <charconv>
#include <climits>
#include <deque>
#include <thread>
#include <vector>

#include "db/database_impl.h"
#include "db/event_log.h"
#include "db/flat_json.h"
#include "db/impression_log.h"
#include "storage/mutex.h"

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

// The fast path of Decode: a flat object of the fields Encode writes, in any order, whose
// strings are ASCII without escapes and whose numbers are plain JSON numbers (integers of at
// most 18 digits for ts and logged_ms). False for anything else (escapes, other bytes, unknown
// or repeated fields, other value types, trailing text): Decode then parses the DOM, so the two
// paths accept the same entries and read the same values.
class FlatEntryReader {
 public:
  explicit FlatEntryReader(std::string_view text) : in_(text) {}

  bool Read(LoggedEvent* e) {
    unsigned seen = 0;
    // {}: the DOM path names what is missing.
    if (!in_.Consume('{') || in_.Consume('}')) return false;
    do {
      std::string_view name;
      if (!in_.String(&name) || !in_.Consume(':')) return false;
      unsigned field = 0;
      for (const auto& [known, bit] : kFields) field = known == name ? bit : field;
      if ((seen & field) != 0 || !Field(field, e)) return false;
      seen |= field;
    } while (in_.Consume(','));
    return in_.Consume('}') && in_.AtEnd() && (seen & kRequired) == kRequired;
  }

 private:
  enum : unsigned {
    kEventId = 1, kType = 2, kUser = 4, kItem = 8, kTs = 16, kLogged = 32, kWeight = 64,
    kRequired = 127, kSeq = 128, kRecommendation = 256, kSegment = 512
  };
  static constexpr std::pair<std::string_view, unsigned> kFields[] = {
      {"event_id", kEventId}, {"type", kType}, {"user", kUser}, {"item", kItem}, {"ts", kTs},
      {"logged_ms", kLogged}, {"weight", kWeight}, {"seq", kSeq},
      {"recommendation_id", kRecommendation}, {"segment", kSegment}};

  // Reads the value of one known field (0: unknown, false).
  bool Field(unsigned field, LoggedEvent* e) {
    int64_t seq = 0;  // the key holds the sequence; Decode ignores this copy
    switch (field) {
      case kEventId: return in_.StringInto(&e->event_id);
      case kType: return in_.StringInto(&e->type);
      case kUser: return in_.StringInto(&e->user);
      case kItem: return in_.StringInto(&e->item);
      case kTs: return in_.Integer(&e->ts);
      case kLogged: return in_.Integer(&e->logged_ms);
      case kWeight: return in_.Double(&e->weight);
      case kSeq: return in_.Integer(&seq);
      case kRecommendation: return in_.StringInto(&e->recommendation_id);
      case kSegment: return in_.StringInto(&e->segment);
      default: return false;
    }
  }

  FlatJsonScanner in_;
};

}  // namespace

namespace {

// The JSON DOM's text of e (nlohmann's dump: keys in name order, invalid UTF-8 replaced).
std::string EncodeDom(const LoggedEvent& e) {
  json j = {{"seq", e.sequence}, {"event_id", e.event_id}, {"type", e.type},
            {"user", e.user},    {"item", e.item},         {"ts", e.ts},
            {"logged_ms", e.logged_ms}, {"weight", e.weight}};
  if (!e.recommendation_id.empty()) j["recommendation_id"] = e.recommendation_id;
  if (!e.segment.empty()) j["segment"] = e.segment;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// True when the DOM writes s as itself between quotes: printable ASCII without '"' or '\\'.
bool Verbatim(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; });
}

void AppendField(std::string* out, std::string_view name, std::string_view text, bool quoted) {
  out->append(out->size() > 1 ? ",\"" : "\"").append(name).append("\":");
  if (quoted) out->push_back('"');
  out->append(text);
  if (quoted) out->push_back('"');
}

}  // namespace

// Writes the text EncodeDom writes, without building the DOM when every string is verbatim.
std::string Encode(const LoggedEvent& e) {
  for (const std::string* s : {&e.event_id, &e.type, &e.user, &e.item, &e.recommendation_id,
                               &e.segment}) {
    if (!Verbatim(*s)) return EncodeDom(e);
  }
  std::string out = "{";
  out.reserve(160);
  AppendField(&out, "event_id", e.event_id, true);
  AppendField(&out, "item", e.item, true);
  AppendField(&out, "logged_ms", std::to_string(e.logged_ms), false);
  if (!e.recommendation_id.empty()) {
    AppendField(&out, "recommendation_id", e.recommendation_id, true);
  }
  if (!e.segment.empty()) AppendField(&out, "segment", e.segment, true);
  AppendField(&out, "seq", std::to_string(e.sequence), false);
  AppendField(&out, "ts", std::to_string(e.ts), false);
  AppendField(&out, "type", e.type, true);
  AppendField(&out, "user", e.user, true);
  AppendField(&out, "weight", json(e.weight).dump(), false);
  out.push_back('}');
  return out;
}

Result<LoggedEvent> Decode(std::string_view key, std::string_view value) {
  auto corrupt = [&] {
    return Status::Corruption("event log entry " + std::to_string(SequenceOf(key)) +
                              " is unreadable");
  };
  if (key.size() != 8) return corrupt();
  LoggedEvent e;
  e.sequence = SequenceOf(key);
  if (FlatEntryReader(value).Read(&e)) return e;
  e = LoggedEvent{};
  e.sequence = SequenceOf(key);
  json j = json::parse(value, nullptr, false);
  if (!j.is_object()) return corrupt();
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

namespace {

// Batches of decoded events from the thread that scans and decodes the log to the thread that
// counts them, in log order, with at most kInFlight batches queued (bounded memory).
class EventBatchQueue {
 public:
  static constexpr size_t kBatch = 4096;
  static constexpr size_t kInFlight = 4;
  using Batch = std::vector<features::Event>;

  // Producer: an empty batch, recycled from the consumer when one is free.
  Batch Empty() {
    MutexLock lock(&mu_);
    if (free_.empty()) return Batch();
    Batch batch = std::move(free_.back());
    free_.pop_back();
    return batch;
  }
  // Producer: queues batch, waiting while kInFlight batches are queued.
  void Push(Batch batch) {
    MutexLock lock(&mu_);
    while (full_.size() >= kInFlight) changed_.Wait(&mu_);
    full_.push_back(std::move(batch));
    changed_.NotifyAll();
  }
  // Producer: no more batches; status is the scan's.
  void Finish(Status status) {
    MutexLock lock(&mu_);
    status_ = std::move(status);
    done_ = true;
    changed_.NotifyAll();
  }
  // Consumer: the next batch in order, false once every batch was taken and Finish was called.
  bool Pop(Batch* batch) {
    MutexLock lock(&mu_);
    while (full_.empty() && !done_) changed_.Wait(&mu_);
    if (full_.empty()) return false;
    *batch = std::move(full_.front());
    full_.pop_front();
    changed_.NotifyAll();
    return true;
  }
  // Consumer: hands a counted batch back for reuse.
  void Recycle(Batch batch) {
    batch.clear();
    MutexLock lock(&mu_);
    free_.push_back(std::move(batch));
  }
  // After Pop returned false: the scan's status.
  Status status() {
    MutexLock lock(&mu_);
    return status_;
  }

 private:
  Mutex mu_;
  CondVar changed_;
  std::deque<Batch> full_ PW_GUARDED_BY(mu_);
  std::vector<Batch> free_ PW_GUARDED_BY(mu_);
  bool done_ PW_GUARDED_BY(mu_) = false;
  Status status_ PW_GUARDED_BY(mu_);
};

}  // namespace

Result<features::CounterSet> FoldLogs(const storage::Store& store,
                                      std::vector<features::CounterDef> defs, int64_t from_ms,
                                      int64_t as_of_ms) {
  features::CounterSet counters(std::move(defs));
  // The event log is scanned and decoded on a second thread while this one counts: the
  // counters still see the events one by one in log order, as online.
  EventBatchQueue queue;
  std::thread scanner([&] {
    EventBatchQueue::Batch batch = queue.Empty();
    Status status = ScanAll(store, [&](const LoggedEvent& event) {
      if (event.ts < from_ms || event.ts > as_of_ms) return true;
      batch.push_back(EventOf(event));
      if (batch.size() == EventBatchQueue::kBatch) {
        queue.Push(std::move(batch));
        batch = queue.Empty();
      }
      return true;
    });
    if (!batch.empty()) queue.Push(std::move(batch));
    queue.Finish(std::move(status));
  });
  EventBatchQueue::Batch batch;
  while (queue.Pop(&batch)) {
    for (const features::Event& event : batch) counters.AddEvent(event);
    queue.Recycle(std::move(batch));
  }
  scanner.join();
  PW_RETURN_IF_ERROR(queue.status());
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

WriteSet EventWriteSet(EdgeWrite edge, EventWrite event) {
  WriteSet writes;
  writes.unless_meta_exists = "event/" + event.event_id;
  writes.ops.push_back(std::move(edge));
  if (!event.recommendation_id.empty()) {
    writes.ops.push_back(OutcomeWrite{event.recommendation_id, event.event_id, event.type,
                                      event.item, event.ts});
  }
  writes.ops.push_back(std::move(event));
  return writes;
}

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

Result<double> Database::Impl::OnlineCounters::Value(std::string_view name,
                                                    const std::vector<std::string>& key,
                                                    int64_t at_ms) const {
  MutexLock lock(&impl_->counters_mu);
  return impl_->counters->ValueOfKey(name, key, at_ms);
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
