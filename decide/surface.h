// Internal to decide/: a surface definition, parsed and checked (format in docs/decisions.md).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "db/database.h"
#include "decide/breaker.h"
#include "decide/explore.h"
#include "storage/status.h"

namespace pathwise::decide {

// One business rule, applied after scoring, in the surface's order. Expressions are PQL over the
// item `i` and the user `u`.
struct Rule {
  enum class Type { kFilter, kBoost, kBury, kPin, kQuota, kFrequencyCap };
  Type type = Type::kFilter;
  // filter/boost/bury/pin: the predicate ("where"); quota: the key ("by"); frequency_cap: the
  // never_after test (the first listed event type the user did on the item, else null), built
  // from never_after (empty without it).
  std::string expr;
  std::string pin_id;  // pin of one item by id (expr empty)
  double factor = 1;   // boost/bury: the score is multiplied by it
  int64_t slot = 0;    // pin: 0-based slot
  int64_t max = 0;     // quota: most items per key value; frequency_cap: most impressions per
                       // window (0: no count limit, only never_after)
  int64_t window_seconds = 0;  // frequency_cap: the window of max
  // frequency_cap: event type -> the edge type it writes (resolved from the event-type table
  // when the surface is stored).
  std::map<std::string, std::string> never_after;
  bool uses_user = false;  // the expression reads u (set by CheckRules)
};

const char* RuleTypeName(Rule::Type type);

constexpr int64_t kDefaultAttributionWindowSeconds = 24 * 3600;
constexpr int64_t kMaxAttributionWindowSeconds = 365 * 24 * 3600;
constexpr int64_t kMaxCapWindowSeconds = 365 * 24 * 3600;

struct Surface;
// One A/B variant of a surface: its traffic weight and the surface as the variant runs it (the
// base definition with the variant's overrides).
struct Variant {
  std::string name;
  double weight = 1;
  std::shared_ptr<const Surface> surface;
};

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
  // The candidate cache (docs/decisions.md, "Caches"): how long a user's retrieved candidates
  // are fresh; older ones are served while one refresh runs. 0: not cached.
  int64_t candidate_ttl_seconds = 120;
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
  // The report (docs/feedback-loop.md): which attributed event types count as clicks and which
  // as conversions.
  std::vector<std::string> click_types = {"click"};
  std::vector<std::string> conversion_types = {"purchase"};
  // Exploration slots (decide/explore.h; policy kNone: none).
  ExploreSettings explore;
  // A/B variants (empty: none; every decision is variant "default") and the salt of the hash
  // that assigns users to them.
  std::vector<Variant> variants;
  std::string variant_salt;
  std::string variant = "default";  // the variant this Surface object runs
  bool own_rules = false;           // a variant whose rules differ from the base surface's
  nlohmann::json definition;  // the normalised JSON form

  bool NeedsItemQuery() const { return !rules.empty() || !label.empty(); }
  int64_t BudgetMs(const std::string& recipe) const;
  // The longest frequency_cap window in ms (0 when no cap counts impressions), and whether the
  // surface has any frequency_cap rule; both include the variants'.
  int64_t MaxCapWindowMs() const;
  bool HasCaps() const;
  // Whether the surface or any of its variants explores.
  bool Explores() const;
};

// The variant a user is assigned to: a salted 64-bit hash of the user id picks a point in
// [0, total weight), and the variants own consecutive ranges in their order. base itself when
// it has no variants.
std::shared_ptr<const Surface> VariantFor(const std::shared_ptr<const Surface>& base,
                                          const std::string& user);

// 64-bit FNV-1a of text, finished with MurmurHash3's fmix64 so that every bit is mixed.
uint64_t StableHash(std::string_view text);

// Field readers shared by the surface parsers. Bad: InvalidArgument "surface field 'f' what".
Status Bad(const std::string& field, const std::string& what);
// An integer in [lo, hi] (fallback when absent or null); path names the field in errors.
Result<int64_t> IntField(const nlohmann::json& obj, const std::string& field, int64_t fallback,
                         int64_t lo, int64_t hi, const std::string& path);
// A non-empty string ("" when absent and not required).
Result<std::string> StringField(const nlohmann::json& obj, const std::string& field,
                                const std::string& path, bool required);

// A PQL name (node type, edge type, property): 1 to 128 of [A-Za-z0-9_], not starting with a
// digit.
bool IsIdentifier(const std::string& s);

// OK when every key of obj is in known; else InvalidArgument "unknown field 'x' in <where>
// (expected ...)". Shared by surfaces, rules and recipes.
Status CheckFields(const nlohmann::json& obj, const std::set<std::string>& known,
                   const std::string& where);

// Parses and checks the shape of a definition (not the rule expressions: see CheckRules).
// Variants are parsed too (each a Surface of its own, errors prefixed "variants[i].").
Result<Surface> ParseSurface(const std::string& name, const nlohmann::json& definition);

// Rewrites a definition for storing: every frequency_cap's never_after list of event types
// (base and variants) becomes {event type: edge type} from the event-type table (meta
// config/event_types); a definition with variants and no variant_salt gets `salt`.
// InvalidArgument names an unknown event type or one whose user or item type is not the
// surface's.
Result<nlohmann::json> PrepareDefinition(const Database& db, const nlohmann::json& definition,
                                         const std::string& salt);

// Parses one frequency_cap rule {type, max?, window_seconds?, never_after?} (path names it in
// errors).
Result<Rule> ParseFrequencyCap(const nlohmann::json& r, const std::string& path);
nlohmann::json FrequencyCapJson(const Rule& rule);
// Parses "report": {"clicks": [event types], "conversions": [event types]} of def into s.
Status ParseReportSettings(const nlohmann::json& def, Surface* s);
// Parses "variants" of def into s (the base surface, fully parsed except for its variants).
Status ParseVariants(const nlohmann::json& def, Surface* s);

// Compiles the surface's item query against the database's schema: each rule expression alone
// without the user (setting Rule::uses_user when it reads u) and with it, and the whole query.
// InvalidArgument names the rule ("rules[2].where: unknown property ...").
Status CheckRules(Database* db, Surface* surface);

// The PQL that fetches, for items $ids (and user $user when with_user), the id, the label and
// one column per rule expression (null for a user rule when !with_user).
std::string ItemQuery(const Surface& surface, bool with_user);

}  // namespace pathwise::decide
