// BestPath and BestPaths: Dijkstra over the serving topology through the Boost.Graph adapter
// (BestPaths: one bounded search for several targets at once).
#include <doctest/doctest.h>

#include <string>

#include "graph/graph.h"

using namespace pathwise;
using graph::BestPath;
using graph::BestPaths;
using graph::Path;
using graph::Direction;
using graph::Graph;
using graph::PathSearchOptions;

namespace {
constexpr TypeId kNode = 0;
constexpr TypeId kViewed = 0;
constexpr TypeId kSimilar = 1;

struct Fixture {
  std::unique_ptr<Graph> g = Graph::CreateEmpty();
  NodeId N(const std::string& key) {
    NodeId id = g->Lookup(kNode, key);
    return id == kInvalidNode ? g->AddNode(kNode, key, {}) : id;
  }
  void E(const std::string& a, TypeId t, const std::string& b, float w) {
    g->PutEdge(N(a), t, N(b), w, 1, 1000);
  }
};

// Every step of a path is an edge of the graph, and consecutive steps connect.
void CheckRealPath(const Graph& g, const Path& path, NodeId from, NodeId to) {
  REQUIRE_FALSE(path.empty());
  CHECK(path.front().from == from);
  CHECK(path.back().to == to);
  for (size_t i = 0; i < path.size(); ++i) {
    const auto& s = path[i];
    NodeId src = s.dir == graph::Direction::kOut ? s.from : s.to;
    NodeId dst = s.dir == graph::Direction::kOut ? s.to : s.from;
    CHECK(g.FindEdge(src, s.edge_type, dst, nullptr));
    if (i > 0) CHECK(path[i - 1].to == s.from);
  }
}
}  // namespace

TEST_CASE("best path finds a two-hop path across edge directions") {
  Fixture f;
  // user -VIEWED-> item1 <-VIEWED- user2 : path from user to user2 goes out then in.
  f.E("user", kViewed, "item1", 2.0f);
  f.E("user2", kViewed, "item1", 1.0f);
  auto path = BestPath(*f.g, f.N("user"), f.N("user2"), PathSearchOptions{});
  REQUIRE(path.ok());
  REQUIRE(path->size() == 2);
  CHECK((*path)[0].from == f.N("user"));
  CHECK((*path)[0].dir == Direction::kOut);
  CHECK((*path)[0].to == f.N("item1"));
  CHECK((*path)[0].weight == 2.0f);
  CHECK((*path)[1].from == f.N("item1"));
  CHECK((*path)[1].dir == Direction::kIn);
  CHECK((*path)[1].to == f.N("user2"));
}

TEST_CASE("best path finds a three-hop path and respects max hops") {
  Fixture f;
  f.E("u", kViewed, "a", 1.0f);
  f.E("a", kSimilar, "b", 1.0f);
  f.E("b", kSimilar, "c", 1.0f);
  PathSearchOptions opts;
  opts.max_hops = 3;
  auto path = BestPath(*f.g, f.N("u"), f.N("c"), opts);
  REQUIRE(path.ok());
  REQUIRE(path->size() == 3);
  CHECK((*path)[0].edge_type == kViewed);
  CHECK((*path)[2].to == f.N("c"));
  CHECK((*path)[1].to == (*path)[2].from);

  opts.max_hops = 2;
  auto too_short = BestPath(*f.g, f.N("u"), f.N("c"), opts);
  REQUIRE_FALSE(too_short.ok());
  CHECK(too_short.status().code() == Status::Code::kNotFound);
}

TEST_CASE("best path picks the stronger of two paths") {
  Fixture f;
  f.E("s", kViewed, "weak", 0.1f);
  f.E("weak", kViewed, "t", 0.1f);
  f.E("s", kViewed, "strong", 10.0f);
  f.E("strong", kViewed, "t", 10.0f);
  auto path = BestPath(*f.g, f.N("s"), f.N("t"), PathSearchOptions{});
  REQUIRE(path.ok());
  REQUIRE(path->size() == 2);
  CHECK((*path)[0].to == f.N("strong"));
}

