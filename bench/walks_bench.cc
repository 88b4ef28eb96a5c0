// The engine bench's "walks" section: graph/walks.h's rank algorithms over the bench graph's
// VIEWED edges, from random users, directly and as RECOMMEND sources through PQL (issue 12's
// speed targets at 1M items: a walk of 10,000 steps p99 <= 1 ms, personalized PageRank to
// residual 1e-4 p99 <= 2 ms, a full RECOMMEND using a walk source plus NEAREST p99 <= 3 ms).
// Each algorithm runs over the relation snapshots and over the live lists under their locks
// (use_snapshot false), alternating per user in the same run, and the snapshots' build time and
// memory are reported.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <thread>
#include <string>
#include <vector>

#include "bench/generator.h"
#include "bench/raw_floor.h"
#include "db/database.h"
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

// Builds the VIEWED snapshots (both directions) `builds` times each; returns the build times.
Samples MeasureSnapshotBuilds(Report* report, const RawCopy& raw, size_t builds) {
  Samples build_us;
  for (size_t b = 0; b < builds; ++b) {
    for (graph::Direction dir : {graph::Direction::kOut, graph::Direction::kIn}) {
      build_us.Add(graph::RebuildWalkSnapshot(*raw.graph, raw.viewed, dir) * 1e6);
    }
  }
  graph::WalkSnapshotStats stats = graph::GetWalkSnapshotStats(*raw.graph);
  report->Value("walks.snapshot_bytes", static_cast<double>(stats.bytes), "bytes",
                std::to_string(stats.relations) + " relations, " + std::to_string(stats.entries) +
                    " entries (VIEWED out and in)");
  return build_us;
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
  Samples walk_locked_us, walk_16_lanes_us, push_locked_us, rp3_locked_us;
  double candidates = 0, pushes = 0, rp3_items = 0, early_steps = 0;
  Samples build_us = MeasureSnapshotBuilds(report, raw, 3);
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
    walk.use_snapshot = false;
    start = NowSeconds();
    PW_RETURN_IF_ERROR(graph::RandomWalk(*raw.graph, seeds, walk).status());
    walk_locked_us.Add((NowSeconds() - start) * 1e6);
    walk.use_snapshot = true;
    start = NowSeconds();
    PW_ASSIGN_OR_RETURN(graph::WalkResult w, graph::RandomWalk(*raw.graph, seeds, walk));
    walk_us.Add((NowSeconds() - start) * 1e6);
    walk.lanes = 16;
    start = NowSeconds();
    PW_RETURN_IF_ERROR(graph::RandomWalk(*raw.graph, seeds, walk).status());
    walk_16_lanes_us.Add((NowSeconds() - start) * 1e6);
    walk.lanes = 8;
    candidates += static_cast<double>(w.candidates.size());
    walk.early_stop_candidates = 100;
    start = NowSeconds();
    PW_ASSIGN_OR_RETURN(graph::WalkResult e, graph::RandomWalk(*raw.graph, seeds, walk));
    walk_early_us.Add((NowSeconds() - start) * 1e6);
    early_steps += static_cast<double>(e.steps);
    push.use_snapshot = false;
    start = NowSeconds();
    PW_RETURN_IF_ERROR(graph::PersonalizedPageRank(*raw.graph, seeds, push).status());
    push_locked_us.Add((NowSeconds() - start) * 1e6);
    push.use_snapshot = true;
    start = NowSeconds();
    PW_ASSIGN_OR_RETURN(graph::PushResult p, graph::PersonalizedPageRank(*raw.graph, seeds, push));
    push_us.Add((NowSeconds() - start) * 1e6);
    pushes += static_cast<double>(p.pushes);
    rp3.use_snapshot = false;
    start = NowSeconds();
    PW_RETURN_IF_ERROR(graph::Rp3Beta(*raw.graph, user, rp3).status());
    rp3_locked_us.Add((NowSeconds() - start) * 1e6);
    rp3.use_snapshot = true;
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
  report->Latency("walks.random_walk_10k_steps_locked", walk_locked_us,
                  "the same walk over the live lists under per-node locks (use_snapshot false)");
  report->Latency("walks.random_walk_10k_steps_16_lanes", walk_16_lanes_us,
                  "the same walk with 16 interleaved walkers (a longer prefetch distance)");
  report->Latency("walks.random_walk_10k_steps_one_lane", walk_one_lane_us,
                  "the same walk, one hop after another (lanes 1) instead of 8 interleaved walkers");
  std::snprintf(note, sizeof(note), "same, early stop at 100 candidates x 4 visits; %.0f steps avg",
                early_steps / n);
  report->Latency("walks.random_walk_early_stop", walk_early_us, note);
  std::snprintf(note, sizeof(note), "VIEWED out/in, alpha 0.15, epsilon 1e-4; %.0f pushes avg; target p99 <= 2 ms",
                pushes / n);
  report->Latency("walks.ppr_push_1e-4", push_us, note);
  report->Latency("walks.ppr_push_1e-4_locked", push_locked_us,
                  "the same push over the live lists under per-node locks");
  std::snprintf(note, sizeof(note), "VIEWED, alpha 1, beta 0.5, lists capped at 100; %.0f items scored avg",
                rp3_items / n);
  report->Latency("walks.rp3beta", rp3_us, note);
  report->Latency("walks.rp3beta_locked", rp3_locked_us,
                  "the same RP3beta over the live lists under per-node locks");
  report->Latency("walks.snapshot_build", build_us,
                  "one VIEWED relation (one direction) copied into a snapshot, 3 builds each way");
  return Status::OK();
}

