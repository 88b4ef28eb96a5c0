// Models built inside the database (database.h, "Models"): read access to the graph for a
// job's computation, and the atomic replacement of a whole edge type with its output.
#include <algorithm>
#include <cfloat>
#include <chrono>
#include <cmath>
#include <thread>

#include "db/database_impl.h"

namespace pathwise {
namespace {

// The node type id an endpoint must have (kInvalidType: any).
TypeId EndpointType(const Schema& schema, const std::string& name) {
  if (name.empty()) return kInvalidType;
  const NodeTypeDef* def = schema.FindNodeType(name);
  return def == nullptr ? kInvalidType : def->id;
}

// Every edge of the type today, read from the graph (which is identical to the store).
std::vector<graph::Graph::EdgeKey> EdgesOfType(const graph::Graph& graph, const Schema& schema,
                                        TypeId type) {
  std::vector<graph::Graph::EdgeKey> out;
  std::vector<graph::Neighbor> list;
  for (const NodeTypeDef& node_type : schema.node_types()) {
    for (NodeId node : graph.NodesOfType(node_type.id)) {
      graph.TopNeighbors(node, type, storage::Direction::kOut, SIZE_MAX, &list);
      for (const graph::Neighbor& n : list) out.push_back({node, type, n.node});
    }
  }
  return out;
}

// InvalidArgument for an edge the write path would refuse; OK otherwise.
Status CheckModelEdge(const graph::Graph& graph, const EdgeTypeDef& def, TypeId from, TypeId to,
                      const graph::Graph::NewEdge& e) {
  if (!std::isfinite(e.weight) || std::fabs(e.weight) > FLT_MAX) {
    return Status::InvalidArgument("edge weights must be finite");
  }
  if ((from != kInvalidType && graph.TypeOf(e.src) != from) ||
      (to != kInvalidType && graph.TypeOf(e.dst) != to)) {
    return Status::InvalidArgument("edge type '" + def.name + "' connects " + def.from_type +
                                   " to " + def.to_type + "; an edge has other endpoint types");
  }
  return Status::OK();
}

// A space's new content checked against the schema and the graph; vectors of deleted nodes
// are dropped (counted in *skipped).
struct CheckedSpace {
  const VectorSpaceDef* def = nullptr;
  std::vector<NodeId> nodes;
  std::vector<float> values;
};

Result<CheckedSpace> CheckSpace(const Schema& schema, const graph::Graph& graph,
                                SpaceVectors&& given, size_t* skipped) {
  CheckedSpace out;
  out.def = schema.FindSpace(given.space);
  if (out.def == nullptr) {
    return Status::InvalidArgument("unknown vector space '" + given.space + "'");
  }
  const size_t dim = out.def->dim;
  if (given.values.size() != given.nodes.size() * dim) {
    return Status::InvalidArgument("space '" + given.space + "': " +
                                   std::to_string(given.values.size()) + " values for " +
                                   std::to_string(given.nodes.size()) + " vectors of dim " +
                                   std::to_string(dim));
  }
  const NodeTypeDef* type = schema.FindNodeType(out.def->node_type);
  for (size_t i = 0; i < given.nodes.size(); ++i) {
    NodeId node = given.nodes[i];
    if (!graph.Exists(node)) {
      ++*skipped;
      continue;
    }
    if (type == nullptr || graph.TypeOf(node) != type->id) {
      return Status::InvalidArgument("space '" + given.space + "' holds vectors of " +
                                     out.def->node_type + " nodes only");
    }
    std::span<const float> row(given.values.data() + i * dim, dim);
    PW_RETURN_IF_ERROR(vector::ValidateVector(*out.def, row));
    out.nodes.push_back(node);
    out.values.insert(out.values.end(), row.begin(), row.end());
  }
  return out;
}

// The space's vectors today that the new content does not have.
std::vector<NodeId> VectorsToRemove(const graph::Graph& graph, const Schema& schema,
                                    const vector::VectorIndex& index, const CheckedSpace& space) {
  std::vector<NodeId> kept = space.nodes;
  std::sort(kept.begin(), kept.end());
  std::vector<NodeId> out;
  const NodeTypeDef* type = schema.FindNodeType(space.def->node_type);
  if (type == nullptr) return out;
  for (NodeId node : graph.NodesOfType(type->id)) {
    if (index.Contains(node) && !std::binary_search(kept.begin(), kept.end(), node)) {
      out.push_back(node);
    }
  }
  return out;
}

size_t Threads() { return std::max(1u, std::thread::hardware_concurrency()); }

// Writes a whole edge type's model (edges sorted and unique, removed sorted) atomically and
// durably: one synced write, or for large models (DatabaseOptions::model_ingest_min_ops) SST
// files streamed from the lists and ingested in one step.
Status StoreEdges(storage::Store& store, size_t ingest_min_ops, TypeId type,
                  const std::vector<graph::Graph::NewEdge>& edges,
                  const std::vector<std::pair<NodeId, NodeId>>& removed) {
  if (2 * (edges.size() + removed.size()) >= ingest_min_ops) {
    return store.IngestEdges(type, edges, removed);
  }
  storage::WriteBatch batch;
  for (const auto& [src, dst] : removed) batch.DeleteEdge(src, type, dst);
  for (const graph::Graph::NewEdge& e : edges) {
    batch.PutEdge(storage::EdgeRecord{e.src, type, e.dst, e.weight, e.ts, 1, {}});
  }
  return store.Write(&batch, /*sync=*/true);
}

// Writes a model's batch atomically and durably: large ones (DatabaseOptions::
// model_ingest_min_ops) as sorted SST files ingested in one step, since one synced write through
// the memtable costs ~8 us an edge (a 1M-item similarity model is ~20M edges, 40M keys).
Status StoreModel(storage::Store& store, size_t ingest_min_ops, storage::WriteBatch* batch) {
  if (batch->Count() < ingest_min_ops) return store.Write(batch, /*sync=*/true);
  return store.Ingest(*batch, static_cast<int>(Threads()));
}

double SecondsBetween(std::chrono::steady_clock::time_point a,
                      std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

Status Database::ReadGraph(const std::function<Status(const graph::Graph&, const Schema&)>& fn,
                           uint64_t* fold_in_point) const {
  if (fold_in_point != nullptr) {
    PW_RETURN_IF_ERROR(impl_->RunExclusive([&] {
      *fold_in_point = impl_->fold_ledger->Point();
      return Status::OK();
    }));
  }
  std::shared_ptr<const Schema> schema = impl_->CurrentSchema();
  return fn(*impl_->graph, *schema);
}

Result<ReplaceEdgesReport> Database::ReplaceEdges(std::string_view edge_type,
                                                  std::vector<graph::Graph::NewEdge> edges) {
  ReplaceEdgesReport report;
  Status status = impl_->RunExclusive([&]() -> Status {
    auto started = std::chrono::steady_clock::now();
    std::shared_ptr<const Schema> schema = impl_->CurrentSchema();
    const EdgeTypeDef* def = schema->FindEdgeType(edge_type);
    if (def == nullptr) {
      return Status::InvalidArgument("unknown edge type '" + std::string(edge_type) + "'");
    }
    const graph::Graph& graph = *impl_->graph;
    TypeId from = EndpointType(*schema, def->from_type), to = EndpointType(*schema, def->to_type);
    std::erase_if(edges, [&](const graph::Graph::NewEdge& e) {
      bool gone = !graph.Exists(e.src) || !graph.Exists(e.dst);
      report.edges_skipped += gone ? 1 : 0;
      return gone;
    });
    for (const graph::Graph::NewEdge& e : edges) {
      PW_RETURN_IF_ERROR(CheckModelEdge(graph, *def, from, to, e));
    }
    if (edges.size() >= UINT32_MAX) {
      return Status::InvalidArgument("a model holds at most 2^32 - 2 edges");
    }
    graph::Graph::SortUniqueEdges(&edges);
    std::vector<std::pair<NodeId, NodeId>> removed;  // old edges the new model lacks, sorted
    std::vector<graph::Graph::EdgeKey> old = EdgesOfType(graph, *schema, def->id);
    for (const graph::Graph::EdgeKey& k : old) {
      graph::Graph::NewEdge probe{k.src, k.dst, 0, 0};
      if (!std::binary_search(edges.begin(), edges.end(), probe,
                              graph::Graph::NewEdgeBefore)) {
        removed.emplace_back(k.src, k.dst);
      }
    }
    report.edges_removed = old.size();
    std::vector<graph::Graph::EdgeKey>().swap(old);
    std::sort(removed.begin(), removed.end());
    if (Status s = StoreEdges(*impl_->store, impl_->options.model_ingest_min_ops, def->id, edges,
                              removed);
        !s.ok()) {
      impl_->Fail(s);
      return s;
    }
    auto stored = std::chrono::steady_clock::now();
    impl_->fold_ledger->Clear();  // users' edges change without fold-in
    report.edges_written = impl_->graph->ReplaceEdgesOfType(def->id, std::move(edges), Threads());
    auto swapped = std::chrono::steady_clock::now();
    report.store_seconds = std::chrono::duration<double>(stored - started).count();
    report.swap_seconds = std::chrono::duration<double>(swapped - stored).count();
    report.seconds = std::chrono::duration<double>(swapped - started).count();
    return Status::OK();
  });
  if (!status.ok()) return status;
  impl_->NotifyObservers(WrittenNodes{{}, /*all=*/true});  // a model changes any node's answers
  return report;
}

}  // namespace pathwise

namespace pathwise {

namespace {

// The users the job wrote into the model's user space whose fold-in has not changed since
// point (none in a cosine space: it stores vectors normalised).
std::vector<NodeId> UnchangedJobUsers(const FoldIn& model, const Schema& schema,
                                      const std::vector<CheckedSpace>& spaces,
                                      const FoldInLedger& ledger, uint64_t point) {
  std::vector<NodeId> out;
  const VectorSpaceDef* users = schema.Space(model.user_space);
  if (users == nullptr || users->metric == Metric::kCosine) return out;
  for (const CheckedSpace& space : spaces) {
    if (space.def->id != model.user_space) continue;
    for (NodeId node : space.nodes) {
      if (!ledger.ChangedSince(model.user_space, node, point)) out.push_back(node);
    }
  }
  return out;
}

}  // namespace

Result<ReplaceVectorsReport> Database::ReplaceVectors(std::vector<SpaceVectors> spaces,
                                                      std::optional<FoldInModel> fold_in,
                                                      std::optional<uint64_t> fold_in_point) {
  ReplaceVectorsReport report;
  Status status = impl_->RunExclusive([&]() -> Status {
    auto started = std::chrono::steady_clock::now();
    std::shared_ptr<const Schema> schema = impl_->CurrentSchema();
    const graph::Graph& graph = *impl_->graph;
    std::vector<CheckedSpace> checked;
    std::vector<std::vector<NodeId>> removed;
    for (SpaceVectors& given : spaces) {
      PW_ASSIGN_OR_RETURN(CheckedSpace space,
                          CheckSpace(*schema, graph, std::move(given), &report.vectors_skipped));
      vector::VectorIndex* index = impl_->vectors->Get(space.def->id);
      if (index == nullptr) return Status::Internal("no index for space " + space.def->FullName());
      removed.push_back(VectorsToRemove(graph, *schema, *index, space));
      checked.push_back(std::move(space));
    }
    std::optional<FoldIn> resolved;
    if (fold_in) {
      PW_ASSIGN_OR_RETURN(resolved, ResolveFoldIn(*schema, *fold_in));
    }
    storage::WriteBatch batch;
    for (size_t s = 0; s < checked.size(); ++s) {
      const size_t dim = checked[s].def->dim;
      for (NodeId node : removed[s]) batch.DeleteVector(checked[s].def->id, node);
      for (size_t i = 0; i < checked[s].nodes.size(); ++i) {
        batch.PutVector(checked[s].def->id, checked[s].nodes[i],
                        std::span<const float>(checked[s].values.data() + i * dim, dim));
      }
    }
    if (fold_in) {
      batch.PutMeta(std::string(kFoldInPrefix) + fold_in->edge_type, FoldInToJson(*fold_in));
    }
    if (Status s = StoreModel(*impl_->store, impl_->options.model_ingest_min_ops, &batch); !s.ok()) {
      impl_->Fail(s);
      return s;
    }
    batch.Clear();
    auto stored = std::chrono::steady_clock::now();
    // The job's user vectors are the model's fold-in of the edges it read, except for users
    // whose fold-in changed since (docs/jobs.md, "Incremental fold-in"); every other vector
    // the spaces held may no longer be one.
    std::vector<NodeId> exact;
    if (resolved && fold_in_point) exact = UnchangedJobUsers(*resolved, *schema, checked,
                                                             *impl_->fold_ledger, *fold_in_point);
    impl_->fold_ledger->Clear();
    for (NodeId node : exact) {
      impl_->fold_ledger->Set(resolved->user_space, node, FoldInLedger::Entry{resolved->edge_type, 0});
    }
    if (resolved) {
      impl_->SetFoldIns(std::make_shared<const FoldIns>(
          WithFoldIn(*impl_->CurrentFoldIns(), std::move(*resolved))));
    }
    int threads = static_cast<int>(Threads());
    for (size_t s = 0; s < checked.size(); ++s) {
      vector::VectorIndex* index = impl_->vectors->Get(checked[s].def->id);
      Status applied = index->UpsertBatch(checked[s].nodes, checked[s].values, threads);
      for (NodeId node : removed[s]) {
        if (applied.ok()) applied = index->Remove(node);
      }
      if (!applied.ok()) {
        Status fault = Status::Internal("applying durable vectors to memory failed: " +
                                        applied.ToString());
        impl_->Fail(fault);
        return fault;
      }
      report.vectors_written += checked[s].nodes.size();
      report.vectors_removed += removed[s].size();
    }
    auto swapped = std::chrono::steady_clock::now();
    report.store_seconds = SecondsBetween(started, stored);
    report.swap_seconds = SecondsBetween(stored, swapped);
    report.seconds = SecondsBetween(started, swapped);
    return Status::OK();
  });
  if (!status.ok()) return status;
  impl_->NotifyObservers(WrittenNodes{{}, /*all=*/true});  // a model changes any node's answers
  return report;
}

Result<FoldInModel> Database::GetFoldIn(std::string_view edge_type) const {
  PW_ASSIGN_OR_RETURN(std::string stored,
                      impl_->store->GetMeta(std::string(kFoldInPrefix) + std::string(edge_type)));
  return FoldInFromJson(stored);
}

Result<std::vector<float>> Database::GetVector(std::string_view space,
                                               std::string_view id) const {
  std::shared_ptr<const Schema> schema = impl_->CurrentSchema();
  const VectorSpaceDef* def = schema->FindSpace(space);
  if (def == nullptr) {
    return Status::InvalidArgument("unknown vector space '" + std::string(space) + "'");
  }
  const NodeTypeDef* type = schema->FindNodeType(def->node_type);
  NodeId node = type == nullptr ? kInvalidNode : impl_->graph->Lookup(type->id, id);
  const vector::VectorIndex* index = impl_->vectors->Get(def->id);
  if (node == kInvalidNode || index == nullptr) {
    return Status::NotFound("node " + def->node_type + " '" + std::string(id) + "' not found");
  }
  return index->Get(node);
}

}  // namespace pathwise
