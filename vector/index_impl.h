// Internal to vector/: the state behind VectorIndex (hnswlib stays inside vector/).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

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

// A flat space's vectors (VectorSpaceDef::index == kFlat; flat_index.cc): rows of dim floats in
// one array, the node of each row and the row of each node. Removing a row moves the last row
// into its place, so rows stay dense and every operation but a scan is O(dim). Read under
// Impl's read side, written under its write side (Impl::LockExclusive).
struct FlatRows {
  explicit FlatRows(size_t dim) : dim(dim) {}
  size_t dim;
  std::vector<float> values;  // rows x dim, row-major; stored vectors (normalised for cosine)
  std::vector<NodeId> nodes;  // per row
  std::unordered_map<NodeId, uint32_t> row_of;

  // The stored vector of node, or nullptr.
  const float* Find(NodeId node) const;
  // Inserts or replaces node's vector with dim floats (already prepared). True if it is new.
  // Throws std::bad_alloc when memory runs out (the rows are unchanged then).
  bool Put(NodeId node, const float* prepared);
  // False if node has no vector.
  bool Erase(NodeId node);
  size_t Rows() const { return nodes.size(); }
  size_t MemoryBytes() const;
};

// A direct-mapped memo of VectorIndex::Impl::InternalId (node -> hnswlib internal id), one
// 8-byte slot per entry, the node in its high half. hnswlib never changes a label's internal id
// (markDelete keeps it, nothing removes it), so an entry stays true for the life of the index
// it was filled from: the memo is emptied whenever `hnsw` is made (InitEmpty, Load) or its
// capacity grows. Slots are atomics, so readers fill them under resize_mu held shared.
class IdMemo {
 public:
  // Empties the memo and sizes it to the power of two at or above capacity (at most 2^22
  // slots: nodes past that share slots, and a lookup that misses reads the hash map).
  void Reset(size_t capacity);
  // The internal id remembered for node, or -1.
  int64_t Find(NodeId node) const {
    if (slots_ == nullptr || node == kInvalidNode) return -1;
    uint64_t e = slots_[node & mask_].load(std::memory_order_relaxed);
    return (e >> 32) == node ? static_cast<int64_t>(e & 0xffffffffu) : -1;
  }
  void Remember(NodeId node, uint32_t internal) const {
    if (slots_ == nullptr || node == kInvalidNode) return;
    slots_[node & mask_].store(uint64_t{node} << 32 | internal, std::memory_order_relaxed);
  }
  size_t MemoryBytes() const { return slots_ == nullptr ? 0 : (mask_ + 1) * sizeof(uint64_t); }

 private:
  std::unique_ptr<std::atomic<uint64_t>[]> slots_;  // empty slot: node kInvalidNode
  size_t mask_ = 0;
};

struct VectorIndex::Impl {
  Impl();
  ~Impl();
  VectorSpaceDef def;
  // An HNSW space has space and hnsw; a flat space has flat alone.
  std::unique_ptr<hnswlib::SpaceInterface<float>> space;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> hnsw;
  std::unique_ptr<FlatRows> flat;
  // HNSW: shared by every search and insert; exclusive only while the capacity grows
  // (resizeIndex reallocates hnswlib's arrays) — rare, since capacity doubles. Flat: shared by
  // reads, exclusive for every write. Read through ReadGuard, write through LockExclusive.
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

  // InternalId's memo (HNSW only; null for the raw floor's index, which does not use it).
  IdMemo ids;

  std::atomic<size_t> live{0};
  // Internal ids below this are fully written; exact scans and searches stop here so they never
  // read a point an in-flight insert is still initialising.
  std::atomic<size_t> published{0};
  // Content changed since the last snapshot.
  std::atomic<bool> dirty{false};
  // VectorIndex::SetReplaceRepairShare's share.
  std::atomic<float> replace_repair_share{kDefaultReplaceRepairShare};

