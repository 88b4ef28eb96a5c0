// Recipes and surfaces in the database's metadata ("recipe/<name>", "surface/<name>").
#include <cstdio>
#include <optional>
#include <random>

#include "decide/decide.h"
#include "decide/surface.h"

namespace pathwise::decide {
namespace {

using json = nlohmann::json;

constexpr char kRecipePrefix[] = "recipe/";
constexpr char kSurfacePrefix[] = "surface/";

Result<json> LoadJson(const Database& db, const std::string& prefix, const std::string& what,
                      const std::string& name) {
  auto stored = db.GetMeta(prefix + name);
  if (!stored.ok()) {
    if (stored.status().code() == Status::Code::kNotFound) {
      return Status::NotFound("no " + what + " named '" + name + "'");
    }
    return stored.status();
  }
  json value = json::parse(*stored, nullptr, false);
  if (!value.is_object()) return Status::Corruption(what + " '" + name + "' is not valid JSON");
  return value;
}

// Runs the item query of `s` for no items; an error is the expression's.
Status TryItemQuery(Database* db, const Surface& s, bool with_user) {
  QueryOptions qo;
  qo.deadline = Deadline::AfterMillis(5000);
  json params = {{"ids", json::array()}, {"user", ""}};
  return db->Query(ItemQuery(s, with_user), params, qo).status();
}

}  // namespace

bool IsValidName(const std::string& name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-')) {
      return false;
    }
  }
  return true;
}

Result<json> LoadRecipe(const Database& db, const std::string& name) {
  return LoadJson(db, kRecipePrefix, "recipe", name);
}

Result<json> PutRecipe(Database* db, const std::string& name, const json& body,
                       const RecipeLimits& limits) {
  if (!IsValidName(name)) return Status::InvalidArgument("recipe names are 1 to 128 of [A-Za-z0-9_.-]");
  if (!body.is_object()) return Status::InvalidArgument("a recipe must be a JSON object");
  PW_RETURN_IF_ERROR(
      CheckFields(body, {"name", "query", "description", "params", "max_limit", "sentence"},
                  "the recipe"));
  auto field = [&](const char* key) { return body.contains(key) && !body[key].is_null(); };
  if (field("name") && (!body["name"].is_string() || body["name"].get<std::string>() != name)) {
    return Status::InvalidArgument("field 'name' is '" +
                                   (body["name"].is_string() ? body["name"].get<std::string>()
                                                             : body["name"].dump()) +
                                   "' but the path names '" + name + "'");
  }
  if (!field("query") || !body["query"].is_string()) {
    return Status::InvalidArgument("field 'query' is required and must be a string");
  }
  std::string text = body["query"].get<std::string>();
  if (field("description") && !body["description"].is_string()) {
    return Status::InvalidArgument("field 'description' must be a string");
  }
  constexpr size_t kMaxSentenceBytes = 1000;
  if (field("sentence") && (!body["sentence"].is_string() ||
                            body["sentence"].get<std::string>().size() > kMaxSentenceBytes)) {
    return Status::InvalidArgument("field 'sentence' must be a string of at most " +
                                   std::to_string(kMaxSentenceBytes) + " bytes");
  }
  json params = field("params") ? body["params"] : json::object();
  if (!params.is_object()) return Status::InvalidArgument("field 'params' must be an object");
  std::optional<int64_t> max_limit;
  if (field("max_limit")) {
    if (!body["max_limit"].is_number_integer() || body["max_limit"].get<int64_t>() < 1 ||
        body["max_limit"].get<uint64_t>() > limits.max_rows) {
      return Status::InvalidArgument("field 'max_limit' must be between 1 and the result row limit " +
                                     std::to_string(limits.max_rows));
    }
    max_limit = body["max_limit"].get<int64_t>();
  }
  if (text.size() > limits.max_query_bytes) {
    return Status::ResourceExhausted("recipe query exceeds the query limit");
  }
  QueryOptions check;
  check.deadline = Deadline::AfterMillis(250);
  check.max_rows = limits.max_rows;
  auto trial = db->Query(text, params, check);
  if (!trial.ok() && trial.status().code() == Status::Code::kSyntaxError) return trial.status();
  json recipe = {{"name", name},
                 {"query", text},
                 {"description", field("description") ? body["description"] : json("")},
                 {"params", params}};
  if (max_limit) recipe["max_limit"] = *max_limit;
  if (field("sentence")) recipe["sentence"] = body["sentence"];
  WriteSet writes;
  writes.ops.push_back(MetaWrite{kRecipePrefix + name, recipe.dump()});
  PW_RETURN_IF_ERROR(db->Apply(writes));
  return recipe;
}

Status DeleteRecipe(Database* db, const std::string& name) {
  PW_RETURN_IF_ERROR(LoadRecipe(*db, name).status());
  WriteSet writes;
  writes.ops.push_back(MetaWrite{kRecipePrefix + name, std::nullopt});
  return db->Apply(writes);
}

