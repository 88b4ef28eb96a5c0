// Internal to db/: WriteSets staged against the current state without changing it.
//
// The write path runs in three steps, each group of sets in order (write_path.cc overlaps the
// three steps of consecutive groups):
//   1. stage: every set is validated and turned into storage operations (appended to one
//      storage::WriteBatch) and in-memory operations (MemOps), against the in-memory state plus
//      what the sets staged before it in the group wrote (the Overlay). A set that fails leaves
//      the group exactly as it was before the set (batch savepoint, its MemOps erased, its own
//      overlay discarded).
//   2. make durable: one Store::Write of the group's batch.
//   3. apply: ApplyToMemory replays the MemOps onto graph and vector indexes, in order.
// Nothing a query can read changes before step 2 succeeded, so a reader never sees a write that
// is not durable; a failed set or a failed storage write leaves memory untouched.
//
// This is also the shape a replicated log needs: a staged group is an ordered, self-contained
// list of effects whose application to memory cannot fail for validated input.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "db/database.h"
#include "db/fold_in.h"
#include "graph/graph.h"
#include "storage/storage.h"
#include "vector/vector.h"

namespace pathwise {

// One in-memory effect of a staged write.
struct MemOp {
  enum class Kind : uint8_t {
    kAddNode,        // node, type, key, props: a node with a new id (ids are handed out in order)
    kSetProperties,  // node, props
    kRemoveNode,     // node: the node and its edges (its vectors have their own kRemoveVector)
    kPutEdge,        // node -[type]-> dst with weight, count, ts
    kRemoveEdge,     // node -[type]-> dst
    kPutVector,      // space, node, values
    kRemoveVector,   // space, node
  };
  // What only node and vector ops carry, kept apart so that the op of an edge, which a load
  // stages one of per line, is a fifth of the size.
  struct Payload {
    std::string key;
    Properties props;
    std::vector<float> values;
  };
  explicit MemOp(Kind k) : kind(k) {}
  Kind kind;
  NodeId node = kInvalidNode;
  TypeId type = kInvalidType;
  NodeId dst = kInvalidNode;
  SpaceId space = 0;
  float weight = 0;
  uint32_t count = 0;
  int64_t ts = 0;
  std::unique_ptr<Payload> payload;  // kAddNode, kSetProperties, kPutVector

  const std::string& key() const { return payload->key; }
  const Properties& props() const { return payload->props; }
  const std::vector<float>& values() const { return payload->values; }
};

// Hashes a node's (type, external id). The node overlay of an ingestion load grows to every node
// of the file, so it is a hash map: a sorted map's string comparisons cost more than the rest
// of staging an edge.
struct NodeKeyHash {
  size_t operator()(const std::pair<TypeId, std::string>& k) const {
    return std::hash<std::string_view>()(k.second) ^
           (static_cast<size_t>(k.first) * 0x9e3779b97f4a7c15ull);
  }
};

// What staged sets changed, as the sets staged after them must see it.
struct Overlay {
  // kInvalidNode: deleted.
  std::unordered_map<std::pair<TypeId, std::string>, NodeId, NodeKeyHash> nodes;
  std::unordered_map<NodeId, Properties> props;            // properties after the writes
  std::map<std::tuple<NodeId, TypeId, NodeId>, std::optional<storage::EdgeRecord>> edges;
  std::map<std::pair<SpaceId, NodeId>, bool> vectors;  // whether a vector exists after them
  // The values of the user vectors fold-in wrote (only while staging with a FoldInLedger); read
  // instead of the index while the ledger's entry for the user says fold-in wrote it last.
  std::map<std::pair<SpaceId, NodeId>, std::vector<float>> folded;
  std::map<std::string, bool, std::less<>> meta;       // whether the key exists after them
  // Decisions logged by them (impression log key -> attribution window in ms).
  std::map<std::string, int64_t, std::less<>> impressions;
  // Takes newer's entries over this one's (newer was staged after this overlay's writes).
  void MergeFrom(Overlay&& newer);
};

// A group of staged sets: the batch to make durable and the effects to apply after it.
struct StagedGroup {
  storage::WriteBatch batch;
  std::vector<MemOp> mem;
  Overlay overlay;
  NodeId next_id = kInvalidNode;  // the id the next created node gets
  size_t sets = 0;                // sets staged successfully
  // The sequence number the next logged event gets, and the counter observations of the
  // events and decisions the group logs (fed to the counters once it is applied).
  uint64_t next_event_seq = 0;
  // The greatest WriteSet::log_sequence staged in this group or written before it (0: none).
  uint64_t log_sequence = 0;
  std::vector<features::Event> events;
  std::vector<features::Impression> impressions;
  // Empties the group; ids are handed out from next_id (the graph's IdBound when memory is
  // up to date with everything staged before), event sequence numbers from next_seq; sets with a
  // log sequence of at most log_seq are duplicates.
  void Reset(NodeId next, uint64_t next_seq = 0, uint64_t log_seq = 0);
};

// The state a stager reads: the in-memory structures and the store (for stored edge properties
// and meta keys). Never changed by staging.
struct StagingView {
  const Schema* schema;
  const graph::Graph* graph;
  const vector::VectorSet* vectors;
  const storage::Store* store;
  int64_t now_ms;  // ts of edges written without one
  // Fold-in models: a set that changes a user's edges of a model's type also stages the user's
  // recomputed vector (db/fold_in.h).
  std::shared_ptr<const FoldIns> fold_ins;
  // Which user vectors fold-in may update incrementally (db/fold_in.h); a set's changes to it
  // are made when the set is staged successfully. Null: every fold-in recomputes in full, and
  // the caller drops the entries of what it writes (loads clear the whole ledger).
  FoldInLedger* fold_ledger = nullptr;
  // What the groups staged just before this one changed, oldest first, when those groups may
  // not be in memory (or the store) yet: the write path stages a group while the one before it
  // is written and the one before that applied (write_path.cc). Read after the group's own
  // overlay and before memory and the store; null entries are skipped. All null: memory and the
  // store are up to date with everything staged before.
  std::array<const Overlay*, 2> pending{};
};

// The meta key holding the last WriteSet::log_sequence written (decimal ASCII).
inline constexpr char kLogSequenceMetaKey[] = "log/sequence";

// Validates set and stages it into group (see the file comment). outcome->duplicate is set (and
// nothing staged) when set.log_sequence is at most group->log_sequence or
// set.unless_meta_exists names an existing key; outcome->attributed and
// unattributed count its OutcomeWrites. Errors: InvalidArgument / NotFound for bad input,
// IOError / Corruption when the store cannot be read; the group is then unchanged.
Status StageSet(const StagingView& view, const WriteSet& set, StagedGroup* group,
                WriteOutcome* outcome);

// Applies group.mem to memory, in order. vector_sink, when set, receives the kPutVector and
// kRemoveVector ops instead of the indexes (the loader batches inserts); it must keep their order
// per node. Internal if an index rejects a validated vector (memory is then behind the store).
using VectorSink = std::function<Status(const MemOp&)>;
Status ApplyToMemory(const StagedGroup& group, graph::Graph* graph, vector::VectorSet* vectors,
                     const VectorSink& vector_sink = nullptr);

}  // namespace pathwise
