// Labels, similarity evidence and sentences for RECOMMEND explanations (explain_parts.h).
#include "query/explain_parts.h"

#include <algorithm>
#include <cstdio>
#include <span>
#include <string_view>

namespace pathwise::query {

nlohmann::json NodeJson(const RecState& st, NodeId id) {
  const NodeTypeDef* def = st.schema->NodeType(st.graph->TypeOf(id));
  std::string key = st.graph->KeyOf(id);
  std::string label = key;
  if (def != nullptr && !def->label.empty()) {
    graph::PropId prop = st.graph->FindProperty(def->label);
    Value v;
    if (prop != graph::kNoProp && st.graph->GetProperty(id, prop, &v)) {
      if (const auto* s = std::get_if<std::string>(&v)) {
        label = *s;
      } else if (const auto* i = std::get_if<int64_t>(&v)) {
        label = std::to_string(*i);
      }
    }
  }
  nlohmann::json j(nlohmann::json::value_t::object);
  j.emplace("type", def ? def->name : std::string());
  j.emplace("id", std::move(key));
  j.emplace("label", std::move(label));
  return j;
}

const nlohmann::json& NodeLabels::Of(NodeId id) {
  auto [it, inserted] = nodes_.try_emplace(id);
  if (inserted) it->second = NodeJson(*st_, id);
  return it->second;
}

// ---- Similarity evidence ----------------------------------------------------------------------

namespace {

// The neighbours of `node` (any edge type, either direction), most recent first: the candidates
// for its history, of which the constructor keeps the first kMaxHistory that have a vector.
std::vector<NodeId> RecentNeighbors(const RecState& st, NodeId node, size_t limit) {
  std::vector<std::pair<int64_t, NodeId>> found;
  NodeSet seen;
  for (const EdgeTypeDef& type : st.schema->edge_types()) {
    for (storage::Direction dir : {storage::Direction::kOut, storage::Direction::kIn}) {
      st.graph->ForEachNeighbor(node, type.id, dir, [&](const graph::Neighbor& nb) {
        if (seen.Insert(nb.node)) found.emplace_back(nb.ts, nb.node);
        return found.size() < 20 * limit;  // bounds the scan of a huge history
      });
    }
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<NodeId> out;
  out.reserve(found.size());
  for (const auto& [ts, n] : found) out.push_back(n);
  return out;
}

}  // namespace

SimilarityEvidence::SimilarityEvidence(RecState* st, const NearestSourcePlan& source) : st_(st) {
  index_ = st->vectors ? st->vectors->Get(source.space) : nullptr;
  if (index_ == nullptr) return;
  if (source.target == nullptr) {
    basis_ = "examples";
    if (static_cast<size_t>(source.bit) < st->nearest_examples.size()) {
      pool_ = st->nearest_examples[source.bit];
    }
  } else if (source.target->kind == BK::kVectorOf && source.target->args[0]->kind == BK::kSlot &&
             !source.target->args[0]->is_edge) {
    NodeId node = st->row[source.target->args[0]->index].node;
    if (node != kInvalidNode) {
      if (source.target->index == source.space) {
        basis_ = "node";
        pool_ = {node};
      } else {
        basis_ = "history";
        pool_ = RecentNeighbors(*st, node, kMaxHistory);
      }
    }
  }
  // The pool's vectors, read once (one index lookup each); a history keeps its kMaxHistory most
  // recent nodes that have one, the other bases keep every node (has_vector_ marks the gaps).
  dim_ = index_->def().dim;
  const bool history = std::string_view(basis_) == "history";
  const size_t keep = history ? kMaxHistory : pool_.size();
  vectors_.resize(std::min(keep, pool_.size()) * dim_);
  has_vector_.clear();
  size_t kept = 0;
  for (size_t i = 0; i < pool_.size() && kept < keep; ++i) {
    std::span<float> slot(vectors_.data() + kept * dim_, dim_);
    bool found = index_->CopyTo(pool_[i], slot);
    if (!found && history) continue;
    pool_[kept++] = pool_[i];
    has_vector_.push_back(found);
  }
  pool_.resize(kept);
  vectors_.resize(kept * dim_);
}

nlohmann::json SimilarityEvidence::For(NodeId candidate, size_t k, NodeLabels* labels) const {
  nlohmann::json out = nlohmann::json::array();
  if (index_ == nullptr || pool_.empty()) return out;
  std::vector<float> mine(dim_);
  if (!index_->CopyTo(candidate, mine)) return out;
  std::vector<std::pair<float, size_t>> scored;
  for (size_t i = 0; i < pool_.size(); ++i) {
    if (pool_[i] == candidate || !has_vector_[i]) continue;
    float similarity = index_->Similarity(mine, std::span<const float>(&vectors_[i * dim_], dim_));
    if (similarity > 0) scored.emplace_back(similarity, i);  // not alike at all: no evidence
  }
  size_t n = std::min(k, scored.size());
  std::partial_sort(scored.begin(), scored.begin() + static_cast<std::ptrdiff_t>(n), scored.end(),
                    [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t i = 0; i < n; ++i) {
    nlohmann::json e(nlohmann::json::value_t::object);
    e.emplace("kind", "similarity");
    e.emplace("node", labels->Of(pool_[scored[i].second]));
    e.emplace("similarity", scored[i].first);
    out.push_back(std::move(e));
  }
  return out;
}

// ---- Sentences --------------------------------------------------------------------------------

namespace {

std::string Num(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", x);
  return buf;
}

std::string JoinAnd(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += i + 1 == items.size() ? " and " : ", ";
    out += items[i];
  }
  return out;
}

std::string LabelOf(const nlohmann::json& node) {
  if (node.contains("label")) return node["label"].get<std::string>();
  return node.value("id", std::string());
}

using TopPaths = std::vector<const nlohmann::json*>;

// The distinct nodes right after the seed on the pulling paths, strongest first, with the weight
// and type of the edge that reached them.
struct Via {
  std::string label;
  double weight;
  std::string edge;
};
// The string at obj[key], or "" when absent or not a string (no copy, unlike json::value).
const std::string& StrAt(const nlohmann::json& obj, const char* key) {
  static const std::string kEmpty;
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get_ref<const std::string&>() : kEmpty;
}

std::vector<Via> ViaNodes(const TopPaths& top_paths, size_t n) {
  std::vector<Via> out;
  std::vector<const nlohmann::json*> seen;  // the nodes named so far (at most n)
  for (const nlohmann::json* path : top_paths) {
    const nlohmann::json& p = *path;
    if (out.size() >= n) break;
    if (StrAt(p, "effect") != "pull" || p["nodes"].size() < 3) continue;
    const nlohmann::json& node = p["nodes"][1];
    const std::string& type = StrAt(node, "type");
    const std::string& id = StrAt(node, "id");
    if (std::any_of(seen.begin(), seen.end(), [&](const nlohmann::json* other) {
          return StrAt(*other, "id") == id && StrAt(*other, "type") == type;
        })) {
      continue;
    }
    seen.push_back(&node);
    const nlohmann::json& edge = p["edges"][0];
    out.push_back({LabelOf(node), edge["weight"].get<double>(), StrAt(edge, "type")});
  }
  return out;
}

std::vector<std::pair<std::string, double>> SimilarNodes(const nlohmann::json& explanation, size_t n) {
  std::vector<std::pair<std::string, double>> out;
  for (const nlohmann::json& s : explanation["sources"]) {
    if (!s.contains("evidence")) continue;
    for (const nlohmann::json& e : s["evidence"]) {
      if (out.size() < n) out.emplace_back(LabelOf(e["node"]), e["similarity"].get<double>());
    }
  }
  return out;
}

// Renders one {name[:n[:suffix]]} placeholder; false when it has nothing to say for this result.
bool Placeholder(const std::string& spec, const nlohmann::json& explanation,
                 const TopPaths& top_paths, std::string* out) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= spec.size(); ++i) {
    if (i == spec.size() || spec[i] == ':') {
      parts.push_back(spec.substr(start, i - start));
      start = i + 1;
    }
  }
  const std::string& name = parts[0];
  size_t n = 2;
  if (parts.size() > 1 && !parts[1].empty() && parts[1].size() < 3 &&
      std::all_of(parts[1].begin(), parts[1].end(), [](char c) { return c >= '0' && c <= '9'; })) {
    n = std::max<size_t>(1, std::stoul(parts[1]));
  }
  const std::string suffix = parts.size() > 2 ? parts[2] : "";
  std::vector<std::string> items;
  if (name == "item") {
    *out = LabelOf(explanation);
    return true;
  } else if (name == "via" || name == "via_weights") {
    for (const Via& v : ViaNodes(top_paths, n)) {
      items.push_back(name == "via" ? v.label : v.label + " " + Num(v.weight) + suffix);
    }
  } else if (name == "similar") {
    for (const auto& [label, sim] : SimilarNodes(explanation, n)) {
      items.push_back(label + " (" + Num(sim) + ")");
    }
  } else if (name == "paths") {
    *out = std::to_string(explanation.value("paths_total", 0));
    return explanation.value("paths_total", 0) > 0;
  } else if (name == "score") {
    if (!explanation["score"].is_number()) return false;
    *out = Num(explanation["score"].get<double>());
    return true;
  } else {
    *out = "{" + spec + "}";  // not a placeholder: kept as written
    return true;
  }
  *out = JoinAnd(items);
  return !items.empty();
}

std::string Generated(const nlohmann::json& explanation, const TopPaths& top_paths) {
  std::vector<Via> via = ViaNodes(top_paths, 2);
  if (!via.empty()) {
    std::vector<std::string> items;
    for (const Via& v : via) items.push_back(v.label + " (" + v.edge + " " + Num(v.weight) + ")");
    size_t total = explanation.value("paths_total", 0);
    std::string out = "Because of " + JoinAnd(items);
    if (total > via.size()) out += "; " + std::to_string(total) + " paths in all";
    return out + ".";
  }
  auto similar = SimilarNodes(explanation, 2);
  if (!similar.empty()) {
    std::vector<std::string> items;
    for (const auto& [label, sim] : similar) items.push_back(label + " (similarity " + Num(sim) + ")");
    return "Similar to " + JoinAnd(items) + ".";
  }
  for (const nlohmann::json& s : explanation["sources"]) {
    if (StrAt(s, "kind") == "nearest" && s["similarity"].is_number()) {
      return "Close to the query vector in " + s.value("space", std::string()) + " (similarity " +
             Num(s["similarity"].get<double>()) + ").";
    }
  }
  for (const nlohmann::json& s : explanation["sources"]) {
    if (StrAt(s, "kind") == "walk" && !s["walk_paths"].empty()) {
      const nlohmann::json& nodes = s["walk_paths"][0]["nodes"];
      std::string out = "Reached " + std::to_string(s.value("visits", 0)) + " times by random walks";
      if (nodes.size() > 2) out += ", most often via " + LabelOf(nodes[1]);
      return out + ".";
    }
    if (StrAt(s, "kind") == "next" && s.contains("path") && s["path"]["nodes"].size() == 3) {
      return "Often comes next after " + LabelOf(s["path"]["nodes"][1]) + ", one of your most recent (score " +
             Num(s["score"].is_number() ? s["score"].get<double>() : 0.0) + ").";
    }
    if (StrAt(s, "kind") == "pagerank" || StrAt(s, "kind") == "rp3beta") {
      return std::string(StrAt(s, "kind") == "pagerank" ? "Found by personalized PageRank"
                                                           : "Found by RP3beta") +
             " (score " + Num(s["score"].is_number() ? s["score"].get<double>() : 0.0) + ").";
    }
  }
  std::vector<std::string> pulls;
  for (const nlohmann::json& t : explanation["terms"]) {
    if (StrAt(t, "effect") == "pull") pulls.push_back(t.value("label", std::string()));
  }
  if (!pulls.empty()) return "Ranked by " + JoinAnd(pulls) + ".";
  std::vector<std::string> sources;
  for (const nlohmann::json& s : explanation["sources"]) sources.push_back(s.value("name", std::string()));
  return "Found by " + JoinAnd(sources) + ".";
}

}  // namespace

std::string Sentence(const nlohmann::json& explanation, const TopPaths& top_paths,
                     const std::string& tmpl) {
  if (tmpl.empty()) return Generated(explanation, top_paths);
  std::string out;
  for (size_t i = 0; i < tmpl.size(); ++i) {
    size_t close = tmpl[i] == '{' ? tmpl.find('}', i) : std::string::npos;
    if (close == std::string::npos) {
      out += tmpl[i];
      continue;
    }
    std::string rendered;
    if (!Placeholder(tmpl.substr(i + 1, close - i - 1), explanation, top_paths, &rendered)) {
      return Generated(explanation, top_paths);
    }
    out += rendered;
    i = close;
  }
  return out;
}

}  // namespace pathwise::query
