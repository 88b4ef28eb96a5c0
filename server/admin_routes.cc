// Administration and operations: /v1/admin/{load,jobs,backup,keys,stats}, /health, /ready,
// /metrics, /v1/openapi.yaml and the embedded explorer page (/ and /static/*).
#include <ctime>
#include <filesystem>
#include <fstream>

#include "server/assets.h"
#include "server/errors.h"
#include "server/json_fields.h"
#include "server/server_internal.h"
#include "jobs/jobs.h"

namespace pathwise::server {
namespace {

namespace fs = std::filesystem;

std::string UtcStamp() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

Reply AssetReply(const EmbeddedAsset& asset) {
  Reply reply;
  reply.body.assign(reinterpret_cast<const char*>(asset.data), asset.size);
  reply.content_type = asset.content_type;
  return reply;
}

nlohmann::json JobJson(LoadJob& job) {
  MutexLock lock(&job.mu);
  const size_t bytes = job.bytes.load();
  const double seconds = job.seconds.load();
  nlohmann::json out = {{"id", job.id},
                        {"state", job.state},
                        {"dry_run", job.dry_run},
                        {"lines", job.lines.load()},
                        {"errors", job.errors.load()},
                        {"bytes", bytes},
                        {"total_bytes", job.total_bytes},
                        {"seconds", seconds}};
  if (job.state == "running") {
    out["phase"] = job.finishing.load() ? "finishing" : "parsing";
    double rate = seconds > 0 ? bytes / seconds : 0;
    out["lines_per_second"] = seconds > 0 ? job.lines.load() / seconds : 0.0;
    if (rate > 0 && !job.finishing.load()) out["eta_seconds"] = (job.total_bytes - bytes) / rate;
  }
  out["error_list"] = nlohmann::json::array();
  if (job.report.is_object()) {
    out["report"] = job.report;
    if (job.report.contains("error_list")) out["error_list"] = job.report["error_list"];
  }
  if (!job.error.empty()) out["error"] = job.error;
  return out;
}

}  // namespace

Result<std::string> ResolveBackupDir(const std::string& root, const std::string& requested,
                                     const std::string& stamp) {
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) return Status::IOError("cannot create the backup root " + root + ": " + ec.message());
  fs::path canonical_root = fs::weakly_canonical(fs::absolute(root), ec);
  if (ec) return Status::IOError("cannot resolve the backup root " + root + ": " + ec.message());
  fs::path wanted = requested.empty() ? fs::path(stamp) : fs::path(requested);
  if (wanted.is_relative()) wanted = canonical_root / wanted;
  // weakly_canonical resolves "..", "." and every symlink among the existing components.
  fs::path resolved = fs::weakly_canonical(wanted.lexically_normal(), ec);
  if (ec) return Status::InvalidArgument("cannot resolve backup dir '" + requested + "'");
  fs::path relative = resolved.lexically_relative(canonical_root);
  bool inside = !relative.empty() && relative != "." && *relative.begin() != "..";
  if (!inside) {
    return Status::InvalidArgument("field 'dir' must name a new directory inside the backup root " +
                                   canonical_root.string() + " (relative names are resolved "
                                   "under it); '" + requested + "' is outside it");
  }
  return resolved.string();
}

Reply ReadinessReply(const Status& health) {
  if (health.ok()) return JsonReply(200, {{"status", "ready"}});
  return ErrorReply(Status::Unavailable("the database refuses writes after a storage fault: " +
                                        health.ToString()));
}

