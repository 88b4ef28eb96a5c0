// Random walks with restart, personalized PageRank by push and RP3beta (graph/walks.h).
#include "graph/walks.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <new>
#include <shared_mutex>
#include <string>
#include <unordered_set>

#include "graph/graph_impl.h"
#include "graph/node_map.h"
#include "graph/relation_snapshot.h"

namespace pathwise::graph {
namespace {

using Impl = GraphAccess::Impl;

constexpr size_t kDeadlineEvery = 256;   // steps (or pushes, or edges) between clock reads
constexpr size_t kMaxHops = 16;
constexpr size_t kMaxWalkSteps = 100000000;
constexpr size_t kMaxPathsTracked = 32;  // distinct paths counted per candidate
constexpr size_t kMaxShards = 16;

// splitmix64: small, fast, and good enough for sampling; seeded per call, so walks replay.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }  // [0, 1)
  size_t Below(size_t n) { return static_cast<size_t>(Next() % n); }

 private:
  uint64_t state_;
};

// An edge weight as a transition weight: <= 0 and NaN count as 0.
double UsableWeight(float w) { return w > 0 ? static_cast<double>(w) : 0.0; }

double RecencyFactor(const SamplingOptions& s, int64_t ts) {
  if (s.half_life_ms <= 0) return 1.0;
  double age = static_cast<double>(std::max<int64_t>(0, s.now_ms - ts));
  return std::exp2(-age / static_cast<double>(s.half_life_ms));
}

// How many of the list's entries a hop may choose from (its strongest when capped).
size_t Choices(const ListView& list, const SamplingOptions& s) {
  return s.max_neighbors == 0 ? list.size : std::min(s.max_neighbors, list.size);
}

// The SamplingWeight sum of the list's first n entries in rank order: read from a snapshot,
// summed on a live list (in the same order and precision, so both give the same value).
// REQUIRES: 0 < n <= list.size; list readable (its stripe held or its snapshot alive).
double ChoiceWeight(const ListView& list, size_t n) {
  if (list.cum != nullptr) return n == list.size ? list.total : list.cum[n - 1];
  float sum = 0;
  for (size_t r = 0; r < n; ++r) sum += SamplingWeight(list.items[list.RankedAt(r)].weight);
  return sum;
}

// The first rank among the first n whose weight sum passes x (0 <= x < ChoiceWeight(list, n)):
// rank r with probability weight(r) / ChoiceWeight. A binary search in a snapshot, a scan of a
// live list; both find the same rank. REQUIRES: as ChoiceWeight.
size_t RankAtWeight(const ListView& list, size_t n, double x) {
  if (list.cum != nullptr) {
    // Branch-free upper bound: the count of sums <= x (the loop's select compiles to a cmov).
    const float* base = list.cum;
    for (size_t len = n; len > 1;) {
      size_t half = len / 2;
      base += static_cast<double>(base[half]) <= x ? half : 0;
      len -= half;
    }
    size_t r = static_cast<size_t>(base - list.cum) + (static_cast<double>(*base) <= x ? 1 : 0);
    return std::min(r, n - 1);
  }
  float sum = 0;
  for (size_t r = 0; r < n; ++r) {
    sum += SamplingWeight(list.items[list.RankedAt(r)].weight);
    if (x < sum) return r;
  }
  return n - 1;
}

// Whether a draw accepts its candidate `out` on its try number `tries` (0 first). The weight is
// already in the proposal (RankAtWeight), so only the recency bias rejects: with chance
// 1 - 0.5^(age / half_life); the last allowed try is always taken.
bool Accept(const Neighbor& out, size_t tries, const SamplingOptions& s, Rng& rng) {
  if (s.half_life_ms <= 0) return true;
  return tries + 1 >= static_cast<size_t>(kMaxSampleTries) || rng.Uniform() < RecencyFactor(s, out.ts);
}

// Prefetches into every cache level: the walks read what they prefetch a few lanes later
// (prefetcht2, locality 1, was measured 1.35x slower on the 1M bench graph).
void Prefetch(const void* address) { __builtin_prefetch(address, 0, 3); }

TypeId TypeOfNode(const Impl& g, NodeId node) {
  if (!g.Valid(node)) return kInvalidType;
  std::shared_lock lock(g.Stripe(node));
  return g.Slot(node).type;
}

Status CheckHops(const std::vector<Hop>& hops, const char* what) {
  if (hops.empty() || hops.size() > kMaxHops) {
    return Status::InvalidArgument(std::string(what) + " needs 1 to " + std::to_string(kMaxHops) +
                                   " hops, not " + std::to_string(hops.size()));
  }
  return Status::OK();
}

Status CheckWalkOptions(const RandomWalkOptions& o) {
  PW_RETURN_IF_ERROR(CheckHops(o.hops, "a random walk"));
  if (!(o.restart > 0 && o.restart <= 1)) {
    return Status::InvalidArgument("the restart probability must be in (0, 1]");
  }
  if (o.total_steps > kMaxWalkSteps) {
    return Status::InvalidArgument("a random walk takes at most " +
                                   std::to_string(kMaxWalkSteps) + " steps");
  }
  if (o.sampling.half_life_ms < 0) {
    return Status::InvalidArgument("the recency half-life must not be negative");
  }
  if (o.shards < 1 || o.shards > kMaxShards) {
    return Status::InvalidArgument("a random walk has 1 to " + std::to_string(kMaxShards) +
                                   " shards, not " + std::to_string(o.shards));
  }
  return Status::OK();
}

// Seeds that exist with a positive finite weight, duplicates merged.
std::vector<Seed> UsableSeeds(const Impl& g, const std::vector<Seed>& seeds) {
  std::vector<Seed> out;
  for (const Seed& s : seeds) {
    if (!(s.weight > 0) || !std::isfinite(s.weight) || TypeOfNode(g, s.node) == kInvalidType) {
      continue;
    }
    auto same = std::find_if(out.begin(), out.end(), [&](const Seed& o) { return o.node == s.node; });
    if (same != out.end()) {
      same->weight += s.weight;
    } else {
      out.push_back(s);
    }
  }
  return out;
}

// The walk paths of one candidate, counted by their exact sequence of steps.
struct PathTally {
  std::vector<WalkPath> paths;

