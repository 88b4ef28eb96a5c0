// The data-file test driver: every tests/queries/<feature>/*.test file is one doctest test case
// (named "query file <feature>/<name>.test"), run against a fresh temporary Database loaded from
// a fixture, then again after a clean close and reopen (the topology read from its snapshot),
// then again after a reopen with the snapshot deleted (the topology rebuilt from the store): the
// three must give the expected answers. Every RECOMMEND case runs a second time with its sources
// one after another (QueryOptions::parallel_sources off), which must give exactly the first
// run's rows, explanations and stats but for timings. The format is documented in
// docs/query-execution.md:
//
//   # comment                       (outside query text)
//   fixture: shop_small             (tests/queries/fixtures/shop_small.ndjson; once per file)
//   events: shop_events             (optional, once per file: tests/queries/fixtures/
//                                    shop_events.ndjson applied after the fixture, line by line:
//                                    {"schema": {...}} is merged (e.g. to declare counters);
//                                    {"event_id", "type", "user", "item", "ts", "edge"[,
//                                    "segment"]} is one
//                                    accepted event (db's EventWriteSet: an `edge` edge from
//                                    User user to Item item, logged, feeding the counters))
//   ---                             (separates cases)
//   name: what this case checks     (optional)
//   params: {"user": "u1"}          (JSON object)
//   now: 1700000000000              (the query clock, QueryOptions::now_ms)
//   option: explain | profile | max_rows=N | limit.NAME=N (a query::Limits field) | deadline=past
//           | deadline_ms=N
//   option: explain={"paths": 10, "offset": 0, "properties": [..], "checks": true, "context": true,
//                   "sentence": ".."}
//   option: why_not=ID              (QueryOptions::why_not)
//   tolerance: 1e-6                 (relative tolerance for numbers; default 1e-9)
//   query:
//   RECOMMEND ...                   (any number of lines)
//   expect:                         (JSON rows, one array per line, in order)
//   expect unordered:               (same, any order)
//   expect columns: ["id", "type", "score", "sources"]
//   expect stats: {"truncated": true}      (subset of result.stats)
//   expect explain:                 (one JSON object per line: subset of each explanation; a
//                                    value "(absent)" says the key must not be there)
//   expect profile: ["Seed", ...]   (operator name prefixes, in order)
//   expect why_not: {...}           (subset of result.why_not)
//   expect error: invalid_argument 2:7 "unknown property"   (code, optional line:column, text)
//   check: explain                  (terms add up to the score; every path edge exists; when the
//                                    page holds all paths, each term's path contributions add up
//                                    to the term; pages are strongest first; effects match signs)
//
// PW_QUERY_DUMP=1 prints every result (an aid for writing cases).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <map>
#include <optional>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "db/database.h"
#include "tests/query/database_test_util.h"

