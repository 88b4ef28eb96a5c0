// server/: Pathwise over HTTP/JSON (cpp-httplib). One Server serves one open Database.
// Endpoints are documented in docs/openapi.yaml (also served at GET /v1/openapi.yaml).
// No httplib type appears in this header.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "db/database.h"
#include "storage/status.h"

namespace pathwise::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 7070;  // 0: pick a free port (see Server::port())
  // Auth is required unless the server listens on loopback and no_auth is set explicitly.
  bool no_auth = false;
  std::string tls_cert_file;  // both set: serve HTTPS
  std::string tls_key_file;
  size_t max_body_bytes = 64u << 20;
  size_t max_query_bytes = 64u << 10;
  int64_t default_deadline_ms = 1000;
  int64_t max_deadline_ms = 30000;
  size_t max_concurrent_queries = 64;  // beyond: 429
  size_t max_result_rows = 10000;
  // Approximate bytes one query run through /v1/query or a recipe run may hold
  // (query::Limits::max_query_memory_bytes); 413 beyond.
  size_t max_query_memory_bytes = query::Limits{}.max_query_memory_bytes;
  int threads = 16;                   // HTTP worker threads started at once
  // Each open connection holds a worker thread for its life (keep-alive included); more threads
  // start on demand up to this many, so slow or idle clients do not take the workers of others.
  // Beyond it, new connections wait for a free thread.
  int max_connections = 512;
  // The connection loop's limits (server/connection_loop.h), for HTTP and HTTPS alike.
  // Open connections one remote address may hold: beyond, a new connection is answered 503 and
  // closed at once (over TLS closed without a reply). 1..max_connections.
  int max_connections_per_client = 64;
  // The request line and headers of a request must arrive within this many ms of its first
  // byte, however slowly they trickle in; else 408 and the connection is closed. Over TLS the
  // handshake must also complete within this many ms of the accept. At least 1.
  int64_t header_timeout_ms = 5000;
  // A request's body must arrive within this many seconds of the end of its headers; else 408
  // and the connection is closed. At least 1.
  int body_timeout_seconds = 120;
  // A connection waiting this long for its next (or first) request is closed. At least 1.
  int keep_alive_timeout_seconds = 5;
  // Requests one connection may carry; the reply to the last says `Connection: close`. cpp-httplib's
  // own default of 5 made clients reconnect every fifth request (a connect, an accept and a
  // thread hand-off each time). At least 1.
  int keep_alive_max_requests = 1000;
  int read_timeout_seconds = 5;       // a connection that sends nothing this long is closed
  // /metrics and /v1/admin/stats serve database statistics (Database::Stats, which walks the
  // indexes) from a cache a background thread refreshes this often, so they cost O(1) in the
  // database size. The figures are at most this old.
  int stats_refresh_seconds = 10;
  // The database's data directory: parent of the default backup root and of temporary load
  // bodies (DIR/tmp). Empty: temp files go to /tmp.
  std::string data_dir;
  // Every backup is written inside this directory (created when needed): POST /v1/admin/backup
  // without "dir" writes ROOT/<timestamp>, a relative "dir" is resolved under ROOT, and a dir
  // that would land outside it (.., another absolute path, a symlink out) is a 400.
  // Empty: DATA/backups (and no backups at all when data_dir is empty too).
  std::string backup_root;
  // Decisions (POST /v1/surfaces/{name}/decide): worker threads for recipe runs and the queue
  // beyond which a decision answers from its cheapest fallback (reason "overload").
  int decide_workers = 8;
  size_t decide_max_queued = 64;
  // How recipe steps run (decide::DeciderOptions, docs/decisions.md "How a step runs" and
  // "Overload"): inline on the request's thread while the recipe is healthy (false: always on a
  // worker), how long a recipe that overran stays isolated, the most inline steps and the most
  // steps running at once, inline and on workers together (0: the hardware threads); the most
  // decisions doing their work at once (0: the hardware threads) and the longest a decision
  // waits for that before it answers overload (0: a fifth of its deadline).
  bool decide_inline_steps = true;
  int64_t decide_isolation_cooldown_ms = 30'000;
  size_t decide_max_inline_steps = 0;
  size_t decide_max_running_steps = 0;
  size_t decide_max_running_decisions = 0;
  int64_t decide_max_admission_wait_ms = 0;
  // How long past its deadline a decision still waits for its impression record's write
  // (decide::DeciderOptions::impression_wait_past_deadline_ms, docs/feedback-loop.md
  // "Impressions"); a record not written by then is written after the answer.
  int64_t impression_wait_past_deadline_ms = 0;
  // The candidate cache's bounds (decide::DeciderOptions, docs/decisions.md "Caches"): the most
  // (surface, recipe, user) entries and about how many bytes of candidates it holds; 0 entries
  // turns it off.
  size_t candidate_cache_entries = 10'000;
  size_t candidate_cache_bytes = size_t{256} << 20;
  // Scheduled item similarity (docs/jobs.md, "Scheduled runs"): when > 0, a background thread
  // runs the similarity job every this many seconds (the first run one interval after Start)
  // through the same job runner as POST /v1/admin/jobs, so each run is a stored job record. A
  // tick while another job runs is skipped. 0: never.
  int similarity_schedule_seconds = 0;
  // The scheduled job's params (a JSON object, as POST /v1/admin/jobs takes them); "mode"
  // defaults to "incremental" here. Start fails with InvalidArgument when jobs::Validate
  // refuses them.
  std::string similarity_schedule_params;
  // Any job on a schedule (docs/jobs.md, "Scheduled runs"), beside the similarity schedule: each
  // runs `job` with `params` (a JSON object, as POST /v1/admin/jobs takes them) every `seconds`
  // (> 0; the first run one interval after Start) on its own background thread, through the same
  // job runner, so each run is a stored record; a tick while another job runs is skipped. Start
  // fails with InvalidArgument when seconds <= 0, the params are not an object or jobs::Validate
  // refuses them. At most 16.
  struct ScheduledJob {
    std::string job;
    std::string params;
    int seconds = 0;
  };
  std::vector<ScheduledJob> scheduled_jobs;
  // Adds /v1/admin/faults (delay or fail a recipe or source, for tests and demos). Refused
  // unless the server listens on a loopback address.
  bool enable_fault_injection = false;
};

class Server {
 public:
  // Does not take ownership of db; db must outlive the server.
  Server(Database* db, ServerOptions options);
  ~Server();  // Stop()s

  // Binds and starts serving on background threads. Errors: IOError if the address is taken,
  // InvalidArgument for bad options (e.g. no_auth on a non-loopback address, unreadable TLS files).
  Status Start();
  int port() const;        // the bound port (after Start)
  std::string BaseUrl() const;  // "http://127.0.0.1:7070" (https when TLS)
  // Stops accepting, finishes in-flight requests and background jobs, flushes. Idempotent.
  void Stop();
  // Blocks until Stop() is called or SIGINT/SIGTERM arrives (when install_signal_handlers).
  void Wait(bool install_signal_handlers);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// API keys (stored salted-hashed in the database's metadata under "key/").
// Creates a key with role "read", "write" or "admin" and returns the secret, shown once.
Result<std::string> CreateApiKey(Database* db, const std::string& role);

// `pathwise serve ...`, `pathwise keys ...` etc.: the CLI's subcommands live in server/ (main.cc)
// and call these.
int ServeMain(int argc, char** argv);

}  // namespace pathwise::server
