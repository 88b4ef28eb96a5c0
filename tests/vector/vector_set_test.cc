// VectorSet: build from the store, snapshots and catch-up from the dirty set.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "vector/vector.h"

using namespace pathwise;
using vector::SearchOptions;
using vector::VectorSet;

namespace {

std::string TempDir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("pw_vec_" + name + "_" + std::to_string(::getpid()) + "_" +
              std::to_string(std::random_device()()));
  std::filesystem::remove_all(dir);
  return dir.string();
}

Schema MakeSchema() {
  Schema schema;
  NodeTypeDef item;
  item.name = "Item";
  REQUIRE(schema.AddNodeType(item).ok());
  VectorSpaceDef def;
  def.node_type = "Item";
  def.name = "embedding";
  def.dim = 8;
  def.metric = Metric::kCosine;
  REQUIRE(schema.AddSpace(def).ok());
  return schema;
}

std::vector<float> RandomVector(std::mt19937* rng) {
  std::normal_distribution<float> g(0, 1);
  std::vector<float> v(8);
  for (float& x : v) x = g(*rng);
  return v;
}

void WriteVectors(storage::Store* store, SpaceId space, NodeId from, NodeId to,
                  std::mt19937* rng) {
  storage::WriteBatch batch;
  for (NodeId n = from; n < to; ++n) batch.PutVector(space, n, RandomVector(rng));
  REQUIRE(store->Write(&batch, false).ok());
}

std::vector<NodeId> Nodes(const vector::SearchResult& r) {
  std::vector<NodeId> out;
  for (const auto& h : r.hits) out.push_back(h.node);
  return out;
}

// Runs f with stderr redirected to a file; returns what was written to stderr.
template <typename F>
std::string CaptureStderr(F&& f) {
  std::string path = TempDir("stderr");
  std::fflush(stderr);
  int saved = ::dup(2);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  REQUIRE(fd >= 0);
  ::dup2(fd, 2);
  ::close(fd);
  f();
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  std::ifstream in(path);
  std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::filesystem::remove(path);
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

}  // namespace

TEST_CASE("open builds indexes from the store and a snapshot round trip gives identical results") {
  std::string db = TempDir("db");
  std::string snaps = TempDir("snap");
  Schema schema = MakeSchema();
  const SpaceId space = schema.spaces()[0].id;
  auto store = storage::Store::Open(storage::StoreOptions{}, db);
  REQUIRE(store.ok());
  std::mt19937 rng(42);
  WriteVectors(store->get(), space, 0, 2000, &rng);

  std::vector<std::vector<NodeId>> before;
  std::vector<std::vector<float>> queries;
  for (int q = 0; q < 20; ++q) queries.push_back(RandomVector(&rng));
  {
    auto set = VectorSet::Open(**store, schema, snaps);
    REQUIRE(set.ok());
    const vector::VectorIndex* idx = (*set)->Get(space);
    REQUIRE(idx != nullptr);
    CHECK(idx->Size() == 2000);
    CHECK((*set)->Get(99) == nullptr);
    for (const auto& q : queries) {
      auto r = idx->Search(q, SearchOptions{.k = 10});
      REQUIRE(r.ok());
      before.push_back(Nodes(*r));
    }
    REQUIRE((*set)->SaveSnapshots(store->get()).ok());
  }
  CHECK(std::filesystem::exists(snaps + "/Item.embedding.hnsw"));
  CHECK(std::filesystem::exists(snaps + "/Item.embedding.meta"));
  // The dirty set was cleared by the snapshot.
  size_t dirty = 0;
  REQUIRE((*store)->ScanDirtyVectors([&](SpaceId, NodeId) { ++dirty; return true; }).ok());
  CHECK(dirty == 0);

  auto reopened = VectorSet::Open(**store, schema, snaps);
  REQUIRE(reopened.ok());
  const vector::VectorIndex* idx = (*reopened)->Get(space);
  REQUIRE(idx != nullptr);
  CHECK(idx->Size() == 2000);
  for (size_t q = 0; q < queries.size(); ++q) {
    auto r = idx->Search(queries[q], SearchOptions{.k = 10});
    REQUIRE(r.ok());
    CHECK(Nodes(*r) == before[q]);
  }
  store->reset();
  std::filesystem::remove_all(db);
  std::filesystem::remove_all(snaps);
}

