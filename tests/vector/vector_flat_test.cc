// Flat vector spaces (VectorSpaceDef::index == kFlat): exact search against brute force, writes,
// the read/write contract shared with HNSW spaces, and rebuilding from the store at open.
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <thread>

#include "vector/vector.h"

using namespace pathwise;
using vector::SearchOptions;
using vector::VectorIndex;

namespace {

constexpr uint32_t kDim = 16;

VectorSpaceDef FlatDef(Metric metric) {
  VectorSpaceDef def;
  def.node_type = "User";
  def.name = "taste";
  def.dim = kDim;
  def.metric = metric;
  def.index = VectorIndexKind::kFlat;
  return def;
}

std::unique_ptr<VectorIndex> MakeFlat(Metric metric) {
  auto r = VectorIndex::Create(FlatDef(metric));
  REQUIRE(r.ok());
  return std::move(r).value();
}

std::vector<float> Gaussian(std::mt19937* rng) {
  std::normal_distribution<float> g(0, 1);
  std::vector<float> v(kDim);
  for (float& x : v) x = g(*rng);
  return v;
}

// A flat and an HNSW cosine space holding the same `count` Gaussian vectors (nodes 0..count-1).
struct SpacePair {
  std::unique_ptr<VectorIndex> flat, hnsw;
};
SpacePair SameVectors(std::mt19937* rng, NodeId count) {
  VectorSpaceDef hnsw_def = FlatDef(Metric::kCosine);
  hnsw_def.index = VectorIndexKind::kHnsw;
  auto hnsw = VectorIndex::Create(hnsw_def);
  REQUIRE(hnsw.ok());
  SpacePair pair{MakeFlat(Metric::kCosine), std::move(hnsw).value()};
  for (NodeId node = 0; node < count; ++node) {
    std::vector<float> v = Gaussian(rng);
    REQUIRE(pair.flat->Upsert(node, v).ok());
    REQUIRE(pair.hnsw->Upsert(node, v).ok());
  }
  return pair;
}

// The distance VectorIndex reports, in double, from the vectors as given (cosine normalises).
double Distance(Metric metric, const std::vector<float>& a, const std::vector<float>& b) {
  double dot = 0, na = 0, nb = 0, l2 = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    dot += double{a[i]} * b[i];
    na += double{a[i]} * a[i];
    nb += double{b[i]} * b[i];
    l2 += (double{a[i]} - b[i]) * (double{a[i]} - b[i]);
  }
  if (metric == Metric::kL2) return l2;
  if (metric == Metric::kCosine) return 1 - dot / std::sqrt(na * nb);
  return 1 - dot;
}

// The k closest eligible vectors of `model`, by brute force: (distance, node), ties by node.
std::vector<std::pair<double, NodeId>> BruteForce(Metric metric,
                                                  const std::map<NodeId, std::vector<float>>& model,
                                                  const std::vector<float>& q, size_t k,
                                                  const std::function<bool(NodeId)>& eligible) {
  std::vector<std::pair<double, NodeId>> all;
  for (const auto& [node, v] : model) {
    if (eligible(node)) all.emplace_back(Distance(metric, v, q), node);
  }
  std::sort(all.begin(), all.end());
  if (all.size() > k) all.resize(k);
  return all;
}

void CheckEqualsBruteForce(const vector::SearchResult& got,
                           const std::vector<std::pair<double, NodeId>>& want) {
  REQUIRE(got.hits.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    CHECK(got.hits[i].node == want[i].second);
    CHECK(got.hits[i].distance == doctest::Approx(want[i].first).epsilon(1e-4));
  }
}

// 400 vectors written, 60 of them replaced and 80 removed; the same done to `model`.
void Populate(VectorIndex* index, std::map<NodeId, std::vector<float>>* model, std::mt19937* rng) {
  for (NodeId node = 0; node < 400; ++node) {
    (*model)[node] = Gaussian(rng);
    REQUIRE(index->Upsert(node, (*model)[node]).ok());
  }
  for (NodeId node = 0; node < 60; ++node) {
    (*model)[node * 5] = Gaussian(rng);
    REQUIRE(index->Upsert(node * 5, (*model)[node * 5]).ok());
  }
  for (NodeId node = 0; node < 80; ++node) {
    model->erase(node * 3 + 1);
    REQUIRE(index->Remove(node * 3 + 1).ok());
  }
}

}  // namespace

