// Random walks with restart, personalized PageRank by push and RP3beta (graph/walks.h), checked
// against exact values computed here on small graphs.
#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "graph/walks.h"

using namespace pathwise;
using graph::Direction;
using graph::Graph;
using graph::Hop;
using graph::Seed;

namespace {

constexpr TypeId kUser = 0;
constexpr TypeId kItem = 1;
constexpr TypeId kRated = 0;
constexpr TypeId kLink = 1;

struct Fixture {
  std::unique_ptr<Graph> g = Graph::CreateEmpty();
  NodeId N(TypeId type, const std::string& key) {
    NodeId id = g->Lookup(type, key);
    return id == kInvalidNode ? g->AddNode(type, key, {}) : id;
  }
  NodeId U(const std::string& k) { return N(kUser, k); }
  NodeId I(const std::string& k) { return N(kItem, k); }
  void Rate(const std::string& u, const std::string& i, float w, int64_t ts = 1000) {
    g->PutEdge(U(u), kRated, I(i), w, 1, ts);
  }
};

// Three users and four items, every node with at least one rating, weights 1..5.
void BuildRatings(Fixture& f) {
  f.Rate("u1", "a", 5);
  f.Rate("u1", "b", 3);
  f.Rate("u2", "a", 4);
  f.Rate("u2", "c", 2);
  f.Rate("u2", "d", 1);
  f.Rate("u3", "b", 5);
  f.Rate("u3", "d", 4);
}

using Matrix = std::map<NodeId, std::map<NodeId, double>>;

// Row-normalised transition probabilities of the (type, dir) lists of the given nodes.
Matrix Transitions(const Graph& g, const std::vector<NodeId>& from, TypeId type, Direction dir,
                   bool weighted = true, double power = 1.0) {
  Matrix m;
  for (NodeId u : from) {
    double total = 0;
    g.ForEachNeighbor(u, type, dir, [&](const graph::Neighbor& n) {
      total += weighted ? n.weight : 1.0;
      return true;
    });
    g.ForEachNeighbor(u, type, dir, [&](const graph::Neighbor& n) {
      m[u][n.node] = std::pow((weighted ? n.weight : 1.0) / total, power);
      return true;
    });
  }
  return m;
}

std::map<NodeId, double> Times(const std::map<NodeId, double>& x, const Matrix& m) {
  std::map<NodeId, double> out;
  for (const auto& [u, xu] : x) {
    auto row = m.find(u);
    if (row == m.end()) continue;
    for (const auto& [v, p] : row->second) out[v] += xu * p;
  }
  return out;
}

graph::RandomWalkOptions RatingWalk() {
  graph::RandomWalkOptions o;
  o.hops = {{kRated, Direction::kOut}, {kRated, Direction::kIn}};
  o.target_type = kItem;
  o.restart = 0.3;
  return o;
}

// A ShardRunner that runs every part on a thread of its own.
void OnThreads(size_t n, const std::function<void(size_t)>& part) {
  std::vector<std::thread> threads;
  for (size_t i = 0; i < n; ++i) threads.emplace_back([&part, i] { part(i); });
  for (std::thread& t : threads) t.join();
}

}  // namespace

TEST_CASE("random walk visit shares converge to the exact expected visits") {
  Fixture f;
  BuildRatings(f);
  std::vector<NodeId> users = {f.U("u1"), f.U("u2"), f.U("u3")};
  std::vector<NodeId> items = {f.I("a"), f.I("b"), f.I("c"), f.I("d")};
  // Exact: the first visit is one hop from the seed; each further visit (reached when the walk
  // did not restart, probability 0.7) is two hops item -> user -> item. Expected visits per
  // segment: x0 * sum_t (0.7 M)^t.
  Matrix out = Transitions(*f.g, users, kRated, Direction::kOut);
  Matrix in = Transitions(*f.g, items, kRated, Direction::kIn);
  std::map<NodeId, double> x = Times({{f.U("u1"), 1.0}}, out);
  std::map<NodeId, double> expected;
  for (int t = 0; t < 200; ++t) {
    for (const auto& [i, v] : x) expected[i] += v;
    x = Times(Times(x, in), out);
    for (auto& [i, v] : x) v *= 0.7;
  }
  double total = 0;
  for (const auto& [i, v] : expected) total += v;

  for (size_t shards : {size_t{1}, size_t{4}}) {  // a sharded walk's parts on threads: the same distribution
    INFO("shards " << shards);
    graph::RandomWalkOptions o = RatingWalk();
    o.total_steps = 1000000;
    o.random_seed = 7;
    o.shards = shards;
    auto walk = graph::RandomWalk(*f.g, {{f.U("u1"), 1.0}}, o, OnThreads);
    REQUIRE(walk.ok());
    uint64_t visits = 0;
    for (const auto& c : walk->candidates) visits += c.visits;
    REQUIRE(visits > 100000);
    for (const auto& c : walk->candidates) {
      INFO("item " << f.g->KeyOf(c.node));
      CHECK(static_cast<double>(c.visits) / static_cast<double>(visits) ==
            doctest::Approx(expected[c.node] / total).epsilon(0.01));
    }
    CHECK(walk->candidates.size() == 4);
    CHECK(walk->steps == 1000000);
  }
}

