// VectorIndex: metrics, validation, recall, filtered search, removal.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>
#include <set>
#include <thread>

#include "vector/vector.h"

using namespace pathwise;
using vector::SearchOptions;
using vector::VectorIndex;

namespace {

VectorSpaceDef Def(uint32_t dim, Metric metric) {
  VectorSpaceDef def;
  def.id = 0;
  def.node_type = "Item";
  def.name = "embedding";
  def.dim = dim;
  def.metric = metric;
  def.m = 16;
  def.ef_construction = 200;
  def.ef_search = 64;
  return def;
}

std::unique_ptr<VectorIndex> Make(uint32_t dim, Metric metric) {
  auto r = VectorIndex::Create(Def(dim, metric));
  REQUIRE(r.ok());
  return std::move(r).value();
}

// Clustered random vectors of low intrinsic dimension, like real embeddings: 50 centres, and
// each point is its centre plus a random combination of 6 directions shared by all points.
std::vector<float> Clustered(size_t n, uint32_t dim, uint32_t seed) {
  constexpr int kLatent = 6;
  std::mt19937 rng(1234);  // centres and directions are shared by data and queries
  std::normal_distribution<float> gauss(0.0f, 1.0f);
  std::vector<float> centres(50 * dim);
  for (float& c : centres) c = gauss(rng);
  std::vector<float> basis(kLatent * dim);
  for (float& b : basis) b = 0.4f * gauss(rng);
  rng.seed(seed);
  std::vector<float> out(n * dim);
  for (size_t i = 0; i < n; ++i) {
    size_t c = rng() % 50;
    float z[kLatent];
    for (float& x : z) x = gauss(rng);
    for (uint32_t d = 0; d < dim; ++d) {
      float v = centres[c * dim + d];
      for (int l = 0; l < kLatent; ++l) v += z[l] * basis[l * dim + d];
      out[i * dim + d] = v;
    }
  }
  return out;
}

std::vector<NodeId> Iota(size_t n) {
  std::vector<NodeId> ids(n);
  for (size_t i = 0; i < n; ++i) ids[i] = static_cast<NodeId>(i);
  return ids;
}

}  // namespace

TEST_CASE("cosine search ranks by angle and reports dot-product similarity") {
  auto idx = Make(3, Metric::kCosine);
  REQUIRE(idx->Upsert(1, std::vector<float>{1, 0, 0}).ok());
  REQUIRE(idx->Upsert(2, std::vector<float>{0, 5, 0}).ok());
  REQUIRE(idx->Upsert(3, std::vector<float>{10, 10, 0}).ok());
  CHECK(idx->Size() == 3);
  auto r = idx->Search(std::vector<float>{2, 0.1f, 0}, SearchOptions{.k = 2});
  REQUIRE(r.ok());
  REQUIRE(r->hits.size() == 2);
  CHECK(r->hits[0].node == 1);
  CHECK(r->hits[1].node == 3);
  CHECK(r->hits[0].similarity > 0.99f);
  CHECK(r->hits[1].similarity == doctest::Approx(0.7071 * (2 + 0.1) / std::sqrt(4.01)).epsilon(0.01));
  CHECK(r->hits[0].distance == doctest::Approx(1 - r->hits[0].similarity));
  // Stored vectors are normalised.
  auto v = idx->Get(2);
  REQUIRE(v.ok());
  CHECK((*v)[1] == doctest::Approx(1.0f));
  CHECK(idx->Similarity(std::vector<float>{1, 0, 0}, std::vector<float>{3, 3, 0}) ==
        doctest::Approx(0.70710678));
}

// The HNSW spaces' distance kernels (AVX2 with FMA when the CPU has them, hnswlib's otherwise)
// against the reference metric the flat spaces and SCORE use, at dimensions that exercise every
// tail of the vector loops.
TEST_CASE("hnsw search similarities agree with the reference metric at every dimension") {
  std::mt19937 rng(7);
  std::normal_distribution<float> gauss(0.0f, 1.0f);
  for (Metric metric : {Metric::kCosine, Metric::kInnerProduct, Metric::kL2}) {
    for (uint32_t dim : {1u, 2u, 7u, 8u, 9u, 15u, 16u, 17u, 31u, 32u, 33u, 128u, 130u}) {
      CAPTURE(dim);
      CAPTURE(static_cast<int>(metric));
      auto idx = Make(dim, metric);
      constexpr size_t kPoints = 40;
      for (size_t i = 0; i < kPoints; ++i) {
        std::vector<float> v(dim);
        for (float& x : v) x = gauss(rng);
        REQUIRE(idx->Upsert(static_cast<NodeId>(i), v).ok());
      }
      std::vector<float> q(dim);
      for (float& x : q) x = gauss(rng);
      auto r = idx->Search(q, SearchOptions{.k = kPoints, .ef = 200});
      REQUIRE(r.ok());
      CHECK(r->hits.size() == kPoints);
      for (const auto& hit : r->hits) {
        auto stored = idx->Get(hit.node);
        REQUIRE(stored.ok());
        float expected = idx->Similarity(q, *stored);
        CHECK(hit.similarity == doctest::Approx(expected).epsilon(1e-4).scale(1.0));
      }
    }
  }
}

