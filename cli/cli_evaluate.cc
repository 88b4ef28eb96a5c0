// `pathwise evaluate replay`: off-policy evaluation of a recipe on a surface's logged decisions
// (IPS and self-normalised IPS with bootstrap intervals; docs/feedback-loop.md).
#include <chrono>
#include <iostream>

#include "cli/cli.h"
#include "cli/cli_args.h"
#include "decide/decide.h"

namespace pathwise::server {
namespace {

constexpr char kEvaluateUsage[] =
    R"(usage: pathwise evaluate replay --surface S --policy RECIPE --since T [--until T] [--data DIR]

Estimates the click rate per impression the recipe RECIPE would have had on surface S's logged
decisions served in [since, until) (default until: now), from the impression log alone: inverse
propensity scoring (IPS) and self-normalised IPS, each with a 95% bootstrap interval over
decisions. Writes one JSON object to stdout, with the assumptions it rests on. T is milliseconds
since the epoch, or a UTC date or time (2026-12-03, 2026-12-03T06:48:00Z).

  --data DIR            data directory (default: ./data); a running server holds it locked
  --max-decisions N     the most logged decisions of the surface read (default 100000)
  --bootstrap N         bootstrap resamples (default 500)
)";

int Fail(const std::string& message) {
  std::cerr << "pathwise evaluate: " << message << "\n";
  return 2;
}

}  // namespace

int EvaluateMain(int argc, char** argv) {
  auto args = ParseArgs(argc, argv,
                        {"data", "surface", "policy", "since", "until", "max-decisions", "bootstrap"}, {});
  if (!args.ok()) return Fail(args.status().message() + "\n\n" + kEvaluateUsage);
  if (args->help) {
    std::cout << kEvaluateUsage;
    return 0;
  }
  if (args->positionals.size() != 1 || args->positionals[0] != "replay") {
    return Fail(std::string("what to evaluate: replay\n\n") + kEvaluateUsage);
  }
  decide::ReplayEvaluationOptions o;
  auto surface = args->Get("surface"), policy = args->Get("policy"), since = args->Get("since");
  if (!surface || !policy || !since) {
    return Fail(std::string("--surface, --policy and --since are required\n\n") + kEvaluateUsage);
  }
  o.surface = *surface;
  o.recipe = *policy;
  auto since_ms = decide::ParseTimeMillis(*since);
  if (!since_ms.ok()) return Fail("--since: " + since_ms.status().message());
  o.since_ms = *since_ms;
  o.until_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch()).count();
  if (auto until = args->Get("until")) {
    auto until_ms = decide::ParseTimeMillis(*until);
    if (!until_ms.ok()) return Fail("--until: " + until_ms.status().message());
    o.until_ms = *until_ms;
  }
  for (const auto& [flag, target] : {std::pair<const char*, size_t*>{"max-decisions", &o.max_decisions},
                                     {"bootstrap", &o.bootstrap}}) {
    if (auto v = args->Get(flag)) {
      try {
        long long n = std::stoll(*v);
        if (n < 0 || n > 100'000'000) return Fail(std::string("--") + flag + " must be 0 to 1e8");
        *target = static_cast<size_t>(n);
      } catch (...) {
        return Fail(std::string("--") + flag + " must be a number");
      }
    }
  }
  DatabaseOptions options;
  options.impression_retention_days = 0;  // evaluation reads what is there; it never expires
  options.checkpoint_interval_seconds = 0;
  auto db = OpenForCli(args->Get("data").value_or("data"), options);
  if (!db.ok()) return Fail(db.status().message());
  auto result = decide::EvaluateReplay(db->get(), o);
  if (!result.ok()) return Fail(result.status().ToString());
  std::cout << result->dump(2) << "\n";
  return 0;
}

}  // namespace pathwise::server