TEST_CASE("a sharded walk gives the same result whether its parts run on threads or one after another") {
  Fixture f;
  BuildRatings(f);
  f.Rate("u4", "c", 3);
  f.Rate("u4", "e", 2);
  f.Rate("u3", "e", 1);
  graph::RandomWalkOptions o = RatingWalk();
  o.total_steps = 20001;  // not a multiple of the shards: the first parts take one more
  o.random_seed = 5;
  o.paths_per_candidate = 3;
  std::vector<graph::Seed> seeds = {{f.U("u1"), 1.0}, {f.U("u4"), 2.0}};
  for (size_t shards : {size_t{2}, size_t{3}, size_t{16}}) {
    INFO("shards " << shards);
    o.shards = shards;
    for (size_t stop : {size_t{0}, size_t{2}}) {
      o.early_stop_candidates = stop;
      auto one_by_one = graph::RandomWalk(*f.g, seeds, o);
      auto threads = graph::RandomWalk(*f.g, seeds, o, OnThreads);
      REQUIRE(one_by_one.ok());
      REQUIRE(threads.ok());
      CHECK(threads->steps == one_by_one->steps);
      CHECK(threads->restarts == one_by_one->restarts);
      CHECK(threads->early_stopped == one_by_one->early_stopped);
      REQUIRE(threads->candidates.size() == one_by_one->candidates.size());
      for (size_t k = 0; k < threads->candidates.size(); ++k) {
        const graph::WalkCandidate& a = threads->candidates[k];
        const graph::WalkCandidate& b = one_by_one->candidates[k];
        CHECK(a.node == b.node);
        CHECK(a.visits == b.visits);
        CHECK(a.score == b.score);
        REQUIRE(a.paths.size() == b.paths.size());
        for (size_t p = 0; p < a.paths.size(); ++p) CHECK(a.paths[p].visits == b.paths[p].visits);
      }
      if (stop == 0) CHECK(one_by_one->steps == 20001);
    }
  }
  o.shards = 17;
  CHECK(graph::RandomWalk(*f.g, seeds, o).status().code() == Status::Code::kInvalidArgument);
}

TEST_CASE("a random walk with the same seed gives the same result and another seed differs") {
  Fixture f;
  BuildRatings(f);
  graph::RandomWalkOptions o = RatingWalk();
  o.total_steps = 2000;
  auto visits = [&](uint64_t seed) {
    o.random_seed = seed;
    auto walk = graph::RandomWalk(*f.g, {{f.U("u1"), 1.0}, {f.U("u2"), 2.0}}, o);
    REQUIRE(walk.ok());
    std::vector<std::pair<NodeId, uint32_t>> out;
    for (const auto& c : walk->candidates) out.push_back({c.node, c.visits});
    return out;
  };
  CHECK(visits(11) == visits(11));
  CHECK(visits(11) != visits(12));
}

TEST_CASE("a node reached from several seeds is boosted over one reached as often from one") {
  Fixture f;
  // a and b both lead only to x; c leads only to y. Restart after every visit.
  for (const char* s : {"a", "b", "c"}) f.I(s);
  f.g->PutEdge(f.I("a"), kLink, f.I("x"), 1, 1, 0);
  f.g->PutEdge(f.I("b"), kLink, f.I("x"), 1, 1, 0);
  f.g->PutEdge(f.I("c"), kLink, f.I("y"), 1, 1, 0);
  graph::RandomWalkOptions o;
  o.hops = {{kLink, Direction::kOut}};
  o.restart = 1.0;
  o.total_steps = 300;
  auto walk = graph::RandomWalk(*f.g, {{f.I("a"), 1}, {f.I("b"), 1}, {f.I("c"), 2}}, o);
  REQUIRE(walk.ok());
  REQUIRE(walk->candidates.size() == 2);
  // x: 75 visits from a and 75 from b -> (sqrt 75 + sqrt 75)^2 = 300; y: 150 from c -> 150.
  CHECK(walk->candidates[0].node == f.I("x"));
  CHECK(walk->candidates[0].visits == 150);
  CHECK(walk->candidates[0].score == doctest::Approx(300));
  CHECK(walk->candidates[1].node == f.I("y"));
  CHECK(walk->candidates[1].visits == 150);
  CHECK(walk->candidates[1].score == doctest::Approx(150));
}

