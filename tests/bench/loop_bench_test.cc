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

// Runs the loop at a tiny size with --assignment `assignment`; returns the JSON report ({} when
// the command failed). High click probabilities are not needed: the checks on attribution hold
// whatever the number of clicks.
json RunTiny(const std::filesystem::path& dir, const std::string& assignment) {
  const std::string json_path = (dir / "loop.json").string(),
                    svg_path = (dir / "loop.svg").string();
  int rc = RunBench({"bench",        "loop",
                     "--items",      "50",
                     "--users",      "21",
                     "--rounds",     "4",
                     "--k",          "5",
                     "--history",    "3",
                     "--bootstrap",  "20",
                     "--clients",    "2",
                     "--assignment", assignment,
                     "--json",       json_path,
                     "--svg",        svg_path,
                     "--data",       (dir / "db").string()});
  if (rc != 0) return json::object();
  std::ifstream in(json_path);
  json report = json::parse(in);
  std::ifstream svg(svg_path);
  std::string text((std::istreambuf_iterator<char>(svg)), std::istreambuf_iterator<char>());
  report["svg_ok"] = text.find("<svg") == 0 && text.find("</svg>") != std::string::npos;
  return report;
}

void CheckReport(const json& report, size_t decisions_per_surface, bool paired) {
  REQUIRE(report.contains("surfaces"));
  REQUIRE(report["rounds"].size() == 4);
  for (const char* surface : {"explore", "exploit", "popular"}) {
    CAPTURE(surface);
    const json& s = report["surfaces"][surface];
    CHECK(s["decisions"] == decisions_per_surface);
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
  // Each difference is over the users who saw both surfaces (paired: all 21) or each its own
  // users (split: 7 and 7), and its interval holds its value.
  for (const char* name : {"explore_minus_exploit", "explore_minus_popular",
                           "exploit_minus_popular"}) {
    CAPTURE(name);
    const json& d = report["differences"][name];
    REQUIRE(d.is_object());
    CHECK(d["paired"] == paired);
    CHECK(d["users_a"] == (paired ? 21 : 7));
    CHECK(d["users_b"] == (paired ? 21 : 7));
    CHECK(d["low"].get<double>() <= d["value"].get<double>());
    CHECK(d["value"].get<double>() <= d["high"].get<double>());
  }
  const json& off = report["off_policy"];
  CHECK(off["per_round"].size() == 4);
  CHECK(off["pooled"].contains("ips"));
  CHECK(off["pooled"].contains("snips"));
  CHECK(off.contains("exploit_direct_ctr"));
  CHECK(off["same_users"] == paired);
  CHECK(report.contains("world"));
  CHECK(report["svg_ok"] == true);
}

}  // namespace

TEST_CASE(
    "bench loop: a tiny run answers every decision, attributes clicks and reports every field") {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("pathwise-loop-test-" + std::to_string(::getpid()));
  SUBCASE("paired: every user on every surface, each surface in its own database") {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    CheckReport(RunTiny(dir, "paired"), 4 * 21, true);
  }
  SUBCASE("split: user u on surface u % 3, one database") {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    CheckReport(RunTiny(dir, "split"), 4 * 7, false);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("bench loop: an unknown --assignment is refused") {
  CHECK(RunBench({"bench", "loop", "--assignment", "random"}) != 0);
}
