// Graph: dictionary, properties, topology mutators and concurrent access.
#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include "graph/graph.h"

using namespace pathwise;
using graph::Direction;
using graph::Graph;
using graph::Neighbor;

namespace {
constexpr TypeId kUser = 0;
constexpr TypeId kItem = 1;
constexpr TypeId kViewed = 0;
constexpr TypeId kLiked = 1;
}  // namespace

TEST_CASE("looking up many keys at once finds each as a single look-up does") {
  auto g = Graph::CreateEmpty();
  NodeId alice = g->AddNode(kUser, "alice", {});
  NodeId book = g->AddNode(kItem, "book", {});
  NodeId bob = g->AddNode(kUser, "bob", {});
  std::vector<std::string_view> keys = {"bob", "book", "carol", "alice", "bob", ""};
  std::vector<NodeId> out(keys.size(), 12345);
  g->LookupMany(kUser, keys, out.data());
  CHECK(out == std::vector<NodeId>{bob, kInvalidNode, kInvalidNode, alice, bob, kInvalidNode});
  g->LookupMany(kItem, keys, out.data());
  CHECK(out == std::vector<NodeId>{kInvalidNode, book, kInvalidNode, kInvalidNode, kInvalidNode,
                                   kInvalidNode});
  g->LookupMany(77, keys, out.data());  // an unknown type finds nothing
  CHECK(out == std::vector<NodeId>(keys.size(), kInvalidNode));
  g->LookupMany(kUser, {}, out.data());  // no keys: nothing written
  CHECK(out == std::vector<NodeId>(keys.size(), kInvalidNode));
}

TEST_CASE("dictionary maps (type, key) to dense ids and back") {
  auto g = Graph::CreateEmpty();
  NodeId alice = g->AddNode(kUser, "alice", {});
  NodeId book = g->AddNode(kItem, "book", {});
  NodeId bob = g->AddNode(kUser, "bob", {});
  CHECK(alice == 0);
  CHECK(book == 1);
  CHECK(bob == 2);
  CHECK(g->Lookup(kUser, "alice") == alice);
  CHECK(g->Lookup(kItem, "alice") == kInvalidNode);
  CHECK(g->Lookup(kUser, "carol") == kInvalidNode);
  CHECK(g->Lookup(77, "alice") == kInvalidNode);
  CHECK(g->KeyOf(book) == "book");
  CHECK(g->TypeOf(book) == kItem);
  CHECK(g->TypeOf(99) == kInvalidType);
  CHECK(g->KeyOf(99) == "");
  CHECK(g->IdBound() == 3);
  CHECK(g->NodeCount() == 3);
  CHECK(g->NodesOfType(kUser) == std::vector<NodeId>{alice, bob});
  CHECK(g->NodesOfType(kItem) == std::vector<NodeId>{book});
}

TEST_CASE("restore node with a sparse id grows the id space") {
  auto g = Graph::CreateEmpty();
  g->RestoreNode(100000, kItem, "far", {{"x", int64_t{1}}});
  CHECK(g->IdBound() == 100001);
  CHECK(g->Exists(100000));
  CHECK_FALSE(g->Exists(5));
  CHECK(g->Lookup(kItem, "far") == 100000);
  CHECK(g->AddNode(kItem, "next", {}) == 100001);
}

TEST_CASE("properties are interned and read back by id and as a map") {
  auto g = Graph::CreateEmpty();
  NodeId n = g->AddNode(kItem, "i1",
                        {{"title", std::string("Dune")}, {"year", int64_t{1965}},
                         {"price", 9.5}, {"tags", std::vector<std::string>{"scifi", "classic"}}});
  graph::PropId year = g->FindProperty("year");
  REQUIRE(year != graph::kNoProp);
  CHECK(g->FindProperty("nope") == graph::kNoProp);
  Value v;
  REQUIRE(g->GetProperty(n, year, &v));
  CHECK(std::get<int64_t>(v) == 1965);
  Properties all = g->GetProperties(n);
  CHECK(all.size() == 4);
  CHECK(std::get<std::string>(all["title"]) == "Dune");
  CHECK(std::get<std::vector<std::string>>(all["tags"]).size() == 2);

  g->SetProperties(n, {{"year", int64_t{2021}}});
  REQUIRE(g->GetProperty(n, year, &v));
  CHECK(std::get<int64_t>(v) == 2021);
  CHECK_FALSE(g->GetProperty(n, g->FindProperty("title"), &v));
  CHECK_FALSE(g->GetProperty(12345, year, &v));
}

