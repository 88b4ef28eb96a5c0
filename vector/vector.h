// vector/: one index per vector space, of the kind the space declares (VectorSpaceDef::index):
//  - hnsw (the default): an HNSW graph (hnswlib 0.6.2) with eligibility-aware approximate search
//    (below);
//  - flat: the vectors in one contiguous array with a node -> row map, no graph
//    (flat_index.cc). Upsert and Remove are O(dim) (plus the array's amortised growth); every
//    Search is an exact scan of all rows, O(size x dim), with the filter, the deadline and
//    expected_pass_rate honoured (ef has no use), ties ordered by node id, exhaustive unless
//    the post-filter strategy answered. A write takes the index exclusively, so it waits for the searches in
//    flight (a scan of 1M 64-d vectors is tens of ms). A flat space has no snapshot: VectorSet
//    rebuilds it from the store at every open.
// Every method below works on both kinds unless it says otherwise.
//
// hnswlib has no filter callback in 0.6.2; this wrapper runs its own best-first search over
// hnswlib's public graph internals so that a filter decides which nodes may be *returned* while
// every node may still be *traversed*. When the filter is very selective the search widens its
// beam, and finally falls back to an exact scan, so k eligible results come back when they exist.
//
// Persistence (HNSW): each index is saved as a snapshot file next to the database, recording the RocksDB
// sequence it covers; at open the snapshot is loaded and the vectors written since (the store's
// dirty set) are re-applied, so a restart never rebuilds a large index unless its snapshot is
// unusable. A snapshot is written beside writers (VectorSnapshot): only writes to the spaces
// being saved wait for it. Snapshots carry a CRC32C and are bounds-checked on load; a damaged one is logged and
// rebuilt from the store (see VectorSet::Open). No hnswlib type appears in this header;
// hnswlib's exceptions are caught here and returned as Status.
//
// Concurrency: searches run concurrently with each other and with one writer at a time
// (Upsert/UpsertBatch/Remove; hnswlib's per-node link locks inside). Each index has a resize
// lock: every read and insert holds it shared; growing the capacity (hnswlib reallocates its
// arrays, capacity doubles so this is rare) takes it exclusively, announcing itself first so new
// readers wait for it instead of starving it. The shared side is re-entrant per thread: a read
// made while the same thread already reads the index (a search's filter calling SimilarityTo,
// Get, Contains or Search on the index being searched, e.g. NEAREST ... WHERE similarity(...))
// takes nothing and so never waits for a pending resize, which itself waits for the outer read
// to finish. Each index also has a write lock: every write holds it shared, and a snapshot
// being written holds it exclusively (VectorSnapshot), so writes to that one index wait for
// the file while searches go on. Hence:
//  - a filter may call any const method of any index;
//  - a filter must not block on anything the writer may hold while it upserts into the same
//    index (the writer can be waiting for the filter's search to end);
//  - an Upsert that must grow the index from inside a read of that same index (e.g. from a
//    filter) returns Internal instead of deadlocking.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "storage/storage.h"