TEST_CASE("reopen after a snapshot catches up on vectors written and deleted since") {
  std::string db = TempDir("db2");
  std::string snaps = TempDir("snap2");
  Schema schema = MakeSchema();
  const SpaceId space = schema.spaces()[0].id;
  auto store = storage::Store::Open(storage::StoreOptions{}, db);
  REQUIRE(store.ok());
  std::mt19937 rng(7);
  WriteVectors(store->get(), space, 0, 500, &rng);
  {
    auto set = VectorSet::Open(**store, schema, snaps);
    REQUIRE(set.ok());
    REQUIRE((*set)->SaveSnapshots(store->get()).ok());
  }
  // After the snapshot: 100 new vectors, one overwritten, one deleted.
  WriteVectors(store->get(), space, 500, 600, &rng);
  std::vector<float> moved{1, 2, 3, 4, 5, 6, 7, 8};
  storage::WriteBatch batch;
  batch.PutVector(space, 3, moved);
  batch.DeleteVector(space, 4);
  REQUIRE((*store)->Write(&batch, true).ok());

  auto set = VectorSet::Open(**store, schema, snaps);
  REQUIRE(set.ok());
  const vector::VectorIndex* idx = (*set)->Get(space);
  REQUIRE(idx != nullptr);
  CHECK(idx->Size() == 599);
  CHECK_FALSE(idx->Contains(4));
  for (NodeId n = 500; n < 600; n += 9) {
    auto v = (*store)->GetVector(space, n);
    REQUIRE(v.ok());
    auto r = idx->Search(*v, SearchOptions{.k = 1});
    REQUIRE(r.ok());
    REQUIRE(r->hits.size() == 1);
    CHECK(r->hits[0].node == n);
  }
  auto r = idx->Search(moved, SearchOptions{.k = 1});
  REQUIRE(r.ok());
  CHECK(r->hits[0].node == 3);
  CHECK(r->hits[0].similarity == doctest::Approx(1.0f));
  store->reset();
  std::filesystem::remove_all(db);
  std::filesystem::remove_all(snaps);
}

TEST_CASE("a snapshot for another dimension is ignored and the index is rebuilt") {
  std::string db = TempDir("db3");
  std::string snaps = TempDir("snap3");
  Schema schema = MakeSchema();
  const SpaceId space = schema.spaces()[0].id;
  auto store = storage::Store::Open(storage::StoreOptions{}, db);
  REQUIRE(store.ok());
  std::mt19937 rng(9);
  WriteVectors(store->get(), space, 0, 50, &rng);
  {
    auto set = VectorSet::Open(**store, schema, snaps);
    REQUIRE(set.ok());
    REQUIRE((*set)->SaveSnapshots(store->get()).ok());
  }
  // Damage the snapshot file: open must fall back to a rebuild, not crash.
  {
    std::ofstream f(snaps + "/Item.embedding.hnsw", std::ios::binary | std::ios::trunc);
    f << "garbage";
  }
  auto set = VectorSet::Open(**store, schema, snaps);
  REQUIRE(set.ok());
  CHECK((*set)->Get(space)->Size() == 50);
  store->reset();
  std::filesystem::remove_all(db);
  std::filesystem::remove_all(snaps);
}

