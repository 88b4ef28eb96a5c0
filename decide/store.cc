// Recipes and surfaces in the database's metadata ("recipe/<name>", "surface/<name>").
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

Status CheckRules(Database* db, Surface* s) {
  if (!s->NeedsItemQuery()) return Status::OK();
  Surface probe = *s;
  probe.rules.clear();
  if (Status st = TryItemQuery(db, probe, false); !st.ok()) {
    return Status::InvalidArgument("item_type/label: " + st.message());
  }
  for (size_t i = 0; i < s->rules.size(); ++i) {
    Rule& rule = s->rules[i];
    if (rule.expr.empty()) continue;
    std::string field = "rules[" + std::to_string(i) + "]." +
                        (rule.type == Rule::Type::kQuota ? "by" : "where");
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
  return Status::OK();
}

Result<json> NormalizeSurface(Database* db, const std::string& name, const json& definition) {
  if (!IsValidName(name)) {
    return Status::InvalidArgument("surface names are 1 to 128 of [A-Za-z0-9_.-]");
  }
  PW_ASSIGN_OR_RETURN(Surface s, ParseSurface(name, definition));
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