TEST_CASE("a flat space's search equals brute force, with filters, k above its size and removals") {
  for (Metric metric : {Metric::kCosine, Metric::kInnerProduct, Metric::kL2}) {
    CAPTURE(MetricName(metric));
    auto index = MakeFlat(metric);
    std::mt19937 rng(7);
    std::map<NodeId, std::vector<float>> model;
    Populate(index.get(), &model, &rng);
    REQUIRE(index->Size() == model.size());
    std::function<bool(NodeId)> by_three = [](NodeId n) { return n % 3 == 0; };
    auto all = [](NodeId) { return true; };
    for (int q = 0; q < 10; ++q) {
      std::vector<float> query = Gaussian(&rng);
      auto plain = index->Search(query, SearchOptions{.k = 10});
      REQUIRE(plain.ok());
      CHECK(plain->exhaustive);
      CheckEqualsBruteForce(*plain, BruteForce(metric, model, query, 10, all));

      auto filtered = index->Search(query, SearchOptions{.k = 10, .filter = &by_three});
      REQUIRE(filtered.ok());
      CheckEqualsBruteForce(*filtered, BruteForce(metric, model, query, 10, by_three));

      // The expected-pass-rate strategy (a wide unfiltered scan, then the filter) answers the same.
      auto hinted = index->Search(
          query, SearchOptions{.k = 10, .filter = &by_three, .expected_pass_rate = 0.9});
      REQUIRE(hinted.ok());
      CheckEqualsBruteForce(*hinted, BruteForce(metric, model, query, 10, by_three));

      auto everything = index->Search(query, SearchOptions{.k = 10000, .filter = &by_three});
      REQUIRE(everything.ok());
      CHECK(everything->exhaustive);
      CheckEqualsBruteForce(*everything, BruteForce(metric, model, query, 10000, by_three));
    }
  }
}

TEST_CASE("a flat space orders equal distances by node id, whatever the order of writes") {
  auto index = MakeFlat(Metric::kInnerProduct);
  std::vector<float> same(kDim, 0.5f);
  for (NodeId node : {9, 3, 12, 7, 1}) REQUIRE(index->Upsert(node, same).ok());
  REQUIRE(index->Remove(12).ok());  // moves the last row into its place
  auto r = index->Search(same, SearchOptions{.k = 3});
  REQUIRE(r.ok());
  REQUIRE(r->hits.size() == 3);
  CHECK(r->hits[0].node == 1);
  CHECK(r->hits[1].node == 3);
  CHECK(r->hits[2].node == 7);
  CHECK(r->hits[0].similarity == doctest::Approx(0.25 * kDim));
}

TEST_CASE("a flat space's upsert replaces, remove deletes, and reads agree with the HNSW space") {
  std::mt19937 rng(3);
  SpacePair spaces = SameVectors(&rng, 50);
  auto& flat = spaces.flat;
  auto* hnsw = &spaces.hnsw;
  std::vector<float> replacement = Gaussian(&rng);
  REQUIRE(flat->Upsert(10, replacement).ok());
  REQUIRE((*hnsw)->Upsert(10, replacement).ok());
  for (NodeId node : {0, 49, 20}) {
    REQUIRE(flat->Remove(node).ok());
    REQUIRE((*hnsw)->Remove(node).ok());
  }
  REQUIRE(flat->Remove(20).ok());  // absent: OK
  CHECK(flat->Size() == 47);
  CHECK(flat->Size() == (*hnsw)->Size());
  std::vector<float> query = Gaussian(&rng);
  for (NodeId node = 0; node < 52; ++node) {
    CAPTURE(node);
    CHECK(flat->Contains(node) == (*hnsw)->Contains(node));
    auto a = flat->Get(node);
    auto b = (*hnsw)->Get(node);
    REQUIRE(a.ok() == b.ok());
    if (!a.ok()) {
      CHECK(a.status().code() == Status::Code::kNotFound);
      std::vector<float> out(kDim, -1.0f);
      CHECK_FALSE(flat->CopyTo(node, out));
      continue;
    }
    CHECK(*a == *b);
    std::vector<float> out(kDim);
    REQUIRE(flat->CopyTo(node, out));
    CHECK(out == *a);
    CHECK(*flat->SimilarityTo(node, query) == doctest::Approx(*(*hnsw)->SimilarityTo(node, query)));
  }
  CHECK(*flat->Get(10) == *(*hnsw)->Get(10));
  CHECK(flat->MemoryBytes() > 47 * kDim * sizeof(float));
}

