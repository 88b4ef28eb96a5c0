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
                                              const nlohmann::json& body) {
  if (text.size() > options.max_query_bytes) {
    return Status::ResourceExhausted("query text is " + std::to_string(text.size()) +
                                     " bytes; the limit is " +
                                     std::to_string(options.max_query_bytes));
  }
  PW_ASSIGN_OR_RETURN(auto deadline_ms, OptionalInt(body, "deadline_ms"));
  PW_ASSIGN_OR_RETURN(auto explain, OptionalBool(body, "explain"));
  PW_ASSIGN_OR_RETURN(auto profile, OptionalBool(body, "profile"));
  int64_t ms = deadline_ms.value_or(options.default_deadline_ms);
  if (ms <= 0) return Status::InvalidArgument("field 'deadline_ms' must be positive");
  ms = std::min(ms, options.max_deadline_ms);

  QueryOptions query_options;
  query_options.deadline = Deadline::AfterMillis(ms);
  query_options.explain = explain.value_or(false);
  query_options.profile = profile.value_or(false);
  query_options.max_rows = options.max_result_rows;

  if (queries_in_flight.fetch_add(1) >= options.max_concurrent_queries) {
    queries_in_flight.fetch_sub(1);
    return TooManyRequests(std::to_string(options.max_concurrent_queries) +
                           " queries are already running; retry later");
  }
  auto result = db->Query(text, params, query_options);
  queries_in_flight.fetch_sub(1);
  if (!result.ok()) return result.status();
  metrics.RecordQueryStats(result->stats);
  return result->ToJson();
}

void Server::Impl::AddQueryRoutes() {
  Route("POST", "/v1/query", Role::kRead, [this](const httplib::Request& req) {
    auto body = ParseJsonObject(req.body);
    if (!body.ok()) return ErrorReply(body.status());
    Status known = CheckKnownFields(*body, {"query", "params", "deadline_ms", "explain", "profile"});
    if (!known.ok()) return ErrorReply(known);
    auto text = RequiredString(*body, "query");
    if (!text.ok()) return ErrorReply(text.status());
    auto params = ParamsOf(*body);
    if (!params.ok()) return ErrorReply(params.status());
    auto result = RunQuery(*text, *params, *body);
    if (!result.ok()) return ErrorReply(result.status());
    return JsonReply(200, *result);
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
          auto result = RunQuery(recipe->value("query", ""), merged, *body);
          if (!result.ok()) return ErrorReply(result.status());
          if (limit->has_value()) TruncateRows(&*result, **limit);
          return JsonReply(200, *result);
        });
}

}  // namespace pathwise::server