  void Add(const std::vector<PathStep>& steps) {
    for (WalkPath& p : paths) {
      if (SameSteps(p.steps, steps)) {
        ++p.visits;
        return;
      }
    }
    if (paths.size() < kMaxPathsTracked) paths.push_back({steps, 1});
  }

  // Adds another part's counts of the same candidate (its paths after this one's).
  void Merge(std::vector<WalkPath>&& more) {
    for (WalkPath& m : more) {
      auto same = std::find_if(paths.begin(), paths.end(),
                               [&](const WalkPath& p) { return SameSteps(p.steps, m.steps); });
      if (same != paths.end()) {
        same->visits += m.visits;
      } else if (paths.size() < kMaxPathsTracked) {
        paths.push_back(std::move(m));
      }
    }
  }

  static bool SameSteps(const std::vector<PathStep>& a, const std::vector<PathStep>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                      [](const PathStep& x, const PathStep& y) {
                        return x.from == y.from && x.to == y.to && x.edge_type == y.edge_type &&
                               x.dir == y.dir;
                      });
  }
};

struct CandidateTally {
  NodeId node;
  double sqrt_sum = 0;
  uint32_t visits = 0;
  PathTally paths{};
};

// Candidates in first-visit order, found through a NodeIndexMap (no allocation per node).
class Tallies {
 public:
  CandidateTally& operator[](NodeId node) {
    bool inserted;
    uint32_t at = index_.FindOrInsert(node, static_cast<uint32_t>(all_.size()), &inserted);
    if (inserted) all_.push_back({node});
    return all_[at];
  }
  std::vector<CandidateTally>& all() { return all_; }

 private:
  NodeIndexMap index_{1024};
  std::vector<CandidateTally> all_;
};

