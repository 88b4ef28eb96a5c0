// `pathwise serve`: opens the database, starts the HTTP server, waits for SIGINT/SIGTERM, then
// shuts down gracefully (in-flight requests and load jobs finish, the database flushes).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <vector>

#include "cli/cli_args.h"
#include "server/server.h"

namespace pathwise::server {
namespace {

constexpr char kServeUsage[] = R"(usage: pathwise serve --data DIR [options]

Serves the database in DIR over HTTP/JSON (API reference: docs/openapi.yaml, docs/server.md).

  --data DIR                  data directory (created if missing)
  --listen HOST:PORT          address to listen on (default 127.0.0.1:7070; port 0 = any free)
  --no-auth                   disable API keys; only allowed on a loopback address
  --tls-cert FILE             PEM certificate; with --tls-key serves HTTPS
  --tls-key FILE              PEM private key
  --threads N                 HTTP worker threads started at once (default 16)
  --max-connections N         open connections served at once, one thread each (default 512)
  --max-connections-per-client N
                              open connections one remote address may hold, 503 beyond
                              (default 64, or --max-connections if smaller)
  --header-timeout-ms N       request line + headers (and a TLS handshake) must arrive within
                              N ms of the request's first byte, else 408 and close (default 5000)
  --body-timeout-seconds N    a request body must arrive within N s of its headers' end, else
                              408 and close (default 120)
  --keep-alive-timeout-seconds N
                              close a connection idle this long between requests (default 5)
  --keep-alive-max-requests N requests one connection may carry before the server closes it
                              (default 1000)
  --read-timeout-seconds N    close a connection that sends nothing this long (default 5)
  --max-body-bytes N          request body limit, 413 beyond (default 67108864)
  --max-query-bytes N         query text limit, 413 beyond (default 65536)
  --default-deadline-ms N     query deadline when the request sets none (default 1000)
  --max-deadline-ms N         largest deadline a request may ask for (default 30000)
  --max-concurrent-queries N  429 beyond (default 64)
  --max-result-rows N         413 beyond (default 10000)
  --max-query-memory-bytes N  memory one query may hold, 413 beyond (default 268435456;
                              0 = unbounded)
  --max-total-query-memory-bytes N
                              memory all running queries may hold together (default
                              1073741824; 0 = unbounded)
  --plan-cache-entries N      cached query plans (default 1024; 0 = no plan cache)
  --default-max-per-node N    RECOMMEND graph sources follow at most N edges per node and hop
                              unless the query says MAX n or MAX ALL (default 100; 0 = no cap)
  --plan-cache-bytes N        approximate bytes of cached plans (default 67108864)
  --checkpoint-interval-seconds N
                              save changed vector-index snapshots this often, bounding replay
                              after a crash (default 300; 0 = never)
  --impression-retention-days N
                              delete logged decisions (impressions and their outcomes) older
                              than N days, at start and hourly (default 30; 0 = keep forever)
  --event-retention-days N    delete logged events (the event log counters are rebuilt from)
                              logged more than N days ago, the same way (default 30; 0 = keep
                              forever; keep it >= the longest counter window)
  --backup-root DIR           POST /v1/admin/backup writes only inside DIR (default DATA/backups)
  --decide-workers N          threads running recipes for decisions (default 8)
  --decide-max-queued N       decisions waiting beyond this answer from a fallback (default 64)
  --decide-inline-steps on|off
                              run a healthy recipe's steps on the request's thread (default on;
                              off: every step runs on a worker)
  --decide-isolation-cooldown-ms N
                              a recipe that overran its step budget runs on the workers for
                              this long (default 30000; 0 to 86400000)
  --decide-max-inline-steps N inline steps at once, beyond them on a worker (default 0 = the
                              hardware threads; at most 4096)
  --decide-max-running-steps N
                              recipe steps running at once, inline and on workers; a step with
                              no slot before its budget answers overload (default 0 = the
                              hardware threads; at most 4096)
  --decide-max-running-decisions N
                              decisions doing their work at once; more wait in arrival order
                              (default 0 = the hardware threads; at most 4096)
  --decide-max-admission-wait-ms N
                              a decision that waited longer for that answers overload from the
                              popular list (default 0 = a fifth of its deadline; at most 10000)
  --impression-wait-past-deadline-ms N
                              how long past its deadline a decision waits for its impression
                              record's write; one not written by then is written after the
                              answer (reason impression_log_late; default 0, at most 60000)
  --candidate-cache-entries N (surface, recipe, user) candidate sets cached for decisions
                              (default 10000; 0 = no candidate cache)
  --candidate-cache-bytes N   approximate bytes of cached candidate sets (default 268435456)
  --similarity-schedule JSON  run the similarity job with these params (a JSON object, as
                              POST /v1/admin/jobs takes them; mode defaults to incremental)
                              in the background every --similarity-schedule-seconds
  --similarity-schedule-seconds N
                              the schedule's interval (default 3600)
  --schedule-job JOB:SECONDS:JSON
                              run any job with these params every SECONDS in the background,
                              e.g. 'transitions:3600:{"edge": "RATED", "output": "FOLLOWED_BY"}'
                              (repeatable, at most 16)
  --enable-fault-injection    adds /v1/admin/faults (tests and demos); loopback only

Create an API key first: pathwise keys create --data DIR --role admin
)";

// Sets *out from --name when given: an integer from min to max, else prints why and returns
// false. Leaves *out unchanged when the option is absent.
template <typename T>
bool ParseBounded(const Args& args, const std::string& name, uint64_t min, uint64_t max, T* out) {
  auto value = args.Get(name);
  if (!value) return true;
  try {
    size_t used = 0;
    unsigned long long parsed = std::stoull(*value, &used);
    if (used == value->size() && value->front() != '-' && parsed >= min && parsed <= max) {
      *out = static_cast<T>(parsed);
      return true;
    }
  } catch (const std::exception&) {
  }
  std::cerr << "pathwise serve: --" << name << " must be an integer from " << min << " to "
            << max << ", not '" << *value << "'\n";
  return false;
}

template <typename T>
bool ParseSize(const Args& args, const std::string& name, T* out) {
  return ParseBounded(args, name, 0, std::numeric_limits<int64_t>::max(), out);
}

constexpr uint64_t kIntMax = std::numeric_limits<int>::max();

// --schedule-job JOB:SECONDS:JSON, each occurrence one scheduled job (the server checks the
// job and its params); prints why and returns false on a malformed value.
bool ParseScheduledJobs(const Args& args, std::vector<ServerOptions::ScheduledJob>* out) {
  auto it = args.options.find("schedule-job");
  if (it == args.options.end()) return true;
  for (const std::string& value : it->second) {
    size_t a = value.find(':');
    size_t b = a == std::string::npos ? a : value.find(':', a + 1);
    int seconds = 0;
    if (b != std::string::npos) {
      const std::string digits = value.substr(a + 1, b - a - 1);
      char* end = nullptr;
      long parsed = std::strtol(digits.c_str(), &end, 10);
      if (!digits.empty() && *end == '\0' && parsed >= 1 && static_cast<uint64_t>(parsed) <= kIntMax) {
        seconds = static_cast<int>(parsed);
      }
    }
    if (b == std::string::npos || a == 0 || seconds == 0) {
      std::cerr << "pathwise serve: --schedule-job takes JOB:SECONDS:JSON with SECONDS from 1 to "
                << kIntMax << ", not '" << value << "'\n";
      return false;
    }
    out->push_back({value.substr(0, a), value.substr(b + 1), seconds});
  }
  return true;
}

// Sets *out from --name when given: on or off, else prints why and returns false.
bool ParseOnOff(const Args& args, const std::string& name, bool* out) {
  auto value = args.Get(name);
  if (!value) return true;
  if (*value == "on" || *value == "off") {
    *out = *value == "on";
    return true;
  }
  std::cerr << "pathwise serve: --" << name << " must be on or off, not '" << *value << "'\n";
  return false;
}

// How decisions run their recipe steps (decide::DeciderOptions).
bool ParseDecideOptions(const Args& args, ServerOptions* o) {
  constexpr uint64_t kMaxSteps = 4096;
  return ParseBounded(args, "decide-workers", 0, 256, &o->decide_workers) &&
         ParseSize(args, "decide-max-queued", &o->decide_max_queued) &&
         ParseOnOff(args, "decide-inline-steps", &o->decide_inline_steps) &&
         ParseBounded(args, "decide-isolation-cooldown-ms", 0, 86'400'000,
                      &o->decide_isolation_cooldown_ms) &&
         ParseBounded(args, "decide-max-inline-steps", 0, kMaxSteps, &o->decide_max_inline_steps) &&
         ParseBounded(args, "decide-max-running-steps", 0, kMaxSteps,
                      &o->decide_max_running_steps) &&
         ParseBounded(args, "decide-max-running-decisions", 0, kMaxSteps,
                      &o->decide_max_running_decisions) &&
         ParseBounded(args, "decide-max-admission-wait-ms", 0, 10'000,
                      &o->decide_max_admission_wait_ms) &&
         ParseBounded(args, "impression-wait-past-deadline-ms", 0, 60'000,
                      &o->impression_wait_past_deadline_ms) &&
         ParseSize(args, "candidate-cache-entries", &o->candidate_cache_entries) &&
         ParseSize(args, "candidate-cache-bytes", &o->candidate_cache_bytes);
}

bool ParseListen(const std::string& listen, ServerOptions* options) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    std::cerr << "pathwise serve: --listen must be HOST:PORT\n";
    return false;
  }
  options->host = listen.substr(0, colon);
  if (options->host.size() > 2 && options->host.front() == '[') {
    options->host = options->host.substr(1, options->host.size() - 2);
  }
  Args port_args;
  port_args.options["listen port"] = {listen.substr(colon + 1)};
  return ParseBounded(port_args, "listen port", 0, 65535, &options->port);
}

