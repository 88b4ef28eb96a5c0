// The embeddings job "svd" (jobs/jobs.h, docs/jobs.md) and online fold-in over a real data
// directory: the factors against a dense SVD, fold-in against the job and a refit, users created
// by events, and rejected runs.
#include <doctest/doctest.h>

#include <Eigen/Dense>
#include <Eigen/SVD>

#include <algorithm>
#include <filesystem>
#include <map>
#include <random>
#include <string>

#include "db/database.h"
#include "jobs/jobs.h"
#include "jobs_test_util.h"

using namespace pathwise;
using nlohmann::json;
using pathwise::testing::Open;
using pathwise::testing::TempDir;

namespace {

std::string UserId(Eigen::Index u) { return "u" + std::to_string(u); }
std::string MovieId(Eigen::Index m) { return "m" + std::to_string(m); }

EdgeWrite Rating(const std::string& user, const std::string& movie, double weight) {
  EdgeWrite edge;
  edge.type = "RATED";
  edge.from = NodeRef{"User", user, true};
  edge.to = NodeRef{"Movie", movie, true};
  edge.weight = weight;
  return edge;
}

// A users x movies matrix of rank `rank` plus `noise` (every entry non-zero), deterministic.
Eigen::MatrixXd LowRank(Eigen::Index users, Eigen::Index movies, Eigen::Index rank, double noise,
                        uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> uniform(0.2, 1.0);
  Eigen::MatrixXd left(users, rank), right(rank, movies), jitter(users, movies);
  for (double* v = left.data(); v != left.data() + left.size(); ++v) *v = uniform(gen);
  for (double* v = right.data(); v != right.data() + right.size(); ++v) *v = uniform(gen);
  for (double* v = jitter.data(); v != jitter.data() + jitter.size(); ++v) *v = uniform(gen) - 0.6;
  return left * right + noise * jitter;
}

// Writes rows [first, last) of ratings as RATED edges, one write set per user.
void WriteRatings(Database& db, const Eigen::MatrixXd& ratings, Eigen::Index first,
                  Eigen::Index last) {
  std::vector<WriteSet> sets;
  for (Eigen::Index u = first; u < last; ++u) {
    WriteSet set;
    for (Eigen::Index m = 0; m < ratings.cols(); ++m) {
      set.ops.push_back(Rating(UserId(u), MovieId(m), ratings(u, m)));
    }
    sets.push_back(std::move(set));
  }
  for (const WriteOutcome& outcome : db.ApplyMany(sets)) REQUIRE(outcome.status.ok());
}

json SvdParams(int rank) {
  return {{"edge", "RATED"}, {"rank", rank}, {"item_space", "Movie.factors"},
          {"user_space", "User.taste"}, {"iterations", 6}, {"seed", 7}};
}

json RunSvd(Database& db, const json& params) {
  auto result = jobs::Run(db, "svd", params);
  REQUIRE_MESSAGE(result.ok(), result.status().ToString());
  return *result;
}

Eigen::VectorXd VectorOf(Database& db, const std::string& space, const std::string& id) {
  auto v = db.GetVector(space, id);
  REQUIRE_MESSAGE(v.ok(), (space + " " + id + ": " + v.status().ToString()));
  return Eigen::Map<const Eigen::VectorXf>(v->data(), static_cast<Eigen::Index>(v->size()))
      .cast<double>();
}

// Item factors as a movies x rank matrix.
Eigen::MatrixXd ItemFactors(Database& db, Eigen::Index movies, Eigen::Index rank) {
  Eigen::MatrixXd out(movies, rank);
  for (Eigen::Index m = 0; m < movies; ++m) out.row(m) = VectorOf(db, "Movie.factors", MovieId(m));
  return out;
}

double RelativeError(const Eigen::VectorXd& got, const Eigen::VectorXd& want) {
  return (got - want).norm() / want.norm();
}

}  // namespace