TEST_CASE("a walk stops early once enough candidates have enough visits") {
  Fixture f;
  f.g->PutEdge(f.I("a"), kLink, f.I("x"), 1, 1, 0);
  graph::RandomWalkOptions o;
  o.hops = {{kLink, Direction::kOut}};
  o.restart = 1.0;
  o.total_steps = 1000;
  o.early_stop_candidates = 1;
  o.early_stop_visits = 4;
  o.lanes = 1;
  auto walk = graph::RandomWalk(*f.g, {{f.I("a"), 1}}, o);
  REQUIRE(walk.ok());
  CHECK(walk->early_stopped);
  CHECK(walk->steps == 4);
  CHECK(walk->candidates.at(0).visits == 4);
  // Interleaved walkers stop at the same condition; the others' hops in flight finish first.
  o.lanes = 8;
  auto lanes = graph::RandomWalk(*f.g, {{f.I("a"), 1}}, o);
  REQUIRE(lanes.ok());
  CHECK(lanes->early_stopped);
  CHECK(lanes->steps <= 4 + 8);
  CHECK(lanes->candidates.at(0).visits == 4);
}

TEST_CASE("walk paths are real edges from a seed to the candidate, most visited first") {
  Fixture f;
  BuildRatings(f);
  graph::RandomWalkOptions o = RatingWalk();
  o.total_steps = 20000;
  o.paths_per_candidate = 3;
  o.max_path_hops = 3;
  auto walk = graph::RandomWalk(*f.g, {{f.U("u1"), 1.0}}, o);
  REQUIRE(walk.ok());
  size_t with_paths = 0;
  for (const auto& c : walk->candidates) {
    CHECK(c.paths.size() <= 3);
    with_paths += c.paths.empty() ? 0 : 1;
    uint32_t previous = UINT32_MAX;
    for (const auto& p : c.paths) {
      CHECK(p.visits <= previous);
      previous = p.visits;
      REQUIRE(!p.steps.empty());
      CHECK(p.steps.size() <= 3);
      CHECK(p.steps.front().from == f.U("u1"));
      CHECK(p.steps.back().to == c.node);
      for (size_t i = 0; i < p.steps.size(); ++i) {
        const auto& s = p.steps[i];
        NodeId src = s.dir == Direction::kOut ? s.from : s.to;
        NodeId dst = s.dir == Direction::kOut ? s.to : s.from;
        CHECK(f.g->FindEdge(src, s.edge_type, dst, nullptr));
        if (i > 0) CHECK(p.steps[i - 1].to == s.from);
      }
    }
  }
  CHECK(with_paths == 4);  // d is three hops from u1 (u1 -> b <- u3 -> d)
}

TEST_CASE("degree-aware sampling follows only a hub's strongest edges") {
  Fixture f;
  const char* targets[] = {"t1", "t2", "t3", "t4", "t5"};
  for (int k = 0; k < 5; ++k) f.g->PutEdge(f.I("hub"), kLink, f.I(targets[k]), 5.0f - k, 1, 0);
  graph::RandomWalkOptions o;
  o.hops = {{kLink, Direction::kOut}};
  o.restart = 1.0;
  o.total_steps = 2000;
  o.sampling.weighted = false;
  o.sampling.max_neighbors = 2;
  auto walk = graph::RandomWalk(*f.g, {{f.I("hub"), 1}}, o);
  REQUIRE(walk.ok());
  REQUIRE(walk->candidates.size() == 2);
  CHECK(walk->candidates[0].node + walk->candidates[1].node == f.I("t1") + f.I("t2"));
  CHECK(walk->candidates[0].visits == doctest::Approx(1000).epsilon(0.1));  // uniform over 2
}

