// Graph::SaveSnapshot / Graph::LoadSnapshot: a graph loaded from its snapshot equals the one
// Graph::Load rebuilds from the store; damaged, stale or foreign snapshots are refused.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>

#include "graph/graph.h"

using namespace pathwise;
using graph::Direction;
using graph::Graph;
using graph::Neighbor;

namespace {

namespace fs = std::filesystem;

struct TempDir {
  TempDir() {
    path = (fs::temp_directory_path() / ("pw_topo_" + std::to_string(std::random_device()())))
               .string();
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string path;
};

constexpr TypeId kUser = 0, kItem = 1;
constexpr TypeId kViewed = 0, kSimilar = 1;

// A store of 300 users, 200 items (a few removed), views with weights, counts and timestamps,
// and item-item similarity; ids with gaps where nodes were removed.
struct Fixture {
  std::vector<storage::NodeRecord> nodes;
  std::vector<storage::EdgeRecord> edges;
  Fixture() {
    std::mt19937 rng(7);
    for (NodeId id = 0; id < 500; ++id) {
      if (id % 97 == 13) continue;  // removed nodes leave gaps
      bool user = id < 300;
      Properties props;
      if (user) props["age"] = int64_t{18 + id % 50};
      if (!user) props["title"] = std::string("item ") + std::to_string(id);
      if (id % 3 == 0) props["tags"] = std::vector<std::string>{"a", "b"};
      if (id % 5 == 0) props["price"] = 0.5 * id;
      if (id % 7 == 0) props["new"] = id % 2 == 0;
      nodes.push_back({id, user ? kUser : kItem, (user ? "u" : "i") + std::to_string(id), props});
    }
    auto live = [&](NodeId id) { return id % 97 != 13; };
    for (NodeId u = 0; u < 300; ++u) {
      for (int k = 0; k < 1 + static_cast<int>(u % 90); ++k) {
        NodeId item = 300 + static_cast<NodeId>(rng() % 200);
        if (!live(u) || !live(item)) continue;
        auto ts = static_cast<int64_t>(1000 + rng() % 50);
        edges.push_back({u, kViewed, item, static_cast<double>(rng() % 5), ts,
                         1 + static_cast<uint32_t>(rng() % 4), {}});
      }
    }
    for (NodeId i = 300; i < 500; ++i) {
      for (NodeId k = 1; k <= 3; ++k) {
        NodeId j = 300 + (i - 300 + k * 17) % 200;
        if (live(i) && live(j)) edges.push_back({i, kSimilar, j, 0.25 * k, 5000, 1, {}});
      }
    }
    // Repeated (src, type, dst): the store and the graph both keep the last one.
    std::shuffle(edges.begin(), edges.end(), rng);
  }
};

std::unique_ptr<storage::Store> WriteStore(const Fixture& f, const std::string& dir) {
  auto store = storage::Store::Open(storage::StoreOptions{}, dir);
  REQUIRE(store.ok());
  storage::WriteBatch batch;
  for (const auto& n : f.nodes) batch.PutNode(n);
  for (const auto& e : f.edges) batch.PutEdge(e);
  REQUIRE((*store)->Write(&batch, true).ok());
  return std::move(store).value();
}

// The same data put into a graph by the mutators, edges in shuffled order: its lists are in
// insertion order, not in the order Load builds them.
std::unique_ptr<Graph> BuildByWrites(const Fixture& f) {
  std::unique_ptr<Graph> g = Graph::CreateEmpty();
  for (const auto& n : f.nodes) g->RestoreNode(n.id, n.type, n.key, n.props);
  for (const auto& e : f.edges)
    g->PutEdge(e.src, e.type, e.dst, static_cast<float>(e.weight), e.count, e.ts);
  return g;
}

std::vector<Neighbor> ListOf(const Graph& g, NodeId id, TypeId type, Direction dir) {
  std::vector<Neighbor> out;
  g.ForEachNeighbor(id, type, dir, [&](const Neighbor& n) {
    out.push_back(n);
    return true;
  });
  return out;
}

bool SameNeighbors(const std::vector<Neighbor>& a, const std::vector<Neighbor>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const Neighbor& x, const Neighbor& y) {
    return x.node == y.node && x.weight == y.weight && x.count == y.count && x.ts == y.ts;
  });
}

