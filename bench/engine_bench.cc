// `pathwise bench engine`: bulk load, restart, one-hop and two-hop expansion, k-NN latency and
// recall against exact search and raw hnswlib, synced and batched durable writes.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <unordered_set>

#include "bench/commands.h"
#include "bench/fixture.h"
#include "bench/harness.h"
#include "bench/raw_floor.h"
#include "bench/svd_bench.h"
#include "storage/crc32c.h"

namespace pathwise::bench {
namespace {

struct EngineConfig {
  std::string dir;
  size_t runs = 1000;
  size_t vector_queries = 200;
  uint64_t seed = 42;
};

Status MeasureLoad(Report* report, const LoadFigures& load, const std::string& dir) {
  if (!load.loaded) {
    report->Info("load", "reused an existing database; run without --reuse to measure the load");
    return Status::OK();
  }
  const LoadReport& r = load.report;
  report->Value("load.total_seconds", load.seconds, "s", "generation runs concurrently");
  report->Value("load.lines_per_second", r.lines / load.seconds, "lines/s");
  report->Value("load.edges_per_second", r.edges / load.seconds, "edges/s",
                "edge lines / total load time (incl. nodes, vectors, HNSW build)");
  report->Value("load.nodes", static_cast<double>(r.nodes), "nodes");
  report->Value("load.edges", static_cast<double>(r.edges), "edge lines");
  report->Value("load.vectors", static_cast<double>(r.vectors), "vectors");
  report->Value("load.errors", static_cast<double>(r.errors), "lines");
  return Status::OK();
}

// Hub nodes with exactly 10, 100, 1,000 and 10,000 out-edges, queried through PQL.
Status MeasurePqlOneHop(Report* report, Database* db, const EngineConfig& cfg, size_t items) {
  PW_RETURN_IF_ERROR(db->MergeSchema(
      R"({"node_types":[{"name":"Hub","properties":{}}],)"
      R"("edge_types":[{"name":"LINKS","mode":"replace","from":"Hub","to":"Item"}]})"));
  std::mt19937_64 rng(cfg.seed);
  for (size_t degree : {10, 100, 1000, 10000}) {
    if (degree > items) break;
    WriteSet set;
    std::string hub = "h" + std::to_string(degree);
    set.ops.push_back(NodeWrite{NodeWrite::Op::kUpsert, "Hub", hub, {}});
    std::unordered_set<size_t> targets;
    while (targets.size() < degree) targets.insert(rng() % items);
    for (size_t t : targets) {
      EdgeWrite e;
      e.type = "LINKS";
      e.from = {"Hub", hub};
      e.to = {"Item", ItemId(t)};
      e.weight = 1.0;
      set.ops.push_back(std::move(e));
    }
    PW_RETURN_IF_ERROR(db->Apply(set));
    const std::string text = "MATCH (n:Hub {id: $id})-[:LINKS]->(m) RETURN count(*)";
    nlohmann::json params = {{"id", hub}};
    Samples samples;
    for (size_t run = 0; run < cfg.runs + 10; ++run) {
      double start = NowSeconds();
      auto result = db->Query(text, params);
      double micros = (NowSeconds() - start) * 1e6;
      if (!result.ok()) return result.status();
      if (run == 0 && result->rows.dump() != "[[" + std::to_string(degree) + "]]") {
        return Status::Internal("one-hop count mismatch: " + result->rows.dump());
      }
      if (run >= 10) samples.Add(micros);
    }
    report->Latency("one_hop.pql_count.degree_" + std::to_string(degree), samples,
                    "MATCH (n:Hub {id})-[:LINKS]->(m) RETURN count(*)");
  }
  return Status::OK();
}

void ReportKnn(Report* report, const KnnSweep& sweep) {
  for (const KnnRow& row : sweep.rows) {
    std::string prefix = "knn.k" + std::to_string(row.k) + ".ef" + std::to_string(row.ef);
    report->Latency(prefix + ".pathwise", row.wrapper,
                    "recall " + std::to_string(row.wrapper_recall).substr(0, 6));
    report->Latency(
        prefix + ".raw_hnswlib", row.raw,
        "recall " + std::to_string(row.raw_recall).substr(0, 6) + ", ratio p99 " +
            std::to_string(row.wrapper.Percentile(0.99) / std::max(row.raw.Percentile(0.99), 1e-9))
                .substr(0, 5));
    report->json()["results"][prefix + ".pathwise"]["recall"] = row.wrapper_recall;
    report->json()["results"][prefix + ".raw_hnswlib"]["recall"] = row.raw_recall;
  }
  for (const auto& [k, ef] : sweep.min_ef_for_target) {
    report->Value("knn.k" + std::to_string(k) + ".min_ef_recall_0.99", static_cast<double>(ef),
                  "ef", ef == 0 ? "not reached in the sweep" : "smallest ef in the sweep");
  }
  report->Latency("knn.exact_scan_k200", sweep.exact, "SearchExact (ground truth)");
}

// The snapshot checksum's rate, which every open and close pays over the topology and HNSW
// snapshots: CRC32C of 256 MiB, the median of 5 passes.
void MeasureChecksum(Report* report) {
  std::vector<char> bytes(size_t{256} << 20);
  std::mt19937_64 rng(1);
  for (size_t i = 0; i < bytes.size(); i += 8) {
    const uint64_t word = rng();
    std::memcpy(bytes.data() + i, &word, 8);
  }
  std::vector<double> rates;
  volatile uint32_t sink = 0;  // keeps the checksum computed
  for (int pass = 0; pass < 5; ++pass) {
    const double start = NowSeconds();
    sink = storage::Crc32c(0, bytes.data(), bytes.size());
    rates.push_back(static_cast<double>(bytes.size()) / (NowSeconds() - start) / 1e9);
  }
  (void)sink;
  std::sort(rates.begin(), rates.end());
  report->Value("restart.checksum_gb_per_s", rates[2], "GB/s",
                "CRC32C of 256 MiB, median of 5");
}

Status MeasureWrites(Report* report, Database* db, const EngineConfig& cfg, size_t items,
                     size_t users) {
  std::mt19937_64 rng(cfg.seed + 1);
  auto random_edge = [&]() {
    EdgeWrite e;
    e.type = "VIEWED";
    e.from = {"User", UserId(rng() % users)};
    e.to = {"Item", ItemId(rng() % items)};
    e.weight = 1.0;
    return e;
  };
  Samples single;
  size_t single_runs = std::min<size_t>(cfg.runs, 2000);
  for (size_t run = 0; run < single_runs; ++run) {
    WriteSet set;
    set.ops.push_back(random_edge());
    double start = NowSeconds();
    PW_RETURN_IF_ERROR(db->Apply(set, WriteOptions{true}));
    single.Add((NowSeconds() - start) * 1e6);
  }
  report->Latency("write.single_edge_synced", single, "Apply, 1 edge, sync=true");

  const size_t kBatch = 1000;
  const size_t batches = 100;
  std::vector<WriteSet> sets(batches);
  for (auto& set : sets) {
    for (size_t i = 0; i < kBatch; ++i) set.ops.push_back(random_edge());
  }
  Samples batch_latency;
  double start = NowSeconds();
  for (const auto& set : sets) {
    double t0 = NowSeconds();
    PW_RETURN_IF_ERROR(db->Apply(set, WriteOptions{true}));
    batch_latency.Add((NowSeconds() - t0) * 1e6);
  }
  double seconds = NowSeconds() - start;
  report->Latency("write.batch_1000_synced", batch_latency, "Apply, 1000-edge WriteSet, sync");
  report->Value("write.batch_1000_synced.edges_per_second", batches * kBatch / seconds, "edges/s",
                "target >= 100k edges/s");

  // ApplyMany: 10 sets of 1000 edges per durable commit.
  std::vector<WriteSet> group;
  for (size_t i = 0; i < 10; ++i) {
    WriteSet set;
    for (size_t j = 0; j < kBatch; ++j) set.ops.push_back(random_edge());
    group.push_back(std::move(set));
  }
  start = NowSeconds();
  const size_t groups = 10;
  for (size_t g = 0; g < groups; ++g) {
    auto outcomes = db->ApplyMany(group, WriteOptions{true});
    for (const auto& o : outcomes) PW_RETURN_IF_ERROR(o.status);
  }
  seconds = NowSeconds() - start;
  report->Value("write.apply_many_10x1000_synced.edges_per_second", groups * 10 * kBatch / seconds,
                "edges/s");
  return Status::OK();
}

Status Run(const Flags& flags, Report* report) {
  EngineConfig cfg;
  GeneratorOptions gen = GeneratorFromFlags(flags);
  cfg.dir = flags.Get("data", "/tmp/pathwise-bench-" + std::to_string(gen.items));
  cfg.runs = static_cast<size_t>(flags.GetInt("runs", 1000));
  cfg.vector_queries = static_cast<size_t>(flags.GetInt("vector-queries", 200));
  cfg.seed = gen.seed;
  report->Info("config", {{"items", gen.items},
                          {"users", gen.users},
                          {"dim", gen.dim},
                          {"data", cfg.dir},
                          {"runs", cfg.runs}});

  // --sections load,raw,pql,knn,walks,writes,restart (default: all of these), svd and
  // hnsw_build (only when named: the svd job on a copy of the data; two more HNSW builds of the
  // item vectors).
  const std::string sections =
      "," + flags.Get("sections", "load,raw,pql,knn,walks,writes,restart") + ",";
  auto want = [&](const char* name) {
    return sections.find("," + std::string(name) + ",") != std::string::npos;
  };
  LoadFigures load;
  PW_ASSIGN_OR_RETURN(auto db, OpenBenchDatabase(cfg.dir, gen, !flags.Has("reuse"), &load));
  if (want("load")) {
    PW_RETURN_IF_ERROR(MeasureLoad(report, load, cfg.dir));
    PW_RETURN_IF_ERROR(db->Checkpoint());
    report->Value("disk.bytes", static_cast<double>(DirectoryBytes(cfg.dir)), "bytes",
                  "data directory (RocksDB + HNSW snapshots)");
    report->Info("database_stats", db->Stats());
  }

  // Raw floors on graphs built directly.
  if (want("raw")) {
    for (const auto& [name, samples] : RawOneHop(cfg.runs, cfg.seed)) {
      report->Latency(name, samples);
    }
    TwoHopSamples two_hop = RawTwoHop(cfg.runs * 20, cfg.seed);
    report->Latency("two_hop_50x20.raw_top_neighbors", two_hop.ranked,
                    "TopNeighbors 50 then 20 each, sum(w1*w2), top 10; target p99 <= 20 us");
    report->Latency("two_hop_50x20.raw_unranked", two_hop.unranked,
                    "ForEachNeighbor first 50 then first 20, same aggregation");
  }

  if (Status s = want("pql") ? MeasurePqlOneHop(report, db.get(), cfg, gen.items) : Status::OK();
      !s.ok()) {
    report->Info("one_hop_pql_error", s.ToString());
    std::fprintf(stderr, "one-hop through PQL failed: %s\n", s.ToString().c_str());
  }

  if (want("knn") || want("walks") || want("hnsw_build")) {
    PW_ASSIGN_OR_RETURN(auto raw, OpenRawCopy(db.get(), cfg.dir + ".rawcopy"));
    if (want("hnsw_build")) {
      PW_RETURN_IF_ERROR(MeasureHnswBuild(report, *raw,
                                          load.loaded ? load.report.phases.vectors : -1.0,
                                          load.loaded ? load.indexing_cpu_seconds : -1.0,
                                          cfg.vector_queries, gen.users, cfg.seed,
                                          static_cast<size_t>(flags.GetInt("hnsw-builds", 1))));
    }
    if (want("knn")) {
      PW_ASSIGN_OR_RETURN(KnnSweep sweep, SweepKnn(*raw, cfg.vector_queries, gen.users, cfg.seed));
      ReportKnn(report, sweep);
    }
    if (want("walks")) {
      PW_RETURN_IF_ERROR(MeasureWalks(report, *raw, std::min<size_t>(cfg.runs, 2000), gen.users,
                                      cfg.seed));
      PW_RETURN_IF_ERROR(MeasureWalkRecommend(report, db.get(), std::min<size_t>(cfg.runs, 2000),
                                              gen.users, cfg.seed));
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(cfg.dir + ".rawcopy", ec);

  if (want("svd")) {
    PW_RETURN_IF_ERROR(MeasureSvd(report, db.get(), cfg.dir + ".svdcopy",
                                  std::min<size_t>(cfg.runs, 2000), gen.users, gen.items,
                                  cfg.seed));
  }
  if (want("writes")) {
    PW_RETURN_IF_ERROR(MeasureWrites(report, db.get(), cfg, gen.items, gen.users));
  }
  if (!want("restart")) return Status::OK();

  // Restart: close, reopen, first recommend answer.
  double start = NowSeconds();
  db.reset();
  // The size of the topology snapshot the close wrote (the open deletes it).
  std::error_code size_ec;
  const auto topology_bytes = std::filesystem::file_size(cfg.dir + "/topology", size_ec);
  double closed = NowSeconds();
  PW_ASSIGN_OR_RETURN(db, Database::Open({}, cfg.dir));
  double opened = NowSeconds();
  auto first = db->Query(kRecommendQuery, {{"user", UserId(1)}, {"max_price", 1000.0}},
                         BenchQueryOptions(gen));
  double answered = NowSeconds();
  report->Value("restart.close_seconds", closed - start, "s",
                "incl. HNSW and topology snapshot saves");
  report->Value("restart.topology_snapshot_mb", size_ec ? 0.0 : topology_bytes / 1048576.0, "MB",
                "written by the close above; 0: none");
  report->Value("restart.open_seconds", opened - closed, "s");
  report->Info("restart.topology_loaded_from", db->Stats()["topology_loaded_from"]);
  if (!first.ok()) return first.status();
  report->Value("restart.first_answer_seconds", answered - closed, "s",
                "open + first recommend query; target <= 15 s");
  MeasureChecksum(report);
  return Status::OK();
}

}  // namespace

int EngineMain(int argc, char** argv) {
  return RunCommand("engine", argc, argv,
      {"ef-construction", "items", "data", "json", "runs", "seed", "reuse", "vector-queries",
       "hnsw-builds", "sections"},
      Run);
}

}  // namespace pathwise::bench
