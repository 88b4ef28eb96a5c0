// Item-item similarity (graph/similarity.h), checked against a brute-force computation over a
// dense rating matrix built here.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "graph/similarity.h"

using namespace pathwise;
using graph::Graph;
using graph::SimilarityMeasure;
using graph::SimilarityOptions;

namespace {

constexpr TypeId kUser = 0;
constexpr TypeId kItem = 1;
constexpr TypeId kRated = 0;

// A deterministic bipartite graph: users x items, each pair rated with probability ~density,
// weights 1..5, plus a few equal-rating clusters so that ties occur.
struct Ratings {
  std::unique_ptr<Graph> g = Graph::CreateEmpty();
  std::vector<NodeId> users, items;
  std::map<std::pair<NodeId, NodeId>, float> r;  // (user, item) -> weight
  Ratings(int n_users, int n_items, int density_pct, uint64_t seed) {
    for (int u = 0; u < n_users; ++u) users.push_back(g->AddNode(kUser, "u" + std::to_string(u), {}));
    for (int i = 0; i < n_items; ++i) items.push_back(g->AddNode(kItem, "i" + std::to_string(i), {}));
    uint64_t s = seed;
    auto next = [&s] {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      return s >> 33;
    };
    for (NodeId u : users) {
      for (NodeId i : items) {
        if (static_cast<int>(next() % 100) >= density_pct) continue;
        float w = static_cast<float>(1 + next() % 5);
        g->PutEdge(u, kRated, i, w, 1, 1000);
        r[{u, i}] = w;
      }
    }
  }
};

struct Expected {
  NodeId node;
  double score;
};

// The definitions of graph/similarity.h, pair by pair over the dense matrix.
std::map<NodeId, std::vector<Expected>> BruteForce(const Ratings& data, const SimilarityOptions& o) {
  auto value = [&](NodeId u, NodeId i) -> double {
    auto it = data.r.find({u, i});
    if (it == data.r.end()) return -1;
    return o.weighted ? it->second : 1.0;
  };
  bool jaccard = o.measure == SimilarityMeasure::kJaccard;
  std::map<NodeId, double> norm;
  for (NodeId i : data.items) {
    for (NodeId u : data.users) {
      double v = value(u, i);
      if (v >= 0) norm[i] += jaccard ? v : v * v;
    }
  }
  std::map<NodeId, std::vector<Expected>> out;
  for (NodeId i : data.items) {
    std::vector<Expected> all;
    for (NodeId j : data.items) {
      if (j == i) continue;
      double dot = 0;
      uint32_t common = 0;
      for (NodeId u : data.users) {
        double a = value(u, i), b = value(u, j);
        if (a < 0 || b < 0) continue;
        ++common;
        dot += jaccard ? std::min(a, b) : a * b;
      }
      if (common < o.min_cooccurrence) continue;
      double s = 0;
      if (o.measure == SimilarityMeasure::kCosine) {
        s = dot / (std::sqrt(norm[i]) * std::sqrt(norm[j]) + o.shrink);
      } else if (o.measure == SimilarityMeasure::kAsymmetricCosine) {
        s = dot / (std::pow(norm[i], o.alpha) * std::pow(norm[j], 1 - o.alpha) + o.shrink);
      } else {
        s = dot / (norm[i] + norm[j] - dot + o.shrink);
      }
      if (s > 0) all.push_back({j, s});
    }
    std::sort(all.begin(), all.end(), [](const Expected& a, const Expected& b) {
      return a.score != b.score ? a.score > b.score : a.node < b.node;
    });
    if (all.size() > o.k) all.resize(o.k);
    out[i] = all;
  }
  return out;
}

void CheckMatches(const Ratings& data, const SimilarityOptions& o) {
  auto result = graph::ItemSimilarity(*data.g, o);
  REQUIRE(result.ok());
  auto expected = BruteForce(data, o);
  REQUIRE(result->items == data.items);
  for (size_t n = 0; n < result->items.size(); ++n) {
    const auto& want = expected[result->items[n]];
    size_t got_size = result->offsets[n + 1] - result->offsets[n];
    REQUIRE(got_size == want.size());
    for (size_t e = 0; e < got_size; ++e) {
      const graph::ScoredItem& got = result->neighbors[result->offsets[n] + e];
      CHECK(got.node == want[e].node);
      CHECK(got.score == doctest::Approx(want[e].score).epsilon(1e-6));
    }
  }
}

SimilarityOptions Base(SimilarityMeasure m) {
  SimilarityOptions o;
  o.edge_type = kRated;
  o.item_type = kItem;
  o.measure = m;
  o.k = 5;
  return o;
}

}  // namespace

