// The synthetic world of `pathwise bench loop` (see loop_world.h).
#include "bench/loop_world.h"

#include <algorithm>
#include <functional>
#include <set>

#include <nlohmann/json.hpp>

namespace pathwise::bench::loop {

using json = nlohmann::json;

World::World(const WorldOptions& opts) : o(opts) {
  const double scale = 1 / std::pow(static_cast<double>(o.dim), 0.25);
  auto vec = [&](Rng& rng, double s) {
    std::vector<double> v(o.dim);
    for (double& x : v) x = rng.Gaussian() * s;
    return v;
  };
  for (size_t u = 0; u < o.users; ++u) {
    Rng rng(o.seed, 1, u);
    user.push_back(vec(rng, scale));
  }
  for (size_t i = 0; i <= o.items; ++i) {  // the last is the injected item
    Rng rng(o.seed, 2, i);
    item.push_back(vec(rng, scale));
    bias.push_back(i == NewIndex() ? o.new_item_bias : rng.Gaussian() * 0.5);
    std::vector<double> c = item.back();
    for (double& x : c) x += rng.Gaussian() * scale * 0.5;
    content.push_back(c);
  }
}

std::vector<std::pair<size_t, double>> World::Neighbours(size_t i, bool with_new) const {
  std::vector<std::pair<double, size_t>> sims;
  auto norm = [&](size_t x) {
    double n = 0;
    for (double c : content[x]) n += c * c;
    return std::sqrt(n);
  };
  double ni = norm(i);
  for (size_t j = 0; j <= o.items; ++j) {
    if (j == i || (j == NewIndex() && !with_new)) continue;
    double dot = 0;
    for (size_t d = 0; d < o.dim; ++d) dot += content[i][d] * content[j][d];
    sims.push_back({dot / (ni * norm(j) + 1e-12), j});
  }
  size_t n = std::min(o.neighbours, sims.size());
  std::partial_sort(sims.begin(), sims.begin() + n, sims.end(), std::greater<>());
  std::vector<std::pair<size_t, double>> out;
  for (size_t r = 0; r < n; ++r) out.push_back({sims[r].second, std::max(0.01, sims[r].first)});
  return out;
}

std::string EdgeLine(const std::string& type, const std::string& from_type, const std::string& from,
                     const std::string& to_type, const std::string& to, double weight) {
  return json{
             {"edge", type}, {"from", {from_type, from}}, {"to", {to_type, to}}, {"weight", weight}}
             .dump() +
         "\n";
}

// The schema, catalog, SIMILAR_TO and each user's seed history (`history` clicks drawn by true
// preference, without position bias), as NDJSON for Database::Load.
std::string WorldNdjson(const World& w, size_t* seed_clicks) {
  json schema = {
      {"node_types", json::array({{{"name", "User"}},
                                  {{"name", "Catalog"}},
                                  {{"name", "Item"}, {"properties", {{"title", "string"}}}}})},
      {"edge_types",
       json::array(
           {{{"name", "CLICKED"}, {"mode", "accumulate"}, {"from", "User"}, {"to", "Item"}},
            {{"name", "CLICK_LOG"}, {"mode", "accumulate"}, {"from", "User"}, {"to", "Item"}},
            {{"name", "SIMILAR_TO"}, {"mode", "replace"}, {"from", "Item"}, {"to", "Item"}},
            {{"name", "IN_CATALOG"}, {"mode", "replace"}, {"from", "Item"}, {"to", "Catalog"}}})}};
  std::string out = json{{"schema", schema}}.dump() + "\n";
  out += R"({"node":"Catalog","id":"all"})"
         "\n";
  for (size_t i = 0; i < w.o.items; ++i) {
    out += json{{"node", "Item"},
                {"id", w.ItemName(i)},
                {"props", {{"title", "item " + std::to_string(i)}}}}
               .dump() +
           "\n";
    out += EdgeLine("IN_CATALOG", "Item", w.ItemName(i), "Catalog", "all", 1);
  }
  for (size_t i = 0; i < w.o.items; ++i) {
    for (const auto& [j, sim] : w.Neighbours(i, false)) {
      out += EdgeLine("SIMILAR_TO", "Item", w.ItemName(i), "Item", w.ItemName(j), sim);
    }
  }
  *seed_clicks = 0;
  for (size_t u = 0; u < w.o.users; ++u) {
    out += json{{"node", "User"}, {"id", "u" + std::to_string(u)}}.dump() + "\n";
    Rng rng(w.o.seed, 3, u);
    std::set<size_t> clicked;
    // Draw items uniformly and keep each with its true probability until `history` are kept.
    for (size_t tries = 0; clicked.size() < std::min(w.o.history, w.o.items) && tries < 1000000;
         ++tries) {
      size_t i = static_cast<size_t>(rng.Uniform() * static_cast<double>(w.o.items));
      if (rng.Uniform() < w.Affinity(u, i)) clicked.insert(i);
    }
    for (size_t i : clicked) {
      out += EdgeLine("CLICKED", "User", "u" + std::to_string(u), "Item", w.ItemName(i), 1);
      ++*seed_clicks;
    }
  }
  return out;
}

}  // namespace pathwise::bench::loop
