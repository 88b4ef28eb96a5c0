// `pathwise serve` flags for the server's and the database's limits: each is listed in --help, and
// a value outside its range stops the command with exit status 2 and a message naming the flag,
// before the database is opened.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "server_fixture.h"

namespace pathwise::server::testing {
namespace {

// Runs `pathwise serve ARGS` (killed after 20 s, so a value wrongly accepted cannot hang the
// test); returns the exit status and what it printed (stdout and stderr).
std::pair<int, std::string> RunServe(const TempDir& dir, const std::string& args) {
  std::string out = dir.Sub("out.txt");
  std::string command = "timeout 20 " + std::string(PATHWISE_BINARY_DIR) + "/pathwise serve " +
                        args + " >" + out + " 2>&1";
  int rc = std::system(command.c_str());
  std::ifstream in(out);
  std::stringstream text;
  text << in.rdbuf();
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, text.str()};
}

constexpr const char* kLimitFlags[] = {
    "--max-connections-per-client", "--header-timeout-ms",       "--keep-alive-timeout-seconds",
    "--body-timeout-seconds",       "--keep-alive-max-requests",
    "--read-timeout-seconds",       "--checkpoint-interval-seconds", "--plan-cache-entries",
    "--plan-cache-bytes",           "--max-query-memory-bytes",  "--max-total-query-memory-bytes",
    "--default-max-per-node",       "--decide-inline-steps",     "--decide-isolation-cooldown-ms",
    "--decide-max-inline-steps",    "--decide-max-running-steps", "--decide-max-running-decisions",
    "--decide-max-admission-wait-ms", "--impression-wait-past-deadline-ms"};

TEST_CASE("serve --help lists every limit flag") {
  TempDir dir;
  auto [status, text] = RunServe(dir, "--help");
  CHECK(status == 0);
  for (const char* flag : kLimitFlags) {
    INFO(flag);
    CHECK(text.find(flag) != std::string::npos);
  }
}

TEST_CASE("serve refuses a limit value outside its range with exit status 2 naming the flag") {
  TempDir dir;
  const std::pair<const char*, const char*> cases[] = {
      {"--header-timeout-ms 0", "--header-timeout-ms must be an integer from 1"},
      {"--body-timeout-seconds 0", "--body-timeout-seconds must be an integer from 1"},
      {"--max-connections 8 --max-connections-per-client 9",
       "--max-connections-per-client must be an integer from 1 to 8"},
      {"--max-connections-per-client 0", "--max-connections-per-client must be an integer from 1"},
      {"--keep-alive-timeout-seconds 0", "--keep-alive-timeout-seconds must be an integer from 1"},
      {"--keep-alive-max-requests 0", "--keep-alive-max-requests must be an integer from 1"},
      {"--read-timeout-seconds soon", "--read-timeout-seconds must be an integer from 1"},
      {"--checkpoint-interval-seconds -1", "--checkpoint-interval-seconds must be an integer from 0"},
      {"--checkpoint-interval-seconds 4294967296", "from 0 to 4294967295"},
      {"--plan-cache-bytes 1e6", "--plan-cache-bytes must be an integer from 0"},
      {"--plan-cache-entries 99999999999999999999999", "--plan-cache-entries must be an integer"},
      {"--max-query-memory-bytes 12MB", "--max-query-memory-bytes must be an integer from 0"},
      {"--max-total-query-memory-bytes ''", "--max-total-query-memory-bytes must be an integer"},
      {"--default-max-per-node -5", "--default-max-per-node must be an integer from 0"},
      {"--decide-inline-steps yes", "--decide-inline-steps must be on or off, not 'yes'"},
      {"--decide-inline-steps ''", "--decide-inline-steps must be on or off"},
      {"--decide-isolation-cooldown-ms -1",
       "--decide-isolation-cooldown-ms must be an integer from 0 to 86400000"},
      {"--decide-isolation-cooldown-ms 30s", "--decide-isolation-cooldown-ms must be an integer"},
      {"--decide-max-inline-steps 4097", "--decide-max-inline-steps must be an integer from 0 to 4096"},
      {"--decide-max-running-steps many",
       "--decide-max-running-steps must be an integer from 0 to 4096"},
      {"--decide-max-running-decisions -1",
       "--decide-max-running-decisions must be an integer from 0 to 4096"},
      {"--decide-max-admission-wait-ms 10001",
       "--decide-max-admission-wait-ms must be an integer from 0 to 10000"},
      {"--impression-wait-past-deadline-ms 60001",
       "--impression-wait-past-deadline-ms must be an integer from 0 to 60000"},
      {"--similarity-schedule '{}' --similarity-schedule-seconds 0",
       "--similarity-schedule-seconds must be an integer from 1"},
      {"--similarity-schedule '{}' --similarity-schedule-seconds hourly",
       "--similarity-schedule-seconds must be an integer from 1"},
      {"--similarity-schedule-seconds 60",
       "--similarity-schedule-seconds needs --similarity-schedule"},
      // Checked when the server starts (after the database is opened), still with status 2.
      {"--no-auth --listen 127.0.0.1:0 --similarity-schedule nope",
       "similarity schedule: params must be a JSON object"},
      {"--schedule-job transitions", "--schedule-job takes JOB:SECONDS:JSON"},
      {"--schedule-job 'transitions:0:{}'", "--schedule-job takes JOB:SECONDS:JSON with SECONDS from 1"},
      {"--schedule-job 'transitions:hourly:{}'", "--schedule-job takes JOB:SECONDS:JSON"},
      {"--no-auth --listen 127.0.0.1:0 --schedule-job 'transitions:60:{\"edge\": \"NOPE\", \"output\": \"N\"}'",
       "transitions schedule: unknown edge type 'NOPE'"},
  };
  // Plain variables, not structured bindings: INFO captures them in a lambda, which clang's
  // C++20 does not allow for bindings.
  for (const auto& c : cases) {
    const std::string args = c.first;
    INFO(args);
    const auto run = RunServe(dir, "--data " + dir.Sub("data") + " " + args);
    const std::string text = run.second;
    INFO(text);
    CHECK(run.first == 2);
    CHECK(text.find(c.second) != std::string::npos);
  }
}

// The server's base URL from `pathwise serve`'s banner in the file `out`, waiting up to 20 s.
std::string WaitForUrl(const std::string& out) {
  for (int attempt = 0; attempt < 200; ++attempt) {
    std::ifstream in(out);
    std::stringstream text;
    text << in.rdbuf();
    const std::string banner = text.str();
    size_t at = banner.find(" at http://");
    if (at != std::string::npos) {
      size_t end = banner.find_first_of(" \n", at + 4);
      return banner.substr(at + 4, end - at - 4);
    }
    usleep(100 * 1000);
  }
  return "";
}

TEST_CASE("serve --default-max-per-node caps RECOMMEND's hops and stats name the cap over HTTP") {
  TempDir dir;
  const std::string bin = std::string(PATHWISE_BINARY_DIR) + "/pathwise";
  const std::string data = dir.Sub("data");
  const std::string fixture =
      std::string(PATHWISE_SOURCE_DIR) + "/tests/queries/fixtures/shop_small.ndjson";
  REQUIRE(std::system((bin + " load --data " + data + " " + fixture + " >/dev/null 2>&1").c_str()) == 0);
  // In the background, killed by its pid at the end (and by timeout if the test dies first).
  const std::string out = dir.Sub("serve.txt");
  const std::string pid_file = dir.Sub("serve.pid");
  const std::string command = "timeout 60 " + bin + " serve --data " + data +
                              " --no-auth --listen 127.0.0.1:0 --default-max-per-node 1 >" + out +
                              " 2>&1 & echo $! >" + pid_file;
  REQUIRE(std::system(command.c_str()) == 0);
  const std::string url = WaitForUrl(out);
  REQUIRE_MESSAGE(!url.empty(), "no banner");
  httplib::Client client(url);
  client.set_read_timeout(30, 0);
  // u1 viewed three items; with a default cap of 1 the hop follows only the strongest (i3).
  const nlohmann::json body = {
      {"query", "RECOMMEND (c:Item) FOR (u:User {id: 'u1'}) FROM (u)-[:VIEWED]->(c)"}, {"params", nlohmann::json::object()}};
  auto res = client.Post("/v1/query", body.dump(), "application/json");
  REQUIRE(res);
  INFO(res->body);
  CHECK(res->status == 200);
  const nlohmann::json result = nlohmann::json::parse(res->body);
  CHECK(result["rows"].size() == 1);
  const nlohmann::json expected = nlohmann::json::parse(R"([{"source": "graph1", "hop": 1,
    "relationship": "-[:VIEWED]->", "cap": 1, "cap_from": "default"}])");
  CHECK(result["stats"]["capped_hops"] == expected);
  std::ifstream pid_in(pid_file);
  int pid = 0;
  pid_in >> pid;
  if (pid > 0) kill(pid, SIGTERM);
}

}  // namespace
}  // namespace pathwise::server::testing