TEST_CASE("put edge fills the out list of src and the in list of dst") {
  auto g = Graph::CreateEmpty();
  NodeId u = g->AddNode(kUser, "u", {});
  NodeId a = g->AddNode(kItem, "a", {});
  NodeId b = g->AddNode(kItem, "b", {});
  g->PutEdge(u, kViewed, a, 2.0f, 3, 100);
  g->PutEdge(u, kViewed, b, 1.0f, 1, 200);
  CHECK(g->EdgeCount() == 2);
  CHECK(g->Degree(u, kViewed, Direction::kOut) == 2);
  CHECK(g->Degree(u, kViewed, Direction::kIn) == 0);
  CHECK(g->Degree(a, kViewed, Direction::kIn) == 1);
  CHECK(g->Degree(u, kLiked, Direction::kOut) == 0);

  std::vector<NodeId> seen;
  g->ForEachNeighbor(u, kViewed, Direction::kOut, [&](const Neighbor& n) {
    seen.push_back(n.node);
    return true;
  });
  CHECK(seen == std::vector<NodeId>{a, b});  // insertion order

  Neighbor in{};
  int calls = 0;
  g->ForEachNeighbor(a, kViewed, Direction::kIn, [&](const Neighbor& n) {
    in = n;
    ++calls;
    return true;
  });
  CHECK(calls == 1);
  CHECK(in.node == u);
  CHECK(in.weight == 2.0f);
  CHECK(in.count == 3);
  CHECK(in.ts == 100);

  Neighbor found{};
  REQUIRE(g->FindEdge(u, kViewed, b, &found));
  CHECK(found.ts == 200);
  CHECK_FALSE(g->FindEdge(b, kViewed, u, &found));

  auto degrees = g->Degrees(u);
  REQUIRE(degrees.size() == 1);
  CHECK(degrees[0].edge_type == kViewed);
  CHECK(degrees[0].dir == Direction::kOut);
  CHECK(degrees[0].degree == 2);
}

TEST_CASE("for each neighbor stops when the callback returns false") {
  auto g = Graph::CreateEmpty();
  NodeId u = g->AddNode(kUser, "u", {});
  for (int i = 0; i < 5; ++i) {
    g->PutEdge(u, kViewed, g->AddNode(kItem, "i" + std::to_string(i), {}), 1, 1, i);
  }
  int visits = 0;
  g->ForEachNeighbor(u, kViewed, Direction::kOut, [&](const Neighbor&) { return ++visits < 2; });
  CHECK(visits == 2);
}

TEST_CASE("put edge on an existing pair replaces it in place in both lists") {
  auto g = Graph::CreateEmpty();
  NodeId u = g->AddNode(kUser, "u", {});
  NodeId a = g->AddNode(kItem, "a", {});
  NodeId b = g->AddNode(kItem, "b", {});
  g->PutEdge(u, kViewed, a, 1.0f, 1, 10);
  g->PutEdge(u, kViewed, b, 1.0f, 1, 20);
  g->PutEdge(u, kViewed, a, 5.0f, 7, 30);
  CHECK(g->EdgeCount() == 2);
  CHECK(g->Degree(u, kViewed, Direction::kOut) == 2);
  std::vector<Neighbor> list;
  g->ForEachNeighbor(u, kViewed, Direction::kOut, [&](const Neighbor& n) {
    list.push_back(n);
    return true;
  });
  REQUIRE(list.size() == 2);
  CHECK(list[0].node == a);  // position kept
  CHECK(list[0].weight == 5.0f);
  CHECK(list[0].count == 7);
  CHECK(list[0].ts == 30);
  Neighbor back{};
  g->ForEachNeighbor(a, kViewed, Direction::kIn, [&](const Neighbor& n) {
    back = n;
    return true;
  });
  CHECK(back.weight == 5.0f);
  CHECK(g->Degree(a, kViewed, Direction::kIn) == 1);
}

