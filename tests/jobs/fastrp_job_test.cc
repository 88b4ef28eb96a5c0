// The embeddings job "fastrp" (jobs/jobs.h, docs/jobs.md) and its core (jobs/fastrp.h): the
// projection against a dense brute-force computation, reproducibility, communities, and
// rejected runs.
#include <doctest/doctest.h>

#include <Eigen/Dense>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "db/database.h"
#include "jobs/fastrp.h"
#include "jobs/jobs.h"
#include "jobs_test_util.h"

using namespace pathwise;
using nlohmann::json;
using pathwise::testing::Open;
using pathwise::testing::TempDir;

namespace {

// User -FRIEND-> User, User -RATED-> Movie, a Tag type no edge touches, and spaces on them.
void DeclareSchema(Database& db) {
  REQUIRE(db.MergeSchema(R"({"node_types": [{"name": "User"}, {"name": "Movie"}, {"name": "Tag"}],
      "edge_types": [{"name": "FRIEND", "from": "User", "to": "User"},
                     {"name": "RATED", "from": "User", "to": "Movie"}],
      "vector_spaces": [{"node_type": "User", "name": "rp", "dim": 16, "metric": "cosine"},
                        {"node_type": "Movie", "name": "rp", "dim": 16, "metric": "ip"},
                        {"node_type": "Tag", "name": "rp", "dim": 16, "metric": "ip"}]})")
              .ok());
}

EdgeWrite Edge(const std::string& type, const std::string& from_type, const std::string& from,
               const std::string& to_type, const std::string& to, double weight = 1) {
  EdgeWrite edge;
  edge.type = type;
  edge.from = NodeRef{from_type, from, true};
  edge.to = NodeRef{to_type, to, true};
  edge.weight = weight;
  return edge;
}

void Write(Database& db, std::vector<EdgeWrite> edges) {
  WriteSet set;
  for (EdgeWrite& e : edges) set.ops.push_back(std::move(e));
  Status status = db.Apply(set);
  REQUIRE_MESSAGE(status.ok(), status.ToString());
}

// Two cliques of 8 users (a0..a7, b0..b7) joined by the one edge a0 - b0.
void WriteTwoCliques(Database& db) {
  std::vector<EdgeWrite> edges;
  for (const char* side : {"a", "b"}) {
    for (int i = 0; i < 8; ++i) {
      for (int j = i + 1; j < 8; ++j) {
        edges.push_back(Edge("FRIEND", "User", side + std::to_string(i), "User",
                             side + std::to_string(j)));
      }
    }
  }
  edges.push_back(Edge("FRIEND", "User", "a0", "User", "b0"));
  Write(db, std::move(edges));
}

json Params() {
  return {{"edge", "FRIEND"}, {"space", "User.rp"}, {"seed", 7}};
}

json RunJob(Database& db, const json& params) {
  auto result = jobs::Run(db, "fastrp", params);
  REQUIRE_MESSAGE(result.ok(), result.status().ToString());
  return *result;
}

Eigen::VectorXd VectorOf(Database& db, const std::string& space, const std::string& id) {
  auto v = db.GetVector(space, id);
  REQUIRE_MESSAGE(v.ok(), (space + " " + id + ": " + v.status().ToString()));
  return Eigen::Map<const Eigen::VectorXf>(v->data(), static_cast<Eigen::Index>(v->size()))
      .cast<double>();
}

double Cosine(const Eigen::VectorXd& a, const Eigen::VectorXd& b) {
  return a.dot(b) / (a.norm() * b.norm());
}

// Row-normalises a dense matrix, leaving zero rows zero.
Eigen::MatrixXd RowNormalized(Eigen::MatrixXd m) {
  for (Eigen::Index r = 0; r < m.rows(); ++r) {
    double norm = m.row(r).norm();
    if (norm > 0) m.row(r) /= norm;
  }
  return m;
}

