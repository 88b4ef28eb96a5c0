// `pathwise bench overrun`: how late heavy queries end after their deadline. Each probe query is
// run with deadlines of 10 ms, 50 ms and 1 s (--deadlines); for every run that ends with
// DeadlineExceeded the overrun (wall time from the call to its return, minus the deadline) is a
// sample. Runs that finish or fail otherwise (a memory budget) are counted, not sampled. A floor
// row per deadline shows how late a loop that only reads the clock ends: the machine's share.
// Figures go into docs/query-execution.md ("Deadlines").
#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "bench/commands.h"
#include "bench/fixture.h"
#include "bench/harness.h"

namespace pathwise::bench {
namespace {

struct Probe {
  std::string name;
  // The query text and parameters of one run (a fresh text defeats the plan cache where parse
  // and bind are part of what is probed).
  std::function<std::pair<std::string, nlohmann::json>(size_t run)> make;
};

std::vector<Probe> Probes(const GeneratorOptions& gen, std::mt19937_64* rng) {
  std::vector<Probe> probes;
  auto random_user = [gen, rng]() { return UserId((*rng)() % gen.users); };
  // MATCH: four hops through popular items (hubs) from a user.
  probes.push_back({"match_4hop_hubs", [random_user](size_t) {
                      return std::make_pair(
                          std::string("MATCH (u:User {id: $user})-[:VIEWED]->(:Item)<-[:VIEWED]-"
                                      "(:User)-[:VIEWED]->(:Item)<-[:VIEWED]-(w:User) "
                                      "RETURN count(*)"),
                          nlohmann::json{{"user", random_user()}});
                    }});
  // RECOMMEND: a four-hop graph source (paths are walked, not materialized).
  probes.push_back({"recommend_4hop", [random_user](size_t) {
                      return std::make_pair(
                          std::string("RECOMMEND (c:Item) FOR (u:User {id: $user}) "
                                      "FROM (u)-[:VIEWED]->(:Item)<-[:VIEWED]-(:User)-[:VIEWED]->"
                                      "(:Item)-[:SIMILAR_TO]->(c) MAX 1000 PER NODE LIMIT 10"),
                          nlohmann::json{{"user", random_user()}});
                    }});
  // A 10,000-element IN list parameter tested against every item.
  probes.push_back({"in_list_10k_param", [rng](size_t) {
                      nlohmann::json ids = nlohmann::json::array();
                      for (int i = 0; i < 10000; ++i) ids.push_back("x" + std::to_string((*rng)()));
                      return std::make_pair(
                          std::string("MATCH (i:Item) WHERE i.id IN $ids RETURN count(*)"),
                          nlohmann::json{{"ids", std::move(ids)}});
                    }});
  // A ~60 KB query text (parse, bind, then a 9,900-element literal list against every item);
  // distinct per run, so it is parsed every time.
  probes.push_back({"big_expression_60kb", [](size_t run) {
                      std::string text = "MATCH (i:Item) WHERE i.popularity IN [" +
                                         std::to_string(1000000 + run);
                      for (int k = 0; text.size() < 60000 && k < 9900; ++k) {
                        text += ", " + std::to_string(100000 + k);  // 6 bytes per element
                      }
                      return std::make_pair(text + "] RETURN count(*)", nlohmann::json::object());
                    }});
  return probes;
}

// The floor: how late a loop that does nothing but read the clock notices its deadline. What it
// measures is the machine (scheduling delays, a loaded host), not the engine; a query cannot be
// expected to end closer to its deadline than this.
Samples MeasureFloor(int64_t deadline_ms, size_t n) {
  Samples floor;
  for (size_t i = 0; i < n; ++i) {
    double start = NowSeconds();
    Deadline deadline = Deadline::AfterMillis(deadline_ms);
    while (!deadline.Expired()) {
    }
    floor.Add(std::max(0.0, (NowSeconds() - start) * 1e6 - static_cast<double>(deadline_ms) * 1000));
  }
  return floor;
}

std::vector<int64_t> ParseDeadlines(const std::string& list) {
  std::vector<int64_t> out;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) out.push_back(std::stoll(item));
  }
  return out;
}

