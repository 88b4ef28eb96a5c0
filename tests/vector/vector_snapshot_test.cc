// VectorIndex snapshots: round trip, checksum, and the bounds checks behind it.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "vector/vector.h"

using namespace pathwise;
using vector::SearchOptions;
using vector::VectorIndex;

namespace {

// Offsets in a snapshot of Def() (dim 4, m 4): hnswlib's header, then per point a level-0
// record of 4 + 4 * 8 link bytes, 4 floats and the u64 label, then the upper layers.
constexpr size_t kHeader = 96;
constexpr size_t kLinks0 = 4 + 4 * 8;
constexpr size_t kPoint = kLinks0 + 16 + 8;
constexpr size_t kUpperLevel = 4 + 4 * 4;
constexpr size_t kCountAt = 16, kMaxLevelAt = 48, kEntryAt = 52;

VectorSpaceDef Def() {
  VectorSpaceDef def;
  def.node_type = "Item";
  def.name = "embedding";
  def.dim = 4;
  def.metric = Metric::kCosine;
  def.m = 4;
  def.ef_construction = 32;
  return def;
}

std::vector<float> RandomVector(std::mt19937* rng) {
  std::normal_distribution<float> g(0, 1);
  std::vector<float> v(4);
  for (float& x : v) x = g(*rng);
  return v;
}

std::unique_ptr<VectorIndex> Build(size_t n, uint32_t seed) {
  auto idx = VectorIndex::Create(Def());
  REQUIRE(idx.ok());
  std::mt19937 rng(seed);
  for (NodeId i = 0; i < n; ++i) REQUIRE((*idx)->Upsert(i * 3 + 1, RandomVector(&rng)).ok());
  for (NodeId i = 0; i < n; i += 17) REQUIRE((*idx)->Remove(i * 3 + 1).ok());
  return std::move(idx).value();
}

std::vector<NodeId> Answer(const VectorIndex& idx, const std::vector<float>& q) {
  auto r = idx.Search(q, SearchOptions{.k = 10});
  REQUIRE(r.ok());
  std::vector<NodeId> out;
  for (const auto& h : r->hits) out.push_back(h.node);
  return out;
}

template <typename T>
T Pod(const std::string& s, size_t at) {
  T v;
  std::memcpy(&v, s.data() + at, sizeof(T));
  return v;
}

template <typename T>
void SetPod(std::string* s, size_t at, T v) {
  std::memcpy(s->data() + at, &v, sizeof(T));
}

std::string Body(const std::string& snapshot) {
  return snapshot.substr(0, snapshot.size() - VectorIndex::kSnapshotFooterBytes);
}

// Per point: its level and the offset of its upper-layer links in the body.
struct Layout {
  uint64_t count;
  std::vector<int> levels;
  std::vector<size_t> upper_at;
};

Layout Parse(const std::string& body) {
  Layout l;
  l.count = Pod<uint64_t>(body, kCountAt);
  size_t at = kHeader + l.count * kPoint;
  for (uint64_t i = 0; i < l.count; ++i) {
    uint32_t bytes = Pod<uint32_t>(body, at);
    l.levels.push_back(static_cast<int>(bytes / kUpperLevel));
    l.upper_at.push_back(at + 4);
    at += 4 + bytes;
  }
  REQUIRE(at == body.size());
  return l;
}

void CheckCorruption(const std::string& bytes, const std::string& reason) {
  INFO("expected reason: " << reason);
  auto r = VectorIndex::LoadSnapshotBytes(Def(), bytes);
  REQUIRE_FALSE(r.ok());
  INFO("message: " << r.status().message());
  CHECK(r.status().code() == Status::Code::kCorruption);
  CHECK(r.status().message().find(reason) != std::string::npos);
}

}  // namespace

TEST_CASE("a snapshot round trip answers the same queries and the loaded index keeps growing") {
  auto idx = Build(300, 1);
  auto bytes = idx->SnapshotBytes();
  REQUIRE(bytes.ok());
  auto loaded = VectorIndex::LoadSnapshotBytes(Def(), *bytes);
  REQUIRE(loaded.ok());
  CHECK((*loaded)->Size() == idx->Size());
  CHECK_FALSE((*loaded)->Contains(1));  // removed before the snapshot
  std::mt19937 rng(2);
  for (int q = 0; q < 20; ++q) {
    auto query = RandomVector(&rng);
    CHECK(Answer(**loaded, query) == Answer(*idx, query));
  }
  // Saving the loaded index gives the same bytes.
  auto again = (*loaded)->SnapshotBytes();
  REQUIRE(again.ok());
  CHECK(*again == *bytes);
  // Inserts after a load go through capacity growth.
  for (NodeId n = 10000; n < 11500; ++n) REQUIRE((*loaded)->Upsert(n, RandomVector(&rng)).ok());
  auto probe = RandomVector(&rng);
  REQUIRE((*loaded)->Upsert(20000, probe).ok());
  CHECK(Answer(**loaded, probe).front() == 20000);
}

