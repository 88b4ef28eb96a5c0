// graph/: item-item similarity over a bipartite relation (user -[edge_type]-> item), the model
// the item-similarity job (jobs/, docs/jobs.md) writes back as weighted edges. Reads the
// in-memory adjacency (one list at a time under its stripe lock, like every reader), snapshots
// the relation into compact arrays, then accumulates co-occurrences per item on all cores.
// The result depends only on the relation read, never on the thread count or scheduling.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "graph/graph.h"

namespace pathwise::graph {

// r(u,i): the edge weight when weighted, else 1. For items i, j with common users C:
//   cosine             sum_C r(u,i) r(u,j) / (sqrt(S2(i)) sqrt(S2(j)) + shrink)
//   asymmetric_cosine  sum_C r(u,i) r(u,j) / (S2(i)^alpha S2(j)^(1-alpha) + shrink)
//   jaccard            sum_C min(r(u,i), r(u,j)) / (S1(i) + S1(j) - sum_C min(..) + shrink)
// with S2(i) = sum over i's users of r(u,i)^2 and S1(i) = sum of r(u,i). Unweighted Jaccard is
// |C| / |U(i) u U(j)|; asymmetric cosine with alpha 0.5 is cosine.
enum class SimilarityMeasure : uint8_t { kCosine, kJaccard, kAsymmetricCosine };
const char* SimilarityMeasureName(SimilarityMeasure m);  // "cosine", "jaccard", ...
// InvalidArgument naming the accepted names for anything else.
Result<SimilarityMeasure> ParseSimilarityMeasure(std::string_view name);

inline constexpr size_t kMaxSimilarityK = 1000;

struct SimilarityOptions {
  TypeId edge_type = kInvalidType;  // the relation user -[edge_type]-> item
  TypeId item_type = kInvalidType;  // items are the nodes of this type (the edges' targets)
  SimilarityMeasure measure = SimilarityMeasure::kCosine;
  size_t k = 50;         // neighbours kept per item, 1..kMaxSimilarityK
  double alpha = 0.5;    // asymmetric_cosine only, 0..1
  double shrink = 0;     // added to every denominator, >= 0: damps pairs with little support
  uint32_t min_cooccurrence = 1;  // a pair needs at least this many common users (>= 1)
  // Hub caps (0: none). An edge u -> i counts only when it is among i's strongest
  // max_users_per_item edges and among u's strongest max_items_per_user edges (TopNeighbors'
  // order: weight, then recency, then node id), so one hub costs at most cap^2 accumulations.
  size_t max_users_per_item = 0;
  size_t max_items_per_user = 0;
  // r(u,i) = the edge weight (edges with weight <= 0 or NaN are left out); else every edge is 1.
  bool weighted = false;
  size_t threads = 0;  // 0: std::thread::hardware_concurrency()
  // Called on the calling thread about every 200 ms and once at the end with (items done,
  // items in all).
  std::function<void(size_t, size_t)> progress;
};

// InvalidArgument naming the first parameter out of range.
Status ValidateSimilarityOptions(const SimilarityOptions& options);

struct ScoredItem {
  NodeId node;
  float score;
};

struct SimilarityResult {
  // Every item (node of item_type) in id order; neighbours of items[n] are
  // neighbors[offsets[n] .. offsets[n + 1]), score descending, then node id ascending, never
  // the item itself, only scores > 0.
  std::vector<NodeId> items;
  std::vector<size_t> offsets;
  std::vector<ScoredItem> neighbors;
  size_t users = 0;           // users with at least one counted edge
  size_t relation_edges = 0;  // edges counted after the caps
};

// Top-k similar items per item (see SimilarityMeasure). InvalidArgument for bad options.
Result<SimilarityResult> ItemSimilarity(const Graph& graph, const SimilarityOptions& options);

}  // namespace pathwise::graph
