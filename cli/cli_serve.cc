// `pathwise serve`: opens the database, starts the HTTP server, waits for SIGINT/SIGTERM, then
// shuts down gracefully (in-flight requests and load jobs finish, the database flushes).
#include <cstdio>
#include <iostream>

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
  --max-body-bytes N          request body limit, 413 beyond (default 67108864)
  --max-query-bytes N         query text limit, 413 beyond (default 65536)
  --default-deadline-ms N     query deadline when the request sets none (default 1000)
  --max-deadline-ms N         largest deadline a request may ask for (default 30000)
  --max-concurrent-queries N  429 beyond (default 64)
  --max-result-rows N         413 beyond (default 10000)
  --backup-root DIR           POST /v1/admin/backup writes only inside DIR (default DATA/backups)
  --decide-workers N          threads running recipes for decisions (default 8)
  --decide-max-queued N       decisions waiting beyond this answer from a fallback (default 64)
  --enable-fault-injection    adds /v1/admin/faults (tests and demos); loopback only

Create an API key first: pathwise keys create --data DIR --role admin
)";

bool ParseSize(const Args& args, const std::string& name, size_t* out) {
  auto value = args.Get(name);
  if (!value) return true;
  try {
    size_t used = 0;
    long long parsed = std::stoll(*value, &used);
    if (used != value->size() || parsed < 0) throw std::invalid_argument(name);
    *out = static_cast<size_t>(parsed);
    return true;
  } catch (const std::exception&) {
    std::cerr << "pathwise serve: --" << name << " must be a non-negative integer\n";
    return false;
  }
}

}  // namespace

int ServeMain(int argc, char** argv) {
  auto args = ParseArgs(argc, argv,
                        {"data", "listen", "tls-cert", "tls-key", "threads", "max-body-bytes",
                         "max-query-bytes", "default-deadline-ms", "max-deadline-ms",
                         "max-concurrent-queries", "max-result-rows", "backup-root", "max-connections",
                         "decide-workers", "decide-max-queued"},
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
  options.tls_cert_file = args->Get("tls-cert").value_or("");
  options.tls_key_file = args->Get("tls-key").value_or("");
  if (auto listen = args->Get("listen")) {
    size_t colon = listen->rfind(':');
    if (colon == std::string::npos) {
      std::cerr << "pathwise serve: --listen must be HOST:PORT\n";
      return 2;
    }
    options.host = listen->substr(0, colon);
    if (options.host.size() > 2 && options.host.front() == '[') {
      options.host = options.host.substr(1, options.host.size() - 2);
    }
    size_t port = 0;
    Args port_args;
    port_args.options["port"] = {listen->substr(colon + 1)};
    if (!ParseSize(port_args, "port", &port) || port > 65535) {
      std::cerr << "pathwise serve: bad port in --listen\n";
      return 2;
    }
    options.port = static_cast<int>(port);
  }
  size_t threads = static_cast<size_t>(options.threads);
  size_t max_connections = static_cast<size_t>(options.max_connections);
  size_t default_deadline = static_cast<size_t>(options.default_deadline_ms);
  size_t max_deadline = static_cast<size_t>(options.max_deadline_ms);
  size_t decide_workers = static_cast<size_t>(options.decide_workers);
  if (!ParseSize(*args, "threads", &threads) ||
      !ParseSize(*args, "max-connections", &max_connections) ||
      !ParseSize(*args, "max-body-bytes", &options.max_body_bytes) ||
      !ParseSize(*args, "max-query-bytes", &options.max_query_bytes) ||
      !ParseSize(*args, "default-deadline-ms", &default_deadline) ||
      !ParseSize(*args, "max-deadline-ms", &max_deadline) ||
      !ParseSize(*args, "max-concurrent-queries", &options.max_concurrent_queries) ||
      !ParseSize(*args, "max-result-rows", &options.max_result_rows) ||
      !ParseSize(*args, "decide-workers", &decide_workers) ||
      !ParseSize(*args, "decide-max-queued", &options.decide_max_queued)) {
    return 2;
  }
  options.threads = static_cast<int>(threads);
  options.max_connections = static_cast<int>(max_connections);
  options.default_deadline_ms = static_cast<int64_t>(default_deadline);
  options.max_deadline_ms = static_cast<int64_t>(max_deadline);
  options.decide_workers = static_cast<int>(std::min<size_t>(decide_workers, 256));

  auto db = OpenForCli(*data);
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
  std::cout << "pathwise: serving " << *data << " at " << server.BaseUrl() << "\n";
  if (options.no_auth) {
    std::cout << "\n"
                 "  *** AUTHENTICATION IS OFF (--no-auth): every request has the admin role. ***\n"
                 "  *** Listening on loopback only; do not expose this port.                 ***\n\n";
  } else {
    std::cout << "pathwise: API keys required (Authorization: Bearer <key>); create one with "
                 "`pathwise keys create --data "
              << *data << " --role admin` before starting, or POST /v1/admin/keys\n";
  }
  std::cout << "pathwise: Ctrl-C or SIGTERM stops gracefully" << std::endl;
  server.Wait(/*install_signal_handlers=*/true);
  std::cout << "pathwise: stopped; closing the database (flush + index snapshots)" << std::endl;
  server.Stop();
  db->reset();
  std::cout << "pathwise: closed" << std::endl;
  return 0;
}

}  // namespace pathwise::server
