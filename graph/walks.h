// graph/: rank algorithms over the serving topology, for retrieval: random walks with restart
// (Pixie-style), personalized PageRank by local push, and RP3beta's normalized 3-step transition
// scores. They read the in-memory adjacency, never storage: by default from a compact read-only
// copy of each walked relation (an edge type in one direction, CSR arrays) built on first use
// and read without locks, falling back to the live lists under their per-node stripe locks (like
// every reader: see graph.h) for the nodes whose lists changed since the copy was built, so a
// write acknowledged before the call is always seen. Each checks its deadline every few hundred
// steps. On a deadline they return what they have so far with `deadline_hit` set: a slightly
// worse answer, never an error. docs/graph-algorithms.md gives the definitions and parameters.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "graph/graph.h"

namespace pathwise::graph {

// One hop of a walk or one relation of a push: edges of edge_type followed in direction dir.
struct Hop {
  TypeId edge_type;
  Direction dir;
};

// A start node with its weight (a user, or a user's recent items weighted by recency).
struct Seed {
  NodeId node;
  double weight = 1.0;
};

// How a hop chooses among a node's edges. Uniform and weighted choices are exact and choose a
// rank: a uniform hop draws one among the choices, a weighted hop draws a point in the summed
// weights of its choices, in rank order (a binary search over the weight sums a relation
// snapshot stores; a scan of a live list, which gives the same edge). A recency bias then rejects the drawn edge with chance 1 - 0.5^(age / half_life_ms)
// and draws again, at most kMaxSampleTries draws, after which the last draw is taken.
struct SamplingOptions {
  // Pick an edge with probability proportional to its weight (weights <= 0 or NaN count as 0;
  // a list whose weights are all <= 0 is sampled uniformly).
  bool weighted = true;
  // Recency bias: an edge's chance is multiplied by 0.5^(age / half_life_ms), age = now_ms - ts
  // (edges from the future count as age 0). 0: off.
  int64_t half_life_ms = 0;
  int64_t now_ms = 0;
  // Degree-aware sampling for hubs: a hop from a node picks among the strongest max_neighbors
  // edges of the list (its rank order: weight, then recency). 0: all.
  size_t max_neighbors = 0;
};
inline constexpr int kMaxSampleTries = 64;

struct RandomWalkOptions {
  // The hops of one cycle, repeated: {RATED out, RATED in} walks user -> item -> user -> item.
  // 1..16 hops.
  std::vector<Hop> hops;
  // Visits are counted on nodes of this type (kInvalidType: on every node a hop reaches).
  TypeId target_type = kInvalidType;
  // After each counted visit the walk jumps back to its seed with this probability (0 < p <= 1).
  double restart = 0.5;
  // Hops taken in all, shared among the seeds in proportion to their weights. At most 10^8.
  size_t total_steps = 10000;
  uint64_t random_seed = 1;  // same seed, graph and options: the same result
  SamplingOptions sampling;
  // Early stopping (Pixie): a seed's walk stops once early_stop_candidates nodes have at least
  // early_stop_visits visits from it. 0: off.
  size_t early_stop_candidates = 0;
  uint32_t early_stop_visits = 4;
  // Walkers per seed, interleaved on one thread so that each one's memory reads overlap the
  // others' work (1..64; 1 walks one hop after another). Changes which walks are drawn, not
  // their distribution. 16 (was 8 until 2026-12-05): the prefetch distance a walk over a large
  // relation needs; more gained nothing at 1M items.
  size_t lanes = 16;
  // The walk split into this many independent parts (1..16), each taking its share of
  // total_steps with its own random stream (derived from random_seed and the part's number), so
  // that a ShardRunner can run them on several threads; their visits are summed per seed before
  // the multi-seed boosting. The result depends on the number of shards, never on how they
  // were run. With early stopping, a part stops a seed's walk once early_stop_candidates nodes
  // have ceil(early_stop_visits / shards) visits in that part. 1: today's single stream.
  size_t shards = 1;
  // Visits to the seeds themselves are not counted.
  bool exclude_seeds = true;
  // Keep up to this many distinct walk paths per candidate, the most frequent first (the walk's
  // steps since its last restart, when there are at most max_path_hops of them). 0: none.
  size_t paths_per_candidate = 0;
  size_t max_path_hops = 4;
  // Read the relations from their snapshots (see above) instead of only the live lists under
  // per-node locks. Same result either way for the same seed; false is the slower reference
  // path, kept so that benchmarks and tests can compare the two.
  bool use_snapshot = true;
  Deadline deadline = Deadline::Never();
};

struct WalkPath {
  std::vector<PathStep> steps;  // from a seed to the candidate
  uint32_t visits = 0;          // times the walk reached the candidate along exactly this path
};

struct WalkCandidate {
  NodeId node;
  // Pixie's multi-seed boosting: (sum over seeds of sqrt(visits from that seed))^2, so a node
  // reached from several seeds outranks one reached as often from one seed.
  double score = 0;
  uint32_t visits = 0;  // from all seeds
  std::vector<WalkPath> paths;
};

struct WalkResult {
  std::vector<WalkCandidate> candidates;  // score descending, then node ascending
  size_t steps = 0;                       // hops taken (dead ends count as one)
  size_t restarts = 0;
  bool early_stopped = false;  // some seed stopped early
  bool deadline_hit = false;
};

// Runs the parts of a sharded walk: must call part(i) exactly once for each i in [0, n), on any
// threads and in any order, and return when all calls have returned. part never throws.
using ShardRunner = std::function<void(size_t n, const std::function<void(size_t)>& part)>;

// Random walks with restart from the seeds (seeds that do not exist or have weight <= 0 are
// skipped). A hop from a node without a matching edge restarts the walk. InvalidArgument for
// options out of range; an empty result when no seed is usable. With options.shards > 1 the
// parts run through `runner` (empty: one after another on the caller's thread).
Result<WalkResult> RandomWalk(const Graph& graph, const std::vector<Seed>& seeds,
                              const RandomWalkOptions& options, const ShardRunner& runner = {});

struct PushOptions {
  // The relations the walk may follow from any node (the graph is viewed as these edges only).
  // 1..16 hops.
  std::vector<Hop> hops;
  double alpha = 0.15;        // teleport (restart) probability, 0 < alpha < 1
  double epsilon = 1e-4;      // push until every residual r(u) < epsilon * degree(u)
  bool weighted = true;       // transitions in proportion to edge weight (<= 0 / NaN count 0)
  size_t max_pushes = 1000000;
  bool use_snapshot = true;  // as RandomWalkOptions::use_snapshot
  Deadline deadline = Deadline::Never();
};

struct PushResult {
  // Estimates p(u) of personalized PageRank, value descending then node ascending. For every
  // node p(u) <= ppr(u), and the missing mass sum(ppr - p) equals residual_sum.
  std::vector<std::pair<NodeId, double>> scores;
  double residual_sum = 0;
  size_t pushes = 0;
  bool converged = false;  // every residual is under its threshold
  bool deadline_hit = false;
};

// Personalized PageRank from the seeds (teleport distribution proportional to seed weights) by
// forward local push (Andersen, Chung, Lang 2006): ppr = alpha * s + (1 - alpha) * ppr * P, where
// P follows the hops' edges in proportion to weight, and a node with no such edge sends its mass
// back to the teleport distribution. Touches only nodes near the seeds.
Result<PushResult> PersonalizedPageRank(const Graph& graph, const std::vector<Seed>& seeds,
                                        const PushOptions& options);

struct Rp3Options {
  // The bipartite relation, read from the user's side: user -[edge_type]-> item when dir is kOut.
  Hop relation;
  double alpha = 1.0;  // each transition probability is raised to alpha
  double beta = 0.5;   // the score is divided by the item's popularity (its degree) ^ beta
  bool weighted = true;
  // Each list is read up to its strongest max_neighbors edges (0: all), so hubs stay bounded.
  size_t max_neighbors = 0;
  bool use_snapshot = true;  // as RandomWalkOptions::use_snapshot
  Deadline deadline = Deadline::Never();
};

struct Rp3Result {
  std::vector<std::pair<NodeId, double>> scores;  // score descending, then node ascending
  bool deadline_hit = false;
};

// RP3beta (Paudel et al. 2017) for one user: score(i) = sum over paths u -> j -> v -> i of
// P(u,j)^a * P(j,v)^a * P(v,i)^a, divided by degree(i)^beta, with P(x,y) = w(x,y) / sum w(x,.).
// Items the user already has an edge to are included (callers exclude them as they wish).
Result<Rp3Result> Rp3Beta(const Graph& graph, NodeId user, const Rp3Options& options);

// ---- Relation snapshots ------------------------------------------------------------------------
// One per (edge type, direction) an algorithm above has read with use_snapshot, each list's
// entries in rank order. Memory: 16 bytes per node id below the graph's id bound plus 28 bytes
// per edge of the relation (the entry and its running weight sum). A snapshot is
// rebuilt by the first reader after its edge type has seen 4096 + entries / 16 list changes
// (an edge write changes two lists); until then, changed nodes are read under their locks.

struct WalkSnapshotStats {
  size_t relations = 0;  // snapshots held
  size_t entries = 0;    // edges copied, over all of them
  size_t bytes = 0;      // memory held by them (not counting copies only old readers still hold)
  double last_build_seconds = 0;
};
WalkSnapshotStats GetWalkSnapshotStats(const Graph& graph);

// Builds the snapshot of (edge_type, dir) now, replacing the current one; returns its build
// time in seconds. For benchmarks and for warming a relation before serving.
// Returns -1 when the relation has more than 2^32 - 1 edges: it is not copied (the algorithms
// read it live).
double RebuildWalkSnapshot(const Graph& graph, TypeId edge_type, Direction dir);

}  // namespace pathwise::graph