// The connection, timeout and size limits of the HTTP server.
bool ParseServerLimits(const Args& args, ServerOptions* o) {
  if (!ParseBounded(args, "threads", 1, kIntMax, &o->threads) ||
      !ParseBounded(args, "max-connections", 1, kIntMax, &o->max_connections)) {
    return false;
  }
  o->max_connections_per_client = std::min(o->max_connections_per_client, o->max_connections);
  return ParseBounded(args, "max-connections-per-client", 1, o->max_connections,
                      &o->max_connections_per_client) &&
         ParseBounded(args, "header-timeout-ms", 1, kIntMax, &o->header_timeout_ms) &&
         ParseBounded(args, "body-timeout-seconds", 1, kIntMax, &o->body_timeout_seconds) &&
         ParseBounded(args, "keep-alive-timeout-seconds", 1, kIntMax,
                      &o->keep_alive_timeout_seconds) &&
         ParseBounded(args, "keep-alive-max-requests", 1, kIntMax, &o->keep_alive_max_requests) &&
         ParseBounded(args, "read-timeout-seconds", 1, kIntMax, &o->read_timeout_seconds) &&
         ParseSize(args, "max-body-bytes", &o->max_body_bytes) &&
         ParseSize(args, "max-query-bytes", &o->max_query_bytes) &&
         ParseBounded(args, "default-deadline-ms", 1, kIntMax, &o->default_deadline_ms) &&
         ParseBounded(args, "max-deadline-ms", 1, kIntMax, &o->max_deadline_ms) &&
         ParseSize(args, "max-concurrent-queries", &o->max_concurrent_queries) &&
         ParseSize(args, "max-result-rows", &o->max_result_rows) &&
         ParseSize(args, "max-query-memory-bytes", &o->max_query_memory_bytes) &&
         ParseDecideOptions(args, o);
}

