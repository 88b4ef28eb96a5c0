// CounterSet: per-key integer buckets, and every form derived from them at read time (see
// features.h for the definitions that make online and offline values identical).
#include <algorithm>
#include <array>
#include <climits>
#include <cmath>
#include <map>
#include <tuple>

#include "features/features.h"

namespace pathwise::features {
namespace {

struct Bucket {
  int64_t index;  // covers [index * bucket_ms, (index + 1) * bucket_ms)
  int64_t count;
};

// One count or decayed counter's state (ratios have none: they read their operands').
struct Counter {
  std::unordered_map<uint64_t, std::vector<Bucket>> keys;  // sparse: non-empty buckets only
  int64_t watermark = INT64_MIN;  // the newest observation's ts (buckets before it are pruned)
  size_t refused = 0;             // new keys refused at max_keys
};

uint64_t PackKey(uint32_t first, uint32_t second) { return (uint64_t{first} << 32) | second; }

}  // namespace

struct CounterSet::Impl {
  std::vector<CounterDef> defs;
  std::vector<Counter> counters;  // by index in defs
  std::unordered_map<std::string, size_t> by_name;
  std::unordered_map<std::string, std::vector<size_t>> by_event_type;
  std::vector<size_t> impression_counters;
  // Keys hold interned ids of the strings they name, each string once for all counters.
  std::unordered_map<std::string, uint32_t> ids;
  std::vector<std::string> strings;
  size_t ignored = 0;  // observations with ts outside [0, kMaxTs]

  const uint32_t* FindId(const std::string& s) const {
    auto it = ids.find(s);
    return it == ids.end() ? nullptr : &it->second;
  }
  uint32_t Intern(const std::string& s) {
    auto [it, added] = ids.emplace(s, static_cast<uint32_t>(strings.size()));
    if (added) strings.push_back(s);
    return it->second;
  }

  // The ids of one observation's strings, each looked up once for all the counters it feeds.
  struct IdCache {
    static constexpr int64_t kAbsent = -1;  // not interned (yet)
    std::array<std::pair<const std::string*, int64_t>, 4> found{};
    size_t size = 0;
  };
  int64_t FindId(const std::string& s, IdCache* cache) const {
    if (s.empty()) return 0;  // interned first, by the constructor
    for (size_t i = 0; i < cache->size; ++i) {
      if (cache->found[i].first == &s) return cache->found[i].second;
    }
    const uint32_t* id = FindId(s);
    const int64_t found = id == nullptr ? IdCache::kAbsent : int64_t{*id};
    if (cache->size < cache->found.size()) cache->found[cache->size++] = {&s, found};
    return found;
  }
  uint32_t Intern(const std::string& s, IdCache* cache) {
    const uint32_t id = Intern(s);
    for (size_t i = 0; i < cache->size; ++i) {
      if (cache->found[i].first == &s) cache->found[i].second = id;
    }
    return id;
  }

  // The strings an observation or a key names, by reference.
  struct Names {
    const std::string& user;
    const std::string& item;
    const std::string& surface;
    const std::string& segment;
  };

  // The two strings a key of def names; nullptr when the names lack what def is keyed by (a
  // segment_item counter and no segment).
  static std::pair<const std::string*, const std::string*> KeyStrings(const CounterDef& def,
                                                                      const Names& n) {
    static const std::string kNone;
    switch (def.key) {
      case KeyKind::kItem: return {&n.item, &kNone};
      case KeyKind::kUser: return {&n.user, &kNone};
      case KeyKind::kUserItem: return {&n.user, &n.item};
      case KeyKind::kItemSurface: return {&n.item, &n.surface};
      case KeyKind::kSegmentItem:
        if (n.segment.empty()) return {nullptr, nullptr};
        return {&n.segment, &n.item};
    }
    return {&n.item, &kNone};
  }

  bool Stale(const CounterDef& def, const Counter& c, int64_t index) const {
    return c.watermark != INT64_MIN && (index + 1) * def.bucket_ms <= c.watermark - def.window_ms;
  }

  // Drops buckets that left the window of every read at or after the watermark.
  void Prune(const CounterDef& def, const Counter& c, std::vector<Bucket>* buckets) const {
    auto keep = std::find_if(buckets->begin(), buckets->end(),
                             [&](const Bucket& b) { return !Stale(def, c, b.index); });
    buckets->erase(buckets->begin(), keep);
  }

  void Sweep(const CounterDef& def, Counter* c) {
    for (auto it = c->keys.begin(); it != c->keys.end();) {
      Prune(def, *c, &it->second);
      it = it->second.empty() ? c->keys.erase(it) : std::next(it);
    }
  }