TEST_CASE("inner product search prefers the largest dot product") {
  auto idx = Make(2, Metric::kInnerProduct);
  REQUIRE(idx->Upsert(1, std::vector<float>{1, 0}).ok());
  REQUIRE(idx->Upsert(2, std::vector<float>{3, 0}).ok());
  REQUIRE(idx->Upsert(3, std::vector<float>{0, 4}).ok());
  auto r = idx->Search(std::vector<float>{1, 0.1f}, SearchOptions{.k = 3});
  REQUIRE(r.ok());
  REQUIRE(r->hits.size() == 3);
  CHECK(r->hits[0].node == 2);
  CHECK(r->hits[0].similarity == doctest::Approx(3.0f));
  CHECK(r->hits[1].node == 1);
  CHECK(r->hits[2].node == 3);
}

TEST_CASE("l2 search ranks by squared distance with similarity 1/(1+d)") {
  auto idx = Make(2, Metric::kL2);
  REQUIRE(idx->Upsert(1, std::vector<float>{0, 0}).ok());
  REQUIRE(idx->Upsert(2, std::vector<float>{3, 4}).ok());
  REQUIRE(idx->Upsert(3, std::vector<float>{1, 1}).ok());
  auto r = idx->Search(std::vector<float>{0, 1}, SearchOptions{.k = 3});
  REQUIRE(r.ok());
  REQUIRE(r->hits.size() == 3);
  CHECK(r->hits[0].node == 1);
  CHECK(r->hits[0].distance == doctest::Approx(1.0f));
  CHECK(r->hits[0].similarity == doctest::Approx(0.5f));
  CHECK(r->hits[1].node == 3);
  CHECK(r->hits[2].node == 2);
  CHECK(r->hits[2].distance == doctest::Approx(18.0f));
}

TEST_CASE("upsert rejects wrong dimension, NaN, infinity and zero cosine vectors") {
  auto idx = Make(3, Metric::kCosine);
  CHECK(idx->Upsert(1, std::vector<float>{1, 2}).code() == Status::Code::kInvalidArgument);
  CHECK(idx->Upsert(1, std::vector<float>{1, NAN, 0}).code() == Status::Code::kInvalidArgument);
  CHECK(idx->Upsert(1, std::vector<float>{INFINITY, 0, 0}).code() ==
        Status::Code::kInvalidArgument);
  CHECK(idx->Upsert(1, std::vector<float>{0, 0, 0}).code() == Status::Code::kInvalidArgument);
  CHECK(idx->Size() == 0);
  CHECK(idx->Search(std::vector<float>{1, 2, 3, 4}, SearchOptions{}).status().code() ==
        Status::Code::kInvalidArgument);
  // All-or-nothing batch validation.
  std::vector<NodeId> nodes{1, 2};
  std::vector<float> values{1, 0, 0, NAN, 0, 0};
  CHECK(idx->UpsertBatch(nodes, values, 2).code() == Status::Code::kInvalidArgument);
  CHECK(idx->Size() == 0);
  CHECK(VectorIndex::Create(Def(0, Metric::kL2)).status().code() == Status::Code::kInvalidArgument);
}

