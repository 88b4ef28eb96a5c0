// BestPath: Dijkstra over the serving topology through the Boost.Graph adapter.
#include <doctest/doctest.h>

#include "graph/graph.h"

using namespace pathwise;
using graph::BestPath;
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