// The database's own options: checkpoints, impression retention, RECOMMEND's default fan-out cap
// and the query engine's memory limits.
bool ParseDatabaseOptions(const Args& args, DatabaseOptions* db) {
  return ParseBounded(args, "checkpoint-interval-seconds", 0,
                      std::numeric_limits<uint32_t>::max(), &db->checkpoint_interval_seconds) &&
         ParseBounded(args, "impression-retention-days", 0, 36500,
                      &db->impression_retention_days) &&
         ParseBounded(args, "event-retention-days", 0, 36500, &db->event_retention_days) &&
         ParseSize(args, "plan-cache-entries", &db->query_engine.plan_cache_entries) &&
         ParseSize(args, "default-max-per-node", &db->default_max_per_node) &&
         ParseSize(args, "plan-cache-bytes", &db->query_engine.plan_cache_bytes) &&
         ParseSize(args, "max-total-query-memory-bytes",
                   &db->query_engine.max_total_query_memory_bytes);
}

void PrintBanner(const std::string& data, const Server& server, bool no_auth) {
  std::cout << "pathwise: serving " << data << " at " << server.BaseUrl() << "\n";
  if (no_auth) {
    std::cout << "\n"
                 "  *** AUTHENTICATION IS OFF (--no-auth): every request has the admin role. ***\n"
                 "  *** Listening on loopback only; do not expose this port.                 ***\n\n";
  } else {
    std::cout << "pathwise: API keys required (Authorization: Bearer <key>); create one with "
                 "`pathwise keys create --data "
              << data << " --role admin` before starting, or POST /v1/admin/keys\n";
  }
  std::cout << "pathwise: Ctrl-C or SIGTERM stops gracefully" << std::endl;
}

}  // namespace