// FastRP computed densely, term by term from the definition in jobs/fastrp.h.
Eigen::MatrixXd DenseFastRp(const Eigen::MatrixXd& s, const jobs::FastRpOptions& options) {
  const Eigen::Index n = s.rows();
  Eigen::VectorXd degree = s.rowwise().sum();
  Eigen::MatrixXd p = Eigen::MatrixXd::Zero(n, n);
  Eigen::MatrixXd l = Eigen::MatrixXd::Zero(n, n);
  for (Eigen::Index i = 0; i < n; ++i) {
    if (degree(i) > 0) {
      p.row(i) = s.row(i) / degree(i);
      l(i, i) = std::pow(degree(i), options.normalization_strength);
    }
  }
  Eigen::MatrixXd r = jobs::VerySparseRandomMatrix(n, static_cast<Eigen::Index>(options.dim),
                                                   options.seed);
  Eigen::MatrixXd n_i = p * l * r;
  Eigen::MatrixXd sum = Eigen::MatrixXd::Zero(n, r.cols());
  for (size_t i = 0; i < options.weights.size(); ++i) {
    if (i > 0) n_i = p * n_i;
    sum += options.weights[i] * RowNormalized(n_i);
  }
  return RowNormalized(sum);
}

}  // namespace

TEST_CASE("fastrp: the random matrix has entries +-sqrt(3) with probability 1/6 each and depends only on the seed") {
  Eigen::MatrixXd r = jobs::VerySparseRandomMatrix(600, 50, 3);
  size_t plus = 0, minus = 0, zero = 0;
  for (Eigen::Index i = 0; i < r.rows(); ++i) {
    for (Eigen::Index j = 0; j < r.cols(); ++j) {
      double v = r(i, j);
      if (v == 0) {
        ++zero;
      } else if (std::abs(v - std::sqrt(3.0)) < 1e-15) {
        ++plus;
      } else if (std::abs(v + std::sqrt(3.0)) < 1e-15) {
        ++minus;
      }
    }
  }
  CHECK(plus + minus + zero == 30000u);
  CHECK(std::abs(static_cast<double>(plus) / 30000 - 1.0 / 6) < 0.015);
  CHECK(std::abs(static_cast<double>(minus) / 30000 - 1.0 / 6) < 0.015);
  CHECK(jobs::VerySparseRandomMatrix(600, 50, 3) == r);
  CHECK(jobs::VerySparseRandomMatrix(10, 50, 3) == r.topRows(10));  // row i depends on (seed, i)
  CHECK(jobs::VerySparseRandomMatrix(600, 50, 4) != r);
}

TEST_CASE("fastrp: the projection matches a dense brute-force computation on a small weighted graph") {
  const Eigen::Index n = 30;
  std::mt19937_64 gen(11);
  std::uniform_real_distribution<double> weight(0.5, 3.0);
  std::uniform_int_distribution<int> node(0, static_cast<int>(n) - 2);
  Eigen::MatrixXd s = Eigen::MatrixXd::Zero(n, n);  // node n-1 has no edges: its row stays 0
  auto add = [&](Eigen::Index a, Eigen::Index b, double w) {
    s(a, b) += w;
    s(b, a) += w;
  };
  for (Eigen::Index i = 0; i + 2 < n; ++i) add(i, i + 1, weight(gen));  // a path, then chords
  for (int e = 0; e < 40; ++e) add(node(gen), node(gen), weight(gen));  // self-loops allowed
  jobs::SparseAdjacency sparse = s.sparseView();
  for (double beta : {0.0, 0.5, -0.8}) {
    CAPTURE(beta);
    jobs::FastRpOptions options;
    options.dim = 12;
    options.weights = {0.5, 1.0, 0.0, 0.25};
    options.normalization_strength = beta;
    options.seed = 99;
    std::vector<size_t> steps;
    options.progress = [&](size_t done, size_t total) {
      CHECK(total == 4u);
      steps.push_back(done);
    };
    Eigen::MatrixXd fast = jobs::FastRp(sparse, options);
    Eigen::MatrixXd dense = DenseFastRp(s, options);
    REQUIRE(fast.rows() == n);
    REQUIRE(fast.cols() == 12);
    CHECK((fast - dense).cwiseAbs().maxCoeff() < 1e-12);
    CHECK(fast.row(n - 1).isZero(0));
    for (Eigen::Index i = 0; i + 1 < n; ++i) CHECK(std::abs(fast.row(i).norm() - 1) < 1e-12);
    CHECK(steps == std::vector<size_t>{1, 2, 3, 4});
  }
}