TEST_CASE("a snapshot with deleted points loads them as deleted and damaged files fall back") {
  std::string db = TempDir("db4");
  std::string snaps = TempDir("snap4");
  Schema schema = MakeSchema();
  const SpaceId space = schema.spaces()[0].id;
  auto store = storage::Store::Open(storage::StoreOptions{}, db);
  REQUIRE(store.ok());
  std::mt19937 rng(13);
  WriteVectors(store->get(), space, 0, 300, &rng);
  std::vector<float> removed_vector;
  {
    auto set = VectorSet::Open(**store, schema, snaps);
    REQUIRE(set.ok());
    vector::VectorIndex* idx = (*set)->Get(space);
    auto v = idx->Get(5);
    REQUIRE(v.ok());
    removed_vector = *v;
    storage::WriteBatch batch;
    for (NodeId n = 0; n < 10; ++n) {
      REQUIRE(idx->Remove(n).ok());
      batch.DeleteVector(space, n);
    }
    REQUIRE((*store)->Write(&batch, true).ok());
    REQUIRE((*set)->SaveSnapshots(store->get()).ok());
  }
  const std::string path = snaps + "/Item.embedding.hnsw";
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  REQUIRE(bytes.size() > 1000);
  auto check_open = [&](const char* what) {
    INFO(what);
    auto set = VectorSet::Open(**store, schema, snaps);
    REQUIRE(set.ok());
    const vector::VectorIndex* idx = (*set)->Get(space);
    CHECK(idx->Size() == 290);
    CHECK_FALSE(idx->Contains(5));
    CHECK(idx->Contains(10));
    auto r = idx->Search(removed_vector, SearchOptions{.k = 20});
    REQUIRE(r.ok());
    CHECK(r->hits.size() == 20);
    for (const auto& h : r->hits) CHECK(h.node >= 10);
    // The loaded index takes writes (its capacity and locks were set up by the loader).
    std::vector<float> fresh = RandomVector(&rng);
    CHECK(const_cast<vector::VectorIndex*>(idx)->Upsert(1000, fresh).ok());
    auto again = idx->Search(fresh, SearchOptions{.k = 1});
    REQUIRE(again.ok());
    REQUIRE(again->hits.size() == 1);
    CHECK(again->hits[0].node == 1000);
  };
  check_open("intact snapshot");
  auto write_variant = [&](const std::string& content) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << content;
  };
  const size_t cuts[] = {10, 96, 96 + 7, bytes.size() / 2, bytes.size() - 3};
  for (size_t cut : cuts) {
    write_variant(bytes.substr(0, cut));
    check_open("truncated snapshot");
  }
  write_variant(bytes + "xyz");
  check_open("trailing bytes");
  std::string bad_header = bytes;
  bad_header[24] ^= 0x40;  // size_data_per_element_
  write_variant(bad_header);
  check_open("damaged header");
  store->reset();
  std::filesystem::remove_all(db);
  std::filesystem::remove_all(snaps);
}

TEST_CASE("open logs a corrupt or truncated snapshot and rebuilds it, answering the same queries") {
  std::string db = TempDir("db5");
  std::string snaps = TempDir("snap5");
  Schema schema = MakeSchema();
  const SpaceId space = schema.spaces()[0].id;
  const VectorSpaceDef& def = schema.spaces()[0];
  auto store = storage::Store::Open(storage::StoreOptions{}, db);
  REQUIRE(store.ok());
  std::mt19937 rng(21);
  WriteVectors(store->get(), space, 0, 600, &rng);
  std::vector<std::vector<float>> queries;
  for (int q = 0; q < 20; ++q) queries.push_back(RandomVector(&rng));
  std::vector<std::vector<NodeId>> before;
  {
    auto set = VectorSet::Open(**store, schema, snaps);
    REQUIRE(set.ok());
    for (const auto& q : queries) {
      auto r = (*set)->Get(space)->SearchExact(q, SearchOptions{.k = 10});
      REQUIRE(r.ok());
      before.push_back(Nodes(*r));
    }
    REQUIRE((*set)->SaveSnapshots(store->get()).ok());
  }
  const std::string path = snaps + "/Item.embedding.hnsw";
  const std::string meta_path = snaps + "/Item.embedding.meta";
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
  CHECK_FALSE(std::filesystem::exists(meta_path + ".tmp"));
  const std::string good = ReadFile(path);
  const std::string good_meta = ReadFile(meta_path);
  REQUIRE(vector::VectorIndex::LoadSnapshotFile(def, path).ok());

  auto reopen_rebuilds = [&](const std::string& what, const std::string& reason) {
    INFO(what);
    std::unique_ptr<VectorSet> set;
    std::string log = CaptureStderr([&] {
      auto r = VectorSet::Open(**store, schema, snaps);
      REQUIRE(r.ok());
      set = std::move(r).value();
    });
    INFO("log: " << log);
    // One line, naming the file and the reason.
    CHECK(std::count(log.begin(), log.end(), '\n') == 1);
    CHECK(log.find(path) != std::string::npos);
    CHECK(log.find(reason) != std::string::npos);
    CHECK(log.find("rebuilding Item.embedding") != std::string::npos);
    const vector::VectorIndex* idx = set->Get(space);
    REQUIRE(idx != nullptr);
    CHECK(idx->Size() == 600);
    for (size_t q = 0; q < queries.size(); ++q) {
      auto r = idx->SearchExact(queries[q], SearchOptions{.k = 10});
      REQUIRE(r.ok());
      CHECK(Nodes(*r) == before[q]);
    }
  };

  std::string flipped = good;
  flipped[flipped.size() / 3] ^= 0x10;
  WriteFile(path, flipped);
  CHECK(vector::VectorIndex::LoadSnapshotFile(def, path).status().code() ==
        Status::Code::kCorruption);
  reopen_rebuilds("one flipped byte", "checksum mismatch");

  WriteFile(path, good.substr(0, good.size() / 2));
  CHECK(vector::VectorIndex::LoadSnapshotFile(def, path).status().code() ==
        Status::Code::kCorruption);
  reopen_rebuilds("truncated to half", "no snapshot footer");

  // A neighbour id beyond the point count, behind a valid checksum: level-0 links of point 0.
  std::string body = good.substr(0, good.size() - vector::VectorIndex::kSnapshotFooterBytes);
  const uint32_t beyond = 600 + 1000;
  std::memcpy(body.data() + 96 + 4, &beyond, 4);
  WriteFile(path, vector::VectorIndex::FrameSnapshotBody(body));
  auto direct = vector::VectorIndex::LoadSnapshotFile(def, path);
  CHECK(direct.status().code() == Status::Code::kCorruption);
  CHECK(direct.status().message().find("beyond the 600 points") != std::string::npos);
  reopen_rebuilds("a neighbour id beyond the point count", "beyond the 600 points");

  // An intact index file that is not the one its .meta describes (e.g. power loss between the
  // two renames) is not trusted either.
  WriteFile(path, vector::VectorIndex::FrameSnapshotBody(
                      good.substr(0, good.size() - vector::VectorIndex::kSnapshotFooterBytes) + ""));
  std::string other_meta = good_meta;
  auto at = other_meta.find("\"checksum\":");
  REQUIRE(at != std::string::npos);
  other_meta.insert(at + 11, "1");
  WriteFile(meta_path, other_meta);
  reopen_rebuilds("index and meta from different snapshots", "checksums differ");

  WriteFile(path, good);
  std::filesystem::remove(meta_path);
  reopen_rebuilds("missing meta", ".meta file is missing");

  // After the rebuilds, a saved snapshot is intact again and opens silently.
  CaptureStderr([&] {
    auto set = VectorSet::Open(**store, schema, snaps);
    REQUIRE(set.ok());
    REQUIRE((*set)->SaveSnapshots(store->get()).ok());
  });
  std::string log = CaptureStderr([&] { REQUIRE(VectorSet::Open(**store, schema, snaps).ok()); });
  CHECK(log.empty());
  store->reset();
  std::filesystem::remove_all(db);
  std::filesystem::remove_all(snaps);
}