namespace pathwise::testing {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

const fs::path kQueriesDir = fs::path(PATHWISE_SOURCE_DIR) / "tests" / "queries";

struct Case {
  int line = 0;  // where the case starts, for messages
  std::string name;
  json params = json::object();
  std::optional<int64_t> now;
  QueryOptions options;
  std::string query;
  bool expect_rows = false;
  bool unordered = false;
  std::vector<json> rows;
  std::optional<json> columns;
  std::vector<json> stats;
  std::optional<json> why_not;
  bool expect_explain = false;
  std::vector<json> explain;
  std::optional<json> profile;
  bool expect_error = false;
  std::string error_code;
  int error_line = 0;
  int error_column = 0;
  std::string error_text;
  bool check_explain = false;
  double tolerance = 1e-9;
};

struct TestFile {
  std::string fixture;
  std::string events;
  std::vector<Case> cases;
};

bool StartsWith(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  size_t e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

bool IsDirective(const std::string& line) {
  static const char* kDirectives[] = {"fixture:",   "events:", "name:",   "params:", "now:",
                                      "option:",    "tolerance:", "query:", "expect", "check:"};
  for (const char* d : kDirectives) {
    if (StartsWith(line, d)) return true;
  }
  return line == "---";
}

json ParseJson(const std::string& text, const std::string& where) {
  try {
    return json::parse(text);
  } catch (const std::exception& e) {
    FAIL(where << ": bad JSON '" << text << "': " << e.what());
  }
  return json();
}

// "name=N" for one query::Limits field.
void SetExplain(const json& j, QueryOptions* options) {
  options->explain = true;
  ExplainOptions& e = options->explain_options;
  e.paths = j.value("paths", e.paths);
  e.offset = j.value("offset", e.offset);
  e.checks = j.value("checks", false);
  e.context = j.value("context", false);
  e.sentence = j.value("sentence", std::string());
  if (j.contains("properties")) e.properties = j["properties"].get<std::vector<std::string>>();
}

void SetLimit(const std::string& assignment, query::Limits* limits, const std::string& where) {
  size_t eq = assignment.find('=');
  REQUIRE_MESSAGE(eq != std::string::npos, where << ": expected limit.NAME=N");
  std::string name = assignment.substr(0, eq);
  uint64_t n = std::stoull(assignment.substr(eq + 1));
  if (name == "max_query_bytes") limits->max_query_bytes = n;
  else if (name == "max_nesting_depth") limits->max_nesting_depth = static_cast<int>(n);
  else if (name == "max_expression_depth") limits->max_expression_depth = static_cast<int>(n);
  else if (name == "max_expression_nodes") limits->max_expression_nodes = n;
  else if (name == "max_list_elements") limits->max_list_elements = n;
  else if (name == "max_param_bytes") limits->max_param_bytes = n;
  else if (name == "max_param_elements") limits->max_param_elements = n;
  else if (name == "max_param_depth") limits->max_param_depth = static_cast<int>(n);
  else if (name == "max_query_memory_bytes") limits->max_query_memory_bytes = n;
  else FAIL(where << ": unknown limit " << name);
}

TestFile ParseFile(const fs::path& path) {
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), "cannot read " << path);
  TestFile file;
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  Case current;
  bool has_content = false;
  enum class Block { kNone, kQuery, kRows, kExplain } block = Block::kNone;
  auto finish = [&]() {
    if (has_content) file.cases.push_back(current);
    current = Case();
    has_content = false;
    block = Block::kNone;
  };
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    const std::string where = path.filename().string() + ":" + std::to_string(i + 1);
    if (block == Block::kQuery && !IsDirective(line)) {
      current.query += line + "\n";
      continue;
    }
    std::string t = Trim(line);
    if (t.empty() || StartsWith(t, "#")) continue;
    if (block == Block::kRows && !IsDirective(t)) {
      current.rows.push_back(ParseJson(t, where));
      continue;
    }
    if (block == Block::kExplain && !IsDirective(t)) {
      current.explain.push_back(ParseJson(t, where));
      continue;
    }
    block = Block::kNone;
    if (t == "---") {
      finish();
      continue;
    }
    if (!has_content) current.line = static_cast<int>(i + 1);
    has_content = true;
    auto value = [&](const std::string& key) { return Trim(t.substr(key.size())); };
    if (StartsWith(t, "fixture:")) {
      file.fixture = value("fixture:");
      has_content = false;
    } else if (StartsWith(t, "events:")) {
      file.events = value("events:");
      has_content = false;
    } else if (StartsWith(t, "name:")) {
      current.name = value("name:");
    } else if (StartsWith(t, "params:")) {
      current.params = ParseJson(value("params:"), where);
    } else if (StartsWith(t, "now:")) {
      current.options.now_ms = std::stoll(value("now:"));
    } else if (StartsWith(t, "tolerance:")) {
      current.tolerance = std::stod(value("tolerance:"));
    } else if (StartsWith(t, "option:")) {
      std::string opt = value("option:");
      if (opt == "explain") current.options.explain = true;
      else if (opt == "profile") current.options.profile = true;
      else if (StartsWith(opt, "max_rows=")) current.options.max_rows = std::stoul(opt.substr(9));
      else if (StartsWith(opt, "limit.")) SetLimit(opt.substr(6), &current.options.limits, where);
      else if (opt == "deadline=past") current.options.deadline = Deadline::AfterMillis(-1);
      else if (StartsWith(opt, "deadline_ms=")) {
        current.options.deadline = Deadline::AfterMillis(std::stoll(opt.substr(12)));
      }
      else if (StartsWith(opt, "explain=")) SetExplain(ParseJson(opt.substr(8), where), &current.options);
      else if (StartsWith(opt, "why_not=")) current.options.why_not = opt.substr(8);
      else FAIL(where << ": unknown option " << opt);
    } else if (t == "query:") {
      block = Block::kQuery;
    } else if (t == "expect:" || t == "expect unordered:") {
      current.expect_rows = true;
      current.unordered = t != "expect:";
      block = Block::kRows;
    } else if (StartsWith(t, "expect columns:")) {
      current.columns = ParseJson(value("expect columns:"), where);
    } else if (StartsWith(t, "expect stats:")) {
      current.stats.push_back(ParseJson(value("expect stats:"), where));
    } else if (t == "expect explain:") {
      current.expect_explain = true;
      block = Block::kExplain;
    } else if (StartsWith(t, "expect why_not:")) {
      current.why_not = ParseJson(value("expect why_not:"), where);
    } else if (StartsWith(t, "expect profile:")) {
      current.profile = ParseJson(value("expect profile:"), where);
    } else if (StartsWith(t, "expect error:")) {
      current.expect_error = true;
      std::istringstream words(value("expect error:"));
      words >> current.error_code;
      std::string rest;
      std::getline(words, rest);
      rest = Trim(rest);
      if (!rest.empty() && std::isdigit(static_cast<unsigned char>(rest[0]))) {
        size_t colon = rest.find(':');
        size_t space = rest.find(' ');
        current.error_line = std::stoi(rest.substr(0, colon));
        current.error_column = std::stoi(rest.substr(colon + 1, space - colon - 1));
        rest = space == std::string::npos ? "" : Trim(rest.substr(space));
      }
      if (rest.size() >= 2 && rest.front() == '"' && rest.back() == '"') {
        current.error_text = rest.substr(1, rest.size() - 2);
      }
    } else if (t == "check: explain") {
      current.check_explain = true;
    } else {
      FAIL(where << ": unknown directive '" << t << "'");
    }
  }
  finish();
  return file;
}

