// The parts of a decision around the chain: the surface and its recipes (parsed once per stored
// text, read again only after a metadata write), the request's fields, the user's history and the recommendation id.
#include <algorithm>
#include <random>

#include "decide/decider_impl.h"

namespace pathwise::decide {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxUserBytes = 512;
constexpr size_t kMaxExclude = 1000;
constexpr size_t kMaxContextEntries = 32;

bool IsScalar(const json& v) { return v.is_null() || v.is_boolean() || v.is_number() || v.is_string(); }

Status CheckContext(const json& context) {
  if (!context.is_object()) return Status::InvalidArgument("field 'context' must be an object");
  if (context.size() > kMaxContextEntries) {
    return Status::InvalidArgument("field 'context' has more than " +
                                   std::to_string(kMaxContextEntries) + " entries");
  }
  for (const auto& [key, value] : context.items()) {
    if (key == "user" || key == "limit" || key == "ids") {
      return Status::InvalidArgument("context entry '" + key + "' is reserved");
    }
    bool ok = IsScalar(value);
    if (value.is_array()) {
      ok = value.size() <= 10'000 && std::all_of(value.begin(), value.end(), IsScalar);
    }
    if (!ok) {
      return Status::InvalidArgument("context entry '" + key +
                                     "' must be a scalar or a list of at most 10000 scalars");
    }
  }
  // The segment of segment_item counters, logged with the decision's impressions.
  if (auto it = context.find("segment"); it != context.end()) {
    PW_RETURN_IF_ERROR(SegmentFromJson(*it, "context entry 'segment'").status());
  }
  return Status::OK();
}

Status CheckExclude(const json& exclude, std::set<std::string>* out) {
  if (!exclude.is_array() || exclude.size() > kMaxExclude) {
    return Status::InvalidArgument("field 'exclude' must be a list of at most " +
                                   std::to_string(kMaxExclude) + " item ids");
  }
  for (const json& id : exclude) {
    if (!id.is_string()) return Status::InvalidArgument("field 'exclude' must hold item ids (strings)");
    out->insert(id.get<std::string>());
  }
  return Status::OK();
}

}  // namespace

void Draft::AddRuleReport(const Surface& s, const RuleReport& report) {
  if (rules.empty()) rules = RuleReportJson(s, RuleReport{std::vector<size_t>(s.rules.size()), {}, 0});
  for (size_t i = 0; i < report.affected.size() && i < rules.size(); ++i) {
    rules[i]["affected"] = rules[i]["affected"].get<size_t>() + report.affected[i];
    if (i >= report.capped.size() || report.capped[i].empty()) continue;
    nlohmann::json& capped = rules[i]["capped"];
    for (const nlohmann::json& c : report.capped[i]) capped.push_back(c);
  }
}

Result<std::shared_ptr<const Surface>> Decider::Impl::LoadSurface(const std::string& name) {
  if (!IsValidName(name)) return Status::NotFound("no surface named '" + name + "'");
  // No metadata read while no metadata was written since the surface was parsed; after a
  // write, one read, and the parse and the rule checks only when the stored text changed.
  const uint64_t generation = db->MetaGeneration();
  {
    MutexLock lock(&surfaces_mu);
    auto it = surfaces.find(name);
    if (it != surfaces.end() && it->second.generation == generation) return it->second.value;
  }
  auto stored = db->GetMeta("surface/" + name);
  if (!stored.ok()) {
    if (stored.status().code() == Status::Code::kNotFound) {
      MutexLock lock(&surfaces_mu);
      surfaces.erase(name);
      return Status::NotFound("no surface named '" + name + "'");
    }
    return stored.status();
  }
  {
    MutexLock lock(&surfaces_mu);
    auto it = surfaces.find(name);
    if (it != surfaces.end() && it->second.text == *stored) {
      it->second.generation = std::max(it->second.generation, generation);
      return it->second.value;
    }
  }
  json definition = json::parse(*stored, nullptr, false);
  if (!definition.is_object()) return Status::Corruption("surface '" + name + "' is not valid JSON");
  PW_ASSIGN_OR_RETURN(Surface s, ParseSurface(name, definition));
  PW_RETURN_IF_ERROR(CheckRules(db, &s));
  auto shared = std::make_shared<const Surface>(std::move(s));
  LoadCaps(*shared);
  LoadExploreCounts(*shared);
  MutexLock lock(&surfaces_mu);
  surfaces[name] = {*stored, generation, shared};
  return shared;
}

