// End-to-end: the feedback loop over HTTP. Decisions log their impressions, events carrying a
// recommendation_id are attributed to them, GET /v1/recommendations/{id} answers "what was
// served and what happened since", and `pathwise export impressions` writes exactly the range
// asked (docs/feedback-loop.md). The logic is tested on the embedded database in tests/decide/.
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "server_fixture.h"

namespace pathwise::server::testing {
namespace {

using json = nlohmann::json;

constexpr char kRecipe[] = R"(RECOMMEND (c:Item) FOR (u:User {id: $user})
  FROM NEAREST 10 TO [1.0, 1.0, 0.5, 0.25] IN Item.embedding AS near
  SCORE c.price LIMIT 10)";

// A surface "row" (k 2) and the event type "click" -> VIEWED.
void Configure(ServerHarness& h, json surface = json::object()) {
  auto client = h.Client();
  REQUIRE(client.Post("/v1/recipes/near", h.Auth("admin"), json{{"query", kRecipe}}.dump(),
                      "application/json")->status == 200);
  json def = {{"recipe", "near"}, {"k", 2}, {"attribution_window_seconds", 3600}};
  for (const auto& [k, v] : surface.items()) def[k] = v;
  auto put = client.Post("/v1/surfaces/row", h.Auth("admin"), def.dump(), "application/json");
  REQUIRE(put);
  INFO(put->body);
  REQUIRE(put->status == 200);
  REQUIRE(client.Put("/v1/admin/event-types", h.Auth("admin"), R"({"click": {"edge": "VIEWED"}})",
                     "application/json")->status == 200);
}

json Decide(ServerHarness& h, json body) {
  auto res = h.Client().Post("/v1/surfaces/row/decide", h.Auth("read"), body.dump(), "application/json");
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 200);
  return Json(res);
}