// Every observable of the two graphs: counts, dictionary, properties, each list in visiting
// order and in rank order.
void CheckSameGraph(const Graph& want, const Graph& got) {
  REQUIRE(got.IdBound() == want.IdBound());
  CHECK(got.NodeCount() == want.NodeCount());
  CHECK(got.EdgeCount() == want.EdgeCount());
  for (TypeId t : {kUser, kItem}) CHECK(got.NodesOfType(t) == want.NodesOfType(t));
  for (NodeId id = 0; id < want.IdBound(); ++id) {
    CAPTURE(id);
    REQUIRE(got.TypeOf(id) == want.TypeOf(id));
    if (!want.Exists(id)) continue;
    CHECK(got.KeyOf(id) == want.KeyOf(id));
    CHECK(got.Lookup(want.TypeOf(id), want.KeyOf(id)) == id);
    CHECK(got.GetProperties(id) == want.GetProperties(id));
    for (TypeId type : {kViewed, kSimilar}) {
      for (Direction dir : {Direction::kOut, Direction::kIn}) {
        CHECK(SameNeighbors(ListOf(got, id, type, dir), ListOf(want, id, type, dir)));
        std::vector<Neighbor> top_got, top_want;
        CHECK(got.TopNeighbors(id, type, dir, 1000, &top_got) ==
              want.TopNeighbors(id, type, dir, 1000, &top_want));
        CHECK(SameNeighbors(top_got, top_want));
      }
    }
  }
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// Graph::Load of the fixture's store in dir, saved as a snapshot at dir/topology with marker.
std::unique_ptr<Graph> RebuiltAndSaved(const TempDir& dir, uint64_t marker) {
  Fixture f;
  auto store = WriteStore(f, dir.path + "/db");
  auto rebuilt = Graph::Load(*store, Schema());
  REQUIRE(rebuilt.ok());
  auto saved = (*rebuilt)->SaveSnapshot(dir.path + "/topology", marker);
  REQUIRE(saved.ok());
  CHECK(saved.value() == fs::file_size(dir.path + "/topology"));
  return std::move(rebuilt).value();
}

}  // namespace

TEST_CASE("a graph loaded from its snapshot equals the graph rebuilt from the store") {
  TempDir dir;
  std::unique_ptr<Graph> rebuilt = RebuiltAndSaved(dir, 42);
  CHECK_FALSE(fs::exists(dir.path + "/topology.tmp"));
  auto loaded = Graph::LoadSnapshot(dir.path + "/topology", 42);
  REQUIRE_MESSAGE(loaded.ok(), loaded.status().ToString());
  CheckSameGraph(*rebuilt, **loaded);
}

TEST_CASE("a snapshot of a graph changed by writes loads in the order a rebuild gives") {
  TempDir dir;
  Fixture f;
  auto store = WriteStore(f, dir.path + "/db");
  auto rebuilt = Graph::Load(*store, Schema());
  REQUIRE(rebuilt.ok());
  std::unique_ptr<Graph> written = BuildByWrites(f);
  const std::string path = dir.path + "/topology";
  REQUIRE(written->SaveSnapshot(path, 7).ok());
  auto loaded = Graph::LoadSnapshot(path, 7);
  REQUIRE_MESSAGE(loaded.ok(), loaded.status().ToString());
  CheckSameGraph(**rebuilt, **loaded);
}

TEST_CASE("a removed node and an emptied list leave no trace in the snapshot") {
  TempDir dir;
  std::unique_ptr<Graph> g = Graph::CreateEmpty();
  NodeId a = g->AddNode(kUser, "a", {});
  NodeId b = g->AddNode(kItem, "b", {{"x", int64_t{1}}});
  NodeId c = g->AddNode(kItem, "c", {});
  g->PutEdge(a, kViewed, b, 1.0f, 1, 10);
  g->PutEdge(a, kViewed, c, 2.0f, 1, 20);
  REQUIRE(g->RemoveEdge(a, kViewed, b));
  g->RemoveNode(c);
  const std::string path = dir.path + "/topology";
  REQUIRE(g->SaveSnapshot(path, 1).ok());
  auto loaded = Graph::LoadSnapshot(path, 1);
  REQUIRE_MESSAGE(loaded.ok(), loaded.status().ToString());
  CHECK((*loaded)->IdBound() == b + 1);  // as a rebuild: the bound ends at the last live node
  CHECK((*loaded)->NodeCount() == 2);
  CHECK((*loaded)->EdgeCount() == 0);
  CHECK((*loaded)->Degrees(a).empty());
  CHECK((*loaded)->Lookup(kItem, "c") == kInvalidNode);
  CHECK((*loaded)->Lookup(kItem, "b") == b);
}