TEST_CASE("a flat space rejects bad vectors, has no snapshot, and honours its search deadline") {
  auto index = MakeFlat(Metric::kCosine);
  std::vector<float> zero(kDim, 0.0f);
  CHECK(index->Upsert(1, zero).code() == Status::Code::kInvalidArgument);
  CHECK(index->Upsert(1, std::vector<float>(3, 1.0f)).code() == Status::Code::kInvalidArgument);
  std::vector<NodeId> nodes = {1, 2};
  std::vector<float> values(2 * kDim, 1.0f);
  values[kDim] = std::nanf("");
  CHECK(index->UpsertBatch(nodes, values, 1).code() == Status::Code::kInvalidArgument);
  CHECK(index->Size() == 0);  // all-or-nothing

  CHECK(index->SnapshotBytes().status().code() == Status::Code::kInvalidArgument);
  CHECK(VectorIndex::LoadSnapshotBytes(FlatDef(Metric::kCosine), "").status().code() ==
        Status::Code::kInvalidArgument);

  std::mt19937 rng(5);
  std::vector<NodeId> many(5000);
  std::vector<float> rows;
  for (NodeId node = 0; node < many.size(); ++node) {
    many[node] = node;
    std::vector<float> v = Gaussian(&rng);
    rows.insert(rows.end(), v.begin(), v.end());
  }
  REQUIRE(index->UpsertBatch(many, rows, 2).ok());
  CHECK(index->Size() == 5000);
  SearchOptions late{.k = 5};
  late.deadline = Deadline::At(Deadline::Clock::now() - std::chrono::seconds(1));
  CHECK(index->Search(Gaussian(&rng), late).status().code() ==
        Status::Code::kDeadlineExceeded);
}

TEST_CASE("a write into a flat space from inside its own search's filter fails instead of deadlocking") {
  auto index = MakeFlat(Metric::kL2);
  std::mt19937 rng(11);
  for (NodeId node = 0; node < 20; ++node) REQUIRE(index->Upsert(node, Gaussian(&rng)).ok());
  Status nested_write;
  size_t nested_reads = 0;
  std::function<bool(NodeId)> filter = [&](NodeId node) {
    if (index->Contains(node) && index->Get(node).ok()) ++nested_reads;  // reads nest
    if (node == 5) nested_write = index->Upsert(100, Gaussian(&rng));
    return true;
  };
  auto r = index->Search(Gaussian(&rng), SearchOptions{.k = 3, .filter = &filter});
  REQUIRE(r.ok());
  CHECK(nested_reads == 20);
  CHECK(nested_write.code() == Status::Code::kInternal);
  CHECK_FALSE(index->Contains(100));
}

