// POST /v1/query and the recipe endpoints (/v1/recipes...).
#include <algorithm>
#include <optional>

#include "server/errors.h"
#include "server/json_fields.h"
#include "server/server_internal.h"

namespace pathwise::server {
namespace {

constexpr char kRecipePrefix[] = "recipe/";
constexpr char kRecipeName[] = "([A-Za-z0-9_.-]{1,128})";

Result<nlohmann::json> ParamsOf(const nlohmann::json& body) {
  auto it = body.find("params");
  if (it == body.end() || it->is_null()) return nlohmann::json::object();
  if (!it->is_object()) return Status::InvalidArgument("field 'params' must be an object");
  return *it;
}

// A recipe run's "limit": at most that many rows. A recipe that declares "max_limit" reads the
// limit as its parameter $limit (so "LIMIT $limit" can return up to max_limit rows); otherwise
// the limit only cuts the recipe's own result, whose LIMIT stays the upper bound.
Result<std::optional<int64_t>> RunLimit(const nlohmann::json& recipe, const nlohmann::json& body,
                                        nlohmann::json* params) {
  PW_ASSIGN_OR_RETURN(auto limit, OptionalInt(body, "limit"));
  if (!limit.has_value()) return limit;
  if (*limit < 1) return Status::InvalidArgument("field 'limit' must be a positive integer");
  auto max_limit = recipe.find("max_limit");
  if (max_limit != recipe.end() && max_limit->is_number_integer()) {
    if (*limit > max_limit->get<int64_t>()) {
      return Status::InvalidArgument("field 'limit' is " + std::to_string(*limit) +
                                     "; this recipe allows at most " + max_limit->dump());
    }
    (*params)["limit"] = *limit;
  }
  return limit;
}

// "explain": true, false, or {"paths", "offset", "properties", "checks", "context", "sentence"}
// (which also turns explaining on). Returns whether to explain.
Result<bool> ExplainOf(const nlohmann::json& body, ExplainOptions* out) {
  auto it = body.find("explain");
  if (it == body.end() || it->is_null()) return false;
  if (it->is_boolean()) return it->get<bool>();
  if (!it->is_object()) return Status::InvalidArgument("field 'explain' must be a boolean or an object");
  const nlohmann::json& e = *it;
  PW_RETURN_IF_ERROR(CheckKnownFields(
      e, {"paths", "offset", "properties", "checks", "context", "sentence"}, "explain"));
  PW_ASSIGN_OR_RETURN(auto paths, OptionalInt(e, "paths"));
  PW_ASSIGN_OR_RETURN(auto offset, OptionalInt(e, "offset"));
  PW_ASSIGN_OR_RETURN(auto checks, OptionalBool(e, "checks"));
  PW_ASSIGN_OR_RETURN(auto context, OptionalBool(e, "context"));
  PW_ASSIGN_OR_RETURN(auto sentence, OptionalString(e, "sentence"));
  constexpr int64_t kMaxOffset = 1'000'000;
  if (paths && (*paths < 1 || *paths > static_cast<int64_t>(ExplainOptions::kMaxPaths))) {
    return Status::InvalidArgument("field 'explain.paths' must be an integer from 1 to " +
                                   std::to_string(ExplainOptions::kMaxPaths));
  }
  if (offset && (*offset < 0 || *offset > kMaxOffset)) {
    return Status::InvalidArgument("field 'explain.offset' must be an integer from 0 to " +
                                   std::to_string(kMaxOffset));
  }
  if (paths) out->paths = static_cast<size_t>(*paths);
  if (offset) out->offset = static_cast<size_t>(*offset);
  out->checks = checks.value_or(false);
  out->context = context.value_or(false);
  if (sentence) {
    if (sentence->size() > 1000) {
      return Status::InvalidArgument("field 'explain.sentence' is longer than 1000 bytes");
    }
    out->sentence = *sentence;
  }
  if (auto p = e.find("properties"); p != e.end() && !p->is_null()) {
    constexpr size_t kMaxProperties = 32;
    if (!p->is_array() || p->size() > kMaxProperties) {
      return Status::InvalidArgument("field 'explain.properties' must be an array of at most " +
                                     std::to_string(kMaxProperties) + " property names");
    }
    for (const nlohmann::json& name : *p) {
      if (!name.is_string() || name.get<std::string>().empty() || name.get<std::string>().size() > 128) {
        return Status::InvalidArgument("field 'explain.properties' must hold property names (strings of 1 to 128 bytes)");
      }
      out->properties.push_back(name.get<std::string>());
    }
  }
  return true;
}

void TruncateRows(nlohmann::json* result, int64_t limit) {
  for (const char* key : {"rows", "explanations"}) {
    auto it = result->find(key);
    if (it != result->end() && it->is_array() && it->size() > static_cast<size_t>(limit)) {
      it->erase(it->begin() + limit, it->end());
    }
  }
}

}  // namespace

Result<nlohmann::json> Server::Impl::RunQuery(const std::string& text,
                                              const nlohmann::json& params,
                                              const nlohmann::json& body,
                                              const nlohmann::json* recipe,
                                              std::optional<std::string> why_not,
                                              double* query_ms) {
  if (text.size() > options.max_query_bytes) {
    return Status::ResourceExhausted("query text is " + std::to_string(text.size()) +
                                     " bytes; the limit is " +
                                     std::to_string(options.max_query_bytes));
  }
  PW_ASSIGN_OR_RETURN(auto deadline_ms, OptionalInt(body, "deadline_ms"));
  QueryOptions query_options;
  PW_ASSIGN_OR_RETURN(query_options.now_ms, OptionalInt(body, "now_ms"));
  if (recipe != nullptr) {
    auto sentence = recipe->find("sentence");
    if (sentence != recipe->end() && sentence->is_string()) {
      query_options.explain_options.sentence = sentence->get<std::string>();
    }
  }
  PW_ASSIGN_OR_RETURN(bool explain, ExplainOf(body, &query_options.explain_options));
  PW_ASSIGN_OR_RETURN(auto profile, OptionalBool(body, "profile"));
  int64_t ms = deadline_ms.value_or(options.default_deadline_ms);
  if (ms <= 0) return Status::InvalidArgument("field 'deadline_ms' must be positive");
  ms = std::min(ms, options.max_deadline_ms);

  query_options.deadline = Deadline::AfterMillis(ms);
  query_options.explain = explain;
  query_options.why_not = std::move(why_not);
  query_options.profile = profile.value_or(false);
  query_options.max_rows = options.max_result_rows;
  query_options.limits.max_query_memory_bytes = options.max_query_memory_bytes;

  if (queries_in_flight.fetch_add(1) >= options.max_concurrent_queries) {
    queries_in_flight.fetch_sub(1);
    return TooManyRequests(std::to_string(options.max_concurrent_queries) +
                           " queries are already running; retry later");
  }
  const auto started = std::chrono::steady_clock::now();
  auto result = db->Query(text, params, query_options);
  if (query_ms != nullptr) *query_ms = MillisSince(started);
  queries_in_flight.fetch_sub(1);
  if (!result.ok()) return result.status();
  metrics.RecordQueryStats(result->stats);
  return result->ToJson();
}

void Server::Impl::AddQueryRoutes() {
  Route("POST", "/v1/query", Role::kRead, [this](const httplib::Request& req) {
    const auto started = std::chrono::steady_clock::now();
    auto body = ParseJsonObject(req.body);
    if (!body.ok()) return ErrorReply(body.status());
    Status known =
        CheckKnownFields(*body, {"query", "params", "deadline_ms", "now_ms", "explain", "profile"});
    if (!known.ok()) return ErrorReply(known);
    auto text = RequiredString(*body, "query");
    if (!text.ok()) return ErrorReply(text.status());
    auto params = ParamsOf(*body);
    if (!params.ok()) return ErrorReply(params.status());
    const double parse_ms = MillisSince(started);
    double query_ms = 0;
    auto result = RunQuery(*text, *params, *body, nullptr, std::nullopt, &query_ms);
    if (!result.ok()) return ErrorReply(result.status());
    Reply reply = JsonReply(200, *result);
    // The result's JSON, built (ToJson) and serialised: what the handler spent beyond the two.
    const double json_ms = std::max(0.0, MillisSince(started) - parse_ms - query_ms);
    reply.timings = {{"parse", parse_ms}, {"query", query_ms}, {"json", json_ms}};
    return reply;
  });

  // Why was an item not recommended? {query | recipe, params, item[, limit, deadline_ms]}: the
  // query (or the stored recipe with its default params) runs with QueryOptions::why_not.
  Route("POST", "/v1/explain/why-not", Role::kRead, [this](const httplib::Request& req) {
    auto body = ParseJsonObject(req.body);
    if (!body.ok()) return ErrorReply(body.status());
    Status known =
        CheckKnownFields(*body, {"query", "recipe", "params", "item", "limit", "deadline_ms"});
    if (!known.ok()) return ErrorReply(known);
    auto item = RequiredId(*body, "item");
    if (!item.ok()) return ErrorReply(item.status());
    auto params = ParamsOf(*body);
    if (!params.ok()) return ErrorReply(params.status());
    const bool has_query = body->contains("query"), has_recipe = body->contains("recipe");
    if (has_query == has_recipe) {
      return ErrorReply(Status::InvalidArgument("give exactly one of 'query' and 'recipe'"));
    }
    nlohmann::json options = {{"deadline_ms", body->value("deadline_ms", nlohmann::json())}};
    auto run = [&]() -> Result<nlohmann::json> {
      if (has_query) {
        PW_ASSIGN_OR_RETURN(std::string text, RequiredString(*body, "query"));
        return RunQuery(text, *params, options, nullptr, *item);
      }
      PW_ASSIGN_OR_RETURN(std::string name, RequiredString(*body, "recipe"));
      PW_ASSIGN_OR_RETURN(nlohmann::json recipe, decide::LoadRecipe(*db, name));
      nlohmann::json merged = recipe.value("params", nlohmann::json::object());
      if (!merged.is_object()) merged = nlohmann::json::object();
      merged.update(*params);
      PW_RETURN_IF_ERROR(RunLimit(recipe, *body, &merged).status());
      return RunQuery(recipe.value("query", ""), merged, options, &recipe, *item);
    };
    auto result = run();
    if (!result.ok()) return ErrorReply(result.status());
    return JsonReply(200, result->value("why_not", nlohmann::json::object()));
  });

  Route("GET", "/v1/recipes", Role::kRead, [this](const httplib::Request&) {
    nlohmann::json recipes = nlohmann::json::array();
    Status status = db->ScanMeta(kRecipePrefix, [&](std::string_view, std::string_view value) {
      nlohmann::json recipe = nlohmann::json::parse(value, nullptr, false);
      if (recipe.is_object()) recipes.push_back(std::move(recipe));
      return true;
    });
    if (!status.ok()) return ErrorReply(status);
    return JsonReply(200, {{"recipes", recipes}});
  });

  Route("GET", std::string("/v1/recipes/") + kRecipeName, Role::kRead,
        [this](const httplib::Request& req) {
          auto recipe = decide::LoadRecipe(*db, req.matches[1]);
          if (!recipe.ok()) return ErrorReply(recipe.status());
          return JsonReply(200, *recipe);
        });

  Route("POST", std::string("/v1/recipes/") + kRecipeName, Role::kAdmin,
        [this](const httplib::Request& req) {
          auto body = ParseJsonObject(req.body);
          if (!body.ok()) return ErrorReply(body.status());
          decide::RecipeLimits limits;
          limits.max_rows = options.max_result_rows;
          limits.max_query_bytes = options.max_query_bytes;
          auto stored = decide::PutRecipe(db, req.matches[1], *body, limits);
          if (!stored.ok()) return ErrorReply(stored.status());
          return JsonReply(200, *stored);
        });

  Route("DELETE", std::string("/v1/recipes/") + kRecipeName, Role::kAdmin,
        [this](const httplib::Request& req) {
          std::string name = req.matches[1];
          Status status = decide::DeleteRecipe(db, name);
          if (!status.ok()) return ErrorReply(status);
          return JsonReply(200, {{"deleted", name}});
        });

  Route("POST", std::string("/v1/recipes/") + kRecipeName + "/run", Role::kRead,
        [this](const httplib::Request& req) {
          auto recipe = decide::LoadRecipe(*db, req.matches[1]);
          if (!recipe.ok()) return ErrorReply(recipe.status());
          auto body = ParseJsonObject(req.body, /*allow_empty=*/true);
          if (!body.ok()) return ErrorReply(body.status());
          Status known =
              CheckKnownFields(*body, {"params", "limit", "deadline_ms", "explain", "profile"});
          if (!known.ok()) return ErrorReply(known);
          auto params = ParamsOf(*body);
          if (!params.ok()) return ErrorReply(params.status());
          nlohmann::json merged = recipe->value("params", nlohmann::json::object());
          if (!merged.is_object()) merged = nlohmann::json::object();
          merged.update(*params);
          auto limit = RunLimit(*recipe, *body, &merged);
          if (!limit.ok()) return ErrorReply(limit.status());
          auto result = RunQuery(recipe->value("query", ""), merged, *body, &*recipe);
          if (!result.ok()) return ErrorReply(result.status());
          if (limit->has_value()) TruncateRows(&*result, **limit);
          return JsonReply(200, *result);
        });
}

}  // namespace pathwise::server