TEST_CASE("svd job: an exactly low-rank matrix is reconstructed and its singular values match a dense SVD") {
  TempDir dir;
  auto db = Open(dir.path);
  pathwise::testing::DeclareRatingSchema(*db);
  Eigen::MatrixXd ratings = LowRank(40, 25, 3, 0.0, 1);
  WriteRatings(*db, ratings, 0, ratings.rows());
  json result = RunSvd(*db, SvdParams(3));
  CHECK(result["users"] == 40);
  CHECK(result["items"] == 25);
  CHECK(result["relation_edges"] == 1000);
  CHECK(result["spaces_declared"] == true);
  Eigen::JacobiSVD<Eigen::MatrixXd> dense(ratings);
  for (int k = 0; k < 3; ++k) {
    CHECK(result["singular_values"][k].get<double>() ==
          doctest::Approx(dense.singularValues()(k)).epsilon(1e-6));
  }
  // PureSVD: user = r_u V and item = V, so user . item = (A V V^T)_ui = A_ui at full rank.
  Eigen::MatrixXd items = ItemFactors(*db, 25, 3);
  double worst = 0;
  for (Eigen::Index u = 0; u < 40; ++u) {
    Eigen::VectorXd predicted = items * VectorOf(*db, "User.taste", UserId(u));
    worst = std::max(worst, (predicted - ratings.row(u).transpose()).cwiseAbs().maxCoeff());
  }
  CHECK(worst < 1e-3 * ratings.cwiseAbs().maxCoeff());
  auto model = db->GetFoldIn("RATED");
  REQUIRE(model.ok());
  CHECK(model->item_space == "Movie.factors");
  CHECK(model->user_space == "User.taste");
  CHECK(model->scale == std::vector<float>(3, 1.0f));
  CHECK(model->info["rank"] == 3);
}

TEST_CASE("svd job: fold-in recomputes exactly the job's user vector from the same edges") {
  TempDir dir;
  auto db = Open(dir.path);
  pathwise::testing::DeclareRatingSchema(*db);
  Eigen::MatrixXd ratings = LowRank(60, 30, 4, 0.3, 2);
  WriteRatings(*db, ratings, 0, ratings.rows());
  json params = SvdParams(4);
  params["item_scaling"] = 0.5;  // item V sqrt(sigma), user U sqrt(sigma): the scale is used
  RunSvd(*db, params);
  for (Eigen::Index u : {0, 17, 59}) {
    Eigen::VectorXd from_job = VectorOf(*db, "User.taste", UserId(u));
    WriteSet same;  // rewriting an edge with its weight changes nothing but triggers fold-in
    same.ops.push_back(Rating(UserId(u), MovieId(3), ratings(u, 3)));
    REQUIRE(db->Apply(same).ok());
    CHECK(RelativeError(VectorOf(*db, "User.taste", UserId(u)), from_job) < 1e-5);
  }
}

TEST_CASE("svd job: fold-in of held-out users created by events matches a full refit") {
  TempDir dir;
  auto db = Open(dir.path);
  pathwise::testing::DeclareRatingSchema(*db);
  const Eigen::Index users = 200, held_out = 10, movies = 60, rank = 5;
  Eigen::MatrixXd ratings = LowRank(users, movies, rank, 0.05, 3);
  WriteRatings(*db, ratings, 0, users - held_out);
  RunSvd(*db, SvdParams(rank));
  WriteRatings(*db, ratings, users - held_out, users);  // events create the held-out users
  Eigen::MatrixXd items = ItemFactors(*db, movies, rank);
  std::vector<Eigen::VectorXd> folded;  // each held-out user's scores over every movie
  for (Eigen::Index u = users - held_out; u < users; ++u) {
    folded.push_back(items * VectorOf(*db, "User.taste", UserId(u)));
  }
  RunSvd(*db, SvdParams(rank));  // the refit sees every user
  Eigen::MatrixXd refit_items = ItemFactors(*db, movies, rank);
  for (Eigen::Index u = users - held_out; u < users; ++u) {
    CAPTURE(u);
    Eigen::VectorXd refit = refit_items * VectorOf(*db, "User.taste", UserId(u));
    CHECK(RelativeError(folded[u - (users - held_out)], refit) < 0.01);
  }
}

