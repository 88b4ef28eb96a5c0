// The item-similarity job: graph::ItemSimilarity over a bipartite edge type, written back as the
// output edge type with Database::ReplaceEdges (full mode), or only the rows of the items that
// can have changed since the last run, in one write set with the new state (incremental mode;
// jobs/similarity_job.h, docs/jobs.md).
#include "jobs/similarity_job.h"

#include <chrono>
#include <optional>

#include "graph/similarity.h"
#include "jobs/item_relation.h"
#include "jobs/params.h"
#include "jobs/similarity_state.h"

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
  bool incremental = false;  // params.mode
};

// The parameters that decide the model, normalised (SimilarityState::params).
nlohmann::json ModelParams(const Spec& spec) {
  const graph::SimilarityOptions& o = spec.options;
  return {{"edge", spec.edge},
          {"output", spec.output},
          {"measure", graph::SimilarityMeasureName(o.measure)},
          {"k", o.k},
          {"alpha", o.alpha},
          {"shrink", o.shrink},
          {"min_cooccurrence", o.min_cooccurrence},
          {"max_users_per_item", o.max_users_per_item},
          {"max_items_per_user", o.max_items_per_user},
          {"weighted", o.weighted}};
}

Result<Spec> ParseSpec(const nlohmann::json& json) {
  PW_ASSIGN_OR_RETURN(Params p, Params::Of(json, {"edge", "output", "measure", "k", "alpha",
                                                  "shrink", "min_cooccurrence",
                                                  "max_users_per_item", "max_items_per_user",
                                                  "weighted", "threads", "mode",
                                                  "max_recompute_share"}));
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
  PW_ASSIGN_OR_RETURN(std::string mode, p.String("mode", "full"));
  if (mode != "full" && mode != "incremental") {
    return Status::InvalidArgument("params.mode must be \"full\" or \"incremental\", not \"" +
                                   mode + "\"");
  }
  spec.incremental = mode == "incremental";
  PW_ASSIGN_OR_RETURN(o.max_recompute_share, p.Number("max_recompute_share", 0.5, 0, 1));
  o.k = static_cast<size_t>(k);
  o.min_cooccurrence = static_cast<uint32_t>(min_co);
  o.max_users_per_item = static_cast<size_t>(max_users);
  o.max_items_per_user = static_cast<size_t>(max_items);
  o.threads = static_cast<size_t>(threads);
  return spec;
}

