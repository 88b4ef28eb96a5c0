// Store: key order, edges with the reverse index, vectors, meta, checkpoints and corruption;
// syncing the files written beside it (storage/durable_files.h).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <algorithm>
#include <vector>

#include <rocksdb/db.h>

#include "storage/durable_files.h"
#include "storage/storage.h"

namespace pathwise::storage {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  TempDir() {
    std::random_device rd;
    path = (fs::temp_directory_path() / ("pw_store_" + std::to_string(rd()))).string();
    fs::remove_all(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string path;
};

std::unique_ptr<Store> OpenStore(const std::string& path) {
  auto store = Store::Open({}, path);
  REQUIRE(store.ok());
  return std::move(store).value();
}

TEST_CASE("node scan order equals id order and lookups find nodes by type and key") {
  TempDir dir;
  auto store = OpenStore(dir.path);
  WriteBatch batch;
  // Ids whose little-endian bytes would sort differently from their numeric order.
  std::vector<NodeId> ids = {256, 1, 65536, 255, 0, 70000, 2};
  for (NodeId id : ids) {
    batch.PutNode({id,
                   static_cast<TypeId>(id % 3),
                   "k" + std::to_string(id),
                   {{"n", int64_t{id}}, {"tags", std::vector<std::string>{"a", "b"}}}});
  }
  REQUIRE(store->Write(&batch, true).ok());
  std::vector<NodeId> seen;
  REQUIRE(store
              ->ScanNodes([&](const NodeRecord& n) {
                seen.push_back(n.id);
                CHECK(n.key == "k" + std::to_string(n.id));
                CHECK(std::get<int64_t>(n.props.at("n")) == n.id);
                return true;
              })
              .ok());
  CHECK(seen == std::vector<NodeId>{0, 1, 2, 255, 256, 65536, 70000});

  auto id = store->LookupNode(65536 % 3, "k65536");
  REQUIRE(id.ok());
  CHECK(id.value() == 65536);
  CHECK(store->LookupNode(0, "k65536").status().code() == Status::Code::kNotFound);
  auto node = store->GetNode(70000);
  REQUIRE(node.ok());
  CHECK(std::get<std::vector<std::string>>(node->props.at("tags")).size() == 2);

  WriteBatch del;
  del.DeleteNode(70000, 70000 % 3, "k70000");
  REQUIRE(store->Write(&del, true).ok());
  CHECK(store->GetNode(70000).status().code() == Status::Code::kNotFound);
  CHECK(store->LookupNode(70000 % 3, "k70000").status().code() == Status::Code::kNotFound);
}

TEST_CASE("edges are stored with a reverse index and deleted from both") {
  TempDir dir;
  auto store = OpenStore(dir.path);
  WriteBatch batch;
  batch.PutEdge({1, 0, 2, 2.5, 1700, 3, {{"via", std::string("web")}}});
  batch.PutEdge({1, 0, 3, 1.0, 1800, 1, {}});
  batch.PutEdge({4, 0, 2, 0.5, 1900, 1, {}});
  batch.PutEdge({2, 1, 1, 1.0, 2000, 1, {}});
  REQUIRE(store->Write(&batch, false).ok());

  auto e = store->GetEdge(1, 0, 2);
  REQUIRE(e.ok());
  CHECK(e->weight == 2.5);
  CHECK(e->ts == 1700);
  CHECK(e->count == 3);
  CHECK(std::get<std::string>(e->props.at("via")) == "web");

  std::vector<NodeId> in_of_2;
  REQUIRE(store
              ->ScanEdgesOf(2, Direction::kIn,
                            [&](const EdgeRecord& r) {
                              CHECK(r.dst == 2);
                              in_of_2.push_back(r.src);
                              return true;
                            })
              .ok());
  CHECK(in_of_2 == std::vector<NodeId>{1, 4});
  std::vector<NodeId> out_of_1;
  REQUIRE(store
              ->ScanEdgesOf(1, Direction::kOut,
                            [&](const EdgeRecord& r) {
                              out_of_1.push_back(r.dst);
                              return true;
                            })
              .ok());
  CHECK(out_of_1 == std::vector<NodeId>{2, 3});

  WriteBatch del;
  del.DeleteEdge(1, 0, 2);
  REQUIRE(store->Write(&del, true).ok());
  CHECK(store->GetEdge(1, 0, 2).status().code() == Status::Code::kNotFound);
  in_of_2.clear();
  REQUIRE(store
              ->ScanEdgesOf(2, Direction::kIn,
                            [&](const EdgeRecord& r) {
                              in_of_2.push_back(r.src);
                              return true;
                            })
              .ok());
  CHECK(in_of_2 == std::vector<NodeId>{4});
  size_t total = 0;
  REQUIRE(store->ScanEdges([&](const EdgeRecord&) { return ++total, true; }).ok());
  CHECK(total == 3);
}

TEST_CASE("vectors, the dirty set and meta persist across reopen") {
  TempDir dir;
  {
    auto store = OpenStore(dir.path);
    WriteBatch batch;
    std::vector<float> v = {0.5f, -1.0f, 2.0f};
    batch.PutVector(0, 7, v);
    batch.PutVector(1, 7, v);
    batch.PutVector(0, 9, v);
    batch.PutMeta("recipe/a", "1");
    batch.PutMeta("recipe/b", "2");
    batch.PutMeta("key/x", "3");
    REQUIRE(store->Write(&batch, true).ok());
  }
  auto store = OpenStore(dir.path);
  auto v = store->GetVector(0, 7);
  REQUIRE(v.ok());
  CHECK(v.value() == std::vector<float>{0.5f, -1.0f, 2.0f});
  size_t in_space0 = 0;
  REQUIRE(store
              ->ScanVectors(0,
                            [&](NodeId, std::span<const float> x) {
                              CHECK(x.size() == 3);
                              return ++in_space0, true;
                            })
              .ok());
  CHECK(in_space0 == 2);
  std::vector<std::string> recipes;
  REQUIRE(store
              ->ScanMeta("recipe/",
                         [&](std::string_view k, std::string_view) {
                           recipes.emplace_back(k);
                           return true;
                         })
              .ok());
  CHECK(recipes == std::vector<std::string>{"recipe/a", "recipe/b"});
  CHECK(store->GetMeta("key/x").value() == "3");
  CHECK(store->GetMeta("key/y").status().code() == Status::Code::kNotFound);

  size_t dirty = 0;
  REQUIRE(store->ScanDirtyVectors([&](SpaceId, NodeId) { return ++dirty, true; }).ok());
  CHECK(dirty == 3);
  REQUIRE(store->ClearDirtyVectors(0).ok());
  std::vector<SpaceId> left;
  REQUIRE(store->ScanDirtyVectors([&](SpaceId s, NodeId) { return left.push_back(s), true; }).ok());
  CHECK(left == std::vector<SpaceId>{1});
  CHECK(store->LatestSequence() > 0);
  CHECK(store->SizeOnDisk() > 0);
}

TEST_CASE("checkpoint and restore reproduce the database and refuse an open target") {
  TempDir dir;
  std::string cp = dir.path + "/cp";
  std::string db = dir.path + "/db";
  std::string restored = dir.path + "/restored";
  {
    auto store = OpenStore(db);
    WriteBatch batch;
    batch.PutNode({0, 0, "a", {{"x", 1.5}}});
    batch.PutEdge({0, 0, 0, 1.0, 5, 1, {}});
    REQUIRE(store->Write(&batch, true).ok());
    REQUIRE(store->Checkpoint(cp).ok());
    CHECK(store->Checkpoint(cp).code() == Status::Code::kAlreadyExists);
    WriteBatch later;
    later.PutNode({1, 0, "b", {}});
    REQUIRE(store->Write(&later, true).ok());
    // The target is open in this process: restore must refuse.
    CHECK(Store::Restore(cp, db).code() == Status::Code::kUnavailable);
  }
  REQUIRE(Store::Restore(cp, restored).ok());
  REQUIRE(Store::Restore(cp, db).ok());  // replaces the closed database
  for (const std::string& path : {restored, db}) {
    auto store = OpenStore(path);
    CHECK(std::get<double>(store->GetNode(0)->props.at("x")) == 1.5);
    CHECK(store->GetEdge(0, 0, 0).ok());
    CHECK(store->GetNode(1).status().code() == Status::Code::kNotFound);
  }
  CHECK(Store::Restore(dir.path + "/missing", restored).code() == Status::Code::kNotFound);
}

TEST_CASE("a bulk batch applies operations on the same key in the order they were added") {
  TempDir dir;
  auto store = OpenStore(dir.path);
  WriteBatch batch;
  batch.PutMeta("z", "first");
  batch.PutEdge({9, 0, 1, 1.0, 0, 1, {}});
  batch.PutMeta("a", "kept");
  batch.DeleteEdge(9, 0, 1);  // put then delete: gone
  batch.DeleteMeta("z");
  batch.PutMeta("z", "second");  // delete then put: present with the last value
  batch.PutEdge({3, 0, 4, 2.0, 0, 1, {}});
  batch.PutEdge({3, 0, 4, 5.0, 0, 2, {}});
  REQUIRE(store->WriteBulk(&batch).ok());
  REQUIRE(store->Flush().ok());
  CHECK(store->GetMeta("z").value() == "second");
  CHECK(store->GetMeta("a").value() == "kept");
  CHECK(store->GetEdge(9, 0, 1).status().code() == Status::Code::kNotFound);
  CHECK(store->GetEdge(3, 0, 4)->weight == 5.0);
  CHECK(store->GetEdge(3, 0, 4)->count == 2);
}

TEST_CASE("bulk writes become durable after flush") {
  TempDir dir;
  {
    auto store = OpenStore(dir.path);
    WriteBatch batch;
    for (NodeId i = 0; i < 1000; ++i) batch.PutEdge({i, 0, i + 1, 1.0, 0, 1, {}});
    CHECK(batch.Count() == 2000);
    CHECK(batch.ByteSize() > 0);
    REQUIRE(store->WriteBulk(&batch).ok());
    REQUIRE(store->Flush().ok());
    batch.Clear();
    CHECK(batch.Count() == 0);
  }
  auto store = OpenStore(dir.path);
  size_t n = 0;
  REQUIRE(store->ScanEdges([&](const EdgeRecord&) { return ++n, true; }).ok());
  CHECK(n == 1000);
}

TEST_CASE("an ingested batch reads like a written one: last operation per key wins, deletes remove stored keys") {
  TempDir dir;
  {
    auto store = OpenStore(dir.path);
    WriteBatch before;
    before.PutEdge({7, 0, 8, 1.0, 0, 1, {}});
    before.PutMeta("old", "stored");
    REQUIRE(store->Write(&before, /*sync=*/true).ok());

    WriteBatch batch;
    batch.PutMeta("z", "first");
    batch.PutEdge({9, 0, 1, 1.0, 0, 1, {}});
    batch.DeleteEdge(9, 0, 1);  // put then delete: gone
    batch.DeleteMeta("z");
    batch.PutMeta("z", "second");  // delete then put: the last value
    batch.PutEdge({3, 0, 4, 2.0, 0, 1, {}});
    batch.PutEdge({3, 0, 4, 5.0, 0, 2, {}});
    batch.DeleteEdge(7, 0, 8);  // a tombstone over a key written before the ingestion
    batch.PutNode({2, 1, "n2", {{"a", int64_t{1}}}});
    batch.PutVector(0, 2, std::vector<float>{1, 2});
    for (NodeId i = 100; i < 1100; ++i) batch.PutEdge({i, 1, i + 1, 1.0, 0, 1, {}});
    const size_t count = batch.Count();
    REQUIRE(store->Ingest(batch, /*threads=*/3).ok());
    CHECK(batch.Count() == count);  // unchanged
    CHECK_FALSE(fs::exists(dir.path + ".ingest"));
  }
  auto store = OpenStore(dir.path);  // reopened: the ingestion is durable without a flush
  CHECK(store->GetMeta("z").value() == "second");
  CHECK(store->GetMeta("old").value() == "stored");
  CHECK(store->GetEdge(9, 0, 1).status().code() == Status::Code::kNotFound);
  CHECK(store->GetEdge(7, 0, 8).status().code() == Status::Code::kNotFound);
  CHECK(store->GetEdge(3, 0, 4)->weight == 5.0);
  CHECK(store->GetEdge(3, 0, 4)->count == 2);
  CHECK(store->LookupNode(1, "n2").value() == 2);
  CHECK(store->GetVector(0, 2).value() == std::vector<float>{1, 2});
  size_t in_edges = 0;
  REQUIRE(store->ScanEdgesOf(501, Direction::kIn, [&](const EdgeRecord& e) {
    in_edges += e.src == 500;
    return true;
  }).ok());
  CHECK(in_edges == 1);
  size_t n = 0;
  REQUIRE(store->ScanEdges([&](const EdgeRecord&) { return ++n, true; }).ok());
  CHECK(n == 1001);
  CHECK(store->Ingest(WriteBatch(), 2).ok());  // nothing to ingest
}

TEST_CASE("an ingestion orders keys that share 16 bytes, hold zero bytes or prefix each other, and the last operation per key wins") {
  TempDir dir;
  auto store = OpenStore(dir.path);
  std::mt19937 rng(14);
  const std::string shared = "0123456789abcdef";  // 16 bytes: the part compared as two words
  const std::vector<std::string> stems = {"", "a", std::string("a\0", 2), std::string("a\0\0", 3),
                                          shared, shared + "x", shared + std::string(1, '\0'),
                                          shared.substr(0, 8), shared.substr(0, 8) + "\xff"};
  std::map<std::string, std::optional<std::string>> want;  // nullopt: deleted last
  WriteBatch batch;
  for (int i = 0; i < 4000; ++i) {
    std::string key = stems[rng() % stems.size()] + std::to_string(rng() % 50);
    if (rng() % 4 == 0) key = key.substr(0, key.size() - 1);  // a prefix of other keys
    if (key.empty()) continue;
    if (rng() % 5 == 0) {
      batch.DeleteMeta(key);
      want[key] = std::nullopt;
    } else {
      batch.PutMeta(key, std::to_string(i));
      want[key] = std::to_string(i);
    }
  }
  REQUIRE(store->Ingest(batch, /*threads=*/2).ok());  // keys out of order fail the SST writer
  for (const auto& [key, value] : want) {
    auto got = store->GetMeta(key);
    if (value) {
      REQUIRE(got.ok());
      CHECK(*got == *value);
    } else {
      CHECK(got.status().code() == Status::Code::kNotFound);
    }
  }
}

TEST_CASE("a prepared batch writes what it held when prepared, and a change after Prepare is written too") {
  TempDir dir;
  auto store = OpenStore(dir.path);
  auto fill = [](WriteBatch* batch) {
    for (int i = 0; i < 200; ++i) {  // past the size from which a write is sorted by key
      batch->PutMeta("p/" + std::to_string((i * 37) % 200), "v" + std::to_string(i));
    }
    batch->PutEdge({9, 0, 1, 1.0, 0, 1, {}});
    batch->DeleteEdge(9, 0, 1);  // put then delete of one key: the order holds once prepared
    batch->PutEdge({3, 0, 4, 2.0, 0, 1, {}});
  };
  WriteBatch prepared;
  fill(&prepared);
  REQUIRE(store->Prepare(&prepared).ok());
  REQUIRE(store->Write(&prepared, /*sync=*/true).ok());
  CHECK(store->GetMeta("p/0").value() == "v0");
  CHECK(store->GetMeta("p/37").value() == "v1");
  CHECK(store->GetEdge(9, 0, 1).status().code() == Status::Code::kNotFound);
  CHECK(store->GetEdge(3, 0, 4)->weight == 2.0);

  // Changes after Prepare drop the prepared form: the write has them, not the stale form.
  WriteBatch changed;
  fill(&changed);
  REQUIRE(store->Prepare(&changed).ok());
  changed.PutMeta("p/added", "after");
  changed.RollbackTo(changed.Mark() - 1);  // and a savepoint rollback after Prepare
  changed.PutMeta("p/kept", "after");
  REQUIRE(store->Write(&changed, /*sync=*/false).ok());
  CHECK(store->GetMeta("p/kept").value() == "after");
  CHECK(store->GetMeta("p/added").status().code() == Status::Code::kNotFound);

  // A batch prepared for one store and written to another is rebuilt for that store.
  TempDir other_dir;
  auto other = OpenStore(other_dir.path);
  WriteBatch elsewhere;
  elsewhere.PutMeta("p/elsewhere", "yes");
  REQUIRE(store->Prepare(&elsewhere).ok());
  REQUIRE(other->Write(&elsewhere, /*sync=*/false).ok());
  CHECK(other->GetMeta("p/elsewhere").value() == "yes");
  CHECK(store->GetMeta("p/elsewhere").status().code() == Status::Code::kNotFound);
}

TEST_CASE("a batch rolled back to a savepoint anywhere in its blocks writes exactly the operations before it") {
  TempDir dir;
  auto store = OpenStore(dir.path);
  std::mt19937 rng(14);
  std::map<std::string, std::string> want;
  WriteBatch batch;
  for (int round = 0; round < 40; ++round) {
    const size_t mark = batch.Mark();
    const size_t bytes = batch.ByteSize();
    std::map<std::string, std::string> added;
    for (int i = 0, n = static_cast<int>(rng() % 300); i < n; ++i) {  // 0 to ~90 KB of values
      std::string key = "t/" + std::to_string(round) + "." + std::to_string(i);
      std::string value(rng() % 600, static_cast<char>('a' + i % 26));
      batch.PutMeta(key, value);
      added[key] = value;
    }
    if (rng() % 2 == 0) {
      batch.RollbackTo(mark);
      CHECK(batch.Count() == mark);
      CHECK(batch.ByteSize() == bytes);
    } else {
      want.insert(added.begin(), added.end());
    }
  }
  batch.PutMeta("t/after", std::string(3u << 20, 'z'));  // larger than any block
  want["t/after"] = std::string(3u << 20, 'z');
  REQUIRE(store->Write(&batch, /*sync=*/false).ok());
  size_t n = 0;
  REQUIRE(store->ScanMeta("t/", [&](std::string_view key, std::string_view value) {
    auto it = want.find(std::string(key));
    CHECK(it != want.end());
    if (it != want.end()) CHECK(value == it->second);
    return ++n, true;
  }).ok());
  CHECK(n == want.size());
}

// Writes raw bytes into a column family behind the Store's back.
void PutRaw(const std::string& path, const std::string& cf_name, const std::string& key,
            const std::string& value) {
  rocksdb::DBOptions dbo;
  std::vector<std::string> names;
  REQUIRE(rocksdb::DB::ListColumnFamilies(dbo, path, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  for (const auto& n : names) descs.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  REQUIRE(rocksdb::DB::Open(dbo, path, descs, &handles, &db).ok());
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == cf_name) REQUIRE(db->Put(rocksdb::WriteOptions(), handles[i], key, value).ok());
  }
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  delete db;
}

TEST_CASE("garbage values are reported as corruption, not crashes") {
  TempDir dir;
  { OpenStore(dir.path); }
  PutRaw(dir.path, "nodes", std::string("\0\0\0\5", 4), "\x01\x00\x00\xFF\xFF\xFF");
  PutRaw(dir.path, "edges", std::string("\0\0\0\1\0\0\0\0\0\2", 10), "\x01garbage");
  PutRaw(dir.path, "vectors", std::string("\0\0\0\0\0\1", 6), "abc");
  PutRaw(dir.path, "node_ids", std::string("\0\0k", 3), "xy");
  auto store = OpenStore(dir.path);
  CHECK(store->GetNode(5).status().code() == Status::Code::kCorruption);
  CHECK(store->ScanNodes([](const NodeRecord&) { return true; }).code() ==
        Status::Code::kCorruption);
  CHECK(store->GetEdge(1, 0, 2).status().code() == Status::Code::kCorruption);
  CHECK(store->ScanEdges([](const EdgeRecord&) { return true; }).code() ==
        Status::Code::kCorruption);
  CHECK(store->GetVector(0, 1).status().code() == Status::Code::kCorruption);
  CHECK(store->LookupNode(0, "k").status().code() == Status::Code::kCorruption);
}

TEST_CASE("an unknown storage format version is refused at open") {
  TempDir dir;
  { OpenStore(dir.path); }
  PutRaw(dir.path, "meta", "pathwise.format_version", "99");
  auto store = Store::Open({}, dir.path);
  CHECK(store.status().code() == Status::Code::kCorruption);
  CHECK(store.status().message().find("99") != std::string::npos);
}

TEST_CASE("edge range scans see only their src range, and several threads see every edge once") {
  TempDir dir;
  auto store = OpenStore(dir.path);
  WriteBatch batch;
  constexpr NodeId kNodes = 400;
  for (NodeId src = 0; src < kNodes; ++src) {
    for (NodeId dst : {NodeId{1}, NodeId{7}, kNodes - 1}) batch.PutEdge({src, 2, dst, 1.0, 0, 1, {}});
  }
  REQUIRE(store->Write(&batch, false).ok());

  std::vector<NodeId> srcs;
  REQUIRE(store->ScanEdges(100, 103, [&](const EdgeRecord& r) {
    srcs.push_back(r.src);
    return true;
  }).ok());
  CHECK(srcs == std::vector<NodeId>{100, 100, 100, 101, 101, 101, 102, 102, 102});
  CHECK(store->ScanEdges(5, 5, [](const EdgeRecord&) { return true; }).ok());

  std::vector<size_t> seen(kNodes, 0);
  std::vector<std::thread> threads;
  for (NodeId t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      NodeId to = t == 3 ? kInvalidNode : (t + 1) * 100;  // the last range is open-ended
      (void)store->ScanEdges(t * 100, to, [&](const EdgeRecord& r) {
        ++seen[r.src];  // each src belongs to exactly one thread's range
        return true;
      });
    });
  }
  for (auto& th : threads) th.join();
  CHECK(std::count(seen.begin(), seen.end(), size_t{3}) == kNodes);
}

