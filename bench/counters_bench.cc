// `pathwise bench counters`: the event log's and the counters' cost on the write path, and
// `export features` over the logged events (docs/benchmarks.md, "Counters").
//
// Three fresh databases with the same catalog take the same events, in batches of --batch (as
// one POST /v1/events body: one ApplyMany, synced once), round-robin so every variant sees the
// same machine load: (a) edge and dedupe key only (the event write before the event log),
// (b) plus the EventWrite (the log entry), (c) plus five declared counters fed at the apply step.
// Then the export: every counter folded from (c)'s logs, as `pathwise export features` does.
// --export-only builds (c) alone; --keep leaves its directory in place and --reuse opens a kept
// one instead of writing the events again, so the export can be timed over a large log without
// the apply path each time (the open itself rebuilds the counters from the log: timed too).
#include <filesystem>
#include <random>

#include "bench/commands.h"
#include "bench/harness.h"
#include "db/database.h"

namespace pathwise::bench {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr char kSchema[] = R"({"node_types": [{"name": "User"}, {"name": "Item"}],
  "edge_types": [{"name": "VIEWED", "mode": "accumulate", "from": "User", "to": "Item"},
                 {"name": "CLICKED", "mode": "accumulate", "from": "User", "to": "Item"}]})";

constexpr char kCounters[] = R"({"counters": [
  {"name": "views_7d", "key": "item", "source": {"events": ["view"]}, "window": "7d"},
  {"name": "clicks_7d", "key": "item", "source": {"events": ["click"]}, "window": "7d"},
  {"name": "trending", "key": "item", "source": {"events": ["view", "click"]}, "window": "7d",
   "form": "decayed", "half_life": "1d", "bucket": "1h"},
  {"name": "user_views_24h", "key": "user", "source": {"events": ["view"]}, "window": "24h"},
  {"name": "user_item_views_24h", "key": "user_item", "source": {"events": ["view"]},
   "window": "24h"}]})";

// One event's write set as POST /v1/events applies it (db's EventWriteSet), with or without
// its log entry.
WriteSet EventSet(size_t n, const std::string& user, const std::string& item, bool click,
                  int64_t ts, bool logged) {
  EdgeWrite edge;
  edge.type = click ? "CLICKED" : "VIEWED";
  edge.from = NodeRef{"User", user, true};
  edge.to = NodeRef{"Item", item, false};
  edge.weight = 1.0;
  edge.ts = ts;
  WriteSet set = EventWriteSet(
      std::move(edge), EventWrite{"ev" + std::to_string(n), click ? "click" : "view", user, item,
                                  ts, 1.0, "", ""});
  if (!logged) set.ops.pop_back();  // (a): the same set without its log entry
  return set;
}

// No checkpoints and no retention: nothing runs beside what is timed, nothing expires.
DatabaseOptions BenchOptions() {
  DatabaseOptions options;
  options.checkpoint_interval_seconds = 0;
  options.impression_retention_days = 0;
  options.event_retention_days = 0;
  return options;
}

Result<std::unique_ptr<Database>> Fresh(const std::string& dir, size_t items, bool counters) {
  fs::remove_all(dir);
  PW_ASSIGN_OR_RETURN(auto db, Database::Open(BenchOptions(), dir));
  PW_RETURN_IF_ERROR(db->MergeSchema(kSchema));
  if (counters) PW_RETURN_IF_ERROR(db->MergeSchema(kCounters));
  WriteSet catalog;
  for (size_t i = 0; i < items; ++i) {
    catalog.ops.push_back(NodeWrite{NodeWrite::Op::kUpsert, "Item", "i" + std::to_string(i), {}});
  }
  PW_RETURN_IF_ERROR(db->Apply(catalog));
  return db;
}