TEST_CASE("ValidateVector rejects zero and underflowing cosine vectors with a clear message") {
  const VectorSpaceDef cosine = Def(4, Metric::kCosine);
  for (const std::vector<float>& zero :
       {std::vector<float>{0, 0, 0, 0}, std::vector<float>{-0.0f, 0, 0, 0},
        std::vector<float>{static_cast<float>(1e-50), 0, 0, 0}}) {
    Status s = vector::ValidateVector(cosine, zero);
    CHECK(s.code() == Status::Code::kInvalidArgument);
    CHECK(s.message().find("Item.embedding") != std::string::npos);
    CHECK(s.message().find("norm 0") != std::string::npos);
  }
  CHECK(vector::ValidateVector(cosine, std::vector<float>{1, 2, 3}).code() ==
        Status::Code::kInvalidArgument);
  CHECK(vector::ValidateVector(cosine, std::vector<float>{1, 2, 3, NAN}).message().find(
            "position 3") != std::string::npos);
  // Zero is a fine vector in l2 and ip spaces; a norm whose square overflows float is not.
  CHECK(vector::ValidateVector(Def(4, Metric::kL2), std::vector<float>{0, 0, 0, 0}).ok());
  CHECK(vector::ValidateVector(Def(4, Metric::kInnerProduct), std::vector<float>{0, 0, 0, 0}).ok());
  const float big = 1e19f;
  CHECK(vector::ValidateVector(Def(4, Metric::kL2), std::vector<float>{big, 0, 0, 0}).code() ==
        Status::Code::kInvalidArgument);
  CHECK(vector::ValidateVector(Def(4, Metric::kInnerProduct), std::vector<float>{1e18f, 0, 0, 0}).ok());
}

TEST_CASE("every vector ValidateVector accepts is upserted and searchable, through growth") {
  // Edge cases that pass validation: denormals (whose 1/norm overflows float), the largest
  // floats (whose squared norm overflows float), mixed magnitudes.
  const float denorm = std::numeric_limits<float>::denorm_min();
  const float fmax = std::numeric_limits<float>::max();
  const std::vector<std::vector<float>> edge = {
      {denorm, 0, 0, 0},       {0, -denorm, denorm, 0}, {fmax, fmax, -fmax, fmax},
      {fmax, denorm, 0, 1e-30f}, {1e-38f, 1e-38f, 0, 0},  {-1, 0, 0, 0}};
  auto idx = Make(4, Metric::kCosine);
  std::mt19937 rng(17);
  std::uniform_real_distribution<float> u(-1, 1);
  NodeId next = 0;
  for (int round = 0; round < 300; ++round) {  // 1800 upserts: the capacity grows past 1024
    for (const auto& v : edge) {
      REQUIRE(vector::ValidateVector(idx->def(), v).ok());
      std::vector<float> jittered = v;
      if (round > 0) jittered[round % 4] += u(rng);  // keeps the edge cases among ordinary ones
      REQUIRE(vector::ValidateVector(idx->def(), jittered).ok());
      REQUIRE(idx->Upsert(next++, jittered).ok());
    }
  }
  CHECK(idx->Size() == next);
  auto stored = idx->Get(0);  // round 0: the denormal vector itself, stored as a unit vector
  REQUIRE(stored.ok());
  CHECK((*stored)[0] == doctest::Approx(1.0f));
  for (float x : *stored) CHECK(std::isfinite(x));
  auto r = idx->Search(std::vector<float>{denorm, 0, 0, 0}, SearchOptions{.k = 1});
  REQUIRE(r.ok());
  REQUIRE(r->hits.size() == 1);
  CHECK(r->hits[0].similarity == doctest::Approx(1.0f));
  auto sim = idx->SimilarityTo(2, std::vector<float>{1, 1, -1, 1});
  REQUIRE(sim.ok());
  CHECK(*sim == doctest::Approx(1.0f));
}

TEST_CASE("remove hides a vector and re-insert brings it back") {
  auto idx = Make(2, Metric::kL2);
  REQUIRE(idx->Upsert(1, std::vector<float>{0, 0}).ok());
  REQUIRE(idx->Upsert(2, std::vector<float>{5, 5}).ok());
  REQUIRE(idx->Remove(1).ok());
  REQUIRE(idx->Remove(1).ok());   // idempotent
  REQUIRE(idx->Remove(77).ok());  // absent
  CHECK_FALSE(idx->Contains(1));
  CHECK(idx->Size() == 1);
  CHECK(idx->Get(1).status().code() == Status::Code::kNotFound);
  auto r = idx->Search(std::vector<float>{0, 0}, SearchOptions{.k = 5});
  REQUIRE(r.ok());
  REQUIRE(r->hits.size() == 1);
  CHECK(r->hits[0].node == 2);
  auto exact = idx->SearchExact(std::vector<float>{0, 0}, SearchOptions{.k = 5});
  REQUIRE(exact.ok());
  CHECK(exact->hits.size() == 1);

  REQUIRE(idx->Upsert(1, std::vector<float>{6, 6}).ok());
  CHECK(idx->Contains(1));
  CHECK(idx->Size() == 2);
  r = idx->Search(std::vector<float>{6, 6}, SearchOptions{.k = 1});
  REQUIRE(r.ok());
  REQUIRE(r->hits.size() == 1);
  CHECK(r->hits[0].node == 1);
  CHECK(r->hits[0].distance == doctest::Approx(0.0f));
}

