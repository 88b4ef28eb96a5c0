// Figures of `pathwise bench loop` (see loop_figures.h).
#include "bench/loop_figures.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "bench/loop_world.h"

namespace pathwise::bench::loop {

// A proportion with its 95% Wilson score interval.
json Wilson(double successes, double trials) {
  if (trials <= 0) return nullptr;
  const double z = 1.959963984540054, p = successes / trials, n = trials;
  double centre = (p + z * z / (2 * n)) / (1 + z * z / n);
  double half = z * std::sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n);
  return {
      {"value", p}, {"low", std::max(0.0, centre - half)}, {"high", std::min(1.0, centre + half)}};
}

namespace {

double Ctr(const std::vector<UserCounts>& users, const std::vector<size_t>& picks) {
  double impressions = 0, clicks = 0;
  for (size_t i : picks) {
    impressions += users[i].impressions;
    clicks += users[i].clicks;
  }
  return impressions > 0 ? clicks / impressions : 0;
}

std::vector<size_t> Participants(const std::vector<UserCounts>& users) {
  std::vector<size_t> out;
  for (size_t i = 0; i < users.size(); ++i) {
    if (users[i].impressions > 0) out.push_back(i);
  }
  return out;
}

std::vector<size_t> Resample(const std::vector<size_t>& from, Rng& rng) {
  std::vector<size_t> out(from.size());
  for (size_t& x : out) {
    x = from[std::min(from.size() - 1, static_cast<size_t>(rng.Uniform() * from.size()))];
  }
  return out;
}

}  // namespace

json CtrDifference(const std::vector<UserCounts>& a, const std::vector<UserCounts>& b, bool paired,
                   size_t resamples, uint64_t seed) {
  std::vector<size_t> users_a = Participants(a), users_b = Participants(b);
  if (paired) {
    // The users with impressions on both sides (every user in a paired run).
    std::vector<size_t> both;
    for (size_t i : users_a) {
      if (i < b.size() && b[i].impressions > 0) both.push_back(i);
    }
    users_a = users_b = both;
  }
  if (users_a.empty() || users_b.empty()) return nullptr;
  Rng rng(seed, 7, 0);
  std::vector<double> diffs;
  diffs.reserve(resamples);
  for (size_t r = 0; r < resamples; ++r) {
    std::vector<size_t> pick_a = Resample(users_a, rng);
    std::vector<size_t> pick_b = paired ? pick_a : Resample(users_b, rng);
    diffs.push_back(Ctr(a, pick_a) - Ctr(b, pick_b));
  }
  std::sort(diffs.begin(), diffs.end());
  auto at = [&](double q) {
    return diffs.empty() ? 0.0 : diffs[std::min(diffs.size() - 1, static_cast<size_t>(q * diffs.size()))];
  };
  return {{"value", Ctr(a, users_a) - Ctr(b, users_b)},
          {"low", at(0.025)},
          {"high", at(0.975)},
          {"users_a", users_a.size()},
          {"users_b", users_b.size()},
          {"paired", paired}};
}