// One walker of a seed's walk, and where it is in its pipeline of reads. A hop is three stages
// of reads that depend on each other: the node's snapshot header (or slot); its weight sums (or
// list directory), where the draw picks a rank; the entry of that rank (a snapshot keeps each
// list in rank order, so no rank-to-position read comes between). Each stage reads what the
// previous one prefetched and prefetches the next, so while one walker waits for memory the
// others compute.
struct Lane {
  enum class Stage : uint8_t { kLists, kEntry, kDraw };
  Stage stage = Stage::kLists;
  NodeId at = kInvalidNode;
  size_t hop = 0;
  bool arrived = false;  // reached `at` by a hop whose visit is not counted yet
  size_t pick = 0;       // kDraw: the drawn entry's position in the list
  size_t tries = 0;      // the current draw's rejected candidates (biased sampling)
  std::vector<PathStep> segment;
  bool segment_ok = true;  // at most max_path_hops steps since the last restart
};

// One seed's walk: `lanes` walkers from the seed share its steps; visits are counted into the
// seed's own tally, then folded into all.
class SeedWalk {
 public:
  // counts: when not null, the seed's visit counts go there (first-visit order) instead of
  // being folded into all (a part of a sharded walk; paths are still recorded into all).
  SeedWalk(const Impl& g, const RandomWalkOptions& o, const std::vector<HopRelation>& relations,
           const std::vector<NodeId>& seeds, Rng& rng, Tallies* all, WalkResult* result,
           std::vector<std::pair<NodeId, uint32_t>>* counts = nullptr)
      : g_(g), o_(o), relations_(relations), seeds_(seeds), rng_(rng), all_(all),
        result_(result), counts_out_(counts) {}

  void Run(NodeId seed, size_t steps) {
    seed_ = seed;
    std::vector<Lane> lanes(std::clamp<size_t>(o_.lanes, 1, 64));
    for (Lane& lane : lanes) lane.at = seed;
    size_t done = 0;
    size_t next = 0;  // the lane whose turn it is (round robin, without a division per turn)
    for (size_t turn = 0; done < steps && !stop_; ++turn) {
      if (turn % kDeadlineEvery == 0 && o_.deadline.Expired()) {
        result_->deadline_hit = true;
        break;
      }
      if (Advance(lanes[next])) ++done;
      if (++next == lanes.size()) next = 0;
    }
    result_->steps += done;
    if (stop_) result_->early_stopped = true;
    for (Lane& lane : lanes) CountArrival(lane);  // the visits of hops that just finished
    Fold();
  }

 private:
  using Stage = Lane::Stage;

  // Runs the lane's next stage; true when it completed a hop (a dead end counts as one).
  bool Advance(Lane& lane) {
    NodeReader node(g_, relations_, lane.at);
    switch (lane.stage) {
      case Stage::kLists:
        return Arrive(lane, node);
      case Stage::kEntry:
        return PickEntry(lane, node);
      case Stage::kDraw:
        return TakeHop(lane, node);
    }
    return false;
  }

  // The lane's slot is cached: counts the visit that brought it here (then maybe restarts) and
  // prefetches the list directory.
  bool Arrive(Lane& lane, NodeReader& node) {
    if (lane.arrived) {
      lane.arrived = false;
      if (CountVisit(lane, node.Type(lane.hop)) && rng_.Uniform() < o_.restart) {
        node.Release();
        Restart(lane);
        NodeReader(g_, relations_, lane.at).PrefetchList(lane.hop);
        lane.stage = Stage::kEntry;
        return false;
      }
    }
    node.PrefetchList(lane.hop);
    lane.stage = Stage::kEntry;
    return false;
  }

  // Draws the entry's rank (or position) and prefetches it. A node without the hop's edges
  // restarts the walk.
  bool PickEntry(Lane& lane, NodeReader& node) {
    ListView list = node.List(lane.hop);
    if (list.size == 0) {
      node.Release();
      Restart(lane);
      return true;
    }
    DrawCandidate(lane, list);
    return false;
  }

