// The item-similarity job: graph::ItemSimilarity over a bipartite edge type, written back as the
// output edge type with Database::ReplaceEdges (jobs/similarity_job.h, docs/jobs.md).
#include "jobs/similarity_job.h"

#include <chrono>

#include "graph/similarity.h"
#include "jobs/params.h"

namespace pathwise::jobs {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Spec {
  std::string edge;
  std::string output;
  graph::SimilarityOptions options;  // edge_type and item_type are set by Resolve
  std::string item_type;
  bool declare_output = false;
};

Result<Spec> ParseSpec(const nlohmann::json& json) {
  PW_ASSIGN_OR_RETURN(Params p, Params::Of(json, {"edge", "output", "measure", "k", "alpha",
                                                  "shrink", "min_cooccurrence",
                                                  "max_users_per_item", "max_items_per_user",
                                                  "weighted", "threads"}));
  Spec spec;
  graph::SimilarityOptions& o = spec.options;
  PW_ASSIGN_OR_RETURN(spec.edge, p.String("edge"));
  PW_ASSIGN_OR_RETURN(spec.output, p.String("output"));
  PW_ASSIGN_OR_RETURN(std::string measure, p.String("measure", "cosine"));
  PW_ASSIGN_OR_RETURN(o.measure, graph::ParseSimilarityMeasure(measure));
  PW_ASSIGN_OR_RETURN(int64_t k, p.Int("k", 50, 1, graph::kMaxSimilarityK));
  PW_ASSIGN_OR_RETURN(o.alpha, p.Number("alpha", 0.5, 0, 1));
  PW_ASSIGN_OR_RETURN(o.shrink, p.Number("shrink", 0, 0, 1e9));
  PW_ASSIGN_OR_RETURN(int64_t min_co, p.Int("min_cooccurrence", 1, 1, 1000000));
  PW_ASSIGN_OR_RETURN(int64_t max_users, p.Int("max_users_per_item", 0, 0, 100000000));
  PW_ASSIGN_OR_RETURN(int64_t max_items, p.Int("max_items_per_user", 0, 0, 100000000));
  PW_ASSIGN_OR_RETURN(o.weighted, p.Bool("weighted", false));
  PW_ASSIGN_OR_RETURN(int64_t threads, p.Int("threads", 0, 0, 256));
  o.k = static_cast<size_t>(k);
  o.min_cooccurrence = static_cast<uint32_t>(min_co);
  o.max_users_per_item = static_cast<size_t>(max_users);
  o.max_items_per_user = static_cast<size_t>(max_items);
  o.threads = static_cast<size_t>(threads);
  if (spec.output == spec.edge) {
    return Status::InvalidArgument("params.output must differ from params.edge (the job replaces "
                                   "every edge of the output type)");
  }
  return spec;
}

// Checks the relation and the output type against the schema and fills in their ids.
Status Resolve(const Schema& schema, Spec* spec) {
  const EdgeTypeDef* edge = schema.FindEdgeType(spec->edge);
  if (edge == nullptr) return Status::InvalidArgument("unknown edge type '" + spec->edge + "'");
  if (edge->from_type.empty() || edge->to_type.empty() || edge->from_type == edge->to_type) {
    return Status::InvalidArgument("edge type '" + spec->edge + "' must declare two different "
                                   "endpoint types (user -> item) for the similarity job");
  }
  const NodeTypeDef* item = schema.FindNodeType(edge->to_type);
  if (item == nullptr) {
    return Status::InvalidArgument("node type '" + edge->to_type + "' is not declared");
  }
  spec->item_type = item->name;
  spec->options.edge_type = edge->id;
  spec->options.item_type = item->id;
  const EdgeTypeDef* output = schema.FindEdgeType(spec->output);
  spec->declare_output = output == nullptr;
  if (spec->declare_output) {
    Schema declared = schema;  // the declaration must be valid before the work starts
    EdgeTypeDef def;
    def.name = spec->output;
    def.from_type = def.to_type = item->name;
    PW_RETURN_IF_ERROR(declared.AddEdgeType(def).WithPrefix("params.output"));
  }
  if (output != nullptr && (output->from_type != item->name || output->to_type != item->name)) {
    return Status::InvalidArgument("output edge type '" + spec->output + "' connects '" +
                                   output->from_type + "' to '" + output->to_type +
                                   "'; the job writes " + item->name + " -> " + item->name);
  }
  return Status::OK();
}

Result<Spec> Prepare(Database& db, const nlohmann::json& params) {
  PW_ASSIGN_OR_RETURN(Spec spec, ParseSpec(params));
  PW_RETURN_IF_ERROR(db.ReadGraph([&](const graph::Graph&, const Schema& schema) {
    return Resolve(schema, &spec);
  }));
  return spec;
}

Status DeclareOutput(Database& db, const Spec& spec) {
  nlohmann::json schema = {{"edge_types",
                            {{{"name", spec.output},
                              {"mode", "replace"},
                              {"from", spec.item_type},
                              {"to", spec.item_type}}}}};
  return db.MergeSchema(schema.dump());
}

std::vector<graph::Graph::NewEdge> ToEdges(const graph::SimilarityResult& model) {
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  std::vector<graph::Graph::NewEdge> edges;
  edges.reserve(model.neighbors.size());
  for (size_t n = 0; n < model.items.size(); ++n) {
    for (size_t e = model.offsets[n]; e < model.offsets[n + 1]; ++e) {
      edges.push_back({model.items[n], model.neighbors[e].node, model.neighbors[e].score, now});
    }
  }
  return edges;
}

}  // namespace

Status ValidateSimilarity(Database& db, const nlohmann::json& params) {
  return Prepare(db, params).status();
}

Result<nlohmann::json> RunSimilarity(Database& db, const nlohmann::json& params,
                                     const ProgressFn& progress) {
  auto start = Clock::now();
  PW_ASSIGN_OR_RETURN(Spec spec, Prepare(db, params));
  auto report = [&](const char* phase, size_t done, size_t total) {
    if (progress) progress(Progress{phase, done, total});
  };
  report("reading", 0, 0);
  spec.options.progress = [&](size_t done, size_t total) { report("computing", done, total); };
  graph::SimilarityResult model;
  PW_RETURN_IF_ERROR(db.ReadGraph([&](const graph::Graph& graph, const Schema&) -> Status {
    PW_ASSIGN_OR_RETURN(model, graph::ItemSimilarity(graph, spec.options));
    return Status::OK();
  }));
  double compute_seconds = Since(start);
  report("writing", 0, model.neighbors.size());
  if (spec.declare_output) PW_RETURN_IF_ERROR(DeclareOutput(db, spec));
  PW_ASSIGN_OR_RETURN(ReplaceEdgesReport written, db.ReplaceEdges(spec.output, ToEdges(model)));
  double seconds = Since(start);
  return nlohmann::json{
      {"items", model.items.size()},
      {"users", model.users},
      {"relation_edges", model.relation_edges},
      {"edges_written", written.edges_written},
      {"edges_removed", written.edges_removed},
      {"edges_skipped", written.edges_skipped},
      {"output_declared", spec.declare_output},
      {"compute_seconds", compute_seconds},
      {"write_seconds", seconds - compute_seconds},
      {"store_seconds", written.store_seconds},
      {"swap_seconds", written.swap_seconds},
      {"seconds", seconds},
      {"items_per_second", compute_seconds > 0 ? model.items.size() / compute_seconds : 0.0}};
}

}  // namespace pathwise::jobs