TEST_CASE("search recall at 10 against exact search is at least 0.95 on clustered data") {
  constexpr uint32_t kDim = 32;
  constexpr size_t kN = 5000;
  auto idx = Make(kDim, Metric::kCosine);
  auto data = Clustered(kN, kDim, 7);
  auto ids = Iota(kN);
  REQUIRE(idx->UpsertBatch(ids, data, 2).ok());
  CHECK(idx->Size() == kN);
  auto queries = Clustered(100, kDim, 99);
  size_t found = 0, raw_found = 0, total = 0;
  for (size_t q = 0; q < 100; ++q) {
    std::span<const float> query(queries.data() + q * kDim, kDim);
    auto approx = idx->Search(query, SearchOptions{.k = 10});
    auto exact = idx->SearchExact(query, SearchOptions{.k = 10});
    auto raw = idx->SearchRaw(query, 10, 64);
    REQUIRE(raw.ok());
    REQUIRE(approx.ok());
    REQUIRE(exact.ok());
    CHECK_FALSE(approx->exhaustive);
    std::set<NodeId> truth;
    for (const auto& h : exact->hits) truth.insert(h.node);
    for (const auto& h : approx->hits) found += truth.count(h.node);
    for (const auto& h : raw->hits) raw_found += truth.count(h.node);
    total += truth.size();
  }
  double recall = static_cast<double>(found) / total;
  MESSAGE("recall@10 = " << recall << " (hnswlib searchKnn: " << static_cast<double>(raw_found) / total << ")");
  CHECK(recall >= 0.95);
}

TEST_CASE("replaced vectors are found at their new place and recall holds at every repair share") {
  constexpr uint32_t kDim = 32;
  constexpr size_t kN = 3000;
  constexpr size_t kMoved = 600;
  const auto data = Clustered(kN, kDim, 7);
  const auto moved = Clustered(kMoved, kDim, 8);  // new vectors for nodes 0..599
  for (float share : {1.0f, 0.25f, 0.0f}) {
    CAPTURE(share);
    auto idx = Make(kDim, Metric::kCosine);
    idx->SetReplaceRepairShare(share);
    REQUIRE(idx->UpsertBatch(Iota(kN), data, 2).ok());
    REQUIRE(idx->Remove(1).ok());  // a removed point replaced comes back
    // Half replaced one at a time, half in one batch.
    for (size_t i = 0; i < kMoved / 2; ++i) {
      REQUIRE(idx->Upsert(i, std::span<const float>(moved.data() + i * kDim, kDim)).ok());
    }
    std::vector<NodeId> second;
    for (size_t i = kMoved / 2; i < kMoved; ++i) second.push_back(i);
    REQUIRE(idx->UpsertBatch(second,
                             std::span<const float>(moved.data() + (kMoved / 2) * kDim,
                                                    (kMoved / 2) * kDim),
                             2)
                .ok());
    CHECK(idx->Size() == kN);
    CHECK(idx->Contains(1));
    size_t first = 0, found = 0, total = 0;
    for (size_t i = 0; i < kMoved; ++i) {
      std::span<const float> query(moved.data() + i * kDim, kDim);
      auto approx = idx->Search(query, SearchOptions{.k = 10});
      auto exact = idx->SearchExact(query, SearchOptions{.k = 10});
      REQUIRE(approx.ok());
      REQUIRE(exact.ok());
      REQUIRE_FALSE(approx->hits.empty());
      // Duplicate vectors may tie at distance 0: the node's own must be among the closest.
      first += approx->hits[0].distance <= 1e-5f;
      std::set<NodeId> truth;
      for (const auto& h : exact->hits) truth.insert(h.node);
      for (const auto& h : approx->hits) found += truth.count(h.node);
      total += truth.size();
    }
    auto stored = idx->Get(5);
    REQUIRE(stored.ok());
    auto expected = idx->SimilarityTo(5, std::span<const float>(moved.data() + 5 * kDim, kDim));
    REQUIRE(expected.ok());
    CHECK(*expected == doctest::Approx(1.0f));
    CHECK(first == kMoved);
    const double recall = static_cast<double>(found) / static_cast<double>(total);
    MESSAGE("share " << share << ": recall@10 next to moved points = " << recall);
    CHECK(recall >= 0.95);
  }
}

