// Internal to decide/: a surface definition, parsed and checked (format in docs/decisions.md).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "db/database.h"
#include "decide/breaker.h"
#include "storage/status.h"

namespace pathwise::decide {

// One business rule, applied after scoring, in the surface's order. Expressions are PQL over the
// item `i` and the user `u`.
struct Rule {
  enum class Type { kFilter, kBoost, kBury, kPin, kQuota };
  Type type = Type::kFilter;
  std::string expr;    // filter/boost/bury/pin: the predicate ("where"); quota: the key ("by")
  std::string pin_id;  // pin of one item by id (expr empty)
  double factor = 1;   // boost/bury: the score is multiplied by it
  int64_t slot = 0;    // pin: 0-based slot
  int64_t max = 0;     // quota: most items per key value
  bool uses_user = false;  // the expression reads u (set by CheckRules)
};

const char* RuleTypeName(Rule::Type type);

constexpr int64_t kDefaultAttributionWindowSeconds = 24 * 3600;
constexpr int64_t kMaxAttributionWindowSeconds = 365 * 24 * 3600;

struct Surface {
  std::string name;
  std::vector<std::string> chain;  // the primary recipe, then the fallbacks in order
  bool last_served = true;
  // The always-available list: a PQL query whose first column is the item id, with params.
  std::string popular_query;
  nlohmann::json popular_params = nlohmann::json::object();
  int64_t popular_refresh_seconds = 60;
  nlohmann::json params = nlohmann::json::object();  // for every recipe of the chain
  int64_t k = 10;
  int64_t min_items = 1;
  double min_confidence = 0;
  int64_t deadline_ms = 50;
  int64_t candidates_factor = 3;  // recipes are asked for k x this many rows (with max_limit)
  std::string user_type = "User";
  std::string item_type;  // needed by rules and label
  std::string label;      // item property returned as the item's label
  std::vector<Rule> rules;
  // Budgets in ms: "recipe" for a whole recipe run, "recipe/source" for one source of it.
  std::map<std::string, int64_t> budgets_ms;
  int64_t source_budget_ms = 0;  // every source of every recipe, unless budgets_ms names it
  BreakerSettings breaker;
  // The feedback loop: the share of decisions whose impressions are logged, and how long after
  // serving an event carrying the recommendation_id is attributed to it.
  double impression_sample_rate = 1.0;
  int64_t attribution_window_seconds = kDefaultAttributionWindowSeconds;
  nlohmann::json definition;  // the normalised JSON form

  bool NeedsItemQuery() const { return !rules.empty() || !label.empty(); }
  int64_t BudgetMs(const std::string& recipe) const;
};

// OK when every key of obj is in known; else InvalidArgument "unknown field 'x' in <where>
// (expected ...)". Shared by surfaces, rules and recipes.
Status CheckFields(const nlohmann::json& obj, const std::set<std::string>& known,
                   const std::string& where);

// Parses and checks the shape of a definition (not the rule expressions: see CheckRules).
Result<Surface> ParseSurface(const std::string& name, const nlohmann::json& definition);

// Compiles the surface's item query against the database's schema: each rule expression alone
// without the user (setting Rule::uses_user when it reads u) and with it, and the whole query.
// InvalidArgument names the rule ("rules[2].where: unknown property ...").
Status CheckRules(Database* db, Surface* surface);

// The PQL that fetches, for items $ids (and user $user when with_user), the id, the label and
// one column per rule expression (null for a user rule when !with_user).
std::string ItemQuery(const Surface& surface, bool with_user);

}  // namespace pathwise::decide
