// Item-item similarity by sparse accumulation per item (graph/similarity.h).
#include "graph/similarity.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <thread>
#include <unordered_map>

#include "storage/mutex.h"

namespace pathwise::graph {
namespace {

constexpr uint32_t kNone = UINT32_MAX;
constexpr size_t kItemsPerTask = 32;  // items a worker claims at a time

struct Entry {
  uint32_t index;  // an item's or a user's position in the snapshot
  float r;
};

// The counted relation in both directions: by_item[i] lists item i's users, by_user[u] user u's
// items, each in ascending index order of the other side.
struct Relation {
  std::vector<NodeId> items;
  std::vector<NodeId> user_nodes;  // by user index
  std::vector<size_t> item_offsets;
  std::vector<Entry> by_item;
  std::vector<size_t> user_offsets;
  std::vector<Entry> by_user;
  size_t users = 0;
};

// An edge's value r(u, i), or a negative number when the edge is left out.
float EdgeValue(const Neighbor& n, bool weighted) {
  if (!weighted) return 1.0f;
  return n.weight > 0 && std::isfinite(n.weight) ? n.weight : -1.0f;
}

// u's strongest max_items_per_user items (sorted by node id), read once per user.
class UserCaps {
 public:
  UserCaps(const Graph& graph, const SimilarityOptions& o) : graph_(graph), o_(o) {}
  bool Keeps(NodeId user, NodeId item) {
    if (o_.max_items_per_user == 0) return true;
    auto [it, inserted] = top_.try_emplace(user);
    if (inserted) {
      graph_.TopNeighbors(user, o_.edge_type, Direction::kOut, o_.max_items_per_user, &scratch_);
      for (const Neighbor& n : scratch_) it->second.push_back(n.node);
      std::sort(it->second.begin(), it->second.end());
    }
    return std::binary_search(it->second.begin(), it->second.end(), item);
  }