TEST_CASE("svd job: a user created only by events gets a vector, NEAREST results, and keeps them after a restart") {
  TempDir dir;
  {
    auto db = Open(dir.path);
    pathwise::testing::DeclareRatingSchema(*db);
    WriteRatings(*db, LowRank(30, 20, 3, 0.1, 4), 0, 30);
    RunSvd(*db, SvdParams(3));
    CHECK(db->GetVector("User.taste", "newcomer").status().code() == Status::Code::kNotFound);
    WriteSet event;
    event.ops.push_back(Rating("newcomer", "m2", 5));
    REQUIRE(db->Apply(event).ok());
    Eigen::VectorXd first = VectorOf(*db, "User.taste", "newcomer");
    CHECK(RelativeError(first, 5 * VectorOf(*db, "Movie.factors", "m2")) < 1e-6);
    auto result = db->Query(R"(RECOMMEND (c:Movie) FOR (u:User {id: 'newcomer'})
                               FROM NEAREST 5 TO u.taste IN Movie.factors
                               WHERE NOT (u)-[:RATED]->(c) LIMIT 5)",
                            json::object());
    REQUIRE_MESSAGE(result.ok(), result.status().ToString());
    CHECK(result->rows.size() == 5);
  }
  auto db = Open(dir.path);  // the vector and the fold-in model are durable
  Eigen::VectorXd before = VectorOf(*db, "User.taste", "newcomer");
  CHECK(RelativeError(before, 5 * VectorOf(*db, "Movie.factors", "m2")) < 1e-6);
  WriteSet next;
  next.ops.push_back(Rating("newcomer", "m7", 2));
  REQUIRE(db->Apply(next).ok());
  Eigen::VectorXd want =
      5 * VectorOf(*db, "Movie.factors", "m2") + 2 * VectorOf(*db, "Movie.factors", "m7");
  CHECK(RelativeError(VectorOf(*db, "User.taste", "newcomer"), want) < 1e-6);
  WriteSet unrate;  // deleting the user's last edges removes the vector
  for (const char* movie : {"m2", "m7"}) {
    EdgeWrite edge = Rating("newcomer", movie, 1);
    edge.op = EdgeWrite::Op::kDelete;
    unrate.ops.push_back(edge);
  }
  REQUIRE(db->Apply(unrate).ok());
  CHECK(db->GetVector("User.taste", "newcomer").status().code() == Status::Code::kNotFound);
}

VectorIndexKind IndexOf(Database& db, const std::string& space) {
  VectorIndexKind kind = VectorIndexKind::kHnsw;
  REQUIRE(db.ReadGraph([&](const graph::Graph&, const Schema& schema) {
                const VectorSpaceDef* def = schema.FindSpace(space);
                REQUIRE(def != nullptr);
                kind = def->index;
                return Status::OK();
              }).ok());
  return kind;
}

TEST_CASE("svd job: the user space is declared flat by default, hnsw on request, and a declared one keeps its index") {
  TempDir dir;
  auto db = Open(dir.path);
  pathwise::testing::DeclareRatingSchema(*db);
  REQUIRE(db->MergeSchema(R"({"vector_spaces": [
      {"node_type": "User", "name": "declared", "dim": 3, "metric": "ip", "index": "hnsw"}]})")
              .ok());
  WriteRatings(*db, LowRank(20, 10, 3, 0.1, 6), 0, 20);
  RunSvd(*db, SvdParams(3));
  CHECK(IndexOf(*db, "User.taste") == VectorIndexKind::kFlat);
  CHECK(IndexOf(*db, "Movie.factors") == VectorIndexKind::kHnsw);
  json params = SvdParams(3);
  params["user_space"] = "User.graph_taste";
  params["user_index"] = "hnsw";
  RunSvd(*db, params);
  CHECK(IndexOf(*db, "User.graph_taste") == VectorIndexKind::kHnsw);
  params["user_space"] = "User.declared";
  params["user_index"] = "flat";
  CHECK(RunSvd(*db, params)["spaces_declared"] == false);
  CHECK(IndexOf(*db, "User.declared") == VectorIndexKind::kHnsw);
}

TEST_CASE("svd job: fold-in into a flat user space gives the same vectors as into an HNSW one") {
  const Eigen::MatrixXd ratings = LowRank(80, 25, 4, 0.2, 8);
  std::map<std::string, std::vector<Eigen::VectorXd>> vectors;  // per user_index
  for (const char* index : {"flat", "hnsw"}) {
    TempDir dir;
    auto db = Open(dir.path);
    pathwise::testing::DeclareRatingSchema(*db);
    WriteRatings(*db, ratings, 0, 70);
    json params = SvdParams(4);
    params["user_index"] = index;
    RunSvd(*db, params);
    WriteRatings(*db, ratings, 70, 80);  // new users, folded in
    WriteSet more;                       // existing users' vectors rewritten
    for (Eigen::Index u : {0, 33, 69}) more.ops.push_back(Rating(UserId(u), MovieId(u % 25), 9));
    REQUIRE(db->Apply(more).ok());
    for (Eigen::Index u = 0; u < 80; ++u) vectors[index].push_back(VectorOf(*db, "User.taste", UserId(u)));
  }
  for (size_t u = 0; u < 80; ++u) {
    CAPTURE(u);
    CHECK(RelativeError(vectors["flat"][u], vectors["hnsw"][u]) < 1e-6);
  }
}