TEST_CASE("replacing vectors of a full index does not grow it") {
  constexpr uint32_t kDim = 8;
  constexpr size_t kN = 3000;  // above the initial capacity: one batch sizes the index to kN
  auto idx = Make(kDim, Metric::kL2);
  const auto data = Clustered(kN, kDim, 3);
  REQUIRE(idx->UpsertBatch(Iota(kN), data, 2).ok());
  auto snapshot = idx->SnapshotBytes();
  REQUIRE(snapshot.ok());
  auto loaded = VectorIndex::LoadSnapshotBytes(Def(kDim, Metric::kL2), *snapshot);
  REQUIRE(loaded.ok());
  for (VectorIndex* index : {idx.get(), loaded->get()}) {
    const size_t bytes = index->MemoryBytes();
    REQUIRE(index->Upsert(7, std::span<const float>(data.data() + 9 * kDim, kDim)).ok());
    REQUIRE(index->UpsertBatch(std::vector<NodeId>{1, 2},
                               std::span<const float>(data.data(), 2 * kDim), 2)
                .ok());
    CHECK(index->MemoryBytes() == bytes);
    REQUIRE(index->Upsert(kN, std::span<const float>(data.data(), kDim)).ok());  // a new point
    CHECK(index->MemoryBytes() > bytes);
    CHECK(index->Size() == kN + 1);
  }
}

TEST_CASE("raw hnswlib search returns k hits closest first") {
  constexpr uint32_t kDim = 16;
  auto idx = Make(kDim, Metric::kL2);
  auto data = Clustered(2000, kDim, 3);
  REQUIRE(idx->UpsertBatch(Iota(2000), data, 2).ok());
  auto r = idx->SearchRaw(std::span<const float>(data.data(), kDim), 10, 64);
  REQUIRE(r.ok());
  REQUIRE(r->hits.size() == 10);
  CHECK(r->hits[0].node == 0);
  for (size_t i = 1; i < r->hits.size(); ++i) CHECK(r->hits[i - 1].distance <= r->hits[i].distance);
}

TEST_CASE("filtered search returns k eligible hits when the filter keeps 1 percent") {
  constexpr uint32_t kDim = 16;
  constexpr size_t kN = 20000;
  auto idx = Make(kDim, Metric::kCosine);
  auto data = Clustered(kN, kDim, 11);
  REQUIRE(idx->UpsertBatch(Iota(kN), data, 2).ok());
  std::function<bool(NodeId)> one_percent = [](NodeId n) { return n % 100 == 37; };
  auto queries = Clustered(20, kDim, 5);
  size_t found = 0, total = 0;
  for (size_t q = 0; q < 20; ++q) {
    std::span<const float> query(queries.data() + q * kDim, kDim);
    SearchOptions opts{.k = 10, .filter = &one_percent};
    auto r = idx->Search(query, opts);
    REQUIRE(r.ok());
    REQUIRE(r->hits.size() == 10);
    for (const auto& h : r->hits) CHECK(one_percent(h.node));
    auto exact = idx->SearchExact(query, opts);
    REQUIRE(exact.ok());
    std::set<NodeId> truth;
    for (const auto& h : exact->hits) truth.insert(h.node);
    for (const auto& h : r->hits) found += truth.count(h.node);
    total += truth.size();
  }
  double recall = static_cast<double>(found) / total;
  MESSAGE("filtered (1%) recall@10 = " << recall);
  CHECK(recall >= 0.9);
}

TEST_CASE("filtered search with only three eligible vectors is exhaustive and returns them") {
  constexpr uint32_t kDim = 8;
  constexpr size_t kN = 20000;
  auto idx = Make(kDim, Metric::kL2);
  auto data = Clustered(kN, kDim, 13);
  REQUIRE(idx->UpsertBatch(Iota(kN), data, 2).ok());
  std::function<bool(NodeId)> three = [](NodeId n) { return n == 5 || n == 9000 || n == 19999; };
  SearchOptions opts{.k = 10, .filter = &three};
  auto r = idx->Search(std::span<const float>(data.data() + 5 * kDim, kDim), opts);
  REQUIRE(r.ok());
  CHECK(r->exhaustive);
  REQUIRE(r->hits.size() == 3);
  std::set<NodeId> got;
  for (const auto& h : r->hits) got.insert(h.node);
  CHECK(got == std::set<NodeId>{5, 9000, 19999});
  CHECK(r->hits[0].node == 5);  // the query is node 5's own vector
}

