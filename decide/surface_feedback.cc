// The parts of a surface definition that serve the feedback loop (docs/feedback-loop.md):
// frequency_cap rules, A/B variants with their sticky assignment, and the report's event types.
#include <cmath>
#include <set>

#include "decide/decide.h"
#include "decide/surface.h"

namespace pathwise::decide {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxVariants = 16;
constexpr size_t kMaxNeverAfter = 16;
constexpr size_t kMaxReportTypes = 32;
constexpr double kMaxWeight = 1e6;

// Event types become PQL string literals: keep them to characters that need no escaping.
bool IsEventTypeName(const std::string& s) {
  if (s.empty() || s.size() > 128) return false;
  for (char c : s) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' ||
              c == ':';
    if (!ok) return false;
  }
  return true;
}

// The never_after test: the first event type (in name order) whose edge goes from u to i.
std::string NeverAfterExpr(const std::map<std::string, std::string>& never_after) {
  if (never_after.empty()) return "";
  std::string expr = "CASE";
  for (const auto& [event, edge] : never_after) {
    expr += " WHEN EXISTS { (u)-[:" + edge + "]->(i) } THEN '" + event + "'";
  }
  return expr + " ELSE null END";
}

// Replaces a never_after list of event types by {event type: edge type}.
Status ResolveNeverAfter(const json& table, const std::string& user_type,
                         const std::string& item_type, const std::string& path, json* rule) {
  json resolved = json::object();
  for (const json& event : (*rule)["never_after"]) {
    if (!event.is_string()) return Bad(path, "must list event types (strings)");
    const std::string name = event.get<std::string>();
    auto it = table.find(name);
    if (it == table.end() || !it->is_object() || !it->contains("edge")) {
      return Bad(path, "names event type '" + name +
                           "', which is not in the event-type table (PUT /v1/admin/event-types)");
    }
    std::string users = it->value("user_type", "User"), items = it->value("item_type", "Item");
    if (users != user_type || items != item_type) {
      return Bad(path, "names event type '" + name + "', whose edges go from " + users + " to " +
                           items + ", not from the surface's " + user_type + " to " + item_type);
    }
    resolved[name] = (*it)["edge"];
  }
  (*rule)["never_after"] = std::move(resolved);
  return Status::OK();
}

// Resolves the never_after lists of one rules array (a base or a variant's).
Status ResolveRules(const Database& db, const std::string& user_type, const std::string& item_type,
                    const std::string& path, std::optional<json>* table, json* rules) {
  if (!rules->is_array()) return Status::OK();  // ParseSurface reports it
  for (size_t i = 0; i < rules->size(); ++i) {
    json& rule = (*rules)[i];
    if (!rule.is_object() || rule.value("type", json()) != "frequency_cap" ||
        !rule.contains("never_after") || !rule["never_after"].is_array()) {
      continue;
    }
    if (!table->has_value()) {
      PW_ASSIGN_OR_RETURN(json loaded, db.GetEventTypes());
      *table = std::move(loaded);
    }
    PW_RETURN_IF_ERROR(ResolveNeverAfter(**table, user_type, item_type,
                                         path + "rules[" + std::to_string(i) + "].never_after",
                                         &rule));
  }
  return Status::OK();
}

Result<std::vector<std::string>> EventTypeList(const json& obj, const std::string& field,
                                               const std::string& path) {
  const json& v = obj[field];
  if (!v.is_array() || v.size() > kMaxReportTypes) {
    return Bad(path, "must be a list of at most " + std::to_string(kMaxReportTypes) + " event types");
  }
  std::vector<std::string> out;
  for (const json& e : v) {
    if (!e.is_string() || e.get<std::string>().empty()) return Bad(path, "must hold event types (strings)");
    out.push_back(e.get<std::string>());
  }
  return out;
}

Result<double> VariantWeight(const json& v, const std::string& path) {
  auto it = v.find("weight");
  if (it == v.end() || it->is_null()) return 1.0;
  if (!it->is_number() || !std::isfinite(it->get<double>()) || it->get<double>() <= 0 ||
      it->get<double>() > kMaxWeight) {
    return Bad(path, "must be a number above 0 (at most 1e6)");
  }
  return it->get<double>();
}

// The fields a variant may override; everything else is the surface's.
const std::set<std::string>& OverrideFields() {
  static const std::set<std::string> fields = {"recipe",         "fallbacks", "params",
                                               "k",              "min_items", "min_confidence",
                                               "candidates_factor", "rules", "exploration"};
  return fields;
}

