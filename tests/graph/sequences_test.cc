// Sequence models (graph/sequences.h): the transition model and NEXT's scores, checked against
// brute-force computations over histories kept here.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "graph/sequences.h"

using namespace pathwise;
using graph::Graph;

namespace {

constexpr TypeId kUser = 0;
constexpr TypeId kItem = 1;
constexpr TypeId kRated = 0;
constexpr TypeId kNext = 1;

// Users with histories over 15 items; timestamps repeat often (several items at one time).
struct Histories {
  std::unique_ptr<Graph> g = Graph::CreateEmpty();
  std::vector<NodeId> users, items;
  std::map<NodeId, std::vector<std::pair<int64_t, NodeId>>> by_user;  // (ts, item)
  Histories(int n_users, uint64_t seed) {
    for (int i = 0; i < 15; ++i) items.push_back(g->AddNode(kItem, "i" + std::to_string(i), {}));
    for (int u = 0; u < n_users; ++u) users.push_back(g->AddNode(kUser, "u" + std::to_string(u), {}));
    uint64_t s = seed;
    auto next = [&s] {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      return s >> 33;
    };
    for (NodeId u : users) {
      for (NodeId i : items) {
        if (next() % 100 >= 45) continue;
        int64_t ts = 1000 + static_cast<int64_t>(next() % 8) * 10;  // 8 distinct times
        g->PutEdge(u, kRated, i, 1.0f, 1, ts);
        by_user[u].push_back({ts, i});
      }
      std::sort(by_user[u].begin(), by_user[u].end());
    }
  }
};

// TransitionOptions' definition, pair by pair.
std::map<std::pair<NodeId, NodeId>, double> BruteTransitions(const Histories& h, size_t window,
                                                             size_t max_items) {
  std::map<std::pair<NodeId, NodeId>, double> sums;
  for (const auto& [user, history] : h.by_user) {
    std::vector<std::pair<int64_t, NodeId>> s = history;
    if (max_items > 0 && s.size() > max_items) s.erase(s.begin(), s.end() - max_items);
    for (size_t a = 0; a < s.size(); ++a) {
      for (size_t b = a + 1; b < s.size() && b - a <= window; ++b) {
        sums[{s[a].second, s[b].second}] += 1.0 / static_cast<double>(b - a);
        if (s[a].first == s[b].first) sums[{s[b].second, s[a].second}] += 1.0 / static_cast<double>(b - a);
      }
    }
  }
  return sums;
}

void CheckTransitions(const Histories& h, size_t window, size_t k, size_t max_items) {
  graph::TransitionOptions o;
  o.edge_type = kRated;
  o.user_type = kUser;
  o.item_type = kItem;
  o.window = window;
  o.k = k;
  o.max_items_per_user = max_items;
  auto model = graph::ItemTransitions(*h.g, o);
  REQUIRE(model.ok());
  auto sums = BruteTransitions(h, window, max_items);
  std::map<NodeId, std::vector<std::pair<double, NodeId>>> rows;  // (-score, node) sorted
  for (const auto& [pair, sum] : sums) rows[pair.first].push_back({-sum, pair.second});
  REQUIRE(model->items.size() == rows.size());
  for (size_t n = 0; n < model->items.size(); ++n) {
    auto& row = rows[model->items[n]];
    std::sort(row.begin(), row.end());
    const size_t got = model->offsets[n + 1] - model->offsets[n];
    REQUIRE(got == std::min(k, row.size()));
    for (size_t e = 0; e < got; ++e) {
      const graph::ScoredItem& item = model->neighbors[model->offsets[n] + e];
      CHECK(item.score == doctest::Approx(-row[e].first).epsilon(1e-5));
      // Equal sums may be summed in another order: compare nodes only where scores differ.
      if (e + 1 < row.size() && std::abs(row[e].first - row[e + 1].first) > 1e-5 &&
          (e == 0 || std::abs(row[e].first - row[e - 1].first) > 1e-5)) {
        CHECK(item.node == row[e].second);
      }
    }
  }
}

}  // namespace

