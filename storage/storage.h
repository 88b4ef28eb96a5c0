// storage/: the system of record. RocksDB with one column family per kind of record; every
// logical write is one atomic WriteBatch. No rocksdb:: type appears in this header.
// The key encoding is documented in docs/storage-format.md.
//
// The store is deliberately dumb: it persists absolute values. Edge accumulation, id allocation
// and schema checks happen in the layer above (query/database), which holds the writer role.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "storage/schema.h"
#include "storage/status.h"

namespace pathwise::storage {

class FaultInjectionFs;  // storage/fault_fs.h (tests only)

struct NodeRecord {
  NodeId id = kInvalidNode;
  TypeId type = kInvalidType;
  std::string key;  // external id
  Properties props;
};

struct EdgeRecord {
  NodeId src = kInvalidNode;
  TypeId type = kInvalidType;
  NodeId dst = kInvalidNode;
  double weight = 1.0;
  int64_t ts = 0;       // ms since epoch
  uint32_t count = 1;   // number of writes folded into this edge (accumulate mode)
  Properties props;
};

enum class Direction : uint8_t { kOut = 0, kIn = 1 };

// One edge of a whole-type model written by Store::IngestEdges (count 1, no properties).
struct ModelEdge {
  NodeId src;
  NodeId dst;
  float weight;
  int64_t ts;  // ms since epoch
};

// An atomic group of writes. Built by the caller, applied by Store::Write in one RocksDB
// WriteBatch: after a crash either all of it is visible or none of it.
class WriteBatch {
 public:
  WriteBatch();
  ~WriteBatch();
  WriteBatch(WriteBatch&&) noexcept;
  WriteBatch& operator=(WriteBatch&&) noexcept;

  // Writes the node record and its (type, key) -> id dictionary entry.
  void PutNode(const NodeRecord& node);
  // Removes the node record and dictionary entry. REQUIRES: the caller also deletes the node's
  // edges (both directions) and vectors in the same batch.
  void DeleteNode(NodeId id, TypeId type, std::string_view key);
  // Writes the forward entry and the reverse index entry.
  void PutEdge(const EdgeRecord& edge);
  void DeleteEdge(NodeId src, TypeId type, NodeId dst);
  // Writes the vector and marks (space, node) dirty for the HNSW snapshot catch-up.
  void PutVector(SpaceId space, NodeId node, std::span<const float> values);
  void DeleteVector(SpaceId space, NodeId node);
  // Free-form metadata (schema, counters, recipes, keys, event dedupe ids, ...).
  void PutMeta(std::string_view key, std::string_view value);
  void DeleteMeta(std::string_view key);
  // The impression log (decisions and the outcomes joined to them): opaque keys in bytewise
  // order, opaque values; the layer above owns both encodings (docs/storage-format.md).
  void PutImpressionLog(std::string_view key, std::string_view value);
  // The event log (every accepted event, keyed by the writer's sequence number): opaque keys in
  // bytewise order, opaque values, like the impression log.
  void PutEventLog(std::string_view key, std::string_view value);

  size_t Count() const;     // number of operations
  size_t ByteSize() const;  // approximate encoded size
  void Clear();
  // Savepoints: RollbackTo(Mark()) drops every operation added after that Mark() call, so a
  // caller can stage a unit of work into a shared batch and undo it if the unit fails.
  size_t Mark() const { return Count(); }
  void RollbackTo(size_t mark);

 private:
  friend class Store;
  struct Rep;
  std::unique_ptr<Rep> rep_;
};

struct StoreOptions {
  bool create_if_missing = true;
  // Block cache for reads that miss the in-memory serving structures.
  size_t block_cache_bytes = 128u << 20;
  // Write buffer per column family; bulk loads benefit from larger buffers.
  size_t write_buffer_bytes = 64u << 20;
  // Tests only: when set, every RocksDB file goes through this file system, which can simulate
  // a power loss (storage/fault_fs.h). Layers above pass StoreOptions through unchanged.
  std::shared_ptr<FaultInjectionFs> fault_injection_fs;
};

class Store {
 public:
  static Result<std::unique_ptr<Store>> Open(const StoreOptions& options, const std::string& path);
  ~Store();  // flushes memtables; safe after any error