  void Add(size_t index, const Names& names, int64_t ts, IdCache* cache) {
    const CounterDef& def = defs[index];
    auto [first, second] = KeyStrings(def, names);
    if (first == nullptr) return;  // not an observation of this counter's key
    Counter& c = counters[index];
    const int64_t bucket = ts / def.bucket_ms;
    c.watermark = std::max(c.watermark, ts);
    if (Stale(def, c, bucket)) return;
    const int64_t a = FindId(*first, cache);
    const int64_t b = FindId(*second, cache);
    auto it = a != IdCache::kAbsent && b != IdCache::kAbsent
                  ? c.keys.find(PackKey(static_cast<uint32_t>(a), static_cast<uint32_t>(b)))
                  : c.keys.end();
    if (it == c.keys.end()) {
      if (c.keys.size() >= def.max_keys) Sweep(def, &c);
      if (c.keys.size() >= def.max_keys) {
        ++c.refused;
        return;
      }
      const uint32_t ia = Intern(*first, cache);
      it = c.keys.emplace(PackKey(ia, Intern(*second, cache)), std::vector<Bucket>()).first;
    }
    std::vector<Bucket>& buckets = it->second;
    if (buckets.empty() || buckets.back().index < bucket) {
      buckets.push_back({bucket, 1});
    } else {
      auto pos = std::lower_bound(buckets.begin(), buckets.end(), bucket,
                                  [](const Bucket& x, int64_t i) { return x.index < i; });
      if (pos != buckets.end() && pos->index == bucket) {
        ++pos->count;
      } else {
        buckets.insert(pos, {bucket, 1});
      }
    }
    Prune(def, c, &buckets);
  }

  // A count or decayed counter's value from its buckets at T.
  static double Sum(const CounterDef& def, const std::vector<Bucket>* buckets, int64_t at) {
    if (buckets == nullptr) return 0;
    const int64_t low = at - def.window_ms;
    int64_t total = 0;
    double decayed = 0;
    for (const Bucket& b : *buckets) {
      const int64_t end = (b.index + 1) * def.bucket_ms;
      if (end <= low) continue;
      if (end > at) break;
      total += b.count;
      decayed += static_cast<double>(b.count) *
                 std::exp2(-static_cast<double>(at - end) / static_cast<double>(def.half_life_ms));
    }
    return def.form == Form::kDecayed ? decayed : static_cast<double>(total);
  }

  // Whether a bucket counts at T (keys without one are not listed: which stale buckets are
  // still held depends on arrival order, what counts does not).
  static bool AnyInWindow(const CounterDef& def, const std::vector<Bucket>& buckets, int64_t at) {
    for (const Bucket& b : buckets) {
      const int64_t end = (b.index + 1) * def.bucket_ms;
      if (end > at) return false;
      if (end > at - def.window_ms) return true;
    }
    return false;
  }

  const std::vector<Bucket>* Find(size_t index, uint64_t key) const {
    auto it = counters[index].keys.find(key);
    return it == counters[index].keys.end() ? nullptr : &it->second;
  }

  double ValueOf(size_t index, uint64_t key, bool known, int64_t at) const {
    const CounterDef& def = defs[index];
    if (def.form != Form::kRatio) return Sum(def, known ? Find(index, key) : nullptr, at);
    const double num = ValueOf(by_name.at(def.numerator), key, known, at);
    const double den = ValueOf(by_name.at(def.denominator), key, known, at);
    return (num + def.alpha) / (den + def.alpha + def.beta);
  }

