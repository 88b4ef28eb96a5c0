// Server lifecycle, authentication and the dispatcher every route goes through.
#include "server/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>


#include "server/connection_loop.h"
#include "server/connection_pool.h"
#include "server/errors.h"
#include "server/server_internal.h"
#include "jobs/jobs.h"

namespace pathwise::server {
namespace {

std::atomic<bool> g_signal_received{false};

void OnSignal(int) { g_signal_received.store(true); }

}  // namespace

bool IsLoopbackAddress(const std::string& host) {
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

namespace {

bool Readable(const std::string& path) {
  std::ifstream in(path);
  return in.good();
}

Status ErrorForHttpStatus(int status, size_t max_body) {
  switch (status) {
    case 404: return Status::NotFound("no such endpoint");
    case 405: return Status::InvalidArgument("method not allowed on this endpoint");
    case 413:
      return Status::ResourceExhausted("request body exceeds the limit of " +
                                       std::to_string(max_body) + " bytes");
    case 414: return Status::InvalidArgument("request URI too long");
    case 400: return Status::InvalidArgument("malformed HTTP request");
    default: break;
  }
  if (status >= 500) return Status::Internal("internal error");
  return Status::InvalidArgument("bad request");
}

Status CheckConnectionLimits(const ServerOptions& o) {
  if (o.max_connections_per_client < 1 || o.max_connections_per_client > o.max_connections) {
    return Status::InvalidArgument(
        "max_connections_per_client must be between 1 and max_connections (" +
        std::to_string(o.max_connections) + "), not " +
        std::to_string(o.max_connections_per_client));
  }
  if (o.header_timeout_ms < 1) return Status::InvalidArgument("header_timeout_ms must be at least 1");
  if (o.keep_alive_timeout_seconds < 1) {
    return Status::InvalidArgument("keep_alive_timeout_seconds must be at least 1");
  }
  if (o.keep_alive_max_requests < 1) {
    return Status::InvalidArgument("keep_alive_max_requests must be at least 1");
  }
  if (o.body_timeout_seconds < 1) {
    return Status::InvalidArgument("body_timeout_seconds must be at least 1");
  }
  return Status::OK();
}

}  // namespace

Reply JsonReply(int status, const nlohmann::json& body) {
  Reply reply;
  reply.status = status;
  reply.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return reply;
}

double MillisSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

Reply ErrorReply(const Status& status) { return JsonReply(HttpStatusFor(status), ErrorJson(status)); }

Status Server::Impl::Authorize(const httplib::Request& req, Role role) const {
  if (role == Role::kNone || options.no_auth) return Status::OK();
  std::string header = req.get_header_value("Authorization");
  // The scheme name is case-insensitive (RFC 9110 section 11.1): "bearer" works too.
  constexpr std::string_view kBearer = "Bearer ";
  if (header.empty()) {
    return Status::Unauthenticated("missing API key: send 'Authorization: Bearer <key>'");
  }
  if (header.size() <= kBearer.size() ||
      strncasecmp(header.c_str(), kBearer.data(), kBearer.size()) != 0) {
    return Status::Unauthenticated("the Authorization header must be 'Bearer <key>'");
  }
  std::string_view key = std::string_view(header).substr(kBearer.size());
  while (!key.empty() && key.front() == ' ') key.remove_prefix(1);
  PW_ASSIGN_OR_RETURN(Role granted, VerifyApiKey(*db, key));
  if (granted < role) {
    return Status::PermissionDenied(std::string("this endpoint needs the ") + RoleName(role) +
                                    " role; the key has " + RoleName(granted));
  }
  return Status::OK();
}

namespace {

// Reads the request body through httplib's content reader so that every transfer encoding
// (Content-Length or chunked) counts against max_body as it arrives, and so that the body is
// never parsed as a form whatever its Content-Type says.
Status ReadBody(const httplib::Request& req, const httplib::ContentReader& reader,
                httplib::Response& res, size_t max_body, std::string* body) {
  std::string content_type = req.get_header_value("Content-Type");
  if (content_type.rfind("multipart/", 0) == 0) {
    return UnsupportedMediaType("multipart bodies are not accepted; send JSON or NDJSON");
  }
  bool too_large = false;
  bool complete = reader([&](const char* data, size_t size) {
    if (size > max_body - body->size()) {
      too_large = true;
      return false;
    }
    body->append(data, size);
    return true;
  });
  if (too_large || (!complete && res.status == 413)) {
    return Status::ResourceExhausted("request body exceeds the limit of " +
                                     std::to_string(max_body) + " bytes (--max-body-bytes)");
  }
  if (!complete) return Status::InvalidArgument("the request body could not be read");
  return Status::OK();
}

// The Server-Timing header (W3C Server Timing; shown by browsers' developer tools): recv (from
// the request's first byte to the handler: request line, headers, routing), body (reading the
// body), the handler's own stages, and total (from the handler's start to the reply built), each
// in ms. What a client measures beyond recv + total is the network, the reply's write and the
// client itself.
std::string ServerTiming(double recv_ms, double body_ms,
                         const std::vector<std::pair<std::string, double>>& stages,
                         double total_ms) {
  std::string out;
  auto add = [&out](const std::string& name, double ms) {
    char value[32];
    std::snprintf(value, sizeof(value), ";dur=%.3f", ms);
    if (!out.empty()) out += ", ";
    out += name;
    out += value;
  };
  add("recv", recv_ms);
  add("body", body_ms);
  for (const auto& [name, ms] : stages) add(name, ms);
  add("total", total_ms);
  return out;
}

// Whether the request declares a body (chunked, or a Content-Length above 0).
bool HasBody(const httplib::Request& req) {
  if (req.has_header("Transfer-Encoding")) return true;
  std::string length = req.get_header_value("Content-Length");
  return !length.empty() && length.find_first_not_of('0') != std::string::npos;
}

}  // namespace

void Server::Impl::Route(const char* method, const std::string& pattern, Role role,
                         Handler handler) {
  std::string name = std::string(method) + " " + pattern;
  // Everything a request goes through once its body (if any) is in req.body.
  auto run = [this, role, name, handler = std::move(handler)](
                 const httplib::Request& req, const std::function<Status(std::string*)>& read_body,
                 httplib::Response& res) {
    auto start = std::chrono::steady_clock::now();
    const double recv_ms =
        std::max(0.0, std::chrono::duration<double, std::milli>(start - RequestArrivedAt()).count());
    Reply reply;
    bool body_read = false;
    double body_ms = 0;
    if (stopping.load()) {
      reply = ErrorReply(Status::Unavailable("the server is shutting down"));
    } else if (Status auth = Authorize(req, role); !auth.ok()) {
      reply = ErrorReply(auth);
    } else {
      try {
        if (read_body) {
          // Authorized first: an unauthenticated client cannot make the server read its body.
          httplib::Request with_body = req;
          const auto body_start = std::chrono::steady_clock::now();
          Status read = read_body(&with_body.body);
          body_ms = MillisSince(body_start);
          body_read = read.ok();
          reply = read.ok() ? handler(with_body) : ErrorReply(read);
        } else {
          reply = handler(req);
        }
      } catch (const nlohmann::json::exception& e) {
        // A JSON value of an unexpected type slipped past validation: the client's mistake.
        reply = ErrorReply(Status::InvalidArgument(std::string("bad JSON value: ") + e.what()));
      } catch (const std::exception& e) {
        reply = ErrorReply(Status::Internal(e.what()));
      } catch (...) {
        reply = ErrorReply(Status::Internal("unknown exception"));
      }
    }
    res.status = reply.status;
    // What set_content does, without its copy of the body.
    res.body = std::move(reply.body);
    res.set_header("Content-Type", reply.content_type);
    // Answered before its body was read in full (refused, unauthorized, over the limit): the rest
    // of the body would be read as the next request, so this reply ends the connection.
    if (!body_read && HasBody(req)) res.set_header("Connection", "close");
    const double total_ms = MillisSince(start);
    res.set_header("Server-Timing", ServerTiming(recv_ms, body_ms, reply.timings, total_ms));
    metrics.RecordRequest(name, reply.status, total_ms / 1e3);
  };
  std::string method_name = method;
  if (method_name == "GET") {
    http->Get(pattern, [run](const httplib::Request& req, httplib::Response& res) {
      run(req, nullptr, res);
    });
    return;
  }
  size_t max_body = options.max_body_bytes;
  httplib::Server::HandlerWithContentReader with_body =
      [run, max_body](const httplib::Request& req, httplib::Response& res,
                      const httplib::ContentReader& reader) {
        run(req, [&](std::string* body) { return ReadBody(req, reader, res, max_body, body); },
            res);
      };
  if (method_name == "POST") {
    http->Post(pattern, with_body);
  } else if (method_name == "PUT") {
    http->Put(pattern, with_body);
  } else if (method_name == "PATCH") {
    http->Patch(pattern, with_body);
  } else if (method_name == "DELETE") {
    http->Delete(pattern, with_body);
  }
}

Server::Server(Database* db, ServerOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->model_jobs = std::make_unique<jobs::JobRunner>(db);
  impl_->db = db;
  impl_->options = std::move(options);
}

Server::~Server() { Stop(); }

Status Server::Start() {
  Impl& s = *impl_;
  if (s.started.load()) return Status::InvalidArgument("the server was already started");
  const ServerOptions& o = s.options;
  if (o.no_auth && !IsLoopbackAddress(o.host)) {
    return Status::InvalidArgument(
        "--no-auth is only allowed on a literal loopback address (127.0.0.0/8 or ::1), not '" +
        o.host + "'");
  }
  if (o.enable_fault_injection && !IsLoopbackAddress(o.host)) {
    return Status::InvalidArgument(
        "--enable-fault-injection is only allowed on a literal loopback address (127.0.0.0/8 or "
        "::1), not '" + o.host + "'");
  }
  if (o.port < 0 || o.port > 65535) return Status::InvalidArgument("port out of range");
  if (o.threads < 1) return Status::InvalidArgument("threads must be at least 1");
  if (o.read_timeout_seconds < 1) {
    return Status::InvalidArgument("read_timeout_seconds must be at least 1");
  }
  if (o.stats_refresh_seconds < 1) {
    return Status::InvalidArgument("stats_refresh_seconds must be at least 1");
  }
  if (Status limits = CheckConnectionLimits(o); !limits.ok()) return limits;
  if (o.similarity_schedule_seconds < 0) {
    return Status::InvalidArgument("similarity_schedule_seconds must be >= 0");
  }
  if (Status schedules = s.CheckSchedules(); !schedules.ok()) return schedules;
  bool tls = !o.tls_cert_file.empty() || !o.tls_key_file.empty();
  if (tls) {
    if (o.tls_cert_file.empty() || o.tls_key_file.empty()) {
      return Status::InvalidArgument("TLS needs both a certificate and a key file");
    }
    if (!Readable(o.tls_cert_file)) {
      return Status::InvalidArgument("cannot read TLS certificate " + o.tls_cert_file);
    }
    if (!Readable(o.tls_key_file)) {
      return Status::InvalidArgument("cannot read TLS key " + o.tls_key_file);
    }
    auto context = TlsContext::Create(o.tls_cert_file, o.tls_key_file);
    if (!context.ok()) return context.status();
    s.tls = std::move(context.value());
  }
  ConnectionLimits limits;
  limits.max_per_client = static_cast<size_t>(o.max_connections_per_client);
  limits.header_timeout = std::chrono::milliseconds(o.header_timeout_ms);
  limits.body_timeout = std::chrono::seconds(o.body_timeout_seconds);
  limits.keep_alive_timeout_seconds = o.keep_alive_timeout_seconds;
  s.http = std::make_unique<LimitedServer>(limits, &s.metrics, s.tls.get());
  httplib::Server& http = *s.http;
  size_t threads = static_cast<size_t>(o.threads);
  size_t max_connections = static_cast<size_t>(std::max(o.max_connections, o.threads));
  http.new_task_queue = [threads, max_connections] {
    return new ConnectionPool(threads, max_connections);
  };
  http.set_read_timeout(o.read_timeout_seconds, 0);
  http.set_payload_max_length(o.max_body_bytes);
  http.set_keep_alive_timeout(o.keep_alive_timeout_seconds);
  http.set_keep_alive_max_count(static_cast<size_t>(o.keep_alive_max_requests));
  // A reply leaves in one write up to 64 KB (connection_loop.cc) and in several beyond; without
  // TCP_NODELAY, Nagle's algorithm would hold a piece back until the client's delayed ACK (~40 ms
  // on Linux) on keep-alive connections.
  http.set_tcp_nodelay(true);
  size_t max_body = o.max_body_bytes;
  http.set_error_handler(httplib::Server::HandlerWithResponse(
      [max_body](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        // httplib's own replies to a request it could not read (bad framing, URI too long, body
        // over the limit): the stream's position in the request is unknown, so the connection ends.
        if (res.status == 400 || res.status == 413 || res.status == 414) {
          res.set_header("Connection", "close");
        }
        Status status = ErrorForHttpStatus(res.status, max_body);
        res.set_content(ErrorJson(status).dump(), "application/json");
        return httplib::Server::HandlerResponse::Handled;
      }));
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res,
                                std::exception_ptr) {
    res.status = 500;
    res.set_content(ErrorJson(Status::Internal("unhandled exception")).dump(), "application/json");
  });
  decide::DeciderOptions decide_options;
  decide_options.workers = o.decide_workers;
  decide_options.max_queued = o.decide_max_queued;
  decide_options.inline_steps = o.decide_inline_steps;
  decide_options.isolation_cooldown_ms = o.decide_isolation_cooldown_ms;
  decide_options.max_inline_steps = o.decide_max_inline_steps;
  decide_options.max_running_steps = o.decide_max_running_steps;
  decide_options.max_running_decisions = o.decide_max_running_decisions;
  decide_options.max_admission_wait_ms = o.decide_max_admission_wait_ms;
  decide_options.impression_wait_past_deadline_ms = o.impression_wait_past_deadline_ms;
  decide_options.candidate_cache_entries = o.candidate_cache_entries;
  decide_options.candidate_cache_bytes = o.candidate_cache_bytes;
  decide_options.max_deadline_ms = o.max_deadline_ms;
  decide_options.enable_fault_injection = o.enable_fault_injection;
  s.decider = std::make_unique<decide::Decider>(s.db, decide_options);
  s.AddQueryRoutes();
  s.AddDecideRoutes();
  s.AddWriteRoutes();
  s.AddAdminRoutes();
  // Registered last, so they only see paths no route matched: the body is still read under the
  // size limit (never buffered unbounded, never parsed as a form) before the 404.
  for (const char* method : {"POST", "PUT", "PATCH", "DELETE"}) {
    s.Route(method, "/.*", Role::kNone, [](const httplib::Request&) {
      return ErrorReply(Status::NotFound("no such endpoint"));
    });
  }