TEST_CASE("a high expected pass rate filters a wider unfiltered result and keeps the recall") {
  constexpr uint32_t kDim = 16;
  constexpr size_t kN = 20000;
  auto idx = Make(kDim, Metric::kCosine);
  auto data = Clustered(kN, kDim, 17);
  REQUIRE(idx->UpsertBatch(Iota(kN), data, 2).ok());
  std::function<bool(NodeId)> most = [](NodeId n) { return n % 10 != 3; };  // passes 90%
  auto queries = Clustered(20, kDim, 21);
  size_t found_hint = 0, found_plain = 0, total = 0;
  for (size_t q = 0; q < 20; ++q) {
    std::span<const float> query(queries.data() + q * kDim, kDim);
    SearchOptions plain{.k = 50, .ef = 64, .filter = &most};
    SearchOptions hinted = plain;
    hinted.expected_pass_rate = 0.9;
    auto a = idx->Search(query, hinted);
    auto b = idx->Search(query, plain);
    auto exact = idx->SearchExact(query, plain);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    REQUIRE(exact.ok());
    CHECK(a->post_filtered);
    CHECK_FALSE(b->post_filtered);
    REQUIRE(a->hits.size() == 50);
    for (size_t i = 0; i < a->hits.size(); ++i) {
      CHECK(most(a->hits[i].node));
      if (i > 0) CHECK(a->hits[i - 1].distance <= a->hits[i].distance);
    }
    // The filter ran about once per returned hit, not once per admitted node.
    CHECK(a->filter_evaluations < b->filter_evaluations);
    CHECK(a->filter_passes == 50);
    std::set<NodeId> truth;
    for (const auto& h : exact->hits) truth.insert(h.node);
    for (const auto& h : a->hits) found_hint += truth.count(h.node);
    for (const auto& h : b->hits) found_plain += truth.count(h.node);
    total += truth.size();
  }
  double hint_recall = static_cast<double>(found_hint) / total;
  double plain_recall = static_cast<double>(found_plain) / total;
  MESSAGE("recall@50 hinted " << hint_recall << ", filtered walk " << plain_recall);
  CHECK(hint_recall >= 0.9);
}

TEST_CASE("a wrong pass-rate hint falls back to the filtered walk and still finds k eligible") {
  constexpr uint32_t kDim = 16;
  constexpr size_t kN = 20000;
  auto idx = Make(kDim, Metric::kCosine);
  auto data = Clustered(kN, kDim, 11);
  REQUIRE(idx->UpsertBatch(Iota(kN), data, 2).ok());
  std::function<bool(NodeId)> one_percent = [](NodeId n) { return n % 100 == 37; };
  SearchOptions opts{.k = 10, .filter = &one_percent};
  opts.expected_pass_rate = 0.95;  // stale: the filter keeps 1%
  auto queries = Clustered(5, kDim, 5);
  for (size_t q = 0; q < 5; ++q) {
    auto r = idx->Search(std::span<const float>(queries.data() + q * kDim, kDim), opts);
    REQUIRE(r.ok());
    CHECK_FALSE(r->post_filtered);
    REQUIRE(r->hits.size() == 10);
    for (const auto& h : r->hits) CHECK(one_percent(h.node));
    CHECK(r->filter_passes < r->filter_evaluations);
  }
}

TEST_CASE("search on an empty index and with k zero returns nothing") {
  auto idx = Make(4, Metric::kL2);
  auto r = idx->Search(std::vector<float>{1, 2, 3, 4}, SearchOptions{.k = 5});
  REQUIRE(r.ok());
  CHECK(r->hits.empty());
  REQUIRE(idx->Upsert(1, std::vector<float>{1, 2, 3, 4}).ok());
  r = idx->Search(std::vector<float>{1, 2, 3, 4}, SearchOptions{.k = 0});
  REQUIRE(r.ok());
  CHECK(r->hits.empty());
}

TEST_CASE("capacity grows past the initial size through single upserts") {
  auto idx = Make(4, Metric::kL2);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1, 1);
  for (NodeId i = 0; i < 3000; ++i) {
    std::vector<float> v{u(rng), u(rng), u(rng), u(rng)};
    REQUIRE(idx->Upsert(i, v).ok());
  }
  CHECK(idx->Size() == 3000);
  auto v = idx->Get(2999);
  REQUIRE(v.ok());
  auto r = idx->Search(*v, SearchOptions{.k = 1});
  REQUIRE(r.ok());
  CHECK(r->hits[0].node == 2999);
}