TEST_CASE("an empty index's snapshot loads as an empty index") {
  auto idx = Build(0, 1);
  auto bytes = idx->SnapshotBytes();
  REQUIRE(bytes.ok());
  auto loaded = VectorIndex::LoadSnapshotBytes(Def(), *bytes);
  REQUIRE(loaded.ok());
  CHECK((*loaded)->Size() == 0);
  std::mt19937 rng(3);
  REQUIRE((*loaded)->Upsert(7, RandomVector(&rng)).ok());
  CHECK((*loaded)->Contains(7));
}

TEST_CASE("every flipped byte, truncation and appended byte of a snapshot is Corruption") {
  auto idx = Build(120, 4);
  auto bytes = idx->SnapshotBytes();
  REQUIRE(bytes.ok());
  const std::string& good = *bytes;
  size_t not_corruption = 0;
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ (1 << (i % 8)));
    auto r = VectorIndex::LoadSnapshotBytes(Def(), bad);
    if (r.ok() || r.status().code() != Status::Code::kCorruption) ++not_corruption;
  }
  for (size_t len = 0; len < good.size(); ++len) {
    auto r = VectorIndex::LoadSnapshotBytes(Def(), std::string_view(good).substr(0, len));
    if (r.ok() || r.status().code() != Status::Code::kCorruption) ++not_corruption;
  }
  CHECK(not_corruption == 0);
  CheckCorruption(good + "x", "no snapshot footer");
  std::string flipped = good;
  flipped[kHeader + 5] ^= 1;
  CheckCorruption(flipped, "checksum mismatch");
  std::string old_version = good;
  SetPod<uint32_t>(&old_version, good.size() - 16, 1);
  CheckCorruption(old_version, "format version 1");
}

TEST_CASE("a snapshot of another definition is Corruption") {
  auto bytes = Build(50, 5)->SnapshotBytes();
  REQUIRE(bytes.ok());
  VectorSpaceDef wider = Def();
  wider.dim = 8;
  CHECK(VectorIndex::LoadSnapshotBytes(wider, *bytes).status().code() ==
        Status::Code::kCorruption);
  VectorSpaceDef denser = Def();
  denser.m = 8;
  CHECK(VectorIndex::LoadSnapshotBytes(denser, *bytes).status().code() ==
        Status::Code::kCorruption);
  VectorSpaceDef broken = Def();
  broken.dim = 0;
  CHECK(VectorIndex::LoadSnapshotBytes(broken, *bytes).status().code() ==
        Status::Code::kInvalidArgument);
}