TEST_CASE("item transitions match a brute-force count of pairs within the window") {
  Histories h(40, 7);
  CheckTransitions(h, 1, 1000, 0);
  CheckTransitions(h, 3, 1000, 0);
  CheckTransitions(h, 5, 4, 0);
  CheckTransitions(h, 2, 1000, 6);
}

TEST_CASE("item transitions count pairs with equal timestamps in both directions") {
  auto g = Graph::CreateEmpty();
  NodeId a = g->AddNode(kItem, "a", {}), b = g->AddNode(kItem, "b", {}), c = g->AddNode(kItem, "c", {});
  NodeId u = g->AddNode(kUser, "u", {});
  g->PutEdge(u, kRated, a, 1, 1, 100);
  g->PutEdge(u, kRated, b, 1, 1, 100);
  g->PutEdge(u, kRated, c, 1, 1, 200);
  graph::TransitionOptions o;
  o.edge_type = kRated;
  o.user_type = kUser;
  o.item_type = kItem;
  o.window = 2;
  auto model = graph::ItemTransitions(*g, o);
  REQUIRE(model.ok());
  std::map<std::pair<std::string, std::string>, float> edges;
  for (size_t n = 0; n < model->items.size(); ++n) {
    for (size_t e = model->offsets[n]; e < model->offsets[n + 1]; ++e) {
      edges[{g->KeyOf(model->items[n]), g->KeyOf(model->neighbors[e].node)}] = model->neighbors[e].score;
    }
  }
  // Order a, b, c: a -> b 1 and b -> a 1 (same time), b -> c 1, a -> c 1/2; never c -> a or c -> b.
  std::map<std::pair<std::string, std::string>, float> expected = {
      {{"a", "b"}, 1.0f}, {{"b", "a"}, 1.0f}, {{"b", "c"}, 1.0f}, {{"a", "c"}, 0.5f}};
  CHECK(edges == expected);
  CHECK(model->pairs == 4);
  CHECK(model->users == 1);
}

TEST_CASE("item transitions refuse bad options and relations past their memory bound") {
  Histories h(10, 3);
  graph::TransitionOptions o;
  o.edge_type = kRated;
  o.user_type = kUser;
  o.item_type = kItem;
  o.window = 0;
  CHECK(graph::ItemTransitions(*h.g, o).status().code() == Status::Code::kInvalidArgument);
  o.window = 101;
  CHECK(graph::ItemTransitions(*h.g, o).status().code() == Status::Code::kInvalidArgument);
  o.window = 5;
  o.k = 0;
  CHECK(graph::ItemTransitions(*h.g, o).status().code() == Status::Code::kInvalidArgument);
  o.k = 10;
  o.max_pair_bytes = 100;
  auto refused = graph::ItemTransitions(*h.g, o);
  CHECK(refused.status().code() == Status::Code::kInvalidArgument);
  CHECK(refused.status().message().find("max_pair_bytes") != std::string::npos);
}