TEST_CASE("replace in place stays correct on a 10k-degree hub with a side index") {
  auto g = Graph::CreateEmpty();
  NodeId hub = g->AddNode(kUser, "hub", {});
  std::vector<NodeId> items;
  for (int i = 0; i < 10000; ++i) items.push_back(g->AddNode(kItem, "i" + std::to_string(i), {}));
  for (int i = 0; i < 10000; ++i) g->PutEdge(hub, kViewed, items[i], 1.0f, 1, i);
  for (int i = 0; i < 10000; i += 7) g->PutEdge(hub, kViewed, items[i], 2.0f, 2, i);
  CHECK(g->Degree(hub, kViewed, Direction::kOut) == 10000);
  CHECK(g->EdgeCount() == 10000);
  // Remove some entries from the middle, then overwrite entries after them (index positions
  // must have been fixed up by the removal).
  for (int i = 100; i < 200; ++i) CHECK(g->RemoveEdge(hub, kViewed, items[i]));
  CHECK_FALSE(g->RemoveEdge(hub, kViewed, items[150]));
  g->PutEdge(hub, kViewed, items[5000], 9.0f, 9, 9);
  Neighbor n{};
  REQUIRE(g->FindEdge(hub, kViewed, items[5000], &n));
  CHECK(n.weight == 9.0f);
  CHECK_FALSE(g->FindEdge(hub, kViewed, items[150], &n));
  size_t pos = 0;
  bool order_ok = true;
  g->ForEachNeighbor(hub, kViewed, Direction::kOut, [&](const Neighbor& nb) {
    size_t expect = pos < 100 ? pos : pos + 100;
    if (nb.node != items[expect]) order_ok = false;
    ++pos;
    return true;
  });
  CHECK(order_ok);
  CHECK(pos == 9900);
  CHECK(g->EdgeCount() == 9900);
}

TEST_CASE("remove node returns and removes all incident edges in both directions") {
  auto g = Graph::CreateEmpty();
  NodeId u = g->AddNode(kUser, "u", {});
  NodeId v = g->AddNode(kUser, "v", {});
  NodeId a = g->AddNode(kItem, "a", {});
  g->PutEdge(u, kViewed, a, 1, 1, 1);
  g->PutEdge(v, kViewed, a, 1, 1, 1);
  g->PutEdge(a, kLiked, u, 1, 1, 1);
  g->PutEdge(a, kLiked, a, 1, 1, 1);  // self-loop
  CHECK(g->EdgeCount() == 4);
  auto removed = g->RemoveNode(a);
  CHECK(removed.size() == 4);
  auto has = [&](NodeId s, TypeId t, NodeId d) {
    for (const auto& e : removed) {
      if (e.src == s && e.type == t && e.dst == d) return true;
    }
    return false;
  };
  CHECK(has(u, kViewed, a));
  CHECK(has(v, kViewed, a));
  CHECK(has(a, kLiked, u));
  CHECK(has(a, kLiked, a));
  CHECK(g->EdgeCount() == 0);
  CHECK(g->Degree(u, kViewed, Direction::kOut) == 0);
  CHECK(g->Degree(u, kLiked, Direction::kIn) == 0);
  CHECK_FALSE(g->Exists(a));
  CHECK(g->Lookup(kItem, "a") == kInvalidNode);
  CHECK(g->NodesOfType(kItem).empty());
  CHECK(g->NodeCount() == 2);
  CHECK(g->RemoveNode(a).empty());
  // Ids are never reused.
  CHECK(g->AddNode(kItem, "a", {}) == 3);
}

TEST_CASE("put edge ignores missing endpoints") {
  auto g = Graph::CreateEmpty();
  NodeId u = g->AddNode(kUser, "u", {});
  g->PutEdge(u, kViewed, 42, 1, 1, 1);
  g->PutEdge(42, kViewed, u, 1, 1, 1);
  CHECK(g->EdgeCount() == 0);
  CHECK(g->Degree(u, kViewed, Direction::kOut) == 0);
}