TEST_CASE("best path is restricted to the allowed edge types") {
  Fixture f;
  f.E("s", kSimilar, "x", 10.0f);
  f.E("x", kSimilar, "t", 10.0f);
  f.E("s", kViewed, "y", 0.1f);
  f.E("y", kViewed, "t", 0.1f);
  PathSearchOptions opts;
  opts.edge_types = {kViewed};
  auto path = BestPath(*f.g, f.N("s"), f.N("t"), opts);
  REQUIRE(path.ok());
  REQUIRE(path->size() == 2);
  CHECK((*path)[0].to == f.N("y"));
  CHECK((*path)[0].edge_type == kViewed);
}

TEST_CASE("best path returns not found when the nodes are disconnected") {
  Fixture f;
  f.E("a", kViewed, "b", 1.0f);
  f.E("c", kViewed, "d", 1.0f);
  auto path = BestPath(*f.g, f.N("a"), f.N("d"), PathSearchOptions{});
  REQUIRE_FALSE(path.ok());
  CHECK(path.status().code() == Status::Code::kNotFound);
  auto missing = BestPath(*f.g, f.N("a"), 999, PathSearchOptions{});
  CHECK(missing.status().code() == Status::Code::kNotFound);
}

TEST_CASE("best path stops at the expansion budget around a hub") {
  Fixture f;
  for (int i = 0; i < 500; ++i) f.E("hub", kViewed, "leaf" + std::to_string(i), 1.0f);
  f.E("leaf499", kViewed, "far", 0.01f);
  PathSearchOptions opts;
  opts.max_expanded = 10;
  auto path = BestPath(*f.g, f.N("hub"), f.N("far"), opts);
  CHECK(path.status().code() == Status::Code::kNotFound);
  opts.max_expanded = 100000;
  auto found = BestPath(*f.g, f.N("hub"), f.N("far"), opts);
  REQUIRE(found.ok());
  CHECK(found->size() == 2);
}

TEST_CASE("best path honours an expired deadline") {
  Fixture f;
  f.E("a", kViewed, "b", 1.0f);
  PathSearchOptions opts;
  opts.deadline = Deadline::AfterMillis(-1);
  auto path = BestPath(*f.g, f.N("a"), f.N("b"), opts);
  CHECK(path.status().code() == Status::Code::kDeadlineExceeded);
}

TEST_CASE("best paths answers every target from one search, empty where none exists") {
  Fixture f;
  f.E("u", kViewed, "a", 1.0f);
  f.E("a", kSimilar, "b", 0.5f);
  f.E("b", kSimilar, "c", 0.5f);
  f.E("x", kSimilar, "y", 1.0f);  // not connected to u
  std::vector<NodeId> targets = {f.N("b"), f.N("y"), f.N("c"), f.N("u"), f.N("a")};
  auto paths = BestPaths(*f.g, f.N("u"), targets, PathSearchOptions{});
  REQUIRE(paths.ok());
  REQUIRE(paths->size() == targets.size());
  CheckRealPath(*f.g, (*paths)[0], f.N("u"), f.N("b"));
  CHECK((*paths)[0].size() == 2);
  CHECK((*paths)[1].empty());  // y is unreachable
  CheckRealPath(*f.g, (*paths)[2], f.N("u"), f.N("c"));
  CHECK((*paths)[2].size() == 3);
  CHECK((*paths)[3].empty());  // the source itself
  CHECK((*paths)[4].size() == 1);
}

TEST_CASE("best paths agrees with best path target by target") {
  Fixture f;
  // A small random-ish graph: ring plus chords with varied weights.
  for (int i = 0; i < 40; ++i) {
    f.E("n" + std::to_string(i), kViewed, "n" + std::to_string((i + 1) % 40), 1.0f + i % 3);
    f.E("n" + std::to_string(i), kSimilar, "n" + std::to_string((i * 7 + 3) % 40),
        0.5f + (i % 5) * 0.25f);
  }
  std::vector<NodeId> targets;
  for (int i = 1; i < 40; i += 3) targets.push_back(f.N("n" + std::to_string(i)));
  PathSearchOptions opts;
  opts.max_hops = 3;
  auto all = BestPaths(*f.g, f.N("n0"), targets, opts);
  REQUIRE(all.ok());
  for (size_t i = 0; i < targets.size(); ++i) {
    CAPTURE(i);
    auto one = BestPath(*f.g, f.N("n0"), targets[i], opts);
    CHECK(one.ok() == !(*all)[i].empty());
    if (!one.ok()) continue;
    CheckRealPath(*f.g, (*all)[i], f.N("n0"), targets[i]);
    CHECK((*all)[i].size() <= 3);
  }
}