namespace pathwise::vector {

struct Hit {
  NodeId node;
  float distance;    // in the space's metric (smaller is closer)
  float similarity;  // cosine/ip: the dot product of normalised (cosine) or raw (ip) vectors;
                     // l2: 1 / (1 + squared distance)
};

struct SearchOptions {
  size_t k = 10;
  size_t ef = 0;  // 0: the space's ef_search (raised to k when smaller)
  // Eligibility: only nodes for which filter(node) is true are returned. Null: all.
  const std::function<bool(NodeId)>* filter = nullptr;
  // The caller's estimate of the fraction of nodes the filter passes (e.g. observed by earlier
  // executions of the same query); negative: unknown. When it is high (>= 0.5), Search first
  // runs an unfiltered search for about k / pass_rate hits and filters those: the filter is then
  // evaluated a few hundred times instead of once per admitted node. If that yields fewer than k
  // eligible hits, the filtered search below runs as if no hint had been given.
  double expected_pass_rate = -1;
  // Optional: called with the batch of nodes about to be filtered in the strategy above, before
  // the filter runs on them (e.g. Graph::Prefetch, so the filter's reads overlap).
  const std::function<void(std::span<const NodeId>)>* prefetch = nullptr;
  Deadline deadline = Deadline::Never();
};

struct SearchResult {
  std::vector<Hit> hits;  // closest first, at most k
  // True when the search examined every vector (exact scan), so fewer than k hits means fewer
  // than k eligible vectors exist.
  bool exhaustive = false;
  size_t distance_computations = 0;
  // How often the filter was evaluated and passed (the caller's next expected_pass_rate).
  size_t filter_evaluations = 0;
  size_t filter_passes = 0;
  // True when the unfiltered-then-filter strategy answered (see expected_pass_rate).
  bool post_filtered = false;
};

// Checks that `values` can be stored in (or searched with) a vector of space `def`:
//  - exactly def.dim values, every one finite;
//  - cosine: a direction, i.e. not all zero once read as floats ([0,0,0,0], or [1e-50,0,0,0],
//    which is all zeros as floats); tiny non-zero values (denormals) are fine, since the vector
//    is normalised in double;
//  - l2 and ip: a norm of at most sqrt(FLT_MAX / 4) ~ 9.2e18, so that every distance between
//    two accepted vectors is finite.
// InvalidArgument naming the space and the problem otherwise. Upsert, UpsertBatch and the
// searches use exactly this check; a caller that must not fail half-way (the database's write
// path) calls it before applying anything: for values that pass it, Upsert fails only when
// memory (or the 2^32-point id space of one index) runs out.
Status ValidateVector(const VectorSpaceDef& def, std::span<const float> values);

class VectorIndex {
 public:
  // A standalone empty index for one space, of def.index's kind (tests, tools; VectorSet uses
  // it too).
  // InvalidArgument if the definition is unusable (dim 0, m < 2, ...).
  static Result<std::unique_ptr<VectorIndex>> Create(const VectorSpaceDef& def);
  ~VectorIndex();

  const VectorSpaceDef& def() const;
  // Inserts or replaces node's vector (normalised for cosine). InvalidArgument exactly when
  // ValidateVector fails; otherwise OK, growing the capacity as needed, except
  // ResourceExhausted when memory or the id space runs out (and Internal when called from
  // inside a read of this same index and the capacity must grow; see Concurrency).
  Status Upsert(NodeId node, std::span<const float> values);
  // Inserts many vectors using up to `threads` threads (at most one per 8 new nodes; bulk
  // loads); the nodes the index already has (removed ones too) are replaced afterwards on the
  // calling thread alone (hnswlib's in-place update is not safe beside other inserts). values
  // holds nodes.size() * dim floats, row-major. All-or-nothing validation before any insert.
  Status UpsertBatch(std::span<const NodeId> nodes, std::span<const float> values, int threads);
  Status Remove(NodeId node);  // OK if absent

  // Replacing the vector of a point the index has (Upsert, UpsertBatch) moves the point in place
  // (hnswlib's updatePoint): it is linked into its new neighbourhood by a search, as an insert
  // is; then each of its former neighbours, with probability `share`, has its links chosen
  // again among its two-hop neighbourhood (hnswlib's own addPoint repairs every one: share 1).
  // That repair is most of a replacement's cost: in a 1M x 128-d index at ef_construction 200,
  // share 1 took 1.07 ms per point at p50 and up to 11 ms, share 0 0.28 ms and up to 3 ms; a
  // former neighbour not repaired keeps a link to the moved point, which search still follows.
  // Recall@10 after replacing 2% of that index was 0.962 with share 1 and 0.978 with share 0
  // (`pathwise bench replace`, docs/benchmarks.md, "Vector replacement"), so the default is 0.
  // Clamped to [0, 1]; HNSW only (flat has no graph).
  static constexpr float kDefaultReplaceRepairShare = 0.0f;
  void SetReplaceRepairShare(float share);
  bool Contains(NodeId node) const;
  // The stored vector (normalised for cosine). NotFound if absent.
  Result<std::vector<float>> Get(NodeId node) const;
  // Get without the allocation: copies the stored vector into out, which must hold dim floats.
  // False (out untouched) if absent.
  bool CopyTo(NodeId node, std::span<float> out) const;
  size_t Size() const;  // live vectors

