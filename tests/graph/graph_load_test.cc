// Graph::Load from a real RocksDB store.
#include <doctest/doctest.h>

#include <filesystem>
#include <random>

#include "graph/graph.h"

using namespace pathwise;
using graph::Direction;
using graph::Graph;
using graph::Neighbor;

namespace {
std::string TempDir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("pw_graph_" + name + "_" + std::to_string(::getpid()) + "_" +
              std::to_string(std::random_device()()));
  std::filesystem::remove_all(dir);
  return dir.string();
}
}  // namespace

TEST_CASE("load rebuilds nodes, properties and both edge directions from the store") {
  std::string dir = TempDir("load");
  {
    auto store = storage::Store::Open(storage::StoreOptions{}, dir);
    REQUIRE(store.ok());
    storage::WriteBatch batch;
    batch.PutNode({0, 0, "alice", {{"age", int64_t{30}}}});
    batch.PutNode({1, 1, "dune", {{"title", std::string("Dune")}}});
    batch.PutNode({2, 1, "emma", {}});
    batch.PutNode({5, 0, "bob", {}});  // ids may have gaps (removed nodes)
    batch.PutEdge({0, 0, 1, 2.5, 1000, 3, {}});
    batch.PutEdge({0, 0, 2, 1.0, 2000, 1, {}});
    batch.PutEdge({5, 0, 1, 4.0, 3000, 2, {}});
    batch.PutEdge({1, 1, 2, 0.5, 4000, 1, {}});
    REQUIRE((*store)->Write(&batch, true).ok());
  }
  auto store = storage::Store::Open(storage::StoreOptions{}, dir);
  REQUIRE(store.ok());
  auto loaded = Graph::Load(**store, Schema());
  REQUIRE(loaded.ok());
  const Graph& g = **loaded;
  CHECK(g.NodeCount() == 4);
  CHECK(g.EdgeCount() == 4);
  CHECK(g.IdBound() == 6);
  CHECK(g.Lookup(0, "bob") == 5);
  CHECK(g.Lookup(1, "dune") == 1);
  CHECK_FALSE(g.Exists(3));
  CHECK(g.NodesOfType(1) == std::vector<NodeId>{1, 2});
  Value v;
  REQUIRE(g.GetProperty(0, g.FindProperty("age"), &v));
  CHECK(std::get<int64_t>(v) == 30);
  CHECK(g.Degree(0, 0, Direction::kOut) == 2);
  CHECK(g.Degree(1, 0, Direction::kIn) == 2);
  CHECK(g.Degree(2, 1, Direction::kIn) == 1);
  Neighbor n{};
  REQUIRE(g.FindEdge(5, 0, 1, &n));
  CHECK(n.weight == 4.0f);
  CHECK(n.ts == 3000);
  CHECK(n.count == 2);
  std::vector<Neighbor> top;
  CHECK(g.TopNeighbors(1, 0, Direction::kIn, 1, &top) == 2);
  REQUIRE(top.size() == 1);
  CHECK(top[0].node == 5);
  auto path = graph::BestPath(g, 0, 5, graph::PathSearchOptions{});
  REQUIRE(path.ok());
  CHECK(path->size() == 2);
  store->reset();
  std::filesystem::remove_all(dir);
}

TEST_CASE("load of a hub keeps replace in place working through the side index") {
  std::string dir = TempDir("hub");
  auto store = storage::Store::Open(storage::StoreOptions{}, dir);
  REQUIRE(store.ok());
  storage::WriteBatch batch;
  batch.PutNode({0, 0, "hub", {}});
  for (NodeId i = 1; i <= 500; ++i) {
    batch.PutNode({i, 1, "i" + std::to_string(i), {}});
    batch.PutEdge({0, 0, i, 1.0, i, 1, {}});
  }
  REQUIRE((*store)->Write(&batch, false).ok());
  auto loaded = Graph::Load(**store, Schema());
  REQUIRE(loaded.ok());
  Graph& g = **loaded;
  CHECK(g.Degree(0, 0, Direction::kOut) == 500);
  g.PutEdge(0, 0, 250, 7.0f, 2, 9);
  CHECK(g.Degree(0, 0, Direction::kOut) == 500);
  CHECK(g.EdgeCount() == 500);
  Neighbor n{};
  REQUIRE(g.FindEdge(0, 0, 250, &n));
  CHECK(n.weight == 7.0f);
  store->reset();
  std::filesystem::remove_all(dir);
}

TEST_CASE("load with its edge-scan threads finds every node by key and every edge both ways") {
  // Enough nodes that the edge scan's src ranges are split over several threads, and edges
  // whose src and dst fall in different ranges.
  std::string dir = TempDir("threads");
  constexpr NodeId kNodes = 5000;
  {
    auto store = storage::Store::Open(storage::StoreOptions{}, dir);
    REQUIRE(store.ok());
    storage::WriteBatch batch;
    for (NodeId i = 0; i < kNodes; ++i) {
      batch.PutNode({i, static_cast<TypeId>(i % 2), "k" + std::to_string(i), {}});
    }
    for (NodeId i = 0; i < kNodes; ++i) {
      for (NodeId j = 1; j <= 3; ++j) {
        NodeId dst = (i * 7 + j * 1013) % kNodes;
        batch.PutEdge({i, static_cast<TypeId>(j % 2), dst, double(j), int64_t(i), 1, {}});
      }
    }
    REQUIRE((*store)->Write(&batch, false).ok());
  }
  auto store = storage::Store::Open(storage::StoreOptions{}, dir);
  REQUIRE(store.ok());
  auto loaded = Graph::Load(**store, Schema());
  REQUIRE(loaded.ok());
  const Graph& g = **loaded;
  CHECK(g.NodeCount() == kNodes);
  CHECK(g.EdgeCount() == size_t{kNodes} * 3);
  size_t found = 0, in_total = 0;
  for (NodeId i = 0; i < kNodes; ++i) {
    found += g.Lookup(static_cast<TypeId>(i % 2), "k" + std::to_string(i)) == i;
    CHECK(g.Degree(i, 1, Direction::kOut) == 2);  // j = 1, 3
    CHECK(g.Degree(i, 0, Direction::kOut) == 1);  // j = 2
    in_total += g.Degree(i, 0, Direction::kIn) + g.Degree(i, 1, Direction::kIn);
    Neighbor n{};
    REQUIRE(g.FindEdge(i, 0, (i * 7 + 2 * 1013) % kNodes, &n));
    CHECK(n.weight == 2.0f);
    CHECK(n.ts == int64_t(i));
  }
  CHECK(found == kNodes);
  CHECK(in_total == size_t{kNodes} * 3);
  store->reset();
  std::filesystem::remove_all(dir);
}