TEST_CASE("svd job: NEAREST over the job's flat user space returns the exact nearest users") {
  TempDir dir;
  auto db = Open(dir.path);
  pathwise::testing::DeclareRatingSchema(*db);
  const Eigen::Index users = 150;
  WriteRatings(*db, LowRank(users, 30, 5, 0.3, 9), 0, users);
  RunSvd(*db, SvdParams(5));
  REQUIRE(IndexOf(*db, "User.taste") == VectorIndexKind::kFlat);
  const Eigen::VectorXd me = VectorOf(*db, "User.taste", UserId(7));
  std::vector<std::pair<double, std::string>> by_score;  // brute force: -dot, id
  for (Eigen::Index u = 0; u < users; ++u) {
    by_score.emplace_back(-me.dot(VectorOf(*db, "User.taste", UserId(u))), UserId(u));
  }
  std::sort(by_score.begin(), by_score.end());
  auto result = db->Query(R"(RECOMMEND (c:User) FOR (u:User {id: 'u7'})
                             FROM NEAREST 10 TO u.taste IN User.taste LIMIT 10)",
                          json::object());
  REQUIRE_MESSAGE(result.ok(), result.status().ToString());
  REQUIRE(result->rows.size() == 10);
  for (size_t i = 0; i < 10; ++i) {
    CAPTURE(i);
    CHECK(result->rows[i][0] == by_score[i].second);
    CHECK(result->rows[i][2].get<double>() == doctest::Approx(-by_score[i].first).epsilon(1e-4));
  }
}

TEST_CASE("svd job: bad parameters and schemas are clear errors and leave the previous model") {
  TempDir dir;
  auto db = Open(dir.path);
  pathwise::testing::DeclareRatingSchema(*db);
  REQUIRE(db->MergeSchema(R"({"vector_spaces": [
      {"node_type": "Movie", "name": "wide", "dim": 8, "metric": "ip"},
      {"node_type": "Movie", "name": "unit", "dim": 3, "metric": "cosine"}]})")
              .ok());
  WriteRatings(*db, LowRank(12, 6, 2, 0.1, 5), 0, 12);
  RunSvd(*db, SvdParams(3));
  Eigen::VectorXd user = VectorOf(*db, "User.taste", "u4");
  Eigen::VectorXd item = VectorOf(*db, "Movie.factors", "m1");
  struct Case {
    json change;
    const char* message;
  };
  for (const Case& c : {
           Case{{{"edge", "NOPE"}}, "unknown edge type 'NOPE'"},
           Case{{{"edge", "WROTE"}}, "two different endpoint types"},
           Case{{{"rank", 0}}, "params.rank must be an integer between 1 and 1024"},
           Case{{{"rank", 7}, {"item_space", "Movie.f7"}, {"user_space", "User.t7"}},
                "params.rank 7 exceeds the relation's size: 12 users and 6 items"},
           Case{{{"rank", "3"}}, "params.rank must be an integer"},
           Case{{{"item_space", "Movie.wide"}}, "'Movie.wide' has dimension 8; params.rank is 3"},
           Case{{{"item_space", "Movie.unit"}}, "'Movie.unit' is cosine"},
           Case{{{"item_space", "User.factors"}}, "params.item_space must be a space on Movie"},
           Case{{{"user_space", "taste"}}, "params.user_space must be a space on User"},
           Case{{{"iterations", -1}}, "params.iterations must be"},
           Case{{{"item_scaling", 2}}, "params.item_scaling must be a number between 0 and 1"},
           Case{{{"colour", "blue"}}, "unknown parameter 'colour'"},
           Case{{{"user_index", "ivf"}, {"user_space", "User.t9"}},
                "params.user_index must be \"flat\" or \"hnsw\", not \"ivf\""},
       }) {
    json params = SvdParams(3);
    params.update(c.change);
    CAPTURE(params.dump());
    Status validated = jobs::Validate(*db, "svd", params);
    auto run = jobs::Run(*db, "svd", params);
    REQUIRE_FALSE(run.ok());
    CHECK(run.status().code() == Status::Code::kInvalidArgument);
    CHECK(run.status().message().find(c.message) != std::string::npos);
    CHECK(validated.code() == (std::string(c.message).find("exceeds") == std::string::npos
                                   ? Status::Code::kInvalidArgument
                                   : Status::Code::kOk));
  }
  auto missing = jobs::Run(*db, "svd", json{{"edge", "RATED"}});
  CHECK(missing.status().message().find("params.item_space is required") != std::string::npos);
  CHECK(VectorOf(*db, "User.taste", "u4") == user);
  CHECK(VectorOf(*db, "Movie.factors", "m1") == item);
  CHECK(db->GetFoldIn("RATED")->item_space == "Movie.factors");
  CHECK(db->SchemaJson().find("f7") == std::string::npos);  // nothing declared by a failed run
}