  if (o.port == 0) {
    s.port = http.bind_to_any_port(o.host);
    if (s.port <= 0) return Status::IOError("cannot bind " + o.host + " to a free port");
  } else {
    if (!http.bind_to_port(o.host, o.port)) {
      return Status::IOError("cannot bind " + o.host + ":" + std::to_string(o.port) +
                             " (address in use or not available)");
    }
    s.port = o.port;
  }
  if (!s.http->WidenListenBacklog(SOMAXCONN)) {
    return Status::IOError("cannot set the listen backlog of " + o.host);
  }
  s.started.store(true);
  {
    auto first = std::make_shared<const nlohmann::json>(s.db->Stats());
    MutexLock lock(&s.stats_mu);
    s.stats = std::move(first);
  }
  s.stats_thread = std::thread([&s] { s.RefreshStatsLoop(); });
  for (const Impl::Schedule& schedule : s.schedules) {
    s.schedule_threads.emplace_back([&s, &schedule] { s.ScheduleLoop(schedule); });
  }
  auto listen_ended = std::make_shared<std::atomic<bool>>(false);
  s.listen_thread = std::thread([&http, listen_ended] {
    http.listen_after_bind();
    listen_ended->store(true);
  });
  // httplib's stop() is a no-op until the accept loop runs; wait for it so that a Stop() right
  // after Start() cannot leave the accept loop blocked forever.
  while (!http.is_running() && !listen_ended->load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return Status::OK();
}

int Server::port() const { return impl_->port; }

std::string Server::BaseUrl() const {
  bool tls = !impl_->options.tls_cert_file.empty();
  std::string host = impl_->options.host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return std::string(tls ? "https://" : "http://") + host + ":" + std::to_string(impl_->port);
}

void Server::Stop() {
  Impl& s = *impl_;
  if (!s.started.load() || s.stopped.exchange(true)) return;
  s.stopping.store(true);
  s.http->stop();  // stops accepting; the worker pool drains in-flight requests
  if (s.listen_thread.joinable()) s.listen_thread.join();
  {
    // Taken between setting stopping and the notification: the refresher is either before its
    // check of stopping or waiting, never in between, so it cannot miss the wake-up.
    MutexLock lock(&s.stats_mu);
  }
  s.stats_cv.NotifyAll();
  if (s.stats_thread.joinable()) s.stats_thread.join();
  // A scheduled run in progress finishes first (its output is written atomically at the end).
  for (std::thread& thread : s.schedule_threads) {
    if (thread.joinable()) thread.join();
  }
  s.JoinJobs();
}

std::shared_ptr<const nlohmann::json> Server::Impl::CachedStats() {
  MutexLock lock(&stats_mu);
  return stats;
}

bool Server::Impl::SleepUnlessStopping(std::chrono::seconds period) {
  MutexLock lock(&stats_mu);
  const auto until = std::chrono::steady_clock::now() + period;
  for (auto now = std::chrono::steady_clock::now(); !stopping.load() && now < until;
       now = std::chrono::steady_clock::now()) {
    stats_cv.WaitFor(&stats_mu, until - now);
  }
  return !stopping.load();
}

void Server::Impl::RefreshStatsLoop() {
  const auto period = std::chrono::seconds(options.stats_refresh_seconds);
  while (SleepUnlessStopping(period)) {
    auto fresh = std::make_shared<const nlohmann::json>(db->Stats());
    MutexLock lock(&stats_mu);
    stats = std::move(fresh);
  }
}

Status Server::Impl::CheckSchedules() {
  const ServerOptions& o = options;
  if (o.similarity_schedule_seconds < 0) {
    return Status::InvalidArgument("similarity_schedule_seconds must be >= 0");
  }
  std::vector<ServerOptions::ScheduledJob> wanted;
  if (o.similarity_schedule_seconds > 0) {
    wanted.push_back({"similarity", o.similarity_schedule_params, o.similarity_schedule_seconds});
  }
  wanted.insert(wanted.end(), o.scheduled_jobs.begin(), o.scheduled_jobs.end());
  if (wanted.size() > 16) return Status::InvalidArgument("at most 16 scheduled jobs");
  schedules.clear();
  for (const ServerOptions::ScheduledJob& job : wanted) {
    const std::string what = job.job + " schedule";
    if (job.seconds <= 0) return Status::InvalidArgument(what + ": seconds must be at least 1");
    nlohmann::json params = nlohmann::json::parse(job.params, nullptr, false);
    if (!params.is_object()) return Status::InvalidArgument(what + ": params must be a JSON object");
    // A scheduled similarity job refreshes incrementally unless told otherwise.
    if (job.job == "similarity" && !params.contains("mode")) params["mode"] = "incremental";
    Status valid = jobs::Validate(*db, job.job, params);
    if (!valid.ok()) return valid.WithPrefix(what);
    schedules.push_back({job.job, std::move(params), job.seconds});
  }
  return Status::OK();
}

void Server::Impl::ScheduleLoop(const Schedule& schedule) {
  const auto period = std::chrono::seconds(schedule.seconds);
  while (SleepUnlessStopping(period)) {
    // The outcome is the stored record (GET /v1/admin/jobs); AlreadyExists (another job is
    // running) skips this tick.
    (void)model_jobs->RunNow(schedule.job, schedule.params);
  }
}

void Server::Wait(bool install_signal_handlers) {
  if (install_signal_handlers) {
    struct sigaction action {};
    action.sa_handler = OnSignal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
  }
  while (!impl_->stopped.load()) {
    if (install_signal_handlers && g_signal_received.load()) {
      Stop();
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

void Server::Impl::JoinJobs() {
  std::vector<LoadJob*> to_join;
  {
    MutexLock lock(&jobs_mu);
    for (auto& [id, job] : jobs) to_join.push_back(job.get());
  }
  // A bulk load cannot be interrupted halfway safely; it finishes (its good lines are kept).
  for (LoadJob* job : to_join) {
    if (job->thread.joinable()) job->thread.join();
  }
  // A model job runs to its end too (its output is written atomically at the end).
  model_jobs.reset();
}

}  // namespace pathwise::server