  // Completes the draw and moves the lane, prefetching the next node's slot. A biased draw that
  // rejects its candidate draws another and prefetches it instead, for a later stage of this
  // lane: the retry's memory read overlaps the other lanes' work.
  bool TakeHop(Lane& lane, NodeReader& node) {
    const Hop& h = o_.hops[lane.hop];
    ListView list = node.List(lane.hop);
    if (lane.pick >= list.size) {  // changed since: draw again
      lane.stage = Stage::kEntry;
      lane.tries = 0;
      return false;
    }
    Neighbor next = list.items[lane.pick];
    if (!Accept(next, lane.tries, o_.sampling, rng_)) {
      ++lane.tries;
      DrawCandidate(lane, list);
      return false;
    }
    lane.tries = 0;
    node.Release();
    if (o_.paths_per_candidate > 0 && lane.segment_ok) {
      lane.segment_ok = lane.segment.size() < o_.max_path_hops;
      if (lane.segment_ok) {
        lane.segment.push_back({lane.at, h.edge_type, h.dir, next.node, next.weight, next.ts});
      }
    }
    lane.at = g_.Valid(next.node) ? next.node : seed_;
    if (++lane.hop == o_.hops.size()) lane.hop = 0;
    lane.arrived = true;
    lane.stage = Stage::kLists;
    NodeReader::PrefetchNode(g_, relations_[lane.hop], lane.at);
    return true;
  }

  // Proposes a candidate among the list's choices: a rank, by weight (weighted sampling with
  // some weight > 0) or uniformly, turned into the entry's position, which it prefetches for the
  // next stage. A snapshot's list is in rank order; a live list's rank position is read here
  // (the weighted scan has just read it), so both take the same stages and draw the same walks.
  // REQUIRES: list.size > 0.
  void DrawCandidate(Lane& lane, const ListView& list) {
    size_t n = Choices(list, o_.sampling);
    double total = o_.sampling.weighted ? ChoiceWeight(list, n) : 0;
    size_t rank = total > 0 ? RankAtWeight(list, n, rng_.Uniform() * total) : rng_.Below(n);
    lane.pick = list.RankedAt(rank);
    Prefetch(list.items + lane.pick);
    lane.stage = Stage::kDraw;
  }

  // Counts the lane's visit to its node of this type, if it counts; true when it did.
  bool CountVisit(Lane& lane, TypeId type) {
    if (!Counts(lane.at, type)) return false;
    bool record = o_.paths_per_candidate > 0 && lane.segment_ok;
    if (Visit(lane.at, record ? &lane.segment : nullptr)) stop_ = true;
    return true;
  }

  // At the end of the walk: the visit of a lane whose last hop is not counted yet.
  void CountArrival(Lane& lane) {
    if (!lane.arrived || stop_) return;
    lane.arrived = false;
    CountVisit(lane, TypeOfNode(g_, lane.at));
  }

  void Restart(Lane& lane) {
    lane.at = seed_;
    lane.hop = 0;
    lane.arrived = false;
    lane.segment.clear();
    lane.segment_ok = true;
    lane.stage = Stage::kLists;
    ++result_->restarts;
  }

  bool Counts(NodeId node, TypeId type) const {
    if (o_.exclude_seeds && std::binary_search(seeds_.begin(), seeds_.end(), node)) return false;
    return o_.target_type == kInvalidType || type == o_.target_type;
  }

  // Counts a visit; true when the early-stopping condition is now met.
  bool Visit(NodeId node, const std::vector<PathStep>* path) {
    bool inserted;
    uint32_t at = index_.FindOrInsert(node, static_cast<uint32_t>(counts_.size()), &inserted);
    if (inserted) counts_.push_back({node, 0});
    uint32_t c = ++counts_[at].second;
    if (path != nullptr) (*all_)[node].paths.Add(*path);
    if (c == o_.early_stop_visits) ++frequent_;
    return o_.early_stop_candidates > 0 && frequent_ >= o_.early_stop_candidates;
  }

  void Fold() {
    if (counts_out_ != nullptr) {
      *counts_out_ = std::move(counts_);
      return;
    }
    for (const auto& [node, c] : counts_) {
      CandidateTally& t = (*all_)[node];
      t.sqrt_sum += std::sqrt(static_cast<double>(c));
      t.visits += c;
    }
  }

