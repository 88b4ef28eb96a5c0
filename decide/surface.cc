#include "decide/surface.h"

#include "decide/decide.h"

#include <set>

namespace pathwise::decide {
using json = nlohmann::json;

Status Bad(const std::string& field, const std::string& what) {
  return Status::InvalidArgument("surface field '" + field + "' " + what);
}

Status CheckFields(const json& obj, const std::set<std::string>& known, const std::string& where) {
  for (const auto& [key, value] : obj.items()) {
    if (!known.count(key)) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      return Status::InvalidArgument("unknown field '" + key + "' in " + where + " (expected " +
                                     list + ")");
    }
  }
  return Status::OK();
}

Result<int64_t> IntField(const json& obj, const std::string& field, int64_t fallback, int64_t lo,
                         int64_t hi, const std::string& path) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return fallback;
  if (!it->is_number_integer() || it->get<int64_t>() < lo || it->get<int64_t>() > hi) {
    return Bad(path, "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
  }
  return it->get<int64_t>();
}

Result<std::string> StringField(const json& obj, const std::string& field, const std::string& path,
                                bool required) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) {
    if (required) return Bad(path, "is required");
    return std::string();
  }
  if (!it->is_string() || it->get<std::string>().empty()) return Bad(path, "must be a non-empty string");
  return it->get<std::string>();
}

