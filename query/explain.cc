// RECOMMEND explanations (docs/explanations.md): per result its label, the score split into
// named terms that add up to it, each path's signed contribution to its term (a page of them,
// strongest first), the sources that found it with their evidence (similarity evidence for
// NEAREST, a context path for graph sources that feed no term), optional checks and properties,
// and a one-sentence summary. Results with no path at all get a short path from the seed
// (graph::BestPaths, one bounded search for all of them) marked as context, not as a reason.
#include <algorithm>
#include <cmath>
#include <optional>
#include <unordered_map>

#include "query/contributions.h"
#include "query/expr_eval.h"
#include "query/explain_parts.h"
#include "query/rank_sources.h"

namespace pathwise::query {

namespace {

// Bounds of the one BestPaths search per query: nodes expanded, and edges followed per
// (node, edge type, direction), strongest first, so a hub (a genre, a best seller) costs
// O(cap) rather than O(degree).
constexpr size_t kBestPathMaxExpanded = 2000;
constexpr size_t kBestPathNeighborsPerList = 32;
// Similarity evidence nodes per NEAREST source and result.
constexpr size_t kSimilarityEvidence = 3;
// Paths the sentence looks at (it names at most two distinct nodes; templates up to
// {via:n} with n <= this).
constexpr size_t kSentencePaths = 4;

// The explanation is built straight into nlohmann::json, one allocation per value: objects get
// their fields by emplace (a braced {{"key", value}, ...} list first builds a two-element array
// per field, and copies any lvalue json in it), arrays are reserved, node objects come from
// NodeLabels, and nothing is built twice.
nlohmann::json Number(double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(); }

const char* Effect(double x) { return x > 0 ? "pull" : x < 0 ? "push" : "none"; }

nlohmann::json Object() { return nlohmann::json(nlohmann::json::value_t::object); }

nlohmann::json Array(size_t reserve) {
  nlohmann::json a = nlohmann::json::array();
  a.get_ref<nlohmann::json::array_t&>().reserve(reserve);
  return a;
}

nlohmann::json EdgeJson(const RecState& st, const Slot& e, NodeId from) {
  const EdgeTypeDef* def = st.schema->EdgeType(e.type);
  nlohmann::json j = Object();
  j.emplace("type", def ? def->name : std::string());
  j.emplace("direction", e.node == from ? "out" : "in");
  j.emplace("weight", e.weight);
  j.emplace("ts", e.ts);
  j.emplace("count", e.count);
  return j;
}

// Adds the path's "nodes" and "edges" to the object *j.
void AddPathJson(const RecState& st, NodeLabels* labels, const PathRec& p, nlohmann::json* j) {
  nlohmann::json nodes = Array(p.hops + 1u);
  nlohmann::json edges = Array(p.hops);
  for (size_t i = 0; i <= p.hops; ++i) nodes.push_back(labels->Of(p.nodes[i]));
  for (size_t i = 0; i < p.hops; ++i) edges.push_back(EdgeJson(st, p.edges[i], p.nodes[i]));
  j->emplace("nodes", std::move(nodes));
  j->emplace("edges", std::move(edges));
}

// A logged path with its contribution (or as context).
nlohmann::json ContributionJson(const RecState& st, NodeLabels* labels, const ResultContributions& rc,
                                const PathContribution& pc) {
  const LoggedPath& logged = st.path_log[pc.log];
  nlohmann::json j = Object();
  j.emplace("kind", pc.feeds_term ? "path" : "context");
  j.emplace("source", st.rec->source_names[logged.rec.source]);
  if (pc.feeds_term) {
    j.emplace("term", rc.terms[pc.main_term].name);
    j.emplace("contribution", Number(pc.total));
    j.emplace("effect", Effect(pc.total));
    if (pc.terms.size() > 1) {
      nlohmann::json by_term = Object();
      for (const auto& [t, value] : pc.terms) by_term[rc.terms[t].name] = Number(value);
      j.emplace("contributions", std::move(by_term));
    }
  }
  AddPathJson(st, labels, logged.rec, &j);
  return j;
}

nlohmann::json TermsJson(const RecState& st, ResultContributions* rc) {
  double magnitude = 0;
  for (const TermValue& t : rc->terms) {
    if (t.value.IsNumber()) magnitude += std::fabs(t.value.AsDouble());
  }
  nlohmann::json terms = Array(rc->terms.size());
  for (size_t i = 0; i < rc->terms.size(); ++i) {
    TermValue& t = rc->terms[i];
    nlohmann::json j = Object();
    // The name is copied (the paths' "term" reads it); label and text are moved: nothing
    // else reads them.
    j.emplace("name", t.name);
    j.emplace("label", std::move(t.label));
    j.emplace("expr", std::move(t.text));
    j.emplace("value", ToJson(t.value, st.graph, st.schema));
    if (t.value.IsNumber()) {
      double v = t.value.AsDouble();
      j.emplace("share", magnitude > 0 ? Number(v / magnitude) : nlohmann::json(0.0));
      j.emplace("effect", Effect(v));
    }
    if (rc->decomposed[i]) j.emplace("paths", rc->term_paths[i]);
    terms.push_back(std::move(j));
  }
  return terms;
}

class ExplainOp : public RecOp {
 public:
  ExplainOp() : RecOp("Explain") {}