  // k-NN with optional eligibility filter (see header comment): approximate for HNSW, exact
  // for flat.
  Result<SearchResult> Search(std::span<const float> query, const SearchOptions& options) const;
  // The floor for benchmarks: hnswlib's own searchKnn at the given ef, no filter, no wrapper
  // logic (flat: the exact scan, ef ignored). Compare Search() against this in the same run. Its base-layer loop is hnswlib's, which
  // reads neighbour lists without their locks: do not run it concurrently with upserts.
  Result<SearchResult> SearchRaw(std::span<const float> query, size_t k, size_t ef) const;
  // Exact k-NN by scanning every live vector (for recall measurement and selective filters).
  Result<SearchResult> SearchExact(std::span<const float> query, const SearchOptions& options) const;
  // Similarity of two vectors in this space's metric (see Hit::similarity); a and b need not be
  // normalised. REQUIRES: both have the space's dimension.
  float Similarity(std::span<const float> a, std::span<const float> b) const;
  // Similarity(stored vector of node, q) without copying the stored vector (the SCORE hot path:
  // similarity(c.embedding, u.taste) per candidate). NotFound if node has no vector here.
  // REQUIRES: q has the space's dimension.
  Result<float> SimilarityTo(NodeId node, std::span<const float> q) const;
  // Starts loading the stored vectors of nodes (and what finds them) into the CPU cache, so that
  // SimilarityTo/Get on them right after overlap their cache misses instead of taking them one
  // by one. Changes nothing; nodes without a vector here are skipped.
  void Prefetch(std::span<const NodeId> nodes) const;
  size_t MemoryBytes() const;

  // Snapshots: the index's graph and vectors as bytes (the file format is described in
  // docs/architecture-serving.md, "Vector snapshots"; VectorSet keeps one file per space).
  // A snapshot checks itself: a footer holds the format version, the body's length and its
  // CRC32C, and every structural field (point count against the file size, levels, link
  // counts <= the graph degree, every neighbour id < the point count, unique node ids, finite
  // values) is verified before the index is used.
  static constexpr size_t kSnapshotFooterBytes = 24;
  // This index's snapshot; InvalidArgument for a flat space (it has none). REQUIRES: no
  // concurrent writes.
  Result<std::string> SnapshotBytes() const;
  // An index for def from a snapshot: Corruption naming the reason for any damage or
  // truncation (never an out-of-bounds read), or for a snapshot of another definition (dim,
  // metric, m); ResourceExhausted when memory runs out; InvalidArgument for an unusable def or a
  // flat one.
  static Result<std::unique_ptr<VectorIndex>> LoadSnapshotBytes(const VectorSpaceDef& def,
                                                                std::string_view bytes);
  // The same from a file; also NotFound when it does not exist, IOError when unreadable.
  static Result<std::unique_ptr<VectorIndex>> LoadSnapshotFile(const VectorSpaceDef& def,
                                                               const std::string& path);
  // `body` (a snapshot without its last kSnapshotFooterBytes) with a footer that matches it:
  // tests and the fuzz target use it to alter a body's structure past the checksum.
  static std::string FrameSnapshotBody(std::string_view body);

