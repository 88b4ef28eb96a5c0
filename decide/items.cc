// The surface's item query (labels and rule values of the items a decision may serve) and the
// popular list it can always fall back on.
#include <algorithm>
#include <cmath>

#include "decide/decider_impl.h"

namespace pathwise::decide {
namespace {

using json = nlohmann::json;

// Most items a popular list keeps.
constexpr size_t kPopularMax = 1000;
// The popular query runs in the background; this bounds it.
constexpr int64_t kPopularDeadlineMs = 10'000;

// id -> row of the item query (id, label, one value per rule).
Result<std::map<std::string, json>> RunItemQuery(Database* db, const Surface& s,
                                                 const std::string& user, bool with_user,
                                                 const std::vector<std::string>& ids,
                                                 Deadline deadline) {
  QueryOptions qo;
  qo.deadline = deadline;
  json params = {{"ids", ids}, {"user", user}};
  PW_ASSIGN_OR_RETURN(QueryResult result, db->Query(ItemQuery(s, with_user), params, qo));
  std::map<std::string, json> rows;
  for (json& row : result.rows) {
    if (row.is_array() && !row.empty() && row[0].is_string()) {
      rows.emplace(row[0].get_ref<const std::string&>(), std::move(row));
    }
  }
  return rows;
}

void Fill(const json& row, Item* item) {
  item->label = row.size() > 1 ? row[1] : json();
  item->values.assign(row.begin() + std::min<size_t>(2, row.size()), row.end());
}

}  // namespace

bool Decider::Impl::EvaluateItems(const Surface& s, const Request& req, const UserInfo& user,
                                  Clock::time_point until, const std::string& served_by,
                                  ItemList* items, std::map<std::string, Item>* pinnable) {
  std::vector<std::string> ids;
  ids.reserve(items->size() + s.rules.size());
  for (const Item& item : *items) ids.push_back(item.id);
  for (const Rule& r : s.rules) {
    if (!r.pin_id.empty()) ids.push_back(r.pin_id);
  }
  bool with_user = user.exists && std::any_of(s.rules.begin(), s.rules.end(),
                                               [](const Rule& r) { return r.uses_user; });
  auto rows = RunItemQuery(db, s, req.user, with_user, ids, Deadline::At(until));
  if (!rows.ok()) return false;
  for (Item& item : *items) {
    auto it = rows->find(item.id);
    if (it != rows->end()) Fill(it->second, &item);
  }
  for (const Rule& r : s.rules) {
    if (r.pin_id.empty()) continue;
    auto it = rows->find(r.pin_id);
    if (it == rows->end()) continue;
    Item item;
    item.id = r.pin_id;
    item.type = s.item_type;
    item.served_by = served_by;
    Fill(it->second, &item);
    pinnable->emplace(item.id, std::move(item));
  }
  return true;
}

Result<ItemList> Decider::Impl::ComputePopular(const Surface& s) {
  QueryOptions qo;
  qo.deadline = Deadline::AfterMillis(kPopularDeadlineMs);
  PW_ASSIGN_OR_RETURN(QueryResult result, db->Query(s.popular_query, s.popular_params, qo));
  int type_col = -1, score_col = -1;
  for (size_t c = 0; c < result.columns.size(); ++c) {
    if (result.columns[c] == "type") type_col = static_cast<int>(c);
    if (result.columns[c] == "score") score_col = static_cast<int>(c);
  }
  ItemList items;
  for (const json& row : result.rows) {
    if (items.size() >= kPopularMax) break;
    if (!row.is_array() || row.empty() || !row[0].is_string()) continue;
    Item item;
    item.id = row[0].get<std::string>();
    item.type = type_col >= 0 && row[type_col].is_string() ? row[type_col].get<std::string>()
                                                           : s.item_type;
    item.score = score_col >= 0 && row[score_col].is_number() ? row[score_col].get<double>() : NAN;
    item.served_by = "popular";
    items.push_back(std::move(item));
  }
  if (s.NeedsItemQuery() && !items.empty()) {
    std::vector<std::string> ids;
    for (const Item& item : items) ids.push_back(item.id);
    PW_ASSIGN_OR_RETURN(auto rows, RunItemQuery(db, s, "", /*with_user=*/false, ids,
                                                Deadline::AfterMillis(kPopularDeadlineMs)));
    for (Item& item : items) {
      auto it = rows.find(item.id);
      if (it != rows.end()) Fill(it->second, &item);
    }
  }
  return items;
}

}  // namespace pathwise::decide
