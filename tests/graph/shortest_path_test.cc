// ShortestPaths: breadth-first search (BGL) over the serving topology — one or all paths with
// the fewest edges, restricted by direction and type, bounded by hops, expansions and a deadline.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "graph/graph.h"

using namespace pathwise;
using graph::Graph;
using graph::Path;
using graph::ShortestPathOptions;
using graph::ShortestPaths;

namespace {
constexpr TypeId kNode = 0;
constexpr TypeId kLinks = 0;
constexpr TypeId kOther = 1;

struct Fixture {
  std::unique_ptr<Graph> g = Graph::CreateEmpty();
  NodeId N(const std::string& key) {
    NodeId id = g->Lookup(kNode, key);
    return id == kInvalidNode ? g->AddNode(kNode, key, {}) : id;
  }
  void E(const std::string& a, TypeId t, const std::string& b) { g->PutEdge(N(a), t, N(b), 1, 1, 1000); }
  // The node keys of a path, from its first step's start.
  std::string Keys(const Path& path) {
    std::string s = path.empty() ? "" : g->KeyOf(path[0].from);
    for (const auto& step : path) s += "-" + g->KeyOf(step.to);
    return s;
  }
};
}  // namespace

TEST_CASE("shortest paths returns every path of the fewest edges, or one") {
  Fixture f;
  // a -> b -> d, a -> c -> d, a -> x -> y -> d
  f.E("a", kLinks, "b");
  f.E("b", kLinks, "d");
  f.E("a", kLinks, "c");
  f.E("c", kLinks, "d");
  f.E("a", kLinks, "x");
  f.E("x", kLinks, "y");
  f.E("y", kLinks, "d");
  ShortestPathOptions all;
  all.all = true;
  auto paths = ShortestPaths(*f.g, f.N("a"), f.N("d"), all);
  REQUIRE(paths.ok());
  std::vector<std::string> keys;
  for (const Path& p : *paths) keys.push_back(f.Keys(p));
  std::sort(keys.begin(), keys.end());
  CHECK(keys == std::vector<std::string>{"a-b-d", "a-c-d"});
  auto one = ShortestPaths(*f.g, f.N("a"), f.N("d"), ShortestPathOptions{});
  REQUIRE(one.ok());
  REQUIRE(one->size() == 1);
  CHECK((*one)[0].size() == 2);
}

TEST_CASE("shortest paths follows only the allowed directions and types") {
  Fixture f;
  f.E("a", kLinks, "b");
  f.E("c", kLinks, "b");  // a -> b <- c
  f.E("a", kOther, "c");
  ShortestPathOptions out;
  out.follow_in = false;
  out.edge_types = {kLinks};
  auto none = ShortestPaths(*f.g, f.N("a"), f.N("c"), out);
  REQUIRE(none.ok());
  CHECK(none->empty());
  ShortestPathOptions both;
  both.edge_types = {kLinks};
  auto two = ShortestPaths(*f.g, f.N("a"), f.N("c"), both);
  REQUIRE(two.ok());
  REQUIRE(two->size() == 1);
  CHECK(f.Keys((*two)[0]) == "a-b-c");
  CHECK((*two)[0][1].dir == graph::Direction::kIn);
}

TEST_CASE("shortest paths finds nothing beyond max hops, and a node to itself is one empty path") {
  Fixture f;
  f.E("a", kLinks, "b");
  f.E("b", kLinks, "c");
  ShortestPathOptions one_hop;
  one_hop.max_hops = 1;
  auto none = ShortestPaths(*f.g, f.N("a"), f.N("c"), one_hop);
  REQUIRE(none.ok());
  CHECK(none->empty());
  auto self = ShortestPaths(*f.g, f.N("a"), f.N("a"), one_hop);
  REQUIRE(self.ok());
  REQUIRE(self->size() == 1);
  CHECK((*self)[0].empty());
}

TEST_CASE("shortest paths stops at its expansion budget and honours an expired deadline") {
  Fixture f;
  for (int i = 0; i < 100; ++i) {
    f.E("hub", kLinks, "n" + std::to_string(i));
    f.E("n" + std::to_string(i), kLinks, "m" + std::to_string(i));
  }
  f.E("far", kLinks, "end");
  ShortestPathOptions small;
  small.max_expanded = 10;
  auto budget = ShortestPaths(*f.g, f.N("hub"), f.N("end"), small);
  REQUIRE_FALSE(budget.ok());
  CHECK(budget.status().code() == Status::Code::kResourceExhausted);
  ShortestPathOptions late;
  late.deadline = Deadline::AfterMillis(-1);
  auto expired = ShortestPaths(*f.g, f.N("hub"), f.N("end"), late);
  REQUIRE_FALSE(expired.ok());
  CHECK(expired.status().code() == Status::Code::kDeadlineExceeded);
  auto missing = ShortestPaths(*f.g, f.N("hub"), kInvalidNode - 1, ShortestPathOptions{});
  CHECK(missing.status().code() == Status::Code::kNotFound);
}