 protected:
  Status Execute(RecState* st, OpCounts* counts) const override {
    if (!st->explain) return Status::OK();
    static const ExplainOptions kDefaults;
    const ExplainOptions& options = st->options ? st->options->explain_options : kDefaults;
    counts->rows_in = st->ranked.size();
    std::vector<std::vector<uint32_t>> logged = LoggedPathsOfResults(*st);
    std::vector<std::optional<SimilarityEvidence>> similarity(st->num_sources());
    for (const NearestSourcePlan& n : st->rec->nearest_sources) similarity[n.bit].emplace(st, n);
    NodeLabels labels(*st);
    std::vector<nlohmann::json> explanations;
    explanations.reserve(st->ranked.size());
    for (size_t r = 0; r < st->ranked.size(); ++r) {
      if (!st->Tick()) return st->error;
      explanations.push_back(Explain(st, &labels, r, logged[r], similarity, options));
      counts->rows_out++;
    }
    PW_RETURN_IF_ERROR(AddRankPaths(st, &labels, &explanations));
    if (options.context) PW_RETURN_IF_ERROR(AddContextPaths(st, &labels, &explanations));
    st->explanations.get_ref<nlohmann::json::array_t&>().reserve(explanations.size());
    for (nlohmann::json& e : explanations) st->explanations.push_back(std::move(e));
    return Status::OK();
  }

 private:
  // Per result (in ranked order): the indices of its logged paths, in the order found.
  static std::vector<std::vector<uint32_t>> LoggedPathsOfResults(const RecState& st) {
    std::vector<int32_t> position(st.nodes.size(), -1);
    for (size_t r = 0; r < st.ranked.size(); ++r) position[st.ranked[r]] = static_cast<int32_t>(r);
    std::vector<std::vector<uint32_t>> out(st.ranked.size());
    for (size_t i = 0; i < st.path_log.size(); ++i) {
      int32_t r = position[st.path_log[i].candidate];
      if (r >= 0) out[r].push_back(static_cast<uint32_t>(i));
    }
    return out;
  }

  static nlohmann::json Explain(RecState* st, NodeLabels* labels, size_t r,
                                const std::vector<uint32_t>& logged,
                                const std::vector<std::optional<SimilarityEvidence>>& similarity,
                                const ExplainOptions& options) {
    const uint32_t c = st->ranked[r];
    const NodeId node = st->nodes[c];
    ResultContributions rc = ContributionsOf(st, c, logged);
    nlohmann::json e = labels->Of(node);
    e.emplace("rank", st->offset + r + 1);
    e.emplace("score", Number(st->scores[c]));
    e.emplace("sources", SourcesJson(st, labels, c, rc, similarity));
    const size_t begin = std::min(options.offset, rc.paths.size());
    const size_t end = std::min(rc.paths.size(), options.offset + options.paths);
    nlohmann::json page = Array(end - begin);
    for (size_t i = begin; i < end; ++i) page.push_back(ContributionJson(*st, labels, rc, rc.paths[i]));
    const nlohmann::json& page_paths = *e.emplace("paths", std::move(page)).first;
    // The sentence reads the strongest contributing paths: the page's when it starts at 0.
    std::vector<nlohmann::json> off_page;
    size_t n_top = 0;
    for (; n_top < rc.paths.size() && n_top < kSentencePaths && rc.paths[n_top].feeds_term; ++n_top) {
      if (options.offset == 0 && n_top < page_paths.size()) continue;
      off_page.push_back(ContributionJson(*st, labels, rc, rc.paths[n_top]));
    }
    std::vector<const nlohmann::json*> top;
    for (size_t i = 0, k = 0; i < n_top; ++i) {
      top.push_back(options.offset == 0 && i < page_paths.size() ? &page_paths[i] : &off_page[k++]);
    }
    e.emplace("terms", TermsJson(*st, &rc));
    e.emplace("paths_total", rc.paths.size());
    e.emplace("paths_offset", options.offset);
    if (st->path_log_full) e.emplace("paths_complete", false);
    if (!options.properties.empty()) e.emplace("properties", PropertiesJson(*st, node, options.properties));
    if (options.checks) e.emplace("checks", ChecksJson(st, c));
    e.emplace("sentence", Sentence(e, top, options.sentence));
    return e;
  }

