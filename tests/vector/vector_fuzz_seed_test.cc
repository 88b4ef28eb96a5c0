// The seed corpus of fuzz/vector_snapshot_fuzz.cc: small real snapshots, in the target's input
// format (byte 0: space << 1 | mode; mode 0 = whole file, 1 = body to be framed).
//
// PATHWISE_WRITE_FUZZ_SEEDS=1 build/tests/test_vector -tc='*fuzz seed*' rewrites them; the test
// always checks that the committed seeds decode and load, so they follow format changes.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "vector/vector.h"

using namespace pathwise;
using vector::VectorIndex;

namespace {

// Identical to kSpaces in fuzz/vector_snapshot_fuzz.cc.
VectorSpaceDef Space(uint32_t dim, Metric metric, uint32_t m, uint32_t ef_construction) {
  VectorSpaceDef def;
  def.node_type = "Item";
  def.name = "embedding";
  def.dim = dim;
  def.metric = metric;
  def.m = m;
  def.ef_construction = ef_construction;
  def.ef_search = 16;
  return def;
}

const std::vector<VectorSpaceDef>& Spaces() {
  static const std::vector<VectorSpaceDef> spaces = {
      Space(4, Metric::kCosine, 4, 16), Space(8, Metric::kL2, 8, 32),
      Space(3, Metric::kInnerProduct, 2, 8), Space(4, Metric::kCosine, 4, 16)};
  return spaces;
}

const std::filesystem::path kSeedDir =
    std::filesystem::path(PATHWISE_SOURCE_DIR) / "fuzz" / "corpus" / "vector_snapshot";

std::string Snapshot(const VectorSpaceDef& def, size_t points, uint32_t seed) {
  auto idx = VectorIndex::Create(def);
  REQUIRE(idx.ok());
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0, 1);
  for (NodeId n = 0; n < points; ++n) {
    std::vector<float> v(def.dim);
    for (float& x : v) x = g(rng);
    REQUIRE((*idx)->Upsert(n * 5 + 2, v).ok());
  }
  if (points > 3) REQUIRE((*idx)->Remove(7).ok());  // a deleted point
  auto bytes = (*idx)->SnapshotBytes();
  REQUIRE(bytes.ok());
  return *bytes;
}

void WriteSeeds() {
  std::filesystem::create_directories(kSeedDir);
  for (size_t s = 0; s < 3; ++s) {
    for (size_t points : {0, 1, 40}) {
      std::string file = Snapshot(Spaces()[s], points, static_cast<uint32_t>(s * 100 + points));
      std::string body = file.substr(0, file.size() - VectorIndex::kSnapshotFooterBytes);
      std::string stem = "space" + std::to_string(s) + "_points" + std::to_string(points);
      std::ofstream(kSeedDir / (stem + "_file"), std::ios::binary)
          << static_cast<char>(s << 1) << file;
      std::ofstream(kSeedDir / (stem + "_body"), std::ios::binary)
          << static_cast<char>(s << 1 | 1) << body;
    }
  }
}

}  // namespace

TEST_CASE("the committed fuzz seed snapshots decode and load in the current format") {
  if (std::getenv("PATHWISE_WRITE_FUZZ_SEEDS") != nullptr) WriteSeeds();
  REQUIRE(std::filesystem::is_directory(kSeedDir));
  size_t seeds = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kSeedDir)) {
    INFO(entry.path().string());
    std::ifstream in(entry.path(), std::ios::binary);
    std::string input((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    REQUIRE(input.size() >= 1);
    const auto selector = static_cast<unsigned char>(input[0]);
    const VectorSpaceDef& def = Spaces()[(selector >> 1) & 3];
    std::string bytes = input.substr(1);
    if ((selector & 1) != 0) bytes = VectorIndex::FrameSnapshotBody(bytes);
    auto loaded = VectorIndex::LoadSnapshotBytes(def, bytes);
    CHECK(loaded.ok());
    ++seeds;
  }
  CHECK(seeds >= 12);
}