bool IsDefinitionsDocument(const json& document) {
  if (!document.is_object() || document.empty()) return false;
  for (const auto& [key, value] : document.items()) {
    if ((key != "recipes" && key != "surfaces") || !value.is_object()) return false;
  }
  return true;
}

Result<json> ApplyDefinitions(Database* db, const json& document) {
  if (!IsDefinitionsDocument(document)) {
    return Status::InvalidArgument(
        "a definitions document is {\"recipes\": {name: recipe}, \"surfaces\": {name: surface}}");
  }
  json stored = {{"recipes", json::array()}, {"surfaces", json::array()}};
  for (const char* part : {"recipes", "surfaces"}) {
    if (!document.contains(part)) continue;
    for (const auto& [name, body] : document[part].items()) {
      Result<json> put = std::string(part) == "recipes" ? PutRecipe(db, name, body)
                                                        : PutSurface(db, name, body);
      if (!put.ok()) {
        return put.status().WithPrefix(std::string(part) + "." + name);
      }
      stored[part].push_back(name);
    }
  }
  return stored;
}

namespace {

Status CheckVariantRules(Database* db, Surface* s) {
  for (size_t i = 0; i < s->variants.size(); ++i) {
    Surface variant = *s->variants[i].surface;
    Status checked = CheckRules(db, &variant);
    if (!checked.ok()) return checked.WithPrefix("variants[" + std::to_string(i) + "]");
    s->variants[i].surface = std::make_shared<const Surface>(std::move(variant));
  }
  return Status::OK();
}

// A new variant salt: 16 random hex digits.
std::string NewSalt() {
  std::random_device rd;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
  return buf;
}

}  // namespace

Status CheckRules(Database* db, Surface* s) {
  if (!s->NeedsItemQuery()) return CheckVariantRules(db, s);
  Surface probe = *s;
  probe.rules.clear();
  if (Status st = TryItemQuery(db, probe, false); !st.ok()) {
    return Status::InvalidArgument("item_type/label: " + st.message());
  }
  for (size_t i = 0; i < s->rules.size(); ++i) {
    Rule& rule = s->rules[i];
    if (rule.expr.empty()) continue;
    std::string field = "rules[" + std::to_string(i) + "]." +
                        (rule.type == Rule::Type::kQuota          ? "by"
                         : rule.type == Rule::Type::kFrequencyCap ? "never_after"
                                                                  : "where");
    probe.rules = {rule};
    probe.rules[0].uses_user = false;
    Status alone = TryItemQuery(db, probe, false);
    if (!alone.ok() && alone.message().find("unknown variable 'u'") != std::string::npos) {
      rule.uses_user = true;
      probe.rules[0].uses_user = true;
      alone = TryItemQuery(db, probe, true);
    }
    if (!alone.ok()) return Status::InvalidArgument(field + ": " + alone.message());
  }
  Status whole = TryItemQuery(db, *s, true);
  if (!whole.ok()) return Status::InvalidArgument("rules: " + whole.message());
  return CheckVariantRules(db, s);
}

Result<json> NormalizeSurface(Database* db, const std::string& name, const json& definition) {
  if (!IsValidName(name)) {
    return Status::InvalidArgument("surface names are 1 to 128 of [A-Za-z0-9_.-]");
  }
  // A stored surface keeps its variant salt, so re-storing it keeps every user's variant.
  std::string salt;
  if (auto stored = GetSurface(*db, name); stored.ok()) {
    salt = stored->value("variant_salt", std::string());
  }
  PW_ASSIGN_OR_RETURN(json prepared,
                      PrepareDefinition(*db, definition, salt.empty() ? NewSalt() : salt));
  PW_ASSIGN_OR_RETURN(Surface s, ParseSurface(name, prepared));
  PW_RETURN_IF_ERROR(CheckRules(db, &s));
  return s.definition;
}

Result<json> PutSurface(Database* db, const std::string& name, const json& definition) {
  PW_ASSIGN_OR_RETURN(json normalized, NormalizeSurface(db, name, definition));
  WriteSet writes;
  writes.ops.push_back(MetaWrite{kSurfacePrefix + name, normalized.dump()});
  PW_RETURN_IF_ERROR(db->Apply(writes));
  return normalized;
}

Result<json> GetSurface(const Database& db, const std::string& name) {
  return LoadJson(db, kSurfacePrefix, "surface", name);
}

Result<json> ListSurfaces(const Database& db) {
  json out = json::array();
  PW_RETURN_IF_ERROR(db.ScanMeta(kSurfacePrefix, [&](std::string_view, std::string_view value) {
    json s = json::parse(value, nullptr, false);
    if (s.is_object()) out.push_back(std::move(s));
    return true;
  }));
  return out;
}

Status DeleteSurface(Database* db, const std::string& name) {
  PW_RETURN_IF_ERROR(GetSurface(*db, name).status());
  WriteSet writes;
  writes.ops.push_back(MetaWrite{kSurfacePrefix + name, std::nullopt});
  return db->Apply(writes);
}

}  // namespace pathwise::decide