TEST_CASE("svd job: a rerun replaces the whole spaces and the same seed gives the same factors") {
  TempDir dir;
  DatabaseOptions options;
  // Both ways a model is stored: one synced write, and SST files ingested at once.
  SUBCASE("synced write") { options.model_ingest_min_ops = SIZE_MAX; }
  SUBCASE("ingested files") { options.model_ingest_min_ops = 1; }
  auto db = Open(dir.path, options);
  pathwise::testing::DeclareRatingSchema(*db);
  WriteRatings(*db, LowRank(20, 10, 2, 0.1, 6), 0, 20);
  RunSvd(*db, SvdParams(2));
  Eigen::VectorXd item = VectorOf(*db, "Movie.factors", "m0");
  WriteSet loner;  // a user vector written outside the model, for a user without ratings
  loner.ops.push_back(NodeWrite{NodeWrite::Op::kUpsert, "User", "loner", {}});
  loner.ops.push_back(VectorWrite{VectorWrite::Op::kPut, "User.taste", "loner", {1, 2}});
  REQUIRE(db->Apply(loner).ok());
  json second = RunSvd(*db, SvdParams(2));
  CHECK(second["vectors_removed"] == 1);
  CHECK(second["spaces_declared"] == false);
  CHECK(db->GetVector("User.taste", "loner").status().code() == Status::Code::kNotFound);
  CHECK(VectorOf(*db, "Movie.factors", "m0").isApprox(item, 1e-6));
  WriteSet unrate;  // fold-in removes the vector of a user who loses every rating at once
  for (int m = 0; m < 10; ++m) {
    EdgeWrite gone = Rating("u1", MovieId(m), 1);
    gone.op = EdgeWrite::Op::kDelete;
    unrate.ops.push_back(gone);
  }
  REQUIRE(db->Apply(unrate).ok());
  CHECK(db->GetVector("User.taste", "u1").status().code() == Status::Code::kNotFound);
  db.reset();  // the store holds the same model
  db = Open(dir.path, options);
  CHECK(db->GetVector("User.taste", "loner").status().code() == Status::Code::kNotFound);
  CHECK(VectorOf(*db, "Movie.factors", "m0").isApprox(item, 1e-6));
}

TEST_CASE("svd job: a run reports reading, computing step by step and writing, and stores its record") {
  TempDir dir;
  auto db = Open(dir.path);
  pathwise::testing::DeclareRatingSchema(*db);
  WriteRatings(*db, LowRank(20, 10, 2, 0.1, 7), 0, 20);
  std::vector<jobs::Progress> seen;
  jobs::JobRunner runner(db.get());
  auto record = runner.RunNow("svd", SvdParams(2), [&](const jobs::Progress& p) { seen.push_back(p); });
  REQUIRE_MESSAGE(record.ok(), record.status().ToString());
  CHECK((*record)["state"] == "done");
  CHECK((*record)["result"]["rank"] == 2);
  REQUIRE(seen.size() == 1 + 14 + 1);  // 6 iterations: 2 x 6 + 2 products
  CHECK(seen.front().phase == "reading");
  for (size_t i = 1; i <= 14; ++i) {
    CHECK(seen[i].phase == "computing");
    CHECK(seen[i].done == i);
    CHECK(seen[i].total == 14);
  }
  CHECK(seen.back().phase == "writing");
  auto stored = runner.Get((*record)["id"].get<std::string>());
  REQUIRE(stored.ok());
  CHECK((*stored)["job"] == "svd");
  CHECK((*stored)["state"] == "done");
}