// One variant: the base definition with the variant's overrides, parsed as a surface.
Result<Variant> ParseVariant(const json& def, const json& v, size_t index, Surface* base) {
  std::string path = "variants[" + std::to_string(index) + "]";
  if (!v.is_object()) return Bad(path, "must be an object {name, weight, overrides...}");
  std::set<std::string> known = OverrideFields();
  known.insert({"name", "weight", "description"});
  PW_RETURN_IF_ERROR(CheckFields(v, known, path));
  Variant variant;
  PW_ASSIGN_OR_RETURN(variant.name, StringField(v, "name", path + ".name", true));
  if (!IsValidName(variant.name)) return Bad(path + ".name", "must be 1 to 128 of [A-Za-z0-9_.-]");
  PW_ASSIGN_OR_RETURN(variant.weight, VariantWeight(v, path + ".weight"));
  json merged = def;
  merged.erase("variants");
  merged.erase("variant_salt");
  json normalized = {{"name", variant.name}, {"weight", variant.weight}};
  for (const std::string& field : OverrideFields()) {
    if (v.contains(field)) merged[field] = v[field];
  }
  auto parsed = ParseSurface(base->name, merged);
  if (!parsed.ok()) return parsed.status().WithPrefix(path);
  Surface s = std::move(parsed).value();
  s.variant = variant.name;
  s.variant_salt = base->variant_salt;
  s.own_rules = v.contains("rules");
  for (const std::string& field : OverrideFields()) {
    if (!v.contains(field)) continue;
    normalized[field] = s.definition[field];
  }
  if (v.contains("description")) normalized["description"] = v["description"];
  s.definition = normalized;
  variant.surface = std::make_shared<const Surface>(std::move(s));
  return variant;
}

}  // namespace

Result<Rule> ParseFrequencyCap(const json& r, const std::string& path) {
  PW_RETURN_IF_ERROR(CheckFields(r, {"type", "max", "window_seconds", "never_after"}, path));
  Rule rule;
  rule.type = Rule::Type::kFrequencyCap;
  PW_ASSIGN_OR_RETURN(rule.max, IntField(r, "max", 0, 1, 1000, path + ".max"));
  PW_ASSIGN_OR_RETURN(rule.window_seconds, IntField(r, "window_seconds", 0, 1,
                                                    kMaxCapWindowSeconds, path + ".window_seconds"));
  if ((rule.max > 0) != (rule.window_seconds > 0)) {
    return Bad(path, "needs both 'max' and 'window_seconds' (or neither, with 'never_after')");
  }
  auto never = r.find("never_after");
  if (never != r.end() && !never->is_null()) {
    if (!never->is_object() || never->size() > kMaxNeverAfter) {
      return Bad(path + ".never_after",
                 "must list at most " + std::to_string(kMaxNeverAfter) +
                     " event types of the event-type table");
    }
    for (const auto& [event, edge] : never->items()) {
      if (!IsEventTypeName(event)) {
        return Bad(path + ".never_after", "event type '" + event + "' is not 1 to 128 of [A-Za-z0-9_.:-]");
      }
      if (!edge.is_string() || !IsIdentifier(edge.get<std::string>())) {
        return Bad(path + ".never_after." + event, "must be an edge type name");
      }
      rule.never_after[event] = edge.get<std::string>();
    }
  }
  if (rule.max == 0 && rule.never_after.empty()) {
    return Bad(path, "needs 'max' with 'window_seconds', or 'never_after', or both");
  }
  rule.expr = NeverAfterExpr(rule.never_after);
  return rule;
}

json FrequencyCapJson(const Rule& rule) {
  json j = {{"type", "frequency_cap"}};
  if (rule.max > 0) {
    j["max"] = rule.max;
    j["window_seconds"] = rule.window_seconds;
  }
  j["never_after"] = rule.never_after;
  return j;
}

Status ParseReportSettings(const json& def, Surface* s) {
  auto r = def.find("report");
  if (r == def.end() || r->is_null()) return Status::OK();
  if (!r->is_object()) return Bad("report", "must be an object {clicks, conversions}");
  PW_RETURN_IF_ERROR(CheckFields(*r, {"clicks", "conversions"}, "report"));
  if (r->contains("clicks")) {
    PW_ASSIGN_OR_RETURN(s->click_types, EventTypeList(*r, "clicks", "report.clicks"));
  }
  if (r->contains("conversions")) {
    PW_ASSIGN_OR_RETURN(s->conversion_types, EventTypeList(*r, "conversions", "report.conversions"));
  }
  return Status::OK();
}

