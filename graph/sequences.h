// graph/: sequence models over timestamped edges. ItemTransitions counts which items follow which
// in the users' histories (the transitions job's model: item -> item edges); NextItems scores
// the items that follow a user's most recent ones over such edges (RECOMMEND's NEXT source).
// Both read the in-memory adjacency. docs/graph-algorithms.md, "Transitions and NEXT", gives the
// definitions.
#pragma once

#include <cstddef>
#include <functional>
#include <utility>
#include <vector>

#include "graph/similarity.h"
#include "graph/walks.h"

namespace pathwise::graph {

inline constexpr size_t kMaxTransitionWindow = 100;

struct TransitionOptions {
  // The history: edges of edge_type from nodes of user_type to nodes of item_type, ordered per
  // user by (ts, item id).
  TypeId edge_type = kInvalidType;
  TypeId user_type = kInvalidType;
  TypeId item_type = kInvalidType;
  // Item b follows item a at distance d when b comes d positions after a in one user's ordered
  // history, 1 <= d <= window (1..kMaxTransitionWindow). Each such pair adds 1 / d to a -> b;
  // when a and b have the same timestamp their order is unknown and the pair adds 1 / d to
  // b -> a as well.
  size_t window = 5;
  // Top-k successors kept per item (1..kMaxSimilarityK).
  size_t k = 50;
  // Each user's history is read up to its most recent n edges (0: all).
  size_t max_items_per_user = 0;
  // The pairs are collected in memory (12 bytes each) before they are summed: InvalidArgument,
  // before anything is allocated, when the relation would produce more than this many bytes of
  // them (counting every pair twice, as if every timestamp were shared).
  size_t max_pair_bytes = size_t{4} << 30;
  // Called on the calling thread about every 200 ms and once at the end with (users done,
  // users in all).
  std::function<void(size_t, size_t)> progress;
};

// InvalidArgument naming the first option out of range.
Status ValidateTransitionOptions(const TransitionOptions& options);

struct TransitionResult {
  // The items with at least one successor, in id order; the successors of items[n] are
  // neighbors[offsets[n] .. offsets[n + 1]), score descending, then node id ascending, never the
  // item itself.
  std::vector<NodeId> items;
  std::vector<size_t> offsets;
  std::vector<ScoredItem> neighbors;
  size_t users = 0;           // users with at least two items in their history
  size_t relation_edges = 0;  // history edges read (after max_items_per_user)
  size_t pairs = 0;           // (a, b, 1/d) contributions summed
};

// The transition model of the relation (see TransitionOptions). InvalidArgument for bad options
// or a relation past max_pair_bytes.
Result<TransitionResult> ItemTransitions(const Graph& graph, const TransitionOptions& options);

struct NextOptions {
  Hop history;  // user -> item, e.g. RATED out
  Hop follow;   // item -> next item, e.g. the transitions job's output type, out
  // Seeds: the user's `recent` most recent history neighbours (ts descending, then node id),
  // 1..100. A seed's weight is decay^r, r the number of distinct timestamps among the seeds
  // newer than its own (seeds with the same timestamp weigh the same), 0 < decay <= 1.
  size_t recent = 10;
  double decay = 0.5;
  // A follow edge counts its weight (else 1; weights <= 0 or NaN count 0).
  bool weighted = true;
  Deadline deadline = Deadline::Never();
};

struct NextResult {
  // score(c) = sum over seeds m with an edge m -> c of weight(m) * w(m -> c); score descending,
  // then node ascending; only scores > 0. Seeds themselves are included (callers exclude what
  // the user has seen as they wish).
  std::vector<std::pair<NodeId, double>> scores;
  std::vector<Seed> seeds;  // as defined above, most recent first
  bool deadline_hit = false;  // the seeds read so far are summed
};

// InvalidArgument for options out of range; an empty result for a user without history.
Result<NextResult> NextItems(const Graph& graph, NodeId user, const NextOptions& options);

// The path user -> m -> candidate of the seed m that contributes most to candidate's NextItems
// score (ties: the most recent seed); empty when no seed reaches it.
Path NextBestPath(const Graph& graph, NodeId user, NodeId candidate, const NextOptions& options);

}  // namespace pathwise::graph