// Equality with a relative tolerance for numbers.
double g_tolerance = 1e-9;  // of the case being checked

bool Same(const json& a, const json& b) {
  if (a.is_number() && b.is_number()) {
    double x = a.get<double>(), y = b.get<double>();
    return std::fabs(x - y) <= g_tolerance * std::max({1.0, std::fabs(x), std::fabs(y)});
  }
  if (a.type() != b.type()) return false;
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (!Same(a[i], b[i])) return false;
    }
    return true;
  }
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto it = a.begin(); it != a.end(); ++it) {
      if (!b.contains(it.key()) || !Same(it.value(), b[it.key()])) return false;
    }
    return true;
  }
  return a == b;
}

// Every key of `want` is in `have` with a matching value (objects recursively; arrays element-wise
// with equal lengths); a key whose wanted value is the string "(absent)" must not be in `have`.
bool Subset(const json& want, const json& have) {
  if (want.is_object()) {
    if (!have.is_object()) return false;
    for (auto it = want.begin(); it != want.end(); ++it) {
      if (it.value() == "(absent)") {
        if (have.contains(it.key())) return false;
        continue;
      }
      if (!have.contains(it.key()) || !Subset(it.value(), have[it.key()])) return false;
    }
    return true;
  }
  if (want.is_array()) {
    if (!have.is_array() || have.size() != want.size()) return false;
    for (size_t i = 0; i < want.size(); ++i) {
      if (!Subset(want[i], have[i])) return false;
    }
    return true;
  }
  return Same(want, have);
}

std::string Dump(const std::vector<json>& rows) {
  std::string s;
  for (const json& r : rows) s += "  " + r.dump() + "\n";
  return s;
}

// Path contributions: effects match their signs, the page is ordered by absolute contribution
// (context paths last), and, when the page holds every path, the contributions of each split
// term's paths add up to the term.
void CheckContributions(const json& e, const std::string& label) {
  const json& paths = e["paths"];
  double previous = INFINITY;
  bool context_seen = false;
  std::map<std::string, double> sums;
  for (const json& p : paths) {
    if (p["kind"] == "context") {
      context_seen = true;
      CHECK_MESSAGE(!p.contains("contribution"), label << ": a context path has a contribution");
      continue;
    }
    CHECK_MESSAGE(!context_seen, label << ": a contributing path after a context path");
    double x = p["contribution"].get<double>();
    CHECK_MESSAGE(p["effect"] == (x > 0 ? "pull" : x < 0 ? "push" : "none"), label);
    CHECK_MESSAGE(std::fabs(x) <= previous * (1 + 1e-12), label << ": paths not strongest first");
    previous = std::fabs(x);
    if (p.contains("contributions")) {
      for (const auto& [term, v] : p["contributions"].items()) sums[term] += v.get<double>();
    } else {
      sums[p["term"].get<std::string>()] += x;
    }
  }
  const bool all = e.value("paths_offset", 0) == 0 && paths.size() == e.value("paths_total", size_t{0}) &&
                   e.value("paths_complete", true);
  if (!all) return;
  for (const json& term : e["terms"]) {
    if (!term.contains("paths")) continue;
    double value = term["value"].get<double>();
    double sum = sums[term["name"].get<std::string>()];
    CHECK_MESSAGE(std::fabs(sum - value) <= 1e-9 * std::max(1.0, std::fabs(value)),
                  label << ": paths of term " << term["name"] << " add up to " << sum
                        << ", the term is " << value);
  }
}