  const Impl& g_;
  const RandomWalkOptions& o_;
  const std::vector<HopRelation>& relations_;
  const std::vector<NodeId>& seeds_;  // sorted
  Rng& rng_;
  Tallies* all_;
  WalkResult* result_;
  NodeId seed_ = kInvalidNode;
  bool stop_ = false;
  NodeIndexMap index_{1024};
  std::vector<std::pair<NodeId, uint32_t>> counts_;  // in first-visit order
  size_t frequent_ = 0;  // nodes with at least early_stop_visits visits
  std::vector<std::pair<NodeId, uint32_t>>* counts_out_;
};

std::vector<WalkCandidate> RankCandidates(Tallies* all, size_t paths_per_candidate) {
  std::vector<WalkCandidate> out;
  out.reserve(all->all().size());
  for (CandidateTally& t : all->all()) {
    if (t.visits == 0) continue;
    WalkCandidate c{t.node, t.sqrt_sum * t.sqrt_sum, t.visits, {}};
    std::vector<WalkPath>& paths = t.paths.paths;
    std::stable_sort(paths.begin(), paths.end(),
                     [](const WalkPath& a, const WalkPath& b) { return a.visits > b.visits; });
    if (paths.size() > paths_per_candidate) paths.resize(paths_per_candidate);
    c.paths = std::move(paths);
    out.push_back(std::move(c));
  }
  std::sort(out.begin(), out.end(), [](const WalkCandidate& a, const WalkCandidate& b) {
    return a.score != b.score ? a.score > b.score : a.node < b.node;
  });
  return out;
}

template <typename T>
void SortByScore(std::vector<std::pair<NodeId, T>>* scores) {
  std::sort(scores->begin(), scores->end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
}

}  // namespace

namespace {

// The steps of each usable seed for a walk of `total` steps: in proportion to the seed's
// weight, the last seed taking what rounding left.
std::vector<size_t> StepsPerSeed(const std::vector<Seed>& usable, double total_weight,
                                 size_t total) {
  std::vector<size_t> out(usable.size());
  size_t assigned = 0;
  for (size_t i = 0; i < usable.size(); ++i) {
    size_t steps = i + 1 == usable.size()
                       ? total - assigned
                       : static_cast<size_t>(static_cast<double>(total) * usable[i].weight /
                                             total_weight);
    out[i] = std::min(steps, total - assigned);
    assigned += out[i];
  }
  return out;
}

// One part of a sharded walk: its own random stream, paths and counts.
struct WalkPart {
  Tallies paths;  // only paths are recorded here
  std::vector<std::vector<std::pair<NodeId, uint32_t>>> counts;  // per seed, first-visit order
  WalkResult result;
  bool out_of_memory = false;
};

// Runs part `s` of `shards` (options already adjusted for the part's early stopping).
void RunPart(const Impl& g, const RandomWalkOptions& o, const std::vector<HopRelation>& relations,
             const std::vector<Seed>& usable, const std::vector<NodeId>& seed_set,
             double total_weight, size_t s, size_t shards, WalkPart* part) {
  const size_t steps = o.total_steps / shards + (s < o.total_steps % shards ? 1 : 0);
  Rng rng(o.random_seed ^ (0xD1B54A32D192ED03ull * (s + 1)));
  std::vector<size_t> per_seed = StepsPerSeed(usable, total_weight, steps);
  part->counts.resize(usable.size());
  for (size_t i = 0; i < usable.size() && !part->result.deadline_hit; ++i) {
    SeedWalk walk(g, o, relations, seed_set, rng, &part->paths, &part->result, &part->counts[i]);
    walk.Run(usable[i].node, per_seed[i]);
  }
}

// Sums the parts into all: per seed, the visits of every part (then Pixie's boosting over the
// sums), the paths in part order, and the counters.
void MergeParts(std::vector<WalkPart>& parts, size_t seeds, Tallies* all, WalkResult* result) {
  NodeIndexMap at;
  std::vector<std::pair<NodeId, uint32_t>> sum;
  for (size_t i = 0; i < seeds; ++i) {
    at.Reset(1024);
    sum.clear();
    for (WalkPart& part : parts) {
      for (const auto& [node, c] : part.counts[i]) {
        bool inserted;
        uint32_t k = at.FindOrInsert(node, static_cast<uint32_t>(sum.size()), &inserted);
        if (inserted) sum.push_back({node, 0});
        sum[k].second += c;
      }
    }
    for (const auto& [node, c] : sum) {
      CandidateTally& t = (*all)[node];
      t.sqrt_sum += std::sqrt(static_cast<double>(c));
      t.visits += c;
    }
  }
  for (WalkPart& part : parts) {
    for (CandidateTally& t : part.paths.all()) {
      if (!t.paths.paths.empty()) (*all)[t.node].paths.Merge(std::move(t.paths.paths));
    }
    result->steps += part.result.steps;
    result->restarts += part.result.restarts;
    result->early_stopped |= part.result.early_stopped;
    result->deadline_hit |= part.result.deadline_hit;
  }
}

}  // namespace

