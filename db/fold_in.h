// Internal to db/: online fold-in models (database.h, FoldInModel). A model is stored as JSON
// under the meta key "fold_in/<edge type>" (written with the vectors it belongs to, by
// ReplaceVectors), loaded at open, and used by the stager (staged_write.cc) to recompute a
// user's vector whenever a write set changes one of the user's edges of that type.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "db/database.h"
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

}  // namespace pathwise
