// Off-policy evaluation from the impression log (docs/feedback-loop.md): inverse propensity
// scoring (IPS) and self-normalised IPS of a recipe on a surface's logged decisions.
#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <unordered_map>

#include "decide/decide.h"
#include "decide/surface.h"

namespace pathwise::decide {
namespace {

using json = nlohmann::json;

// One logged decision's contribution: sum of weighted rewards, sum of weights, impressions.
struct DecisionTerms {
  double reward = 0, weight = 0, weight_sq = 0;
  double impressions = 0, clicks = 0, matched = 0;
};

struct Totals {
  double reward = 0, weight = 0, impressions = 0;
  void Add(const DecisionTerms& t) {
    reward += t.reward;
    weight += t.weight;
    impressions += t.impressions;
  }
  double Ips() const { return impressions > 0 ? reward / impressions : NAN; }
  double Snips() const { return weight > 0 ? reward / weight : NAN; }
};

json Estimate(double value, std::vector<double> samples) {
  if (std::isnan(value)) return nullptr;
  samples.erase(std::remove_if(samples.begin(), samples.end(), [](double v) { return std::isnan(v); }),
                samples.end());
  if (samples.empty()) return {{"value", value}, {"low", nullptr}, {"high", nullptr}};
  std::sort(samples.begin(), samples.end());
  auto at = [&](double q) {
    return samples[std::min(samples.size() - 1, static_cast<size_t>(q * static_cast<double>(samples.size())))];
  };
  return {{"value", value}, {"low", at(0.025)}, {"high", at(0.975)}};
}

// The recipe's ranked item ids for user (no rules): the surface's params, the user, $limit.
Result<std::vector<std::string>> RankFor(Database* db, const json& recipe, const Surface& s,
                                         const std::string& user) {
  json params = recipe.value("params", json::object());
  if (!params.is_object()) params = json::object();
  for (const auto& [k, v] : s.params.items()) params[k] = v;
  params["user"] = user;
  int64_t limit = s.k * s.candidates_factor;
  if (recipe.contains("max_limit") && recipe["max_limit"].is_number_integer()) {
    limit = std::min(limit, recipe["max_limit"].get<int64_t>());
  }
  params["limit"] = limit;
  PW_ASSIGN_OR_RETURN(QueryResult result, db->Query(recipe["query"].get<std::string>(), params));
  std::vector<std::string> ids;
  for (const json& row : result.rows) {
    if (row.is_array() && !row.empty() && row[0].is_string()) ids.push_back(row[0]);
  }
  return ids;
}

// The terms of one logged decision against the recipe's list.
DecisionTerms Terms(const json& record, const std::vector<std::string>& ranked,
                    const std::vector<std::string>& click_types) {
  std::map<std::string, bool> clicked;
  for (const json& o : record.value("outcomes", json::array())) {
    std::string type = o.value("type", std::string());
    if (std::find(click_types.begin(), click_types.end(), type) != click_types.end()) {
      clicked[o.value("item", std::string())] = true;
    }
  }
  DecisionTerms t;
  for (const json& item : record.value("items", json::array())) {
    if (!item.is_object() || !item.contains("id") || !item["id"].is_string()) continue;
    std::string id = item["id"];
    size_t slot = item.value("slot", size_t{0});
    double propensity = item.value("propensity", 1.0);
    double reward = clicked.count(id) ? 1.0 : 0.0;
    t.impressions += 1;
    t.clicks += reward;
    if (propensity <= 0 || slot >= ranked.size() || ranked[slot] != id) continue;
    double w = 1.0 / propensity;
    t.matched += 1;
    t.weight += w;
    t.weight_sq += w * w;
    t.reward += w * reward;
  }
  return t;
}

json Assumptions() {
  return json::array(
      {"the recipe is deterministic and ranks now as it would have at serving time (it runs on "
       "today's graph, for the logged user, without the request's context or the surface's rules)",
       "a click on an item depends only on that item in that slot (no position or list effects "
       "beyond the slot itself)",
       "every logged propensity is the true probability of the logged item in its slot and is "
       "positive wherever the recipe puts an item (exploit slots log 1: a recipe that disagrees "
       "with the logged ranking there is not supported by the log)",
       "decisions are independent (intervals resample decisions, not users)"});
}

}  // namespace

Result<json> EvaluateReplay(Database* db, const ReplayEvaluationOptions& o) {
  if (o.until_ms <= o.since_ms) return Status::InvalidArgument("until must be after since");
  auto stored = GetSurface(*db, o.surface);
  if (!stored.ok()) return stored.status();
  PW_ASSIGN_OR_RETURN(Surface s, ParseSurface(o.surface, *stored));
  PW_ASSIGN_OR_RETURN(json recipe, LoadRecipe(*db, o.recipe));
  std::unordered_map<std::string, std::vector<std::string>> ranked;  // by user
  std::vector<DecisionTerms> terms;
  double clicks = 0, matched = 0, weight_sq = 0;
  bool complete = true;
  Status query_error;
  Status scanned = db->ScanRecommendations(o.since_ms, o.until_ms, [&](const json& r) {
    if (r.value("surface", json()) != o.surface || !r.contains("user") || !r["user"].is_string()) return true;
    if (terms.size() >= o.max_decisions) {
      complete = false;
      return false;
    }
    std::string user = r["user"];
    auto it = ranked.find(user);
    if (it == ranked.end()) {
      auto list = RankFor(db, recipe, s, user);
      if (!list.ok()) {
        query_error = list.status();
        return false;
      }
      it = ranked.emplace(user, std::move(list).value()).first;
    }
    terms.push_back(Terms(r, it->second, s.click_types));
    clicks += terms.back().clicks;
    matched += terms.back().matched;
    weight_sq += terms.back().weight_sq;
    return true;
  });
  PW_RETURN_IF_ERROR(scanned);
  PW_RETURN_IF_ERROR(query_error);
  Totals all;
  for (const DecisionTerms& t : terms) all.Add(t);
  std::vector<double> ips, snips;
  std::mt19937_64 rng(o.seed);
  for (size_t b = 0; b < o.bootstrap && !terms.empty(); ++b) {
    Totals resample;
    std::uniform_int_distribution<size_t> pick(0, terms.size() - 1);
    for (size_t i = 0; i < terms.size(); ++i) resample.Add(terms[pick(rng)]);
    ips.push_back(resample.Ips());
    snips.push_back(resample.Snips());
  }
  json out = {{"surface", o.surface},
              {"recipe", o.recipe},
              {"since_ms", o.since_ms},
              {"until_ms", o.until_ms},
              {"decisions", terms.size()},
              {"impressions", all.impressions},
              {"matched", matched},
              {"logged_ctr", all.impressions > 0 ? json(clicks / all.impressions) : json(nullptr)},
              {"ips", Estimate(all.Ips(), std::move(ips))},
              {"snips", Estimate(all.Snips(), std::move(snips))},
              {"effective_sample_size", weight_sq > 0 ? json(all.weight * all.weight / weight_sq) : json(0)},
              {"bootstrap", o.bootstrap},
              {"complete", complete},
              {"assumptions", Assumptions()}};
  return out;
}

}  // namespace pathwise::decide