TEST_CASE("a per-list cap follows only the strongest edges but always sees edges to targets") {
  Fixture f;
  // u views 100 items; only i0 (weight 100) leads on to the target t over two hops.
  for (int i = 0; i < 100; ++i) f.E("u", kViewed, "i" + std::to_string(i), 1.0f + i);
  f.E("i99", kSimilar, "m", 1.0f);
  f.E("m", kSimilar, "t", 1.0f);
  f.E("i5", kSimilar, "m2", 1.0f);
  f.E("m2", kSimilar, "t2", 1.0f);
  f.E("u", kViewed, "direct", 0.01f);  // weakest edge, but straight to a target
  PathSearchOptions opts;
  opts.max_hops = 3;
  opts.max_neighbors_per_list = 4;
  auto paths = BestPaths(*f.g, f.N("u"), {f.N("t"), f.N("t2"), f.N("direct")}, opts);
  REQUIRE(paths.ok());
  CheckRealPath(*f.g, (*paths)[0], f.N("u"), f.N("t"));  // via i99, among the top 4
  CHECK((*paths)[1].empty());                             // via i5: cut by the cap
  REQUIRE((*paths)[2].size() == 1);                       // direct edge: never cut
  opts.max_neighbors_per_list = 0;
  auto uncapped = BestPaths(*f.g, f.N("u"), {f.N("t2")}, opts);
  REQUIRE(uncapped.ok());
  CheckRealPath(*f.g, (*uncapped)[0], f.N("u"), f.N("t2"));
}

TEST_CASE("best paths fails only for a missing source or a passed deadline") {
  Fixture f;
  f.E("u", kViewed, "a", 1.0f);
  CHECK(BestPaths(*f.g, 12345, {f.N("a")}, PathSearchOptions{}).status().code() ==
        Status::Code::kNotFound);
  PathSearchOptions late;
  late.deadline = Deadline::AfterMillis(-1);
  CHECK(BestPaths(*f.g, f.N("u"), {f.N("a")}, late).status().code() ==
        Status::Code::kDeadlineExceeded);
}

TEST_CASE("a target out of reach no longer keeps the search going, and changes no answer") {
  Fixture f;
  // u views 700 items; the target t hangs off the weakest of them (found after more than the
  // first run's 500 expansions), and z is connected to nothing u reaches.
  for (int i = 0; i < 700; ++i) f.E("u", kViewed, "i" + std::to_string(i), 2.0f + i);
  f.E("i0", kSimilar, "t", 1.0f);
  f.E("x", kSimilar, "z", 1.0f);
  PathSearchOptions opts;
  opts.max_hops = 3;
  opts.max_neighbors_per_list = 1000;
  opts.max_expanded = 2000;
  auto both = BestPaths(*f.g, f.N("u"), {f.N("z"), f.N("t")}, opts);
  auto alone = BestPaths(*f.g, f.N("u"), {f.N("t")}, opts);
  REQUIRE(both.ok());
  REQUIRE(alone.ok());
  CHECK((*both)[0].empty());
  CheckRealPath(*f.g, (*both)[1], f.N("u"), f.N("t"));
  REQUIRE((*both)[1].size() == (*alone)[0].size());
  for (size_t i = 0; i < (*alone)[0].size(); ++i) CHECK((*both)[1][i].to == (*alone)[0][i].to);
  // The budget still bounds the search: t is past it at 600 expansions.
  opts.max_expanded = 600;
  auto cut = BestPaths(*f.g, f.N("u"), {f.N("z"), f.N("t")}, opts);
  REQUIRE(cut.ok());
  CHECK((*cut)[0].empty());
  CHECK((*cut)[1].empty());
}
