// `pathwise bench loop` at a tiny size (docs/feedback-loop.md, "Simulated users"): structural
// checks only (every decision answered, clicks attributed, coverage, the JSON's fields), never
// timings or which surface wins.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "bench/bench.h"

namespace {

using json = nlohmann::json;

int RunBench(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return pathwise::bench::Main(static_cast<int>(argv.size()), argv.data());
}

}  // namespace

TEST_CASE(
    "bench loop: a tiny run answers every decision, attributes clicks and reports every field") {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("pathwise-loop-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string json_path = (dir / "loop.json").string(),
                    svg_path = (dir / "loop.svg").string();
  // High click probabilities (--history and the world's defaults give CTRs of a few percent);
  // 4 rounds of 21 users x 10 items make at least one click all but certain, but the checks on
  // attribution below hold whatever the number of clicks.
  int rc = RunBench({"bench",       "loop",
                     "--items",     "50",
                     "--users",     "21",
                     "--rounds",    "4",
                     "--k",         "5",
                     "--history",   "3",
                     "--bootstrap", "20",
                     "--clients",   "2",
                     "--json",      json_path,
                     "--svg",       svg_path,
                     "--data",      (dir / "db").string()});
  REQUIRE(rc == 0);
  std::ifstream in(json_path);
  json report = json::parse(in);
  REQUIRE(report.contains("surfaces"));
  REQUIRE(report["rounds"].size() == 4);
  for (const char* surface : {"explore", "exploit", "popular"}) {
    CAPTURE(surface);
    const json& s = report["surfaces"][surface];
    CHECK(s["decisions"] == 4 * 7);
    CHECK(s["non_ok"] == 0);
    CHECK(s["impressions"].get<size_t>() > 0);
    double coverage = s["coverage"];
    CHECK(coverage > 0);
    CHECK(coverage <= 1);
    for (const char* field : {"clicks", "ctr", "distinct_items_shown", "new_item_first_round",
                              "new_item_impressions", "report"}) {
      CHECK(s.contains(field));
    }
    // The server's report holds every decision answered as logged (a log write may fail on a
    // loaded machine; the decision still answers) and attributed every click sent on them (one
    // click per clicked impression).
    const json& logged = s["logged"];
    CHECK(logged["decisions"].get<size_t>() <= s["decisions"].get<size_t>());
    CHECK(s["report"]["decisions"] == logged["decisions"]);
    CHECK(s["report"]["impressions"] == logged["impressions"]);
    CHECK(s["report"]["clicked_impressions"] == logged["clicks"]);
    CHECK(s["report"]["clicks"] == logged["clicks"]);
  }
  size_t sent = 0, attributed = 0;
  for (const json& round : report["rounds"]) {
    attributed += round["attributed"].get<size_t>();
    for (const char* surface : {"explore", "exploit", "popular"}) {
      CHECK(round[surface].contains("ctr"));
      CHECK(round[surface].contains("new_item_share"));
      sent += round[surface]["logged_clicks"].get<size_t>();
    }
  }
  CHECK(attributed == sent);
  const json& off = report["off_policy"];
  CHECK(off["per_round"].size() == 4);
  CHECK(off["pooled"].contains("ips"));
  CHECK(off["pooled"].contains("snips"));
  CHECK(off.contains("exploit_direct_ctr"));
  CHECK(report.contains("world"));
  std::ifstream svg(svg_path);
  std::string text((std::istreambuf_iterator<char>(svg)), std::istreambuf_iterator<char>());
  CHECK(text.find("<svg") == 0);
  CHECK(text.find("</svg>") != std::string::npos);
  std::filesystem::remove_all(dir);
}
