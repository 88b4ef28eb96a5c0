// Internal to vector/: the state behind VectorIndex (hnswlib stays inside vector/).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>

#include "vector/snapshot_format.h"
#include "vector/vector.h"

// hnswlib 0.6.2 defines non-inline functions in its headers, so exactly one translation unit
// (hnsw_index.cc) may include it; everything else sees these declarations only.
namespace hnswlib {
template <typename T>
class HierarchicalNSW;
template <typename T>
class SpaceInterface;
}  // namespace hnswlib

namespace pathwise::vector {

struct VectorIndex::Impl {
  Impl();
  ~Impl();
  VectorSpaceDef def;
  std::unique_ptr<hnswlib::SpaceInterface<float>> space;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> hnsw;
  // Shared by every search and insert; exclusive only while the capacity grows (resizeIndex
  // reallocates hnswlib's arrays) — rare, since capacity doubles. Take it through ReadGuard only.
  mutable std::shared_mutex resize_mu;
  std::atomic<bool> resize_pending{false};

  // resize_mu in shared mode for the calling thread, re-entrantly: when this thread already
  // holds this index's read side (a search's filter calling SimilarityTo/Get/Contains/Search on
  // the index it is filtering), the nested guard takes nothing, since the outer guard already
  // keeps hnswlib's arrays in place. A nested read therefore never waits behind a pending resize
  // that is itself waiting for the outer read to end (the deadlock this replaces). A first
  // (outermost) read lets a pending resize go first.
  class ReadGuard {
   public:
    explicit ReadGuard(const Impl& impl);
    ~ReadGuard();
    ReadGuard(const ReadGuard&) = delete;
    ReadGuard& operator=(const ReadGuard&) = delete;

   private:
    const Impl* owner_ = nullptr;  // null for a nested guard
  };
  ReadGuard ReadLock() const { return ReadGuard(*this); }
  // True while the calling thread holds this index's read side (a ReadGuard is alive).
  bool ReadHeldByThisThread() const;

  std::atomic<size_t> live{0};
  // Internal ids below this are fully written; exact scans and searches stop here so they never
  // read a point an in-flight insert is still initialising.
  std::atomic<size_t> published{0};
  // Content changed since the last snapshot.
  std::atomic<bool> dirty{false};

  // Creates an empty index (capacity grows on demand). Throws hnswlib's exceptions.
  void InitEmpty(size_t capacity);
  // Loads a snapshot for def (format and checks: snapshot_format.h); *crc (if not null) gets
  // the body's checksum. Corruption on any damage; ResourceExhausted when memory runs out.
  static Result<std::unique_ptr<Impl>> Load(const VectorSpaceDef& def, SnapshotSource* source,
                                            uint32_t* crc);
  // Internal id of a label, or -1 if the label was never inserted.
  // REQUIRES: resize_mu held (either mode).
  int64_t InternalId(NodeId node) const;
  // The stored (for cosine: normalised) vector of a live point, or nullptr when the node has none
  // or it was removed. REQUIRES: resize_mu held (either mode) for as long as the data is read.
  const float* LiveData(NodeId node) const;
  // Grows capacity so `extra` more points fit. Takes resize_mu exclusively when it must grow;
  // FailedPrecondition (instead of a self-deadlock) if this thread holds the read side, e.g. an
  // Upsert from inside a search's filter on the same index. ResourceExhausted when memory or
  // the id space (2^32 points) runs out.
  Status EnsureCapacity(size_t extra);
  // ValidateVector(def, values), then copies into out, normalised for cosine (in double).
  Status Prepare(std::span<const float> values, float* out) const;
  // Writes the snapshot (body and footer) into sink; *crc gets the body's checksum, *points
  // the number of points (live and deleted) written. REQUIRES: no concurrent writes.
  Status WriteSnapshotTo(SnapshotSink* sink, uint32_t* crc, size_t* points) const;
  // Points ever inserted (live and deleted); a loaded snapshot is checked against its meta.
  size_t Points() const;
  // Counts live (not deleted) points; O(points).
  size_t CountLive() const;
};

struct IndexInternals {
  using Impl = VectorIndex::Impl;
  // A VectorIndex around a loaded or built Impl.
  static std::unique_ptr<VectorIndex> Wrap(std::unique_ptr<Impl> impl) {
    std::unique_ptr<VectorIndex> index(new VectorIndex());
    index->impl_ = std::move(impl);
    return index;
  }
};
using IndexImpl = IndexInternals::Impl;

// Saves an index's snapshot (<dir>/<space>.hnsw + .meta) atomically (temp file, fsync, rename).
// REQUIRES: no concurrent writes to the index.
Status WriteSnapshot(const IndexImpl& impl, const std::string& dir, uint64_t sequence);

}  // namespace pathwise::vector