 private:
  const Graph& graph_;
  const SimilarityOptions& o_;
  std::unordered_map<NodeId, std::vector<NodeId>> top_;
  std::vector<Neighbor> scratch_;
};

Relation Snapshot(const Graph& graph, const SimilarityOptions& o) {
  Relation rel;
  rel.items = graph.NodesOfType(o.item_type);
  std::vector<uint32_t> user_index(graph.IdBound(), kNone);
  UserCaps caps(graph, o);
  size_t limit = o.max_users_per_item == 0 ? SIZE_MAX : o.max_users_per_item;
  std::vector<Neighbor> users;
  rel.item_offsets.push_back(0);
  for (NodeId item : rel.items) {
    graph.TopNeighbors(item, o.edge_type, Direction::kIn, limit, &users);
    size_t first = rel.by_item.size();
    for (const Neighbor& n : users) {
      float r = EdgeValue(n, o.weighted);
      if (r < 0 || n.node >= user_index.size() || !caps.Keeps(n.node, item)) continue;
      if (user_index[n.node] == kNone) {
        user_index[n.node] = static_cast<uint32_t>(rel.users++);
        rel.user_nodes.push_back(n.node);
      }
      rel.by_item.push_back({user_index[n.node], r});
    }
    std::sort(rel.by_item.begin() + first, rel.by_item.end(),
              [](const Entry& a, const Entry& b) { return a.index < b.index; });
    rel.item_offsets.push_back(rel.by_item.size());
  }
  // Transpose: items were visited in index order, so each user's list comes out sorted.
  rel.user_offsets.assign(rel.users + 1, 0);
  for (const Entry& e : rel.by_item) ++rel.user_offsets[e.index + 1];
  for (size_t u = 0; u < rel.users; ++u) rel.user_offsets[u + 1] += rel.user_offsets[u];
  rel.by_user.resize(rel.by_item.size());
  std::vector<size_t> fill(rel.user_offsets.begin(), rel.user_offsets.end() - 1);
  for (uint32_t i = 0; i < rel.items.size(); ++i) {
    for (size_t e = rel.item_offsets[i]; e < rel.item_offsets[i + 1]; ++e) {
      rel.by_user[fill[rel.by_item[e].index]++] = {i, rel.by_item[e].r};
    }
  }
  return rel;
}

uint64_t Mix(uint64_t x) {  // splitmix64's finaliser
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Order-independent (entries are in snapshot index order, which differs from run to run): the
// sum of a mix of each (node, r), mixed with the length.
uint64_t ListFingerprint(const std::vector<Entry>& entries, size_t first, size_t last,
                         const std::vector<NodeId>& nodes) {
  uint64_t sum = 0;
  for (size_t e = first; e < last; ++e) {
    uint32_t r_bits;
    static_assert(sizeof(r_bits) == sizeof(entries[e].r));
    std::memcpy(&r_bits, &entries[e].r, sizeof(r_bits));
    sum += Mix(Mix(nodes[entries[e].index]) ^ r_bits);
  }
  return Mix(sum ^ Mix(last - first));
}

SimilarityFingerprints Fingerprints(const Relation& rel) {
  SimilarityFingerprints fp;
  fp.items.reserve(rel.items.size());
  for (size_t i = 0; i < rel.items.size(); ++i) {
    fp.items.emplace_back(rel.items[i], ListFingerprint(rel.by_item, rel.item_offsets[i],
                                                        rel.item_offsets[i + 1], rel.user_nodes));
  }
  fp.users.reserve(rel.users);
  for (size_t u = 0; u < rel.users; ++u) {
    fp.users.emplace_back(rel.user_nodes[u], ListFingerprint(rel.by_user, rel.user_offsets[u],
                                                             rel.user_offsets[u + 1], rel.items));
  }
  std::sort(fp.users.begin(), fp.users.end());
  return fp;
}

// Positions in `now` (sorted by node) whose fingerprint is absent from or differs in `before`
// (sorted by node); *gone counts the nodes of `before` absent from `now`.
std::vector<size_t> Changed(const std::vector<std::pair<NodeId, uint64_t>>& now,
                            const std::vector<std::pair<NodeId, uint64_t>>& before,
                            size_t* gone) {
  std::vector<size_t> changed;
  size_t b = 0;
  *gone = 0;
  for (size_t n = 0; n < now.size(); ++n) {
    for (; b < before.size() && before[b].first < now[n].first; ++b) ++*gone;
    if (b < before.size() && before[b].first == now[n].first) {
      if (before[b].second != now[n].second) changed.push_back(n);
      ++b;
    } else {
      changed.push_back(n);
    }
  }
  *gone += before.size() - b;
  return changed;
}

// The item indexes whose row can differ from the earlier run's (SimilarityOptions::previous),
// in ascending order; *items_changed as SimilarityResult reports it.
std::vector<uint32_t> ItemsToRecompute(const Relation& rel, const SimilarityFingerprints& now,
                                       const SimilarityFingerprints& before,
                                       size_t* items_changed) {
  size_t items_gone = 0, users_gone = 0;
  std::vector<size_t> items = Changed(now.items, before.items, &items_gone);
  std::vector<size_t> users = Changed(now.users, before.users, &users_gone);
  *items_changed = items.size() + items_gone;
  std::vector<char> mark(rel.items.size(), 0);
  auto mark_items_of_user = [&](uint32_t u) {
    for (size_t f = rel.user_offsets[u]; f < rel.user_offsets[u + 1]; ++f) {
      mark[rel.by_user[f].index] = 1;
    }
  };
  // now.items is in rel.items' order (id order), so positions are item indexes.
  for (size_t i : items) {
    mark[i] = 1;
    for (size_t e = rel.item_offsets[i]; e < rel.item_offsets[i + 1]; ++e) {
      mark_items_of_user(rel.by_item[e].index);
    }
  }
  if (!users.empty()) {
    std::unordered_map<NodeId, uint32_t> user_index;
    for (uint32_t u = 0; u < rel.users; ++u) user_index.emplace(rel.user_nodes[u], u);
    for (size_t position : users) mark_items_of_user(user_index.at(now.users[position].first));
  }
  std::vector<uint32_t> out;
  for (uint32_t i = 0; i < rel.items.size(); ++i) {
    if (mark[i]) out.push_back(i);
  }
  return out;
}

// Per item, the factors of the measure's denominator (see SimilarityMeasure): `own` when the
// item is i, `other` when it is j. cosine: sqrt(S2) both; asymmetric: S2^alpha, S2^(1-alpha);
// jaccard: S1 both.
struct Norms {
  std::vector<double> own, other;
};

Norms ItemNorms(const Relation& rel, const SimilarityOptions& o) {
  Norms norms;
  norms.own.assign(rel.items.size(), 0);
  for (size_t i = 0; i < rel.items.size(); ++i) {
    double sum = 0;
    for (size_t e = rel.item_offsets[i]; e < rel.item_offsets[i + 1]; ++e) {
      double r = rel.by_item[e].r;
      sum += o.measure == SimilarityMeasure::kJaccard ? r : r * r;
    }
    norms.own[i] = sum;
  }
  norms.other = norms.own;
  for (size_t i = 0; i < rel.items.size(); ++i) {
    if (o.measure == SimilarityMeasure::kCosine) {
      norms.own[i] = norms.other[i] = std::sqrt(norms.own[i]);
    } else if (o.measure == SimilarityMeasure::kAsymmetricCosine) {
      norms.own[i] = std::pow(norms.other[i], o.alpha);
      norms.other[i] = std::pow(norms.other[i], 1 - o.alpha);
    }
  }
  return norms;
}

// One worker's accumulators over items, reused from item to item.
class Accumulator {
 public:
  Accumulator(const Relation& rel, const Norms& norms, const SimilarityOptions& o)
      : rel_(rel), norms_(norms), o_(o), acc_(rel.items.size(), 0), count_(rel.items.size(), 0) {}

  // The top-k neighbours of item i (see SimilarityResult for the order).
  std::vector<ScoredItem> TopK(uint32_t i) {
    Accumulate(i);
    std::vector<std::pair<double, uint32_t>> scored;
    for (uint32_t j : touched_) {
      double s = count_[j] >= o_.min_cooccurrence ? Score(i, j) : 0;
      if (s > 0 && std::isfinite(s)) scored.emplace_back(s, j);
      acc_[j] = 0;
      count_[j] = 0;
    }
    touched_.clear();
    // Item indexes follow node ids, so (score desc, index asc) is (score desc, node id asc).
    auto better = [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    };
    size_t keep = std::min(o_.k, scored.size());
    std::partial_sort(scored.begin(), scored.begin() + keep, scored.end(), better);
    std::vector<ScoredItem> out;
    out.reserve(keep);
    for (size_t n = 0; n < keep; ++n) {
      out.push_back({rel_.items[scored[n].second], static_cast<float>(scored[n].first)});
    }
    return out;
  }

 private:
  void Accumulate(uint32_t i) {
    bool jaccard = o_.measure == SimilarityMeasure::kJaccard;
    for (size_t e = rel_.item_offsets[i]; e < rel_.item_offsets[i + 1]; ++e) {
      const Entry& user = rel_.by_item[e];
      for (size_t f = rel_.user_offsets[user.index]; f < rel_.user_offsets[user.index + 1]; ++f) {
        const Entry& item = rel_.by_user[f];
        if (item.index == i) continue;
        if (count_[item.index]++ == 0) touched_.push_back(item.index);
        acc_[item.index] += jaccard ? std::min(user.r, item.r) : double{user.r} * item.r;
      }
    }
  }

  double Score(uint32_t i, uint32_t j) const {
    double dot = acc_[j];
    if (o_.measure == SimilarityMeasure::kJaccard) {
      return dot / (norms_.own[i] + norms_.other[j] - dot + o_.shrink);
    }
    return dot / (norms_.own[i] * norms_.other[j] + o_.shrink);
  }

  const Relation& rel_;
  const Norms& norms_;
  const SimilarityOptions& o_;
  std::vector<double> acc_;
  std::vector<uint32_t> count_;
  std::vector<uint32_t> touched_;
};

// How many workers are still running; the caller waits for none, waking up now and then.
class WorkerCount {
 public:
  void Start(size_t n) {
    MutexLock lock(&mu_);
    running_ = n;
  }
  void Exit() {
    MutexLock lock(&mu_);
    --running_;
    cv_.NotifyAll();
  }
  // True once no worker runs; false when timeout passed first.
  bool WaitAll(std::chrono::milliseconds timeout) {
    MutexLock lock(&mu_);
    if (running_ > 0) cv_.WaitFor(&mu_, timeout);
    return running_ == 0;
  }

 private:
  Mutex mu_;
  CondVar cv_;
  size_t running_ PW_GUARDED_BY(mu_) = 0;
};

// Runs the given items (indexes) through an Accumulator on `threads` workers; reports progress
// meanwhile. Returns their rows in the order given.
std::vector<std::vector<ScoredItem>> RunWorkers(const Relation& rel, const Norms& norms,
                                                const SimilarityOptions& o,
                                                const std::vector<uint32_t>& items) {
  const size_t n = items.size();
  std::vector<std::vector<ScoredItem>> per_item(n);
  std::atomic<size_t> next{0}, done{0};
  WorkerCount workers;
  size_t threads = o.threads != 0 ? o.threads : std::max(1u, std::thread::hardware_concurrency());
  threads = std::min(threads, std::max<size_t>(1, n / kItemsPerTask));
  auto work = [&] {
    Accumulator acc(rel, norms, o);
    for (size_t first; (first = next.fetch_add(kItemsPerTask)) < n;) {
      size_t last = std::min(n, first + kItemsPerTask);
      for (size_t i = first; i < last; ++i) per_item[i] = acc.TopK(items[i]);
      done.fetch_add(last - first);
    }
    workers.Exit();
  };
  workers.Start(threads);
  std::vector<std::thread> pool;
  for (size_t t = 0; t < threads; ++t) pool.emplace_back(work);
  while (!workers.WaitAll(std::chrono::milliseconds(200))) {
    if (o.progress) o.progress(done.load(), n);
  }
  for (std::thread& t : pool) t.join();
  if (o.progress) o.progress(n, n);
  return per_item;
}

}  // namespace

const char* SimilarityMeasureName(SimilarityMeasure m) {
  switch (m) {
    case SimilarityMeasure::kCosine:
      return "cosine";
    case SimilarityMeasure::kJaccard:
      return "jaccard";
    case SimilarityMeasure::kAsymmetricCosine:
      return "asymmetric_cosine";
  }
  return "?";
}

Result<SimilarityMeasure> ParseSimilarityMeasure(std::string_view name) {
  for (auto m : {SimilarityMeasure::kCosine, SimilarityMeasure::kJaccard,
                 SimilarityMeasure::kAsymmetricCosine}) {
    if (name == SimilarityMeasureName(m)) return m;
  }
  return Status::InvalidArgument("unknown similarity measure '" + std::string(name) +
                                 "' (cosine, jaccard or asymmetric_cosine)");
}

Status ValidateSimilarityOptions(const SimilarityOptions& o) {
  if (o.edge_type == kInvalidType) return Status::InvalidArgument("no edge type given");
  if (o.item_type == kInvalidType) return Status::InvalidArgument("no item type given");
  if (o.k < 1 || o.k > kMaxSimilarityK) {
    return Status::InvalidArgument("k must be between 1 and " + std::to_string(kMaxSimilarityK));
  }
  if (!(o.alpha >= 0 && o.alpha <= 1)) {
    return Status::InvalidArgument("alpha must be between 0 and 1");
  }
  if (!(o.shrink >= 0) || !std::isfinite(o.shrink)) {
    return Status::InvalidArgument("shrink must be a finite number >= 0");
  }
  if (o.min_cooccurrence < 1) return Status::InvalidArgument("min_cooccurrence must be >= 1");
  if (o.threads > 1024) return Status::InvalidArgument("threads must be at most 1024");
  if (!(o.max_recompute_share >= 0 && o.max_recompute_share <= 1)) {
    return Status::InvalidArgument("max_recompute_share must be between 0 and 1");
  }
  return Status::OK();
}

Result<SimilarityResult> ItemSimilarity(const Graph& graph, const SimilarityOptions& options) {
  PW_RETURN_IF_ERROR(ValidateSimilarityOptions(options));
  Relation rel = Snapshot(graph, options);
  Norms norms = ItemNorms(rel, options);
  SimilarityResult out;
  out.items_total = rel.items.size();
  out.fingerprints = Fingerprints(rel);
  std::vector<uint32_t> items;
  if (options.previous != nullptr) {
    items = ItemsToRecompute(rel, out.fingerprints, *options.previous, &out.items_changed);
    out.partial = static_cast<double>(items.size()) <=
                  options.max_recompute_share * static_cast<double>(rel.items.size());
  }
  if (!out.partial) {
    items.resize(rel.items.size());
    for (uint32_t i = 0; i < items.size(); ++i) items[i] = i;
  }
  std::vector<std::vector<ScoredItem>> per_item = RunWorkers(rel, norms, options, items);
  out.users = rel.users;
  out.relation_edges = rel.by_item.size();
  out.offsets.reserve(per_item.size() + 1);
  out.offsets.push_back(0);
  for (auto& list : per_item) {
    out.neighbors.insert(out.neighbors.end(), list.begin(), list.end());
    out.offsets.push_back(out.neighbors.size());
    std::vector<ScoredItem>().swap(list);
  }
  if (out.partial) {
    out.items.reserve(items.size());
    for (uint32_t i : items) out.items.push_back(rel.items[i]);
  } else {
    out.items = std::move(rel.items);
  }
  return out;
}

}  // namespace pathwise::graph