Result<WalkResult> RandomWalk(const Graph& graph, const std::vector<Seed>& seeds,
                              const RandomWalkOptions& options, const ShardRunner& runner) {
  PW_RETURN_IF_ERROR(CheckWalkOptions(options));
  const Impl& g = GraphAccess::Get(graph);
  WalkResult result;
  std::vector<Seed> usable = UsableSeeds(g, seeds);
  if (usable.empty()) return result;
  double total_weight = 0;
  std::vector<NodeId> seed_set;  // sorted: searched at every counted visit
  for (const Seed& s : usable) {
    total_weight += s.weight;
    seed_set.push_back(s.node);
  }
  std::sort(seed_set.begin(), seed_set.end());
  std::vector<HopRelation> relations = OpenRelations(g, options.hops, options.use_snapshot);
  Tallies all;
  if (options.shards == 1) {
    Rng rng(options.random_seed);
    std::vector<size_t> per_seed = StepsPerSeed(usable, total_weight, options.total_steps);
    for (size_t i = 0; i < usable.size() && !result.deadline_hit; ++i) {
      SeedWalk walk(g, options, relations, seed_set, rng, &all, &result);
      walk.Run(usable[i].node, per_seed[i]);
    }
  } else {
    const size_t shards = options.shards;
    RandomWalkOptions part_options = options;
    part_options.early_stop_visits =
        static_cast<uint32_t>((options.early_stop_visits + shards - 1) / shards);
    std::vector<WalkPart> parts(shards);
    std::function<void(size_t)> part = [&](size_t s) {
      try {
        RunPart(g, part_options, relations, usable, seed_set, total_weight, s, shards, &parts[s]);
      } catch (const std::bad_alloc&) {
        parts[s].out_of_memory = true;
      }
    };
    if (runner) {
      runner(shards, part);
    } else {
      for (size_t s = 0; s < shards; ++s) part(s);
    }
    for (const WalkPart& p : parts) {
      if (p.out_of_memory) return Status::ResourceExhausted("out of memory in a random walk");
    }
    MergeParts(parts, usable.size(), &all, &result);
  }
  result.candidates = RankCandidates(&all, options.paths_per_candidate);
  return result;
}

// ---- Personalized PageRank ----------------------------------------------------------------------