// Checks that explanations are consistent with the rows and with the stored graph.
void CheckExplain(Database* db, const QueryResult& result, const std::string& label) {
  REQUIRE_MESSAGE(result.explanations.size() == result.rows.size(), label);
  for (size_t i = 0; i < result.rows.size(); ++i) {
    const json& row = result.rows[i];
    const json& e = result.explanations[i];
    CHECK_MESSAGE(e["id"] == row[0], label);
    CHECK_MESSAGE(e["type"] == row[1], label);
    double sum = 0;
    bool null_term = false;
    for (const json& term : e["terms"]) {
      if (term["value"].is_number()) sum += term["value"].get<double>();
      else null_term = true;
    }
    if (row[2].is_number()) {
      double score = row[2].get<double>();
      CHECK_MESSAGE(!null_term, label << ": a null term in a non-null score");
      CHECK_MESSAGE(std::fabs(sum - score) <= 1e-9 * std::max(1.0, std::fabs(score)),
                    label << ": terms add up to " << sum << ", score is " << score);
    } else {
      CHECK_MESSAGE(null_term, label << ": null score without a null term");
    }
    CheckContributions(e, label);
    for (const json& path : e["paths"]) {
      const json& nodes = path["nodes"];
      const json& edges = path["edges"];
      REQUIRE_MESSAGE(nodes.size() == edges.size() + 1, label);
      for (size_t k = 0; k < edges.size(); ++k) {
        const json& edge = edges[k];
        bool out = edge["direction"] == "out";
        const json& from = out ? nodes[k] : nodes[k + 1];
        const json& to = out ? nodes[k + 1] : nodes[k];
        std::string q = "MATCH (a:" + from["type"].get<std::string>() + " {id: $a})-[r:" +
                        edge["type"].get<std::string>() + "]->(b:" + to["type"].get<std::string>() +
                        " {id: $b}) RETURN r.weight, r.ts, r.count";
        auto check = db->Query(q, json{{"a", from["id"]}, {"b", to["id"]}});
        REQUIRE_MESSAGE(check.ok(), label << ": " << check.status().ToString());
        REQUIRE_MESSAGE(check->rows.size() == 1,
                        label << ": path edge " << from.dump() << " -" << edge["type"] << "-> "
                              << to.dump() << " does not exist");
        CHECK_MESSAGE(Same(check->rows[0][0], edge["weight"]), label << ": edge weight differs");
        CHECK_MESSAGE(check->rows[0][1] == edge["ts"], label << ": edge ts differs");
        CHECK_MESSAGE(check->rows[0][2] == edge["count"], label << ": edge count differs");
      }
    }
  }
}

// stats without what differs between two runs of one query: timings, whether the plan was
// cached, whether the sources ran in parallel.
json StatsWithoutTimings(json stats) {
  if (!stats.is_object()) return stats;
  for (const char* key : {"plan_cached", "parallel_sources", "us"}) stats.erase(key);
  for (auto it = stats.begin(); it != stats.end();) {
    const std::string& key = it.key();
    if (key.size() > 3 && key.compare(key.size() - 3, 3, "_us") == 0) {
      it = stats.erase(it);
      continue;
    }
    it.value() = StatsWithoutTimings(it.value());
    ++it;
  }
  return stats;
}

