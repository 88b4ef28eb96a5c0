// Counter declarations: the schema's "counters" array, parsed and validated strictly.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>

#include "features/features.h"

namespace pathwise::features {
namespace {

using json = nlohmann::json;

constexpr const char* kFields[] = {"name",      "key",         "source",   "window", "bucket",
                                   "form",      "half_life",   "numerator", "denominator",
                                   "alpha",     "beta",        "max_keys"};

Status Bad(const std::string& counter, const std::string& what) {
  return Status::InvalidArgument("counter '" + counter + "': " + what);
}

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > kMaxCounterNameBytes) return false;
  if (!std::isalpha(static_cast<unsigned char>(name[0])) && name[0] != '_') return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

// A duration: a positive integer of milliseconds, or digits followed by ms, s, m, h or d.
Result<int64_t> ParseDuration(const json& v, const std::string& counter, const char* field) {
  const std::string bad = std::string(field) +
                          " must be a positive number of milliseconds or a string such as "
                          "\"90s\", \"30m\", \"24h\", \"7d\"";
  if (v.is_number_integer()) {  // also true for unsigned JSON integers
    const bool in_range = v.is_number_unsigned()
                              ? v.get<uint64_t>() >= 1 && v.get<uint64_t>() <= uint64_t(kMaxWindowMs)
                              : v.get<int64_t>() >= 1 && v.get<int64_t>() <= kMaxWindowMs;
    if (!in_range) return Bad(counter, bad + " (at most 3650d)");
    return v.get<int64_t>();
  }
  if (!v.is_string()) return Bad(counter, bad);
  const std::string text = v.get<std::string>();
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0 || digits > 12) return Bad(counter, bad);
  const std::string unit = text.substr(digits);
  static const std::map<std::string, int64_t> kUnits = {
      {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
  auto it = kUnits.find(unit);
  if (it == kUnits.end()) return Bad(counter, bad);
  const int64_t n = std::stoll(text.substr(0, digits));
  if (n <= 0 || n > kMaxWindowMs / it->second) return Bad(counter, bad + " (at most 3650d)");
  return n * it->second;
}

Result<KeyKind> ParseKey(const json& v, const std::string& counter) {
  static const std::map<std::string, KeyKind> kKinds = {{"item", KeyKind::kItem},
                                                         {"user", KeyKind::kUser},
                                                         {"user_item", KeyKind::kUserItem},
                                                         {"item_surface", KeyKind::kItemSurface},
                                                         {"segment_item", KeyKind::kSegmentItem}};
  auto it = v.is_string() ? kKinds.find(v.get<std::string>()) : kKinds.end();
  if (it == kKinds.end()) {
    return Bad(counter,
               "key must be one of \"item\", \"user\", \"user_item\", \"item_surface\", "
               "\"segment_item\"");
  }
  return it->second;
}

Result<Form> ParseForm(const json& counter_json, const std::string& counter) {
  auto it = counter_json.find("form");
  if (it == counter_json.end()) return Form::kCount;
  static const std::map<std::string, Form> kForms = {
      {"count", Form::kCount}, {"decayed", Form::kDecayed}, {"ratio", Form::kRatio}};
  auto found = it->is_string() ? kForms.find(it->get<std::string>()) : kForms.end();
  if (found == kForms.end()) {
    return Bad(counter, "form must be one of \"count\", \"decayed\", \"ratio\"");
  }
  return found->second;
}

Status ParseSource(const json& c, CounterDef* def) {
  auto it = c.find("source");
  if (it == c.end()) return Bad(def->name, "source is required ({\"events\": [types]} or \"impressions\")");
  if (*it == "impressions") {
    def->impressions = true;
    return Status::OK();
  }
  const bool events = it->is_object() && it->size() == 1 && it->contains("events") &&
                      (*it)["events"].is_array() && !(*it)["events"].empty();
  if (!events) return Bad(def->name, "source must be {\"events\": [type, ...]} or \"impressions\"");
  for (const json& type : (*it)["events"]) {
    if (!type.is_string() || type.get<std::string>().empty() || type.get<std::string>().size() > 512) {
      return Bad(def->name, "event types are non-empty strings of at most 512 bytes");
    }
    def->event_types.push_back(type.get<std::string>());
  }
  return Status::OK();
}

Result<double> PriorTerm(const json& c, const char* field, const std::string& counter) {
  auto it = c.find(field);
  if (it == c.end()) return 1.0;
  if (!it->is_number() || !std::isfinite(it->get<double>()) || it->get<double>() < 0) {
    return Bad(counter, std::string(field) + " must be a finite number >= 0");
  }
  return it->get<double>();
}

// The fields of a count or decayed counter.
Status ParseCounted(const json& c, CounterDef* def) {
  for (const char* f : {"numerator", "denominator", "alpha", "beta"}) {
    if (c.contains(f)) return Bad(def->name, std::string(f) + " is for ratio counters only");
  }
  PW_RETURN_IF_ERROR(ParseSource(c, def));
  if (!def->impressions && def->key == KeyKind::kItemSurface) {
    return Bad(def->name, "item_surface counters count impressions (events carry no surface)");
  }
  if (!c.contains("window")) return Bad(def->name, "window is required");
  PW_ASSIGN_OR_RETURN(def->window_ms, ParseDuration(c["window"], def->name, "window"));
  def->bucket_ms = std::max<int64_t>(1, def->window_ms / 24);
  if (c.contains("bucket")) {
    PW_ASSIGN_OR_RETURN(def->bucket_ms, ParseDuration(c["bucket"], def->name, "bucket"));
  }
  if (def->bucket_ms > def->window_ms) return Bad(def->name, "bucket must not exceed the window");
  if (def->window_ms / def->bucket_ms > kMaxBucketsPerWindow) {
    return Bad(def->name, "a window holds at most " + std::to_string(kMaxBucketsPerWindow) +
                              " buckets; declare a larger bucket");
  }
  if (def->form == Form::kDecayed) {
    if (!c.contains("half_life")) return Bad(def->name, "a decayed counter needs half_life");
    PW_ASSIGN_OR_RETURN(def->half_life_ms, ParseDuration(c["half_life"], def->name, "half_life"));
  } else if (c.contains("half_life")) {
    return Bad(def->name, "half_life is for decayed counters only");
  }
  return Status::OK();
}

Status ParseRatio(const json& c, CounterDef* def) {
  for (const char* f : {"source", "window", "bucket", "half_life", "max_keys"}) {
    if (c.contains(f)) return Bad(def->name, std::string(f) + " is not for ratio counters (their operands have it)");
  }
  for (auto [field, out] : {std::pair{"numerator", &def->numerator},
                            std::pair{"denominator", &def->denominator}}) {
    auto it = c.find(field);
    if (it == c.end() || !it->is_string()) {
      return Bad(def->name, std::string("a ratio needs ") + field + " (a counter's name)");
    }
    *out = it->get<std::string>();
  }
  PW_ASSIGN_OR_RETURN(def->alpha, PriorTerm(c, "alpha", def->name));
  PW_ASSIGN_OR_RETURN(def->beta, PriorTerm(c, "beta", def->name));
  if (def->alpha + def->beta <= 0) return Bad(def->name, "alpha + beta must be > 0");
  return Status::OK();
}

Result<CounterDef> ParseOne(const json& c) {
  if (!c.is_object()) return Status::InvalidArgument("each counter is a JSON object");
  auto name = c.find("name");
  if (name == c.end() || !name->is_string() || !ValidName(name->get<std::string>())) {
    return Status::InvalidArgument(
        "a counter needs a name of 1..64 characters [A-Za-z_][A-Za-z0-9_]*");
  }
  CounterDef def;
  def.name = name->get<std::string>();
  for (const auto& [field, _] : c.items()) {
    bool known = false;
    for (const char* f : kFields) known |= field == f;
    if (!known) return Bad(def.name, "unknown field '" + field + "'");
  }
  if (!c.contains("key")) return Bad(def.name, "key is required");
  PW_ASSIGN_OR_RETURN(def.key, ParseKey(c["key"], def.name));
  PW_ASSIGN_OR_RETURN(def.form, ParseForm(c, def.name));
  if (auto it = c.find("max_keys"); it != c.end()) {
    if (!it->is_number_unsigned() || it->get<uint64_t>() == 0 || it->get<uint64_t>() > kMaxKeysLimit) {
      return Bad(def.name, "max_keys must be an integer in 1.." + std::to_string(kMaxKeysLimit));
    }
    def.max_keys = it->get<size_t>();
  }
  PW_RETURN_IF_ERROR(def.form == Form::kRatio ? ParseRatio(c, &def) : ParseCounted(c, &def));
  return def;
}

// A ratio's operands: declared, counted (not ratios) and of the ratio's key kind.
Status CheckRatios(const std::vector<CounterDef>& defs) {
  std::map<std::string, const CounterDef*> by_name;
  for (const auto& d : defs) by_name[d.name] = &d;
  for (const auto& d : defs) {
    if (d.form != Form::kRatio) continue;
    for (const std::string& operand : {d.numerator, d.denominator}) {
      auto it = by_name.find(operand);
      if (it == by_name.end()) return Bad(d.name, "unknown counter '" + operand + "'");
      if (it->second->form == Form::kRatio) return Bad(d.name, "'" + operand + "' is a ratio");
      if (it->second->key != d.key) {
        return Bad(d.name, "'" + operand + "' is keyed by " + KeyKindName(it->second->key) +
                               ", the ratio by " + KeyKindName(d.key));
      }
    }
  }
  return Status::OK();
}

}  // namespace

const char* KeyKindName(KeyKind kind) {
  switch (kind) {
    case KeyKind::kItem: return "item";
    case KeyKind::kUser: return "user";
    case KeyKind::kUserItem: return "user_item";
    case KeyKind::kItemSurface: return "item_surface";
    case KeyKind::kSegmentItem: return "segment_item";
  }
  return "item";
}

std::string& KeyFields::Field(std::string_view name) {
  return name == "user" ? user : name == "item" ? item : name == "surface" ? surface : segment;
}

const std::string& KeyFields::Field(std::string_view name) const {
  return const_cast<KeyFields*>(this)->Field(name);
}

std::vector<std::string> KeyFieldNames(KeyKind kind) {
  switch (kind) {
    case KeyKind::kItem: return {"item"};
    case KeyKind::kUser: return {"user"};
    case KeyKind::kUserItem: return {"user", "item"};
    case KeyKind::kItemSurface: return {"item", "surface"};
    case KeyKind::kSegmentItem: return {"segment", "item"};
  }
  return {};
}

json ValueLine(const CounterDef& def, const KeyFields& key, double value) {
  json line = {{"counter", def.name}};
  for (const std::string& field : KeyFieldNames(def.key)) {
    line[field] = key.Field(field);
  }
  line["value"] = value;
  return line;
}

Result<std::vector<CounterDef>> ParseCounters(const json& counters) {
  if (!counters.is_array()) return Status::InvalidArgument("\"counters\" must be an array");
  if (counters.size() > kMaxCounters) {
    return Status::InvalidArgument("at most " + std::to_string(kMaxCounters) + " counters");
  }
  std::vector<CounterDef> defs;
  std::set<std::string> names;
  for (const json& c : counters) {
    PW_ASSIGN_OR_RETURN(CounterDef def, ParseOne(c));
    if (!names.insert(def.name).second) return Bad(def.name, "declared twice");
    defs.push_back(std::move(def));
  }
  PW_RETURN_IF_ERROR(CheckRatios(defs));
  return defs;
}

json CounterToJson(const CounterDef& def) {
  static const char* const kForms[] = {"count", "decayed", "ratio"};
  json out = {{"name", def.name},
              {"key", KeyKindName(def.key)},
              {"form", kForms[static_cast<int>(def.form)]}};
  if (def.form == Form::kRatio) {
    out["numerator"] = def.numerator;
    out["denominator"] = def.denominator;
    out["alpha"] = def.alpha;
    out["beta"] = def.beta;
    return out;
  }
  out["source"] = def.impressions ? json("impressions") : json{{"events", def.event_types}};
  out["window"] = def.window_ms;
  out["bucket"] = def.bucket_ms;
  if (def.form == Form::kDecayed) out["half_life"] = def.half_life_ms;
  out["max_keys"] = def.max_keys;
  return out;
}

}  // namespace pathwise::features