// Checks the relation and the output type against the schema and fills in their ids.
Status Resolve(const Schema& schema, Spec* spec) {
  PW_ASSIGN_OR_RETURN(ItemRelation relation,
                      ResolveItemRelation(schema, spec->edge, spec->output, "similarity"));
  spec->item_type = relation.item_name;
  spec->options.edge_type = relation.edge;
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

// The last run's state when an incremental run can start from it; otherwise nullopt and *reason
// says why (the result's fallback_reason).
std::optional<SimilarityState> UsableState(Database& db, const Spec& spec, std::string* reason) {
  if (spec.declare_output) {
    *reason = "the output edge type '" + spec.output + "' does not exist yet";
    return std::nullopt;
  }
  Result<std::string> stored = db.GetMeta(SimilarityStateKey(spec.output));
  if (!stored.ok()) {
    *reason = stored.status().code() == Status::Code::kNotFound
                  ? "no stored state of an earlier run for '" + spec.output + "'"
                  : "the stored state cannot be read: " + stored.status().ToString();
    return std::nullopt;
  }
  Result<SimilarityState> state = DecodeSimilarityState(*stored);
  if (!state.ok()) {
    *reason = "the stored state is unreadable";
    return std::nullopt;
  }
  if (state->params != ModelParams(spec)) {
    *reason = "the parameters differ from those of the run that stored the state";
    return std::nullopt;
  }
  return std::move(state).value();
}

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Edge writes that replace the output rows of model's (recomputed) items: each item's old output
// edges are deleted, then its new ones put, so the result is the same in either edge mode.
void RowWrites(const graph::Graph& graph, const Spec& spec, TypeId output_type,
               const graph::SimilarityResult& model, WriteSet* set, size_t* removed,
               size_t* written) {
  int64_t now = NowMillis();
  auto ref = [&](NodeId node) { return NodeRef{spec.item_type, graph.KeyOf(node)}; };
  std::vector<NodeId> old;
  for (size_t n = 0; n < model.items.size(); ++n) {
    NodeRef item = ref(model.items[n]);
    old.clear();
    graph.ForEachNeighbor(model.items[n], output_type, graph::Direction::kOut,
                          [&](const graph::Neighbor& neighbor) {
                            old.push_back(neighbor.node);
                            return true;
                          });
    for (NodeId node : old) {
      EdgeWrite edge;
      edge.op = EdgeWrite::Op::kDelete;
      edge.type = spec.output;
      edge.from = item;
      edge.to = ref(node);
      set->ops.push_back(std::move(edge));
    }
    *removed += old.size();
    for (size_t e = model.offsets[n]; e < model.offsets[n + 1]; ++e) {
      EdgeWrite edge;
      edge.type = spec.output;
      edge.from = item;
      edge.to = ref(model.neighbors[e].node);
      edge.weight = model.neighbors[e].score;
      edge.ts = now;
      set->ops.push_back(std::move(edge));
    }
    *written += model.offsets[n + 1] - model.offsets[n];
  }
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
  std::string fallback_reason;
  std::optional<SimilarityState> previous;
  if (spec.incremental) {
    previous = UsableState(db, spec, &fallback_reason);
    if (previous) spec.options.previous = &previous->fingerprints;
  }
  spec.options.progress = [&](size_t done, size_t total) { report("computing", done, total); };
  graph::SimilarityResult model;
  WriteSet rows;  // incremental: the recomputed rows, then the new state
  size_t rows_removed = 0, rows_written = 0;
  PW_RETURN_IF_ERROR(db.ReadGraph([&](const graph::Graph& graph, const Schema& schema) -> Status {
    PW_ASSIGN_OR_RETURN(model, graph::ItemSimilarity(graph, spec.options));
    if (model.partial) {
      const EdgeTypeDef* output = schema.FindEdgeType(spec.output);
      if (output == nullptr) return Status::Internal("output edge type '" + spec.output + "' gone");
      RowWrites(graph, spec, output->id, model, &rows, &rows_removed, &rows_written);
    }
    return Status::OK();
  }));
  if (previous && !model.partial) {
    fallback_reason = "the items to recompute exceed max_recompute_share of all items";
  }
  double compute_seconds = Since(start);
  SimilarityState state{ModelParams(spec), std::move(model.fingerprints)};
  const std::string state_key = SimilarityStateKey(spec.output);
  nlohmann::json result = {{"mode", model.partial ? "incremental" : "full"},
                           {"items", model.items_total},
                           {"items_recomputed", model.items.size()},
                           {"users", model.users},
                           {"relation_edges", model.relation_edges},
                           {"output_declared", spec.declare_output}};
  if (previous) result["items_changed"] = model.items_changed;
  if (!fallback_reason.empty()) result["fallback_reason"] = fallback_reason;
  if (model.partial) {
    // Rows and state in one atomic set: after a crash both are old or both new.
    report("writing", 0, rows_written);
    rows.ops.push_back(MetaWrite{state_key, EncodeSimilarityState(state)});
    PW_RETURN_IF_ERROR(db.Apply(rows));
    result["edges_written"] = rows_written;
    result["edges_removed"] = rows_removed;
  } else {
    report("writing", 0, model.neighbors.size());
    if (spec.declare_output) PW_RETURN_IF_ERROR(DeclareItemOutput(db, spec.output, spec.item_type));
    // The old state goes first: should the swap fail or crash, no state names a model that is
    // not the output's, and the next incremental run falls back to a full one.
    WriteSet drop;
    drop.ops.push_back(MetaWrite{state_key, std::nullopt});
    PW_RETURN_IF_ERROR(db.Apply(drop));
    std::vector<graph::Graph::NewEdge> edges = ModelEdges(model.items, model.offsets, model.neighbors);
    std::vector<graph::ScoredItem>().swap(model.neighbors);  // the edges hold them now
    PW_ASSIGN_OR_RETURN(ReplaceEdgesReport written, db.ReplaceEdges(spec.output, std::move(edges)));
    WriteSet keep;
    keep.ops.push_back(MetaWrite{state_key, EncodeSimilarityState(state)});
    Status stored = db.Apply(keep);
    // The model is in place either way; without a state the next incremental run is a full one.
    if (!stored.ok()) result["state_error"] = stored.ToString();
    result["edges_written"] = written.edges_written;
    result["edges_removed"] = written.edges_removed;
    result["edges_skipped"] = written.edges_skipped;
    result["store_seconds"] = written.store_seconds;
    result["swap_seconds"] = written.swap_seconds;
  }
  double seconds = Since(start);
  result["compute_seconds"] = compute_seconds;
  result["write_seconds"] = seconds - compute_seconds;
  result["seconds"] = seconds;
  result["items_per_second"] = compute_seconds > 0 ? model.items.size() / compute_seconds : 0.0;
  return result;
}

}  // namespace pathwise::jobs