TEST_CASE("a snapshot with a flipped byte, a cut or another format is refused, never loaded") {
  TempDir dir;
  RebuiltAndSaved(dir, 3);
  const std::string path = dir.path + "/topology";
  const std::string good = ReadFile(path);
  REQUIRE(good.size() > 1000);
  // Every 97th byte flipped, one at a time: the header, every section and the footer.
  for (size_t at = 0; at < good.size(); at += 97) {
    CAPTURE(at);
    std::string bad = good;
    bad[at] = static_cast<char>(bad[at] ^ 0x5a);
    WriteFile(path, bad);
    auto loaded = Graph::LoadSnapshot(path, 3);
    REQUIRE_FALSE(loaded.ok());
    CHECK(loaded.status().code() == Status::Code::kCorruption);
  }
  for (size_t keep : {size_t{0}, size_t{50}, good.size() / 2, good.size() - 1}) {
    CAPTURE(keep);
    WriteFile(path, good.substr(0, keep));
    CHECK(Graph::LoadSnapshot(path, 3).status().code() == Status::Code::kCorruption);
  }
  std::string other = good;
  other[8] = 9;  // the format word follows the 8-byte magic
  WriteFile(path, other);
  auto refused = Graph::LoadSnapshot(path, 3);
  CHECK(refused.status().code() == Status::Code::kCorruption);
  CHECK(refused.status().message().find("format 9, expected 2") != std::string::npos);
}

TEST_CASE("a snapshot stamped with another store sequence is refused as stale") {
  TempDir dir;
  std::unique_ptr<Graph> g = Graph::CreateEmpty();
  g->AddNode(kUser, "a", {});
  const std::string path = dir.path + "/topology";
  REQUIRE(g->SaveSnapshot(path, 10).ok());
  auto stale = Graph::LoadSnapshot(path, 11);
  CHECK(stale.status().code() == Status::Code::kCorruption);
  CHECK(stale.status().message().find("stale") != std::string::npos);
  CHECK(Graph::LoadSnapshot(dir.path + "/none", 10).status().code() == Status::Code::kNotFound);
}

TEST_CASE("a graph loaded from its snapshot takes writes after its file is deleted") {
  // The loaded lists borrow the mapped file until changed: writes copy only what they change,
  // and deleting the file (as an open does) takes nothing from the graph.
  TempDir dir;
  std::unique_ptr<Graph> rebuilt = RebuiltAndSaved(dir, 5);
  const std::string path = dir.path + "/topology";
  auto loaded = Graph::LoadSnapshot(path, 5);
  REQUIRE_MESSAGE(loaded.ok(), loaded.status().ToString());
  fs::remove(path);
  Graph& g = **loaded;
  std::mt19937 rng(11);
  for (int i = 0; i < 3000; ++i) {
    const NodeId user = static_cast<NodeId>(rng() % 300);
    const NodeId item = 300 + static_cast<NodeId>(rng() % 200);
    if (!rebuilt->Exists(user) || !rebuilt->Exists(item)) continue;
    const auto weight = static_cast<float>(rng() % 7);
    const auto ts = static_cast<int64_t>(2000 + rng() % 100);
    if (rng() % 4 == 0) {
      CHECK(g.RemoveEdge(user, kViewed, item) == rebuilt->RemoveEdge(user, kViewed, item));
    } else {
      g.PutEdge(user, kViewed, item, weight, 1, ts);
      rebuilt->PutEdge(user, kViewed, item, weight, 1, ts);
    }
  }
  g.RemoveNode(301);
  rebuilt->RemoveNode(301);
  CheckSameGraph(*rebuilt, g);
  // And what it saves loads again as the other graph's snapshot does (both in Load's order).
  REQUIRE(g.SaveSnapshot(path, 6).ok());
  REQUIRE(rebuilt->SaveSnapshot(path + ".other", 6).ok());
  auto again = Graph::LoadSnapshot(path, 6);
  auto other = Graph::LoadSnapshot(path + ".other", 6);
  REQUIRE_MESSAGE(again.ok(), again.status().ToString());
  REQUIRE_MESSAGE(other.ok(), other.status().ToString());
  CheckSameGraph(**other, **again);
}