Status ParseVariants(const json& def, Surface* s) {
  auto salt = def.find("variant_salt");
  if (salt != def.end() && !salt->is_null()) {
    if (!salt->is_string() || salt->get<std::string>().size() > 128) {
      return Bad("variant_salt", "must be a string of at most 128 bytes");
    }
    s->variant_salt = salt->get<std::string>();
  }
  auto list = def.find("variants");
  if (list == def.end() || list->is_null()) return Status::OK();
  if (!list->is_array() || list->empty() || list->size() > kMaxVariants) {
    return Bad("variants", "must be a list of 1 to " + std::to_string(kMaxVariants) + " variants");
  }
  json normalized = json::array();
  std::set<std::string> names;
  for (size_t i = 0; i < list->size(); ++i) {
    PW_ASSIGN_OR_RETURN(Variant v, ParseVariant(def, (*list)[i], i, s));
    if (!names.insert(v.name).second) {
      return Bad("variants[" + std::to_string(i) + "].name", "repeats '" + v.name + "'");
    }
    normalized.push_back(v.surface->definition);
    s->variants.push_back(std::move(v));
  }
  s->definition["variants"] = std::move(normalized);
  s->definition["variant_salt"] = s->variant_salt;
  return Status::OK();
}

Result<json> PrepareDefinition(const Database& db, const json& definition, const std::string& salt) {
  if (!definition.is_object()) return definition;  // ParseSurface reports it
  json def = definition;
  auto text = [&](const char* field, const std::string& fallback) {
    auto it = def.find(field);
    return it != def.end() && it->is_string() ? it->get<std::string>() : fallback;
  };
  const std::string user_type = text("user_type", "User"), item_type = text("item_type", "");
  std::optional<json> table;
  if (def.contains("rules")) {
    PW_RETURN_IF_ERROR(ResolveRules(db, user_type, item_type, "", &table, &def["rules"]));
  }
  if (def.contains("variants") && def["variants"].is_array()) {
    json& variants = def["variants"];
    for (size_t i = 0; i < variants.size(); ++i) {
      if (!variants[i].is_object() || !variants[i].contains("rules")) continue;
      PW_RETURN_IF_ERROR(ResolveRules(db, user_type, item_type,
                                      "variants[" + std::to_string(i) + "].", &table,
                                      &variants[i]["rules"]));
    }
    if (!def.contains("variant_salt") || def["variant_salt"].is_null()) def["variant_salt"] = salt;
  }
  return def;
}

uint64_t StableHash(std::string_view text) {
  uint64_t h = 14695981039346656037ULL;
  for (char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

std::shared_ptr<const Surface> VariantFor(const std::shared_ptr<const Surface>& base,
                                          const std::string& user) {
  if (base->variants.empty()) return base;
  double total = 0;
  for (const Variant& v : base->variants) total += v.weight;
  std::string key = base->variant_salt;
  key.push_back('\0');
  key += user;
  // The top 53 bits as a uniform number in [0, 1).
  double point = static_cast<double>(StableHash(key) >> 11) * 0x1.0p-53 * total;
  for (const Variant& v : base->variants) {
    if (point < v.weight) return v.surface;
    point -= v.weight;
  }
  return base->variants.back().surface;  // rounding at the very top of the range
}

int64_t Surface::MaxCapWindowMs() const {
  int64_t window = 0;
  for (const Rule& r : rules) {
    if (r.type == Rule::Type::kFrequencyCap) window = std::max(window, r.window_seconds * 1000);
  }
  for (const Variant& v : variants) window = std::max(window, v.surface->MaxCapWindowMs());
  return window;
}

bool Surface::Explores() const {
  if (explore.enabled()) return true;
  for (const Variant& v : variants) {
    if (v.surface->explore.enabled()) return true;
  }
  return false;
}

bool Surface::HasCaps() const {
  for (const Rule& r : rules) {
    if (r.type == Rule::Type::kFrequencyCap) return true;
  }
  for (const Variant& v : variants) {
    if (v.surface->HasCaps()) return true;
  }
  return false;
}

}  // namespace pathwise::decide
