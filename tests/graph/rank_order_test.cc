// The rank order behind TopNeighbors (weight desc, ts desc, node asc) is maintained by every
// write and rebuilt by Load: TopNeighbors must always equal a reference sort of the list.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <tuple>

#include "graph/graph.h"

using namespace pathwise;
using graph::Direction;
using graph::Graph;
using graph::Neighbor;

namespace {

bool RefBefore(const Neighbor& a, const Neighbor& b) {
  float wa = std::isnan(a.weight) ? -INFINITY : a.weight;
  float wb = std::isnan(b.weight) ? -INFINITY : b.weight;
  if (wa != wb) return wa > wb;
  if (a.ts != b.ts) return a.ts > b.ts;
  return a.node < b.node;
}

bool SameNeighbor(const Neighbor& a, const Neighbor& b) {
  bool same_weight = a.weight == b.weight || (std::isnan(a.weight) && std::isnan(b.weight));
  return a.node == b.node && same_weight && a.count == b.count && a.ts == b.ts;
}

// Compares TopNeighbors at several limits with a reference sort of the list's content.
void CheckRanked(const Graph& g, NodeId id, TypeId type, Direction dir) {
  std::vector<Neighbor> all;
  g.ForEachNeighbor(id, type, dir, [&](const Neighbor& n) {
    all.push_back(n);
    return true;
  });
  std::sort(all.begin(), all.end(), RefBefore);
  std::vector<Neighbor> top;
  for (size_t limit : {size_t{0}, size_t{1}, size_t{3}, size_t{20}, all.size(), SIZE_MAX}) {
    size_t degree = g.TopNeighbors(id, type, dir, limit, &top);
    REQUIRE(degree == all.size());
    REQUIRE(top.size() == std::min(limit, all.size()));
    for (size_t i = 0; i < top.size(); ++i) {
      INFO("node " << id << " rank " << i << " limit " << limit);
      REQUIRE(SameNeighbor(top[i], all[i]));
    }
  }
}

std::string TempDir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("pw_rank_" + name + "_" + std::to_string(::getpid()) + "_" +
              std::to_string(std::random_device()()));
  std::filesystem::remove_all(dir);
  return dir.string();
}

}  // namespace

TEST_CASE("top neighbors equal a reference sort after random inserts, updates and deletes") {
  auto g = Graph::CreateEmpty();
  std::mt19937_64 rng(7);
  constexpr int kNodes = 400;
  for (int i = 0; i < kNodes; ++i) g->AddNode(0, "n" + std::to_string(i), {});
  // Node 0 is a hub (side index and long rank order); the others have short lists. Few distinct
  // weights and timestamps, so ties on weight and on (weight, ts) are common.
  auto random_node = [&] { return static_cast<NodeId>(rng() % kNodes); };
  for (int op = 0; op < 20000; ++op) {
    NodeId src = (rng() % 3 == 0) ? 0 : random_node();
    NodeId dst = random_node();
    TypeId type = static_cast<TypeId>(rng() % 2);
    int action = static_cast<int>(rng() % 10);
    if (action < 7) {
      float weight = static_cast<float>(rng() % 5) * 0.5f;
      if (rng() % 500 == 0) weight = NAN;
      g->PutEdge(src, type, dst, weight, static_cast<uint32_t>(rng() % 3), static_cast<int64_t>(rng() % 4));
    } else if (action < 9) {
      g->RemoveEdge(src, type, dst);
    } else if (op % 50 == 0) {
      // Node removal erases entries from many other lists.
      NodeId victim = random_node();
      if (victim != 0) {
        g->RemoveNode(victim);
        g->RestoreNode(victim, 0, "n" + std::to_string(victim), {});
      }
    }
    if (op % 2000 == 1999) {
      for (NodeId id = 0; id < kNodes; ++id) {
        for (TypeId t : {0u, 1u}) {
          CheckRanked(*g, id, t, Direction::kOut);
          CheckRanked(*g, id, t, Direction::kIn);
        }
      }
    }
  }
  CHECK(g->Degree(0, 0, Direction::kOut) > 64);  // the hub exercised the indexed path
}

TEST_CASE("a hub's rank order follows weight changes in both directions") {
  auto g = Graph::CreateEmpty();
  NodeId hub = g->AddNode(0, "hub", {});
  std::vector<NodeId> items;
  for (int i = 0; i < 1000; ++i) items.push_back(g->AddNode(1, "i" + std::to_string(i), {}));
  for (int i = 0; i < 1000; ++i) g->PutEdge(hub, 0, items[i], 1.0f, 1, i);
  std::vector<Neighbor> top;
  g->TopNeighbors(hub, 0, Direction::kOut, 2, &top);
  REQUIRE(top.size() == 2);
  CHECK(top[0].node == items[999]);  // equal weights: most recent first
  g->PutEdge(hub, 0, items[10], 5.0f, 2, 10);  // moves to the front
  g->PutEdge(hub, 0, items[999], 0.5f, 2, 999);  // moves to the back
  g->TopNeighbors(hub, 0, Direction::kOut, 2, &top);
  CHECK(top[0].node == items[10]);
  CHECK(top[1].node == items[998]);
  g->TopNeighbors(hub, 0, Direction::kOut, SIZE_MAX, &top);
  REQUIRE(top.size() == 1000);
  CHECK(top.back().node == items[999]);
  CheckRanked(*g, hub, 0, Direction::kOut);
  // ForEachNeighbor keeps insertion order.
  NodeId first = kInvalidNode;
  g->ForEachNeighbor(hub, 0, Direction::kOut, [&](const Neighbor& n) {
    first = n.node;
    return false;
  });
  CHECK(first == items[0]);
}