// A RECOMMEND case runs again with its sources one after another (QueryOptions::
// parallel_sources off): rows, scores, sources, explanations, why_not and the stats other than
// timings must be exactly those of the first run (which ran them in parallel when it could).
void CheckSameAsSequential(Database* db, const Case& c, const QueryResult& first,
                           const std::string& label) {
  QueryOptions options = c.options;
  options.parallel_sources = false;
  auto again = db->Query(c.query, c.params, options);
  REQUIRE_MESSAGE(again.ok(), label << ": sequential run: " << again.status().ToString());
  const QueryResult& r = again.value();
  CHECK_MESSAGE(r.stats["parallel_sources"] == false, label);
  CHECK_MESSAGE(r.rows == first.rows, label << ": sequential rows " << r.rows.dump() << "\nparallel rows "
                                            << first.rows.dump());
  CHECK_MESSAGE(r.explanations == first.explanations,
                label << ": sequential explanations differ:\n" << r.explanations.dump() << "\nparallel:\n"
                      << first.explanations.dump());
  CHECK_MESSAGE(r.why_not == first.why_not, label << ": why_not differs");
  const json a = StatsWithoutTimings(r.stats), b = StatsWithoutTimings(first.stats);
  CHECK_MESSAGE(a == b, label << ": stats differ:\nsequential " << a.dump() << "\nparallel   " << b.dump());
}

void RunCase(Database* db, const Case& c, const std::string& file) {
  std::string label = file + ":" + std::to_string(c.line) + (c.name.empty() ? "" : " (" + c.name + ")");
  INFO(label);
  INFO("query: " << c.query);
  g_tolerance = c.tolerance;
  auto result = db->Query(c.query, c.params, c.options);
  if (c.expect_error) {
    REQUIRE_MESSAGE(!result.ok(), label << ": expected an error, got rows "
                                        << (result.ok() ? result->rows.dump() : ""));
    const Status& s = result.status();
    CHECK_MESSAGE(s.CodeName() == c.error_code, label << ": " << s.ToString());
    if (c.error_line > 0) {
      CHECK_MESSAGE(s.line() == c.error_line, label << ": " << s.ToString());
      CHECK_MESSAGE(s.column() == c.error_column, label << ": " << s.ToString());
    }
    if (!c.error_text.empty()) {
      CHECK_MESSAGE(s.message().find(c.error_text) != std::string::npos, label << ": " << s.ToString());
    }
    return;
  }
  if (std::getenv("PW_QUERY_DUMP") != nullptr) {  // authoring aid: print every result
    MESSAGE(label << "\n" << (result.ok() ? result->ToJson().dump(1) : result.status().ToString()));
  }
  REQUIRE_MESSAGE(result.ok(), label << ": " << result.status().ToString());
  const QueryResult& r = result.value();
  if (c.columns) CHECK_MESSAGE(Same(*c.columns, r.columns), label << ": columns " << r.columns.dump());
  if (c.expect_rows) {
    std::vector<json> have(r.rows.begin(), r.rows.end());
    std::vector<json> want = c.rows;
    bool ok = have.size() == want.size();
    if (ok && c.unordered) {
      std::vector<bool> used(have.size(), false);
      for (const json& w : want) {
        bool found = false;
        for (size_t i = 0; i < have.size() && !found; ++i) {
          if (!used[i] && Same(w, have[i])) used[i] = found = true;
        }
        ok = ok && found;
      }
    } else if (ok) {
      for (size_t i = 0; i < want.size(); ++i) ok = ok && Same(want[i], have[i]);
    }
    CHECK_MESSAGE(ok, label << ": rows differ\nexpected:\n" << Dump(want) << "got:\n" << Dump(have));
  }
  for (const json& s : c.stats) {
    CHECK_MESSAGE(Subset(s, r.stats), label << ": stats " << r.stats.dump() << " lack " << s.dump());
  }
  if (c.expect_explain) {
    bool ok = c.explain.size() == r.explanations.size();
    for (size_t i = 0; ok && i < c.explain.size(); ++i) ok = Subset(c.explain[i], r.explanations[i]);
    CHECK_MESSAGE(ok, label << ": explanations " << r.explanations.dump(1));
  }
  if (c.profile) {
    bool ok = c.profile->size() == r.profile.size();
    for (size_t i = 0; ok && i < c.profile->size(); ++i) {
      ok = StartsWith(r.profile[i]["operator"].get<std::string>(), (*c.profile)[i].get<std::string>()) &&
           r.profile[i].contains("rows_in") && r.profile[i].contains("rows_out") &&
           r.profile[i].contains("time_us");
    }
    CHECK_MESSAGE(ok, label << ": profile " << r.profile.dump());
  }
  if (c.why_not) {
    CHECK_MESSAGE(Subset(*c.why_not, r.why_not), label << ": why_not " << r.why_not.dump(1));
  }
  if (c.check_explain) CheckExplain(db, r, label);
  if (r.stats.contains("parallel_sources")) CheckSameAsSequential(db, c, r, label);
}