  // Applies the batch atomically with the WAL on. sync=true waits for fsync; concurrent synced
  // writers are grouped by RocksDB's write thread so they share one fsync (group commit).
  Status Write(WriteBatch* batch, bool sync);
  // Does now, for this store, the work Write would do first (turning the batch into RocksDB's
  // form, sorted by key when large), so that a later Write of the unchanged batch starts its
  // write at once: a pipeline prepares one batch while another is written. Optional; any change
  // to the batch drops what was prepared. Errors: InvalidArgument when RocksDB refuses the batch
  // (too large), which Write would then report too.
  Status Prepare(WriteBatch* batch) const;
  // Bulk path: applies atomically with the WAL on but not synced, sorted by key; REQUIRES: call
  // Flush() before reporting the load durable. A crash before Flush() can lose a suffix of the
  // bulk writes (whole batches, in order), never earlier data.
  Status WriteBulk(WriteBatch* batch);
  // Flushes all memtables to SST files and syncs the WAL.
  Status Flush();
  // Initial-load path: writes the batch as sorted SST files, one per column family it touches
  // (rocksdb::SstFileWriter, up to `threads` families at once), in a directory beside the
  // database (`<path>.ingest`), and ingests them all with one IngestExternalFiles. Same effect
  // as Write(batch, sync=true): operations on one key keep their order (the last one wins; a
  // delete is written as a tombstone), and the batch is atomic across column families: after a
  // crash, or when this fails, none of it is present. Skips the memtables and the WAL; the
  // files become the database's own, so nothing is flushed or compacted afterwards when the
  // keys are new. The directory is removed in every case (and at Open, after a crash). Memory:
  // a pointer per operation beside the batch. Leaves the batch unchanged.
  Status Ingest(const WriteBatch& batch, int threads);
  // Model path, for an edge type rewritten as a whole (a similarity model): deletes the
  // `removed` (src, dst) edges of `type` and writes `edges` of `type`, streamed into two sorted
  // SST files (forward and reverse entries, on two threads) that are ingested in one step, as
  // Ingest does, without building a WriteBatch. Same effect as one synced Write of the matching
  // DeleteEdge and PutEdge operations: atomic, durable when it returns; on failure nothing is
  // written. REQUIRES: edges and removed sorted by (src, dst), each pair at most once in each; a
  // pair in both is written (the put wins). Memory: 12 bytes per edge and removed pair (the
  // reverse order) beside the inputs.
  Status IngestEdges(TypeId type, std::span<const ModelEdge> edges,
                     std::span<const std::pair<NodeId, NodeId>> removed);

  Result<std::string> GetMeta(std::string_view key) const;  // NotFound if absent
  // Visits meta entries whose key starts with prefix, in key order; fn returns false to stop.
  Status ScanMeta(std::string_view prefix,
                  const std::function<bool(std::string_view key, std::string_view value)>& fn) const;

  // The impression log: one entry (NotFound if absent); entries with begin <= key < end in key
  // order (fn returns false to stop); and a range deletion of [begin, end) (a tombstone,
  // synced; compactions reclaim the space).
  Result<std::string> GetImpressionLog(std::string_view key) const;
  Status ScanImpressionLog(std::string_view begin, std::string_view end,
                           const std::function<bool(std::string_view key, std::string_view value)>& fn) const;
  Status DeleteImpressionLogRange(std::string_view begin, std::string_view end);

  // The event log, the same way: entries with begin <= key < end in key order, a synced range
  // deletion of [begin, end), and the largest key (NotFound when the log is empty).
  Status ScanEventLog(std::string_view begin, std::string_view end,
                      const std::function<bool(std::string_view key, std::string_view value)>& fn) const;
  Status DeleteEventLogRange(std::string_view begin, std::string_view end);
  Result<std::string> LastEventLogKey() const;

  Result<NodeRecord> GetNode(NodeId id) const;
  Result<NodeId> LookupNode(TypeId type, std::string_view key) const;
  // All nodes in id order. Used to rebuild the serving structures at open.
  Status ScanNodes(const std::function<bool(const NodeRecord&)>& fn) const;

  Result<EdgeRecord> GetEdge(NodeId src, TypeId type, NodeId dst) const;
  // All edges in (src, type, dst) order (forward entries only). Used at open.
  Status ScanEdges(const std::function<bool(const EdgeRecord&)>& fn) const;
  // The edges whose src is in [from, to), in (src, type, dst) order. Ranges are independent
  // reads: open scans disjoint ranges from several threads at once.
  Status ScanEdges(NodeId from, NodeId to, const std::function<bool(const EdgeRecord&)>& fn) const;
  // Edges of one node in one direction (prefix scan; not for the query hot path).
  Status ScanEdgesOf(NodeId node, Direction dir, const std::function<bool(const EdgeRecord&)>& fn) const;

  Result<std::vector<float>> GetVector(SpaceId space, NodeId node) const;
  Status ScanVectors(SpaceId space,
                     const std::function<bool(NodeId, std::span<const float>)>& fn) const;
  // (space, node) pairs written since the dirty set was last cleared.
  Status ScanDirtyVectors(const std::function<bool(SpaceId, NodeId)>& fn) const;
  // Clears the dirty set for one space (after its HNSW snapshot was saved) except the nodes in
  // keep (written after the snapshot's content was fixed), in one synced write. REQUIRES: no
  // concurrent vector writes to that space.
  Status ClearDirtyVectors(SpaceId space, std::span<const NodeId> keep = {});

  // Latest RocksDB sequence number (recorded next to index snapshots).
  uint64_t LatestSequence() const;
  // Bytes used on disk by the live files.
  uint64_t SizeOnDisk() const;

  // Online backup: a RocksDB checkpoint (hard links where possible) in dir, which must not exist.
  Status Checkpoint(const std::string& dir);
  // Replaces the database at path with a copy of the checkpoint, durably: the copy is synced
  // before it replaces the old database, and the rename before this returns OK.
  // REQUIRES: no Store open at path.
  static Status Restore(const std::string& checkpoint_dir, const std::string& path);

 private:
  Store();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pathwise::storage