TEST_CASE("each node reads its own vector when node ids share id-memo slots, through growth") {
  // Node ids 4096 apart land in the same slot of the internal-id memo of a small index; reads in
  // turn make them evict each other. Growth re-sizes the memo; removal keeps the internal id.
  auto idx = Make(4, Metric::kL2);
  auto vec = [](NodeId n) {
    return std::vector<float>{static_cast<float>(n % 97), static_cast<float>(n / 4096), 1.0f,
                              static_cast<float>(n % 13)};
  };
  std::vector<NodeId> nodes;
  for (NodeId i = 0; i < 600; ++i) nodes.push_back(i * 4096 + (i % 7));
  auto check_all = [&](const std::vector<NodeId>& which) {
    for (int round = 0; round < 2; ++round) {
      idx->Prefetch(which);
      for (NodeId n : which) {
        auto got = idx->Get(n);
        REQUIRE(got.ok());
        CHECK(*got == vec(n));
      }
    }
  };
  for (size_t i = 0; i < 300; ++i) REQUIRE(idx->Upsert(nodes[i], vec(nodes[i])).ok());
  check_all({nodes.begin(), nodes.begin() + 300});
  for (size_t i = 300; i < nodes.size(); ++i) REQUIRE(idx->Upsert(nodes[i], vec(nodes[i])).ok());
  for (NodeId extra = 0; extra < 2000; ++extra) {  // grows the index (and the memo) past 1,024
    REQUIRE(idx->Upsert(3'000'000 + extra, vec(3'000'000 + extra)).ok());
  }
  check_all(nodes);
  REQUIRE(idx->Remove(nodes[5]).ok());
  CHECK_FALSE(idx->Get(nodes[5]).ok());
  CHECK_FALSE(idx->Get(nodes[5] + 1).ok());  // never inserted
  REQUIRE(idx->Upsert(nodes[5], vec(nodes[5])).ok());
  check_all(nodes);
}

TEST_CASE("searches run concurrently with upserts, removals and capacity growth") {
  constexpr uint32_t kDim = 8;
  auto idx = Make(kDim, Metric::kL2);
  auto data = Clustered(4000, kDim, 21);
  std::atomic<bool> stop{false};
  std::atomic<long> searches{0};
  std::atomic<long> bad{0};
  std::function<bool(NodeId)> even = [](NodeId n) { return n % 2 == 0; };
  auto reader = [&] {
    size_t q = 0;
    while (!stop.load()) {
      std::span<const float> query(data.data() + (q++ % 4000) * kDim, kDim);
      auto r = idx->Search(query, SearchOptions{.k = 5, .filter = &even});
      if (!r.ok()) {
        bad.fetch_add(1);
      } else {
        for (const auto& h : r->hits) {
          if (h.node % 2 != 0 || h.node >= 4000) bad.fetch_add(1);
        }
      }
      auto exact = idx->SearchExact(query, SearchOptions{.k = 3});
      if (!exact.ok()) bad.fetch_add(1);
      searches.fetch_add(1);
    }
  };
  std::thread r1(reader);
  std::thread r2(reader);
  for (NodeId n = 0; n < 4000; ++n) {
    REQUIRE(idx->Upsert(n, std::span<const float>(data.data() + n * kDim, kDim)).ok());
    if (n % 10 == 9) REQUIRE(idx->Remove(n - 5).ok());
  }
  stop = true;
  r1.join();
  r2.join();
  CHECK(bad.load() == 0);
  CHECK(searches.load() > 0);
  CHECK(idx->Size() == 3600);
}

// Searches copy neighbour lists without their locks while no write is in flight and check
// afterwards that none began (CopyLinks); replacements rewrite lists under way, with and
// without hnswlib's neighbour repair, so both the checked copies and the locked ones run here.
TEST_CASE("searches run concurrently with replacements that rewrite the lists they read") {
  constexpr uint32_t kDim = 8;
#ifdef PATHWISE_TSAN
  // ThreadSanitizer's lock-order graph over hnswlib's per-point locks makes every lock ~100x
  // slower: a smaller run (the unlocked reads are exercised by the other builds).
  constexpr NodeId kPoints = 300;
  constexpr int kRounds = 100;
#else
  constexpr NodeId kPoints = 1000;
  constexpr int kRounds = 2000;
#endif
  auto idx = Make(kDim, Metric::kL2);
  auto data = Clustered(kPoints, kDim, 23);
  std::vector<NodeId> nodes(kPoints);
  for (NodeId n = 0; n < kPoints; ++n) nodes[n] = n;
  REQUIRE(idx->UpsertBatch(nodes, data, 1).ok());
  std::atomic<bool> stop{false};
  std::atomic<long> searches{0};
  std::atomic<long> bad{0};
  auto reader = [&](size_t offset) {
    size_t q = offset;
    while (!stop.load()) {
      std::span<const float> query(data.data() + (q++ % kPoints) * kDim, kDim);
      auto r = idx->Search(query, SearchOptions{.k = 10});
      if (!r.ok() || r->hits.size() != 10) {
        bad.fetch_add(1);
      } else {
        for (const auto& h : r->hits) bad.fetch_add(h.node >= kPoints ? 1 : 0);
      }
      searches.fetch_add(1);
    }
  };
  std::thread r1(reader, 0);
  std::thread r2(reader, kPoints / 2);
  std::mt19937 rng(5);
  for (int round = 0; round < kRounds; ++round) {
    idx->SetReplaceRepairShare(round % 2 == 0 ? 0.0f : 1.0f);
    NodeId n = rng() % kPoints;
    NodeId far = rng() % kPoints;  // takes another point's place (and its cluster)
    REQUIRE(idx->Upsert(n, std::span<const float>(data.data() + far * kDim, kDim)).ok());
  }
  stop = true;
  r1.join();
  r2.join();
  CHECK(bad.load() == 0);
  CHECK(searches.load() > 0);
  CHECK(idx->Size() == kPoints);
}