namespace {

struct Edge {
  NodeId node;
  double weight;
};

// Node u's edges over the relations (weights as transition weights), in rank order, and their
// total: the same order (and so the same sums) from a snapshot and from a live list.
double ReadEdges(const Impl& g, const std::vector<HopRelation>& relations, NodeId u, bool weighted,
                 std::vector<Edge>* out) {
  out->clear();
  double total = 0;
  NodeReader node(g, relations, u);
  for (size_t i = 0; i < relations.size(); ++i) {
    ListView list = node.List(i);
    for (size_t r = 0; r < list.size; ++r) {  // in rank order, as a snapshot stores them
      const Neighbor& n = list.items[list.RankedAt(r)];
      double w = weighted ? UsableWeight(n.weight) : 1.0;
      if (w <= 0) continue;
      out->push_back({n.node, w});
      total += w;
    }
  }
  return total;
}

// Node u's degree over relations[first, last).
size_t DegreeOver(const Impl& g, const std::vector<HopRelation>& relations, NodeId u,
                  size_t first, size_t last) {
  NodeReader node(g, relations, u);
  size_t d = 0;
  for (size_t i = first; i < last; ++i) d += node.List(i).size;
  return d;
}

class Pusher {
 public:
  Pusher(const Impl& g, const PushOptions& o, std::vector<Seed> seeds, double total_weight)
      : g_(g),
        o_(o),
        relations_(OpenRelations(g, o.hops, o.use_snapshot)),
        seeds_(std::move(seeds)),
        total_weight_(total_weight) {}

  PushResult Run() {
    PushResult result;
    for (const Seed& s : seeds_) AddResidual(s.node, s.weight / total_weight_);
    std::vector<Edge> edges;
    while (!queue_.empty()) {
      if (result.pushes >= o_.max_pushes) break;
      if (result.pushes % kDeadlineEvery == 0 && o_.deadline.Expired()) {
        result.deadline_hit = true;
        break;
      }
      uint32_t u = queue_.back();
      queue_.pop_back();
      nodes_[u].queued = false;
      Push(u, &edges);
      ++result.pushes;
    }
    result.converged = queue_.empty();
    for (const State& n : nodes_) {
      result.residual_sum += n.residual;
      if (n.estimate > 0) result.scores.push_back({n.node, n.estimate});
    }
    SortByScore(&result.scores);
    return result;
  }

 private:
  struct State {
    NodeId node;
    double estimate = 0;
    double residual = 0;
    size_t degree = 0;
    bool queued = false;
  };

  void Push(uint32_t u, std::vector<Edge>* edges) {
    double r = nodes_[u].residual;
    nodes_[u].residual = 0;
    nodes_[u].estimate += o_.alpha * r;
    double mass = (1 - o_.alpha) * r;
    double total = ReadEdges(g_, relations_, nodes_[u].node, o_.weighted, edges);
    if (total <= 0) {  // no edge to follow: the mass returns to the teleport distribution
      for (const Seed& s : seeds_) AddResidual(s.node, mass * s.weight / total_weight_);
      return;
    }
    for (const Edge& e : *edges) AddResidual(e.node, mass * e.weight / total);
  }

  void AddResidual(NodeId v, double amount) {
    bool inserted;
    uint32_t at = index_.FindOrInsert(v, static_cast<uint32_t>(nodes_.size()), &inserted);
    if (inserted) {
      nodes_.push_back({v, 0, 0, DegreeOver(g_, relations_, v, 0, relations_.size()), false});
    }
    State& n = nodes_[at];
    n.residual += amount;
    if (!n.queued &&
        n.residual >= o_.epsilon * static_cast<double>(std::max<size_t>(1, n.degree))) {
      n.queued = true;
      queue_.push_back(at);
    }
  }

  const Impl& g_;
  const PushOptions& o_;
  const std::vector<HopRelation> relations_;
  const std::vector<Seed> seeds_;
  const double total_weight_;
  NodeIndexMap index_{1024};
  std::vector<State> nodes_;     // in first-touch order
  std::vector<uint32_t> queue_;  // positions in nodes_ over their threshold
};

}  // namespace

Result<PushResult> PersonalizedPageRank(const Graph& graph, const std::vector<Seed>& seeds,
                                        const PushOptions& options) {
  PW_RETURN_IF_ERROR(CheckHops(options.hops, "personalized PageRank"));
  if (!(options.alpha > 0 && options.alpha < 1)) {
    return Status::InvalidArgument("the teleport probability alpha must be in (0, 1)");
  }
  if (!(options.epsilon > 0) || !std::isfinite(options.epsilon)) {
    return Status::InvalidArgument("the residual threshold epsilon must be positive");
  }
  const Impl& g = GraphAccess::Get(graph);
  std::vector<Seed> usable = UsableSeeds(g, seeds);
  if (usable.empty()) return PushResult{};
  double total_weight = 0;
  for (const Seed& s : usable) total_weight += s.weight;
  return Pusher(g, options, std::move(usable), total_weight).Run();
}