namespace {

// Walk settings of the PQL rows: those of MeasureWalks' interleaved walk.
constexpr char kWalkSource[] =
    "FROM WALK OVER -[:VIEWED]->, <-[:VIEWED]- {steps: 10000, restart: 0.5, max_neighbors: 1000, "
    "seed: 1} AS walk";

struct PqlRow {
  const char* name;
  std::string text;
  const char* note;
};

constexpr char kWalkSource2Shards[] =
    "FROM WALK OVER -[:VIEWED]->, <-[:VIEWED]- {steps: 10000, restart: 0.5, max_neighbors: 1000, "
    "seed: 1, shards: 2} AS walk";

constexpr char kHead[] = "RECOMMEND (c:Item) FOR (u:User {id: $user}) ";

std::string WalkPlusNearest() {
  return std::string(kHead) + kWalkSource +
         " FROM NEAREST 100 TO u.taste IN Item.embedding AS taste"
         " WHERE c.in_stock AND NOT (u)-[:VIEWED]->(c)"
         " SCORE 0.5 * log(1 + source_score('walk')) + 0.5 * similarity(c.embedding, u.taste)"
         " LIMIT 20";
}

std::vector<PqlRow> PqlRows() {
  const std::string head = kHead;
  return {
      {"walks.pql_walk_10k_steps", head + kWalkSource + " WHERE NOT (u)-[:VIEWED]->(c) LIMIT 20",
       "RECOMMEND with one WALK source (as walks.random_walk_10k_steps), LIMIT 20"},
      {"walks.pql_walk_10k_steps_2_shards",
       head + kWalkSource2Shards + " WHERE NOT (u)-[:VIEWED]->(c) LIMIT 20",
       "the same walk in 2 shards ({shards: 2}): one part on the query's thread, one on a source "
       "thread when idle"},
      {"walks.pql_walk_plus_nearest", WalkPlusNearest(),
       "WALK + NEAREST 100, in_stock filter, SCORE over both, LIMIT 20; target p99 <= 3 ms at 1M"},
      {"walks.pql_pagerank_1e-4",
       head + "FROM PAGERANK OVER -[:VIEWED]- {epsilon: 0.0001} AS ppr"
              " WHERE NOT (u)-[:VIEWED]->(c) LIMIT 20",
       "RECOMMEND with one PAGERANK source (as walks.ppr_push_1e-4), LIMIT 20"},
      // Needs the transitions job's output in the database (skipped without FOLLOWED_BY):
      // pathwise jobs run transitions --data DIR --edge VIEWED --output FOLLOWED_BY
      {"walks.pql_next",
       head + "FROM NEXT OVER -[:VIEWED]->, -[:FOLLOWED_BY]-> {recent: 5, decay: 0.3} AS nxt"
              " WHERE c.in_stock AND NOT (u)-[:VIEWED]->(c) LIMIT 20",
       "RECOMMEND with one NEXT source over the transitions job's FOLLOWED_BY edges (5 most "
       "recent views), in_stock filter, LIMIT 20"},
  };
}

// The WALK + NEAREST query with its sources in parallel and one after another
// (QueryOptions::parallel_sources), for new random users, each user's pair in alternating order:
// the first query of a pair reads the user's part of the graph cold, the second warm.
Status MeasureParallelSources(Report* report, Database* db, size_t runs, size_t users,
                              std::mt19937_64& rng) {
  const std::string text = WalkPlusNearest();
  Samples parallel, sequential;
  size_t ran_parallel = 0;
  for (size_t r = 0; r < runs + 10; ++r) {
    const nlohmann::json params = {{"user", UserId(rng() % users)}};
    for (int k = 0; k < 2; ++k) {
      const bool in_parallel = (k == 0) == (r % 2 == 0);
      QueryOptions options;
      options.parallel_sources = in_parallel;
      double start = NowSeconds();
      auto result = db->Query(text, params, options);
      double micros = (NowSeconds() - start) * 1e6;
      if (!result.ok()) return result.status();
      if (r < 10) continue;
      (in_parallel ? parallel : sequential).Add(micros);
      if (in_parallel && result->stats.value("parallel_sources", false)) ++ran_parallel;
    }
  }
  report->Latency("walks.pql_walk_plus_nearest.parallel_sources", parallel,
                  "WALK + NEAREST 100 as above, sources in parallel; pairs in alternating order");
  report->Latency("walks.pql_walk_plus_nearest.sequential_sources", sequential,
                  "the same query and users, sources one after another (parallel_sources off)");
  report->Value("walks.pql_walk_plus_nearest.ran_in_parallel", static_cast<double>(ran_parallel),
                "queries", "stats.parallel_sources of the parallel runs");
  return Status::OK();
}

}  // namespace