TEST_CASE("load builds exact lists in both directions with their rank order") {
  std::string dir = TempDir("load");
  std::mt19937_64 rng(11);
  constexpr NodeId kNodes = 300;
  // Reference content per (node, type, dir).
  std::map<std::tuple<NodeId, TypeId, int>, std::vector<Neighbor>> expect;
  {
    auto store = storage::Store::Open(storage::StoreOptions{}, dir);
    REQUIRE(store.ok());
    storage::WriteBatch batch;
    for (NodeId i = 0; i < kNodes; ++i) {
      if (i % 37 == 5) continue;  // gaps: removed nodes
      batch.PutNode({i, static_cast<TypeId>(i % 3), "n" + std::to_string(i), {}});
    }
    std::set<std::tuple<NodeId, TypeId, NodeId>> seen;
    for (int e = 0; e < 6000; ++e) {
      NodeId src = (e % 4 == 0) ? 1 : static_cast<NodeId>(rng() % kNodes);  // node 1: a hub
      NodeId dst = (e % 9 == 0) ? 2 : static_cast<NodeId>(rng() % kNodes);  // node 2: in-hub
      TypeId type = static_cast<TypeId>(rng() % 3);
      if (!seen.insert({src, type, dst}).second) continue;
      double w = static_cast<double>(rng() % 4);
      int64_t ts = static_cast<int64_t>(rng() % 5);
      uint32_t count = static_cast<uint32_t>(1 + rng() % 3);
      batch.PutEdge({src, type, dst, w, ts, count, {}});
      if (src % 37 == 5 || dst % 37 == 5) continue;  // dangling: skipped by Load
      expect[{src, type, 0}].push_back({dst, static_cast<float>(w), count, ts});
      expect[{dst, type, 1}].push_back({src, static_cast<float>(w), count, ts});
    }
    REQUIRE((*store)->Write(&batch, false).ok());
  }
  auto store = storage::Store::Open(storage::StoreOptions{}, dir);
  REQUIRE(store.ok());
  auto loaded = Graph::Load(**store, Schema());
  REQUIRE(loaded.ok());
  Graph& g = **loaded;
  size_t total = 0;
  for (const auto& [key, list] : expect) {
    auto [id, type, dir_index] = key;
    Direction d = dir_index == 0 ? Direction::kOut : Direction::kIn;
    std::vector<Neighbor> got;
    g.ForEachNeighbor(id, type, d, [&](const Neighbor& n) {
      got.push_back(n);
      return true;
    });
    // Out-lists in dst order, in-lists in src order (the order of the scan).
    std::vector<Neighbor> want = list;
    std::sort(want.begin(), want.end(),
              [](const Neighbor& a, const Neighbor& b) { return a.node < b.node; });
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i) REQUIRE(SameNeighbor(got[i], want[i]));
    CheckRanked(g, id, type, d);
    if (d == Direction::kOut) total += list.size();
  }
  CHECK(g.EdgeCount() == total);
  // Writes after a load keep both the side index and the rank order right.
  for (int i = 0; i < 500; ++i) {
    NodeId dst = static_cast<NodeId>(rng() % kNodes);
    if (dst % 37 == 5) continue;
    g.PutEdge(1, 0, dst, static_cast<float>(rng() % 7), 1, static_cast<int64_t>(rng() % 9));
    if (i % 3 == 0) g.RemoveEdge(1, 0, static_cast<NodeId>(rng() % kNodes));
  }
  CheckRanked(g, 1, 0, Direction::kOut);
  CheckRanked(g, 2, 0, Direction::kIn);
  store->reset();
  std::filesystem::remove_all(dir);
}

TEST_CASE("load handles more edge types than it counts densely, and self-loops") {
  std::string dir = TempDir("types");
  constexpr TypeId kTypes = 70;  // more than the dense in-degree counters cover
  {
    auto store = storage::Store::Open(storage::StoreOptions{}, dir);
    REQUIRE(store.ok());
    storage::WriteBatch batch;
    for (NodeId i = 0; i < 10; ++i) batch.PutNode({i, 0, "n" + std::to_string(i), {}});
    for (TypeId t = 0; t < kTypes; ++t) {
      for (NodeId src = 0; src < 10; ++src) {
        batch.PutEdge({src, t, (src + t) % 10, 1.0 + t, t, 1, {}});
        batch.PutEdge({src, t, src, 0.5, t, 1, {}});  // self-loop (skipped if equal above)
      }
    }
    REQUIRE((*store)->Write(&batch, false).ok());
  }
  auto store = storage::Store::Open(storage::StoreOptions{}, dir);
  REQUIRE(store.ok());
  auto loaded = Graph::Load(**store, Schema());
  REQUIRE(loaded.ok());
  Graph& g = **loaded;
  size_t out_total = 0, in_total = 0;
  for (NodeId id = 0; id < 10; ++id) {
    for (TypeId t = 0; t < kTypes; ++t) {
      out_total += g.Degree(id, t, Direction::kOut);
      in_total += g.Degree(id, t, Direction::kIn);
      CheckRanked(g, id, t, Direction::kOut);
      CheckRanked(g, id, t, Direction::kIn);
      Neighbor n{};
      REQUIRE(g.FindEdge(id, t, id, &n));
      REQUIRE(g.FindEdge(id, t, (id + t) % 10, &n));
    }
  }
  CHECK(out_total == in_total);
  CHECK(out_total == g.EdgeCount());
  store->reset();
  std::filesystem::remove_all(dir);
}
