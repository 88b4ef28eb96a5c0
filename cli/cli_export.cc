// `pathwise export impressions`: writes the logged decisions served in a time range, each with
// its impressions and the outcomes joined to it, as NDJSON on stdout (docs/feedback-loop.md).
#include <cstdio>
#include <ctime>
#include <iostream>

#include "cli/cli.h"
#include "cli/cli_args.h"
#include "decide/decide.h"

namespace pathwise::server {
namespace {

constexpr char kExportUsage[] = R"(usage: pathwise export impressions --since T --until T [--data DIR]

Writes one JSON line per logged decision served in [since, until) to stdout, in time order:
what was served (surface, user, items with slot, score, propensity, ...) and "outcomes", the
events attributed to it. T is milliseconds since the epoch, or a UTC date or time
(2026-12-03, 2026-12-03T06:48:00Z).

  --data DIR   data directory (default: ./data); a running server holds it locked
)";

int Fail(const std::string& message) {
  std::cerr << "pathwise export: " << message << "\n";
  return 2;
}

}  // namespace

int ExportMain(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, {"data", "since", "until"}, {});
  if (!args.ok()) return Fail(args.status().message() + "\n\n" + kExportUsage);
  if (args->help) {
    std::cout << kExportUsage;
    return 0;
  }
  if (args->positionals.size() != 1 || args->positionals[0] != "impressions") {
    return Fail(std::string("what to export: impressions\n\n") + kExportUsage);
  }
  auto since_text = args->Get("since");
  auto until_text = args->Get("until");
  if (!since_text || !until_text) return Fail(std::string("--since and --until are required\n\n") + kExportUsage);
  auto since = decide::ParseTimeMillis(*since_text);
  if (!since.ok()) return Fail("--since: " + since.status().message());
  auto until = decide::ParseTimeMillis(*until_text);
  if (!until.ok()) return Fail("--until: " + until.status().message());
  if (*until < *since) return Fail("--until is before --since");
  DatabaseOptions options;
  options.impression_retention_days = 0;  // export reads what is there; it never expires
  options.checkpoint_interval_seconds = 0;
  auto db = OpenForCli(args->Get("data").value_or("data"), options);
  if (!db.ok()) return Fail(db.status().message());
  size_t lines = 0;
  Status status = (*db)->ScanRecommendations(*since, *until, [&](const nlohmann::json& d) {
    std::cout << d.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    ++lines;
    return static_cast<bool>(std::cout);
  });
  std::cout.flush();
  if (!status.ok()) return Fail(status.ToString());
  if (!std::cout) return Fail("cannot write to stdout");
  std::cerr << "pathwise export: " << lines << " decision(s)\n";
  return 0;
}

}  // namespace pathwise::server