bool IsIdentifier(const std::string& s) {
  if (s.empty() || s.size() > 128 || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
}

namespace {

// "impressions": {"sample_rate"} and "attribution_window_seconds" (docs/feedback-loop.md).
Status ParseFeedback(const json& def, Surface* s) {
  auto imp = def.find("impressions");
  if (imp != def.end() && !imp->is_null()) {
    if (!imp->is_object()) return Bad("impressions", "must be an object");
    PW_RETURN_IF_ERROR(CheckFields(*imp, {"sample_rate"}, "impressions"));
    auto rate = imp->find("sample_rate");
    if (rate != imp->end() && !rate->is_null()) {
      if (!rate->is_number() || !(rate->get<double>() >= 0 && rate->get<double>() <= 1)) {
        return Bad("impressions.sample_rate", "must be a number from 0 to 1");
      }
      s->impression_sample_rate = rate->get<double>();
    }
  }
  PW_ASSIGN_OR_RETURN(s->attribution_window_seconds,
                      IntField(def, "attribution_window_seconds", kDefaultAttributionWindowSeconds,
                               0, kMaxAttributionWindowSeconds, "attribution_window_seconds"));
  return Status::OK();
}

Result<Rule> ParseRule(const json& r, size_t index) {
  std::string path = "rules[" + std::to_string(index) + "]";
  if (!r.is_object()) return Bad(path, "must be an object");
  PW_ASSIGN_OR_RETURN(std::string type, StringField(r, "type", path + ".type", true));
  Rule rule;
  if (type == "filter") {
    PW_RETURN_IF_ERROR(CheckFields(r, {"type", "where"}, path));
    rule.type = Rule::Type::kFilter;
    PW_ASSIGN_OR_RETURN(rule.expr, StringField(r, "where", path + ".where", true));
  } else if (type == "boost" || type == "bury") {
    PW_RETURN_IF_ERROR(CheckFields(r, {"type", "where", "factor"}, path));
    rule.type = type == "boost" ? Rule::Type::kBoost : Rule::Type::kBury;
    PW_ASSIGN_OR_RETURN(rule.expr, StringField(r, "where", path + ".where", true));
    auto f = r.find("factor");
    if (f == r.end() || !f->is_number() || f->get<double>() <= 0 || f->get<double>() > 1e6) {
      return Bad(path + ".factor", "must be a number above 0 (at most 1e6)");
    }
    rule.factor = f->get<double>();
    if (type == "boost" && rule.factor < 1) return Bad(path + ".factor", "of a boost must be >= 1");
    if (type == "bury" && rule.factor > 1) return Bad(path + ".factor", "of a bury must be <= 1");
  } else if (type == "pin") {
    PW_RETURN_IF_ERROR(CheckFields(r, {"type", "id", "where", "slot"}, path));
    rule.type = Rule::Type::kPin;
    PW_ASSIGN_OR_RETURN(rule.pin_id, StringField(r, "id", path + ".id", false));
    PW_ASSIGN_OR_RETURN(rule.expr, StringField(r, "where", path + ".where", false));
    if (rule.pin_id.empty() == rule.expr.empty()) return Bad(path, "needs exactly one of 'id' and 'where'");
    PW_ASSIGN_OR_RETURN(rule.slot, IntField(r, "slot", 0, 0, 999, path + ".slot"));
  } else if (type == "quota") {
    PW_RETURN_IF_ERROR(CheckFields(r, {"type", "by", "max"}, path));
    rule.type = Rule::Type::kQuota;
    PW_ASSIGN_OR_RETURN(rule.expr, StringField(r, "by", path + ".by", true));
    PW_ASSIGN_OR_RETURN(rule.max, IntField(r, "max", 1, 1, 1000, path + ".max"));
  } else if (type == "frequency_cap") {
    return ParseFrequencyCap(r, path);
  } else {
    return Bad(path + ".type",
               "must be filter, boost, bury, pin, quota or frequency_cap (got '" + type + "')");
  }
  return rule;
}

json RuleJson(const Rule& rule) {
  json j = {{"type", RuleTypeName(rule.type)}};
  switch (rule.type) {
    case Rule::Type::kFilter: j["where"] = rule.expr; break;
    case Rule::Type::kBoost:
    case Rule::Type::kBury: j["where"] = rule.expr; j["factor"] = rule.factor; break;
    case Rule::Type::kPin:
      if (!rule.pin_id.empty()) j["id"] = rule.pin_id; else j["where"] = rule.expr;
      j["slot"] = rule.slot;
      break;
    case Rule::Type::kQuota: j["by"] = rule.expr; j["max"] = rule.max; break;
    case Rule::Type::kFrequencyCap: return FrequencyCapJson(rule);
  }
  return j;
}

Status ParseChain(const json& def, Surface* s) {
  PW_ASSIGN_OR_RETURN(std::string primary, StringField(def, "recipe", "recipe", true));
  if (!IsValidName(primary)) return Bad("recipe", "must be a recipe name ([A-Za-z0-9_.-], 1 to 128)");
  s->chain.push_back(primary);
  auto fb = def.find("fallbacks");
  if (fb != def.end() && !fb->is_null()) {
    if (!fb->is_array() || fb->size() > 8) return Bad("fallbacks", "must be a list of at most 8 recipe names");
    for (const auto& f : *fb) {
      if (!f.is_string() || !IsValidName(f.get<std::string>())) {
        return Bad("fallbacks", "must hold recipe names ([A-Za-z0-9_.-], 1 to 128)");
      }
      s->chain.push_back(f.get<std::string>());
    }
  }
  return Status::OK();
}

Status ParsePopular(const json& def, Surface* s) {
  auto p = def.find("popular");
  if (p == def.end() || p->is_null()) return Status::OK();
  if (!p->is_object()) return Bad("popular", "must be an object {query, params?, refresh_seconds?}");
  PW_RETURN_IF_ERROR(CheckFields(*p, {"query", "params", "refresh_seconds"}, "popular"));
  PW_ASSIGN_OR_RETURN(s->popular_query, StringField(*p, "query", "popular.query", true));
  auto params = p->find("params");
  if (params != p->end() && !params->is_null()) {
    if (!params->is_object()) return Bad("popular.params", "must be an object");
    s->popular_params = *params;
  }
  PW_ASSIGN_OR_RETURN(s->popular_refresh_seconds,
                      IntField(*p, "refresh_seconds", 60, 1, 86400, "popular.refresh_seconds"));
  return Status::OK();
}

Status ParseBudgets(const json& def, Surface* s) {
  auto b = def.find("budgets_ms");
  if (b == def.end() || b->is_null()) return Status::OK();
  if (!b->is_object()) return Bad("budgets_ms", "must be an object {\"recipe\" or \"recipe/source\": ms}");
  for (const auto& [key, value] : b->items()) {
    if (!value.is_number_integer() || value.get<int64_t>() < 1 || value.get<int64_t>() > 600000) {
      return Bad("budgets_ms." + key, "must be an integer from 1 to 600000");
    }
    s->budgets_ms[key] = value.get<int64_t>();
  }
  return Status::OK();
}

Status ParseBreaker(const json& def, Surface* s) {
  auto b = def.find("breaker");
  if (b == def.end() || b->is_null()) return Status::OK();
  if (!b->is_object()) {
    return Bad("breaker", "must be an object {failures, failure_ratio, window_ms, cooldown_ms}");
  }
  PW_RETURN_IF_ERROR(
      CheckFields(*b, {"failures", "failure_ratio", "window_ms", "cooldown_ms"}, "breaker"));
  auto ratio = b->find("failure_ratio");
  if (ratio != b->end() && !ratio->is_null()) {
    if (!ratio->is_number() || ratio->get<double>() <= 0 || ratio->get<double>() > 1) {
      return Bad("breaker.failure_ratio", "must be a number above 0, at most 1");
    }
    s->breaker.failure_ratio = ratio->get<double>();
  }
  PW_ASSIGN_OR_RETURN(int64_t failures, IntField(*b, "failures", 5, 1, 1000, "breaker.failures"));
  s->breaker.failures = static_cast<int>(failures);
  PW_ASSIGN_OR_RETURN(s->breaker.window_ms,
                      IntField(*b, "window_ms", 30000, 1, 3600000, "breaker.window_ms"));
  PW_ASSIGN_OR_RETURN(s->breaker.cooldown_ms,
                      IntField(*b, "cooldown_ms", 5000, 1, 3600000, "breaker.cooldown_ms"));
  return Status::OK();
}

Status ParseRules(const json& def, Surface* s) {
  auto r = def.find("rules");
  if (r == def.end() || r->is_null()) return Status::OK();
  if (!r->is_array() || r->size() > 32) return Bad("rules", "must be a list of at most 32 rules");
  for (size_t i = 0; i < r->size(); ++i) {
    PW_ASSIGN_OR_RETURN(Rule rule, ParseRule((*r)[i], i));
    s->rules.push_back(std::move(rule));
  }
  return Status::OK();
}

json Normalized(const Surface& s) {
  json rules = json::array();
  for (const Rule& r : s.rules) rules.push_back(RuleJson(r));
  json fallbacks(std::vector<std::string>(s.chain.begin() + 1, s.chain.end()));
  json j = {{"name", s.name},
            {"recipe", s.chain[0]},
            {"fallbacks", fallbacks},
            {"last_served", s.last_served},
            {"params", s.params},
            {"k", s.k},
            {"min_items", s.min_items},
            {"min_confidence", s.min_confidence},
            {"deadline_ms", s.deadline_ms},
            {"candidates_factor", s.candidates_factor},
            {"candidate_ttl_seconds", s.candidate_ttl_seconds},
            {"user_type", s.user_type},
            {"rules", rules},
            {"budgets_ms", s.budgets_ms},
            {"source_budget_ms", s.source_budget_ms},
            {"breaker",
             {{"failures", s.breaker.failures},
              {"failure_ratio", s.breaker.failure_ratio},
              {"window_ms", s.breaker.window_ms},
              {"cooldown_ms", s.breaker.cooldown_ms}}}};
  j["impressions"] = {{"sample_rate", s.impression_sample_rate}};
  j["attribution_window_seconds"] = s.attribution_window_seconds;
  j["report"] = {{"clicks", s.click_types}, {"conversions", s.conversion_types}};
  if (s.explore.enabled()) j["exploration"] = ExploreSettingsJson(s.explore);
  if (!s.item_type.empty()) j["item_type"] = s.item_type;
  if (!s.label.empty()) j["label"] = s.label;
  if (!s.popular_query.empty()) {
    j["popular"] = {{"query", s.popular_query},
                    {"params", s.popular_params},
                    {"refresh_seconds", s.popular_refresh_seconds}};
  }
  return j;
}

}  // namespace

const char* RuleTypeName(Rule::Type type) {
  switch (type) {
    case Rule::Type::kFilter: return "filter";
    case Rule::Type::kBoost: return "boost";
    case Rule::Type::kBury: return "bury";
    case Rule::Type::kPin: return "pin";
    case Rule::Type::kQuota: return "quota";
    case Rule::Type::kFrequencyCap: return "frequency_cap";
  }
  return "?";
}

int64_t Surface::BudgetMs(const std::string& recipe) const {
  auto it = budgets_ms.find(recipe);
  return it == budgets_ms.end() ? 0 : it->second;
}

Result<Surface> ParseSurface(const std::string& name, const json& def) {
  if (!def.is_object()) return Status::InvalidArgument("a surface definition must be a JSON object");
  PW_RETURN_IF_ERROR(CheckFields(
      def,
      {"name", "recipe", "fallbacks", "last_served", "popular", "params", "k", "min_items",
       "min_confidence", "deadline_ms", "candidates_factor", "candidate_ttl_seconds", "user_type", "item_type", "label",
       "rules", "budgets_ms", "source_budget_ms", "breaker", "impressions",
       "attribution_window_seconds", "description", "report", "variants", "variant_salt",
       "exploration"},
      "the surface"));
  auto n = def.find("name");
  if (n != def.end() && !n->is_null() && (!n->is_string() || n->get<std::string>() != name)) {
    return Bad("name", "must match the surface's name '" + name + "'");
  }
  Surface s;
  s.name = name;
  PW_RETURN_IF_ERROR(ParseChain(def, &s));
  auto ls = def.find("last_served");
  if (ls != def.end() && !ls->is_null()) {
    if (!ls->is_boolean()) return Bad("last_served", "must be true or false");
    s.last_served = ls->get<bool>();
  }
  PW_RETURN_IF_ERROR(ParsePopular(def, &s));
  auto params = def.find("params");
  if (params != def.end() && !params->is_null()) {
    if (!params->is_object()) return Bad("params", "must be an object");
    s.params = *params;
  }
  PW_ASSIGN_OR_RETURN(s.k, IntField(def, "k", 10, 1, 1000, "k"));
  PW_ASSIGN_OR_RETURN(s.min_items, IntField(def, "min_items", 1, 0, s.k, "min_items"));
  auto mc = def.find("min_confidence");
  if (mc != def.end() && !mc->is_null()) {
    if (!mc->is_number() || mc->get<double>() < 0 || mc->get<double>() > 1) {
      return Bad("min_confidence", "must be a number from 0 to 1");
    }
    s.min_confidence = mc->get<double>();
  }
  PW_ASSIGN_OR_RETURN(s.deadline_ms, IntField(def, "deadline_ms", 50, 1, 600000, "deadline_ms"));
  PW_ASSIGN_OR_RETURN(s.candidates_factor,
                      IntField(def, "candidates_factor", 3, 1, 100, "candidates_factor"));
  PW_ASSIGN_OR_RETURN(s.candidate_ttl_seconds, IntField(def, "candidate_ttl_seconds", 120, 0, 86400,
                                                        "candidate_ttl_seconds"));
  PW_ASSIGN_OR_RETURN(std::string user_type, StringField(def, "user_type", "user_type", false));
  if (!user_type.empty()) s.user_type = user_type;
  PW_ASSIGN_OR_RETURN(s.item_type, StringField(def, "item_type", "item_type", false));
  PW_ASSIGN_OR_RETURN(s.label, StringField(def, "label", "label", false));
  for (const auto* ident : {&s.user_type, &s.item_type, &s.label}) {
    if (!ident->empty() && !IsIdentifier(*ident)) {
      return Status::InvalidArgument("surface field value '" + *ident + "' is not a name");
    }
  }
  PW_RETURN_IF_ERROR(ParseRules(def, &s));
  if (s.NeedsItemQuery() && s.item_type.empty()) {
    return Bad("item_type", "is required when the surface has rules or a label");
  }
  PW_RETURN_IF_ERROR(ParseBudgets(def, &s));
  PW_ASSIGN_OR_RETURN(s.source_budget_ms,
                      IntField(def, "source_budget_ms", 0, 0, 600000, "source_budget_ms"));
  PW_RETURN_IF_ERROR(ParseBreaker(def, &s));
  PW_RETURN_IF_ERROR(ParseFeedback(def, &s));
  PW_RETURN_IF_ERROR(ParseReportSettings(def, &s));
  PW_ASSIGN_OR_RETURN(s.explore, ParseExploreSettings(def, s.k));
  s.definition = Normalized(s);
  if (def.contains("description") && def["description"].is_string()) {
    s.definition["description"] = def["description"];
  }
  PW_RETURN_IF_ERROR(ParseVariants(def, &s));
  return s;
}

std::string ItemQuery(const Surface& s, bool with_user) {
  std::string q = with_user ? "MATCH (u:" + s.user_type + " {id: $user}), (i:" + s.item_type + ")"
                            : "MATCH (i:" + s.item_type + ")";
  q += " WHERE i.id IN $ids RETURN i.id, ";
  q += s.label.empty() ? "null" : "i." + s.label;
  for (const Rule& r : s.rules) {
    if (r.expr.empty()) {
      q += ", null";
    } else if (r.uses_user && !with_user) {
      q += ", null";
    } else {
      q += ", (" + r.expr + ")";
    }
  }
  return q;
}

}  // namespace pathwise::decide