  // Held shared by every write (Upsert, UpsertBatch, Remove: WriteScope), exclusively by a
  // snapshot from its begin until its file is written (VectorSnapshot). Searches never take it.
  std::shared_mutex write_mu;
  // Writes in flight (low 32 bits) and writes finished (high 32 bits, wrapping), changed only by
  // WriteScope. A search copies a point's neighbour list without the point's lock while no write
  // is in flight, and keeps the copy only if this word did not change meanwhile (a sequence
  // lock over every list at once: CopyLinks in hnsw_index.cc). Writes are rare beside searches
  // except during loads, when searches take the locks as before.
  std::atomic<uint64_t> link_writes{0};
  static constexpr uint64_t kLinkWriteInFlight = 1;
  static constexpr uint64_t kLinkWriteDone = (uint64_t{1} << 32) - 1;  // -1 in flight, +1 done
  static constexpr uint64_t kLinkWritesInFlightMask = 0xffffffffu;     // the low 32 bits
  // Nodes written since a snapshot of this index began, recorded while `recording` is set (from
  // BeginSnapshot to the snapshot's end): their dirty marks must outlive the snapshot.
  std::atomic<bool> recording{false};
  std::mutex touched_mu;
  std::vector<NodeId> touched;  // guarded by touched_mu
  // The write side for nodes, for the scope's life: holds write_mu shared, records the nodes if
  // recording, and counts itself in link_writes (in flight until destroyed).
  class WriteScope {
   public:
    WriteScope(Impl& impl, std::span<const NodeId> nodes);
    ~WriteScope();
    WriteScope(const WriteScope&) = delete;
    WriteScope& operator=(const WriteScope&) = delete;

   private:
    Impl& impl_;
    std::shared_lock<std::shared_mutex> lock_;
  };
  // Ends recording; returns the recorded nodes sorted, without duplicates.
  std::vector<NodeId> TakeTouched();

  // Creates an empty index (capacity grows on demand). Throws hnswlib's exceptions.
  void InitEmpty(size_t capacity);
  // Loads a snapshot for def (format and checks: snapshot_format.h); *crc (if not null) gets
  // the body's checksum. Corruption on any damage; ResourceExhausted when memory runs out.
  static Result<std::unique_ptr<Impl>> Load(const VectorSpaceDef& def, SnapshotSource* source,
                                            uint32_t* crc);
  // Internal id of a label, or -1 if the label was never inserted: from `ids`, else from
  // hnswlib's label map under its guard (and then remembered). REQUIRES: resize_mu held
  // (either mode).
  int64_t InternalId(NodeId node) const;
  // The stored (for cosine: normalised) vector of a live point (either kind of space), or nullptr
  // when the node has none or it was removed. REQUIRES: resize_mu held (either mode) for as long as the data is read.
  const float* LiveData(NodeId node) const;
  // Takes resize_mu exclusively into *lock, announcing it first (resize_pending) so that a
  // steady stream of readers cannot starve it. Internal (instead of a self-deadlock) when this
  // thread holds the read side, e.g. a write from inside a search's filter on the same index;
  // `action` names the write in that message.
  Status LockExclusive(std::unique_lock<std::shared_mutex>* lock, const std::string& action);
  // Grows capacity so `extra` more points fit. Takes resize_mu exclusively when it must grow;
  // Internal (instead of a self-deadlock) if this thread holds the read side, e.g. an
  // Upsert from inside a search's filter on the same index. ResourceExhausted when memory or
  // the id space (2^32 points) runs out.
  Status EnsureCapacity(size_t extra);
  // Moves the existing point `internal` to the prepared vector (hnswlib's updatePoint, with
  // replace_repair_share) and revives it if it was removed. Throws hnswlib's exceptions.
  // REQUIRES: resize_mu held shared; no other replacement and no insert running (a replacement
  // rewrites the point's vector in place, which inserts read).
  void Replace(const float* prepared, int64_t internal);
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

// Flat spaces (flat_index.cc): the VectorIndex operations a flat space answers itself, with the
// contracts of VectorIndex's methods of the same names. REQUIRES: impl.flat.
Status FlatUpsert(IndexImpl& impl, NodeId node, std::span<const float> values);
Status FlatUpsertBatch(IndexImpl& impl, std::span<const NodeId> nodes,
                       std::span<const float> values);
Status FlatRemove(IndexImpl& impl, NodeId node);
// An exact scan that honours SearchOptions (filter, expected_pass_rate with prefetch, deadline);
// ties in distance are ordered by node id. exhaustive unless the post-filter strategy answered.
Result<SearchResult> FlatSearch(const IndexImpl& impl, std::span<const float> query,
                                const SearchOptions& options);

// Saves an index's snapshot (<dir>/<space>.hnsw + .meta) atomically (temp file, fsync, rename).
// REQUIRES: no concurrent writes to the index.
Status WriteSnapshot(const IndexImpl& impl, const std::string& dir, uint64_t sequence);

}  // namespace pathwise::vector
