// RECOMMEND explanations: per result, the score split into the terms of its top-level +/- chain
// (their values add up to the score), the sources that found it, and its strongest paths (as
// recorded by the graph sources, or graph::BestPath from the seed for candidates found only by
// vector search).
#include <algorithm>
#include <cmath>

#include "query/recommend_exec.h"

namespace pathwise::query {

namespace {

// Bound on nodes BestPath may expand per explained candidate.
constexpr size_t kBestPathMaxExpanded = 2000;

nlohmann::json NodeJson(const RecState& st, NodeId id) {
  const NodeTypeDef* def = st.schema->NodeType(st.graph->TypeOf(id));
  return {{"type", def ? def->name : std::string()}, {"id", st.graph->KeyOf(id)}};
}

nlohmann::json EdgeJson(const RecState& st, const Slot& e, NodeId from) {
  const EdgeTypeDef* def = st.schema->EdgeType(e.type);
  return {{"type", def ? def->name : std::string()},
          {"direction", e.node == from ? "out" : "in"},
          {"weight", e.weight},
          {"ts", e.ts},
          {"count", e.count}};
}

nlohmann::json PathJson(const RecState& st, const PathRec& p, const std::string& source) {
  nlohmann::json nodes = nlohmann::json::array();
  nlohmann::json edges = nlohmann::json::array();
  for (size_t i = 0; i <= p.hops; ++i) nodes.push_back(NodeJson(st, p.nodes[i]));
  for (size_t i = 0; i < p.hops; ++i) edges.push_back(EdgeJson(st, p.edges[i], p.nodes[i]));
  nlohmann::json strength = std::isfinite(p.strength) ? nlohmann::json(p.strength) : nlohmann::json();
  return {{"source", source}, {"strength", strength}, {"nodes", nodes}, {"edges", edges}};
}

nlohmann::json ScoreJson(double score) {
  return std::isnan(score) ? nlohmann::json(nullptr) : nlohmann::json(score);
}

class ExplainOp : public RecOp {
 public:
  ExplainOp() : RecOp("Explain") {}

 protected:
  Status Execute(RecState* st, OpCounts* counts) const override {
    if (!st->explain) return Status::OK();
    const RecommendPlan& rec = *st->rec;
    const size_t n = st->num_sources();
    counts->rows_in = st->ranked.size();
    for (uint32_t c : st->ranked) {
      nlohmann::json terms = nlohmann::json::array();
      for (TermValue& t : ScoreTerms(st, c)) {
        terms.push_back({{"expr", t.text}, {"value", ToJson(t.value, st->graph, st->schema)}});
      }
      nlohmann::json sources = nlohmann::json::array();
      nlohmann::json similarity = nlohmann::json::object();
      for (size_t s = 0; s < n; ++s) {
        if ((st->masks[c] >> s & 1) == 0) continue;
        sources.push_back(rec.source_names[s]);
        for (const NearestSourcePlan& p : rec.nearest_sources) {
          if (p.bit == static_cast<int>(s)) similarity[rec.source_names[s]] = st->source_values[c * n + s];
        }
      }
      nlohmann::json path_counts = nlohmann::json::object();
      for (const GraphSourcePlan& g : rec.graph_sources) {
        uint32_t count = st->path_counts[c * n + g.bit];
        if (count > 0) path_counts[g.name] = count;
      }
      nlohmann::json paths = nlohmann::json::array();
      std::vector<const PathRec*> recorded;
      if (!st->paths.empty()) {
        for (size_t i = 0; i < kPathsPerCandidate; ++i) {
          const PathRec& p = st->paths[c * kPathsPerCandidate + i];
          if (p.source >= 0) recorded.push_back(&p);
        }
      }
      std::stable_sort(recorded.begin(), recorded.end(),
                       [](const PathRec* a, const PathRec* b) { return a->strength > b->strength; });
      for (const PathRec* p : recorded) paths.push_back(PathJson(*st, *p, rec.source_names[p->source]));
      if (paths.empty()) {
        PW_RETURN_IF_ERROR(AddBestPath(st, c, &paths));
      }
      nlohmann::json e = {{"id", st->graph->KeyOf(st->nodes[c])},
                          {"type", NodeJson(*st, st->nodes[c])["type"]},
                          {"score", ScoreJson(st->scores[c])},
                          {"terms", terms},
                          {"sources", sources},
                          {"paths", paths}};
      if (!similarity.empty()) e["similarity"] = similarity;
      if (!path_counts.empty()) e["path_counts"] = path_counts;
      st->explanations.push_back(std::move(e));
      counts->rows_out++;
    }
    return Status::OK();
  }

 private:
  static Status AddBestPath(RecState* st, uint32_t c, nlohmann::json* paths) {
    graph::PathSearchOptions options;
    options.max_hops = 3;
    options.max_expanded = kBestPathMaxExpanded;
    options.deadline = st->deadline;
    auto path = graph::BestPath(*st->graph, st->seed, st->nodes[c], options);
    if (!path.ok()) {
      if (path.status().code() == Status::Code::kDeadlineExceeded) return path.status();
      return Status::OK();  // no short path: the candidate is explained by its sources alone
    }
    if (path->empty() || path->size() > kMaxRecordedHops) return Status::OK();
    PathRec rec;
    rec.hops = static_cast<uint8_t>(path->size());
    rec.strength = 1;
    rec.nodes[0] = st->seed;
    for (size_t i = 0; i < path->size(); ++i) {
      const graph::PathStep& step = (*path)[i];
      Slot e;
      bool out = step.dir == storage::Direction::kOut;
      e.node = out ? step.from : step.to;
      e.dst = out ? step.to : step.from;
      e.type = step.edge_type;
      e.weight = step.weight;
      e.ts = step.ts;
      graph::Neighbor nb;
      e.count = st->graph->FindEdge(e.node, e.type, e.dst, &nb) ? nb.count : 1;
      rec.edges[i] = e;
      rec.nodes[i + 1] = step.to;
      rec.strength *= step.weight;
    }
    paths->push_back(PathJson(*st, rec, "graph"));
    return Status::OK();
  }
};

}  // namespace

std::unique_ptr<RecOp> MakeExplainOp() { return std::make_unique<ExplainOp>(); }

}  // namespace pathwise::query
