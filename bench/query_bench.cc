// `pathwise bench query`: the recommend query for many random users, per stage (from the
// result's stats) and in total, side by side with the raw floor in the same run. With
// --sequential-sources each user's query also runs with its sources one after another
// (QueryOptions::parallel_sources off), alternating which goes first, reported as
// recommend.sequential_sources.*.
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>

#include "bench/commands.h"
#include "bench/fixture.h"
#include "bench/harness.h"
#include "bench/raw_floor.h"
#include "query/ast.h"

namespace pathwise::bench {
namespace {

// Numeric stats fields that look like durations are collected per name.
void CollectStageTimes(const nlohmann::json& stats, const std::string& prefix,
                       std::map<std::string, Samples>* stages) {
  if (!stats.is_object()) return;
  for (const auto& [key, value] : stats.items()) {
    std::string name = prefix.empty() ? key : prefix + "." + key;
    if (value.is_object()) {
      CollectStageTimes(value, name, stages);
    } else if (value.is_number()) {
      bool micros = name.size() > 3 && name.compare(name.size() - 3, 3, "_us") == 0;
      bool millis = name.size() > 3 && name.compare(name.size() - 3, 3, "_ms") == 0;
      if (micros) (*stages)[name].Add(value.get<double>());
      if (millis) (*stages)[name].Add(value.get<double>() * 1000);
    }
  }
}

Status Run(const Flags& flags, Report* report) {
  GeneratorOptions gen = GeneratorFromFlags(flags);
  const std::string dir = flags.Get("data", "/tmp/pathwise-bench-" + std::to_string(gen.items));
  const size_t runs = static_cast<size_t>(flags.GetInt("runs", 2000));
  const double max_price = flags.GetDouble("max-price", 100.0);
  const size_t floor_ef = static_cast<size_t>(flags.GetInt("floor-ef", 200));
  const bool compare_sequential = flags.Has("sequential-sources");
  report->Info("config", {{"items", gen.items},
                          {"users", gen.users},
                          {"data", dir},
                          {"runs", runs},
                          {"max_price", max_price},
                          {"floor_ef", floor_ef},
                          {"sequential_sources", compare_sequential},
                          {"query", kRecommendQuery}});

  LoadFigures load;
  PW_ASSIGN_OR_RETURN(auto db, OpenBenchDatabase(dir, gen, false, &load));
  PW_ASSIGN_OR_RETURN(auto raw, OpenRawCopy(db.get(), dir + ".rawcopy"));

  std::mt19937_64 rng(gen.seed + 11);
  Samples total, floor_total, floor_nearest, floor_expand, rows, sequential_total;
  size_t ran_parallel = 0;
  std::map<std::string, Samples> stages;
  std::vector<float> scratch;
  std::vector<NodeId> touched;
  size_t errors = 0;
  std::string first_error;
  nlohmann::json sample_stats;
  for (size_t run = 0; run < runs + 20; ++run) {
    size_t user_index = rng() % gen.users;
    NodeId user = raw->graph->Lookup(raw->user_type, UserId(user_index));
    nlohmann::json params = {{"user", UserId(user_index)}, {"max_price", max_price}};
    auto run_query = [&]() {
      double start = NowSeconds();
      auto result = db->Query(kRecommendQuery, params, BenchQueryOptions(gen));
      double micros = (NowSeconds() - start) * 1e6;
      if (!result.ok()) {
        if (errors++ == 0) first_error = result.status().ToString();
        return;
      }
      if (run < 20) return;  // warm-up
      total.Add(micros);
      rows.Add(static_cast<double>(result->rows.size()));
      CollectStageTimes(result->stats, "", &stages);
      if (result->stats.value("parallel_sources", false)) ++ran_parallel;
      if (sample_stats.is_null()) sample_stats = result->stats;
    };
    auto run_sequential = [&]() {
      if (!compare_sequential) return;
      QueryOptions options = BenchQueryOptions(gen);
      options.parallel_sources = false;
      double start = NowSeconds();
      auto result = db->Query(kRecommendQuery, params, options);
      double micros = (NowSeconds() - start) * 1e6;
      if (!result.ok()) {
        if (errors++ == 0) first_error = result.status().ToString();
        return;
      }
      if (run >= 20) sequential_total.Add(micros);
    };
    auto run_floor = [&]() {
      FloorTimes t = RecommendFloor(*raw, user, 200, floor_ef, 50, &scratch, &touched);
      if (run < 20) return;
      floor_total.Add(t.total_us);
      floor_nearest.Add(t.nearest_us);
      floor_expand.Add(t.expand_us);
    };
    if (run % 2 == 0) {
      run_query();
      run_sequential();
      run_floor();
    } else {
      run_floor();
      run_sequential();
      run_query();
    }
  }
  if (errors > 0) {
    report->Info("query_errors", {{"count", errors}, {"first", first_error}});
    if (total.size() == 0) return Status::Internal("every query failed: " + first_error);
  }
  report->Latency("recommend.total_in_process", total,
                  "Database::Query, EXPLAIN; target p99 <= 2 ms");
  for (const auto& [name, samples] : stages) report->Latency("recommend.stage." + name, samples);
  report->Value("recommend.ran_sources_in_parallel", static_cast<double>(ran_parallel), "queries",
                "stats.parallel_sources of the runs above");
  if (compare_sequential) {
    report->Latency("recommend.sequential_sources.total_in_process", sequential_total,
                    "the same queries with parallel_sources off, alternating with the above");
  }
  report->Latency("floor.total", floor_total, "raw SearchRaw(k=200) + raw 2-hop 50x50");
  report->Latency("floor.nearest_raw_hnswlib", floor_nearest);
  report->Latency("floor.two_hop_raw", floor_expand);
  report->Value("recommend.p99_over_floor_p99",
                total.Percentile(0.99) / std::max(floor_total.Percentile(0.99), 1e-9), "x",
                "target <= 2x");
  report->Value("recommend.p50_over_floor_p50",
                total.Percentile(0.5) / std::max(floor_total.Percentile(0.5), 1e-9), "x");
  report->Value("recommend.rows_mean", rows.Mean(), "rows");
  report->Info("sample_stats", sample_stats);

  // What the plan cache saves: a full parse of the query text, and the total cost of a cheap
  // query whose plan is cached (parse skipped).
  Samples parse, cheap;
  for (size_t run = 0; run < runs; ++run) {
    double start = NowSeconds();
    auto statement = query::ast::Parse(kRecommendQuery);
    parse.Add((NowSeconds() - start) * 1e6);
    if (!statement.ok()) return statement.status();
  }
  const char* kCheap = "MATCH (u:User {id: $user}) RETURN u.id";
  for (size_t run = 0; run < runs + 10; ++run) {
    nlohmann::json params = {{"user", UserId(rng() % gen.users)}};
    double start = NowSeconds();
    auto result = db->Query(kCheap, params);
    double micros = (NowSeconds() - start) * 1e6;
    if (!result.ok()) return result.status();
    if (run >= 10) cheap.Add(micros);
  }
  report->Latency("parse.recommend_uncached", parse, "ast::Parse of the query text");
  report->Latency("plan_cache_hit.point_lookup_total", cheap,
                  "whole cached MATCH by id: upper bound of a cache hit's cost");
  raw.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir + ".rawcopy", ec);
  return Status::OK();
}

}  // namespace

int QueryMain(int argc, char** argv) {
  return RunCommand("query", argc, argv,
      {"ef-construction", "items", "data", "json", "runs", "seed", "max-price", "floor-ef",
       "sequential-sources"}, Run);
}

}  // namespace pathwise::bench