Status Run(const Flags& flags, Report* report) {
  const size_t events = static_cast<size_t>(flags.GetInt("events", 1000000));
  const size_t batch = static_cast<size_t>(std::max<int64_t>(1, flags.GetInt("batch", 1000)));
  const size_t items = static_cast<size_t>(flags.GetInt("items", 10000));
  const size_t users = static_cast<size_t>(flags.GetInt("users", 50000));
  const std::string root = flags.Get("data", "/tmp/pathwise-bench-counters");
  const bool export_only = flags.Has("export-only") || flags.Has("reuse");
  const std::string kept = root + "/edge_log_and_counters";
  const bool reuse = flags.Has("reuse") && fs::exists(kept + "/db/CURRENT");
  report->Info("machine", MachineInfo());
  report->Info("params", {{"events", events}, {"batch", batch}, {"items", items}, {"users", users},
                          {"export_only", export_only}, {"reused_log", reuse}});

  const char* const kNames[] = {"edge_only", "edge_and_log", "edge_log_and_counters"};
  const int first = export_only ? 2 : 0;
  std::vector<std::unique_ptr<Database>> dbs(3);
  if (reuse) {
    const double t0 = NowSeconds();
    PW_ASSIGN_OR_RETURN(dbs[2], Database::Open(BenchOptions(), kept));
    report->Value("open_seconds", NowSeconds() - t0, "s",
                  "open of the kept log: the online counters rebuilt by folding it");
  }
  for (int v = first; v < 3 && !reuse; ++v) {
    PW_ASSIGN_OR_RETURN(dbs[v], Fresh(root + "/" + kNames[v], items, v == 2));
  }
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<size_t> user(0, users - 1), item(0, items - 1);
  std::uniform_int_distribution<int> click(0, 9);
  const int64_t start = 1764000000000;  // events spread over 7 days, 1 s apart at most
  Samples per_event[3];  // microseconds per event, one sample per batch (wall clock)
  Samples cpu_per_event[3];  // the same in the calling thread's CPU time (the group's leader)
  for (size_t done = 0; done < events && !reuse; done += batch) {
    const size_t n = std::min(batch, events - done);
    std::vector<std::tuple<std::string, std::string, bool, int64_t>> drawn;
    for (size_t k = 0; k < n; ++k) {
      drawn.emplace_back("u" + std::to_string(user(rng)), "i" + std::to_string(item(rng)),
                         click(rng) == 0, start + static_cast<int64_t>((done + k) * 600));
    }
    for (int v = first; v < 3; ++v) {
      std::vector<WriteSet> sets;
      sets.reserve(n);
      for (size_t k = 0; k < n; ++k) {
        const auto& [u, i, c, ts] = drawn[k];
        sets.push_back(EventSet(done + k, u, i, c, ts, v > 0));
      }
      const double t0 = NowSeconds();
      const double c0 = ThreadCpuSeconds();
      for (const auto& outcome : dbs[v]->ApplyMany(sets)) PW_RETURN_IF_ERROR(outcome.status);
      per_event[v].Add((NowSeconds() - t0) * 1e6 / static_cast<double>(n));
      cpu_per_event[v].Add((ThreadCpuSeconds() - c0) * 1e6 / static_cast<double>(n));
    }
  }
  for (int v = first; v < 3 && !reuse; ++v) {
    report->Latency(std::string("apply_us_per_event.") + kNames[v], per_event[v]);
    report->Latency(std::string("apply_cpu_us_per_event.") + kNames[v], cpu_per_event[v]);
    report->Value(std::string("events_per_second.") + kNames[v],
                  1e6 / per_event[v].Percentile(0.5), "events/s", "median batch");
  }
  if (first == 0) {
    report->Value("log_cost_us_per_event",
                  per_event[1].Percentile(0.5) - per_event[0].Percentile(0.5), "us",
                  "median (edge_and_log - edge_only)");
    report->Value("counters_cost_us_per_event",
                  per_event[2].Percentile(0.5) - per_event[1].Percentile(0.5), "us",
                  "median (with counters - edge_and_log)");
    report->Value("counters_cost_cpu_us_per_event",
                  cpu_per_event[2].Percentile(0.5) - cpu_per_event[1].Percentile(0.5), "us",
                  "median CPU (with counters - edge_and_log)");
  }
  report->Info("counter_stats", dbs[2]->Stats()["counters"]);

  // The export: the logs folded into fresh counters as of after the last event, every value
  // written out (to memory here; the CLI writes the same lines to a file).
  const int64_t as_of = start + static_cast<int64_t>(events * 600) + 3600 * 1000;
  Samples export_seconds, export_cpu;
  size_t lines = 0;
  for (int run = 0; run < std::max<int64_t>(1, flags.GetInt("runs", 3)); ++run) {
    const double t0 = NowSeconds();
    const double c0 = ProcessCpuSeconds();  // the fold scans on a second thread
    PW_ASSIGN_OR_RETURN(features::CounterSet folded, dbs[2]->FoldCounters(as_of));
    std::string out;
    lines = 0;
    folded.ForEach(as_of, [&](const features::CounterDef& def, const features::KeyFields& key,
                              double value) {
      out = features::ValueLine(def, key, value).dump();
      ++lines;
    });
    export_seconds.Add((NowSeconds() - t0) * 1e6);
    export_cpu.Add((ProcessCpuSeconds() - c0) * 1e6);
  }
  report->Latency("export_features_us", export_seconds, std::to_string(events) + " events");
  report->Latency("export_features_cpu_us", export_cpu, "process CPU");
  report->Value("export_events_per_cpu_second",
                static_cast<double>(events) / (export_cpu.Percentile(0.5) / 1e6), "events/s",
                "median CPU");
  report->Value("export_events_per_second",
                static_cast<double>(events) / (export_seconds.Percentile(0.5) / 1e6), "events/s",
                std::to_string(lines) + " lines");
  dbs.clear();
  if (!flags.Has("keep") && !flags.Has("reuse")) fs::remove_all(root);
  return Status::OK();
}

}  // namespace

int CountersMain(int argc, char** argv) {
  return RunCommand("counters", argc, argv,
                    {"events", "batch", "items", "users", "data", "runs", "export-only", "keep", "reuse",
                      "json", "help"}, Run);
}

}  // namespace pathwise::bench
