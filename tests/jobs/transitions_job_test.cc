// The item-transitions job (jobs/jobs.h, docs/jobs.md, "transitions") over a real data
// directory: its output edges, reruns and rejected runs.
#include <doctest/doctest.h>

#include <sstream>
#include <string>

#include "db/database.h"
#include "graph/sequences.h"
#include "jobs/jobs.h"
#include "jobs_test_util.h"

using namespace pathwise;
using nlohmann::json;
using pathwise::testing::Edges;
using pathwise::testing::EdgesOf;
using pathwise::testing::Open;
using pathwise::testing::TempDir;

namespace {

// 20 users rating some of 10 movies at one of 6 times each (so timestamps repeat), deterministic.
void LoadHistories(Database& db, uint64_t seed) {
  pathwise::testing::DeclareRatingSchema(db);
  std::stringstream in;
  for (int m = 0; m < 10; ++m) in << R"({"node": "Movie", "id": "m)" << m << "\"}\n";
  uint64_t s = seed;
  for (int u = 0; u < 20; ++u) {
    in << R"({"node": "User", "id": "u)" << u << "\"}\n";
    for (int m = 0; m < 10; ++m) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      if ((s >> 33) % 2 != 0) continue;
      in << R"({"edge": "RATED", "from": ["User", "u)" << u << R"("], "to": ["Movie", "m)" << m
         << R"("], "weight": 4, "ts": )" << 1000 + (s >> 40) % 6 << "}\n";
    }
  }
  auto report = db.Load(in);
  REQUIRE(report.ok());
  REQUIRE(report->errors == 0);
}

// The model computed here straight from the graph.
Edges Expected(Database& db, size_t window, size_t k) {
  Edges out;
  REQUIRE(db.ReadGraph([&](const graph::Graph& g, const Schema& schema) {
                graph::TransitionOptions o;
                o.edge_type = schema.FindEdgeType("RATED")->id;
                o.user_type = schema.FindNodeType("User")->id;
                o.item_type = schema.FindNodeType("Movie")->id;
                o.window = window;
                o.k = k;
                PW_ASSIGN_OR_RETURN(auto model, graph::ItemTransitions(g, o));
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

}  // namespace

TEST_CASE("transitions job: writes the model as edges of a newly declared output type") {
  TempDir dir;
  auto db = Open(dir.path);
  LoadHistories(*db, 42);
  auto result = jobs::Run(*db, "transitions", {{"edge", "RATED"}, {"output", "NEXT_AFTER"}, {"window", 3}, {"k", 4}});
  REQUIRE_MESSAGE(result.ok(), result.status().ToString());
  CHECK((*result)["output_declared"] == true);
  Edges written = EdgesOf(*db, "NEXT_AFTER");
  CHECK(!written.empty());
  CHECK(written == Expected(*db, 3, 4));
  CHECK((*result)["edges_written"] == written.size());
  // A rerun after new ratings replaces the whole model with the new one.
  LoadHistories(*db, 7);
  auto rerun = jobs::Run(*db, "transitions", {{"edge", "RATED"}, {"output", "NEXT_AFTER"}, {"window", 3}, {"k", 4}});
  REQUIRE(rerun.ok());
  CHECK((*rerun)["output_declared"] == false);
  CHECK(EdgesOf(*db, "NEXT_AFTER") == Expected(*db, 3, 4));
}

TEST_CASE("transitions job: bad parameters are clear errors and keep the previous model") {
  TempDir dir;
  auto db = Open(dir.path);
  LoadHistories(*db, 42);
  REQUIRE(jobs::Run(*db, "transitions", {{"edge", "RATED"}, {"output", "NEXT_AFTER"}}).ok());
  Edges before = EdgesOf(*db, "NEXT_AFTER");
  struct Case {
    json params;
    std::string message;
  };
  for (const Case& c : {Case{{{"edge", "LIKED"}, {"output", "NEXT_AFTER"}}, "unknown edge type 'LIKED'"},
                        Case{{{"edge", "WROTE"}, {"output", "NEXT_AFTER"}}, "two different endpoint types"},
                        Case{{{"edge", "RATED"}, {"output", "RATED"}}, "must differ"},
                        Case{{{"edge", "RATED"}, {"output", "WROTE"}}, "connects 'User' to 'User'"},
                        Case{{{"edge", "RATED"}, {"output", "NEXT_AFTER"}, {"window", 0}}, "params.window"},
                        Case{{{"edge", "RATED"}, {"output", "NEXT_AFTER"}, {"k", 5000}}, "params.k"},
                        Case{{{"edge", "RATED"}, {"output", "NEXT_AFTER"}, {"windows", 3}}, "windows"},
                        Case{{{"edge", "RATED"}, {"output", "NEXT_AFTER"}, {"max_pair_mb", 0}}, "max_pair_mb"}}) {
    CAPTURE(c.params.dump());
    Status validated = jobs::Validate(*db, "transitions", c.params);
    CHECK(validated.code() == Status::Code::kInvalidArgument);
    CHECK_MESSAGE(validated.message().find(c.message) != std::string::npos, validated.message());
    CHECK(!jobs::Run(*db, "transitions", c.params).ok());
  }
  CHECK(EdgesOf(*db, "NEXT_AFTER") == before);
}