void Server::Impl::AddAdminRoutes() {
  Route("POST", "/v1/admin/load", Role::kAdmin, [this](const httplib::Request& req) {
    fs::path tmp_dir = options.data_dir.empty() ? fs::temp_directory_path() / "pathwise-load"
                                                : fs::path(options.data_dir) / "tmp";
    std::error_code ec;
    fs::create_directories(tmp_dir, ec);
    if (ec) return ErrorReply(Status::IOError("cannot create " + tmp_dir.string()));
    auto job = std::make_unique<LoadJob>();
    {
      MutexLock lock(&jobs_mu);
      job->id = "load-" + std::to_string(next_job++) + "-" + UtcStamp();
    }
    job->body_path = (tmp_dir / (job->id + ".ndjson")).string();
    job->total_bytes = req.body.size();
    const std::string dry_run = req.get_param_value("dry_run");
    if (!dry_run.empty() && dry_run != "true" && dry_run != "false") {
      return ErrorReply(Status::InvalidArgument("query parameter dry_run must be true or false"));
    }
    job->dry_run = dry_run == "true";
    {
      std::ofstream out(job->body_path, std::ios::binary);
      out.write(req.body.data(), static_cast<std::streamsize>(req.body.size()));
      if (!out) return ErrorReply(Status::IOError("cannot write " + job->body_path));
    }
    LoadJob* raw = job.get();
    std::string id = job->id;
    {
      MutexLock lock(&jobs_mu);
      jobs.emplace(id, std::move(job));
    }
    raw->thread = std::thread([this, raw] {
      std::ifstream in(raw->body_path, std::ios::binary);
      LoadOptions load_options;
      load_options.dry_run = raw->dry_run;
      load_options.cancel = &raw->cancel;
      load_options.progress = [raw](const LoadProgress& progress) {
        raw->lines.store(progress.lines);
        raw->bytes.store(progress.bytes);
        raw->errors.store(progress.errors);
        raw->seconds.store(progress.seconds);
        raw->finishing.store(progress.phase != "parsing");
      };
      auto report = db->Load(in, load_options);
      in.close();
      std::error_code remove_ec;
      fs::remove(raw->body_path, remove_ec);
      MutexLock lock(&raw->mu);
      if (report.ok()) {
        raw->state = report->cancelled ? "cancelled" : "done";
        raw->report = report->ToJson();
        raw->lines.store(report->lines);
        raw->errors.store(report->errors);
        raw->seconds.store(report->seconds);
      } else {
        raw->state = "failed";
        raw->error = report.status().ToString();
      }
    });
    return JsonReply(202, {{"job", id}, {"state", "running"}});
  });

  Route("POST", "/v1/admin/jobs", Role::kAdmin, [this](const httplib::Request& req) {
    auto body = ParseJsonObject(req.body);
    if (!body.ok()) return ErrorReply(body.status());
    if (Status known = CheckKnownFields(*body, {"job", "params"}); !known.ok()) {
      return ErrorReply(known);
    }
    auto job = RequiredString(*body, "job");
    if (!job.ok()) return ErrorReply(job.status());
    nlohmann::json params = body->value("params", nlohmann::json::object());
    if (model_jobs == nullptr) return ErrorReply(Status::Unavailable("the server is stopping"));
    auto id = model_jobs->Start(*job, params);
    if (!id.ok()) return ErrorReply(id.status());
    return JsonReply(202, {{"job", *id}, {"state", "running"}});
  });

  Route("GET", "/v1/admin/jobs", Role::kAdmin, [this](const httplib::Request&) {
    if (model_jobs == nullptr) return ErrorReply(Status::Unavailable("the server is stopping"));
    auto list = model_jobs->List();
    if (!list.ok()) return ErrorReply(list.status());
    return JsonReply(200, {{"jobs", *list}});
  });

  // Load jobs (in memory) and model jobs (stored records, docs/jobs.md).
  Route("GET", "/v1/admin/jobs/([^/]+)", Role::kAdmin, [this](const httplib::Request& req) {
    {
      MutexLock lock(&jobs_mu);
      auto it = jobs.find(req.matches[1]);
      if (it != jobs.end()) return JsonReply(200, JobJson(*it->second));
    }
    if (model_jobs == nullptr) return ErrorReply(Status::Unavailable("the server is stopping"));
    auto record = model_jobs->Get(req.matches[1].str());
    if (!record.ok()) return ErrorReply(record.status());
    return JsonReply(200, *record);
  });

  Route("POST", "/v1/admin/jobs/([^/]+)/cancel", Role::kAdmin, [this](const httplib::Request& req) {
    MutexLock lock(&jobs_mu);
    auto it = jobs.find(req.matches[1]);
    if (it == jobs.end()) {
      return ErrorReply(Status::NotFound("no load job '" + req.matches[1].str() +
                                         "' (only load jobs can be cancelled)"));
    }
    LoadJob& job = *it->second;
    {
      MutexLock job_lock(&job.mu);
      if (job.state != "running") {
        return ErrorReply(Status::AlreadyExists("job '" + job.id + "' is " + job.state +
                                                "; only a running job can be cancelled"));
      }
    }
    job.cancel.store(true);
    return JsonReply(202, {{"job", job.id}, {"state", "cancelling"}});
  });

  Route("POST", "/v1/admin/backup", Role::kAdmin, [this](const httplib::Request& req) {
    auto body = ParseJsonObject(req.body, /*allow_empty=*/true);
    if (!body.ok()) return ErrorReply(body.status());
    if (Status known = CheckKnownFields(*body, {"dir"}); !known.ok()) return ErrorReply(known);
    auto dir = OptionalString(*body, "dir");
    if (!dir.ok()) return ErrorReply(dir.status());
    std::string root = options.backup_root;
    if (root.empty() && !options.data_dir.empty()) {
      root = (fs::path(options.data_dir) / "backups").string();
    }
    if (root.empty()) {
      return ErrorReply(Status::InvalidArgument("backups need a backup root (--backup-root)"));
    }
    auto target = ResolveBackupDir(root, dir->value_or(""), UtcStamp());
    if (!target.ok()) return ErrorReply(target.status());
    if (fs::exists(*target)) {
      return ErrorReply(Status::AlreadyExists("backup directory " + *target + " already exists"));
    }
    std::error_code ec;
    fs::create_directories(fs::path(*target).parent_path(), ec);
    Status status = db->Backup(*target);
    if (!status.ok()) return ErrorReply(status);
    return JsonReply(200, {{"dir", *target}});
  });

  Route("POST", "/v1/admin/keys", Role::kAdmin, [this](const httplib::Request& req) {
    auto body = ParseJsonObject(req.body);
    if (!body.ok()) return ErrorReply(body.status());
    if (Status known = CheckKnownFields(*body, {"role"}); !known.ok()) return ErrorReply(known);
    auto role = RequiredString(*body, "role");
    if (!role.ok()) return ErrorReply(role.status());
    auto key = CreateApiKey(db, *role);
    if (!key.ok()) return ErrorReply(key.status());
    std::string id = key->substr(3, key->find('_', 3) - 3);
    return JsonReply(200, {{"key", *key}, {"id", id}, {"role", *role}});
  });
  Route("GET", "/v1/admin/keys", Role::kAdmin, [this](const httplib::Request&) {
    auto keys = ListApiKeys(*db);
    if (!keys.ok()) return ErrorReply(keys.status());
    nlohmann::json list = nlohmann::json::array();
    for (const KeyInfo& key : *keys) {
      list.push_back({{"id", key.id}, {"role", key.role}, {"created", key.created}});
    }
    return JsonReply(200, {{"keys", list}});
  });
  Route("DELETE", "/v1/admin/keys/([^/]+)", Role::kAdmin, [this](const httplib::Request& req) {
    Status status = RevokeApiKey(db, req.matches[1].str());
    if (!status.ok()) return ErrorReply(status);
    return JsonReply(200, {{"revoked", req.matches[1].str()}});
  });

  Route("GET", "/v1/admin/stats", Role::kAdmin,
        [this](const httplib::Request&) { return JsonReply(200, *CachedStats()); });

  Route("GET", "/health", Role::kNone,
        [](const httplib::Request&) { return JsonReply(200, {{"status", "ok"}}); });
  Route("GET", "/ready", Role::kNone, [this](const httplib::Request&) {
    if (db == nullptr || stopping.load()) {
      return ErrorReply(Status::Unavailable("the database is not open"));
    }
    return ReadinessReply(db->Health());
  });
  Route("GET", "/metrics", Role::kRead, [this](const httplib::Request&) {
    Reply reply;
    reply.body = metrics.Render(*CachedStats()) +
                 Metrics::RenderDecisions(decider->Metrics(), decider->Breakers());
    reply.content_type = "text/plain; version=0.0.4";
    return reply;
  });

  Route("GET", "/v1/openapi.yaml", Role::kNone, [](const httplib::Request&) {
    Reply reply;
    reply.body = std::string(OpenApiYaml());
    reply.content_type = "application/yaml";
    return reply;
  });
  Route("GET", "/", Role::kNone, [](const httplib::Request&) {
    const EmbeddedAsset* index = FindAsset("index.html");
    if (index == nullptr) {
      return ErrorReply(Status::NotFound("the explorer page is not built into this binary"));
    }
    return AssetReply(*index);
  });
  Route("GET", "/static/(.+)", Role::kNone, [](const httplib::Request& req) {
    const EmbeddedAsset* asset = FindAsset(req.matches[1].str());
    if (asset == nullptr) {
      return ErrorReply(Status::NotFound("no static file '" + req.matches[1].str() + "'"));
    }
    return AssetReply(*asset);
  });
}

}  // namespace pathwise::server
