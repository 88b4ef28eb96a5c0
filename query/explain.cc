// RECOMMEND explanations: per result, the score split into the terms of its top-level +/- chain
// (their values add up to the score), the sources that found it, and its strongest paths (as
// recorded by the graph sources, or graph::BestPaths from the seed -- one search for all the
// results found only by vector search).
#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "query/recommend_exec.h"

namespace pathwise::query {

namespace {

// Bounds of the one BestPaths search per query: nodes expanded, and edges followed per
// (node, edge type, direction), strongest first, so a hub (a genre, a best seller) costs
// O(cap) rather than O(degree).
constexpr size_t kBestPathMaxExpanded = 2000;
constexpr size_t kBestPathNeighborsPerList = 32;

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

// The paths the graph sources recorded for candidate c (none when EXPLAIN recorded nothing).
std::vector<const PathRec*> RecordedPaths(const RecState& st, uint32_t c) {
  std::vector<const PathRec*> out;
  if (st.paths.empty()) return out;
  for (size_t i = 0; i < kPathsPerCandidate; ++i) {
    const PathRec& p = st.paths[c * kPathsPerCandidate + i];
    if (p.source >= 0) out.push_back(&p);
  }
  return out;
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
    std::unordered_map<uint32_t, graph::Path> reasons;  // candidate -> BestPaths' path
    PW_RETURN_IF_ERROR(FindGraphReasons(st, &reasons));
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
      std::vector<const PathRec*> recorded = RecordedPaths(*st, c);
      std::stable_sort(recorded.begin(), recorded.end(),
                       [](const PathRec* a, const PathRec* b) { return a->strength > b->strength; });
      for (const PathRec* p : recorded) paths.push_back(PathJson(*st, *p, rec.source_names[p->source]));
      if (paths.empty()) {
        auto it = reasons.find(c);
        if (it != reasons.end()) paths.push_back(BestPathJson(st, it->second));
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
  // Results found only by vector search (no recorded path) get the best short typed path from
  // the seed, all of them from one bounded BGL search.
  static Status FindGraphReasons(RecState* st,
                                 std::unordered_map<uint32_t, graph::Path>* reasons) {
    std::vector<uint32_t> wanted;
    std::vector<NodeId> targets;
    for (uint32_t c : st->ranked) {
      if (!RecordedPaths(*st, c).empty()) continue;
      wanted.push_back(c);
      targets.push_back(st->nodes[c]);
    }
    if (targets.empty()) return Status::OK();
    graph::PathSearchOptions options;
    options.max_hops = 3;
    options.max_expanded = kBestPathMaxExpanded;
    options.max_neighbors_per_list = kBestPathNeighborsPerList;
    options.deadline = st->deadline;
    auto paths = graph::BestPaths(*st->graph, st->seed, targets, options);
    if (!paths.ok()) {
      if (paths.status().code() == Status::Code::kDeadlineExceeded) return paths.status();
      return Status::OK();  // no seed in the graph: results are explained by their sources alone
    }
    for (size_t i = 0; i < wanted.size(); ++i) {
      const graph::Path& path = (*paths)[i];
      if (!path.empty() && path.size() <= kMaxRecordedHops) reasons->emplace(wanted[i], path);
    }
    return Status::OK();
  }

  static nlohmann::json BestPathJson(RecState* st, const graph::Path& path) {
    PathRec rec;
    rec.hops = static_cast<uint8_t>(path.size());
    rec.strength = 1;
    rec.nodes[0] = st->seed;
    for (size_t i = 0; i < path.size(); ++i) {
      const graph::PathStep& step = path[i];
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
    return PathJson(*st, rec, "graph");
  }
};

}  // namespace

std::unique_ptr<RecOp> MakeExplainOp() { return std::make_unique<ExplainOp>(); }

}  // namespace pathwise::query
