// Internal to query/: the pieces RECOMMEND's Explain operator (explain.cc) assembles: nodes with
// their labels, similarity evidence for NEAREST sources, and the one-sentence summary.
// docs/explanations.md describes the JSON they produce.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "query/recommend_exec.h"

namespace pathwise::query {

// {"id", "type", "label"}: the label is the node type's label property (Schema NodeTypeDef::label)
// when the node has it, else the external id.
nlohmann::json NodeJson(const RecState& st, NodeId id);

// NodeJson for the nodes of one query's explanations, each looked up in the graph once: a node
// shows up in many paths (the seed in every one), and each lookup takes three stripe locks and,
// in a large graph, several cache misses. Not thread-safe; one per Explain run.
class NodeLabels {
 public:
  explicit NodeLabels(const RecState& st) : st_(&st) {}
  const nlohmann::json& Of(NodeId id);

 private:
  const RecState* st_;
  std::unordered_map<NodeId, nlohmann::json> nodes_;
};

// What made a NEAREST source's results near: the nodes behind its query vector, each compared
// with a result in the source's space.
//  - NEAREST TO x.v where v is the searched space: x itself;
//  - NEAREST TO x.v in another space (a user's taste vector): x's neighbours over any edge type
//    that have a vector in the searched space, the kMaxHistory most recent;
//  - MEAN(...) OVER pattern: the example nodes;
//  - a parameter vector: none (the result is near the query vector only).
class SimilarityEvidence {
 public:
  static constexpr size_t kMaxHistory = 500;
  SimilarityEvidence(RecState* st, const NearestSourcePlan& source);
  // The k pool nodes most similar to `candidate` (similarity above 0):
  // [{"kind": "similarity", "node", "similarity"}].
  nlohmann::json For(NodeId candidate, size_t k, NodeLabels* labels) const;
  // "history", "node", "examples" or "query_vector".
  const char* basis() const { return basis_; }

 private:
  const RecState* st_;
  const vector::VectorIndex* index_ = nullptr;
  const char* basis_ = "query_vector";
  std::vector<NodeId> pool_;
  size_t dim_ = 0;
  std::vector<float> vectors_;     // pool_[i]'s vector at [i * dim_, (i + 1) * dim_)
  std::vector<bool> has_vector_;   // pool_[i] has one
};

// The result's one-sentence summary, from a template (ExplainOptions::sentence) or, when it is
// empty or one of its placeholders has nothing to say for this result, generated from the
// strongest evidence. `explanation` is the result's explanation JSON (label, score, terms,
// sources, paths_total) as built so far; `top_paths` its strongest paths (path JSON).
// Placeholders: {item}, {via[:n]}, {via_weights[:n[:suffix]]}, {similar[:n]}, {paths}, {score}.
std::string Sentence(const nlohmann::json& explanation,
                     const std::vector<const nlohmann::json*>& top_paths, const std::string& tmpl);

}  // namespace pathwise::query