TEST_CASE("NEXT scores match the definition: recent items weighted by decay^rank of their time") {
  Histories h(30, 11);
  // Follow edges: the transition model itself.
  graph::TransitionOptions t;
  t.edge_type = kRated;
  t.user_type = kUser;
  t.item_type = kItem;
  t.window = 3;
  auto model = graph::ItemTransitions(*h.g, t);
  REQUIRE(model.ok());
  for (size_t n = 0; n < model->items.size(); ++n) {
    for (size_t e = model->offsets[n]; e < model->offsets[n + 1]; ++e) {
      h.g->PutEdge(model->items[n], kNext, model->neighbors[e].node, model->neighbors[e].score, 1, 1);
    }
  }
  for (size_t recent : {1, 4, 100}) {
    for (double decay : {0.5, 1.0}) {
      graph::NextOptions o;
      o.history = {kRated, graph::Direction::kOut};
      o.follow = {kNext, graph::Direction::kOut};
      o.recent = recent;
      o.decay = decay;
      for (NodeId user : h.users) {
        auto got = graph::NextItems(*h.g, user, o);
        REQUIRE(got.ok());
        // Brute force: newest first (ties by node id), rank = distinct newer timestamps.
        auto history = h.by_user[user];
        std::sort(history.begin(), history.end(), [](const auto& a, const auto& b) {
          return a.first != b.first ? a.first > b.first : a.second < b.second;
        });
        if (history.size() > recent) history.resize(recent);
        std::map<NodeId, double> expected;
        std::set<int64_t> newer;
        for (const auto& [ts, item] : history) {
          size_t rank = 0;
          for (int64_t t2 : newer) rank += t2 > ts;
          double weight = std::pow(decay, static_cast<double>(rank));
          std::vector<graph::Neighbor> follow;
          h.g->TopNeighbors(item, kNext, graph::Direction::kOut, SIZE_MAX, &follow);
          for (const auto& f : follow) expected[f.node] += weight * f.weight;
          newer.insert(ts);
        }
        REQUIRE(got->scores.size() == expected.size());
        for (size_t i = 0; i < got->scores.size(); ++i) {
          CHECK(got->scores[i].second == doctest::Approx(expected[got->scores[i].first]).epsilon(1e-9));
          if (i > 0) CHECK(got->scores[i - 1].second >= got->scores[i].second);
        }
        // The explanation's path ends at the candidate through a recent item.
        if (!got->scores.empty()) {
          graph::Path path = graph::NextBestPath(*h.g, user, got->scores[0].first, o);
          REQUIRE(path.size() == 2);
          CHECK(path[0].from == user);
          CHECK(path[1].to == got->scores[0].first);
          CHECK(std::any_of(history.begin(), history.end(),
                            [&](const auto& p) { return p.second == path[0].to; }));
        }
      }
    }
  }
}

TEST_CASE("NEXT refuses recent and decay out of range") {
  Histories h(3, 5);
  graph::NextOptions o;
  o.history = {kRated, graph::Direction::kOut};
  o.follow = {kNext, graph::Direction::kOut};
  o.recent = 0;
  CHECK(graph::NextItems(*h.g, h.users[0], o).status().code() == Status::Code::kInvalidArgument);
  o.recent = 10;
  o.decay = 0;
  CHECK(graph::NextItems(*h.g, h.users[0], o).status().code() == Status::Code::kInvalidArgument);
  o.decay = 1.5;
  CHECK(graph::NextItems(*h.g, h.users[0], o).status().code() == Status::Code::kInvalidArgument);
}

TEST_CASE("NEXT follows a new history edge at once: it becomes the most recent seed") {
  auto g = Graph::CreateEmpty();
  NodeId u = g->AddNode(kUser, "u", {});
  NodeId a = g->AddNode(kItem, "a", {}), b = g->AddNode(kItem, "b", {});
  NodeId after_a = g->AddNode(kItem, "after_a", {}), after_b = g->AddNode(kItem, "after_b", {});
  g->PutEdge(a, kNext, after_a, 1, 1, 1);
  g->PutEdge(b, kNext, after_b, 1, 1, 1);
  g->PutEdge(u, kRated, a, 1, 1, 100);
  graph::NextOptions o;
  o.history = {kRated, graph::Direction::kOut};
  o.follow = {kNext, graph::Direction::kOut};
  o.decay = 0.5;
  auto before = graph::NextItems(*g, u, o);
  REQUIRE(before.ok());
  REQUIRE(before->scores.size() == 1);
  CHECK(before->scores[0].first == after_a);
  g->PutEdge(u, kRated, b, 1, 1, 200);  // a newer event
  auto after = graph::NextItems(*g, u, o);
  REQUIRE(after.ok());
  REQUIRE(after->seeds.size() == 2);
  CHECK(after->seeds[0].node == b);
  CHECK(after->seeds[0].weight == 1.0);
  CHECK(after->seeds[1].weight == 0.5);
  REQUIRE(after->scores.size() == 2);
  CHECK(after->scores[0].first == after_b);
  CHECK(after->scores[1].first == after_a);
}
