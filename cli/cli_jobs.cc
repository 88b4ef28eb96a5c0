// `pathwise jobs run NAME | show ID | list`: models built inside a data directory (docs/jobs.md).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>

#include "cli/cli.h"
#include "cli/cli_args.h"
#include "jobs/jobs.h"

namespace pathwise::server {
namespace {

constexpr char kJobsUsage[] = R"(usage: pathwise jobs run similarity --data DIR --edge TYPE --output TYPE [options]
       pathwise jobs run svd --data DIR --edge TYPE --item-space T.NAME --user-space T.NAME [options]
       pathwise jobs run fastrp --data DIR --edge TYPE[,TYPE...] --space T.NAME [options]
       pathwise jobs run transitions --data DIR --edge TYPE --output TYPE [options]
       pathwise jobs show --data DIR ID
       pathwise jobs list --data DIR

Runs a job that builds a model inside DIR (embedded, no server; with a server running use
POST /v1/admin/jobs), or shows stored runs. docs/jobs.md describes the jobs.
similarity: the top-k similar items per item over the bipartite edge type --edge
(user -> item), written as edges of --output (item -> item, declared when absent), replacing
all of that type's edges atomically; --mode incremental rewrites only the rows of the items
whose neighbours can have changed since the last run (docs/jobs.md, "Incremental mode").
  --mode full|incremental   (default full; incremental falls back to full, saying why)
  --max-recompute-share F   incremental: a full run when more than this share of the items
                            needs recomputing, 0..1 (default 0.5)
  --measure cosine|jaccard|asymmetric_cosine   (default cosine)
  --k N                     neighbours per item, 1..1000 (default 50)
  --alpha A                 asymmetric_cosine's exponent, 0..1 (default 0.5)
  --shrink S                added to each denominator, >= 0 (default 0)
  --min-cooccurrence N      common users a pair needs (default 1)
  --max-users-per-item N    count an item's strongest N edges only (default: all)
  --max-items-per-user N    count a user's strongest N edges only (default: all)
  --weighted                use edge weights (default: every edge counts 1)
  --threads N               worker threads (default: every core)
svd: a rank-r truncated SVD (randomized, Eigen) of --edge's weights (PureSVD: raw weights,
missing pairs 0), written as item factors into --item-space and user vectors into --user-space
(both declared with metric ip when absent), replacing both spaces atomically; later events of
--edge update the user's vector at once (fold-in).
  --rank N                  dimensions, 1..1024 (default 64)
  --iterations N            power iterations, 0..50 (default 4)
  --oversample N            extra sketch columns, 0..1000 (default 10)
  --user-index flat|hnsw    the index of a user space the job declares (default flat: no
                            graph, exact search; an existing space keeps its own)
  --seed N                  the random sketch's seed (default 1)
  --item-scaling S          item factors are V * sigma^S, 0..1 (default 0: PureSVD)
fastrp: FastRP node embeddings (Fast Random Projection, Chen et al. 2019) over the graph of
the edge types --edge taken undirected, written into the declared vector space --space
(T.NAME: its dimension is the embeddings'; nodes of type T with edges), replacing the whole
space atomically.
  --dim N                   must equal the space's dimension (default: the space's)
  --iterations N            products with the adjacency, 1..20 (default 3)
  --weights W1,W2,...       each iteration's weight, >= 0, one per iteration
                            (default 0,1,1,...: the first iteration counts 0)
  --normalization-strength B  scale the random projection by degree^B, -1..1 (default 0)
  --weighted                use edge weights (default: every edge counts 1)
  --seed N                  the random projection's seed (default 1)
transitions: which items follow which in the users' histories over the timestamped edge type
--edge (user -> item, ordered by time): each item b that comes d <= window positions after
item a adds 1/d to a -> b (both ways when their timestamps are equal); the top k per item are
written as edges of --output (item -> item, declared when absent), replacing all of that type's
edges atomically. RECOMMEND's NEXT source follows them from a user's most recent items.
  --window N                positions a successor may follow, 1..100 (default 5)
  --k N                     successors per item, 1..1000 (default 50)
  --max-items-per-user N    read each user's N most recent edges only (default: all)
  --max-pair-mb N           refuse a relation whose pairs would need more memory (default 4096)
Shows a progress bar on a terminal, progress lines otherwise; prints the run's record (JSON).
Exit status: 0 done, 2 the job failed or was refused (the previous model is kept).
)";