// ---- RP3beta ------------------------------------------------------------------------------------

namespace {

// The transition probabilities of node's list over relations[i] in rank order (its strongest
// max_neighbors edges when capped), each raised to alpha.
void Transitions(const Impl& g, const std::vector<HopRelation>& relations, size_t i, NodeId node,
                 const Rp3Options& o, std::vector<Edge>* out) {
  out->clear();
  NodeReader reader(g, relations, node);
  ListView list = reader.List(i);
  if (list.size == 0) return;
  size_t degree = list.size;
  size_t n = o.max_neighbors == 0 ? degree : std::min(o.max_neighbors, degree);
  double total = 0;
  for (size_t k = 0; k < n; ++k) {
    const Neighbor& nb = list.items[list.RankedAt(k)];
    double w = o.weighted ? UsableWeight(nb.weight) : 1.0;
    if (w <= 0) continue;
    out->push_back({nb.node, w});
    total += w;
  }
  for (Edge& e : *out) e.weight = std::pow(e.weight / total, o.alpha);
}

Direction Reverse(Direction d) { return d == Direction::kOut ? Direction::kIn : Direction::kOut; }

}  // namespace

Result<Rp3Result> Rp3Beta(const Graph& graph, NodeId user, const Rp3Options& options) {
  if (!(options.alpha > 0) || !std::isfinite(options.alpha) || !(options.beta >= 0) ||
      !std::isfinite(options.beta)) {
    return Status::InvalidArgument("RP3beta needs alpha > 0 and beta >= 0");
  }
  const Impl& g = GraphAccess::Get(graph);
  const Hop forward = options.relation;
  const Hop backward{forward.edge_type, Reverse(forward.dir)};
  const std::vector<HopRelation> relations =
      OpenRelations(g, {forward, backward}, options.use_snapshot);
  constexpr size_t kForward = 0, kBackward = 1;
  Rp3Result result;
  NodeIndexMap index{1024};
  std::vector<std::pair<NodeId, double>>& scores = result.scores;  // in first-reach order
  std::vector<Edge> items, users, reached;
  Transitions(g, relations, kForward, user, options, &items);
  size_t work = 0;
  for (const Edge& j : items) {
    Transitions(g, relations, kBackward, j.node, options, &users);
    for (const Edge& v : users) {
      if (++work % kDeadlineEvery == 0 && options.deadline.Expired()) {
        result.deadline_hit = true;
        break;
      }
      Transitions(g, relations, kForward, v.node, options, &reached);
      double pv = j.weight * v.weight;
      for (const Edge& i : reached) {
        bool inserted;
        uint32_t at = index.FindOrInsert(i.node, static_cast<uint32_t>(scores.size()), &inserted);
        if (inserted) scores.push_back({i.node, 0.0});
        scores[at].second += pv * i.weight;
      }
    }
    if (result.deadline_hit) break;
  }
  for (auto& [item, score] : scores) {
    size_t popularity = DegreeOver(g, relations, item, kBackward, kBackward + 1);
    score /= std::pow(static_cast<double>(std::max<size_t>(1, popularity)), options.beta);
  }
  SortByScore(&scores);
  return result;
}

// ---- Relation snapshots ------------------------------------------------------------------------

WalkSnapshotStats GetWalkSnapshotStats(const Graph& graph) {
  SnapshotTotals totals = GraphAccess::Get(graph).snapshots->Totals();
  return {totals.relations, totals.entries, totals.bytes, totals.last_build_seconds};
}

double RebuildWalkSnapshot(const Graph& graph, TypeId edge_type, Direction dir) {
  const Impl& g = GraphAccess::Get(graph);
  auto snap = g.snapshots->Rebuild(g, edge_type, dir);
  return snap == nullptr ? -1 : snap->build_seconds;
}

}  // namespace pathwise::graph
