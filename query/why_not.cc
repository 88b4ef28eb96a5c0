// Why-not reports for RECOMMEND (QueryOptions::why_not; docs/explanations.md, "Why not"): was
// the item a candidate, and from which sources; if a source did not find it, why (outside the
// fan-out caps, no path, not within NEAREST's k, filtered during the search, no vector); which
// WHERE conjuncts removed it, with their values; and the score and rank it would have had
// without the removal.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "query/explain_parts.h"
#include "query/expr_eval.h"
#include "query/pattern_exec.h"

namespace pathwise::query {

namespace {

// Bindings the uncapped walk of one graph source may visit before it gives up.
constexpr size_t kMaxWhyNotSteps = 2'000'000;

std::string Num(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", x);
  return buf;
}

NodeId FindItem(const RecState& st, const std::string& id) {
  const TypeId type = st.rec->target.type;
  if (type != kInvalidType) return st.graph->Lookup(type, id);
  for (const NodeTypeDef& def : st.schema->node_types()) {
    NodeId n = st.graph->Lookup(def.id, id);
    if (n != kInvalidNode) return n;
  }
  return kInvalidNode;
}

// Paths of graph source g from its anchors to `item` with every fan-out cap lifted (and at most
// kMaxWhyNotSteps bindings); *exhausted when that bound stopped the walk.
size_t UncappedPaths(RecState* st, size_t g, NodeId item, bool* exhausted) {
  const GraphSourcePlan& src = st->rec->graph_sources[g];
  const PatternSpec& p = src.pattern;
  std::vector<Slot> row = st->row;
  for (size_t s = 2; s < row.size(); ++s) row[s] = Slot();
  PatternWalk w;
  InitWalk(&w, p, src.order, st, row.data());
  w.ignore_caps = true;
  w.env.st = st;
  w.env.row = row.data();
  size_t steps = 0, found = 0;
  *exhausted = false;
  auto on_bind = [&](size_t k) {
    if (++steps > kMaxWhyNotSteps) {
      *exhausted = true;
      return false;
    }
    for (const auto& f : src.filters_at[k]) {
      if (!EvalPredicate(*f, w.env)) return false;
    }
    return true;
  };
  auto on_done = [&]() {
    if (w.nodes[src.target] == item) ++found;
    return !*exhausted;
  };
  const NodeSpec& anchor = p.nodes[src.anchor];
  for (NodeId start : AnchorNodes(st, anchor, src.anchor_is_seed)) {
    if (!st->Tick() || *exhausted) break;
    w.nodes[src.anchor] = start;
    row[anchor.slot].node = start;
    if (!NodeMatches(anchor, start, w.env) || !on_bind(0)) continue;
    if (src.order.size() == 1) {
      on_done();
      continue;
    }
    if (!WalkPattern(&w, 1, on_bind, on_done)) break;
  }
  return found;
}

std::string GraphReason(RecState* st, size_t g, NodeId item) {
  const GraphSourcePlan& src = st->rec->graph_sources[g];
  bool exhausted = false;
  size_t paths = UncappedPaths(st, g, item, &exhausted);
  if (paths > 0) {
    return "outside the fan-out caps: " + std::to_string(paths) + " path" +
           (paths == 1 ? "" : "s") + " of " + src.pattern.text +
           " reach it when no MAX applies (raise MAX ... PER NODE or the hop's MAX)";
  }
  if (exhausted) {
    return "not reached within " + std::to_string(kMaxWhyNotSteps) +
           " steps of the uncapped walk of " + src.pattern.text;
  }
  return "no path of " + src.pattern.text + " (with its WHERE conditions) reaches it";
}

std::string NearestReason(RecState* st, const NearestSourcePlan& n, NodeId item, bool filtered) {
  const vector::VectorIndex* index = st->vectors ? st->vectors->Get(n.space) : nullptr;
  const VectorSpaceDef* space = st->schema->Space(n.space);
  const std::string name = space ? space->FullName() : std::string("its space");
  if (index == nullptr || !index->Contains(item)) return "it has no vector in " + name;
  if (filtered) return "the WHERE conditions on the candidate excluded it during the search";
  if (static_cast<size_t>(n.bit) >= st->nearest_queries.size() ||
      st->nearest_queries[n.bit].empty()) {
    return "the search had no query vector";
  }
  auto similarity = index->SimilarityTo(item, st->nearest_queries[n.bit]);
  if (!similarity.ok()) return "its similarity could not be computed";
  size_t found = 0;
  double kth = INFINITY;
  const size_t sources = st->num_sources();
  for (size_t c = 0; c < st->nodes.size(); ++c) {
    if ((st->masks[c] >> n.bit & 1) == 0) continue;
    ++found;
    kth = std::min(kth, st->source_values[c * sources + n.bit]);
  }
  if (found == 0) return "the search found nothing (similarity " + Num(*similarity) + ")";
  if (*similarity < kth) {
    return "not within NEAREST's k (" + std::to_string(found) + " found): similarity " +
           Num(*similarity) + ", the last one found had " + Num(kth);
  }
  return "the approximate search missed it although its similarity " + Num(*similarity) +
         " is above the last one found (" + Num(kth) + "); raise EF";
}

// Whether a conjunct passed for the item, and what it evaluated to.
struct Check {
  const char* kind;
  const std::string* text;
  const BoundExpr* expr;
  bool uses_sources;
  RtValue value;
};

std::vector<Check> Checks(RecState* st, NodeId item, int32_t c) {
  const RecommendPlan& rec = *st->rec;
  EvalEnv env;
  if (c >= 0) {
    env = st->CandidateEnv(static_cast<uint32_t>(c));
  } else {
    st->row[1].node = item;
    env.st = st;
    env.row = st->row.data();
  }
  std::vector<Check> out;
  auto add = [&](const std::vector<BoundExprPtr>& exprs, const std::vector<std::string>& texts,
                 const char* kind) {
    for (size_t i = 0; i < exprs.size() && i < texts.size(); ++i) {
      bool sources = (exprs[i]->flags & kUsesSources) != 0;
      out.push_back({kind, &texts[i], exprs[i].get(), sources,
                     sources && c < 0 ? RtValue() : Eval(*exprs[i], env)});
    }
  };
  add(rec.candidate_filters, rec.candidate_filter_texts, "filter");
  add(rec.candidate_excludes, rec.candidate_exclude_texts, "pattern");
  return out;
}

bool Passed(const Check& check) { return check.value.IsBool() && check.value.AsBool(); }

// What decided a failed conjunct: its result and, for a comparison or IN (possibly under NOT),
// the values of its two sides.
nlohmann::json ValuesOf(RecState* st, const Check& check, NodeId item, int32_t c) {
  nlohmann::json values = {{"result", ToJson(check.value, st->graph, st->schema)}};
  const BoundExpr* e = check.expr;
  if (e->kind == BK::kNot) e = e->args[0].get();
  if ((e->kind != BK::kCompare && e->kind != BK::kIn) || e->args.size() != 2) return values;
  EvalEnv env;
  if (c >= 0) {
    env = st->CandidateEnv(static_cast<uint32_t>(c));
  } else {
    st->row[1].node = item;
    env.st = st;
    env.row = st->row.data();
  }
  values["left"] = ToJson(Eval(*e->args[0], env), st->graph, st->schema);
  values["right"] = ToJson(Eval(*e->args[1], env), st->graph, st->schema);
  return values;
}

std::string Verdict(const nlohmann::json& r, const std::vector<std::string>& found_by,
                    const std::vector<std::string>& removed, const std::vector<std::string>& missed) {
  std::string label = r["item"]["label"].get<std::string>();
  auto join = [](const std::vector<std::string>& items, const char* sep) {
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
    return out;
  };
  std::string ranked;
  if (r["rank"].is_number()) {
    ranked = "it would have ranked " + std::to_string(r["rank"].get<size_t>());
    if (r["score"].is_number()) ranked += " with score " + Num(r["score"].get<double>());
  }
  if (r["in_results"].get<bool>()) {
    return label + " is in the results at rank " + std::to_string(r["rank"].get<size_t>()) + ".";
  }
  if (!r["candidate"].get<bool>()) {
    return label + " was never a candidate: " + join(missed, "; ") + ".";
  }
  std::string out = label + " was a candidate (" + join(found_by, ", ") + ")";
  if (!removed.empty()) {
    out += " but was removed by " + join(removed, " and ");
    if (!ranked.empty()) out += "; without that, " + ranked;
    return out + ".";
  }
  return out + " and passed every condition, but " + ranked + ", past the LIMIT of " +
         std::to_string(r["limit"].get<size_t>()) + " (or DIVERSIFY held it back).";
}

// 1 + the survivors that rank above score `score` of node `node` (score descending, null last,
// ties by node id), as TopK orders them.
size_t RankAmongSurvivors(const RecState& st, double score, NodeId node) {
  size_t above = 0;
  for (uint32_t s : st.survivors) {
    if (st.nodes[s] == node) continue;
    double x = st.scores[s];
    bool nx = std::isnan(x), ny = std::isnan(score);
    bool better = nx != ny ? ny : (!nx && x != score) ? x > score : st.nodes[s] < node;
    if (better) ++above;
  }
  return above + 1;
}

}  // namespace

Result<nlohmann::json> WhyNot(RecState* st, const std::string& id) {
  const RecommendPlan& rec = *st->rec;
  const NodeId item = FindItem(*st, id);
  if (item == kInvalidNode) {
    const NodeTypeDef* type = st->schema->NodeType(rec.target.type);
    return Status::NotFound("why_not: there is no " + (type ? type->name + " " : std::string("node ")) +
                            "with id '" + id + "'");
  }
  nlohmann::json r = {{"item", NodeJson(*st, item)}, {"limit", st->limit}};
  if (!st->seed_found || !st->global_pass) {
    r["candidate"] = false;
    r["in_results"] = false;
    r["verdict"] = st->seed_found ? "The conditions on the FOR node failed; nothing was recommended."
                                  : "The FOR node was not found; nothing was recommended.";
    return r;
  }
  const uint32_t found = st->index.Find(item);
  const int32_t c = found == NodeIndexMap::kMissing ? -1 : static_cast<int32_t>(found);
  std::vector<Check> checks = Checks(st, item, c);
  bool filtered = false;  // a candidate-only conjunct failed: NEAREST would not have kept it
  for (const Check& check : checks) filtered |= !check.uses_sources && !Passed(check);
  std::vector<std::string> found_by, removed, missed;
  nlohmann::json sources = nlohmann::json::array();
  const size_t n = st->num_sources();
  for (size_t s = 0; s < n; ++s) {
    nlohmann::json j = {{"name", rec.source_names[s]}};
    if (c >= 0 && (st->masks[c] >> s & 1)) {
      j["found"] = true;
      j["paths"] = st->path_counts[c * n + s];
      found_by.push_back(rec.source_names[s]);
    } else {
      std::string reason = item == st->seed ? "it is the FOR node itself" : "";
      for (size_t g = 0; reason.empty() && g < rec.graph_sources.size(); ++g) {
        if (rec.graph_sources[g].bit == static_cast<int>(s)) reason = GraphReason(st, g, item);
      }
      for (const NearestSourcePlan& p : rec.nearest_sources) {
        if (reason.empty() && p.bit == static_cast<int>(s)) reason = NearestReason(st, p, item, filtered);
      }
      const RankSourcePlan* rank = RankSourceOf(rec, static_cast<int>(s));
      if (reason.empty() && rank != nullptr) {
        reason = rank->algorithm == ast::RankAlgorithm::kWalk
                     ? "not visited by the walks, or not within the source's top"
                     : "no score from the FOR node over the source's relations, or not within the source's top";
      }
      j["found"] = false;
      j["reason"] = reason;
      missed.push_back(rec.source_names[s] + ": " + reason);
    }
    sources.push_back(std::move(j));
  }
  nlohmann::json removed_by = nlohmann::json::array();
  for (const Check& check : checks) {
    if (Passed(check) || (check.uses_sources && c < 0)) continue;
    removed_by.push_back({{"kind", check.kind},
                          {"expr", *check.text},
                          {"values", ValuesOf(st, check, item, c)}});
    removed.push_back(*check.text + " (" + ToJson(check.value, st->graph, st->schema).dump() + ")");
  }
  st->row[1].node = item;
  EvalEnv env;
  env.st = st;
  env.row = st->row.data();
  if (!NodeMatches(rec.target, item, env)) {
    removed_by.push_back({{"kind", "candidate"}, {"expr", "the candidate node pattern"}});
    removed.push_back("the candidate node pattern");
  }
  const bool in_results =
      c >= 0 && std::find(st->ranked.begin(), st->ranked.end(), static_cast<uint32_t>(c)) != st->ranked.end();
  r["candidate"] = c >= 0;
  r["sources"] = std::move(sources);
  r["removed_by"] = std::move(removed_by);
  r["in_results"] = in_results;
  if (c >= 0) {
    double score = ScoreOf(st, static_cast<uint32_t>(c));
    r["score"] = std::isnan(score) ? nlohmann::json() : nlohmann::json(score);
    r["rank"] = RankAmongSurvivors(*st, score, item);
    if (in_results) {
      auto it = std::find(st->ranked.begin(), st->ranked.end(), static_cast<uint32_t>(c));
      r["rank"] = st->offset + static_cast<size_t>(it - st->ranked.begin()) + 1;
    }
  } else {
    r["score"] = nullptr;
    r["rank"] = nullptr;
  }
  r["verdict"] = Verdict(r, found_by, removed, missed);
  return r;
}

}  // namespace pathwise::query
