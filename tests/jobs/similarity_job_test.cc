// The item-similarity job (jobs/jobs.h, docs/jobs.md) over a real data directory: its output
// edges, reruns, rejected runs, stored records and restarts.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>

#include "db/database.h"
#include "graph/similarity.h"
#include "jobs/jobs.h"
#include "jobs_test_util.h"

using namespace pathwise;
using nlohmann::json;
using pathwise::testing::Edges;
using pathwise::testing::EdgesOf;
using pathwise::testing::Open;
using pathwise::testing::TempDir;

namespace {

// 30 users rating some of 12 movies (weights 1..5), deterministic.
void LoadRatings(Database& db) {
  pathwise::testing::DeclareRatingSchema(db);
  std::stringstream in;
  for (int m = 0; m < 12; ++m) in << R"({"node": "Movie", "id": "m)" << m << "\"}\n";
  uint64_t s = 42;
  for (int u = 0; u < 30; ++u) {
    in << R"({"node": "User", "id": "u)" << u << "\"}\n";
    for (int m = 0; m < 12; ++m) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      if ((s >> 33) % 3 != 0) continue;
      in << R"({"edge": "RATED", "from": ["User", "u)" << u << R"("], "to": ["Movie", "m)" << m
         << R"("], "weight": )" << 1 + (s >> 40) % 5 << "}\n";
    }
  }
  auto report = db.Load(in);
  REQUIRE(report.ok());
  REQUIRE(report->errors == 0);
}

// The model the job should have written, computed here straight from the graph.
Edges Expected(Database& db, graph::SimilarityMeasure measure, size_t k, double shrink) {
  Edges out;
  REQUIRE(db.ReadGraph([&](const graph::Graph& g, const Schema& schema) {
                graph::SimilarityOptions o;
                o.edge_type = schema.FindEdgeType("RATED")->id;
                o.item_type = schema.FindNodeType("Movie")->id;
                o.measure = measure;
                o.k = k;
                o.shrink = shrink;
                PW_ASSIGN_OR_RETURN(auto model, graph::ItemSimilarity(g, o));
                for (size_t n = 0; n < model.items.size(); ++n) {
                  for (size_t e = model.offsets[n]; e < model.offsets[n + 1]; ++e) {
                    out[{g.KeyOf(model.items[n]), g.KeyOf(model.neighbors[e].node)}] =
                        model.neighbors[e].score;
                  }
                }
                return Status::OK();
              }).ok());
  return out;
}

json Params(json extra = json::object()) {
  json p = {{"edge", "RATED"}, {"output", "SIMILAR"}, {"k", 3}};
  p.update(extra);
  return p;
}

}  // namespace

TEST_CASE("similarity job: writes the model as edges of a newly declared output type") {
  TempDir dir;
  auto db = Open(dir.path);
  LoadRatings(*db);
  jobs::JobRunner runner(db.get());
  std::vector<std::string> phases;
  auto record = runner.RunNow("similarity", Params({{"shrink", 2}}),
                              [&](const jobs::Progress& p) { phases.push_back(p.phase); });
  REQUIRE_MESSAGE(record.ok(), record.status().ToString());
  CHECK((*record)["state"] == "done");
  const json& result = (*record)["result"];
  CHECK(result["items"] == 12);
  CHECK(result["output_declared"] == true);
  CHECK(result["edges_removed"] == 0);
  Edges written = EdgesOf(*db, "SIMILAR");
  CHECK(result["edges_written"] == written.size());
  CHECK(written.size() == 36);
  CHECK(written == Expected(*db, graph::SimilarityMeasure::kCosine, 3, 2));
  CHECK(db->SchemaJson().find(R"("name":"SIMILAR")") != std::string::npos);
  CHECK(std::find(phases.begin(), phases.end(), "computing") != phases.end());
  CHECK(phases.back() == "writing");
}

TEST_CASE("similarity job: a rerun replaces the old edges and no stale edge remains") {
  TempDir dir;
  DatabaseOptions options;
  // Both ways a model is stored: one synced write, and SST files ingested at once.
  SUBCASE("synced write") { options.model_ingest_min_ops = SIZE_MAX; }
  SUBCASE("ingested files") { options.model_ingest_min_ops = 1; }
  auto db = Open(dir.path, options);
  LoadRatings(*db);
  jobs::JobRunner runner(db.get());
  REQUIRE(runner.RunNow("similarity", Params({{"k", 5}})).ok());
  // A hand-written edge the model would never produce (an item to itself).
  WriteSet set;
  EdgeWrite stale;
  stale.type = "SIMILAR";
  stale.from = {"Movie", "m0"};
  stale.to = {"Movie", "m0"};
  set.ops.push_back(stale);
  REQUIRE(db->Apply(set).ok());
  CHECK(EdgesOf(*db, "SIMILAR").size() == 61);
  auto record = runner.RunNow("similarity", Params({{"k", 1}, {"measure", "jaccard"}}));
  REQUIRE(record.ok());
  CHECK((*record)["result"]["edges_removed"] == 61);
  Edges expected = Expected(*db, graph::SimilarityMeasure::kJaccard, 1, 0);
  CHECK(EdgesOf(*db, "SIMILAR") == expected);
  CHECK(expected.size() == 12);
  // The store holds exactly the same edges: reopen and compare.
  db.reset();
  db = Open(dir.path, options);
  CHECK(EdgesOf(*db, "SIMILAR") == expected);
}

