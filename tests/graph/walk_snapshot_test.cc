// The walks' relation snapshots (graph/walks.h, "Relation snapshots"): reading them gives the
// same results as the live lists under their locks, a write is seen by the next call, and
// writes, walks and rebuilds run concurrently.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "graph/walks.h"

using namespace pathwise;
using graph::Direction;
using graph::Graph;

namespace {

constexpr TypeId kUser = 0;
constexpr TypeId kItem = 1;
constexpr TypeId kRated = 0;

struct Bipartite {
  std::unique_ptr<Graph> g = Graph::CreateEmpty();
  std::vector<NodeId> users, items;

  // users x items with random ratings; a few hub items get many more.
  Bipartite(size_t n_users, size_t n_items, size_t per_user, uint64_t seed) {
    for (size_t k = 0; k < n_users; ++k) users.push_back(g->AddNode(kUser, "u" + std::to_string(k), {}));
    for (size_t k = 0; k < n_items; ++k) items.push_back(g->AddNode(kItem, "i" + std::to_string(k), {}));
    std::mt19937_64 rng(seed);
    for (NodeId u : users) {
      for (size_t e = 0; e < per_user; ++e) {
        NodeId i = items[rng() % (e % 4 == 0 ? 3 : items.size())];  // items 0..2 are hubs
        g->PutEdge(u, kRated, i, static_cast<float>(1 + rng() % 5), 1,
                   static_cast<int64_t>(rng() % 100000));
      }
    }
  }
};

graph::RandomWalkOptions Walk(bool use_snapshot) {
  graph::RandomWalkOptions o;
  o.hops = {{kRated, Direction::kOut}, {kRated, Direction::kIn}};
  o.target_type = kItem;
  o.restart = 0.3;
  o.total_steps = 20000;
  o.random_seed = 11;
  o.sampling.max_neighbors = 10;  // capped hubs: draws go through the rank order
  o.sampling.half_life_ms = 50000;
  o.sampling.now_ms = 100000;
  o.paths_per_candidate = 2;
  o.use_snapshot = use_snapshot;
  return o;
}

std::vector<std::pair<NodeId, uint32_t>> Visits(const Graph& g, NodeId seed,
                                                const graph::RandomWalkOptions& o) {
  auto walk = graph::RandomWalk(g, {{seed, 1.0}}, o);
  REQUIRE(walk.ok());
  std::vector<std::pair<NodeId, uint32_t>> out;
  for (const auto& c : walk->candidates) out.push_back({c.node, c.visits});
  return out;
}

graph::PushOptions Push(bool use_snapshot) {
  graph::PushOptions o;
  o.hops = {{kRated, Direction::kOut}, {kRated, Direction::kIn}};
  o.use_snapshot = use_snapshot;
  return o;
}

std::vector<std::pair<NodeId, double>> PushScores(const Graph& g, NodeId seed, bool snapshot) {
  auto ppr = graph::PersonalizedPageRank(g, {{seed, 1.0}}, Push(snapshot));
  REQUIRE(ppr.ok());
  return ppr->scores;
}

std::vector<std::pair<NodeId, double>> Rp3Scores(const Graph& g, NodeId user, bool snapshot) {
  graph::Rp3Options o;
  o.relation = {kRated, Direction::kOut};
  o.max_neighbors = 5;
  o.use_snapshot = snapshot;
  auto rp3 = graph::Rp3Beta(g, user, o);
  REQUIRE(rp3.ok());
  return rp3->scores;
}

// Snapshots are built in the background after a walk asks for them: waits (up to 30 s) until
// both RATED relations are installed with `entries` entries in all.
bool WaitForSnapshots(const Graph& g, size_t entries) {
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < give_up) {
    graph::WalkSnapshotStats stats = graph::GetWalkSnapshotStats(g);
    if (stats.relations == 2 && stats.entries == entries) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

std::vector<NodeId> Candidates(const Graph& g, NodeId seed) {
  graph::RandomWalkOptions o = Walk(true);
  o.restart = 1.0;  // every counted visit is one hop from the seed
  o.total_steps = 200;
  o.sampling = {};
  auto walk = graph::RandomWalk(g, {{seed, 1.0}}, o);
  REQUIRE(walk.ok());
  std::vector<NodeId> out;
  for (const auto& c : walk->candidates) out.push_back(c.node);
  return out;
}

}  // namespace

TEST_CASE("walks, PageRank and RP3beta over snapshots equal the locked path for the same seed") {
  Bipartite b(200, 300, 12, 3);
  // The first walk reads the live lists and queues both snapshots' builds.
  CHECK(Visits(*b.g, b.users[0], Walk(true)) == Visits(*b.g, b.users[0], Walk(false)));
  REQUIRE(WaitForSnapshots(*b.g, 2 * b.g->EdgeCount()));
  for (NodeId seed : {b.users[0], b.users[17], b.users[150]}) {
    auto locked = Visits(*b.g, seed, Walk(false));
    auto snapshot = Visits(*b.g, seed, Walk(true));
    CHECK(locked.size() > 10);
    CHECK(snapshot == locked);
    CHECK(PushScores(*b.g, seed, true) == PushScores(*b.g, seed, false));
    CHECK(Rp3Scores(*b.g, seed, true) == Rp3Scores(*b.g, seed, false));
  }
  graph::WalkSnapshotStats stats = graph::GetWalkSnapshotStats(*b.g);
  CHECK(stats.relations == 2);  // RATED out and in
  CHECK(stats.entries == 2 * b.g->EdgeCount());
  CHECK(stats.bytes >= stats.entries * 28);
}

TEST_CASE("uniform walks over snapshots, whose lists are in rank order, equal the locked path") {
  Bipartite b(200, 300, 12, 3);
  graph::RebuildWalkSnapshot(*b.g, kRated, Direction::kOut);
  graph::RebuildWalkSnapshot(*b.g, kRated, Direction::kIn);
  for (size_t cap : {size_t{0}, size_t{5}}) {  // every entry a choice, then the strongest 5
    graph::RandomWalkOptions snapshot = Walk(true);
    snapshot.sampling = {};
    snapshot.sampling.weighted = false;
    snapshot.sampling.max_neighbors = cap;
    graph::RandomWalkOptions locked = snapshot;
    locked.use_snapshot = false;
    auto visits = Visits(*b.g, b.users[3], locked);
    CHECK(visits.size() > 10);
    CHECK(Visits(*b.g, b.users[3], snapshot) == visits);
  }
}

TEST_CASE("a write after the snapshot was built is seen by the next walk, PageRank and RP3beta") {
  Bipartite b(50, 40, 6, 5);
  NodeId user = b.users[7];
  NodeId old_item = b.items[39];
  // The user's only rating; its item has no other rater.
  for (NodeId i : b.items) b.g->RemoveEdge(user, kRated, i);
  for (NodeId u : b.users) b.g->RemoveEdge(u, kRated, old_item);
  b.g->PutEdge(user, kRated, old_item, 1, 1, 1);
  REQUIRE(Candidates(*b.g, user) == std::vector<NodeId>{old_item});  // queues the snapshots
  REQUIRE(WaitForSnapshots(*b.g, 2 * b.g->EdgeCount()));

  SUBCASE("a rating of an item the snapshot holds") {
    NodeId item = b.items[3];
    b.g->RemoveEdge(user, kRated, old_item);
    b.g->PutEdge(user, kRated, item, 2, 1, 2);
    CHECK(Candidates(*b.g, user) == std::vector<NodeId>{item});
    CHECK(Visits(*b.g, user, Walk(true)) == Visits(*b.g, user, Walk(false)));
    CHECK(PushScores(*b.g, user, true) == PushScores(*b.g, user, false));
    CHECK(Rp3Scores(*b.g, user, true) == Rp3Scores(*b.g, user, false));
  }
  SUBCASE("a rating of an item created after the snapshot") {
    NodeId item = b.g->AddNode(kItem, "new", {});
    b.g->PutEdge(user, kRated, item, 2, 1, 2);
    std::vector<NodeId> both = Candidates(*b.g, user);
    CHECK(both.size() == 2);
    CHECK(std::find(both.begin(), both.end(), item) != both.end());
    b.g->RemoveNode(old_item);
    CHECK(Candidates(*b.g, user) == std::vector<NodeId>{item});
    CHECK(Visits(*b.g, user, Walk(true)) == Visits(*b.g, user, Walk(false)));
  }
  SUBCASE("a whole edge type replaced") {
    NodeId item = b.items[5];
    b.g->ReplaceEdgesOfType(kRated, {{user, item, 1.0f, 3}});
    CHECK(Candidates(*b.g, user) == std::vector<NodeId>{item});
    CHECK(Candidates(*b.g, b.users[8]).empty());
  }
}

TEST_CASE("a snapshot is rebuilt in the background once its edge type has changed enough") {
  Bipartite b(100, 100, 10, 9);
  CHECK(graph::RebuildWalkSnapshot(*b.g, kRated, Direction::kOut) >= 0);
  CHECK(graph::RebuildWalkSnapshot(*b.g, kRated, Direction::kIn) >= 0);
  size_t edges_before = b.g->EdgeCount();
  CHECK(graph::GetWalkSnapshotStats(*b.g).entries == 2 * edges_before);
  // 5000 new edges: 10,000 list changes, over 4096 + entries / 16.
  for (size_t k = 0; k < 5000; ++k) {
    b.g->PutEdge(b.users[k % 100], kRated, b.items[(k * 37) % 100], 1, 1, 5);
  }
  REQUIRE(Candidates(*b.g, b.users[0]).size() > 0);  // queues both rebuilds
  REQUIRE(b.g->EdgeCount() != edges_before);
  // Both relations are copied again in the background, with the new edges.
  CHECK(WaitForSnapshots(*b.g, 2 * b.g->EdgeCount()));
}

TEST_CASE("concurrent edge writes, snapshot walks and rebuilds are safe and see real edges") {
  Bipartite b(60, 60, 5, 13);
  std::atomic<bool> done{false};
  std::thread writer([&] {  // the single writer
    for (int round = 0; round < 6000; ++round) {
      NodeId u = b.users[round % b.users.size()];
      NodeId i = b.items[(round * 7) % b.items.size()];
      b.g->PutEdge(u, kRated, i, static_cast<float>(1 + round % 5), 1, round);
      if (round % 3 == 0) b.g->RemoveEdge(b.users[(round / 3) % b.users.size()], kRated, i);
      if (round % 1000 == 999) b.g->ReplaceEdgesOfType(kRated, {{u, i, 1.0f, round}});
    }
    done = true;
  });
  std::thread rebuilder([&] {
    while (!done) graph::RebuildWalkSnapshot(*b.g, kRated, Direction::kIn);
  });
  size_t runs = 0;
  while (!done || runs < 5) {
    graph::RandomWalkOptions o = Walk(true);
    o.total_steps = 2000;
    auto walk = graph::RandomWalk(*b.g, {{b.users[runs % b.users.size()], 1.0}}, o);
    REQUIRE(walk.ok());
    for (const auto& c : walk->candidates) {
      CHECK(b.g->TypeOf(c.node) == kItem);
      for (const auto& p : c.paths) CHECK(p.steps.back().to == c.node);
    }
    auto ppr = graph::PersonalizedPageRank(*b.g, {{b.users[0], 1.0}}, Push(true));
    REQUIRE(ppr.ok());
    ++runs;
  }
  writer.join();
  rebuilder.join();
  // Quiet again: the next calls agree with the locked path.
  CHECK(Visits(*b.g, b.users[1], Walk(true)) == Visits(*b.g, b.users[1], Walk(false)));
}

TEST_CASE("a graph destroyed while a snapshot build runs concurrently waits for the build") {
  for (int round = 0; round < 5; ++round) {
    auto b = std::make_unique<Bipartite>(300, 400, 20, round);
    CHECK_FALSE(Candidates(*b->g, b->users[round]).empty());  // queues both builds
    b.reset();  // the builder may still be copying: the graph must wait for it
  }
}