Result<std::shared_ptr<const json>> Decider::Impl::LoadRecipeCached(const std::string& name) {
  const uint64_t generation = db->MetaGeneration();
  {
    MutexLock lock(&recipes_mu);
    auto it = recipes.find(name);
    if (it != recipes.end() && it->second.generation == generation) return it->second.value;
  }
  Result<json> recipe = LoadRecipe(*db, name);
  MutexLock lock(&recipes_mu);
  if (!recipe.ok()) {
    recipes.erase(name);
    return recipe.status();
  }
  auto shared = std::make_shared<const json>(std::move(*recipe));
  recipes[name] = {"", generation, shared};
  return shared;
}

Result<Request> Decider::Impl::ParseRequest(const Surface& s, const json& body) const {
  if (!body.is_object()) return Status::InvalidArgument("the request body must be a JSON object");
  for (const auto& [key, value] : body.items()) {
    if (key != "user" && key != "context" && key != "k" && key != "deadline_ms" &&
        key != "exclude" && key != "explain") {
      return Status::InvalidArgument("unknown field '" + key +
                                     "' (expected user, context, k, deadline_ms, exclude, explain)");
    }
  }
  Request req;
  auto user = body.find("user");
  if (user == body.end() || !user->is_string() || user->get<std::string>().empty() ||
      user->get<std::string>().size() > kMaxUserBytes) {
    return Status::InvalidArgument("field 'user' must be a non-empty string of at most " +
                                   std::to_string(kMaxUserBytes) + " bytes");
  }
  req.user = user->get<std::string>();
  req.k = static_cast<size_t>(s.k);
  auto k = body.find("k");
  if (k != body.end() && !k->is_null()) {
    if (!k->is_number_integer() || k->get<int64_t>() < 1 || k->get<int64_t>() > 1000) {
      return Status::InvalidArgument("field 'k' must be an integer from 1 to 1000");
    }
    req.k = k->get<size_t>();
  }
  req.deadline_ms = s.deadline_ms;
  auto deadline = body.find("deadline_ms");
  if (deadline != body.end() && !deadline->is_null()) {
    if (!deadline->is_number_integer() || deadline->get<int64_t>() < 1 ||
        deadline->get<int64_t>() > options.max_deadline_ms) {
      return Status::InvalidArgument("field 'deadline_ms' must be an integer from 1 to " +
                                     std::to_string(options.max_deadline_ms));
    }
    req.deadline_ms = deadline->get<int64_t>();
  }
  auto context = body.find("context");
  if (context != body.end() && !context->is_null()) {
    PW_RETURN_IF_ERROR(CheckContext(*context));
    req.context = *context;
  }
  auto exclude = body.find("exclude");
  if (exclude != body.end() && !exclude->is_null()) PW_RETURN_IF_ERROR(CheckExclude(*exclude, &req.exclude));
  auto explain = body.find("explain");
  if (explain != body.end() && !explain->is_null()) {
    if (!explain->is_boolean()) return Status::InvalidArgument("field 'explain' must be true or false");
    req.explain = explain->get<bool>();
  }
  return req;
}

UserInfo Decider::Impl::LookupUser(const Surface& s, const std::string& user) const {
  UserInfo info;
  auto degree = db->OutDegree(s.user_type, user);
  if (!degree.ok()) return info;
  info.exists = true;
  info.history = static_cast<int64_t>(*degree);
  return info;
}

int64_t Decider::Impl::NowMs() const {
  if (options.clock_ms) return options.clock_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string NewRecommendationId(int64_t now_ms) {
  // 48 bits of milliseconds since the epoch, then 80 random bits: unique and time-ordered.
  thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t ms = static_cast<uint64_t>(now_ms);
  uint64_t a = rng(), b = rng();
  char buf[33];
  std::snprintf(buf, sizeof buf, "%012llx%04llx%016llx",
                static_cast<unsigned long long>(ms & 0xffffffffffffULL),
                static_cast<unsigned long long>(a & 0xffff), static_cast<unsigned long long>(b));
  return buf;
}

}  // namespace pathwise::decide