TEST_CASE("a snapshot file larger than the write buffer holds exactly the index's snapshot bytes") {
  std::string db = TempDir("db6");
  std::string snaps = TempDir("snap6");
  Schema schema;
  NodeTypeDef item;
  item.name = "Item";
  REQUIRE(schema.AddNodeType(item).ok());
  VectorSpaceDef def;
  def.node_type = "Item";
  def.name = "wide";
  def.dim = 128;
  def.m = 4;
  def.ef_construction = 16;
  REQUIRE(schema.AddSpace(def).ok());
  const SpaceId space = schema.spaces()[0].id;
  auto store = storage::Store::Open(storage::StoreOptions{}, db);
  REQUIRE(store.ok());
  std::mt19937 rng(5);
  std::normal_distribution<float> g(0, 1);
  storage::WriteBatch batch;
  for (NodeId n = 0; n < 2500; ++n) {  // 2500 * 556 bytes: level 0 alone exceeds 1 MiB
    std::vector<float> v(128);
    for (float& x : v) x = g(rng);
    batch.PutVector(space, n, v);
  }
  REQUIRE((*store)->Write(&batch, false).ok());
  auto set = VectorSet::Open(**store, schema, snaps);
  REQUIRE(set.ok());
  REQUIRE((*set)->SaveSnapshots(store->get()).ok());
  auto expected = (*set)->Get(space)->SnapshotBytes();
  REQUIRE(expected.ok());
  const std::string file = ReadFile(snaps + "/Item.wide.hnsw");
  CHECK(file.size() > (size_t{1} << 20));
  CHECK(file == *expected);
  auto loaded = vector::VectorIndex::LoadSnapshotFile(schema.spaces()[0], snaps + "/Item.wide.hnsw");
  REQUIRE(loaded.ok());
  CHECK((*loaded)->Size() == 2500);
  set->reset();
  store->reset();
  std::filesystem::remove_all(db);
  std::filesystem::remove_all(snaps);
}