TEST_CASE("structural damage behind a valid checksum is Corruption, never an out-of-bounds read") {
  auto bytes = Build(200, 6)->SnapshotBytes();
  REQUIRE(bytes.ok());
  const std::string body = Body(*bytes);
  const Layout layout = Parse(body);
  REQUIRE(layout.count == 200);
  auto point = [](size_t i) { return kHeader + i * kPoint; };
  // Control: the re-framed body itself loads.
  REQUIRE(VectorIndex::LoadSnapshotBytes(Def(), VectorIndex::FrameSnapshotBody(body)).ok());
  auto damaged = [&](auto&& edit, const std::string& reason) {
    std::string b = body;
    edit(&b);
    CheckCorruption(VectorIndex::FrameSnapshotBody(b), reason);
  };

  REQUIRE(Pod<uint16_t>(body, point(0)) >= 1);
  damaged([&](std::string* b) { SetPod<uint32_t>(b, point(0) + 4, 200); }, "beyond the 200 points");
  damaged([&](std::string* b) { SetPod<uint32_t>(b, point(0) + 4, 0xffffffffu); }, "beyond");
  damaged([&](std::string* b) { SetPod<uint16_t>(b, point(0), 9); }, "more than 8");
  damaged([&](std::string* b) { (*b)[point(3) + 3] = 0x40; }, "unknown flags");
  damaged([&](std::string* b) { SetPod<float>(b, point(2) + kLinks0, NAN); }, "non-finite");
  damaged([&](std::string* b) { SetPod<uint64_t>(b, point(5) + kLinks0 + 16, Pod<uint64_t>(body, point(4) + kLinks0 + 16)); },
          "appears twice");
  damaged([&](std::string* b) { SetPod<uint64_t>(b, point(6) + kLinks0 + 16, uint64_t{1} << 32); },
          "out of range");
  damaged([&](std::string* b) { SetPod<uint64_t>(b, kCountAt, 201); }, "");
  damaged([&](std::string* b) { SetPod<uint64_t>(b, kCountAt, uint64_t{1} << 40); }, "do not fit");
  damaged([&](std::string* b) { SetPod<uint32_t>(b, kEntryAt, 200); }, "entry point");
  damaged([&](std::string* b) { SetPod<int32_t>(b, kMaxLevelAt, Pod<int32_t>(body, kMaxLevelAt) + 1); },
          "not the top level");
  damaged([&](std::string* b) { SetPod<uint64_t>(b, 8, 10); }, "capacity 10 below");
  damaged([&](std::string* b) { SetPod<uint64_t>(b, 24, 7); }, "point layout");
  damaged([&](std::string* b) { b->append("\0\0\0\0", 4); }, "trailing bytes");

  // Upper layers: a link to a point that does not reach that level, and too many links.
  size_t upper = 0, bottom = 0;
  while (upper < layout.count && layout.levels[upper] == 0) ++upper;
  while (bottom < layout.count && layout.levels[bottom] != 0) ++bottom;
  REQUIRE(upper < layout.count);
  REQUIRE(bottom < layout.count);
  const size_t list = layout.upper_at[upper];
  REQUIRE(Pod<uint16_t>(body, list) >= 1);
  damaged([&](std::string* b) { SetPod<uint32_t>(b, list + 4, static_cast<uint32_t>(bottom)); },
          "which that point lacks");
  damaged([&](std::string* b) { SetPod<uint16_t>(b, list, 5); }, "more than 4");
  damaged([&](std::string* b) { SetPod<uint32_t>(b, layout.upper_at[upper] - 4, 7); },
          "upper-layer size 7");
}

TEST_CASE("a snapshot file loads like its bytes, and a missing one is NotFound") {
  auto idx = Build(100, 8);
  auto bytes = idx->SnapshotBytes();
  REQUIRE(bytes.ok());
  auto path = std::filesystem::temp_directory_path() /
              ("pw_snap_" + std::to_string(::getpid()) + ".hnsw");
  {
    std::ofstream out(path, std::ios::binary);
    out << *bytes;
  }
  auto loaded = VectorIndex::LoadSnapshotFile(Def(), path.string());
  REQUIRE(loaded.ok());
  CHECK((*loaded)->Size() == idx->Size());
  std::filesystem::resize_file(path, bytes->size() - 1);
  CHECK(VectorIndex::LoadSnapshotFile(Def(), path.string()).status().code() ==
        Status::Code::kCorruption);
  std::filesystem::remove(path);
  CHECK(VectorIndex::LoadSnapshotFile(Def(), path.string()).status().code() ==
        Status::Code::kNotFound);
}

TEST_CASE("the snapshot footer carries the body's CRC32C (Castagnoli)") {
  std::string framed = VectorIndex::FrameSnapshotBody("123456789");
  REQUIRE(framed.size() == 9 + VectorIndex::kSnapshotFooterBytes);
  CHECK(framed.compare(9, 8, std::string("PWVSNAP\0", 8)) == 0);
  CHECK(Pod<uint32_t>(framed, 9 + 8) == 2);            // format version
  CHECK(Pod<uint32_t>(framed, 9 + 12) == 0xE3069283u);  // the standard CRC32C check value
  CHECK(Pod<uint64_t>(framed, 9 + 16) == 9);           // body length
  // Long enough for the 8-byte steps, with a tail.
  std::string body(1000, 'a');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>(i * 7);
  uint32_t whole = Pod<uint32_t>(VectorIndex::FrameSnapshotBody(body), body.size() + 12);
  uint32_t reference = 0xffffffff;
  for (unsigned char c : body) {
    reference ^= c;
    for (int k = 0; k < 8; ++k) reference = (reference & 1) ? (reference >> 1) ^ 0x82f63b78 : reference >> 1;
  }
  CHECK(whole == ~reference);
}
