// Exploration in a decision (docs/feedback-loop.md, "Exploration"): the explored positions of the
// list are filled from the candidates ranked below the exploit slots, by the surface's policy,
// seeded by the recommendation_id; the decision's trace is logged with its impressions so that
// ReplayExploration can reproduce it, and logged impressions and attributed clicks feed the
// posterior counts.
#include <algorithm>
#include <limits>

#include "decide/decider_impl.h"

namespace pathwise::decide {
namespace {

using json = nlohmann::json;

std::vector<std::string> RecordItemIds(const json& items) {
  std::vector<std::string> ids;
  if (!items.is_array()) return ids;
  for (const json& item : items) {
    if (item.is_object() && item.contains("id") && item["id"].is_string()) ids.push_back(item["id"]);
  }
  return ids;
}

// Splits the ranked items into the exploit list (the first exploit_n) and the candidate pool
// (the next pool_size).
void SplitRanked(ItemList ranked, size_t exploit_n, size_t pool_size, ItemList* exploit,
                 ItemList* pool) {
  for (size_t i = 0; i < ranked.size(); ++i) {
    if (i < exploit_n) {
      exploit->push_back(std::move(ranked[i]));
    } else if (pool->size() < pool_size) {
      pool->push_back(std::move(ranked[i]));
    }
  }
}

// The settings, pool and slot count of a logged trace, for a replay.
struct LoggedDraw {
  ExploreSettings settings;
  std::vector<std::string> ids;
  std::vector<Arm> arms;
  std::vector<int64_t> positions;
};

Result<LoggedDraw> ParseTrace(const json& trace) {
  LoggedDraw out;
  if (!trace.is_object() || !trace.contains("settings") || !trace.contains("pool") ||
      !trace["pool"].is_array() || !trace.contains("positions") || !trace["positions"].is_array()) {
    return Status::Corruption("the logged exploration trace is incomplete");
  }
  PW_ASSIGN_OR_RETURN(out.settings, ParseExploreSettings({{"exploration", trace["settings"]}}, 1000));
  for (const json& entry : trace["pool"]) {
    if (!entry.is_array() || entry.size() != 3 || !entry[0].is_string() ||
        !entry[1].is_number_integer() || !entry[2].is_number_integer()) {
      return Status::Corruption("the logged exploration pool is malformed");
    }
    out.ids.push_back(entry[0]);
    out.arms.push_back({entry[1].get<int64_t>(), entry[2].get<int64_t>()});
  }
  for (const json& p : trace["positions"]) {
    if (!p.is_number_integer()) return Status::Corruption("the logged explored positions are malformed");
    out.positions.push_back(p.get<int64_t>());
  }
  return out;
}

}  // namespace

void Decider::Impl::Explore(const Surface& s, const Request& req, const std::string& id, Draft* d,
                            json* trace) {
  const ExploreSettings& x = s.explore;
  std::vector<size_t> positions = x.Positions(req.k);
  std::string bucket = x.Bucket(req.context);
  *trace = {{"policy", PolicyName(x.policy)},
            {"bucket", bucket},
            {"settings", ExploreSettingsJson(x)},
            {"positions", positions},
            {"pool", json::array()},
            {"explored", json::array()}};
  ItemList ranked = std::move(d->items);
  for (Item& item : d->pool) ranked.push_back(std::move(item));
  d->items.clear();
  d->pool.clear();
  ItemList exploit, pool;
  SplitRanked(std::move(ranked), req.k - positions.size(), static_cast<size_t>(x.pool_size),
              &exploit, &pool);
  std::vector<std::string> ids;
  for (const Item& item : pool) ids.push_back(item.id);
  std::vector<Arm> arms = explore_counts.Get(s.name, bucket, ids);
  for (size_t i = 0; i < pool.size(); ++i) {
    (*trace)["pool"].push_back({ids[i], arms[i].impressions, arms[i].clicks});
  }
  std::vector<ExploreChoice> choices = DrawExploration(x, arms, positions.size(), ExploreSeed(id));
  size_t e = 0, next = 0;
  for (size_t pos = 0; pos < req.k; ++pos) {
    if (e < choices.size() && pos == positions[e]) {
      Item item = std::move(pool[choices[e].index]);
      item.propensity = choices[e].propensity;
      bool cold = arms[choices[e].index].impressions == 0;
      item.explore_reason = cold ? "explore: new item" : std::string("explore: ") + PolicyName(x.policy);
      (*trace)["explored"].push_back({{"slot", pos}, {"id", item.id}, {"propensity", item.propensity}});
      d->items.push_back(std::move(item));
      ++e;
    } else if (next < exploit.size()) {
      d->items.push_back(std::move(exploit[next++]));
    } else {
      break;
    }
  }
  if (e > 0) Count("explored_items", e);
}

void Decider::Impl::CountExploreImpressions(const std::string& surface, const json& trace,
                                            const json& items) {
  explore_counts.AddImpressions(surface, trace.value("bucket", std::string()),
                                RecordItemIds(items));
}

void Decider::Impl::LoadExploreCounts(const Surface& base) {
  if (!base.Explores() || options.explore_history_ms <= 0) return;
  if (!explore_counts.StartLoad(base.name)) return;
  int64_t now = NowMs();
  size_t loaded = 0;
  Status scanned = db->ScanRecommendations(now - options.explore_history_ms, now, [&](const json& r) {
    if (r.value("surface", json()) != base.name || !r.contains("exploration") ||
        !r["exploration"].is_object()) {
      return true;
    }
    std::string bucket = r["exploration"].value("bucket", std::string());
    std::vector<std::string> ids = RecordItemIds(r.value("items", json::array()));
    explore_counts.AddImpressions(base.name, bucket, ids);
    for (const json& o : r.value("outcomes", json::array())) {
      if (!o.is_object() || !o.contains("item") || !o["item"].is_string()) continue;
      std::string type = o.value("type", std::string());
      bool click = std::find(base.click_types.begin(), base.click_types.end(), type) !=
                   base.click_types.end();
      if (click && std::find(ids.begin(), ids.end(), o["item"]) != ids.end()) {
        explore_counts.AddClick(base.name, bucket, o["item"]);
      }
    }
    ++loaded;
    return true;
  });
  Count(scanned.ok() ? "explore_decisions_loaded" : "explore_load_failures", scanned.ok() ? loaded : 1);
}

Result<json> Decider::ReplayExploration(const std::string& recommendation_id) const {
  PW_ASSIGN_OR_RETURN(json record, impl_->db->GetRecommendation(recommendation_id));
  if (!record.contains("exploration")) {
    return Status::NotFound("decision " + recommendation_id + " was not served by an exploring surface");
  }
  const json& trace = record["exploration"];
  PW_ASSIGN_OR_RETURN(LoggedDraw logged, ParseTrace(trace));
  std::string id = record.value("recommendation_id", recommendation_id);
  std::vector<ExploreChoice> choices =
      DrawExploration(logged.settings, logged.arms, logged.positions.size(), ExploreSeed(id));
  json items = json::array();
  for (size_t r = 0; r < choices.size(); ++r) {
    const Arm& arm = logged.arms[choices[r].index];
    items.push_back({{"slot", logged.positions[r]},
                     {"id", logged.ids[choices[r].index]},
                     {"propensity", choices[r].propensity},
                     {"reason", arm.impressions == 0 ? std::string("explore: new item")
                                                     : std::string("explore: ") + trace.value("policy", "")}});
  }
  bool same = items.size() == trace.value("explored", json::array()).size();
  for (size_t r = 0; same && r < items.size(); ++r) {
    const json& was = trace["explored"][r];
    same = was.value("id", "") == items[r]["id"] && was.value("slot", -1) == items[r]["slot"] &&
           was.value("propensity", -1.0) == items[r]["propensity"].get<double>();
  }
  return json{{"recommendation_id", id},
              {"policy", trace.value("policy", "")},
              {"bucket", trace.value("bucket", "")},
              {"items", std::move(items)},
              {"logged", trace.value("explored", json::array())},
              {"reproduced", same}};
}

}  // namespace pathwise::decide