TEST_CASE("the raw hnswlib floor finds what an exact scan finds and rejects bad rows") {
  const uint32_t dim = 16;
  const size_t n = 2000;
  std::vector<float> rows = Clustered(n, dim, 11);
  auto floor = vector::RawHnswFloor::Build(Def(dim, Metric::kCosine), rows, 2);
  REQUIRE_MESSAGE(floor.ok(), floor.status().ToString());
  CHECK((*floor)->build_seconds() > 0);
  auto exact = Make(dim, Metric::kCosine);
  std::vector<NodeId> nodes(n);
  for (size_t i = 0; i < n; ++i) nodes[i] = static_cast<NodeId>(i);
  REQUIRE(exact->UpsertBatch(nodes, rows, 2).ok());
  size_t found = 0, expected = 0;
  for (size_t q = 0; q < n; q += 97) {
    std::span<const float> query(rows.data() + q * dim, dim);
    std::vector<size_t> got = (*floor)->Search(query, 10, 64);
    CHECK(got.size() == 10);
    SearchOptions options;
    options.k = 10;
    auto truth = exact->SearchExact(query, options);
    REQUIRE(truth.ok());
    std::set<size_t> want;
    for (const auto& hit : truth->hits) want.insert(hit.node);
    for (size_t row : got) found += want.count(row);
    expected += want.size();
  }
  CHECK(static_cast<double>(found) / static_cast<double>(expected) > 0.95);
  std::vector<float> ragged(dim + 1, 1.0f);
  CHECK(vector::RawHnswFloor::Build(Def(dim, Metric::kCosine), ragged, 1).status().code() ==
        Status::Code::kInvalidArgument);
  std::vector<float> zero(dim, 0.0f);  // a zero vector has no cosine direction
  CHECK(vector::RawHnswFloor::Build(Def(dim, Metric::kCosine), zero, 1).status().code() ==
        Status::Code::kInvalidArgument);
}

TEST_CASE("a batch counts as live only the points that were not live before it") {
  constexpr uint32_t kDim = 8;
  auto idx = Make(kDim, Metric::kL2);
  auto data = Clustered(300, kDim, 5);
  std::vector<NodeId> first = Iota(200);
  REQUIRE(idx->UpsertBatch(first, std::span<const float>(data.data(), 200 * kDim), 2).ok());
  CHECK(idx->Size() == 200);
  REQUIRE(idx->Remove(10).ok());
  REQUIRE(idx->Remove(11).ok());
  CHECK(idx->Size() == 198);
  // 100 updates of live points (100..199), 2 re-inserts of removed points (10, 11), 100 new
  // points (200..299), and a node given twice (the last occurrence wins, counted once).
  std::vector<NodeId> second;
  std::vector<float> values;
  auto add = [&](NodeId node, size_t row) {
    second.push_back(node);
    values.insert(values.end(), data.begin() + row * kDim, data.begin() + (row + 1) * kDim);
  };
  for (NodeId n = 100; n < 300; ++n) add(n, n);
  add(10, 0);
  add(11, 1);
  add(250, 5);
  REQUIRE(idx->UpsertBatch(second, values, 2).ok());
  CHECK(idx->Size() == 300);
  CHECK(idx->Contains(10));
  auto v = idx->Get(250);
  REQUIRE(v.ok());
  CHECK((*v)[0] == doctest::Approx(data[5 * kDim]));
}