TEST_CASE("recency bias makes a walk prefer recent edges") {
  Fixture f;
  const int64_t day = 86400000;
  f.g->PutEdge(f.I("a"), kLink, f.I("old"), 1, 1, 0);
  f.g->PutEdge(f.I("a"), kLink, f.I("new"), 1, 1, 10 * day);
  graph::RandomWalkOptions o;
  o.hops = {{kLink, Direction::kOut}};
  o.restart = 1.0;
  o.total_steps = 4000;
  o.sampling.half_life_ms = day;
  o.sampling.now_ms = 10 * day;
  auto walk = graph::RandomWalk(*f.g, {{f.I("a"), 1}}, o);
  REQUIRE(walk.ok());
  REQUIRE(walk->candidates.size() >= 1);
  CHECK(walk->candidates[0].node == f.I("new"));
  // The old edge's chance is 2^-10 of the new one's.
  CHECK(walk->candidates[0].visits > 3950);
}

TEST_CASE("a walk past its deadline returns what it has, flagged, and bad options are errors") {
  Fixture f;
  BuildRatings(f);
  graph::RandomWalkOptions o = RatingWalk();
  o.deadline = Deadline::AfterMillis(-1);
  auto late = graph::RandomWalk(*f.g, {{f.U("u1"), 1.0}}, o);
  REQUIRE(late.ok());
  CHECK(late->deadline_hit);
  CHECK(late->steps == 0);

  graph::RandomWalkOptions bad = RatingWalk();
  bad.restart = 0;
  CHECK(graph::RandomWalk(*f.g, {{f.U("u1"), 1.0}}, bad).status().code() ==
        Status::Code::kInvalidArgument);
  bad = RatingWalk();
  bad.hops.clear();
  CHECK_FALSE(graph::RandomWalk(*f.g, {{f.U("u1"), 1.0}}, bad).ok());
  // Unknown seeds and non-positive weights are skipped: an empty result, not an error.
  auto none = graph::RandomWalk(*f.g, {{kInvalidNode, 1.0}, {f.U("u1"), 0.0}}, RatingWalk());
  REQUIRE(none.ok());
  CHECK(none->candidates.empty());
}

TEST_CASE("push PageRank matches power iteration within its residual") {
  Fixture f;
  BuildRatings(f);
  f.g->PutEdge(f.I("c"), kLink, f.I("sink"), 1, 1, 0);  // sink has no edge out: a dead end
  std::vector<Hop> hops = {{kRated, Direction::kOut}, {kRated, Direction::kIn},
                           {kLink, Direction::kOut}};
  std::vector<NodeId> nodes = {f.U("u1"), f.U("u2"), f.U("u3"), f.I("a"),
                               f.I("b"),  f.I("c"),  f.I("d"),  f.I("sink")};
  // Power iteration: x = alpha s + (1 - alpha)(x P + (mass at dead ends) s), s = 0.75 u1 + 0.25 u3.
  const double alpha = 0.15;
  std::map<NodeId, double> s = {{f.U("u1"), 0.75}, {f.U("u3"), 0.25}};
  Matrix p;
  for (NodeId u : nodes) {
    double total = 0;
    for (const Hop& h : hops) {
      f.g->ForEachNeighbor(u, h.edge_type, h.dir, [&](const graph::Neighbor& n) {
        total += n.weight;
        return true;
      });
    }
    for (const Hop& h : hops) {
      f.g->ForEachNeighbor(u, h.edge_type, h.dir, [&](const graph::Neighbor& n) {
        p[u][n.node] += n.weight / total;
        return true;
      });
    }
  }
  std::map<NodeId, double> x = s;
  for (int it = 0; it < 2000; ++it) {
    std::map<NodeId, double> next = Times(x, p);
    double dead = 0;
    for (NodeId u : nodes) {
      if (p.count(u) == 0) dead += x[u];
    }
    for (auto& [u, v] : next) v *= 1 - alpha;
    for (const auto& [u, w] : s) next[u] += alpha * w + (1 - alpha) * dead * w;
    x = next;
  }
  for (double epsilon : {1e-3, 1e-6}) {
    graph::PushOptions o;
    o.hops = hops;
    o.alpha = alpha;
    o.epsilon = epsilon;
    auto push = graph::PersonalizedPageRank(*f.g, {{f.U("u1"), 3}, {f.U("u3"), 1}}, o);
    REQUIRE(push.ok());
    CHECK(push->converged);
    std::map<NodeId, double> estimate(push->scores.begin(), push->scores.end());
    double missing = 0;
    for (NodeId u : nodes) {
      INFO("node " << f.g->KeyOf(u) << " epsilon " << epsilon);
      CHECK(estimate[u] <= x[u] + 1e-12);
      missing += x[u] - estimate[u];
    }
    CHECK(missing == doctest::Approx(push->residual_sum).epsilon(1e-6));
    CHECK(push->residual_sum <= epsilon * 2 * 9);  // every residual < epsilon * degree
  }
}

