// The similarity job's incremental mode (docs/jobs.md, "Incremental mode"): after edges are
// added, reweighted and removed, and items and users deleted, an incremental run leaves exactly
// the output edges of a full rerun; it falls back to a full run without a usable state, and
// recomputes nothing when nothing changed.
#include <doctest/doctest.h>

#include <map>
#include <sstream>
#include <string>

#include "db/database.h"
#include "jobs/jobs.h"
#include "jobs_test_util.h"

using namespace pathwise;
using nlohmann::json;
using pathwise::testing::Edges;
using pathwise::testing::EdgesOf;
using pathwise::testing::Open;
using pathwise::testing::TempDir;

namespace {

constexpr int kClusters = 20;
constexpr int kMoviesPerCluster = 10;

// 300 users, each rating 3..6 movies of one of 20 clusters of 10 movies (weights 1..5), plus
// one movie of the next cluster, so the co-occurrence neighbourhood of a movie is a few
// clusters out of 20. Deterministic.
void LoadClusteredRatings(Database& db) {
  pathwise::testing::DeclareRatingSchema(db);
  std::stringstream in;
  for (int m = 0; m < kClusters * kMoviesPerCluster; ++m) {
    in << R"({"node": "Movie", "id": "m)" << m << "\"}\n";
  }
  uint64_t s = 7;
  auto next = [&](uint64_t bound) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return (s >> 33) % bound;
  };
  for (int u = 0; u < 300; ++u) {
    in << R"({"node": "User", "id": "u)" << u << "\"}\n";
    int cluster = u % kClusters;
    std::map<int, int> rated;
    for (uint64_t n = 3 + next(4); rated.size() < n;) {
      rated[cluster * kMoviesPerCluster + static_cast<int>(next(kMoviesPerCluster))] = 1 + next(5);
    }
    rated[((cluster + 1) % kClusters) * kMoviesPerCluster + static_cast<int>(next(10))] = 2;
    for (auto [m, weight] : rated) {
      in << R"({"edge": "RATED", "from": ["User", "u)" << u << R"("], "to": ["Movie", "m)" << m
         << R"("], "weight": )" << weight << "}\n";
    }
  }
  auto report = db.Load(in);
  REQUIRE(report.ok());
  REQUIRE(report->errors == 0);
}

json RunJob(Database& db, const json& params) {
  auto result = jobs::Run(db, "similarity", params);
  REQUIRE_MESSAGE(result.ok(), result.status().ToString());
  return *result;
}

void Write(Database& db, WriteSet set) {
  Status status = db.Apply(set);
  REQUIRE_MESSAGE(status.ok(), status.ToString());
}

template <typename Op>
void WriteOne(Database& db, Op op) {
  WriteSet set;
  set.ops.push_back(std::move(op));
  Write(db, std::move(set));
}

EdgeWrite Rating(int user, int movie, std::optional<double> weight,
                 EdgeWrite::Op op = EdgeWrite::Op::kPut) {
  EdgeWrite edge;
  edge.op = op;
  edge.type = "RATED";
  edge.from = {"User", "u" + std::to_string(user), true};
  edge.to = {"Movie", "m" + std::to_string(movie), true};
  edge.weight = weight;
  return edge;
}

}  // namespace

TEST_CASE("similarity incremental: matches a full rerun after edges and nodes change") {
  std::vector<json> variants = {
      {{"measure", "cosine"}},
      {{"measure", "cosine"}, {"weighted", true}, {"shrink", 3}},
      {{"measure", "jaccard"}, {"weighted", true}, {"min_cooccurrence", 2}},
      {{"measure", "asymmetric_cosine"}, {"alpha", 0.8}, {"weighted", true}},
      {{"measure", "cosine"}, {"max_items_per_user", 3}, {"max_users_per_item", 12}},
  };
  for (const json& variant : variants) {
    CAPTURE(variant.dump());
    TempDir dir;
    auto db = Open(dir.path);
    LoadClusteredRatings(*db);
    json params = {{"edge", "RATED"}, {"output", "SIMILAR"}, {"k", 4}};
    params.update(variant);
    json full = RunJob(*db, params);
    CHECK(full["mode"] == "full");

    // Each step changes one or two clusters, then runs incrementally and compares the output
    // with a full rerun of the same parameters on the same data.
    std::vector<WriteSet> steps(6);
    steps[0].ops = {Rating(0, 3, 5.0), Rating(20, 7, 1.0)};            // add and reweight
    steps[1].ops = {Rating(40, 0, std::nullopt, EdgeWrite::Op::kDelete),
                    Rating(40, 1, std::nullopt, EdgeWrite::Op::kDelete),
                    Rating(40, 2, std::nullopt, EdgeWrite::Op::kDelete)};  // remove (maybe absent)
    steps[2].ops = {NodeWrite{NodeWrite::Op::kDelete, "Movie", "m15", {}}};  // an item goes
    steps[3].ops = {NodeWrite{NodeWrite::Op::kDelete, "User", "u45", {}}};   // a user goes
    steps[4].ops = {Rating(1000, 55, 4.0), Rating(1000, 999, 3.0),
                    Rating(61, 999, 5.0)};  // a new user and a new item
    steps[5].ops = {Rating(5, 150, 2.0), Rating(5, 50, 2.0)};  // bridges two clusters
    for (size_t step = 0; step < steps.size(); ++step) {
      CAPTURE(step);
      for (auto& op : steps[step].ops) {
        // Deleting an absent edge is fine; only the ones present are removed.
        if (auto* edge = std::get_if<EdgeWrite>(&op); edge && edge->op == EdgeWrite::Op::kDelete) {
          edge->from.create_if_missing = edge->to.create_if_missing = false;
        }
      }
      Write(*db, steps[step]);
      json incremental = params;
      incremental["mode"] = "incremental";
      json result = RunJob(*db, incremental);
      CHECK(result["mode"] == "incremental");
      CHECK(!result.contains("fallback_reason"));
      // With hub caps a change may leave the counted relation as it was.
      if (!variant.contains("max_items_per_user")) {
        CHECK(result["items_changed"].get<size_t>() > 0);
        CHECK(result["items_recomputed"].get<size_t>() > 0);
      }
      CHECK(result["items_recomputed"].get<size_t>() < result["items"].get<size_t>() / 2);
      Edges after_incremental = EdgesOf(*db, "SIMILAR");
      json rerun = RunJob(*db, params);
      CHECK(rerun["mode"] == "full");
      CHECK(EdgesOf(*db, "SIMILAR") == after_incremental);
      CHECK(rerun["edges_written"] == after_incremental.size());
    }
  }
}