int ServeMain(int argc, char** argv) {
  auto args = ParseArgs(
      argc, argv,
      {"data", "listen", "tls-cert", "tls-key", "threads", "max-body-bytes", "max-query-bytes",
       "default-deadline-ms", "max-deadline-ms", "max-concurrent-queries", "max-result-rows",
       "backup-root", "max-connections", "max-connections-per-client", "header-timeout-ms",
       "body-timeout-seconds", "keep-alive-timeout-seconds", "keep-alive-max-requests",
       "read-timeout-seconds", "max-query-memory-bytes",
       "max-total-query-memory-bytes", "plan-cache-entries", "plan-cache-bytes",
       "checkpoint-interval-seconds", "impression-retention-days", "event-retention-days", "decide-workers",
       "decide-max-queued", "decide-inline-steps", "decide-isolation-cooldown-ms",
       "decide-max-inline-steps", "decide-max-running-steps", "decide-max-running-decisions",
       "decide-max-admission-wait-ms", "impression-wait-past-deadline-ms", "default-max-per-node",
       "candidate-cache-entries",
       "candidate-cache-bytes", "similarity-schedule", "similarity-schedule-seconds",
       "schedule-job"},
      {"no-auth", "enable-fault-injection"});
  if (!args.ok()) {
    std::cerr << "pathwise serve: " << args.status().message() << "\n\n" << kServeUsage;
    return 2;
  }
  if (args->help) {
    std::cout << kServeUsage;
    return 0;
  }
  auto data = args->Get("data");
  if (!data) {
    std::cerr << "pathwise serve: --data DIR is required\n\n" << kServeUsage;
    return 2;
  }
  ServerOptions options;
  options.data_dir = *data;
  options.no_auth = args->Has("no-auth");
  options.enable_fault_injection = args->Has("enable-fault-injection");
  options.backup_root = args->Get("backup-root").value_or("");
  if (auto schedule = args->Get("similarity-schedule")) {
    options.similarity_schedule_params = *schedule;
    options.similarity_schedule_seconds = 3600;
    if (!ParseBounded(*args, "similarity-schedule-seconds", 1, kIntMax,
                      &options.similarity_schedule_seconds)) {
      return 2;
    }
  } else if (args->Get("similarity-schedule-seconds")) {
    std::cerr << "pathwise serve: --similarity-schedule-seconds needs --similarity-schedule\n";
    return 2;
  }
  if (!ParseScheduledJobs(*args, &options.scheduled_jobs)) {
    return 2;
  }
  options.tls_cert_file = args->Get("tls-cert").value_or("");
  options.tls_key_file = args->Get("tls-key").value_or("");
  auto listen = args->Get("listen");
  if (listen && !ParseListen(*listen, &options)) return 2;
  DatabaseOptions db_options;
  if (!ParseServerLimits(*args, &options) || !ParseDatabaseOptions(*args, &db_options)) return 2;

  auto db = OpenForCli(*data, db_options);
  if (!db.ok()) {
    std::cerr << "pathwise serve: cannot open " << *data << ": " << db.status().ToString() << "\n";
    return 2;
  }
  Server server(db->get(), options);
  Status started = server.Start();
  if (!started.ok()) {
    std::cerr << "pathwise serve: " << started.ToString() << "\n";
    return 2;
  }
  PrintBanner(*data, server, options.no_auth);
  server.Wait(/*install_signal_handlers=*/true);
  std::cout << "pathwise: stopped; closing the database (flush + index snapshots)" << std::endl;
  server.Stop();
  db->reset();
  std::cout << "pathwise: closed" << std::endl;
  return 0;
}

}  // namespace pathwise::server