TEST_CASE("similarity job: bad parameters and missing edge types are rejected, the model stays") {
  TempDir dir;
  auto db = Open(dir.path);
  LoadRatings(*db);
  REQUIRE(db->MergeSchema(R"({"edge_types": [{"name": "LIKES", "from": "User", "to": "Movie"}]})")
              .ok());
  jobs::JobRunner runner(db.get());
  REQUIRE(runner.RunNow("similarity", Params()).ok());
  Edges before = EdgesOf(*db, "SIMILAR");
  REQUIRE(before.size() == 36);
  struct Case {
    std::string job;
    json params;
    std::string message;
  };
  std::vector<Case> cases = {
      {"pagerank", Params(), "unknown job 'pagerank'"},
      {"similarity", Params({{"k", 0}}), "params.k must be an integer between 1 and 1000"},
      {"similarity", Params({{"k", 5000}}), "params.k must be"},
      {"similarity", Params({{"k", 2.5}}), "params.k must be an integer"},
      {"similarity", Params({{"alpha", 2}}), "params.alpha must be a number between 0 and 1"},
      {"similarity", Params({{"shrink", -1}}), "params.shrink"},
      {"similarity", Params({{"measure", "pearson"}}), "unknown similarity measure 'pearson'"},
      {"similarity", Params({{"min_cooccurrence", 0}}), "params.min_cooccurrence"},
      {"similarity", Params({{"weighted", "yes"}}), "params.weighted must be true or false"},
      {"similarity", Params({{"depth", 3}}), "unknown parameter 'depth'"},
      {"similarity", json::array(), "params must be a JSON object"},
      {"similarity", Params({{"edge", "NOPE"}}), "unknown edge type 'NOPE'"},
      {"similarity", json{{"output", "SIMILAR"}}, "params.edge is required"},
      {"similarity", Params({{"edge", "WROTE"}}), "must declare two different endpoint types"},
      {"similarity", Params({{"output", "RATED"}}), "params.output must differ"},
      {"similarity", Params({{"output", "LIKES"}}), "output edge type 'LIKES' connects 'User'"},
      {"similarity", Params({{"output", "bad name"}}), ""},
  };
  for (const Case& c : cases) {
    CAPTURE(c.params.dump());
    CHECK(!jobs::Validate(*db, c.job, c.params).ok());
    auto run = runner.RunNow(c.job, c.params);
    REQUIRE(!run.ok());
    CHECK(run.status().code() == Status::Code::kInvalidArgument);
    CHECK_MESSAGE(run.status().message().find(c.message) != std::string::npos,
                  run.status().message());
    auto started = runner.Start(c.job, c.params);
    CHECK(!started.ok());
  }
  CHECK(EdgesOf(*db, "SIMILAR") == before);
  CHECK(EdgesOf(*db, "LIKES").empty());
}

TEST_CASE("similarity job: records are stored and survive a restart, an interrupted run says so") {
  TempDir dir;
  std::string id;
  {
    auto db = Open(dir.path);
    LoadRatings(*db);
    jobs::JobRunner runner(db.get());
    auto started = runner.Start("similarity", Params({{"measure", "asymmetric_cosine"},
                                                      {"alpha", 0.7}}));
    REQUIRE(started.ok());
    id = *started;
    json record;
    for (int i = 0; i < 6000; ++i) {  // up to a minute on a loaded machine
      auto got = runner.Get(id);
      REQUIRE(got.ok());
      record = *got;
      if (record["state"] != "running") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(record["state"] == "done");
    CHECK(runner.Start("similarity", Params()).ok());  // the finished run no longer blocks
    // A run stored as running by a process that stopped.
    WriteSet set;
    set.ops.push_back(MetaWrite{"job/similarity-1-1",
                                R"({"id":"similarity-1-1","job":"similarity","state":"running",
                                    "started_at_ms":1})"});
    REQUIRE(db->Apply(set).ok());
  }
  auto db = Open(dir.path);
  jobs::JobRunner runner(db.get());
  auto record = runner.Get(id);
  REQUIRE(record.ok());
  CHECK((*record)["state"] == "done");
  CHECK((*record)["params"]["measure"] == "asymmetric_cosine");
  CHECK((*record)["result"]["edges_written"] == 36);
  CHECK((*record)["result"].contains("seconds"));
  CHECK(runner.Get("similarity-1-1").value()["state"] == "interrupted");
  CHECK(runner.Get("nope").status().code() == Status::Code::kNotFound);
  auto list = runner.List();
  REQUIRE(list.ok());
  CHECK(list->size() == 3);
  CHECK((*list)[2]["id"] == "similarity-1-1");
}
