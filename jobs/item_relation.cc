// The schema checks shared by the item -> item model jobs (jobs/item_relation.h).
#include "jobs/item_relation.h"

#include <chrono>

#include <nlohmann/json.hpp>

namespace pathwise::jobs {

Result<ItemRelation> ResolveItemRelation(const Schema& schema, const std::string& edge,
                                         const std::string& output, std::string_view job) {
  if (output == edge) {
    return Status::InvalidArgument("params.output must differ from params.edge (the job replaces "
                                   "every edge of the output type)");
  }
  const EdgeTypeDef* def = schema.FindEdgeType(edge);
  if (def == nullptr) return Status::InvalidArgument("unknown edge type '" + edge + "'");
  if (def->from_type.empty() || def->to_type.empty() || def->from_type == def->to_type) {
    return Status::InvalidArgument("edge type '" + edge + "' must declare two different "
                                   "endpoint types (user -> item) for the " + std::string(job) +
                                   " job");
  }
  const NodeTypeDef* user = schema.FindNodeType(def->from_type);
  const NodeTypeDef* item = schema.FindNodeType(def->to_type);
  if (user == nullptr || item == nullptr) {
    return Status::InvalidArgument("the endpoint types of '" + edge + "' are not declared");
  }
  ItemRelation relation{def->id, user->id, item->id, item->name, false};
  const EdgeTypeDef* out = schema.FindEdgeType(output);
  relation.declare_output = out == nullptr;
  if (relation.declare_output) {
    Schema declared = schema;  // the declaration must be valid before the work starts
    EdgeTypeDef candidate;
    candidate.name = output;
    candidate.from_type = candidate.to_type = item->name;
    PW_RETURN_IF_ERROR(declared.AddEdgeType(candidate).WithPrefix("params.output"));
  } else if (out->from_type != item->name || out->to_type != item->name) {
    return Status::InvalidArgument("output edge type '" + output + "' connects '" +
                                   out->from_type + "' to '" + out->to_type + "'; the job writes " +
                                   item->name + " -> " + item->name);
  }
  return relation;
}

Status DeclareItemOutput(Database& db, const std::string& output, const std::string& item_name) {
  nlohmann::json schema = {
      {"edge_types",
       {{{"name", output}, {"mode", "replace"}, {"from", item_name}, {"to", item_name}}}}};
  return db.MergeSchema(schema.dump());
}

std::vector<graph::Graph::NewEdge> ModelEdges(const std::vector<NodeId>& items,
                                              const std::vector<size_t>& offsets,
                                              const std::vector<graph::ScoredItem>& neighbors) {
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  std::vector<graph::Graph::NewEdge> edges;
  edges.reserve(neighbors.size());
  for (size_t n = 0; n < items.size(); ++n) {
    for (size_t e = offsets[n]; e < offsets[n + 1]; ++e) {
      edges.push_back({items[n], neighbors[e].node, neighbors[e].score, now});
    }
  }
  return edges;
}

}  // namespace pathwise::jobs