TEST_CASE("similarity incremental: nothing changed recomputes nothing and writes nothing") {
  TempDir dir;
  auto db = Open(dir.path);
  LoadClusteredRatings(*db);
  json params = {{"edge", "RATED"}, {"output", "SIMILAR"}, {"k", 5}, {"mode", "incremental"}};
  json first = RunJob(*db, params);
  CHECK(first["mode"] == "full");
  Edges before = EdgesOf(*db, "SIMILAR");
  REQUIRE(!before.empty());
  json again = RunJob(*db, params);
  CHECK(again["mode"] == "incremental");
  CHECK(again["items_changed"] == 0);
  CHECK(again["items_recomputed"] == 0);
  CHECK(again["edges_written"] == 0);
  CHECK(again["edges_removed"] == 0);
  CHECK(EdgesOf(*db, "SIMILAR") == before);
  // The state survives a restart.
  db.reset();
  db = Open(dir.path);
  CHECK(RunJob(*db, params)["items_recomputed"] == 0);
}

TEST_CASE("similarity incremental: falls back to a full run and says why") {
  TempDir dir;
  auto db = Open(dir.path);
  LoadClusteredRatings(*db);
  json params = {{"edge", "RATED"}, {"output", "SIMILAR"}, {"k", 5}, {"mode", "incremental"}};
  auto reason = [](const json& result) { return result.value("fallback_reason", ""); };

  json first = RunJob(*db, params);  // no output type yet
  CHECK(first["mode"] == "full");
  CHECK(reason(first).find("does not exist yet") != std::string::npos);

  WriteOne(*db, MetaWrite{"similarity/SIMILAR", std::nullopt});  // state lost
  json no_state = RunJob(*db, params);
  CHECK(no_state["mode"] == "full");
  CHECK(reason(no_state).find("no stored state") != std::string::npos);

  WriteOne(*db, MetaWrite{"similarity/SIMILAR", "{garbage"});
  CHECK(reason(RunJob(*db, params)).find("unreadable") != std::string::npos);

  json other_k = params;
  other_k["k"] = 6;
  json changed = RunJob(*db, other_k);
  CHECK(changed["mode"] == "full");
  CHECK(reason(changed).find("parameters differ") != std::string::npos);
  // threads and max_recompute_share do not change the model, so they do not force a full run.
  other_k["threads"] = 1;
  CHECK(RunJob(*db, other_k)["mode"] == "incremental");

  WriteOne(*db, Rating(500, 3, 1.0));  // a new user: m3 changes
  other_k["max_recompute_share"] = 0;
  json share = RunJob(*db, other_k);
  CHECK(share["mode"] == "full");
  CHECK(share["items_changed"].get<size_t>() > 0);
  CHECK(reason(share).find("max_recompute_share") != std::string::npos);
  CHECK(share["items_recomputed"] == share["items"]);
}

TEST_CASE("similarity incremental: bad modes and shares are clear errors, the model stays") {
  TempDir dir;
  auto db = Open(dir.path);
  LoadClusteredRatings(*db);
  json params = {{"edge", "RATED"}, {"output", "SIMILAR"}, {"k", 5}};
  RunJob(*db, params);
  Edges before = EdgesOf(*db, "SIMILAR");
  auto state = db->GetMeta("similarity/SIMILAR");
  REQUIRE(state.ok());
  struct Case {
    json extra;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{{"mode", "sometimes"}}, R"(params.mode must be "full" or "incremental")"},
           {{{"mode", 1}}, "params.mode"},
           {{{"max_recompute_share", 1.5}}, "params.max_recompute_share"},
           {{{"mode", "incremental"}, {"edge", "NOPE"}}, "unknown edge type 'NOPE'"}}) {
    json bad = params;
    bad.update(c.extra);
    CAPTURE(bad.dump());
    auto run = jobs::Run(*db, "similarity", bad);
    REQUIRE(!run.ok());
    CHECK(run.status().code() == Status::Code::kInvalidArgument);
    CHECK_MESSAGE(run.status().message().find(c.message) != std::string::npos,
                  run.status().message());
  }
  CHECK(EdgesOf(*db, "SIMILAR") == before);
  CHECK(db->GetMeta("similarity/SIMILAR").value() == state.value());
}