  // The sources that found candidate c: graph sources with their path counts (and a context path
  // when none of their paths feeds a term), NEAREST sources with their similarity evidence.
  static nlohmann::json SourcesJson(RecState* st, NodeLabels* labels, uint32_t c,
                                    const ResultContributions& rc,
                                    const std::vector<std::optional<SimilarityEvidence>>& similarity) {
    const RecommendPlan& rec = *st->rec;
    const size_t n = st->num_sources();
    nlohmann::json sources = Array(n);
    for (size_t s = 0; s < n; ++s) {
      if ((st->masks[c] >> s & 1) == 0) continue;
      nlohmann::json j = Object();
      j.emplace("name", rec.source_names[s]);
      if (const RankSourcePlan* rank = RankSourceOf(rec, static_cast<int>(s))) {
        RankSourceJson(st, labels, *rank, c, &j);
      } else if (similarity[s]) {
        const NearestSourcePlan* plan = nullptr;
        for (const NearestSourcePlan& p : rec.nearest_sources) {
          if (p.bit == static_cast<int>(s)) plan = &p;
        }
        const VectorSpaceDef* space = st->schema->Space(plan->space);
        j.emplace("kind", "nearest");
        j.emplace("space", space ? space->FullName() : std::string());
        j.emplace("similarity", Number(st->source_values[c * n + s]));
        j.emplace("basis", similarity[s]->basis());
        j.emplace("evidence", similarity[s]->For(st->nodes[c], kSimilarityEvidence, labels));
      } else {
        j.emplace("kind", "graph");
        j.emplace("paths", st->path_counts[c * n + s]);
        const PathContribution* first = nullptr;
        bool feeds = false;
        for (const PathContribution& p : rc.paths) {
          if (st->path_log[p.log].rec.source != static_cast<int>(s)) continue;
          feeds |= p.feeds_term;
          if (first == nullptr) first = &p;
        }
        if (!feeds && first != nullptr) j.emplace("context", ContributionJson(*st, labels, rc, *first));
      }
      sources.push_back(std::move(j));
    }
    return sources;
  }

  // A rank source's evidence: its score and, for WALK, the visits and the most visited walk
  // paths (real edges, with their visit counts); PAGERANK and RP3BETA name their algorithm.
  static void RankSourceJson(RecState* st, NodeLabels* labels, const RankSourcePlan& rank, uint32_t c,
                             nlohmann::json* j) {
    const size_t n = st->num_sources();
    (*j)["kind"] = RankKind(rank.algorithm);
    (*j)["score"] = Number(st->source_values[c * n + rank.bit]);
    if (rank.algorithm == ast::RankAlgorithm::kNext) {
      (*j)["reason"] = "follows the FOR node's most recent items";
      graph::Path path = NextPath(st, rank, st->nodes[c]);
      if (!path.empty()) (*j)["path"] = BestPathJson(st, labels, path);
      return;
    }
    if (rank.algorithm != ast::RankAlgorithm::kWalk) {
      (*j)["reason"] = rank.algorithm == ast::RankAlgorithm::kPageRank
                           ? "found by personalized PageRank from the FOR node"
                           : "found by RP3beta's 3-step transitions from the FOR node";
      return;
    }
    (*j)["visits"] = st->path_counts[c * n + rank.bit];
    nlohmann::json paths = nlohmann::json::array();
    if (static_cast<size_t>(rank.bit) < st->walk_paths.size()) {
      auto it = st->walk_paths[rank.bit].find(c);
      if (it != st->walk_paths[rank.bit].end()) {
        for (const graph::WalkPath& p : it->second) {
          nlohmann::json path = BestPathJson(st, labels, p.steps);
          path["visits"] = p.visits;
          paths.push_back(std::move(path));
        }
      }
    }
    (*j)["walk_paths"] = std::move(paths);
  }

  static nlohmann::json PropertiesJson(const RecState& st, NodeId node,
                                       const std::vector<std::string>& names) {
    nlohmann::json out = nlohmann::json::object();
    for (const std::string& name : names) {
      graph::PropId prop = st.graph->FindProperty(name);
      Value v;
      if (prop != graph::kNoProp && st.graph->GetProperty(node, prop, &v)) {
        out[name] = ToJson(FromProperty(std::move(v)), st.graph, st.schema);
      }
    }
    return out;
  }

