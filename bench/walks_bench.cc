// The engine bench's "walks" section: graph/walks.h's rank algorithms over the bench graph's
// VIEWED edges, from random users (issue 12's speed targets at 1M items: a walk of 10,000 steps
// p99 <= 1 ms, personalized PageRank to residual 1e-4 p99 <= 2 ms).
#include <cstdio>
#include <random>

#include "bench/raw_floor.h"
#include "graph/walks.h"

namespace pathwise::bench {
namespace {

// A user with at least one VIEWED edge, drawn from users u0..u{users-1}.
NodeId RandomViewer(const RawCopy& raw, size_t users, std::mt19937_64& rng) {
  for (int tries = 0; tries < 100; ++tries) {
    NodeId u = raw.graph->Lookup(raw.user_type, UserId(rng() % users));
    if (u != kInvalidNode && raw.graph->Degree(u, raw.viewed, graph::Direction::kOut) > 0) return u;
  }
  return kInvalidNode;
}

}  // namespace

Status MeasureWalks(Report* report, const RawCopy& raw, size_t runs, size_t users, uint64_t seed) {
  std::mt19937_64 rng(seed);
  graph::RandomWalkOptions walk;
  walk.hops = {{raw.viewed, graph::Direction::kOut}, {raw.viewed, graph::Direction::kIn}};
  walk.target_type = raw.item_type;
  walk.restart = 0.5;
  walk.total_steps = 10000;
  walk.sampling.max_neighbors = 1000;
  graph::PushOptions push;
  push.hops = walk.hops;
  push.epsilon = 1e-4;
  graph::Rp3Options rp3;
  rp3.relation = {raw.viewed, graph::Direction::kOut};
  rp3.max_neighbors = 100;
  Samples walk_one_lane_us, walk_us, walk_early_us, push_us, rp3_us;
  double candidates = 0, pushes = 0, rp3_items = 0, early_steps = 0;
  for (size_t r = 0; r < runs; ++r) {
    NodeId user = RandomViewer(raw, users, rng);
    if (user == kInvalidNode) return Status::Internal("no user with views in the bench graph");
    std::vector<graph::Seed> seeds = {{user, 1.0}};
    walk.random_seed = seed + r;
    walk.early_stop_candidates = 0;
    walk.lanes = 1;  // one hop after another, alternating with the interleaved walk below
    double start = NowSeconds();
    PW_RETURN_IF_ERROR(graph::RandomWalk(*raw.graph, seeds, walk).status());
    walk_one_lane_us.Add((NowSeconds() - start) * 1e6);
    walk.lanes = 8;
    start = NowSeconds();
    PW_ASSIGN_OR_RETURN(graph::WalkResult w, graph::RandomWalk(*raw.graph, seeds, walk));
    walk_us.Add((NowSeconds() - start) * 1e6);
    candidates += static_cast<double>(w.candidates.size());
    walk.early_stop_candidates = 100;
    start = NowSeconds();
    PW_ASSIGN_OR_RETURN(graph::WalkResult e, graph::RandomWalk(*raw.graph, seeds, walk));
    walk_early_us.Add((NowSeconds() - start) * 1e6);
    early_steps += static_cast<double>(e.steps);
    start = NowSeconds();
    PW_ASSIGN_OR_RETURN(graph::PushResult p, graph::PersonalizedPageRank(*raw.graph, seeds, push));
    push_us.Add((NowSeconds() - start) * 1e6);
    pushes += static_cast<double>(p.pushes);
    start = NowSeconds();
    PW_ASSIGN_OR_RETURN(graph::Rp3Result q, graph::Rp3Beta(*raw.graph, user, rp3));
    rp3_us.Add((NowSeconds() - start) * 1e6);
    rp3_items += static_cast<double>(q.scores.size());
  }
  double n = static_cast<double>(std::max<size_t>(runs, 1));
  char note[160];
  std::snprintf(note, sizeof(note), "8 interleaved walkers, VIEWED out/in, restart 0.5, hubs capped at 1000; %.0f candidates avg; target p99 <= 1 ms",
                candidates / n);
  report->Latency("walks.random_walk_10k_steps", walk_us, note);
  report->Latency("walks.random_walk_10k_steps_one_lane", walk_one_lane_us,
                  "the same walk, one hop after another (lanes 1) instead of 8 interleaved walkers");
  std::snprintf(note, sizeof(note), "same, early stop at 100 candidates x 4 visits; %.0f steps avg",
                early_steps / n);
  report->Latency("walks.random_walk_early_stop", walk_early_us, note);
  std::snprintf(note, sizeof(note), "VIEWED out/in, alpha 0.15, epsilon 1e-4; %.0f pushes avg; target p99 <= 2 ms",
                pushes / n);
  report->Latency("walks.ppr_push_1e-4", push_us, note);
  std::snprintf(note, sizeof(note), "VIEWED, alpha 1, beta 0.5, lists capped at 100; %.0f items scored avg",
                rp3_items / n);
  report->Latency("walks.rp3beta", rp3_us, note);
  return Status::OK();
}

}  // namespace pathwise::bench