// --name value -> params["name_with_underscores"], as JSON when it parses (numbers; for
// --weights a list of numbers, with or without brackets), else a string; the job's own checks
// name any bad value.
nlohmann::json ParamsFromArgs(const Args& args) {
  nlohmann::json params = nlohmann::json::object();
  for (const auto& [name, values] : args.options) {
    if (name == "data") continue;
    std::string key = name;
    for (char& c : key) c = c == '-' ? '_' : c;
    std::string text = values.back();
    // --weights 0,1,1 (or [0,1,1]): fastrp's list of numbers.
    if (key == "weights" && !text.empty() && text.front() != '[') text = "[" + text + "]";
    nlohmann::json value = nlohmann::json::parse(text, nullptr, false);
    bool keep = !value.is_discarded() && (value.is_number() || (key == "weights" && value.is_array()));
    params[key] = keep ? value : nlohmann::json(values.back());
  }
  if (args.Has("weighted")) params["weighted"] = true;
  return params;
}

// Draws the progress on stderr: a bar on a terminal, a line every 5 s otherwise.
jobs::ProgressFn ProgressPrinter(bool tty) {
  auto start = std::chrono::steady_clock::now();
  auto last = start - std::chrono::seconds(10);
  return [=](const jobs::Progress& p) mutable {
    auto now = std::chrono::steady_clock::now();
    if (!tty && now - last < std::chrono::seconds(5)) return;
    last = now;
    double elapsed = std::chrono::duration<double>(now - start).count();
    char line[256];
    if (p.phase == "computing" && p.total > 0) {
      int width = 30, filled = static_cast<int>(width * p.done / p.total);
      std::snprintf(line, sizeof(line), "computing [%s%s] %3zu%% %zu/%zu, %.0f s",
                    std::string(filled, '#').c_str(), std::string(width - filled, ' ').c_str(),
                    p.done * 100 / p.total, p.done, p.total, elapsed);
    } else {
      std::snprintf(line, sizeof(line), "%s ... %.0f s", p.phase.c_str(), elapsed);
    }
    std::cerr << (tty ? "\r\033[K" : "") << line << (tty ? "" : "\n") << std::flush;
  };
}

int JobsFail(const std::string& message) {
  std::cerr << "pathwise jobs: " << message << "\n";
  return 2;
}

}  // namespace

int JobsMain(int argc, char** argv) {
  auto args = ParseArgs(argc, argv,
                        {"data", "edge", "output", "measure", "k", "alpha", "shrink",
                         "min-cooccurrence", "max-users-per-item", "max-items-per-user",
                         "threads", "rank", "item-space", "user-space", "user-index", "iterations",
                         "oversample", "seed", "item-scaling", "space", "dim", "weights",
                         "normalization-strength", "mode", "max-recompute-share", "window",
                         "max-pair-mb"},
                        {"weighted"});
  if (!args.ok()) return JobsFail(args.status().message() + "\n\n" + kJobsUsage);
  if (args->help) {
    std::cout << kJobsUsage;
    return 0;
  }
  auto data = args->Get("data");
  const auto& pos = args->positionals;
  bool run = pos.size() == 2 && pos[0] == "run", show = pos.size() == 2 && pos[0] == "show";
  bool list = pos.size() == 1 && pos[0] == "list";
  if (!data || !(run || show || list)) return JobsFail(std::string("\n") + kJobsUsage);
  auto db = OpenForCli(*data);
  if (!db.ok()) return JobsFail("cannot open " + *data + ": " + db.status().ToString());
  jobs::JobRunner runner(db->get());
  Result<nlohmann::json> record = Status::OK();
  if (run) {
    bool tty = isatty(STDERR_FILENO) == 1;
    record = runner.RunNow(pos[1], ParamsFromArgs(*args), ProgressPrinter(tty));
    if (tty) std::cerr << "\r\033[K";
  } else {
    record = show ? runner.Get(pos[1]) : runner.List();
  }
  if (!record.ok()) return JobsFail(record.status().ToString());
  std::cout << record->dump(2) << "\n";
  return record->is_object() && (*record)["state"] == "failed" ? 2 : 0;
}

}  // namespace pathwise::server
