// The item-transitions job: graph::ItemTransitions over a timestamped user -> item edge type,
// written back as the output edge type (item -> next item, weight = the summed 1/distance) with
// Database::ReplaceEdges, so readers see the old model or the new one (jobs/transitions_job.h,
// docs/jobs.md).
#include "jobs/transitions_job.h"

#include <chrono>

#include "graph/sequences.h"
#include "jobs/item_relation.h"
#include "jobs/params.h"

namespace pathwise::jobs {
namespace {

using Clock = std::chrono::steady_clock;

struct Spec {
  std::string edge;
  std::string output;
  std::string item_type;
  graph::TransitionOptions options;  // the type ids are set by Resolve
  bool declare_output = false;
};

Result<Spec> ParseSpec(const nlohmann::json& json) {
  PW_ASSIGN_OR_RETURN(Params p, Params::Of(json, {"edge", "output", "window", "k",
                                                  "max_items_per_user", "max_pair_mb"}));
  Spec spec;
  graph::TransitionOptions& o = spec.options;
  PW_ASSIGN_OR_RETURN(spec.edge, p.String("edge"));
  PW_ASSIGN_OR_RETURN(spec.output, p.String("output"));
  PW_ASSIGN_OR_RETURN(int64_t window, p.Int("window", 5, 1, graph::kMaxTransitionWindow));
  PW_ASSIGN_OR_RETURN(int64_t k, p.Int("k", 50, 1, graph::kMaxSimilarityK));
  PW_ASSIGN_OR_RETURN(int64_t max_items, p.Int("max_items_per_user", 0, 0, 100000000));
  PW_ASSIGN_OR_RETURN(int64_t max_pair_mb, p.Int("max_pair_mb", 4096, 1, 1 << 20));
  o.window = static_cast<size_t>(window);
  o.k = static_cast<size_t>(k);
  o.max_items_per_user = static_cast<size_t>(max_items);
  o.max_pair_bytes = static_cast<size_t>(max_pair_mb) << 20;
  return spec;
}

// Checks the relation and the output type against the schema and fills in their ids.
Status Resolve(const Schema& schema, Spec* spec) {
  PW_ASSIGN_OR_RETURN(ItemRelation relation,
                      ResolveItemRelation(schema, spec->edge, spec->output, "transitions"));
  spec->item_type = relation.item_name;
  spec->options.edge_type = relation.edge;
  spec->options.user_type = relation.user;
  spec->options.item_type = relation.item;
  spec->declare_output = relation.declare_output;
  return Status::OK();
}

Result<Spec> Prepare(Database& db, const nlohmann::json& params) {
  PW_ASSIGN_OR_RETURN(Spec spec, ParseSpec(params));
  PW_RETURN_IF_ERROR(db.ReadGraph([&](const graph::Graph&, const Schema& schema) {
    return Resolve(schema, &spec);
  }));
  return spec;
}

}  // namespace

Status ValidateTransitions(Database& db, const nlohmann::json& params) {
  return Prepare(db, params).status();
}

Result<nlohmann::json> RunTransitions(Database& db, const nlohmann::json& params,
                                      const ProgressFn& progress) {
  auto start = Clock::now();
  PW_ASSIGN_OR_RETURN(Spec spec, Prepare(db, params));
  if (progress) progress(Progress{"reading", 0, 0});
  spec.options.progress = [&](size_t done, size_t total) {
    if (progress) progress(Progress{"computing", done, total});
  };
  graph::TransitionResult model;
  PW_RETURN_IF_ERROR(db.ReadGraph([&](const graph::Graph& graph, const Schema&) -> Status {
    PW_ASSIGN_OR_RETURN(model, graph::ItemTransitions(graph, spec.options));
    return Status::OK();
  }));
  const double compute_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (progress) progress(Progress{"writing", 0, model.neighbors.size()});
  if (spec.declare_output) PW_RETURN_IF_ERROR(DeclareItemOutput(db, spec.output, spec.item_type));
  nlohmann::json result = {{"items", model.items.size()},
                           {"users", model.users},
                           {"relation_edges", model.relation_edges},
                           {"pairs", model.pairs},
                           {"output_declared", spec.declare_output}};
  PW_ASSIGN_OR_RETURN(ReplaceEdgesReport written,
                      db.ReplaceEdges(spec.output, ModelEdges(model.items, model.offsets, model.neighbors)));
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  result["edges_written"] = written.edges_written;
  result["edges_removed"] = written.edges_removed;
  result["edges_skipped"] = written.edges_skipped;
  result["compute_seconds"] = compute_seconds;
  result["write_seconds"] = seconds - compute_seconds;
  result["seconds"] = seconds;
  return result;
}

}  // namespace pathwise::jobs