TEST_CASE("fastrp job: embeddings are reproducible with a seed, differ with another, and a rerun replaces the whole space") {
  TempDir dir;
  auto db = Open(dir.path);
  DeclareSchema(*db);
  WriteTwoCliques(*db);
  json first = RunJob(*db, Params());
  CHECK(first["nodes"] == 16);
  CHECK(first["edges"] == 57);  // 2 x 28 + the bridge
  CHECK(first["dim"] == 16);
  CHECK(first["iterations"] == 3);
  CHECK(first["weights"] == json::array({0, 1, 1}));
  CHECK(first["embedded"] == 16);
  CHECK(first["vectors_written"] == 16);
  Eigen::VectorXd a3 = VectorOf(*db, "User.rp", "a3");
  CHECK(std::abs(a3.norm() - 1) < 1e-5);
  WriteSet loner;  // a vector written outside the model, for a user without edges
  loner.ops.push_back(NodeWrite{NodeWrite::Op::kUpsert, "User", "loner", {}});
  loner.ops.push_back(VectorWrite{VectorWrite::Op::kPut, "User.rp", "loner",
                                  std::vector<float>(16, 1.0f)});
  REQUIRE(db->Apply(loner).ok());
  json second = RunJob(*db, Params());
  CHECK(second["vectors_removed"] == 1);
  CHECK(db->GetVector("User.rp", "loner").status().code() == Status::Code::kNotFound);
  CHECK(VectorOf(*db, "User.rp", "a3") == a3);
  json other = Params();
  other["seed"] = 8;
  RunJob(*db, other);
  CHECK((VectorOf(*db, "User.rp", "a3") - a3).norm() > 1e-3);
}

TEST_CASE("fastrp job: the same data and seed give the same vectors after a restart") {
  TempDir dir;
  std::vector<Eigen::VectorXd> before;
  {
    auto db = Open(dir.path);
    DeclareSchema(*db);
    // Ids a < b < c < d < e; a's list is b, e, c in insertion order, which a restart (lists
    // reloaded in id order) does not keep.
    Write(*db, {Edge("FRIEND", "User", "a", "User", "b"), Edge("FRIEND", "User", "c", "User", "d"),
                Edge("FRIEND", "User", "e", "User", "a")});
    Write(*db, {Edge("FRIEND", "User", "a", "User", "e"), Edge("FRIEND", "User", "a", "User", "c"),
                Edge("FRIEND", "User", "b", "User", "d")});
    RunJob(*db, Params());
    for (const char* id : {"a", "b", "c", "d", "e"}) before.push_back(VectorOf(*db, "User.rp", id));
  }
  auto db = Open(dir.path);
  RunJob(*db, Params());
  int i = 0;
  for (const char* id : {"a", "b", "c", "d", "e"}) {
    CAPTURE(id);
    CHECK((VectorOf(*db, "User.rp", id) - before[i++]).norm() < 1e-6);
  }
}