httplib::Result PostEvents(ServerHarness& h, const json& events) {
  return h.Client().Post("/v1/events", h.Auth("write"), events.dump(), "application/json");
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TEST_CASE("GET /v1/recommendations/{id} returns what was served and the outcomes joined since") {
  TempDir dir;
  ServerHarness h(dir.path());
  Configure(h);
  json d = Decide(h, {{"user", "u1"}, {"explain", true}});
  std::string id = d["recommendation_id"];
  CHECK(d["impression_logged"] == true);
  const int64_t now = NowMs();
  json events = json::array({
      {{"event_id", "c1"}, {"user", "u1"}, {"item", "i3"}, {"type", "click"}, {"recommendation_id", id}},
      {{"event_id", "c2"}, {"user", "u1"}, {"item", "i2"}, {"type", "click"}, {"recommendation_id", id},
       {"ts", now + 2 * 3600 * 1000}},  // after the surface's 1 h window
      {{"event_id", "c3"}, {"user", "u2"}, {"item", "i1"}, {"type", "click"},
       {"recommendation_id", "0123456789abcdef0123456789abcdef"}},  // never served
  });
  json posted = Json(PostEvents(h, events));
  CHECK(posted["applied"] == 3);
  CHECK(posted["attributed"] == 1);
  CHECK(posted["unattributed"] == 2);
  // The same event again: deduplicated, never attributed twice.
  json again = Json(PostEvents(h, json::array({events[0]})));
  CHECK(again["duplicates"] == 1);
  CHECK_FALSE(again.contains("attributed"));

  auto res = h.Client().Get("/v1/recommendations/" + id, h.Auth("read"));
  json r = Json(res);
  CHECK(res->status == 200);
  CHECK(r["recommendation_id"] == id);
  CHECK(r["surface"] == "row");
  CHECK(r["user"] == "u1");
  CHECK(r["served_by"] == d["served_by"]);
  REQUIRE(r["items"].size() == d["items"].size());
  CHECK(r["items"][0]["id"] == d["items"][0]["id"]);
  CHECK(r["items"][0]["propensity"] == 1.0);
  CHECK(r["items"][0]["explanation"] == d["items"][0]["explanation"]);
  REQUIRE(r["outcomes"].size() == 1);
  CHECK(r["outcomes"][0]["event_id"] == "c1");
  CHECK(r["outcomes"][0]["type"] == "click");
  CHECK(r["outcomes"][0]["item"] == "i3");

  std::string metrics = h.Client().Get("/metrics", h.Auth("read"))->body;
  CHECK(metrics.find("pathwise_outcomes_total{attribution=\"attributed\"} 1") != std::string::npos);
  CHECK(metrics.find("pathwise_outcomes_total{attribution=\"unattributed\"} 2") != std::string::npos);
  CHECK(metrics.find("pathwise_impressions_total{outcome=\"logged\"} 1") != std::string::npos);
  CHECK(metrics.find("pathwise_impressions_total{outcome=\"log_failed\"} 0") != std::string::npos);
}

TEST_CASE("malformed and unknown recommendation ids are 400 and 404 with the error shape") {
  TempDir dir;
  ServerHarness h(dir.path());
  Configure(h);
  auto client = h.Client();
  for (const char* bad : {"abc", "0123456789abcdef0123456789abcdeg", "0123456789abcdef0123456789abcdef0"}) {
    CAPTURE(bad);
    auto res = client.Get(std::string("/v1/recommendations/") + bad, h.Auth("read"));
    REQUIRE(res);
    CHECK(res->status == 400);
    CHECK(HasErrorShape(res->body));
    CHECK(res->body.find("32 hex digits") != std::string::npos);
  }
  auto unknown = client.Get("/v1/recommendations/0123456789abcdef0123456789abcdef", h.Auth("read"));
  REQUIRE(unknown);
  CHECK(unknown->status == 404);
  CHECK(HasErrorShape(unknown->body));
  CHECK(client.Get("/v1/recommendations/0123456789abcdef0123456789abcdef")->status == 401);

  auto event = PostEvents(h, json::array({{{"event_id", "e1"}, {"user", "u1"}, {"item", "i1"},
                                           {"type", "click"}, {"recommendation_id", "xyz"}}}));
  REQUIRE(event);
  CHECK(event->status == 400);
  CHECK(event->body.find("recommendation_id") != std::string::npos);
  auto typed = PostEvents(h, json::array({{{"event_id", "e2"}, {"user", "u1"}, {"item", "i1"},
                                           {"type", "click"}, {"recommendation_id", 42}}}));
  CHECK(typed->status == 400);
  auto surface = client.Post("/v1/surfaces/row", h.Auth("admin"),
                             json{{"recipe", "near"}, {"attribution_window_seconds", -5}}.dump(),
                             "application/json");
  CHECK(surface->status == 400);
  CHECK(surface->body.find("attribution_window_seconds") != std::string::npos);
  auto unknown_field = client.Post("/v1/surfaces/row", h.Auth("admin"),
                                   json{{"recipe", "near"}, {"impressions", {{"sample", 1}}}}.dump(),
                                   "application/json");
  CHECK(unknown_field->status == 400);
  CHECK(unknown_field->body.find("unknown field 'sample'") != std::string::npos);
}

TEST_CASE("a decision's impressions are there after the server restarts") {
  TempDir dir;
  ServerHarness h(dir.path());
  Configure(h);
  std::string id = Decide(h, {{"user", "u2"}})["recommendation_id"];
  h.Reopen();
  auto res = h.Client().Get("/v1/recommendations/" + id, h.Auth("read"));
  REQUIRE(res);
  CHECK(res->status == 200);
}

// Runs `pathwise export ARGS` into out.ndjson; returns the exit status and the lines written.
std::pair<int, std::vector<json>> RunExport(const TempDir& dir, const std::string& args) {
  std::string out = dir.Sub("out.ndjson");
  std::string command = "timeout 60 " + std::string(PATHWISE_BINARY_DIR) + "/pathwise export " +
                        args + " >" + out + " 2>" + dir.Sub("err.txt");
  int rc = std::system(command.c_str());
  std::ifstream in(out);
  std::vector<json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, lines};
}

TEST_CASE("export impressions writes exactly the decisions served from since up to until") {
  TempDir dir;
  std::string data = dir.Sub("data");
  std::vector<std::string> ids;
  std::vector<int64_t> served;
  {
    ServerHarness h(data);
    Configure(h);
    for (int i = 0; i < 4; ++i) {
      json d = Decide(h, {{"user", "u1"}});
      ids.push_back(d["recommendation_id"]);
      served.push_back(std::stoll(ids.back().substr(0, 12), nullptr, 16));
      usleep(3000);  // distinct milliseconds
    }
  }  // the server and database close: export opens the directory
  auto [status, lines] = RunExport(dir, "impressions --data " + data + " --since " +
                                            std::to_string(served[1]) + " --until " +
                                            std::to_string(served[3]));
  CHECK(status == 0);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0]["recommendation_id"] == ids[1]);
  CHECK(lines[1]["recommendation_id"] == ids[2]);
  CHECK(lines[0]["outcomes"] == json::array());
  auto all = RunExport(dir, "impressions --data " + data + " --since 2000-01-01 --until 2999-01-01T00:00:00Z");
  CHECK(all.first == 0);
  CHECK(all.second.size() == 4);
  CHECK(RunExport(dir, "impressions --data " + data + " --since yesterday --until 1").first == 2);
  CHECK(RunExport(dir, "impressions --data " + data + " --since 5").first == 2);
  CHECK(RunExport(dir, "events --data " + data + " --since 1 --until 2").first == 2);
}

}  // namespace
}  // namespace pathwise::server::testing

