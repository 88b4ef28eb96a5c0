// graph/: item-item similarity over a bipartite relation (user -[edge_type]-> item), the model
// the item-similarity job (jobs/, docs/jobs.md) writes back as weighted edges. Reads the
// in-memory adjacency (one list at a time under its stripe lock, like every reader), snapshots
// the relation into compact arrays, then accumulates co-occurrences per item on all cores.
// The result depends only on the relation read, never on the thread count or scheduling, and an
// item's row depends only on the relation, so rows computed alone (incremental runs, see
// SimilarityOptions::previous) equal those of a run over every item.
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

// 64-bit fingerprints of the counted relation (after caps and weights), each sorted by node id:
// per item, of its (user, r) pairs; per user with a counted edge, of its (item, r) pairs. Two
// runs whose fingerprints of a node are equal read the same list for it (up to hash collisions).
struct SimilarityFingerprints {
  std::vector<std::pair<NodeId, uint64_t>> items;
  std::vector<std::pair<NodeId, uint64_t>> users;
};

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
  // Incremental runs: when set, the relation read is compared with these fingerprints of an
  // earlier run (same options otherwise) and rows are computed only for the items whose row can
  // differ from that run's: the changed items C (fingerprint differs or new), every item sharing
  // a user with an item of C (its score with it, or that item's norm, may have changed), and
  // every item of a user whose list changed (a pair may have lost its common user). Every other
  // item's row is the earlier run's. The caller keeps it alive during the call.
  const SimilarityFingerprints* previous = nullptr;
  // With previous: when more than this share of the items needs recomputing, every row is
  // computed (SimilarityResult::partial is false), 0..1.
  double max_recompute_share = 0.5;
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
  // Every item (node of item_type) in id order, or when partial only the recomputed items (in
  // id order); neighbours of items[n] are
  // neighbors[offsets[n] .. offsets[n + 1]), score descending, then node id ascending, never
  // the item itself, only scores > 0.
  std::vector<NodeId> items;
  std::vector<size_t> offsets;
  std::vector<ScoredItem> neighbors;
  size_t users = 0;           // users with at least one counted edge
  size_t relation_edges = 0;  // edges counted after the caps
  size_t items_total = 0;     // nodes of item_type
  // With options.previous: true when only the items that can have changed were computed (see
  // SimilarityOptions::previous), false when the share was exceeded and all were.
  bool partial = false;
  // With options.previous: items whose fingerprint differs, new items and items gone.
  size_t items_changed = 0;
  SimilarityFingerprints fingerprints;  // of the relation read, for the next incremental run
};

// Top-k similar items per item (see SimilarityMeasure). InvalidArgument for bad options.
Result<SimilarityResult> ItemSimilarity(const Graph& graph, const SimilarityOptions& options);

}  // namespace pathwise::graph