TEST_CASE("push PageRank refuses an alpha outside (0, 1) and a non-positive epsilon") {
  Fixture f;
  BuildRatings(f);
  graph::PushOptions o;
  o.hops = {{kRated, Direction::kOut}};
  o.alpha = 1.0;
  CHECK_FALSE(graph::PersonalizedPageRank(*f.g, {{f.U("u1"), 1}}, o).ok());
  o.alpha = 0.15;
  o.epsilon = 0;
  CHECK_FALSE(graph::PersonalizedPageRank(*f.g, {{f.U("u1"), 1}}, o).ok());
}

TEST_CASE("RP3beta scores equal a brute-force computation on a small bipartite graph") {
  Fixture f;
  BuildRatings(f);
  std::vector<NodeId> users = {f.U("u1"), f.U("u2"), f.U("u3")};
  std::vector<NodeId> items = {f.I("a"), f.I("b"), f.I("c"), f.I("d")};
  const double alpha = 0.8;
  const double beta = 0.4;
  Matrix out = Transitions(*f.g, users, kRated, Direction::kOut, true, alpha);
  Matrix in = Transitions(*f.g, items, kRated, Direction::kIn, true, alpha);
  std::map<NodeId, double> expected = Times(Times(Times({{f.U("u2"), 1.0}}, out), in), out);
  for (auto& [i, v] : expected) {
    v /= std::pow(static_cast<double>(f.g->Degree(i, kRated, Direction::kIn)), beta);
  }
  graph::Rp3Options o;
  o.relation = {kRated, Direction::kOut};
  o.alpha = alpha;
  o.beta = beta;
  auto rp3 = graph::Rp3Beta(*f.g, f.U("u2"), o);
  REQUIRE(rp3.ok());
  REQUIRE(rp3->scores.size() == expected.size());
  for (size_t k = 0; k < rp3->scores.size(); ++k) {
    INFO("item " << f.g->KeyOf(rp3->scores[k].first));
    CHECK(rp3->scores[k].second == doctest::Approx(expected[rp3->scores[k].first]));
    if (k > 0) CHECK(rp3->scores[k - 1].second >= rp3->scores[k].second);
  }
  o.beta = -1;
  CHECK_FALSE(graph::Rp3Beta(*f.g, f.U("u2"), o).ok());
}

TEST_CASE("walks and PageRank run concurrently with edge writes and see only real edges") {
  Fixture f;
  BuildRatings(f);
  std::vector<NodeId> users, items;
  for (int k = 0; k < 50; ++k) users.push_back(f.U("w" + std::to_string(k)));
  for (int k = 0; k < 50; ++k) items.push_back(f.I("x" + std::to_string(k)));
  std::atomic<bool> done{false};
  // The single writer: adds, reweights and removes ratings while the readers walk.
  std::thread writer([&] {
    for (int round = 0; round < 2000; ++round) {
      NodeId u = users[round % users.size()];
      NodeId i = items[(round * 7) % items.size()];
      f.g->PutEdge(u, kRated, i, static_cast<float>(1 + round % 5), 1, round);
      if (round % 3 == 0) f.g->RemoveEdge(users[(round / 3) % users.size()], kRated, i);
      f.g->PutEdge(f.U("u1"), kRated, i, 2.0f, 1, round);
    }
    done = true;
  });
  graph::RandomWalkOptions o = RatingWalk();
  o.total_steps = 2000;
  o.paths_per_candidate = 2;
  graph::PushOptions push;
  push.hops = o.hops;
  size_t runs = 0;
  while (!done || runs < 5) {
    auto walk = graph::RandomWalk(*f.g, {{f.U("u1"), 1.0}}, o);
    REQUIRE(walk.ok());
    for (const auto& c : walk->candidates) CHECK(f.g->TypeOf(c.node) == kItem);
    auto ppr = graph::PersonalizedPageRank(*f.g, {{f.U("u1"), 1.0}}, push);
    REQUIRE(ppr.ok());
    CHECK(ppr->converged);
    ++runs;
  }
  writer.join();
}