TEST_CASE("a tree of files and nested directories syncs, and so does a single file") {
  TempDir dir;
  fs::create_directories(dir.path + "/a/b");
  std::ofstream(dir.path + "/top") << "1";
  std::ofstream(dir.path + "/a/mid") << "2";
  std::ofstream(dir.path + "/a/b/deep") << "3";
  CHECK(SyncTree(dir.path).ok());
  CHECK(SyncTree(dir.path + "/a/b/deep").ok());
  CHECK(SyncPath(dir.path + "/a", /*directory=*/true).ok());
}

TEST_CASE("syncing a path that does not exist is an IOError naming it") {
  TempDir dir;
  fs::create_directories(dir.path);
  Status tree = SyncTree(dir.path + "/missing");
  CHECK(tree.code() == Status::Code::kIOError);
  CHECK(tree.message().find("missing") != std::string::npos);
  CHECK(SyncPath(dir.path + "/missing", /*directory=*/true).code() == Status::Code::kIOError);
}

TEST_CASE("a file cannot be synced as a directory") {
  TempDir dir;
  fs::create_directories(dir.path);
  std::ofstream(dir.path + "/f") << "x";
  CHECK(SyncPath(dir.path + "/f", /*directory=*/true).code() == Status::Code::kIOError);
}

}  // namespace
}  // namespace pathwise::storage
