// Graph::ReplaceEdgesOfType: a whole edge type swapped in list by list (graph/graph.h).
#include <doctest/doctest.h>

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "graph/graph.h"

using namespace pathwise;
using graph::Direction;
using graph::Graph;

namespace {

constexpr TypeId kItem = 0;
constexpr TypeId kSimilar = 0;
constexpr TypeId kOther = 1;

std::set<NodeId> Targets(const Graph& g, NodeId node, Direction dir = Direction::kOut) {
  std::set<NodeId> out;
  g.ForEachNeighbor(node, kSimilar, dir, [&](const graph::Neighbor& n) {
    out.insert(n.node);
    return true;
  });
  return out;
}

}  // namespace

TEST_CASE("replace edges: the type's old edges are gone in both directions, new ones ranked") {
  auto g = Graph::CreateEmpty();
  std::vector<NodeId> items;
  for (int i = 0; i < 5; ++i) items.push_back(g->AddNode(kItem, "i" + std::to_string(i), {}));
  g->PutEdge(items[0], kSimilar, items[1], 0.5f, 1, 1);
  g->PutEdge(items[2], kSimilar, items[3], 0.5f, 1, 1);
  g->PutEdge(items[0], kOther, items[4], 1.0f, 1, 1);
  size_t n = g->ReplaceEdgesOfType(kSimilar, {{items[0], items[3], 0.2f, 7},
                                              {items[0], items[2], 0.9f, 7},
                                              {items[4], items[0], 0.4f, 7},
                                              {items[4], 999, 0.4f, 7}});  // no node 999
  CHECK(n == 3);
  CHECK(g->EdgeCount() == 4);  // 3 new SIMILAR + the OTHER edge
  CHECK(Targets(*g, items[0]) == std::set<NodeId>{items[2], items[3]});
  CHECK(Targets(*g, items[2]).empty());
  CHECK(Targets(*g, items[1], Direction::kIn).empty());
  CHECK(Targets(*g, items[3], Direction::kIn) == std::set<NodeId>{items[0]});
  CHECK(Targets(*g, items[0], Direction::kIn) == std::set<NodeId>{items[4]});
  CHECK(g->Degree(items[0], kOther, Direction::kOut) == 1);
  std::vector<graph::Neighbor> top;
  CHECK(g->TopNeighbors(items[0], kSimilar, Direction::kOut, 1, &top) == 2);
  REQUIRE(top.size() == 1);
  CHECK(top[0].node == items[2]);
  // Replacing with nothing empties the type.
  CHECK(g->ReplaceEdgesOfType(kSimilar, {}) == 0);
  CHECK(g->EdgeCount() == 1);
  CHECK(Targets(*g, items[0]).empty());
  CHECK(Targets(*g, items[0], Direction::kIn).empty());
}

TEST_CASE("replace edges: a concurrent reader sees each list entirely old or entirely new") {
  auto g = Graph::CreateEmpty();
  constexpr int kItems = 200, kK = 20;
  std::vector<NodeId> items;
  for (int i = 0; i < kItems; ++i) items.push_back(g->AddNode(kItem, "i" + std::to_string(i), {}));
  // Generation g links item i to the kK items after it (g = 0) or before it (g = 1).
  auto generation = [&](int gen) {
    std::vector<Graph::NewEdge> edges;
    for (int i = 0; i < kItems; ++i) {
      for (int d = 1; d <= kK; ++d) {
        int j = gen == 0 ? (i + d) % kItems : (i - d + kItems) % kItems;
        edges.push_back({items[i], items[j], static_cast<float>(d), gen});
      }
    }
    return edges;
  };
  g->ReplaceEdgesOfType(kSimilar, generation(0));
  std::atomic<bool> stop{false};
  std::atomic<size_t> mixed{0}, reads{0};
  std::thread reader([&] {
    while (!stop.load()) {
      for (NodeId item : items) {
        std::set<int64_t> gens;
        size_t n = 0;
        g->ForEachNeighbor(item, kSimilar, Direction::kOut, [&](const graph::Neighbor& nb) {
          gens.insert(nb.ts);
          ++n;
          return true;
        });
        if (gens.size() != 1 || n != kK) mixed.fetch_add(1);
        reads.fetch_add(1);
      }
    }
  });
  for (int round = 0; round < 50; ++round) {
    g->ReplaceEdgesOfType(kSimilar, generation(round % 2), /*threads=*/1 + round % 3);
  }
  stop.store(true);
  reader.join();
  CHECK(reads.load() > 0);
  CHECK(mixed.load() == 0);
}

TEST_CASE("replace edges: several threads install exactly the lists one thread does") {
  constexpr int kNodes = 300;
  auto one = Graph::CreateEmpty(), many = Graph::CreateEmpty();
  for (int i = 0; i < kNodes; ++i) {
    one->AddNode(kItem, "i" + std::to_string(i), {});
    many->AddNode(kItem, "i" + std::to_string(i), {});
  }
  // Old edges of the type that the new model partly keeps, and an edge of another type.
  for (auto* g : {one.get(), many.get()}) {
    for (NodeId i = 0; i < kNodes; i += 3) g->PutEdge(i, kSimilar, (i * 7 + 1) % kNodes, 0.1f, 1, 1);
    g->PutEdge(5, kOther, 6, 1.0f, 1, 1);
  }
  // Unsorted new edges with repeated pairs (the last one counts).
  std::vector<Graph::NewEdge> edges;
  uint64_t s = 7;
  for (int e = 0; e < 5000; ++e) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    NodeId src = static_cast<NodeId>((s >> 33) % (kNodes / 2)), dst = static_cast<NodeId>((s >> 13) % kNodes);
    if (src != dst) edges.push_back({src, dst, static_cast<float>((s >> 40) % 100), e});
  }
  CHECK(one->ReplaceEdgesOfType(kSimilar, edges, 1) == many->ReplaceEdgesOfType(kSimilar, edges, 4));
  CHECK(one->EdgeCount() == many->EdgeCount());
  auto lists = [](const Graph& g, NodeId node, Direction dir) {
    std::vector<std::tuple<NodeId, float, int64_t>> out;
    g.ForEachNeighbor(node, kSimilar, dir, [&](const graph::Neighbor& n) {
      out.emplace_back(n.node, n.weight, n.ts);
      return true;
    });
    return out;
  };
  size_t differing = 0;
  for (NodeId node = 0; node < kNodes; ++node) {
    for (Direction dir : {Direction::kOut, Direction::kIn}) {
      if (lists(*one, node, dir) != lists(*many, node, dir)) ++differing;
    }
  }
  CHECK(differing == 0);
  CHECK(lists(*many, 0, Direction::kOut).size() > 0);
  CHECK(many->Degree(5, kOther, Direction::kOut) == 1);
}
