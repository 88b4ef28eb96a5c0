// Internal to server/: the state behind Server and the route table shared by the handler files
// (query_routes.cc, write_routes.cc, admin_routes.cc). httplib types stay inside server/.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "db/database.h"
#include "decide/decide.h"
#include "server/auth.h"
#include "server/connection_loop.h"
#include "server/metrics.h"
#include "server/server.h"
#include "storage/mutex.h"

namespace pathwise::jobs {
class JobRunner;
}  // namespace pathwise::jobs

namespace pathwise::server {

// What a handler returns; the dispatcher writes it and records metrics.
struct Reply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  // Stages of the handler's own work, in ms, for the Server-Timing header (Route adds recv,
  // body and total around them).
  std::vector<std::pair<std::string, double>> timings;
};

Reply JsonReply(int status, const nlohmann::json& body);

// Milliseconds on the steady clock since start.
double MillisSince(std::chrono::steady_clock::time_point start);
Reply ErrorReply(const Status& status);

// True for a literal IPv4 address in 127.0.0.0/8 or the IPv6 address ::1 (host names, even
// "localhost", are not parsed and are false).
bool IsLoopbackAddress(const std::string& host);

// The directory POST /v1/admin/backup writes for a requested dir ("" = a new timestamped
// directory), confined to root (see ServerOptions::backup_root). Creates root if missing.
// InvalidArgument when the result would be outside root (after resolving "..", absolute paths
// and symlinks of existing components) or is root itself.
Result<std::string> ResolveBackupDir(const std::string& root, const std::string& requested,
                                     const std::string& stamp);

// GET /ready: 200 {"status":"ready"} when health is OK; otherwise 503 in the error shape with
// the reason ("the database refuses writes after a storage fault: ...").
Reply ReadinessReply(const Status& health);

// A background bulk load started by POST /v1/admin/load.
struct LoadJob {
  std::string id;
  std::string body_path;  // temp file with the NDJSON body; removed when the job ends
  bool dry_run = false;
  size_t total_bytes = 0;  // the body's size, for the ETA
  std::atomic<size_t> lines{0};
  std::atomic<size_t> bytes{0};
  std::atomic<size_t> errors{0};
  std::atomic<double> seconds{0};
  std::atomic<bool> finishing{false};  // the load is flushing and saving snapshots
  std::atomic<bool> cancel{false};     // POST /v1/admin/jobs/{id}/cancel
  Mutex mu;
  std::string state PW_GUARDED_BY(mu) = "running";  // running | done | cancelled | failed
  nlohmann::json report PW_GUARDED_BY(mu);          // LoadReport::ToJson when done
  std::string error PW_GUARDED_BY(mu);              // when failed
  std::thread thread;
};

struct Server::Impl {
  Database* db = nullptr;
  ServerOptions options;
  std::unique_ptr<TlsContext> tls;  // HTTPS when set; outlives http
  std::unique_ptr<LimitedServer> http;
  std::thread listen_thread;
  int port = 0;
  std::atomic<bool> started{false};
  std::atomic<bool> stopping{false};
  std::atomic<bool> stopped{false};
  std::atomic<size_t> queries_in_flight{0};
  Metrics metrics;
  std::unique_ptr<decide::Decider> decider;  // created by Start

  // Database::Stats() as of the last refresh (see ServerOptions::stats_refresh_seconds).
  Mutex stats_mu;
  CondVar stats_cv;  // wakes the refresher early on Stop
  std::shared_ptr<const nlohmann::json> stats PW_GUARDED_BY(stats_mu);
  std::thread stats_thread;
  std::shared_ptr<const nlohmann::json> CachedStats();
  // Waits `period` on stats_cv; false as soon as the server is stopping.
  bool SleepUnlessStopping(std::chrono::seconds period);
  void RefreshStatsLoop();

  Mutex jobs_mu;
  std::map<std::string, std::unique_ptr<LoadJob>> jobs PW_GUARDED_BY(jobs_mu);
  uint64_t next_job PW_GUARDED_BY(jobs_mu) = 1;
  // Model jobs (POST /v1/admin/jobs, docs/jobs.md); JoinJobs waits for a running one and
  // destroys it. Complete type in the server's .cc files only.
  std::unique_ptr<jobs::JobRunner> model_jobs;
  // The scheduled jobs (ServerOptions::similarity_schedule_seconds and scheduled_jobs), checked
  // by Start, and the threads that run them; each waits on stats_cv, which Stop notifies.
  struct Schedule {
    std::string job;
    nlohmann::json params;
    int seconds = 0;
  };
  std::vector<Schedule> schedules;
  std::vector<std::thread> schedule_threads;
  void ScheduleLoop(const Schedule& schedule);
  // Fills schedules from options (the similarity schedule first), each checked.
  Status CheckSchedules();

  // Registers a route. role: the least role allowed (kNone: no authentication). name is the
  // metrics label. The handler may throw; the dispatcher turns that into a 500 (or 400 for JSON
  // type errors) with the error shape.
  using Handler = std::function<Reply(const httplib::Request&)>;
  void Route(const char* method, const std::string& pattern, Role role, Handler handler);

  // Checks the Authorization header against the role; OK when auth is off.
  Status Authorize(const httplib::Request& req, Role role) const;

  void AddQueryRoutes();   // /v1/query, /v1/recipes
  void AddWriteRoutes();   // /v1/events, nodes, edges, vectors, batch, schema
  // Counts the attributed outcomes of an applied event set in the per-variant counters.
  void CountOutcomes(const WriteSet& set);
  void AddAdminRoutes();   // /v1/admin/*, /health, /ready, /metrics, static files
  void AddDecideRoutes();  // /v1/surfaces, decisions, /v1/admin/breakers, /v1/admin/faults

  // Runs a query under the concurrency limit and the deadline rules and returns the result JSON.
  // body: the request object with "deadline_ms", "explain" (true or an object of
  // ExplainOptions fields), "profile". recipe: the stored recipe when running one (its
  // "sentence" template is the explanations' default). why_not: QueryOptions::why_not.
  // query_ms, when given, receives the time Database::Query took (Server-Timing's "query").
  Result<nlohmann::json> RunQuery(const std::string& text, const nlohmann::json& params,
                                  const nlohmann::json& body,
                                  const nlohmann::json* recipe = nullptr,
                                  std::optional<std::string> why_not = std::nullopt,
                                  double* query_ms = nullptr);

  void JoinJobs();
};

}  // namespace pathwise::server