std::string Fixed(double v, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// CTR over rounds, one line per surface, hand-written SVG.
std::string Svg(const json& rounds, const std::vector<std::string>& names, size_t inject_round) {
  const double width = 720, height = 400, left = 60, right = 130, top = 40, bottom = 50;
  const char* colours[3] = {"#d62728", "#1f77b4", "#7f7f7f"};
  double max_ctr = 0.01;
  for (const json& r : rounds) {
    for (const std::string& s : names) {
      max_ctr = std::max(max_ctr, r[s]["ctr"].get<double>());
      const json& band = r[s].value("ctr_interval", json());
      if (band.is_object()) max_ctr = std::max(max_ctr, band["high"].get<double>());
    }
  }
  max_ctr = std::ceil(max_ctr * 100 / 2) * 2 / 100;  // round up to 2%
  const size_t n = rounds.size();
  auto x = [&](size_t i) { return left + (n <= 1 ? 0 : (width - left - right) * i / (n - 1.0)); };
  auto y = [&](double v) { return height - bottom - (height - top - bottom) * v / max_ctr; };
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + Fixed(width, 0) +
                    "\" height=\"" + Fixed(height, 0) +
                    "\" font-family=\"sans-serif\" font-size=\"12\">\n"
                    "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
                    "<text x=\"" +
                    Fixed(left, 0) +
                    "\" y=\"24\" font-size=\"14\">pathwise bench loop: CTR per round (bands: 95% "
                    "Wilson intervals)</text>\n";
  for (int t = 0; t <= 4; ++t) {
    double v = max_ctr * t / 4;
    svg += "<line x1=\"" + Fixed(left, 1) + "\" x2=\"" + Fixed(width - right, 1) + "\" y1=\"" +
           Fixed(y(v), 1) + "\" y2=\"" + Fixed(y(v), 1) + "\" stroke=\"#ddd\"/>\n<text x=\"" +
           Fixed(left - 6, 1) + "\" y=\"" + Fixed(y(v) + 4, 1) + "\" text-anchor=\"end\">" +
           Fixed(v * 100, 1) + "%</text>\n";
  }
  for (size_t i = 0; i < n; i += std::max<size_t>(1, n / 10)) {
    svg += "<text x=\"" + Fixed(x(i), 1) + "\" y=\"" + Fixed(height - bottom + 18, 1) +
           "\" text-anchor=\"middle\">" + std::to_string(i + 1) + "</text>\n";
  }
  svg += "<text x=\"" + Fixed((left + width - right) / 2, 1) + "\" y=\"" + Fixed(height - 12, 1) +
         "\" text-anchor=\"middle\">round</text>\n";
  if (inject_round >= 1 && inject_round <= n) {
    double xi = x(inject_round - 1);
    svg += "<line x1=\"" + Fixed(xi, 1) + "\" x2=\"" + Fixed(xi, 1) + "\" y1=\"" + Fixed(top, 1) +
           "\" y2=\"" + Fixed(height - bottom, 1) +
           "\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>\n<text x=\"" + Fixed(xi + 4, 1) +
           "\" y=\"" + Fixed(top + 12, 1) + "\" fill=\"#666\">new item</text>\n";
  }
  // The rounds' 95% intervals as translucent bands under the lines.
  for (size_t s = 0; s < names.size() && s < 3; ++s) {
    std::string upper, lower;
    for (size_t i = 0; i < n; ++i) {
      const json& band = rounds[i][names[s]].value("ctr_interval", json());
      if (!band.is_object()) {
        upper.clear();
        break;
      }
      upper += Fixed(x(i), 1) + "," + Fixed(y(band["high"].get<double>()), 1) + " ";
      lower = Fixed(x(i), 1) + "," + Fixed(y(band["low"].get<double>()), 1) + " " + lower;
    }
    if (upper.empty()) continue;
    svg += "<polygon fill=\"" + std::string(colours[s]) +
           "\" fill-opacity=\"0.12\" stroke=\"none\" points=\"" + upper + lower + "\"/>\n";
  }
  for (size_t s = 0; s < names.size() && s < 3; ++s) {
    std::string points;
    for (size_t i = 0; i < n; ++i) {
      points += Fixed(x(i), 1) + "," + Fixed(y(rounds[i][names[s]]["ctr"].get<double>()), 1) + " ";
    }
    svg += "<polyline fill=\"none\" stroke=\"" + std::string(colours[s]) +
           "\" stroke-width=\"2\" points=\"" + points + "\"/>\n";
    double ly = top + 20 + 20.0 * static_cast<double>(s);
    svg += "<line x1=\"" + Fixed(width - right + 12, 1) + "\" x2=\"" +
           Fixed(width - right + 32, 1) + "\" y1=\"" + Fixed(ly, 1) + "\" y2=\"" + Fixed(ly, 1) +
           "\" stroke=\"" + colours[s] + "\" stroke-width=\"2\"/>\n" + "<text x=\"" +
           Fixed(width - right + 38, 1) + "\" y=\"" + Fixed(ly + 4, 1) + "\">" + names[s] +
           "</text>\n";
  }
  svg += "</svg>\n";
  return svg;
}

// Pools the per-round replay estimates: IPS exactly (each round's IPS is a sum over its logged
// impressions), SNIPS and the intervals approximately (impression-weighted, normal).
json PoolReplay(const std::vector<json>& per_round) {
  double n = 0, ips = 0, snips = 0, snips_n = 0, ips_var = 0, snips_var = 0;
  for (const json& r : per_round) {
    double ni = r.value("impressions", 0.0);
    n += ni;
    if (r["ips"].is_object() && r["ips"]["value"].is_number()) {
      ips += ni * r["ips"]["value"].get<double>();
      if (r["ips"]["low"].is_number()) {
        double se = (r["ips"]["high"].get<double>() - r["ips"]["low"].get<double>()) / 3.92;
        ips_var += ni * ni * se * se;
      }
    }
    if (r["snips"].is_object() && r["snips"]["value"].is_number()) {
      snips_n += ni;
      snips += ni * r["snips"]["value"].get<double>();
      if (r["snips"]["low"].is_number()) {
        double se = (r["snips"]["high"].get<double>() - r["snips"]["low"].get<double>()) / 3.92;
        snips_var += ni * ni * se * se;
      }
    }
  }
  auto estimate = [](double total, double weight, double var) -> json {
    if (weight <= 0) return nullptr;
    double v = total / weight, se = std::sqrt(var) / weight;
    return {{"value", v}, {"low", v - 1.96 * se}, {"high", v + 1.96 * se}};
  };
  return {{"impressions", n},
          {"ips", estimate(ips, n, ips_var)},
          {"snips", estimate(snips, snips_n, snips_var)}};
}

}  // namespace pathwise::bench::loop
