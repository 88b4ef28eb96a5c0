// Internal to db/: online fold-in models (database.h, FoldInModel). A model is stored as JSON
// under the meta key "fold_in/<edge type>" (written with the vectors it belongs to, by
// ReplaceVectors), loaded at open, and used by the stager (staged_write.cc) to recompute a
// user's vector whenever a write set changes one of the user's edges of that type: in full
// (ComputeFoldIn), or by adding the changed edges' terms to the vector fold-in last wrote
// (FoldInIncrement) while the FoldInLedger says that vector is the model's fold-in of the
// user's current edges (docs/jobs.md, "Incremental fold-in").
#pragma once

#include <cstdint>
#include <optional>
#include <atomic>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "db/database.h"
#include "storage/mutex.h"
#include "storage/storage.h"
#include "vector/vector.h"

namespace pathwise {

constexpr std::string_view kFoldInPrefix = "fold_in/";

// A fold-in model with its names resolved against the schema.
struct FoldIn {
  TypeId edge_type = kInvalidType;
  SpaceId item_space = 0;
  SpaceId user_space = 0;
  std::vector<float> scale;  // one factor per dimension
};
using FoldIns = std::vector<FoldIn>;

// InvalidArgument naming the problem when the model does not fit the schema: an unknown edge
// type or space, spaces on other node types than the edge's endpoints, a cosine item space
// (its stored vectors are normalised, so the item factors could not be read back), different
// dimensions, or a scale that is not dim finite numbers.
Result<FoldIn> ResolveFoldIn(const Schema& schema, const FoldInModel& model);

std::string FoldInToJson(const FoldInModel& model);
// Corruption for a stored model that cannot be read.
Result<FoldInModel> FoldInFromJson(std::string_view json);

// Every stored model resolved against schema (at open). Corruption for one that no longer
// resolves.
Result<FoldIns> LoadFoldIns(const storage::Store& store, const Schema& schema);
// Replaces the model of model.edge_type in models (or adds it).
FoldIns WithFoldIn(const FoldIns& models, FoldIn model);

// The user's vector from the user's edges of the model's type as (item, weight) pairs:
// out = scale * sum of weight * the item's vector in items (items without one are skipped).
// Returns false when no item contributed or the sum is all zero (the user has no vector then).
bool ComputeFoldIn(const FoldIn& model, const vector::VectorIndex& items,
                   std::span<const std::pair<NodeId, double>> edges, std::vector<float>* out);

// Every kFoldInFullEvery-th change of a user's vector is a full recomputation (at most
// kFoldInFullEvery - 1 increments in a row), so float rounding lasts for fewer changes than
// this (docs/jobs.md, "Incremental fold-in").
constexpr uint32_t kFoldInFullEvery = 256;

// The incremental form of ComputeFoldIn: *vec holds the user's vector as fold-in computed it
// from the user's edges before changes (item, new weight - old weight, as the floats the graph
// keeps; an added edge's old weight and a removed one's new weight are 0). Adds scale * sum of
// delta x the item's vector to it, O(changes x dim). Returns false, *vec then unspecified, when
// the increment is not known to equal the full sum: an item of changes has no vector in items,
// or the result is near zero (every component within 1e-3 of the largest magnitude that went
// into it, where rounding could decide whether the user has a vector at all). The caller then
// recomputes in full. REQUIRES: vec->size() == model.scale.size().
bool FoldInIncrement(const FoldIn& model, const vector::VectorIndex& items,
                     std::span<const std::pair<NodeId, double>> changes, std::vector<float>* vec);

// Which users' vectors in fold-in user spaces are known to be exactly a model's fold-in of the
// user's current edges (up to the rounding of the increments since), and how many increments
// each has had: the stager adds to a vector incrementally only while its entry says so. An
// entry is set when fold-in writes the vector (in full: 0 increments) and when the svd job
// writes it (ReplaceVectors with a model and the job's read point: 0; not for a user whose
// fold-in changed after the job read the edges, since the job's vector misses those events),
// and dropped by every other write of the vector (a VectorWrite, a removal, a node delete),
// for the users with an edge to an item whose vector a write set puts or removes or which it
// deletes, by a load, by ReplaceEdges, by a schema change and by ReplaceVectors. Memory only: empty after open, so each user's first change
// after a reopen is a full recomputation. Thread-safe; its writers (staging, exclusive writers)
// hold the writer role, so entries change in the order the writes are staged.
class FoldInLedger {
 public:
  struct Entry {
    TypeId edge_type = kInvalidType;  // the model that wrote the vector
    uint32_t increments = 0;          // since it was last computed in full
  };
  std::optional<Entry> Find(SpaceId space, NodeId user) const;
  // Sets (entry) or drops (nullopt) user's entry in space.
  void Set(SpaceId space, NodeId user, std::optional<Entry> entry);
  void Clear();
  // A point in the ledger's history: every Set and Clear moves it on.
  uint64_t Point() const;
  // Whether user's entry in space was set or dropped at or after point, or the ledger cleared.
  bool ChangedSince(SpaceId space, NodeId user, uint64_t point) const;
  // Counts one fold-in staged for an event's write set, incremental or in full (Stats()).
  void CountFoldIn(bool incremental) { (incremental ? incremental_ : full_).fetch_add(1); }
  uint64_t full_fold_ins() const { return full_.load(); }
  uint64_t incremental_fold_ins() const { return incremental_.load(); }

 private:
  static uint64_t Key(SpaceId space, NodeId user) {
    return (static_cast<uint64_t>(space) << 32) | user;
  }
  struct Stamped {
    std::optional<Entry> entry;  // nullopt: dropped (kept for ChangedSince)
    uint64_t point = 0;          // when it was set or dropped
  };
  mutable Mutex mu_;
  std::unordered_map<uint64_t, Stamped> entries_ PW_GUARDED_BY(mu_);
  uint64_t point_ PW_GUARDED_BY(mu_) = 0;
  uint64_t cleared_at_ PW_GUARDED_BY(mu_) = 0;
  std::atomic<uint64_t> full_{0}, incremental_{0};
};

}  // namespace pathwise