TEST_CASE("a flat space is rebuilt from the store at every open and writes no snapshot file") {
  auto base = std::filesystem::temp_directory_path() /
              ("pw_flat_" + std::to_string(::getpid()) + "_" + std::to_string(std::random_device()()));
  const std::string db = (base / "db").string(), snaps = (base / "snap").string();
  Schema schema;
  NodeTypeDef user;
  user.name = "User";
  REQUIRE(schema.AddNodeType(user).ok());
  REQUIRE(schema.AddSpace(FlatDef(Metric::kInnerProduct)).ok());
  const SpaceId space = schema.spaces()[0].id;
  auto store = storage::Store::Open(storage::StoreOptions{}, db);
  REQUIRE(store.ok());
  std::mt19937 rng(2);
  storage::WriteBatch batch;
  std::map<NodeId, std::vector<float>> model;
  for (NodeId node = 0; node < 300; ++node) {
    model[node] = Gaussian(&rng);
    batch.PutVector(space, node, model[node]);
  }
  for (NodeId node = 0; node < 300; node += 7) {
    batch.DeleteVector(space, node);
    model.erase(node);
  }
  REQUIRE((*store)->Write(&batch, false).ok());
  for (int round = 0; round < 2; ++round) {
    auto set = vector::VectorSet::Open(**store, schema, snaps);
    REQUIRE(set.ok());
    const VectorIndex* index = (*set)->Get(space);
    REQUIRE(index != nullptr);
    CHECK(index->def().index == VectorIndexKind::kFlat);
    CHECK(index->Size() == model.size());
    for (const auto& [node, v] : model) CHECK(*index->Get(node) == v);
    CHECK_FALSE(index->Contains(7));
    REQUIRE((*set)->SaveSnapshots(store->get()).ok());
    CHECK_FALSE(std::filesystem::exists(snaps + "/User.taste.hnsw"));
    size_t dirty = 0;
    REQUIRE((*store)->ScanDirtyVectors([&](SpaceId, NodeId) { ++dirty; return true; }).ok());
    CHECK(dirty == 0);
  }
  store->reset();
  std::filesystem::remove_all(base);
}

TEST_CASE("concurrent searches and reads of a flat space during writes see whole vectors") {
  auto index = MakeFlat(Metric::kL2);
  // Every vector the writer stores is one value repeated, so a torn read would mix values.
  auto filled = [](float value) { return std::vector<float>(kDim, value); };
  for (NodeId node = 0; node < 200; ++node) REQUIRE(index->Upsert(node, filled(1.0f)).ok());
  std::atomic<bool> done{false};
  std::atomic<size_t> torn{0}, failed{0};
  std::thread writer([&] {
    for (int round = 0; round < 300; ++round) {
      for (NodeId node = 0; node < 200; node += 7) {
        if (!index->Upsert(node, filled(static_cast<float>(round))).ok()) ++failed;
      }
      if (!index->Remove(static_cast<NodeId>(round % 200)).ok()) ++failed;
      if (!index->Upsert(static_cast<NodeId>(round % 200), filled(2.0f)).ok()) ++failed;
    }
    done = true;
  });
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      std::vector<float> out(kDim);
      while (!done) {
        for (NodeId node = 0; node < 200; node += 13) {
          if (!index->CopyTo(node, out)) continue;
          if (std::count(out.begin(), out.end(), out[0]) != kDim) ++torn;
        }
        auto r = index->Search(filled(3.0f), SearchOptions{.k = 5});
        if (!r.ok() || r->hits.size() != 5) ++failed;
      }
    });
  }
  writer.join();
  for (std::thread& t : readers) t.join();
  CHECK(torn == 0);
  CHECK(failed == 0);
  CHECK(index->Size() == 200);
}

TEST_CASE("Prefetch of present, removed, absent and repeated nodes changes no read, flat or HNSW") {
  std::mt19937 rng(5);
  SpacePair spaces = SameVectors(&rng, 20);
  REQUIRE(spaces.flat->Remove(4).ok());
  REQUIRE(spaces.hnsw->Remove(4).ok());
  std::vector<float> query = Gaussian(&rng);
  for (VectorIndex* index : {spaces.flat.get(), spaces.hnsw.get()}) {
    auto reads = [&] {
      std::vector<std::string> out;
      for (NodeId node = 0; node < 25; ++node) {
        auto sim = index->SimilarityTo(node, query);
        out.push_back(sim.ok() ? std::to_string(*sim) : sim.status().ToString());
      }
      out.push_back(std::to_string(index->Size()));
      return out;
    };
    auto before = reads();
    index->Prefetch({});
    std::vector<NodeId> nodes = {3, 4, 4, 19, 24, 1000, 3, 0};
    index->Prefetch(nodes);
    CHECK(reads() == before);
    CHECK_FALSE(index->Contains(4));
    CHECK_FALSE(index->Contains(1000));
  }
}
