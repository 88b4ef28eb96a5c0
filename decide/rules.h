// Internal to decide/: a ranked list of items and the business rules applied to it.
#pragma once

#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "decide/surface.h"

namespace pathwise::decide {

// One item of a list being decided on.
struct Item {
  std::string id;
  std::string type;
  double score = NAN;  // NaN: no score (a null score, or an item of a list without scores)
  nlohmann::json sources = nlohmann::json::array();  // the recipe's sources that found it
  nlohmann::json explanation;                        // the recipe's explanation (explain only)
  std::string served_by;                             // primary | fallback:<r> | last_served | popular
  nlohmann::json label;                              // the surface's label property
  std::vector<nlohmann::json> values;                // one per rule (empty: not evaluated)
  nlohmann::json applied = nlohmann::json::array();  // rule effects on this item
  // Exploration (decide/explore.h): the probability that the policy put the item in its slot
  // (1 for an exploit slot), and for an explored slot its reason ("explore: new item" for an
  // item without impressions in the bucket, else "explore: <policy>"; empty: not explored).
  double propensity = 1;
  std::string explore_reason;
};

// What the rules did, for the decision's "rules" field: one entry per rule with the number of
// items it removed, moved or changed.
struct RuleReport {
  std::vector<size_t> affected;
  // Per rule: the items a frequency cap removed, each {"id", "impressions"} (at the cap),
  // {"id", "event"} (after a never_after event) or {"id"} (values not evaluated).
  std::vector<std::vector<nlohmann::json>> capped;
  size_t excluded = 0;
};

// Applies the request's exclude list, then the rules: filters, boosts/buries (re-ranking by the
// new score), quotas and frequency caps in the surface's order (a frequency cap reads the item's
// value {"impressions": n in its window, "event": a never_after event type or null}, which the
// decider fills in); pins last, so a pinned slot is final. Items whose
// rule values were not evaluated (values empty) fail filters and match nothing. pinnable: items
// named by pin rules that are not in the list (with their values). served: the items an earlier
// step already put in the decision (quotas count them). Cuts the list to k.
RuleReport ApplyRules(const Surface& surface, const std::set<std::string>& exclude,
                      const std::map<std::string, Item>& pinnable,
                      const std::vector<Item>& served, size_t k, std::vector<Item>* list);

nlohmann::json RuleReportJson(const Surface& surface, const RuleReport& report);

}  // namespace pathwise::decide
