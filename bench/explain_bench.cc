// `pathwise bench explain`: what explanations cost. The bench's recommend query for many random
// users, without EXPLAIN and with it (labels, named terms, every path's contribution, similarity
// evidence, sentence), alternating the order in each run so both see the same machine state,
// each timed on the wall clock and in the thread's CPU time (which leaves out waits for a core);
// then why-not reports for the same query: an item the user bought (a candidate removed by
// NOT (u)-[:BOUGHT]->(c)) and a random catalog item (usually never a candidate, so its graph
// source is walked again with the caps lifted).
#include <cstdio>
#include <random>
#include <string>

#include "bench/commands.h"
#include "bench/fixture.h"
#include "bench/harness.h"

namespace pathwise::bench {
namespace {

Status Run(const Flags& flags, Report* report) {
  GeneratorOptions gen = GeneratorFromFlags(flags);
  const std::string dir = flags.Get("data", "/tmp/pathwise-bench-" + std::to_string(gen.items));
  const size_t runs = static_cast<size_t>(flags.GetInt("runs", 2000));
  const double max_price = flags.GetDouble("max-price", 100.0);
  const std::string plain = RecommendQueryWithoutExplain();
  report->Info("config", {{"items", gen.items}, {"users", gen.users}, {"data", dir}, {"runs", runs},
                          {"max_price", max_price}, {"query", plain}});
  LoadFigures load;
  PW_ASSIGN_OR_RETURN(auto db, OpenBenchDatabase(dir, gen, false, &load));

  std::mt19937_64 rng(gen.seed + 23);
  Samples without, with, extra, why_removed, why_random, paths;
  Samples cpu_without, cpu_with;  // the same queries in the thread's CPU time
  double cpu_micros = 0;          // the last timed query's
  size_t errors = 0;
  std::string first_error;
  auto timed = [&](const QueryOptions& options, const nlohmann::json& params,
                   Result<QueryResult>* out) {
    double start = NowSeconds(), cpu_start = ThreadCpuSeconds();
    *out = db->Query(plain, params, options);
    double micros = (NowSeconds() - start) * 1e6;
    cpu_micros = (ThreadCpuSeconds() - cpu_start) * 1e6;
    if (!out->ok() && errors++ == 0) first_error = out->status().ToString();
    return micros;
  };
  for (size_t run = 0; run < runs + 20; ++run) {
    const size_t user = rng() % gen.users;
    nlohmann::json params = {{"user", UserId(user)}, {"max_price", max_price}};
    QueryOptions off = BenchQueryOptions(gen), on = BenchQueryOptions(gen);
    on.explain = true;
    Result<QueryResult> a = Status::Internal("not run"), b = Status::Internal("not run");
    double t_off, t_on, cpu_off, cpu_on;
    if (run % 2 == 0) {
      t_off = timed(off, params, &a);
      cpu_off = cpu_micros;
      t_on = timed(on, params, &b);
      cpu_on = cpu_micros;
    } else {
      t_on = timed(on, params, &b);
      cpu_on = cpu_micros;
      t_off = timed(off, params, &a);
      cpu_off = cpu_micros;
    }
    if (run < 20 || !a.ok() || !b.ok()) continue;
    without.Add(t_off);
    with.Add(t_on);
    cpu_without.Add(cpu_off);
    cpu_with.Add(cpu_on);
    extra.Add(t_on - t_off);
    size_t total = 0;
    for (const auto& e : b->explanations) total += e.value("paths_total", size_t{0});
    paths.Add(static_cast<double>(total));
    // Why not: an item the user bought (removed by the exclusion), then a random item.
    auto bought = db->Query("MATCH (u:User {id: $user})-[:BOUGHT]->(i:Item) RETURN i.id LIMIT 1",
                            {{"user", UserId(user)}});
    if (bought.ok() && !bought->rows.empty()) {
      QueryOptions why = BenchQueryOptions(gen);
      why.why_not = bought->rows[0][0].get<std::string>();
      Result<QueryResult> r = Status::Internal("not run");
      double t = timed(why, params, &r);
      if (r.ok()) why_removed.Add(t);
    }
    QueryOptions why = BenchQueryOptions(gen);
    why.why_not = ItemId(rng() % gen.items);
    Result<QueryResult> r = Status::Internal("not run");
    double t = timed(why, params, &r);
    if (r.ok()) why_random.Add(t);
  }
  if (errors > 0) report->Info("query_errors", {{"count", errors}, {"first", first_error}});
  report->Latency("recommend.without_explain", without, "Database::Query, no EXPLAIN");
  report->Latency("recommend.with_explain", with, "same users, same run, EXPLAIN on");
  report->Latency("recommend.explain_extra_paired", extra, "per run: with minus without");
  report->Value("recommend.explain_p99_difference",
                with.Percentile(0.99) - without.Percentile(0.99), "us", "target <= 300 us");
  report->Value("recommend.explain_p50_difference",
                with.Percentile(0.5) - without.Percentile(0.5), "us");
  report->Latency("recommend.cpu_without_explain", cpu_without, "thread CPU time, no EXPLAIN");
  report->Latency("recommend.cpu_with_explain", cpu_with, "thread CPU time, EXPLAIN on");
  report->Value("recommend.explain_cpu_p99_difference",
                cpu_with.Percentile(0.99) - cpu_without.Percentile(0.99), "us",
                "CPU time: waits for a core on a shared machine left out");
  report->Value("recommend.explain_cpu_p50_difference",
                cpu_with.Percentile(0.5) - cpu_without.Percentile(0.5), "us");
  report->Value("recommend.paths_per_query_mean", paths.Mean(), "paths");
  report->Latency("why_not.bought_item", why_removed, "a candidate removed by NOT (u)-[:BOUGHT]->(c); target p99 <= 5 ms");
  report->Latency("why_not.random_item", why_random, "usually never a candidate: the uncapped re-walk; target p99 <= 5 ms");
  return Status::OK();
}

}  // namespace

int ExplainMain(int argc, char** argv) {
  return RunCommand("explain", argc, argv,
      {"ef-construction", "items", "data", "json", "runs", "seed", "max-price"}, Run);
}

}  // namespace pathwise::bench