TEST_CASE("fastrp job: nodes in the same community are closer than nodes in different communities") {
  TempDir dir;
  auto db = Open(dir.path);
  DeclareSchema(*db);
  WriteTwoCliques(*db);
  json params = Params();
  params["weights"] = json::array({0, 1, 1, 0.5});
  params["normalization_strength"] = -0.5;
  json result = RunJob(*db, params);
  CHECK(result["iterations"] == 4);
  std::vector<Eigen::VectorXd> a, b;
  for (int i = 0; i < 8; ++i) {
    a.push_back(VectorOf(*db, "User.rp", "a" + std::to_string(i)));
    b.push_back(VectorOf(*db, "User.rp", "b" + std::to_string(i)));
  }
  double worst_within = 1, best_across = -1;
  for (size_t i = 0; i < 8; ++i) {
    for (size_t j = 0; j < 8; ++j) {
      if (i != j) {
        worst_within = std::min({worst_within, Cosine(a[i], a[j]), Cosine(b[i], b[j])});
      }
      best_across = std::max(best_across, Cosine(a[i], b[j]));
    }
  }
  CAPTURE(worst_within);
  CAPTURE(best_across);
  CHECK(worst_within > best_across);
  CHECK(worst_within > 0.8);
}

TEST_CASE("fastrp job: a bipartite relation embeds the space's type only, over both directions") {
  TempDir dir;
  auto db = Open(dir.path);
  DeclareSchema(*db);
  std::vector<EdgeWrite> edges;  // u0..u3 rate m0, m1; u4..u7 rate m2, m3
  for (int u = 0; u < 8; ++u) {
    for (int m = u < 4 ? 0 : 2; m < (u < 4 ? 2 : 4); ++m) {
      edges.push_back(Edge("RATED", "User", "u" + std::to_string(u), "Movie",
                           "m" + std::to_string(m), 1 + u % 3));
    }
  }
  Write(*db, std::move(edges));
  json result = RunJob(*db, {{"edge", "RATED"}, {"space", "Movie.rp"}, {"dim", 16},
                             {"weighted", true}, {"iterations", 2}});
  CHECK(result["nodes"] == 12);
  CHECK(result["edges"] == 16);
  CHECK(result["weights"] == json::array({0, 1}));
  CHECK(result["embedded"] == 4);
  CHECK(db->GetVector("User.rp", "u0").status().code() == Status::Code::kNotFound);
  CHECK(Cosine(VectorOf(*db, "Movie.rp", "m0"), VectorOf(*db, "Movie.rp", "m1")) >
        Cosine(VectorOf(*db, "Movie.rp", "m0"), VectorOf(*db, "Movie.rp", "m2")));
}