 private:
  friend class VectorSet;
  friend struct IndexInternals;  // vector/'s internal helpers
  VectorIndex();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The floor of a bulk HNSW build, for benchmarks (issue 14: a load's HNSW phase against raw
// hnswlib's multi-threaded build, and the recall of both indexes): hnswlib's own
// HierarchicalNSW for def's metric, dim, m and ef_construction, sized for every row at once and
// filled by addPoint from `threads` threads, with the row numbers as labels. Rows are
// validated and, for cosine, normalised before the timed part. No snapshot, no removal, no
// growth: just the build and hnswlib's search.
class RawHnswFloor {
 public:
  // rows holds n * def.dim floats, row-major. InvalidArgument for a bad def or row;
  // ResourceExhausted when memory runs out.
  static Result<std::unique_ptr<RawHnswFloor>> Build(const VectorSpaceDef& def,
                                                     std::span<const float> rows, int threads);
  ~RawHnswFloor();
  double build_seconds() const;  // the addPoint calls alone, wall time
  // hnswlib's searchKnn with ef: the k nearest row numbers, nearest first. REQUIRES: no
  // concurrent Search (hnswlib keeps ef in the index).
  std::vector<size_t> Search(std::span<const float> query, size_t k, size_t ef);

 private:
  RawHnswFloor();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A snapshot of the vector spaces that changed since their last one, taken beside writers
// (VectorSet::BeginSnapshot): the writer role is needed only to begin it and to finish it, not
// while its files are written.
//  - Each HNSW space's file (index, then .meta) is written to a temporary file, fsynced, renamed
//    over the old one, and the directory fsynced: after a power loss each file is its old or its
//    new version, and a mismatched pair is detected by checksum and rebuilt. The .meta records
//    the store sequence at BeginSnapshot. A flat space gets no file.
//  - Finish then clears each saved space's dirty set in the store, keeping the marks of the nodes
//    written since BeginSnapshot (which the file may lack): a restart loads the file and
//    re-applies exactly those. Until Finish, a restart re-applies every mark since the previous
//    snapshot, which is also correct, only slower.
class VectorSnapshot {
 public:
  // Ends the snapshot; one that did not finish leaves every dirty mark in the store and its
  // spaces due for the next snapshot.
  ~VectorSnapshot();
  VectorSnapshot(const VectorSnapshot&) = delete;
  VectorSnapshot& operator=(const VectorSnapshot&) = delete;

  // Writes the HNSW spaces' files, then lets writes to those spaces go on (also on error).
  // Call once, with no writer role needed.
  Status Write();
  // Clears the saved spaces' dirty sets except the marks of nodes written since BeginSnapshot
  // (more than kMaxKeptMarks such nodes in a space leave that space's set as it is: the next
  // snapshot clears it). REQUIRES: the writer role; Write returned OK.
  Status Finish(storage::Store* store);
  static constexpr size_t kMaxKeptMarks = 65536;

 private:
  friend class VectorSet;
  VectorSnapshot();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The indexes of all vector spaces of one database.
class VectorSet {
 public:
  // Loads each HNSW space's snapshot from dir (if present and consistent), re-applies the store's
  // dirty vectors, and builds from the store's vectors any space without a usable snapshot and
  // every flat space (a scan of the store and a copy per vector, no graph). A snapshot
  // that exists but cannot be used (damaged or truncated: Corruption from LoadSnapshotFile; of
  // another definition; newer than the store; its .meta missing or from another snapshot) is
  // reported with one line on stderr naming the space, the file and the reason, then rebuilt.
  static Result<std::unique_ptr<VectorSet>> Open(const storage::Store& store, const Schema& schema,
                                                 const std::string& dir);
  ~VectorSet();

  // Creates an empty index for a space declared after open.
  Status AddSpace(const VectorSpaceDef& def);
  VectorIndex* Get(SpaceId space);  // nullptr if unknown
  const VectorIndex* Get(SpaceId space) const;

  // Begins a snapshot of every space whose content changed since its last one (none for an
  // in-memory set): fixes its content and store sequence, and from now until its Write returns
  // makes writes to those HNSW spaces wait (searches and writes to other spaces never wait).
  // REQUIRES: no concurrent writes (the caller holds the writer role), and no other snapshot
  // of this set between its BeginSnapshot and its Finish or destruction (the caller serialises
  // them).
  Result<std::unique_ptr<VectorSnapshot>> BeginSnapshot(const storage::Store& store);
  // BeginSnapshot, Write and Finish in one call. REQUIRES: as BeginSnapshot and Finish.
  Status SaveSnapshots(storage::Store* store);
  // Writes snapshots of all HNSW spaces into another directory (used by backups).
  Status SaveSnapshotsTo(const std::string& dir) const;

 private:
  VectorSet();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pathwise::vector
