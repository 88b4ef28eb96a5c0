// Models built inside the database (database.h, "Models"): read access to the graph for a
// job's computation, and the atomic replacement of a whole edge type with its output.
#include <algorithm>
#include <cfloat>
#include <chrono>
#include <cmath>

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

}  // namespace

Status Database::ReadGraph(
    const std::function<Status(const graph::Graph&, const Schema&)>& fn) const {
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
    std::vector<graph::Graph::EdgeKey> old = EdgesOfType(graph, *schema, def->id);
    std::vector<std::pair<NodeId, NodeId>> kept;  // new (src, dst) pairs, sorted
    for (const graph::Graph::NewEdge& e : edges) kept.emplace_back(e.src, e.dst);
    std::sort(kept.begin(), kept.end());
    storage::WriteBatch batch;
    for (const graph::Graph::EdgeKey& k : old) {
      // An edge the new model also has is overwritten by its put below.
      if (!std::binary_search(kept.begin(), kept.end(), std::make_pair(k.src, k.dst))) {
        batch.DeleteEdge(k.src, k.type, k.dst);
      }
    }
    for (const graph::Graph::NewEdge& e : edges) {
      batch.PutEdge(storage::EdgeRecord{e.src, def->id, e.dst, e.weight, e.ts, 1, {}});
    }
    if (Status s = impl_->store->Write(&batch, /*sync=*/true); !s.ok()) {
      impl_->Fail(s);
      return s;
    }
    batch.Clear();
    auto stored = std::chrono::steady_clock::now();
    report.edges_removed = old.size();
    report.edges_written = impl_->graph->ReplaceEdgesOfType(def->id, std::move(edges));
    auto swapped = std::chrono::steady_clock::now();
    report.store_seconds = std::chrono::duration<double>(stored - started).count();
    report.swap_seconds = std::chrono::duration<double>(swapped - stored).count();
    report.seconds = std::chrono::duration<double>(swapped - started).count();
    return Status::OK();
  });
  if (!status.ok()) return status;
  return report;
}

}  // namespace pathwise