TEST_CASE("fastrp job: bad fastrp parameters are clear errors and leave the previous vectors intact") {
  TempDir dir;
  auto db = Open(dir.path);
  DeclareSchema(*db);
  WriteTwoCliques(*db);
  RunJob(*db, Params());
  Eigen::VectorXd before = VectorOf(*db, "User.rp", "b5");
  struct Case {
    json change;
    const char* message;
  };
  for (const Case& c : {
           Case{{{"edge", "NOPE"}}, "unknown edge type 'NOPE'"},
           Case{{{"edge", "FRIEND,NOPE"}}, "unknown edge type 'NOPE'"},
           Case{{{"edge", "FRIEND,,RATED"}}, "params.edge must name edge types separated by commas"},
           Case{{{"edge", "FRIEND,FRIEND"}}, "names edge type 'FRIEND' twice"},
           Case{{{"edge", ""}}, "params.edge must be a non-empty string"},
           Case{{{"space", "User.nope"}}, "vector space 'User.nope' is not declared"},
           Case{{{"space", "rp"}}, "params.space must be a vector space \"Type.name\""},
           Case{{{"space", "Tag.rp"}}, "no edge type in params.edge has an endpoint of type Tag"},
           Case{{{"dim", 8}}, "vector space 'User.rp' has dimension 16; params.dim is 8"},
           Case{{{"dim", 0}}, "params.dim must be an integer between 1 and 4096"},
           Case{{{"weights", json::array()}}, "params.weights must be an array of 1 to 20 numbers"},
           Case{{{"weights", {1, -1}}}, "params.weights must be an array"},
           Case{{{"weights", {0, 0}}}, "not all 0"},
           Case{{{"weights", "1,1"}}, "params.weights must be an array"},
           Case{{{"weights", std::vector<double>(21, 1.0)}}, "params.weights must be an array"},
           Case{{{"iterations", 0}}, "params.iterations must be an integer between 1 and 20"},
           Case{{{"iterations", 21}}, "params.iterations must be an integer between 1 and 20"},
           Case{{{"iterations", 2}, {"weights", {1, 1, 1}}},
                "params.iterations is 2 but params.weights has 3 entries"},
           Case{{{"normalization_strength", 2}},
                "params.normalization_strength must be a number between -1 and 1"},
           Case{{{"seed", -1}}, "params.seed must be an integer"},
           Case{{{"colour", "blue"}}, "unknown parameter 'colour'"},
       }) {
    json params = Params();
    params.update(c.change);
    CAPTURE(params.dump());
    Status validated = jobs::Validate(*db, "fastrp", params);
    auto run = jobs::Run(*db, "fastrp", params);
    REQUIRE_FALSE(run.ok());
    CHECK(run.status().code() == Status::Code::kInvalidArgument);
    CHECK_MESSAGE(run.status().message().find(c.message) != std::string::npos,
                  run.status().message());
    CHECK(validated.code() == Status::Code::kInvalidArgument);
  }
  // No RATED edges: the run fails after reading (Validate cannot know) and Movie.rp is kept.
  WriteSet movie;
  movie.ops.push_back(NodeWrite{NodeWrite::Op::kUpsert, "Movie", "m1", {}});
  movie.ops.push_back(VectorWrite{VectorWrite::Op::kPut, "Movie.rp", "m1",
                                  std::vector<float>(16, 0.25f)});
  REQUIRE(db->Apply(movie).ok());
  json empty = {{"edge", "RATED"}, {"space", "Movie.rp"}};
  CHECK(jobs::Validate(*db, "fastrp", empty).ok());
  auto nothing = jobs::Run(*db, "fastrp", empty);
  CHECK(nothing.status().code() == Status::Code::kInvalidArgument);
  CHECK_MESSAGE(nothing.status().message().find("no node of the type of vector space "
                                                "'Movie.rp' has a non-zero embedding") !=
                    std::string::npos,
                nothing.status().message());
  CHECK(VectorOf(*db, "Movie.rp", "m1") == Eigen::VectorXd::Constant(16, 0.25));
  auto missing = jobs::Run(*db, "fastrp", json{{"edge", "FRIEND"}});
  CHECK(missing.status().message().find("params.space is required") != std::string::npos);
  CHECK(VectorOf(*db, "User.rp", "b5") == before);
}

TEST_CASE("fastrp job: a run reports reading, computing per iteration and writing, and stores its record") {
  TempDir dir;
  auto db = Open(dir.path);
  DeclareSchema(*db);
  WriteTwoCliques(*db);
  std::vector<jobs::Progress> seen;
  jobs::JobRunner runner(db.get());
  json params = Params();
  params["iterations"] = 5;
  auto record = runner.RunNow("fastrp", params, [&](const jobs::Progress& p) { seen.push_back(p); });
  REQUIRE_MESSAGE(record.ok(), record.status().ToString());
  CHECK((*record)["state"] == "done");
  CHECK((*record)["result"]["weights"] == json::array({0, 1, 1, 1, 1}));
  REQUIRE(seen.size() == 1 + 5 + 1);
  CHECK(seen.front().phase == "reading");
  for (size_t i = 1; i <= 5; ++i) {
    CHECK(seen[i].phase == "computing");
    CHECK(seen[i].done == i);
    CHECK(seen[i].total == 5u);
  }
  CHECK(seen.back().phase == "writing");
  auto stored = runner.Get((*record)["id"].get<std::string>());
  REQUIRE(stored.ok());
  CHECK((*stored)["job"] == "fastrp");
}