// The first walk over a relation queues its snapshot's build in the background and reads the
// live lists until it is installed (docs/graph-algorithms.md): runs one walk query, then waits
// until the snapshots' memory has not changed for a second (at most 60 s), so that the rows
// measure the steady state.
Status WaitForWalkSnapshots(Database* db, size_t users) {
  auto first = db->Query(PqlRows()[0].text, {{"user", UserId(users / 2)}});
  if (!first.ok()) return first.status();
  double start = NowSeconds(), stable_since = start;
  int64_t last = -1;
  while (NowSeconds() - start < 60) {
    int64_t bytes = db->Stats()["memory_bytes"].value("walk_snapshots", int64_t{0});
    if (bytes != last) stable_since = NowSeconds();
    if (bytes > 0 && NowSeconds() - stable_since >= 1.0) break;
    last = bytes;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return Status::OK();
}

Status MeasureWalkRecommend(Report* report, Database* db, size_t runs, size_t users, uint64_t seed) {
  PW_RETURN_IF_ERROR(WaitForWalkSnapshots(db, users));
  std::vector<PqlRow> rows = PqlRows();
  bool has_transitions = false;
  PW_RETURN_IF_ERROR(db->ReadGraph([&](const graph::Graph&, const Schema& schema) {
    has_transitions = schema.FindEdgeType("FOLLOWED_BY") != nullptr;
    return Status::OK();
  }));
  if (!has_transitions) {
    std::erase_if(rows, [](const PqlRow& row) { return std::string(row.name) == "walks.pql_next"; });
    report->Info("walks.pql_next", "skipped: no FOLLOWED_BY edges (pathwise jobs run transitions "
                                   "--data DIR --edge VIEWED --output FOLLOWED_BY)");
  }
  std::vector<Samples> samples(rows.size()), walk_us(rows.size());
  std::vector<double> results(rows.size(), 0);
  std::mt19937_64 rng(seed);
  for (size_t r = 0; r < runs + 10; ++r) {
    const nlohmann::json params = {{"user", UserId(rng() % users)}};
    for (size_t i = 0; i < rows.size(); ++i) {  // the rows alternate per user
      double start = NowSeconds();
      auto result = db->Query(rows[i].text, params);
      double micros = (NowSeconds() - start) * 1e6;
      if (!result.ok()) return result.status();
      if (r < 10) continue;  // warm-up (plan cache, page cache)
      samples[i].Add(micros);
      results[i] += static_cast<double>(result->rows.size());
      // The WALK source's own time (its source_stats entry), where the row has one.
      const nlohmann::json& walk = result->stats["source_stats"]["walk"];
      if (walk.is_object() && walk.contains("us")) walk_us[i].Add(walk["us"].get<double>());
    }
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    char note[256];
    std::snprintf(note, sizeof(note), "%s; %.1f rows avg", rows[i].note,
                  results[i] / static_cast<double>(std::max<size_t>(runs, 1)));
    report->Latency(rows[i].name, samples[i], note);
    if (walk_us[i].size() > 0) {
      report->Latency(std::string(rows[i].name) + ".walk_source", walk_us[i],
                      "the WALK source alone (stats.source_stats.walk.us); target p99 <= 1 ms");
    }
  }
  return MeasureParallelSources(report, db, runs, users, rng);
}

}  // namespace pathwise::bench