TEST_CASE("similarity: each measure matches a brute-force computation on a small bipartite graph") {
  Ratings data(40, 30, 25, 7);
  for (auto m : {SimilarityMeasure::kCosine, SimilarityMeasure::kJaccard,
                 SimilarityMeasure::kAsymmetricCosine}) {
    CAPTURE(graph::SimilarityMeasureName(m));
    SimilarityOptions o = Base(m);
    CheckMatches(data, o);
    o.weighted = true;
    CheckMatches(data, o);
    o.shrink = 10;
    o.alpha = 0.8;
    o.min_cooccurrence = 2;
    o.k = 12;
    CheckMatches(data, o);
  }
}

TEST_CASE("similarity: ties are ordered by node id and the result does not depend on threads") {
  Ratings data(60, 80, 10, 11);
  SimilarityOptions o = Base(SimilarityMeasure::kJaccard);  // unweighted Jaccard: many ties
  o.k = 20;
  o.threads = 1;
  auto one = graph::ItemSimilarity(*data.g, o);
  o.threads = 4;
  auto four = graph::ItemSimilarity(*data.g, o);
  REQUIRE(one.ok());
  REQUIRE(four.ok());
  REQUIRE(one->offsets == four->offsets);
  bool saw_tie = false;
  for (size_t n = 0; n < one->items.size(); ++n) {
    for (size_t e = one->offsets[n]; e < one->offsets[n + 1]; ++e) {
      CHECK(one->neighbors[e].node == four->neighbors[e].node);
      CHECK(one->neighbors[e].score == four->neighbors[e].score);
      if (e + 1 < one->offsets[n + 1] && one->neighbors[e].score == one->neighbors[e + 1].score) {
        saw_tie = true;
        CHECK(one->neighbors[e].node < one->neighbors[e + 1].node);
      }
    }
  }
  CHECK(saw_tie);
  CheckMatches(data, o);
}

TEST_CASE("similarity: hub caps count only edges among both endpoints' strongest") {
  // Item a has users u1..u3 with weights 3, 2, 1; u3 also has b (2), u1 has c (1). Capping a's
  // users at 2 leaves out u3 -> a, so a and b share no user.
  auto g = Graph::CreateEmpty();
  NodeId u1 = g->AddNode(kUser, "u1", {}), u2 = g->AddNode(kUser, "u2", {});
  NodeId u3 = g->AddNode(kUser, "u3", {});
  NodeId a = g->AddNode(kItem, "a", {}), b = g->AddNode(kItem, "b", {});
  NodeId c = g->AddNode(kItem, "c", {});
  g->PutEdge(u1, kRated, a, 3, 1, 1);
  g->PutEdge(u2, kRated, a, 2, 1, 1);
  g->PutEdge(u3, kRated, a, 1, 1, 1);
  g->PutEdge(u3, kRated, b, 2, 1, 1);
  g->PutEdge(u1, kRated, c, 1, 1, 1);
  SimilarityOptions o = Base(SimilarityMeasure::kCosine);
  auto all = graph::ItemSimilarity(*g, o);
  REQUIRE(all.ok());
  CHECK(all->offsets[1] - all->offsets[0] == 2);  // a: b and c
  o.max_users_per_item = 2;
  auto capped = graph::ItemSimilarity(*g, o);
  REQUIRE(capped.ok());
  REQUIRE(capped->offsets[1] - capped->offsets[0] == 1);
  CHECK(capped->neighbors[0].node == c);
  CHECK(capped->relation_edges == 4);
  // Each user's strongest item only: u1 -> a, u2 -> a, u3 -> b; a shares users with nothing.
  o.max_users_per_item = 0;
  o.max_items_per_user = 1;
  auto by_user = graph::ItemSimilarity(*g, o);
  REQUIRE(by_user.ok());
  CHECK(by_user->offsets[1] - by_user->offsets[0] == 0);
  CHECK(by_user->relation_edges == 3);
}

TEST_CASE("similarity: parameters out of range are rejected naming the parameter") {
  Ratings data(3, 3, 50, 1);
  SimilarityOptions o = Base(SimilarityMeasure::kCosine);
  o.k = 0;
  CHECK(graph::ItemSimilarity(*data.g, o).status().message().find("k must") != std::string::npos);
  o = Base(SimilarityMeasure::kCosine);
  o.k = graph::kMaxSimilarityK + 1;
  CHECK(!graph::ItemSimilarity(*data.g, o).ok());
  o = Base(SimilarityMeasure::kAsymmetricCosine);
  o.alpha = 1.5;
  CHECK(graph::ItemSimilarity(*data.g, o).status().message().find("alpha") != std::string::npos);
  o = Base(SimilarityMeasure::kCosine);
  o.shrink = -1;
  CHECK(graph::ItemSimilarity(*data.g, o).status().message().find("shrink") != std::string::npos);
  o = Base(SimilarityMeasure::kCosine);
  o.min_cooccurrence = 0;
  CHECK(!graph::ItemSimilarity(*data.g, o).ok());
  CHECK(!graph::ParseSimilarityMeasure("pearson").ok());
  CHECK(graph::ParseSimilarityMeasure("asymmetric_cosine").value() ==
        SimilarityMeasure::kAsymmetricCosine);
}
