// Online fold-in models: resolution against the schema, storage as JSON, and one user's vector
// (db/fold_in.h).
#include "db/fold_in.h"

#include <algorithm>
#include <cmath>

namespace pathwise {
namespace {

Status Unfit(const FoldInModel& model, const std::string& why) {
  return Status::InvalidArgument("fold-in model for '" + model.edge_type + "': " + why);
}

}  // namespace

Result<FoldIn> ResolveFoldIn(const Schema& schema, const FoldInModel& model) {
  const EdgeTypeDef* edge = schema.FindEdgeType(model.edge_type);
  if (edge == nullptr) return Unfit(model, "unknown edge type");
  const VectorSpaceDef* items = schema.FindSpace(model.item_space);
  const VectorSpaceDef* users = schema.FindSpace(model.user_space);
  if (items == nullptr) return Unfit(model, "unknown vector space '" + model.item_space + "'");
  if (users == nullptr) return Unfit(model, "unknown vector space '" + model.user_space + "'");
  if (items->node_type != edge->to_type || users->node_type != edge->from_type) {
    return Unfit(model, "the item space must be on '" + edge->to_type +
                            "' and the user space on '" + edge->from_type + "'");
  }
  if (items->metric == Metric::kCosine) {
    return Unfit(model, "item space '" + model.item_space +
                            "' is cosine (stored normalised); use ip or l2");
  }
  if (items->dim != users->dim || model.scale.size() != items->dim) {
    return Unfit(model, "the spaces and the scale must have one dimension");
  }
  for (float f : model.scale) {
    if (!std::isfinite(f)) return Unfit(model, "scale values must be finite");
  }
  return FoldIn{edge->id, items->id, users->id, model.scale};
}

std::string FoldInToJson(const FoldInModel& model) {
  return nlohmann::json{{"edge_type", model.edge_type},
                        {"item_space", model.item_space},
                        {"user_space", model.user_space},
                        {"scale", model.scale},
                        {"info", model.info}}
      .dump();
}

Result<FoldInModel> FoldInFromJson(std::string_view json) {
  try {
    nlohmann::json j = nlohmann::json::parse(json);
    FoldInModel model;
    model.edge_type = j.at("edge_type").get<std::string>();
    model.item_space = j.at("item_space").get<std::string>();
    model.user_space = j.at("user_space").get<std::string>();
    model.scale = j.at("scale").get<std::vector<float>>();
    model.info = j.value("info", nlohmann::json::object());
    return model;
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(std::string("stored fold-in model is unreadable: ") + e.what());
  }
}

Result<FoldIns> LoadFoldIns(const storage::Store& store, const Schema& schema) {
  FoldIns models;
  Status failure;
  PW_RETURN_IF_ERROR(store.ScanMeta(kFoldInPrefix, [&](std::string_view, std::string_view value) {
    Result<FoldIn> model = Status::OK();
    Result<FoldInModel> stored = FoldInFromJson(value);
    if (stored.ok()) model = ResolveFoldIn(schema, *stored);
    if (!stored.ok() || !model.ok()) {
      failure = Status::Corruption("stored fold-in model: " +
                                   (stored.ok() ? model.status() : stored.status()).message());
      return false;
    }
    models.push_back(std::move(model).value());
    return true;
  }));
  if (!failure.ok()) return failure;
  return models;
}

FoldIns WithFoldIn(const FoldIns& models, FoldIn model) {
  FoldIns out;
  for (const FoldIn& m : models) {
    if (m.edge_type != model.edge_type) out.push_back(m);
  }
  out.push_back(std::move(model));
  return out;
}

bool ComputeFoldIn(const FoldIn& model, const vector::VectorIndex& items,
                   std::span<const std::pair<NodeId, double>> edges, std::vector<float>* out) {
  const size_t dim = model.scale.size();
  std::vector<double> sum(dim, 0.0);
  std::vector<float> item(dim);
  bool any = false;
  for (const auto& [node, weight] : edges) {
    if (!items.CopyTo(node, item)) continue;
    for (size_t k = 0; k < dim; ++k) sum[k] += weight * item[k];
    any = true;
  }
  out->resize(dim);
  bool nonzero = false;
  for (size_t k = 0; k < dim; ++k) {
    (*out)[k] = static_cast<float>(sum[k] * model.scale[k]);
    nonzero |= (*out)[k] != 0;
  }
  return any && nonzero;
}

bool FoldInIncrement(const FoldIn& model, const vector::VectorIndex& items,
                     std::span<const std::pair<NodeId, double>> changes, std::vector<float>* vec) {
  constexpr double kNearZero = 1e-3;
  const size_t dim = model.scale.size();
  std::vector<double> sum(dim, 0.0);
  std::vector<float> item(dim);
  for (const auto& [node, delta] : changes) {
    if (delta == 0) continue;  // the same weight again: no term, whatever the item's vector
    if (!items.CopyTo(node, item)) return false;
    for (size_t k = 0; k < dim; ++k) sum[k] += delta * item[k];
  }
  double largest_in = 0;
  double largest_out = 0;
  for (size_t k = 0; k < dim; ++k) {
    const double before = (*vec)[k];
    const double term = sum[k] * model.scale[k];
    const float after = static_cast<float>(before + term);
    (*vec)[k] = after;
    largest_in = std::max({largest_in, std::fabs(before), std::fabs(term)});
    largest_out = std::max(largest_out, static_cast<double>(std::fabs(after)));
  }
  return largest_out > kNearZero * largest_in;
}

std::optional<FoldInLedger::Entry> FoldInLedger::Find(SpaceId space, NodeId user) const {
  MutexLock lock(&mu_);
  auto it = entries_.find(Key(space, user));
  if (it == entries_.end()) return std::nullopt;
  return it->second.entry;
}

void FoldInLedger::Set(SpaceId space, NodeId user, std::optional<Entry> entry) {
  MutexLock lock(&mu_);
  entries_.insert_or_assign(Key(space, user), Stamped{entry, ++point_});
}

void FoldInLedger::Clear() {
  MutexLock lock(&mu_);
  entries_.clear();
  cleared_at_ = ++point_;
}

uint64_t FoldInLedger::Point() const {
  MutexLock lock(&mu_);
  return point_ + 1;
}

bool FoldInLedger::ChangedSince(SpaceId space, NodeId user, uint64_t point) const {
  MutexLock lock(&mu_);
  if (cleared_at_ >= point) return true;
  auto it = entries_.find(Key(space, user));
  return it != entries_.end() && it->second.point >= point;
}

}  // namespace pathwise
