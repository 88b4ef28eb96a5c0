// libFuzzer target: the vector snapshot reader, VectorIndex::LoadSnapshotBytes.
//
// Input: byte 0 chooses the vector space (bits 1-2, one of kSpaces below) and the mode (bit 0):
//   0: the remaining bytes are a whole snapshot file, footer and checksum included;
//   1: they are a snapshot body, framed here with a matching footer
//      (VectorIndex::FrameSnapshotBody) so that mutations reach the structural checks that sit
//      behind the checksum.
// Seeds: fuzz/corpus/vector_snapshot/ (written by tests/vector/vector_fuzz_seed_test.cc, which
// also checks that they still load; keep kSpaces identical there).
//
// Properties checked (a violation traps, which libFuzzer reports as a crash):
//   - a rejected input is Corruption (or ResourceExhausted), never another error;
//   - an accepted input is a usable index: searches (with a filter that reads the same index),
//     inserts, an update, a removal and a re-save all succeed, and the re-saved bytes load.
// Out-of-bounds reads are caught by the sanitizers the target is built with.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "vector/vector.h"

namespace {

using pathwise::Metric;
using pathwise::NodeId;
using pathwise::Status;
using pathwise::VectorSpaceDef;
using pathwise::vector::SearchOptions;
using pathwise::vector::VectorIndex;

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

void Require(bool ok) {
  if (!ok) __builtin_trap();
}

// A failed write is acceptable only when memory ran out.
void RequireWritten(const Status& s) {
  Require(s.ok() || s.code() == Status::Code::kResourceExhausted);
}

std::vector<float> Vector(uint32_t dim, float seed) {
  std::vector<float> v(dim);
  for (uint32_t i = 0; i < dim; ++i) v[i] = seed + static_cast<float>(i % 3) - 0.5f * i;
  return v;
}

void Exercise(VectorIndex* index) {
  const VectorSpaceDef& def = index->def();
  const std::vector<float> q = Vector(def.dim, 1.25f);
  // The filter reads the index being searched, as NEAREST ... WHERE similarity(...) does.
  std::function<bool(NodeId)> filter = [&](NodeId node) {
    auto s = index->SimilarityTo(node, q);
    return s.ok() && index->Contains(node);
  };
  auto hits = index->Search(q, SearchOptions{.k = 5, .filter = &filter});
  Require(hits.ok());
  Require(index->SearchExact(q, SearchOptions{.k = 3}).ok());
  Require(index->SearchRaw(q, 3, 8).ok());
  NodeId existing = hits->hits.empty() ? 0 : hits->hits.front().node;
  for (int i = 0; i < 3; ++i) {
    RequireWritten(index->Upsert(NodeId{0xfffffff0} + i, Vector(def.dim, 0.5f + i)));
  }
  if (!hits->hits.empty()) {
    RequireWritten(index->Upsert(existing, Vector(def.dim, -2.0f)));  // hnswlib's update path
    Require(index->Remove(existing).ok());
  }
  Require(index->Search(q, SearchOptions{.k = 4}).ok());
  auto saved = index->SnapshotBytes();
  if (!saved.ok()) {
    Require(saved.status().code() == Status::Code::kResourceExhausted);
    return;
  }
  auto reloaded = VectorIndex::LoadSnapshotBytes(def, *saved);
  Require(reloaded.ok() || reloaded.status().code() == Status::Code::kResourceExhausted);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const VectorSpaceDef& def = Spaces()[(data[0] >> 1) & 3];
  std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string framed;
  if ((data[0] & 1) != 0) {
    framed = VectorIndex::FrameSnapshotBody(bytes);
    bytes = framed;
  }
  auto loaded = VectorIndex::LoadSnapshotBytes(def, bytes);
  if (!loaded.ok()) {
    Require(loaded.status().code() == Status::Code::kCorruption ||
            loaded.status().code() == Status::Code::kResourceExhausted);
    return 0;
  }
  Exercise(loaded->get());
  return 0;
}