namespace pathwise::server::testing {
namespace {

TEST_CASE("GET /v1/surfaces/{name}/report counts each variant's impressions, clicks and conversions, as /metrics does") {
  TempDir dir;
  ServerHarness h(dir.path());
  json variants = json::array({{{"name", "a"}, {"weight", 1}}, {{"name", "b"}, {"weight", 1}, {"k", 1}}});
  Configure(h, {{"variants", variants}, {"report", {{"clicks", {"click"}}, {"conversions", {"buy"}}}}});
  auto client = h.Client();
  REQUIRE(client.Put("/v1/admin/event-types", h.Auth("admin"),
                     R"({"click": {"edge": "VIEWED"}, "buy": {"edge": "VIEWED"}})",
                     "application/json")->status == 200);
  json seed = json::array();  // events create the users
  for (int u = 0; u < 16; ++u) {
    seed.push_back({{"event_id", "seed-" + std::to_string(u)}, {"user", "user-" + std::to_string(u)},
                    {"item", "i1"}, {"type", "click"}});
  }
  REQUIRE(Json(PostEvents(h, seed))["applied"] == 16);
  const int64_t since = NowMs();
  std::map<std::string, json> decisions;  // variant -> a decision
  for (int u = 0; u < 16 && decisions.size() < 2; ++u) {
    json d = Decide(h, {{"user", "user-" + std::to_string(u)}});
    REQUIRE(d.contains("variant"));
    CHECK(d["items"].size() == (d["variant"] == "b" ? 1u : 2u));
    decisions[d["variant"]] = d;
  }
  REQUIRE(decisions.size() == 2);
  const json& a = decisions["a"];
  REQUIRE(a["items"].size() == 2);
  json events = json::array({
      {{"event_id", "k1"}, {"user", "u1"}, {"item", a["items"][0]["id"]}, {"type", "click"},
       {"recommendation_id", a["recommendation_id"]}},
      {{"event_id", "k2"}, {"user", "u1"}, {"item", a["items"][0]["id"]}, {"type", "buy"},
       {"recommendation_id", a["recommendation_id"]}}});
  CHECK(Json(PostEvents(h, events))["attributed"] == 2);

  auto res = client.Get("/v1/surfaces/row/report?since=" + std::to_string(since) +
                            "&until=" + std::to_string(NowMs() + 1),
                        h.Auth("read"));
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 200);
  json report = Json(res);
  CHECK(report["control"] == "a");
  REQUIRE(report["variants"].size() == 2);
  const json& ra = report["variants"][0];
  CHECK(ra["variant"] == "a");
  CHECK(ra["clicks"] == 1);
  CHECK(ra["clicked_impressions"] == 1);
  CHECK(ra["conversions"] == 1);
  CHECK(ra["ctr"]["value"].get<double>() * ra["impressions"].get<double>() == doctest::Approx(1.0));
  CHECK(report["variants"][1]["vs_control"].contains("ctr"));
  CHECK(ra["explored_impressions"] == 0);

  // The explorer's form: a series per variant and the latest decisions.
  auto shaped = client.Get("/v1/surfaces/row/report?buckets=3&recent=1&since=" + std::to_string(since) +
                               "&until=" + std::to_string(NowMs() + 1),
                           h.Auth("read"));
  REQUIRE(shaped);
  REQUIRE(shaped->status == 200);
  json shape = Json(shaped);
  CHECK(shape["variants"][0]["series"].size() == 3);
  REQUIRE(shape["recent"].size() == 1);
  CHECK(shape["recent"][0]["recommendation_id"].is_string());

