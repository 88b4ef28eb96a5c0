// features/: counters declared once in the schema and computed by this one piece of code, online
// (db/ feeds every applied event and logged impression) and offline (`pathwise export features`
// folds the stored logs). No storage inside: callers hand observations in and read values out.
//
// Exactness: per key a counter keeps only integer counts per time bucket (bucket b covers
// [b * bucket_ms, (b + 1) * bucket_ms), its end is (b + 1) * bucket_ms). Every form is derived
// from the buckets at the read time T:
//   count    sum of count_b over the buckets with T - window < end_b <= T
//   decayed  sum of count_b * 2^(-(T - end_b) / half_life) over the same buckets, in bucket order
//   ratio    (numerator(T) + alpha) / (denominator(T) + alpha + beta)
// Integer counts make a counter independent of the order observations arrive in, so the same
// observations give the same value to the last bit online and offline. Only whole buckets count:
// a value read at T reflects the observations before the last bucket boundary <= T (a counter
// lags by at most one bucket; declare a smaller bucket for fresher values). docs/feedback-loop.md,
// "Counters".
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "storage/status.h"

namespace pathwise::features {

// What a counter is keyed by.
// kSegmentItem: the segment is a short string the app sends with an event (its "segment") or
// with a decision request (its context's "segment"); an observation without one is not counted
// by segment_item counters.
enum class KeyKind : uint8_t { kItem, kUser, kUserItem, kItemSurface, kSegmentItem };
enum class Form : uint8_t { kCount, kDecayed, kRatio };

// Limits of a declaration (InvalidArgument beyond them).
constexpr size_t kMaxCounters = 64;             // counters in one schema
constexpr size_t kMaxCounterNameBytes = 64;
constexpr int64_t kMaxWindowMs = 3650LL * 24 * 3600 * 1000;  // 10 years
constexpr int64_t kMaxBucketsPerWindow = 10000;  // window / bucket: bounds memory per key
constexpr size_t kDefaultMaxKeys = 1000000;      // keys per counter unless declared
constexpr size_t kMaxKeysLimit = 100000000;      // the most a declaration may ask for
// Observations with ts outside [0, kMaxTs] are ignored (and counted in Stats).
constexpr int64_t kMaxTs = (int64_t{1} << 48) - 1;

struct CounterDef {
  std::string name;
  KeyKind key = KeyKind::kItem;
  Form form = Form::kCount;
  // count and decayed: what they count, events of these types or impressions (one per served
  // item of a logged decision).
  bool impressions = false;
  std::vector<std::string> event_types;
  int64_t window_ms = 0;
  int64_t bucket_ms = 0;     // default window / 24
  int64_t half_life_ms = 0;  // decayed only
  // ratio only: two count or decayed counters of the same key kind, and the Beta prior.
  std::string numerator;
  std::string denominator;
  double alpha = 1;
  double beta = 1;
  size_t max_keys = kDefaultMaxKeys;  // new keys beyond it are refused (and counted in Stats)
};

// Parses a schema's "counters" array strictly: unknown fields, duplicate names, bad windows,
// ratios over unknown counters or other key kinds are InvalidArgument naming the counter.
// Fields: name, key ("item" | "user" | "user_item" | "item_surface" | "segment_item"), source
// ({"events": [types]} | "impressions"), window (ms, or "90s", "30m", "24h", "7d"), bucket (same;
// default window / 24), form ("count" (default) | "decayed" | "ratio"), half_life (decayed),
// numerator, denominator, alpha, beta (ratio; default 1 and 1), max_keys.
Result<std::vector<CounterDef>> ParseCounters(const nlohmann::json& counters);
// The declaration as JSON (the form ParseCounters reads, with every default written out).
nlohmann::json CounterToJson(const CounterDef& def);

// One accepted event, as logged.
struct Event {
  std::string type;
  std::string user;
  std::string item;
  int64_t ts = 0;
  std::string segment = {};  // empty: none
};

// One logged decision: each served item counts once for impression counters.
struct Impression {
  std::string surface;
  std::string user;
  std::vector<std::string> items;
  int64_t ts = 0;       // served at
  std::string segment = {};  // the request context's segment; empty: none
};

// A counter's key, by the external ids it names (unused fields are empty).
struct KeyFields {
  std::string user;
  std::string item;
  std::string surface;
  std::string segment = {};
  // The field a KeyFieldNames name stands for ("user", "item", "surface", "segment").
  std::string& Field(std::string_view name);
  const std::string& Field(std::string_view name) const;
};

// A set of counters and their per-key buckets. Not thread-safe: the caller serialises writes
// (db/: the writer role) against reads.
class CounterSet {
 public:
  // REQUIRES: defs passed ParseCounters.
  explicit CounterSet(std::vector<CounterDef> defs);
  ~CounterSet();
  CounterSet(CounterSet&&) noexcept;
  CounterSet& operator=(CounterSet&&) noexcept;

  const std::vector<CounterDef>& defs() const;
  // The longest window of the set (0 when it has no count or decayed counter) plus its bucket:
  // observations older than T minus this cannot change a value read at T.
  int64_t Horizon() const;

  // Feed one observation to every counter that counts it.
  void AddEvent(const Event& event);
  void AddImpression(const Impression& impression);

  // The value of counter `name` for key at T. InvalidArgument for an unknown counter; a key
  // never seen has the value of no observations (0, or alpha / (alpha + beta) for a ratio).
  // Exact for T at or after the newest observation's ts (older buckets are pruned relative to
  // it).
  Result<double> Value(std::string_view name, const KeyFields& key, int64_t at_ms) const;
  // Value() with the key given as external ids in KeyFieldNames(kind) order: {item}, {user},
  // {user, item}, {item, surface}, {segment, item}. InvalidArgument for an unknown counter or a
  // key with another number of ids (the message names the key's fields). PQL's counter() reads
  // through this.
  Result<double> ValueOfKey(std::string_view name, const std::vector<std::string>& ids,
                            int64_t at_ms) const;
  // Visits every (counter, key) with a bucket inside its window at T, counters in declaration
  // order, keys in the order of their fields (KeyFieldNames order), with its value at T (ratios:
  // every key of their denominator or numerator).
  void ForEach(int64_t at_ms,
               const std::function<void(const CounterDef&, const KeyFields&, double)>& fn) const;
  // {"counters": {name: {"keys", "buckets", "refused_keys"}}, "ignored_observations"}
  nlohmann::json Stats() const;

 private:
  Result<size_t> Find(std::string_view name) const;
  // Value() of the counter declared at index.
  double ValueAt(size_t index, const KeyFields& key, int64_t at_ms) const;

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One exported value: {"counter": name, the key's fields (KeyFieldNames), "value"}.
nlohmann::json ValueLine(const CounterDef& def, const KeyFields& key, double value);

// The JSON fields a key kind names, in key order ("item"; "user"; "user", "item"; "item",
// "surface"; "segment", "item").
std::vector<std::string> KeyFieldNames(KeyKind kind);
const char* KeyKindName(KeyKind kind);

}  // namespace pathwise::features