// Parse and bind times of the largest texts the default limits admit (64 KiB, nesting 200,
// expression depth 1000), from the result's stats: the part of a query's time that is checked
// only between stages and every 256 rule entries.
Status MeasureParse(Database* db, Report* report) {
  std::map<std::string, std::function<std::string(int)>> forms;
  forms["in_list_ints_60kb"] = [](int run) {
    std::string t = "MATCH (i:Item {id: 'none'}) WHERE i.popularity IN [" + std::to_string(run);
    for (int k = 0; t.size() < 60000 && k < 9900; ++k) t += ", " + std::to_string(100000 + k);
    return t + "] RETURN i.id";
  };
  forms["in_list_strings_60kb"] = [](int run) {
    std::string t = "MATCH (i:Item {id: 'none'}) WHERE i.category IN ['" + std::to_string(run) + "'";
    for (int k = 0; t.size() < 60000; ++k) t += ", 'category-" + std::to_string(k) + "'";
    return t + "] RETURN i.id";
  };
  forms["nested_199_parens_repeated_60kb"] = [](int run) {
    std::string item = std::string(199, '(') + "i.popularity" + std::string(199, ')');
    std::string t = "MATCH (i:Item {id: 'none'}) RETURN " + std::to_string(run);
    while (t.size() < 60000) t += ", " + item;
    return t;
  };
  forms["or_chain_990_terms"] = [](int run) {
    std::string t = "MATCH (i:Item {id: 'none'}) WHERE i.popularity = " + std::to_string(run);
    for (int k = 0; k < 990; ++k) t += " OR i.popularity = " + std::to_string(k);
    return t + " RETURN i.id";
  };
  for (const auto& [name, make] : forms) {
    Samples parse, bind, total;
    for (int run = 0; run < 5; ++run) {
      double start = NowSeconds();
      auto result = db->Query(make(run), nlohmann::json::object());
      double micros = (NowSeconds() - start) * 1e6;
      if (!result.ok()) return Status::Internal(name + ": " + result.status().ToString());
      parse.Add(result->stats.value("parse_us", 0.0));
      bind.Add(result->stats.value("bind_us", 0.0));
      total.Add(micros);
    }
    report->Latency("parse." + name + ".parse", parse);
    report->Latency("parse." + name + ".bind", bind);
    report->Latency("parse." + name + ".total", total);
  }
  return Status::OK();
}

Status Run(const Flags& flags, Report* report) {
  GeneratorOptions gen = GeneratorFromFlags(flags);
  const std::string dir = flags.Get("data", "/tmp/pathwise-bench-" + std::to_string(gen.items));
  const size_t runs = static_cast<size_t>(flags.GetInt("runs", 20));
  const std::vector<int64_t> deadlines = ParseDeadlines(flags.Get("deadlines", "10,50,1000"));
  if (deadlines.empty()) return Status::InvalidArgument("--deadlines needs at least one value");
  report->Info("config", {{"items", gen.items},
                          {"users", gen.users},
                          {"data", dir},
                          {"runs", runs},
                          {"deadlines_ms", deadlines}});
  LoadFigures load;
  PW_ASSIGN_OR_RETURN(auto db, OpenBenchDatabase(dir, gen, false, &load));
  if (flags.Has("parse")) PW_RETURN_IF_ERROR(MeasureParse(db.get(), report));
  std::mt19937_64 rng(gen.seed + 23);
  std::vector<Probe> probes = Probes(gen, &rng);
  nlohmann::json outcomes = nlohmann::json::object();
  size_t run_id = 0;
  for (int64_t deadline_ms : deadlines) {
    // Long deadlines get fewer runs (each costs about the deadline).
    const size_t n = deadline_ms >= 500 ? std::max<size_t>(3, runs / 4) : runs;
    Samples all;
    for (const Probe& probe : probes) {
      Samples overrun;
      std::map<std::string, size_t> counts;
      for (size_t i = 0; i < n; ++i) {
        auto [text, params] = probe.make(run_id++);
        QueryOptions options;
        double start = NowSeconds();
        options.deadline = Deadline::AfterMillis(deadline_ms);
        auto result = db->Query(text, params, options);
        double elapsed_us = (NowSeconds() - start) * 1e6;
        std::string outcome = result.ok() ? "ok" : result.status().CodeName();
        ++counts[outcome];
        if (!result.ok() && result.status().code() == Status::Code::kDeadlineExceeded) {
          double late = std::max(0.0, elapsed_us - static_cast<double>(deadline_ms) * 1000);
          overrun.Add(late);
          all.Add(late);
        }
      }
      std::string key = probe.name + "." + std::to_string(deadline_ms) + "ms";
      outcomes[key] = counts;
      if (overrun.size() > 0) report->Latency("overrun." + key, overrun, "time past the deadline");
    }
    report->Latency("overrun.all." + std::to_string(deadline_ms) + "ms", all,
                    "target p99 <= 2 ms");
    report->Latency("overrun.floor." + std::to_string(deadline_ms) + "ms",
                    MeasureFloor(deadline_ms, n), "clock-reading loop, no query: the machine");
  }
  report->Info("outcomes", outcomes);
  return Status::OK();
}

}  // namespace

int OverrunMain(int argc, char** argv) {
  return RunCommand("overrun", argc, argv,
      {"ef-construction", "items", "data", "json", "runs", "seed", "deadlines", "parse"}, Run);
}

}  // namespace pathwise::bench