  std::string metrics = client.Get("/metrics", h.Auth("read"))->body;
  auto counter = [&](const std::string& name, const std::string& variant) {
    std::string line = name + "{surface=\"row\",variant=\"" + variant + "\"} ";
    size_t at = metrics.find(line);
    return at == std::string::npos ? int64_t{-1} : std::stoll(metrics.substr(at + line.size()));
  };
  for (const std::string v : {"a", "b"}) {
    CHECK(counter("pathwise_variant_decisions_total", v) == report["variants"][v == "a" ? 0 : 1]["decisions"]);
    CHECK(counter("pathwise_variant_impressions_total", v) == report["variants"][v == "a" ? 0 : 1]["impressions"]);
  }
  CHECK(counter("pathwise_variant_clicks_total", "a") == 1);
  CHECK(counter("pathwise_variant_conversions_total", "a") == 1);
}

TEST_CASE("bad report and surface input is a 4xx with a message") {
  TempDir dir;
  ServerHarness h(dir.path());
  Configure(h);
  auto client = h.Client();
  auto expect = [&](httplib::Result res, int status, const std::string& text) {
    REQUIRE(res);
    INFO(res->body);
    CHECK(res->status == status);
    CHECK(HasErrorShape(res->body));
    CHECK(res->body.find(text) != std::string::npos);
  };
  expect(client.Get("/v1/surfaces/nope/report", h.Auth("read")), 404, "no surface named 'nope'");
  expect(client.Get("/v1/surfaces/row/report?since=yesterday", h.Auth("read")), 400,
         "query parameter 'since'");
  expect(client.Get("/v1/surfaces/row/report?since=2026-13-01", h.Auth("read")), 400, "is not a time");
  expect(client.Get("/v1/surfaces/row/report?since=2000&until=1000", h.Auth("read")), 400,
         "'until' must be after 'since'");
  expect(client.Get("/v1/surfaces/row/report?buckets=-1", h.Auth("read")), 400,
         "query parameter 'buckets' must be a whole number");
  expect(client.Get("/v1/surfaces/row/report?buckets=201", h.Auth("read")), 400, "'buckets' must be 0 to 200");
  expect(client.Get("/v1/surfaces/row/report?recent=x", h.Auth("read")), 400, "query parameter 'recent'");
  expect(client.Get("/v1/surfaces/row/report?recent=101", h.Auth("read")), 400, "'recent' must be 0 to 100");
  auto put = [&](const json& extra) {
    json def = {{"recipe", "near"}, {"item_type", "Item"}};
    for (const auto& [k, v] : extra.items()) def[k] = v;
    return client.Post("/v1/surfaces/row", h.Auth("admin"), def.dump(), "application/json");
  };
  expect(put({{"rules", json::array({{{"type", "frequency_cap"}, {"max", 2}, {"window_seconds", -1}}})}}),
         400, "rules[0].window_seconds");
  expect(put({{"variants", json::array({{{"name", "a"}, {"weight", 0}}})}}), 400, "variants[0].weight");
  expect(put({{"variants", json::array({{{"name", "a"}, {"weight", -1}}})}}), 400, "variants[0].weight");
  expect(put({{"variants", json::array({{{"name", "a"}}, {{"name", "a"}}})}}), 400, "repeats 'a'");
  expect(client.Post("/v1/surfaces/nope/decide", h.Auth("read"), R"({"user": "u1"})", "application/json"),
         404, "no surface named 'nope'");
}

TEST_CASE("a decision's context segment is in its record; a bad segment is a 400 with a message") {
  TempDir dir;
  ServerHarness h(dir.path());
  Configure(h);
  json d = Decide(h, {{"user", "u1"}, {"context", {{"segment", "young"}, {"device", "tv"}}}});
  json r = Json(h.Client().Get("/v1/recommendations/" + d["recommendation_id"].get<std::string>(),
                               h.Auth("read")));
  CHECK(r["segment"] == "young");
  json plain = Decide(h, {{"user", "u1"}});
  CHECK_FALSE(Json(h.Client().Get("/v1/recommendations/" + plain["recommendation_id"].get<std::string>(),
                                  h.Auth("read")))
                  .contains("segment"));
  json event = {{"event_id", "c1"}, {"user", "u1"}, {"item", "i1"}, {"type", "click"}, {"segment", "young"}};
  CHECK(Json(PostEvents(h, json::array({event})))["applied"] == 1);

  auto expect_400 = [](httplib::Result res, const std::string& text) {
    REQUIRE(res);
    INFO(res->body);
    CHECK(res->status == 400);
    CHECK(HasErrorShape(res->body));
    CHECK(res->body.find(text) != std::string::npos);
  };
  auto decide = [&](const json& context) {
    return h.Client().Post("/v1/surfaces/row/decide", h.Auth("read"),
                           json{{"user", "u1"}, {"context", context}}.dump(), "application/json");
  };
  expect_400(decide({{"segment", 7}}), "context entry 'segment' must be a string");
  expect_400(decide({{"segment", ""}}), "context entry 'segment': id must not be empty");
  expect_400(decide({{"segment", std::string(kMaxIdBytes + 1, 's')}}), "the limit is 512");
  auto post = [&](const json& segment) {
    json bad = event;
    bad["event_id"] = "c2";
    bad["segment"] = segment;
    return PostEvents(h, json::array({bad}));
  };
  expect_400(post(json::array({"a"})), "field 'segment' must be a string");
  expect_400(post(""), "field 'segment': id must not be empty");
  expect_400(post(std::string(kMaxIdBytes + 1, 's')), "the limit is 512");
}

}  // namespace
}  // namespace pathwise::server::testing