TEST_CASE("top neighbors orders by weight then recency and reports the full degree") {
  auto g = Graph::CreateEmpty();
  NodeId u = g->AddNode(kUser, "u", {});
  std::vector<NodeId> items;
  for (int i = 0; i < 6; ++i) items.push_back(g->AddNode(kItem, "i" + std::to_string(i), {}));
  g->PutEdge(u, kViewed, items[0], 1.0f, 1, 50);
  g->PutEdge(u, kViewed, items[1], 3.0f, 1, 10);
  g->PutEdge(u, kViewed, items[2], 3.0f, 1, 20);
  g->PutEdge(u, kViewed, items[3], 0.5f, 1, 90);
  g->PutEdge(u, kViewed, items[4], 2.0f, 1, 5);
  g->PutEdge(u, kViewed, items[5], 1.0f, 1, 60);
  std::vector<Neighbor> top;
  CHECK(g->TopNeighbors(u, kViewed, Direction::kOut, 3, &top) == 6);
  REQUIRE(top.size() == 3);
  CHECK(top[0].node == items[2]);
  CHECK(top[1].node == items[1]);
  CHECK(top[2].node == items[4]);
  CHECK(g->TopNeighbors(u, kViewed, Direction::kOut, 100, &top) == 6);
  REQUIRE(top.size() == 6);
  CHECK(top[3].node == items[5]);
  CHECK(top[4].node == items[0]);
  CHECK(top[5].node == items[3]);
  CHECK(g->TopNeighbors(u, kLiked, Direction::kOut, 3, &top) == 0);
  CHECK(top.empty());
}

TEST_CASE("concurrent readers never see a torn neighbor while a writer rewrites lists") {
  auto g = Graph::CreateEmpty();
  constexpr int kUsers = 64;
  constexpr int kItems = 256;
  for (int i = 0; i < kUsers; ++i) g->AddNode(kUser, "u" + std::to_string(i), {});
  for (int i = 0; i < kItems; ++i) g->AddNode(kItem, "i" + std::to_string(i), {});
  // Invariant of every write: weight == count == ts (as numbers), so a mix of two writes shows.
  std::atomic<bool> stop{false};
  std::atomic<long> torn{0};
  std::atomic<long> reads{0};
  auto reader = [&] {
    std::vector<Neighbor> top;
    while (!stop.load(std::memory_order_relaxed)) {
      for (NodeId u = 0; u < kUsers; ++u) {
        g->ForEachNeighbor(u, kViewed, Direction::kOut, [&](const Neighbor& n) {
          if (static_cast<int64_t>(n.weight) != n.ts || n.count != static_cast<uint32_t>(n.ts)) {
            torn.fetch_add(1);
          }
          return true;
        });
        g->TopNeighbors(kUsers + (u % kItems), kViewed, Direction::kIn, 5, &top);
        for (const Neighbor& n : top) {
          if (static_cast<int64_t>(n.weight) != n.ts) torn.fetch_add(1);
        }
        reads.fetch_add(1, std::memory_order_relaxed);
      }
    }
  };
  std::thread r1(reader);
  std::thread r2(reader);
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(1000);
  uint32_t round = 1;
  while (std::chrono::steady_clock::now() < until) {
    for (int k = 0; k < 1000; ++k, ++round) {
      NodeId u = round % kUsers;
      NodeId item = kUsers + (round * 7919u) % kItems;
      uint32_t val = round % 1000000;
      if (round % 5 == 0) {
        g->RemoveEdge(u, kViewed, item);
      } else {
        g->PutEdge(u, kViewed, item, static_cast<float>(val), val, val);
      }
    }
  }
  stop = true;
  r1.join();
  r2.join();
  CHECK(torn.load() == 0);
  CHECK(reads.load() > 0);
  // Both directions agree after the writer stopped.
  size_t out_total = 0, in_total = 0;
  for (NodeId u = 0; u < kUsers; ++u) out_total += g->Degree(u, kViewed, Direction::kOut);
  for (NodeId i = kUsers; i < kUsers + kItems; ++i) in_total += g->Degree(i, kViewed, Direction::kIn);
  CHECK(out_total == in_total);
  CHECK(out_total == g->EdgeCount());
}
