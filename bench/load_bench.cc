// `pathwise bench load`: a catalog load beside serving. On a copy of the bench database, one
// thread runs the recommend query (without EXPLAIN) back to back and one acknowledges single
// synced events back to back: first for a baseline period, then while a generated catalog of
// --load-items items (another seed: the same ids, new values, more views) is loaded into the
// same database. Reports both threads' latency in each period, the longest stall of each, and
// the load's own figures (lines/s, writer turns, where its time went), and when the slowest
// event acknowledgements of the load happened against when its phases began. --exclusive loads
// in the mode that holds the writer role for the whole load, for comparison.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <random>
#include <string>
#include <thread>

#include "bench/commands.h"
#include "bench/fixture.h"
#include "bench/generator.h"
#include "bench/harness.h"

namespace pathwise::bench {
namespace {

// How many of a period's slowest event acknowledgements are kept with their start times.
constexpr size_t kSlowestKept = 5;

struct Traffic {
  Samples queries, events;
  size_t query_errors = 0, event_errors = 0;
  std::string query_error, event_error;  // the first of each
  double start = 0;  // NowSeconds() when the period began
  // The slowest event acknowledgements: (microseconds, seconds after start when sent), slowest
  // first.
  std::vector<std::pair<double, double>> slowest_events;

  void AddEvent(double micros, double sent) {
    events.Add(micros);
    if (slowest_events.size() == kSlowestKept && micros <= slowest_events.back().first) return;
    slowest_events.emplace_back(micros, sent - start);
    std::sort(slowest_events.begin(), slowest_events.end(), std::greater<>());
    if (slowest_events.size() > kSlowestKept) slowest_events.pop_back();
  }
};

// Runs the query and event threads until stop; samples go to *period (swapped by the caller).
class TrafficThreads {
 public:
  TrafficThreads(Database* db, const GeneratorOptions& gen, double max_price)
      : db_(db), gen_(gen), max_price_(max_price), query_(RecommendQueryWithoutExplain()) {}

  void Start(Traffic* period) {
    period_ = period;
    period_->start = NowSeconds();
    stop_ = false;
    threads_.emplace_back([this] { QueryLoop(); });
    threads_.emplace_back([this] { EventLoop(); });
  }
  void Stop() {
    stop_ = true;
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

 private:
  void QueryLoop() {
    std::mt19937_64 rng(gen_.seed + 31);
    while (!stop_) {
      nlohmann::json params = {{"user", UserId(rng() % gen_.users)}, {"max_price", max_price_}};
      double start = NowSeconds();
      auto result = db_->Query(query_, params, BenchQueryOptions(gen_));
      double micros = (NowSeconds() - start) * 1e6;
      if (!result.ok()) {
        if (period_->query_errors++ == 0) period_->query_error = result.status().ToString();
        continue;
      }
      period_->queries.Add(micros);
    }
  }

  void EventLoop() {
    std::mt19937_64 rng(gen_.seed + 32);
    while (!stop_) {
      EdgeWrite e;
      e.type = "VIEWED";
      e.from = {"User", UserId(rng() % gen_.users)};
      e.to = {"Item", ItemId(rng() % gen_.items)};
      e.weight = 1.0;
      WriteSet set;
      set.ops.push_back(std::move(e));
      double start = NowSeconds();
      Status s = db_->Apply(set, WriteOptions{true});
      double micros = (NowSeconds() - start) * 1e6;
      if (!s.ok()) {
        if (period_->event_errors++ == 0) period_->event_error = s.ToString();
        continue;
      }
      period_->AddEvent(micros, start);
    }
  }

  Database* db_;
  GeneratorOptions gen_;
  double max_price_;
  std::string query_;
  Traffic* period_ = nullptr;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

void ReportPeriod(Report* report, const std::string& name, const Traffic& t) {
  report->Latency(name + ".recommend", t.queries, "in-process, no EXPLAIN, 1 thread");
  report->Latency(name + ".event_ack", t.events, "Apply 1 edge, sync=true, 1 thread");
  report->Value(name + ".errors", static_cast<double>(t.query_errors + t.event_errors), "",
                t.query_error + " " + t.event_error);
  nlohmann::json slowest = nlohmann::json::array();
  for (const auto& [micros, at] : t.slowest_events) {
    slowest.push_back({{"ms", micros / 1e3}, {"sent_at_s", at}});
  }
  report->Info(name + ".slowest_event_acks", slowest);
}

void ReportLoad(Report* report, const LoadReport& r) {
  report->Value("load.seconds", r.seconds, "s");
  report->Value("load.lines_per_second", r.lines / r.seconds, "lines/s");
  report->Value("load.vectors_per_second", r.vectors / r.seconds, "vectors/s");
  report->Value("load.writer_turns", static_cast<double>(r.chunks), "turns");
  report->Value("load.longest_turn_ms", r.max_chunk_seconds * 1e3, "ms",
                "the longest any other write waited for the load");
  report->Info("load.report", r.ToJson());
}

Status Run(const Flags& flags, Report* report) {
  GeneratorOptions gen = GeneratorFromFlags(flags);
  const std::string dir = flags.Get("data", "/tmp/pathwise-bench-" + std::to_string(gen.items));
  const double baseline_seconds = flags.GetDouble("seconds", 10);
  const double max_price = flags.GetDouble("max-price", 100.0);
  GeneratorOptions catalog = gen;
  catalog.items = static_cast<size_t>(flags.GetInt("load-items", static_cast<int64_t>(gen.items / 5)));
  catalog.users = 0;
  catalog.seed = gen.seed + 1;
  catalog = ResolveOptions(catalog);
  LoadOptions load_options;
  load_options.exclusive = flags.Has("exclusive");
  report->Info("config", {{"items", gen.items}, {"load_items", catalog.items},
                          {"exclusive", load_options.exclusive}, {"data", dir},
                          {"baseline_seconds", baseline_seconds}});
  LoadFigures figures;
  PW_ASSIGN_OR_RETURN(auto bench_db, OpenBenchDatabase(dir, gen, false, &figures));
  PW_ASSIGN_OR_RETURN(auto db, OpenBenchCopy(bench_db.get(), dir + "-load"));
  bench_db.reset();

  TrafficThreads traffic(db.get(), gen, max_price);
  Traffic baseline, during;
  traffic.Start(&baseline);
  std::this_thread::sleep_for(std::chrono::duration<double>(baseline_seconds));
  traffic.Stop();

  std::fprintf(stderr, "loading %zu items (seed %llu) beside the traffic ...\n", catalog.items,
               static_cast<unsigned long long>(catalog.seed));
  auto stream = OpenGeneratedStream(catalog);
  // When each phase of the load began (seconds after the traffic's period began), to set
  // against the slowest events' send times.
  nlohmann::json phases_began = nlohmann::json::object();
  std::string phase;
  load_options.progress = [&](const LoadProgress& p) {
    if (p.phase == phase) return;
    phase = p.phase;
    phases_began[phase] = NowSeconds() - during.start;
  };
  traffic.Start(&during);
  auto loaded = db->Load(*stream, load_options);
  traffic.Stop();
  if (!loaded.ok()) return loaded.status();
  report->Info("load.phases_began_at_s", phases_began);

  ReportPeriod(report, "baseline", baseline);
  ReportPeriod(report, "during_load", during);
  ReportLoad(report, *loaded);
  return Status::OK();
}

}  // namespace

int LoadMain(int argc, char** argv) {
  return RunCommand("load", argc, argv,
                    {"items", "seed", "ef-construction", "data", "json", "seconds", "max-price",
                     "load-items", "exclusive"},
                    Run);
}

}  // namespace pathwise::bench
