// `pathwise export impressions`: writes the logged decisions served in a time range, each with
// its impressions and the outcomes joined to it, as NDJSON on stdout (docs/feedback-loop.md).
// `pathwise export features`: recomputes every declared counter as of a time from the stored
// event and impression logs (the same code as the online counters) and writes their values.
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>

#include "cli/cli.h"
#include "cli/cli_args.h"
#include "decide/decide.h"

namespace pathwise::server {
namespace {

constexpr char kExportUsage[] = R"(usage: pathwise export impressions --since T --until T [--data DIR]
       pathwise export features --as-of T [--data DIR] [--out FILE]

Writes one JSON line per logged decision served in [since, until) to stdout, in time order:
what was served (surface, user, items with slot, score, propensity, ...) and "outcomes", the
events attributed to it. T is milliseconds since the epoch, or a UTC date or time
(2026-12-03, 2026-12-03T06:48:00Z).

`export features` folds the logged events and decisions with ts <= T into fresh counters of
the schema's declared counters and writes one JSON line per (counter, key) counted at T:
{"counter", "item"/"user"/"surface" (the key's fields), "value"}, counters in declaration
order, keys in order (docs/feedback-loop.md, "Counters").

  --data DIR   data directory (default: ./data); a running server holds it locked
  --out FILE   write the lines to FILE instead of stdout
)";

int Fail(const std::string& message) {
  std::cerr << "pathwise export: " << message << "\n";
  return 2;
}

}  // namespace

DatabaseOptions ReadOnlyOptions() {
  DatabaseOptions options;
  options.impression_retention_days = 0;  // export reads what is there; it never expires
  options.event_retention_days = 0;
  options.checkpoint_interval_seconds = 0;
  return options;
}

int ExportFeatures(const Args& args) {
  auto as_of_text = args.Get("as-of");
  if (!as_of_text) return Fail(std::string("--as-of is required\n\n") + kExportUsage);
  auto as_of = decide::ParseTimeMillis(*as_of_text);
  if (!as_of.ok()) return Fail("--as-of: " + as_of.status().message());
  auto db = OpenForCli(args.Get("data").value_or("data"), ReadOnlyOptions());
  if (!db.ok()) return Fail(db.status().message());
  auto counters = (*db)->FoldCounters(*as_of);
  if (!counters.ok()) return Fail(counters.status().ToString());
  std::ofstream file;
  if (auto out = args.Get("out")) {
    file.open(*out);
    if (!file) return Fail("cannot write " + *out);
  }
  std::ostream& out = file.is_open() ? file : std::cout;
  size_t lines = 0;
  counters->ForEach(*as_of, [&](const features::CounterDef& def, const features::KeyFields& key,
                                double value) {
    out << features::ValueLine(def, key, value).dump() << "\n";
    ++lines;
  });
  out.flush();
  if (!out) return Fail("cannot write the output");
  std::cerr << "pathwise export: " << lines << " counter value(s) as of " << *as_of << "\n";
  return 0;
}

int ExportMain(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, {"data", "since", "until", "as-of", "out"}, {});
  if (!args.ok()) return Fail(args.status().message() + "\n\n" + kExportUsage);
  if (args->help) {
    std::cout << kExportUsage;
    return 0;
  }
  if (args->positionals.size() == 1 && args->positionals[0] == "features") return ExportFeatures(*args);
  if (args->positionals.size() != 1 || args->positionals[0] != "impressions") {
    return Fail(std::string("what to export: impressions or features\n\n") + kExportUsage);
  }
  auto since_text = args->Get("since");
  auto until_text = args->Get("until");
  if (!since_text || !until_text) return Fail(std::string("--since and --until are required\n\n") + kExportUsage);
  auto since = decide::ParseTimeMillis(*since_text);
  if (!since.ok()) return Fail("--since: " + since.status().message());
  auto until = decide::ParseTimeMillis(*until_text);
  if (!until.ok()) return Fail("--until: " + until.status().message());
  if (*until < *since) return Fail("--until is before --since");
  auto db = OpenForCli(args->Get("data").value_or("data"), ReadOnlyOptions());
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