namespace {

// The (node) dirty marks the store holds for space.
std::vector<NodeId> DirtyMarks(const storage::Store& store, SpaceId space) {
  std::vector<NodeId> nodes;
  REQUIRE(store.ScanDirtyVectors([&](SpaceId s, NodeId n) {
                 if (s == space) nodes.push_back(n);
                 return true;
               }).ok());
  return nodes;
}

}  // namespace

TEST_CASE("a write during a snapshot waits for the file, keeps its dirty mark and survives a reopen") {
  std::string db = TempDir("db_beside");
  std::string snaps = TempDir("snap_beside");
  Schema schema = MakeSchema();
  const SpaceId space = schema.spaces()[0].id;
  auto store = storage::Store::Open(storage::StoreOptions{}, db);
  REQUIRE(store.ok());
  std::mt19937 rng(11);
  WriteVectors(store->get(), space, 0, 300, &rng);
  const std::vector<float> moved{1, 2, 3, 4, 5, 6, 7, 8};
  {
    auto set = VectorSet::Open(**store, schema, snaps);
    REQUIRE(set.ok());
    vector::VectorIndex* idx = (*set)->Get(space);
    auto snapshot = (*set)->BeginSnapshot(**store);
    REQUIRE(snapshot.ok());
    // Searches do not wait for the snapshot.
    auto v0 = (*store)->GetVector(space, 0);
    REQUIRE(v0.ok());
    auto found = idx->Search(*v0, SearchOptions{.k = 1});
    REQUIRE(found.ok());
    CHECK(found->hits[0].node == 0);
    // A writer as the write path runs one: the store first (with its dirty marks), then the index.
    std::atomic<bool> applied{false};
    std::thread writer([&] {
      storage::WriteBatch batch;
      batch.PutVector(space, 7, moved);
      batch.DeleteVector(space, 8);
      CHECK((*store)->Write(&batch, true).ok());
      CHECK(idx->Upsert(7, moved).ok());
      CHECK(idx->Remove(8).ok());
      applied = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK_FALSE(applied.load());  // the index write waits for the file
    REQUIRE((*snapshot)->Write().ok());
    writer.join();
    CHECK(applied.load());
    REQUIRE((*snapshot)->Finish(store->get()).ok());
    // The snapshot made every other mark redundant; the nodes written after it began keep theirs.
    CHECK(DirtyMarks(**store, space) == std::vector<NodeId>{7, 8});
  }
  auto set = VectorSet::Open(**store, schema, snaps);
  REQUIRE(set.ok());
  const vector::VectorIndex* idx = (*set)->Get(space);
  CHECK(idx->Size() == 299);
  CHECK_FALSE(idx->Contains(8));
  auto r = idx->Search(moved, SearchOptions{.k = 1});
  REQUIRE(r.ok());
  CHECK(r->hits[0].node == 7);
  CHECK(r->hits[0].similarity == doctest::Approx(1.0f));
  store->reset();
  std::filesystem::remove_all(db);
  std::filesystem::remove_all(snaps);
}

TEST_CASE("a snapshot that does not finish leaves every dirty mark and its space due again") {
  std::string db = TempDir("db_unfinished");
  std::string snaps = TempDir("snap_unfinished");
  Schema schema = MakeSchema();
  const SpaceId space = schema.spaces()[0].id;
  auto store = storage::Store::Open(storage::StoreOptions{}, db);
  REQUIRE(store.ok());
  std::mt19937 rng(12);
  WriteVectors(store->get(), space, 0, 100, &rng);
  auto set = VectorSet::Open(**store, schema, snaps);
  REQUIRE(set.ok());
  {
    auto snapshot = (*set)->BeginSnapshot(**store);
    REQUIRE(snapshot.ok());
    REQUIRE((*snapshot)->Write().ok());
  }  // dropped without Finish, as when the database failed meanwhile
  CHECK(DirtyMarks(**store, space).size() == 100);
  REQUIRE((*set)->SaveSnapshots(store->get()).ok());  // the space is still due: this clears them
  CHECK(DirtyMarks(**store, space).empty());
  set->reset();
  store->reset();
  std::filesystem::remove_all(db);
  std::filesystem::remove_all(snaps);
}