  KeyFields Fields(KeyKind kind, uint64_t key) const {
    const std::string& first = strings[key >> 32];
    const std::string& second = strings[key & 0xffffffffu];
    switch (kind) {
      case KeyKind::kItem: return {"", first, ""};
      case KeyKind::kUser: return {first, "", ""};
      case KeyKind::kUserItem: return {first, second, ""};
      case KeyKind::kItemSurface: return {"", first, second};
      case KeyKind::kSegmentItem: return {"", second, "", first};
    }
    return {};
  }
};

CounterSet::CounterSet(std::vector<CounterDef> defs) : impl_(std::make_unique<Impl>()) {
  impl_->defs = std::move(defs);
  impl_->counters.resize(impl_->defs.size());
  impl_->Intern("");  // id 0: the empty second half of one-field keys
  for (size_t i = 0; i < impl_->defs.size(); ++i) {
    const CounterDef& def = impl_->defs[i];
    impl_->by_name[def.name] = i;
    if (def.form == Form::kRatio) continue;
    if (def.impressions) impl_->impression_counters.push_back(i);
    for (const auto& type : def.event_types) impl_->by_event_type[type].push_back(i);
  }
}

CounterSet::~CounterSet() = default;
CounterSet::CounterSet(CounterSet&&) noexcept = default;
CounterSet& CounterSet::operator=(CounterSet&&) noexcept = default;

const std::vector<CounterDef>& CounterSet::defs() const { return impl_->defs; }

int64_t CounterSet::Horizon() const {
  int64_t horizon = 0;
  for (const auto& def : impl_->defs) {
    if (def.form != Form::kRatio) horizon = std::max(horizon, def.window_ms + def.bucket_ms);
  }
  return horizon;
}

void CounterSet::AddEvent(const Event& event) {
  auto it = impl_->by_event_type.find(event.type);
  if (it == impl_->by_event_type.end()) return;
  if (event.ts < 0 || event.ts > kMaxTs) {
    ++impl_->ignored;
    return;
  }
  static const std::string kNoSurface;
  const Impl::Names names{event.user, event.item, kNoSurface, event.segment};
  Impl::IdCache cache;
  for (size_t index : it->second) impl_->Add(index, names, event.ts, &cache);
}

void CounterSet::AddImpression(const Impression& impression) {
  if (impl_->impression_counters.empty()) return;
  if (impression.ts < 0 || impression.ts > kMaxTs) {
    ++impl_->ignored;
    return;
  }
  for (const std::string& item : impression.items) {
    const Impl::Names names{impression.user, item, impression.surface, impression.segment};
    Impl::IdCache cache;
    for (size_t index : impl_->impression_counters) impl_->Add(index, names, impression.ts, &cache);
  }
}

// The declaration index of counter `name`; InvalidArgument when none is declared.
Result<size_t> CounterSet::Find(std::string_view name) const {
  auto it = impl_->by_name.find(std::string(name));
  if (it == impl_->by_name.end()) {
    return Status::InvalidArgument("unknown counter '" + std::string(name) + "'");
  }
  return it->second;
}

Result<double> CounterSet::Value(std::string_view name, const KeyFields& key, int64_t at_ms) const {
  PW_ASSIGN_OR_RETURN(size_t index, Find(name));
  return ValueAt(index, key, at_ms);
}

double CounterSet::ValueAt(size_t index, const KeyFields& key, int64_t at_ms) const {
  auto [first, second] = Impl::KeyStrings(impl_->defs[index],
                                          Impl::Names{key.user, key.item, key.surface, key.segment});
  const uint32_t* a = first ? impl_->FindId(*first) : nullptr;
  const uint32_t* b = second ? impl_->FindId(*second) : nullptr;
  const bool known = a != nullptr && b != nullptr;
  const int64_t at = std::clamp<int64_t>(at_ms, -kMaxWindowMs, kMaxTs + kMaxWindowMs);
  return impl_->ValueOf(index, known ? PackKey(*a, *b) : 0, known, at);
}

Result<double> CounterSet::ValueOfKey(std::string_view name, const std::vector<std::string>& ids,
                                      int64_t at_ms) const {
  PW_ASSIGN_OR_RETURN(size_t index, Find(name));
  const CounterDef& def = impl_->defs[index];
  const std::vector<std::string> fields = KeyFieldNames(def.key);
  if (ids.size() != fields.size()) {
    std::string shape;
    for (const std::string& field : fields) shape += (shape.empty() ? "" : ", ") + field;
    return Status::InvalidArgument("counter '" + def.name + "' is keyed by (" + shape + "): " +
                                   std::to_string(fields.size()) + " key value(s), got " +
                                   std::to_string(ids.size()));
  }
  KeyFields key;
  for (size_t i = 0; i < fields.size(); ++i) key.Field(fields[i]) = ids[i];
  return ValueAt(index, key, at_ms);
}

void CounterSet::ForEach(
    int64_t at_ms, const std::function<void(const CounterDef&, const KeyFields&, double)>& fn) const {
  const int64_t at = std::clamp<int64_t>(at_ms, -kMaxWindowMs, kMaxTs + kMaxWindowMs);
  for (size_t i = 0; i < impl_->defs.size(); ++i) {
    const CounterDef& def = impl_->defs[i];
    std::vector<size_t> sources = {i};
    if (def.form == Form::kRatio) {
      sources = {impl_->by_name.at(def.numerator), impl_->by_name.at(def.denominator)};
    }
    // Ordered by (segment, user, item, surface): for every key kind its fields' order, the
    // fields it does not use being empty.
    std::map<std::tuple<std::string, std::string, std::string, std::string>, uint64_t> keys;
    for (size_t source : sources) {
      const CounterDef& source_def = impl_->defs[source];
      for (const auto& [key, buckets] : impl_->counters[source].keys) {
        if (!Impl::AnyInWindow(source_def, buckets, at)) continue;
        KeyFields f = impl_->Fields(def.key, key);
        keys.emplace(std::make_tuple(f.segment, f.user, f.item, f.surface), key);
      }
    }
    for (const auto& [fields, key] : keys) {
      const auto& [segment, user, item, surface] = fields;
      fn(def, KeyFields{user, item, surface, segment}, impl_->ValueOf(i, key, true, at));
    }
  }
}

nlohmann::json CounterSet::Stats() const {
  nlohmann::json counters = nlohmann::json::object();
  for (size_t i = 0; i < impl_->defs.size(); ++i) {
    if (impl_->defs[i].form == Form::kRatio) continue;
    const Counter& c = impl_->counters[i];
    size_t buckets = 0;
    for (const auto& [key, b] : c.keys) buckets += b.size();
    counters[impl_->defs[i].name] = {
        {"keys", c.keys.size()}, {"buckets", buckets}, {"refused_keys", c.refused}};
  }
  return {{"counters", counters},
          {"interned_ids", impl_->strings.size()},
          {"ignored_observations", impl_->ignored}};
}

}  // namespace pathwise::features
