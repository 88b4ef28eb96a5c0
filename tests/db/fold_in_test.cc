// db/: incremental online fold-in (db/fold_in.h, docs/jobs.md "Incremental fold-in"): the
// vectors after adds, weight changes and removals against a full recomputation, users created
// by events and users whose sum goes to zero, when the stager recomputes in full instead, and
// recovery after a reopen; in flat and HNSW user spaces.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "db/database.h"
#include "db/fold_in.h"

namespace pathwise {
namespace {

namespace fs = std::filesystem;

constexpr size_t kDim = 4;
constexpr int kMovies = 12;
// Incremental vectors stay within this of a full recomputation, relative to its largest
// component: each increment rounds once to float (2^-24 relative), at most
// kFoldInFullEvery - 1 times in a row, so 256 x 6e-8 ~ 1.5e-5 at worst.
constexpr double kTolerance = 1e-4;
const std::vector<float> kRatedScale = {0.5f, 1.0f, 2.0f, 0.25f};
const std::vector<float> kViewedScale = {1.5f, 0.75f, 1.0f, 3.0f};

struct TempDir {
  std::string path;
  TempDir() {
    path = (fs::temp_directory_path() / ("pathwise_foldin_" + std::to_string(::getpid()) + "_" +
                                         std::to_string(counter++)))
               .string();
    fs::remove_all(path);
  }
  ~TempDir() { fs::remove_all(path); }
  static inline int counter = 0;
};

std::unique_ptr<Database> OpenDb(const std::string& dir) {
  DatabaseOptions options;
  options.checkpoint_interval_seconds = 0;
  auto db = Database::Open(options, dir);
  REQUIRE_MESSAGE(db.ok(), db.status().ToString());
  return std::move(db).value();
}

std::string MovieId(int m) { return "m" + std::to_string(m); }

std::vector<float> Factor(int m) {
  std::vector<float> out(kDim);
  for (size_t k = 0; k < kDim; ++k) out[k] = static_cast<float>(std::sin(1.3 * m + 0.7 * k + 0.1));
  return out;
}

NodeId NodeOf(Database& db, const std::string& type, const std::string& key) {
  NodeId id = kInvalidNode;
  REQUIRE(db.ReadGraph([&](const graph::Graph& g, const Schema& schema) {
              id = g.Lookup(schema.FindNodeType(type)->id, key);
              return Status::OK();
            }).ok());
  REQUIRE(id != kInvalidNode);
  return id;
}

// A space's current vectors (every node of type with one), as ReplaceVectors takes them.
SpaceVectors Current(Database& db, const std::string& space, const std::string& type) {
  std::vector<std::string> keys;
  REQUIRE(db.ReadGraph([&](const graph::Graph& g, const Schema& schema) {
              for (NodeId n : g.NodesOfType(schema.FindNodeType(type)->id)) keys.push_back(g.KeyOf(n));
              return Status::OK();
            }).ok());
  SpaceVectors out{space, {}, {}};
  for (const std::string& key : keys) {
    auto v = db.GetVector(space, key);
    if (!v.ok()) continue;
    out.nodes.push_back(NodeOf(db, type, key));
    out.values.insert(out.values.end(), v->begin(), v->end());
  }
  return out;
}

SpaceVectors Factors(Database& db) {
  SpaceVectors items{"Movie.factors", {}, {}};
  for (int m = 0; m < kMovies; ++m) {
    items.nodes.push_back(NodeOf(db, "Movie", MovieId(m)));
    std::vector<float> f = Factor(m);
    items.values.insert(items.values.end(), f.begin(), f.end());
  }
  return items;
}

// Users and movies; RATED (replace mode) and VIEWED (accumulate) fold into their own user
// spaces of the index kind `user_index`, over the same item factors.
void Setup(Database& db, const std::string& user_index) {
  const std::string space = R"(, "dim": 4, "metric": "ip", "index": ")" + user_index + R"("})";
  REQUIRE(db.MergeSchema(R"({"node_types": [{"name": "User"}, {"name": "Movie"}],
      "edge_types": [{"name": "RATED", "from": "User", "to": "Movie"},
                     {"name": "VIEWED", "mode": "accumulate", "from": "User", "to": "Movie"}],
      "vector_spaces": [{"node_type": "Movie", "name": "factors", "dim": 4, "metric": "ip"},
                        {"node_type": "User", "name": "rated")" + space + R"(,
                        {"node_type": "User", "name": "viewed")" + space + "]}")
              .ok());
  WriteSet movies;
  for (int m = 0; m < kMovies; ++m) movies.ops.push_back(NodeWrite{NodeWrite::Op::kUpsert, "Movie", MovieId(m), {}});
  REQUIRE(db.Apply(movies).ok());
  REQUIRE(db.ReplaceVectors({Factors(db)}, FoldInModel{"RATED", "Movie.factors", "User.rated", kRatedScale, {}}).ok());
  REQUIRE(db.ReplaceVectors({Factors(db)}, FoldInModel{"VIEWED", "Movie.factors", "User.viewed", kViewedScale, {}}).ok());
}

EdgeWrite Edge(const std::string& type, const std::string& user, int movie,
               std::optional<double> weight, EdgeWrite::Op op = EdgeWrite::Op::kPut) {
  EdgeWrite e;
  e.op = op;
  e.type = type;
  e.from = NodeRef{"User", user, true};
  e.to = NodeRef{"Movie", MovieId(movie), false};
  e.weight = weight;
  return e;
}

void Put(Database& db, const std::string& type, const std::string& user, int movie, double w) {
  WriteSet set;
  set.ops.push_back(Edge(type, user, movie, w));
  REQUIRE(db.Apply(set).ok());
}

// The full fold-in of user's current edges of type: scale * sum of weight x item factor, with
// the factors as the database holds them now.
std::vector<double> FullFoldIn(Database& db, const std::string& type, const std::string& user,
                               const std::vector<float>& scale) {
  std::vector<std::pair<std::string, float>> edges;
  REQUIRE(db.ReadGraph([&](const graph::Graph& g, const Schema& schema) {
              NodeId id = g.Lookup(schema.FindNodeType("User")->id, user);
              if (id == kInvalidNode) return Status::OK();
              std::vector<graph::Neighbor> list;
              g.TopNeighbors(id, schema.FindEdgeType(type)->id, graph::Direction::kOut, SIZE_MAX,
                             &list);
              for (const auto& nb : list) edges.emplace_back(g.KeyOf(nb.node), nb.weight);
              return Status::OK();
            }).ok());
  std::vector<double> sum(kDim, 0.0);
  for (const auto& [movie, weight] : edges) {
    auto factor = db.GetVector("Movie.factors", movie);
    if (!factor.ok()) continue;
    for (size_t k = 0; k < kDim; ++k) sum[k] += weight * (*factor)[k];
  }
  for (size_t k = 0; k < kDim; ++k) sum[k] *= scale[k];
  return sum;
}

double LargestAbs(const std::vector<double>& v) {
  double out = 0;
  for (double x : v) out = std::max(out, std::fabs(x));
  return out;
}

// The largest difference between user's vector in space and want, relative to want's largest
// component; infinity when the user has no vector.
double Off(Database& db, const std::string& space, const std::string& user,
           const std::vector<double>& want) {
  auto got = db.GetVector(space, user);
  if (!got.ok()) return INFINITY;
  double worst = 0;
  for (size_t k = 0; k < kDim; ++k) worst = std::max(worst, std::fabs((*got)[k] - want[k]));
  return worst / LargestAbs(want);
}

// CHECKs that user's vector in space (of type's model) is its full fold-in, or absent when
// that is zero.
void CheckFoldIn(Database& db, const std::string& type, const std::string& user) {
  const bool rated = type == "RATED";
  const std::string space = rated ? "User.rated" : "User.viewed";
  std::vector<double> full = FullFoldIn(db, type, user, rated ? kRatedScale : kViewedScale);
  CAPTURE(type);
  CAPTURE(user);
  if (LargestAbs(full) < 1e-6) {
    CHECK(db.GetVector(space, user).status().code() == Status::Code::kNotFound);
  } else {
    CHECK(Off(db, space, user, full) <= kTolerance);
  }
}

// Writes users' vectors in User.rated as if the svd job had (with the RATED model), having
// read the edges at point (ReadGraph's fold-in read point). Without a point the ledger is
// cleared, so each user's next change recomputes in full and replaces the vector.
void JobWrites(Database& db, const std::vector<std::pair<std::string, std::vector<double>>>& rows,
               std::optional<uint64_t> point = std::nullopt) {
  SpaceVectors users = Current(db, "User.rated", "User");  // the others' stay as they are
  for (const auto& [user, values] : rows) {
    const NodeId id = NodeOf(db, "User", user);
    auto row = std::find(users.nodes.begin(), users.nodes.end(), id);
    if (row == users.nodes.end()) {
      users.nodes.push_back(id);
      users.values.resize(users.values.size() + kDim);
      row = users.nodes.end() - 1;
    }
    for (size_t k = 0; k < kDim; ++k) {
      users.values[(row - users.nodes.begin()) * kDim + k] = static_cast<float>(values[k]);
    }
  }
  REQUIRE(db.ReplaceVectors({Current(db, "Movie.factors", "Movie"), users},
                            FoldInModel{"RATED", "Movie.factors", "User.rated", kRatedScale, {}},
                            point)
              .ok());
}

std::vector<double> Plus(std::vector<double> v, double d) {
  for (double& x : v) x += d;
  return v;
}

// A user's vector offset by 10 in every dimension from the full fold-in, written as the job's.
std::vector<double> OffsetByJob(Database& db, const std::string& user) {
  std::vector<double> offset = Plus(FullFoldIn(db, "RATED", user, kRatedScale), 10);
  JobWrites(db, {{user, offset}});
  return offset;
}

// The fold-in read point a job reading the graph now would get.
uint64_t ReadPoint(Database& db) {
  uint64_t point = 0;
  REQUIRE(db.ReadGraph([](const graph::Graph&, const Schema&) { return Status::OK(); }, &point)
              .ok());
  return point;
}

// The events' fold-ins since open, {full, incremental} (Stats()).
std::pair<uint64_t, uint64_t> FoldIns(Database& db) {
  const nlohmann::json stats = db.Stats()["fold_ins"];
  return {stats["full"].get<uint64_t>(), stats["incremental"].get<uint64_t>()};
}

// The fold-ins fn's writes ran, {full, incremental}.
template <typename Fn>
std::pair<uint64_t, uint64_t> FoldInsOf(Database& db, Fn&& fn) {
  auto [full, incremental] = FoldIns(db);
  fn();
  auto [full_after, incremental_after] = FoldIns(db);
  return {full_after - full, incremental_after - incremental};
}

// A database of flat user spaces in which "u" rated m0 (1) and m1 (2).
std::unique_ptr<Database> RatingUser(const std::string& dir) {
  auto db = OpenDb(dir);
  Setup(*db, "flat");
  Put(*db, "RATED", "u", 0, 1.0);
  Put(*db, "RATED", "u", 1, 2.0);
  return db;
}

// Users u0..u2's vectors in both user spaces; every one must exist.
std::vector<std::vector<float>> Tastes(Database& db) {
  std::vector<std::vector<float>> out;
  for (const char* space : {"User.rated", "User.viewed"}) {
    for (const char* user : {"u0", "u1", "u2"}) {
      auto v = db.GetVector(space, user);
      REQUIRE(v.ok());
      out.push_back(*v);
    }
  }
  return out;
}

}  // namespace

TEST_CASE("fold-in: incremental vectors after adds, weight changes and removals equal a full recomputation") {
  for (const char* user_index : {"flat", "hnsw"}) {
    CAPTURE(user_index);
    TempDir dir;
    auto db = OpenDb(dir.path);
    Setup(*db, user_index);
    std::mt19937_64 rng(11);
    std::uniform_real_distribution<double> weight(-0.5, 2.0);
    for (int step = 0; step < 600; ++step) {
      const std::string user = "u" + std::to_string(rng() % 4);
      const std::string type = rng() % 2 ? "RATED" : "VIEWED";
      std::vector<WriteSet> sets(1 + rng() % 3);  // several sets in one group: staged vectors
      for (WriteSet& set : sets) {
        for (size_t op = 0; op < 1 + rng() % 3; ++op) {
          const int movie = static_cast<int>(rng() % kMovies);
          const bool remove = rng() % 5 == 0;
          set.ops.push_back(Edge(type, user, movie, weight(rng),
                                 remove ? EdgeWrite::Op::kDelete : EdgeWrite::Op::kPut));
        }
      }
      for (const WriteOutcome& outcome : db->ApplyMany(sets)) REQUIRE(outcome.status.ok());
      CheckFoldIn(*db, type, user);
    }
  }
}

TEST_CASE("fold-in: a user created by events gets a vector, and one whose sum goes to zero loses it") {
  for (const char* user_index : {"flat", "hnsw"}) {
    CAPTURE(user_index);
    TempDir dir;
    auto db = OpenDb(dir.path);
    Setup(*db, user_index);
    Put(*db, "RATED", "new", 1, 2.0);
    CHECK(db->GetVector("User.rated", "new").ok());
    CheckFoldIn(*db, "RATED", "new");
    Put(*db, "RATED", "new", 2, 1.0);
    CheckFoldIn(*db, "RATED", "new");
    WriteSet unrate;
    unrate.ops.push_back(Edge("RATED", "new", 1, std::nullopt, EdgeWrite::Op::kDelete));
    REQUIRE(db->Apply(unrate).ok());
    CheckFoldIn(*db, "RATED", "new");
    unrate.ops = {Edge("RATED", "new", 2, std::nullopt, EdgeWrite::Op::kDelete)};
    REQUIRE(db->Apply(unrate).ok());
    CHECK(db->GetVector("User.rated", "new").status().code() == Status::Code::kNotFound);
    // Accumulated weights that cancel: the sum is zero though the edge stays.
    Put(*db, "VIEWED", "new", 3, 1.0);
    Put(*db, "VIEWED", "new", 4, 0.5);
    CHECK(db->GetVector("User.viewed", "new").ok());
    Put(*db, "VIEWED", "new", 3, -1.0);
    Put(*db, "VIEWED", "new", 4, -0.5);
    CHECK(db->GetVector("User.viewed", "new").status().code() == Status::Code::kNotFound);
    Put(*db, "VIEWED", "new", 4, 0.25);  // and comes back
    CheckFoldIn(*db, "VIEWED", "new");
  }
}

TEST_CASE("fold-in: a vector the svd job wrote is recomputed in full at the next change, then incrementally, every 256th change in full") {
  TempDir dir;
  auto db = RatingUser(dir.path);
  OffsetByJob(*db, "u");  // the job's vector misses what arrived while it computed
  auto first = FoldInsOf(*db, [&] { Put(*db, "RATED", "u", 2, 1.0); });
  CHECK(first == std::pair<uint64_t, uint64_t>{1, 0});
  CheckFoldIn(*db, "RATED", "u");  // the offset is gone
  // kFoldInFullEvery - 1 increments in a row; the next change recomputes in full.
  auto increments = FoldInsOf(*db, [&] {
    for (uint32_t change = 1; change < kFoldInFullEvery; ++change) {
      Put(*db, "RATED", "u", 2, change % 2 ? 1.0 : 2.0);
    }
  });
  CHECK(increments == std::pair<uint64_t, uint64_t>{0, kFoldInFullEvery - 1});
  CheckFoldIn(*db, "RATED", "u");
  auto next = FoldInsOf(*db, [&] { Put(*db, "RATED", "u", 3, 1.0); });
  CHECK(next == std::pair<uint64_t, uint64_t>{1, 0});
  CheckFoldIn(*db, "RATED", "u");
}

TEST_CASE("fold-in: a job's vector is added to at the next change unless the user's fold-in changed after the job read the edges") {
  TempDir dir;
  auto db = RatingUser(dir.path);
  Put(*db, "RATED", "v", 0, 1.0);
  const uint64_t point = ReadPoint(*db);
  Put(*db, "RATED", "v", 1, 2.0);  // after the job's read: the job's vector for v misses it
  // The job writes both, each offset by 10 from the full fold-in (so the two paths differ).
  std::vector<double> offset = Plus(FullFoldIn(*db, "RATED", "u", kRatedScale), 10);
  JobWrites(*db, {{"u", offset}, {"v", Plus(FullFoldIn(*db, "RATED", "v", kRatedScale), 10)}},
            point);
  // u: the job's vector is exact as far as the ledger knows, and the change adds to it.
  CHECK(FoldInsOf(*db, [&] { Put(*db, "RATED", "u", 2, 1.0); }) ==
        std::pair<uint64_t, uint64_t>{0, 1});
  std::vector<double> want = offset;
  for (size_t k = 0; k < kDim; ++k) want[k] += kRatedScale[k] * Factor(2)[k];
  CHECK(Off(*db, "User.rated", "u", want) <= kTolerance);
  // v: recomputed in full, with the event the job missed.
  CHECK(FoldInsOf(*db, [&] { Put(*db, "RATED", "v", 2, 1.0); }) ==
        std::pair<uint64_t, uint64_t>{1, 0});
  CheckFoldIn(*db, "RATED", "v");
}

TEST_CASE("fold-in: a vector written by hand, or an item's factors changed or deleted, recompute in full at the next change") {
  TempDir dir;
  auto db = RatingUser(dir.path);  // u's vector is fold-in's
  auto apply = [&](WriteSet set) { REQUIRE(db->Apply(set).ok()); };

  WriteSet by_hand;
  by_hand.ops.push_back(VectorWrite{VectorWrite::Op::kPut, "User.rated", "u", {1, 2, 3, 4}});
  CHECK(FoldInsOf(*db, [&] {
          apply(by_hand);
          Put(*db, "RATED", "u", 2, 1.0);
        }).first == 1);
  CheckFoldIn(*db, "RATED", "u");

  WriteSet refactor;  // m0, which u rated, gets other factors
  refactor.ops.push_back(VectorWrite{VectorWrite::Op::kPut, "Movie.factors", MovieId(0), {4, 3, 2, 1}});
  CHECK(FoldInsOf(*db, [&] {
          apply(refactor);
          Put(*db, "RATED", "u", 3, 1.0);
        }).first == 1);
  CheckFoldIn(*db, "RATED", "u");

  WriteSet delete_item;  // m1, which u rated, goes with its edges
  delete_item.ops.push_back(NodeWrite{NodeWrite::Op::kDelete, "Movie", MovieId(1), {}});
  CHECK(FoldInsOf(*db, [&] {
          apply(delete_item);
          Put(*db, "RATED", "u", 4, 1.0);
        }) == std::pair<uint64_t, uint64_t>{1, 0});
  CheckFoldIn(*db, "RATED", "u");

  // The control: without any of those, changes add to the vector.
  CHECK(FoldInsOf(*db, [&] {
          Put(*db, "RATED", "u", 5, 1.0);
          Put(*db, "RATED", "u", 6, 1.0);
        }) == std::pair<uint64_t, uint64_t>{0, 2});
  CheckFoldIn(*db, "RATED", "u");
}

TEST_CASE("fold-in: vectors are the same after a reopen, and the first change after it recomputes in full") {
  for (const char* user_index : {"flat", "hnsw"}) {
    CAPTURE(user_index);
    TempDir dir;
    std::vector<std::vector<float>> before;
    {
      auto db = OpenDb(dir.path);
      Setup(*db, user_index);
      std::mt19937_64 rng(5);
      for (int step = 0; step < 200; ++step) {
        Put(*db, rng() % 2 ? "RATED" : "VIEWED", "u" + std::to_string(rng() % 3),
            static_cast<int>(rng() % kMovies), 0.5 + (rng() % 4));
      }
      Put(*db, "RATED", "u0", 7, 1.0);
      before = Tastes(*db);
    }
    auto db = OpenDb(dir.path);
    CHECK(Tastes(*db) == before);
    // The ledger is empty after a reopen.
    CHECK(FoldInsOf(*db, [&] { Put(*db, "RATED", "u0", 8, 1.0); }) ==
          std::pair<uint64_t, uint64_t>{1, 0});
    CheckFoldIn(*db, "RATED", "u0");
    for (const char* user : {"u1", "u2"}) {
      Put(*db, "VIEWED", user, 9, 1.0);
      CheckFoldIn(*db, "VIEWED", user);
    }
  }
}

TEST_CASE("fold-in: an increment reading an item without a vector, or ending near zero, asks for a full recomputation") {
  VectorSpaceDef def;
  def.node_type = "Movie";
  def.name = "factors";
  def.dim = 2;
  def.metric = Metric::kInnerProduct;
  def.index = VectorIndexKind::kFlat;
  auto items = vector::VectorIndex::Create(def);
  REQUIRE(items.ok());
  REQUIRE((*items)->Upsert(1, std::vector<float>{1, 2}).ok());
  FoldIn model{0, 0, 1, {0.5f, 2.0f}};
  const std::pair<NodeId, double> add{1, 3.0};
  std::vector<float> vec = {1, 1};
  REQUIRE(FoldInIncrement(model, **items, {&add, 1}, &vec));
  CHECK(vec == std::vector<float>{2.5f, 13.0f});
  const std::pair<NodeId, double> missing{2, 1.0};
  CHECK_FALSE(FoldInIncrement(model, **items, {&missing, 1}, &vec));
  const std::pair<NodeId, double> same{2, 0.0};  // no term: the missing vector is not read
  vec = {1, 1};
  CHECK(FoldInIncrement(model, **items, {&same, 1}, &vec));
  const std::pair<NodeId, double> remove{1, -3.0};
  vec = {1.5f, 12.0f};  // exactly 3 x item 1's term: nothing would be left
  CHECK_FALSE(FoldInIncrement(model, **items, {&remove, 1}, &vec));
}

}  // namespace pathwise
