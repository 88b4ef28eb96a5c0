// The surface endpoints (/v1/surfaces...), decisions, logged recommendations
// (/v1/recommendations/{id}, docs/feedback-loop.md), breakers and fault injection
// (docs/decisions.md). The work is decide::Decider's; this file maps it to HTTP.
#include "server/errors.h"
#include "server/json_fields.h"
#include "server/server_internal.h"

namespace pathwise::server {
namespace {

constexpr char kSurfaceName[] = "([A-Za-z0-9_.-]{1,128})";

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
  Route("GET", "/v1/recommendations/([^/]+)", Role::kRead, [this](const httplib::Request& req) {
    auto logged = db->GetRecommendation(req.matches[1].str());
    if (!logged.ok()) return ErrorReply(logged.status());
    return JsonReply(200, *logged);
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