  // The candidate conjuncts of WHERE, each with its value for candidate c (a result passed all).
  static nlohmann::json ChecksJson(RecState* st, uint32_t c) {
    const RecommendPlan& rec = *st->rec;
    EvalEnv env = st->CandidateEnv(c);
    nlohmann::json checks = nlohmann::json::array();
    auto add = [&](const std::vector<BoundExprPtr>& exprs, const std::vector<std::string>& texts,
                   const char* kind) {
      for (size_t i = 0; i < exprs.size() && i < texts.size(); ++i) {
        checks.push_back({{"kind", kind}, {"expr", texts[i]}, {"passed", EvalPredicate(*exprs[i], env)}});
      }
    };
    add(rec.candidate_filters, rec.candidate_filter_texts, "filter");
    add(rec.candidate_excludes, rec.candidate_exclude_texts, "pattern");
    return checks;
  }

  static bool HasSourcePath(const nlohmann::json& explanation) {
    for (const nlohmann::json& s : explanation["sources"]) {
      if (s.contains("walk_paths") && !s["walk_paths"].empty()) return true;
      if (s.contains("path")) return true;
    }
    return false;
  }

  // PAGERANK and RP3BETA results get, in their source's entry, the best short path from the seed
  // over the source's own edge types (one bounded search per source): real edges the algorithm
  // could have followed, not the exact mass it moved.
  static Status AddRankPaths(RecState* st, NodeLabels* labels,
                             std::vector<nlohmann::json>* explanations) {
    for (const RankSourcePlan& rank : st->rec->rank_sources) {
      // WALK records its own paths, NEXT its best contribution (RankSourceJson).
      if (rank.algorithm == ast::RankAlgorithm::kWalk || rank.algorithm == ast::RankAlgorithm::kNext) continue;
      std::vector<size_t> wanted;
      std::vector<NodeId> targets;
      for (size_t r = 0; r < explanations->size(); ++r) {
        if ((st->masks[st->ranked[r]] >> rank.bit & 1) == 0) continue;
        wanted.push_back(r);
        targets.push_back(st->nodes[st->ranked[r]]);
      }
      if (targets.empty()) continue;
      graph::PathSearchOptions options;
      options.max_hops = rank.algorithm == ast::RankAlgorithm::kRp3Beta ? 3 : kMaxRecordedHops;
      options.max_expanded = kBestPathMaxExpanded;
      options.max_neighbors_per_list = kBestPathNeighborsPerList;
      options.deadline = st->deadline;
      for (const graph::Hop& hop : rank.hops) options.edge_types.push_back(hop.edge_type);
      auto paths = graph::BestPaths(*st->graph, st->seed, targets, options);
      if (!paths.ok()) {
        if (paths.status().code() == Status::Code::kDeadlineExceeded) return paths.status();
        continue;
      }
      for (size_t i = 0; i < wanted.size(); ++i) {
        const graph::Path& path = (*paths)[i];
        if (path.empty() || path.size() > kMaxRecordedHops) continue;
        for (nlohmann::json& s : (*explanations)[wanted[i]]["sources"]) {
          if (s.value("name", "") == rank.name) s["path"] = BestPathJson(st, labels, path);
        }
      }
    }
    return Status::OK();
  }

  // With ExplainOptions::context, results with no logged path (nor walk path) get the best short
  // typed path from the seed as context, all of them from one bounded BGL search.
  static Status AddContextPaths(RecState* st, NodeLabels* labels,
                                std::vector<nlohmann::json>* explanations) {
    std::vector<size_t> wanted;
    std::vector<NodeId> targets;
    for (size_t r = 0; r < explanations->size(); ++r) {
      if ((*explanations)[r]["paths_total"].get<size_t>() > 0 || HasSourcePath((*explanations)[r])) continue;
      wanted.push_back(r);
      targets.push_back(st->nodes[st->ranked[r]]);
    }
    if (targets.empty() || !st->seed_found) return Status::OK();
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
      if (path.empty() || path.size() > kMaxRecordedHops) continue;
      nlohmann::json context = BestPathJson(st, labels, path);
      context["kind"] = "context";
      context["note"] = "a short path from the seed; it played no part in finding or scoring this result";
      (*explanations)[wanted[i]]["context"] = nlohmann::json::array({context});
    }
    return Status::OK();
  }

  static nlohmann::json BestPathJson(RecState* st, NodeLabels* labels, const graph::Path& path) {
    PathRec rec;
    rec.hops = static_cast<uint8_t>(path.size());
    rec.nodes[0] = path.empty() ? st->seed : path[0].from;  // a walk may start at a recent item
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
    }
    nlohmann::json j = Object();
    AddPathJson(*st, labels, rec, &j);
    return j;
  }
};

}  // namespace

std::unique_ptr<RecOp> MakeExplainOp() { return std::make_unique<ExplainOp>(); }

}  // namespace pathwise::query
