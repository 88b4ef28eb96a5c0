// ServerOptions::similarity_schedule_seconds: the server runs the similarity job on a schedule
// through its job runner (docs/jobs.md, "Scheduled runs").
#include <chrono>
#include <thread>

#include "server_fixture.h"

using namespace pathwise;
using namespace pathwise::server::testing;

TEST_CASE("similarity schedule: runs the job periodically, full first, then incremental") {
  TempDir dir;
  server::ServerOptions options;
  options.similarity_schedule_seconds = 1;
  options.similarity_schedule_params = R"({"edge": "VIEWED", "output": "SIMILAR", "k": 2})";
  ServerHarness h(dir.path(), options);
  auto client = h.Client();
  nlohmann::json records;
  for (int attempt = 0; attempt < 600; ++attempt) {  // up to a minute on a loaded machine
    records = Json(client.Get("/v1/admin/jobs", h.Auth("admin")));
    size_t done = 0;
    for (const auto& record : records["jobs"]) done += record["state"] == "done";
    if (done >= 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  INFO(records.dump());
  REQUIRE(records["jobs"].size() >= 2);
  // Newest first: the oldest run had no output type yet, the next ran incrementally.
  const auto& jobs = records["jobs"];
  const auto& first = jobs[jobs.size() - 1];
  const auto& second = jobs[jobs.size() - 2];
  CHECK(first["job"] == "similarity");
  CHECK(first["params"]["mode"] == "incremental");
  CHECK(first["result"]["mode"] == "full");
  CHECK(first["result"]["fallback_reason"].get<std::string>().find("does not exist yet") !=
        std::string::npos);
  CHECK(second["result"]["mode"] == "incremental");
  CHECK(second["result"]["items_recomputed"] == 0);
}

TEST_CASE("similarity schedule: bad params stop the server from starting") {
  TempDir dir;
  auto db = Database::Open(DatabaseOptions{}, dir.path());
  REQUIRE(db.ok());
  for (const char* params : {"not json", R"({"edge": "NOPE", "output": "SIMILAR"})",
                             R"({"edge": "VIEWED", "output": "SIMILAR", "mode": "often"})"}) {
    CAPTURE(params);
    server::ServerOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.similarity_schedule_seconds = 60;
    options.similarity_schedule_params = params;
    server::Server server(db->get(), options);
    Status started = server.Start();
    CHECK(started.code() == Status::Code::kInvalidArgument);
  }
}

TEST_CASE("scheduled jobs: any job runs on its own schedule beside the similarity schedule") {
  TempDir dir;
  server::ServerOptions options;
  options.scheduled_jobs.push_back({"transitions", R"({"edge": "VIEWED", "output": "NEXT_VIEWED"})", 1});
  options.similarity_schedule_seconds = 1;
  options.similarity_schedule_params = R"({"edge": "VIEWED", "output": "SIMILAR", "k": 2})";
  ServerHarness h(dir.path(), options);
  auto client = h.Client();
  nlohmann::json records;
  bool both = false;
  for (int attempt = 0; attempt < 600 && !both; ++attempt) {  // up to a minute on a loaded machine
    records = Json(client.Get("/v1/admin/jobs", h.Auth("admin")));
    bool transitions = false, similarity = false;
    for (const auto& record : records["jobs"]) {
      if (record["state"] != "done") continue;
      transitions |= record["job"] == "transitions";
      similarity |= record["job"] == "similarity";
    }
    both = transitions && similarity;
    if (!both) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  INFO(records.dump());
  CHECK(both);
  // The transitions model is in place: NEXT reads it.
  auto res = client.Post("/v1/query", h.Auth("read"),
                         R"({"query": "RECOMMEND (c:Item) FOR (u:User {id: 'u1'}) FROM NEXT OVER -[:VIEWED]->, -[:NEXT_VIEWED]-> LIMIT 5"})",
                         "application/json");
  REQUIRE(res);
  CHECK(res->status == 200);
}

TEST_CASE("scheduled jobs: an unknown job, bad params or a bad interval stop the server from starting") {
  TempDir dir;
  auto db = Database::Open(DatabaseOptions{}, dir.path());
  REQUIRE(db.ok());
  for (const server::ServerOptions::ScheduledJob& job :
       {server::ServerOptions::ScheduledJob{"als", "{}", 60},
        server::ServerOptions::ScheduledJob{"transitions", "[1]", 60},
        server::ServerOptions::ScheduledJob{"transitions", R"({"edge": "VIEWED"})", 60},
        server::ServerOptions::ScheduledJob{"transitions", R"({"edge": "VIEWED", "output": "N"})", 0}}) {
    CAPTURE(job.job);
    CAPTURE(job.params);
    server::ServerOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.scheduled_jobs.push_back(job);
    server::Server server(db->get(), options);
    CHECK(server.Start().code() == Status::Code::kInvalidArgument);
  }
}