// The `events:` file: schema lines merged, event lines applied as accepted events.
void ApplyEvents(Database* db, const fs::path& path) {
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), "cannot read events " << path);
  std::string text;
  for (int line = 1; std::getline(in, text); ++line) {
    if (Trim(text).empty()) continue;
    const json j = ParseJson(text, path.string() + ":" + std::to_string(line));
    if (j.contains("schema")) {
      Status merged = db->MergeSchema(j["schema"].dump());
      REQUIRE_MESSAGE(merged.ok(), path << ":" << line << ": " << merged.ToString());
      continue;
    }
    EdgeWrite edge;
    edge.type = j.at("edge").get<std::string>();
    edge.from = NodeRef{"User", j.at("user").get<std::string>(), /*create_if_missing=*/true};
    edge.to = NodeRef{"Item", j.at("item").get<std::string>(), /*create_if_missing=*/false};
    edge.ts = j.at("ts").get<int64_t>();
    EventWrite event{j.at("event_id").get<std::string>(), j.at("type").get<std::string>(),
                     edge.from.id, edge.to.id, edge.ts, 1.0, "", j.value("segment", "")};
    Status applied = db->Apply(EventWriteSet(std::move(edge), std::move(event)));
    REQUIRE_MESSAGE(applied.ok(), path << ":" << line << ": " << applied.ToString());
  }
}

void RunFile(const fs::path& path) {
  TestFile file = ParseFile(path);
  REQUIRE_MESSAGE(!file.fixture.empty(), path << " has no fixture: line");
  REQUIRE_MESSAGE(!file.cases.empty(), path << " has no cases");
  TempDir dir;
  auto db = OpenDb(dir.path);
  fs::path fixture = kQueriesDir / "fixtures" / (file.fixture + ".ndjson");
  std::ifstream in(fixture);
  REQUIRE_MESSAGE(in.good(), "cannot read fixture " << fixture);
  auto report = db->Load(in);
  REQUIRE_MESSAGE(report.ok(), report.status().ToString());
  REQUIRE_MESSAGE(report->errors == 0, "fixture " << file.fixture << ": " << report->ToJson().dump());
  if (!file.events.empty()) ApplyEvents(db.get(), kQueriesDir / "fixtures" / (file.events + ".ndjson"));
  std::string name = path.lexically_relative(kQueriesDir).string();
  for (const Case& c : file.cases) RunCase(db.get(), c, name);
  for (const char* source : {"snapshot", "store"}) {
    db.reset();  // a clean close writes the topology snapshot
    if (std::string(source) == "store") fs::remove(fs::path(dir.path) / "topology");
    db = OpenDb(dir.path);
    REQUIRE(db->Stats()["topology_loaded_from"] == source);
    const std::string label = name + " (reopened, topology from the " + source + ")";
    for (const Case& c : file.cases) RunCase(db.get(), c, label);
  }
}

// ---- One doctest test case per .test file ---------------------------------------------------

std::vector<fs::path>& Files() {
  static std::vector<fs::path> files = [] {
    std::vector<fs::path> out;
    if (!fs::exists(kQueriesDir)) return out;
    for (const auto& entry : fs::recursive_directory_iterator(kQueriesDir)) {
      if (entry.is_regular_file() && entry.path().extension() == ".test") out.push_back(entry.path());
    }
    std::sort(out.begin(), out.end());
    return out;
  }();
  return files;
}

constexpr size_t kMaxFiles = 128;

template <size_t N>
void RunNth() {
  RunFile(Files()[N]);
}

template <size_t... I>
int RegisterAll(std::index_sequence<I...>) {
  static constexpr void (*kRunners[])() = {&RunNth<I>...};
  static std::deque<std::string> names;
  const auto& files = Files();
  for (size_t i = 0; i < files.size() && i < kMaxFiles; ++i) {
    names.push_back("query file " + files[i].lexically_relative(kQueriesDir).string());
    doctest::detail::regTest(doctest::detail::TestCase(kRunners[i], __FILE__, __LINE__,
                                                       doctest_detail_test_suite_ns::getCurrentTestSuite()) *
                             names.back().c_str());
  }
  return 0;
}

const int kRegistered = RegisterAll(std::make_index_sequence<kMaxFiles>());

TEST_CASE("query files exist and fit the driver") {
  CHECK(kRegistered == 0);
  CHECK(!Files().empty());
  CHECK(Files().size() <= kMaxFiles);
}

}  // namespace
}  // namespace pathwise::testing
