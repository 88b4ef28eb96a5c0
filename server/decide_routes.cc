// The surface endpoints (/v1/surfaces...), decisions, logged recommendations
// (/v1/recommendations/{id}, docs/feedback-loop.md), breakers and fault injection
// (docs/decisions.md). The work is decide::Decider's; this file maps it to HTTP.
#include <chrono>
#include <string>
#include <utility>

#include "server/errors.h"
#include "server/json_fields.h"
#include "server/server_internal.h"

namespace pathwise::server {
namespace {

constexpr char kSurfaceName[] = "([A-Za-z0-9_.-]{1,128})";
constexpr int64_t kDefaultReportDays = 7;

// The report's [since, until) from ?since=&until= (ms or UTC times): until defaults to now,
// since to 7 days before until.
Result<std::pair<int64_t, int64_t>> ReportRange(const httplib::Request& req) {
  int64_t until = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  if (req.has_param("until")) {
    auto parsed = decide::ParseTimeMillis(req.get_param_value("until"));
    if (!parsed.ok()) return parsed.status().WithPrefix("query parameter 'until'");
    until = *parsed;
  }
  int64_t since = until - kDefaultReportDays * 24 * 3600 * 1000;
  if (req.has_param("since")) {
    auto parsed = decide::ParseTimeMillis(req.get_param_value("since"));
    if (!parsed.ok()) return parsed.status().WithPrefix("query parameter 'since'");
    since = *parsed;
  }
  return std::make_pair(since, until);
}

// ?buckets=&recent= (whole numbers, each bounded by decide::SurfaceReport); absent means 0.
Result<decide::ReportOptions> ReportShape(const httplib::Request& req) {
  decide::ReportOptions options;
  for (auto [param, field] : {std::pair{"buckets", &options.buckets},
                              std::pair{"recent", &options.recent}}) {
    if (!req.has_param(param)) continue;
    const std::string text = req.get_param_value(param);
    if (text.empty() || text.size() > 6 || text.find_first_not_of("0123456789") != std::string::npos) {
      return Status::InvalidArgument(std::string("query parameter '") + param +
                                     "' must be a whole number, got '" + text + "'");
    }
    *field = std::stoul(text);
  }
  return options;
}

}  // namespace

void Server::Impl::AddDecideRoutes() {
  Route("GET", "/v1/surfaces", Role::kRead, [this](const httplib::Request&) {
    auto list = decide::ListSurfaces(*db);
    if (!list.ok()) return ErrorReply(list.status());
    return JsonReply(200, {{"surfaces", *list}});
  });
  Route("GET", std::string("/v1/surfaces/") + kSurfaceName, Role::kRead,
        [this](const httplib::Request& req) {
          auto surface = decide::GetSurface(*db, req.matches[1]);
          if (!surface.ok()) return ErrorReply(surface.status());
          return JsonReply(200, *surface);
        });
  auto put = [this](const httplib::Request& req) {
    auto body = ParseJsonObject(req.body);
    if (!body.ok()) return ErrorReply(body.status());
    std::string name = req.matches[1];
    auto stored = decide::PutSurface(db, name, *body);
    if (!stored.ok()) return ErrorReply(stored.status());
    decider->Invalidate(name);
    return JsonReply(200, *stored);
  };
  Route("POST", std::string("/v1/surfaces/") + kSurfaceName, Role::kAdmin, put);
  Route("PUT", std::string("/v1/surfaces/") + kSurfaceName, Role::kAdmin, put);
  Route("DELETE", std::string("/v1/surfaces/") + kSurfaceName, Role::kAdmin,
        [this](const httplib::Request& req) {
          std::string name = req.matches[1];
          Status deleted = decide::DeleteSurface(db, name);
          if (!deleted.ok()) return ErrorReply(deleted);
          decider->Invalidate(name);
          return JsonReply(200, {{"deleted", name}});
        });
  Route("POST", std::string("/v1/surfaces/") + kSurfaceName + "/decide", Role::kRead,
        [this](const httplib::Request& req) {
          auto body = ParseJsonObject(req.body);
          if (!body.ok()) return ErrorReply(body.status());
          auto decision = decider->Decide(req.matches[1], *body);
          if (!decision.ok()) return ErrorReply(decision.status());
          return JsonReply(200, *decision);
        });
  Route("GET", std::string("/v1/surfaces/") + kSurfaceName + "/report", Role::kRead,
        [this](const httplib::Request& req) {
          auto range = ReportRange(req);
          if (!range.ok()) return ErrorReply(range.status());
          auto shape = ReportShape(req);
          if (!shape.ok()) return ErrorReply(shape.status());
          auto report =
              decide::SurfaceReport(*db, req.matches[1], range->first, range->second, *shape);
          if (!report.ok()) return ErrorReply(report.status());
          return JsonReply(200, *report);
        });
  Route("GET", "/v1/recommendations/([^/]+)", Role::kRead, [this](const httplib::Request& req) {
    auto logged = db->GetRecommendation(req.matches[1].str());
    if (!logged.ok()) return ErrorReply(logged.status());
    return JsonReply(200, *logged);
  });
  // Replays a logged decision's exploration from its seed (docs/feedback-loop.md).
  Route("GET", "/v1/recommendations/([^/]+)/replay", Role::kRead, [this](const httplib::Request& req) {
    auto replay = decider->ReplayExploration(req.matches[1].str());
    if (!replay.ok()) return ErrorReply(replay.status());
    return JsonReply(200, *replay);
  });
  Route("GET", "/v1/admin/breakers", Role::kRead, [this](const httplib::Request&) {
    return JsonReply(200, {{"breakers", decider->Breakers()}});
  });
  if (!options.enable_fault_injection) return;
  Route("GET", "/v1/admin/faults", Role::kAdmin, [this](const httplib::Request&) {
    return JsonReply(200, {{"faults", decider->Faults()}});
  });
  Route("POST", "/v1/admin/faults", Role::kAdmin, [this](const httplib::Request& req) {
    auto body = ParseJsonObject(req.body);
    if (!body.ok()) return ErrorReply(body.status());
    Status set = decider->SetFault(*body);
    if (!set.ok()) return ErrorReply(set);
    return JsonReply(200, {{"faults", decider->Faults()}});
  });
  Route("DELETE", "/v1/admin/faults", Role::kAdmin, [this](const httplib::Request&) {
    Status cleared = decider->ClearFaults();
    if (!cleared.ok()) return ErrorReply(cleared);
    return JsonReply(200, {{"faults", decider->Faults()}});
  });
}

}  // namespace pathwise::server
