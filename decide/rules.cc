#include "decide/rules.h"

#include <algorithm>
#include <unordered_map>

namespace pathwise::decide {
namespace {

bool IsTrue(const Item& item, size_t rule) {
  return rule < item.values.size() && item.values[rule].is_boolean() && item.values[rule].get<bool>();
}

void Note(Item* item, size_t rule, const Rule& r, nlohmann::json extra = nlohmann::json::object()) {
  extra["rule"] = rule;
  extra["type"] = RuleTypeName(r.type);
  item->applied.push_back(std::move(extra));
}

// Higher scores first; items without a score after those with one; ties keep their order.
// Sorts positions, then moves each item once (an Item is a dozen strings and JSON values).
void Rerank(std::vector<Item>* list) {
  std::vector<uint32_t> order(list->size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  const std::vector<Item>& items = *list;
  std::stable_sort(order.begin(), order.end(), [&](uint32_t x, uint32_t y) {
    const double a = items[x].score, b = items[y].score;
    if (std::isnan(a)) return false;
    if (std::isnan(b)) return true;
    return a > b;
  });
  if (std::is_sorted(order.begin(), order.end())) return;
  std::vector<Item> sorted;
  sorted.reserve(list->size());
  for (uint32_t i : order) sorted.push_back(std::move((*list)[i]));
  *list = std::move(sorted);
}

size_t Filter(size_t index, const Rule& r, std::vector<Item>* list) {
  size_t before = list->size();
  list->erase(std::remove_if(list->begin(), list->end(),
                             [&](const Item& item) { return !IsTrue(item, index); }),
              list->end());
  (void)r;
  return before - list->size();
}

size_t Scale(size_t index, const Rule& r, std::vector<Item>* list) {
  size_t n = 0;
  for (Item& item : *list) {
    if (!IsTrue(item, index) || std::isnan(item.score)) continue;
    double before = item.score;
    // Multiplying a negative score by a boost would push it down: scale its distance instead.
    item.score = before >= 0 ? before * r.factor : before / r.factor;
    Note(&item, index, r, {{"factor", r.factor}, {"score_before", before}});
    ++n;
  }
  if (n > 0) Rerank(list);
  return n;
}

// Why a frequency cap removes an item: {"id", "event"} after a never_after event, {"id",
// "impressions"} at the cap, {"id"} when its values were not evaluated; null when it stays.
nlohmann::json CapReason(const Item& item, size_t index, const Rule& r) {
  if (index >= item.values.size() || !item.values[index].is_object()) return {{"id", item.id}};
  const nlohmann::json& v = item.values[index];
  if (v.contains("event") && v["event"].is_string()) return {{"id", item.id}, {"event", v["event"]}};
  int64_t seen = v.value("impressions", int64_t{0});
  if (r.max > 0 && seen >= r.max) return {{"id", item.id}, {"impressions", seen}};
  return nullptr;
}

// Removes capped items (listed in *capped); an item that stays after earlier impressions in the
// window notes how many.
size_t FrequencyCap(size_t index, const Rule& r, std::vector<Item>* list,
                    std::vector<nlohmann::json>* capped) {
  size_t before = list->size();
  std::vector<Item> kept;
  kept.reserve(list->size());
  for (Item& item : *list) {
    nlohmann::json why = CapReason(item, index, r);
    if (!why.is_null()) {
      capped->push_back(std::move(why));
      continue;
    }
    int64_t seen = item.values[index].value("impressions", int64_t{0});
    if (seen > 0) Note(&item, index, r, {{"impressions", seen}, {"max", r.max}});
    kept.push_back(std::move(item));
  }
  *list = std::move(kept);
  return before - list->size();
}

// Whether an item passes rule f when it is a filter or a frequency cap (true for other rules).
bool Passes(const Item& item, size_t f, const Rule& r) {
  if (r.type == Rule::Type::kFilter) return IsTrue(item, f);
  if (r.type == Rule::Type::kFrequencyCap) return CapReason(item, f, r).is_null();
  return true;
}

// The key values of an item for a quota: a list counts the item under each of its elements
// (a movie with two genres counts once for each); null counts under none.
std::vector<std::string> QuotaKeys(const Item& item, size_t index) {
  std::vector<std::string> keys;
  if (index >= item.values.size()) return keys;
  const nlohmann::json& v = item.values[index];
  if (v.is_array()) {
    for (const auto& e : v) {
      if (!e.is_null()) keys.push_back(e.dump());
    }
  } else if (!v.is_null()) {
    keys.push_back(v.dump());
  }
  return keys;
}

size_t Quota(size_t index, const Rule& r, const std::vector<Item>& served,
             std::vector<Item>* list) {
  std::unordered_map<std::string, int64_t> counts;
  for (const Item& item : served) {
    for (const std::string& k : QuotaKeys(item, index)) ++counts[k];
  }
  size_t before = list->size();
  std::vector<Item> kept;
  kept.reserve(list->size());
  for (Item& item : *list) {
    std::vector<std::string> keys = QuotaKeys(item, index);
    bool full = std::any_of(keys.begin(), keys.end(),
                            [&](const std::string& k) { return counts[k] >= r.max; });
    if (full) continue;
    for (const std::string& k : keys) ++counts[k];
    kept.push_back(std::move(item));
  }
  *list = std::move(kept);
  return before - list->size();
}

size_t Pin(size_t index, const Rule& r, const std::map<std::string, Item>& pinnable,
           std::vector<Item>* list) {
  std::vector<Item> pinned;
  for (auto it = list->begin(); it != list->end();) {
    bool match = r.pin_id.empty() ? IsTrue(*it, index) : it->id == r.pin_id;
    if (match) {
      pinned.push_back(std::move(*it));
      it = list->erase(it);
    } else {
      ++it;
    }
  }
  if (pinned.empty() && !r.pin_id.empty()) {
    auto p = pinnable.find(r.pin_id);
    if (p != pinnable.end()) pinned.push_back(p->second);
  }
  size_t slot = std::min<size_t>(static_cast<size_t>(r.slot), list->size());
  for (Item& item : pinned) Note(&item, index, r, {{"slot", r.slot}});
  size_t n = pinned.size();
  list->insert(list->begin() + static_cast<std::ptrdiff_t>(slot),
               std::make_move_iterator(pinned.begin()), std::make_move_iterator(pinned.end()));
  return n;
}

}  // namespace

RuleReport ApplyRules(const Surface& surface, const std::set<std::string>& exclude,
                      const std::map<std::string, Item>& pinnable,
                      const std::vector<Item>& served, size_t k, std::vector<Item>* list) {
  RuleReport report;
  report.affected.assign(surface.rules.size(), 0);
  report.capped.resize(surface.rules.size());
  size_t before = list->size();
  list->erase(std::remove_if(list->begin(), list->end(),
                             [&](const Item& item) { return exclude.count(item.id) > 0; }),
              list->end());
  report.excluded = before - list->size();
  for (size_t i = 0; i < surface.rules.size(); ++i) {
    const Rule& r = surface.rules[i];
    switch (r.type) {
      case Rule::Type::kFilter: report.affected[i] = Filter(i, r, list); break;
      case Rule::Type::kBoost:
      case Rule::Type::kBury: report.affected[i] = Scale(i, r, list); break;
      case Rule::Type::kQuota: report.affected[i] = Quota(i, r, served, list); break;
      case Rule::Type::kFrequencyCap:
        report.affected[i] = FrequencyCap(i, r, list, &report.capped[i]);
        break;
      case Rule::Type::kPin: break;
    }
  }
  std::map<std::string, Item> pins;
  for (const auto& [id, item] : pinnable) {
    if (!exclude.count(id)) pins.emplace(id, item);
  }
  for (size_t i = 0; i < surface.rules.size(); ++i) {
    if (surface.rules[i].type != Rule::Type::kPin) continue;
    // A pinned item from outside the list must pass the filters and frequency caps too.
    const Rule& r = surface.rules[i];
    std::map<std::string, Item> eligible;
    for (const auto& [id, item] : pins) {
      bool ok = true;
      for (size_t f = 0; f < surface.rules.size(); ++f) {
        if (!Passes(item, f, surface.rules[f])) ok = false;
      }
      if (ok) eligible.emplace(id, item);
    }
    report.affected[i] = Pin(i, r, eligible, list);
  }
  if (list->size() > k) list->resize(k);
  return report;
}

nlohmann::json RuleReportJson(const Surface& surface, const RuleReport& report) {
  nlohmann::json out = nlohmann::json::array();
  for (size_t i = 0; i < surface.rules.size(); ++i) {
    out.push_back({{"rule", i},
                   {"type", RuleTypeName(surface.rules[i].type)},
                   {"affected", report.affected[i]}});
    if (i < report.capped.size() && !report.capped[i].empty()) out.back()["capped"] = report.capped[i];
  }
  return out;
}

}  // namespace pathwise::decide
