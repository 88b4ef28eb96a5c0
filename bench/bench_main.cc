// `pathwise bench ...` entry point and the `generate` subcommand.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>

#include "bench/bench.h"
#include "bench/commands.h"
#include "bench/generator.h"
#include "bench/harness.h"

namespace pathwise::bench {
namespace {

constexpr const char* kUsage = R"(usage: pathwise bench <command> [options]

  generate --items N --out FILE.ndjson [--seed S] [--dim D] [--users U] [--no-vectors]
      Writes the synthetic shop graph as NDJSON ("-" for stdout).
  engine   --items N [--data DIR] [--json FILE] [--runs R] [--reuse] [--vector-queries Q]
           [--sections load,raw,pql,knn,walks,writes,restart,svd,hnsw_build] [--hnsw-builds B]
      Bulk load, disk size, restart, one/two-hop expansion, k-NN latency and recall against
      exact search and raw hnswlib, random walks / personalized PageRank / RP3beta over the
      VIEWED edges, synced and batched durable writes; only when named: the svd job, and
      hnsw_build (the item vectors built B times each by raw hnswlib and by Pathwise, recall@10
      at ef 64 of each index).
  query    [--items N] [--data DIR] [--runs R] [--max-price P] [--floor-ef EF] [--json FILE]
      The recommend query per stage, side by side with the raw floor in the same run.
  http     [--items N] [--data DIR] [--clients C] [--seconds S] [--runs R] [--json FILE]
           [--url http://127.0.0.1:PORT [--key KEY]] [--sections latency,saturation,events,single]
           [--explain 0|1]
      The recommend query over HTTP vs in-process, saturation throughput, event ingestion
      (batches of 1000 and single events). Loopback only; --seconds is capped at 120. The query
      runs without EXPLAIN (issue 14's HTTP targets) unless --explain 1.
  overrun  [--items N] [--data DIR] [--runs R] [--deadlines 10,50,1000] [--parse] [--json FILE]
      Heavy queries (4-hop expansions, 10,000-element IN lists, 60 KB expressions) at each
      deadline: how long past the deadline they return (p50/p99/max). --parse: also the parse
      and bind times of the largest texts the limits admit.
  decide   [--items N] [--data DIR] [--runs R] [--seconds S] [--threads T] [--open-clients C]
           [--deadline-ms 50] [--source-budget-ms 20] [--fault-ms 200]
           [--sections latency,impressions,caps,cache,fault,overload] [--json FILE]
           [--max-running-steps N (overload section; 0 = the cores)] [--overload-log 0|1]
      Decisions (a surface with a two-source recipe, a fallback, a popular list, three rules)
      vs the bare recipe query in the same run; impression logging on vs off (same run) and
      impressions/s logged under concurrent decisions; the popular-list cache hit vs miss; the
      candidate cache: a user's first decision (miss) vs their second (hit) vs the bare query; one source
      or the whole recipe delayed by fault injection (T threads); saturation (T threads, closed
      loop), then an open loop at twice that rate from C pacing threads (default 160).

  explain  [--items N] [--data DIR] [--runs R] [--max-price P] [--json FILE]
      The recommend query with and without EXPLAIN, alternating, in the same run (wall-clock and
      thread CPU time); why-not for a bought item (removed) and a random item (usually never a
      candidate).

  load     [--items N] [--data DIR] [--load-items M] [--seconds S] [--exclusive] [--json FILE]
      A catalog load beside serving, on a copy of the bench database: the recommend query and
      single synced events from one thread each, S seconds alone (default 10), then while a
      generated catalog of M items (default N/5; another seed, so the same ids with new values)
      is loaded; latency of both in each period, the load's rate, writer turns and phases.
      --exclusive: the load holds the writer role throughout (for comparison).

  loop     [--items 2000] [--users 300] [--rounds 20] [--k 10] [--seed 42] [--json FILE]
           [--svg FILE] (pathwise bench loop --help for every flag)
      Simulated users over HTTP against a fresh database: CTR per round of an exploring surface
      (Thompson sampling), the same without exploration and a popularity surface; coverage, a
      liked new item's uptake, IPS/SNIPS of the exploit policy from the exploring log.

  counters [--events 1000000] [--batch 1000] [--items 10000] [--users 50000] [--runs 3]
           [--data DIR] [--export-only] [--keep] [--reuse] [--json FILE]
      Events through the real apply path (ApplyMany of POST /v1/events-shaped sets, one synced
      commit per batch) into three fresh databases, round-robin: edge and dedupe key only, plus
      the event log entry, plus five declared counters; then `export features` over the logged
      events (the logs folded into fresh counters, every value written out). --export-only
      writes the third database alone; --keep leaves it in DIR; --reuse opens the one kept in
      DIR (same --events) and times its open and the export only.

  replace  [--points 100000] [--dim 128] [--replace N/5] [--shares 1,0.25,0.1,0]
           [--moves far,near] [--queries 1000] [--threads 2] [--ef-construction 200] [--json FILE]
      Replacing vectors of an HNSW index in place: time per replacement and recall@10 at ef 64
      afterwards, per neighbour-repair share, for points moved far (another cluster) and near
      (their own), beside a fresh build of the same final vectors.

Common: --items (default 100000), --seed (42), --ef-construction (HNSW build, default 200).
--data defaults to /tmp/pathwise-bench-<items>. query, http, overrun and decide reuse a database
generated with the same --items/--seed; engine reloads it unless --reuse. A directory is only ever deleted if
it is empty or was created by pathwise bench.
)";

}  // namespace

int GenerateMain(int argc, char** argv) {
  Flags flags(argc, argv);
  auto unknown = flags.Unknown({"items", "out", "seed", "dim", "users", "no-vectors", "help"});
  if (!unknown.empty() || flags.Has("help") || !flags.Has("out")) {
    std::fprintf(stderr, "%s", kUsage);
    return flags.Has("help") ? 0 : 2;
  }
  GeneratorOptions options;
  options.items = static_cast<size_t>(flags.GetInt("items", 100000));
  options.users = static_cast<size_t>(flags.GetInt("users", 0));
  options.seed = static_cast<uint64_t>(flags.GetInt("seed", 42));
  options.dim = static_cast<uint32_t>(flags.GetInt("dim", 128));
  options.vectors = !flags.Has("no-vectors");
  if (options.items == 0 || options.dim == 0 || options.dim > 4096) {
    std::fprintf(stderr, "--items must be >= 1 and --dim in [1, 4096]\n");
    return 2;
  }
  std::string out_path = flags.Get("out", "-");
  std::ofstream file;
  std::ostream* out = &std::cout;
  if (out_path != "-") {
    file.open(out_path, std::ios::binary);
    if (!file) {
      std::fprintf(stderr, "cannot write %s\n", out_path.c_str());
      return 2;
    }
    out = &file;
  }
  double start = NowSeconds();
  GeneratorCounts counts = Generate(options, [&](std::string_view chunk) {
    out->write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    return static_cast<bool>(*out);
  });
  out->flush();
  if (!*out) {
    std::fprintf(stderr, "write error on %s\n", out_path.c_str());
    return 2;
  }
  std::fprintf(stderr, "%zu lines (%zu nodes, %zu edge lines, %zu vectors), %.1f MB in %.1f s\n",
               counts.lines, counts.nodes, counts.edge_lines, counts.vectors, counts.bytes / 1e6,
               NowSeconds() - start);
  return 0;
}

int Main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    std::fprintf(argc < 2 ? stderr : stdout, "%s", kUsage);
    return argc < 2 ? 2 : 0;
  }
  std::string command = argv[1];
  if (command == "generate") return GenerateMain(argc - 1, argv + 1);
  if (command == "engine") return EngineMain(argc - 1, argv + 1);
  if (command == "query") return QueryMain(argc - 1, argv + 1);
  if (command == "http") return HttpMain(argc - 1, argv + 1);
  if (command == "overrun") return OverrunMain(argc - 1, argv + 1);
  if (command == "decide") return DecideMain(argc - 1, argv + 1);
  if (command == "explain") return ExplainMain(argc - 1, argv + 1);
  if (command == "load") return LoadMain(argc - 1, argv + 1);
  if (command == "replace") return ReplaceMain(argc - 1, argv + 1);
  if (command == "loop") return LoopMain(argc - 1, argv + 1);
  if (command == "counters") return CountersMain(argc - 1, argv + 1);
  std::fprintf(stderr, "unknown bench command '%s'\n%s", command.c_str(), kUsage);
  return 2;
}

}  // namespace pathwise::bench
