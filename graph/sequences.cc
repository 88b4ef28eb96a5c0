// Sequence models over timestamped edges: the transition model and the NEXT scores
// (graph/sequences.h).
#include "graph/sequences.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>

namespace pathwise::graph {
namespace {

// One contribution 1/d to from -> to.
struct Pair {
  NodeId from;
  NodeId to;
  float weight;
};

// The user's history over the relation: items in (ts, id) order, at most max_items most recent.
void HistoryOf(const Graph& graph, NodeId user, const TransitionOptions& o,
               std::vector<Neighbor>* out) {
  out->clear();
  graph.ForEachNeighbor(user, o.edge_type, Direction::kOut, [&](const Neighbor& n) {
    if (graph.TypeOf(n.node) == o.item_type) out->push_back(n);
    return true;
  });
  std::sort(out->begin(), out->end(), [](const Neighbor& a, const Neighbor& b) {
    return a.ts != b.ts ? a.ts < b.ts : a.node < b.node;
  });
  if (o.max_items_per_user > 0 && out->size() > o.max_items_per_user) {
    out->erase(out->begin(), out->end() - static_cast<std::ptrdiff_t>(o.max_items_per_user));
  }
}

// Pairs a history of n items yields at most (each counted twice, as if all timestamps tied).
size_t MaxPairs(size_t n, size_t window) {
  size_t pairs = 0;
  for (size_t d = 1; d <= window && d < n; ++d) pairs += n - d;
  return 2 * pairs;
}

void AddPairs(const std::vector<Neighbor>& history, size_t window, std::vector<Pair>* pairs) {
  for (size_t a = 0; a < history.size(); ++a) {
    for (size_t d = 1; d <= window && a + d < history.size(); ++d) {
      const Neighbor& x = history[a];
      const Neighbor& y = history[a + d];
      if (x.node == y.node) continue;
      const float w = 1.0f / static_cast<float>(d);
      pairs->push_back({x.node, y.node, w});
      if (x.ts == y.ts) pairs->push_back({y.node, x.node, w});
    }
  }
}

// Sums the pairs per (from, to) and keeps the top k per from.
void TopSuccessors(std::vector<Pair>* pairs, size_t k, TransitionResult* out) {
  std::sort(pairs->begin(), pairs->end(), [](const Pair& a, const Pair& b) {
    return a.from != b.from ? a.from < b.from : a.to < b.to;
  });
  std::vector<ScoredItem> row;
  out->offsets.push_back(0);
  for (size_t i = 0; i < pairs->size();) {
    const NodeId from = (*pairs)[i].from;
    row.clear();
    while (i < pairs->size() && (*pairs)[i].from == from) {
      const NodeId to = (*pairs)[i].to;
      double sum = 0;
      for (; i < pairs->size() && (*pairs)[i].from == from && (*pairs)[i].to == to; ++i) {
        sum += (*pairs)[i].weight;
      }
      row.push_back({to, static_cast<float>(sum)});
    }
    const size_t keep = std::min(k, row.size());
    std::partial_sort(row.begin(), row.begin() + keep, row.end(),
                      [](const ScoredItem& a, const ScoredItem& b) {
                        return a.score != b.score ? a.score > b.score : a.node < b.node;
                      });
    out->items.push_back(from);
    out->neighbors.insert(out->neighbors.end(), row.begin(), row.begin() + keep);
    out->offsets.push_back(out->neighbors.size());
  }
}

}  // namespace

Status ValidateTransitionOptions(const TransitionOptions& o) {
  if (o.window < 1 || o.window > kMaxTransitionWindow) {
    return Status::InvalidArgument("window must be between 1 and " +
                                   std::to_string(kMaxTransitionWindow));
  }
  if (o.k < 1 || o.k > kMaxSimilarityK) {
    return Status::InvalidArgument("k must be between 1 and " + std::to_string(kMaxSimilarityK));
  }
  if (o.edge_type == kInvalidType || o.user_type == kInvalidType || o.item_type == kInvalidType) {
    return Status::InvalidArgument("the relation's edge, user and item types must be set");
  }
  return Status::OK();
}

Result<TransitionResult> ItemTransitions(const Graph& graph, const TransitionOptions& o) {
  PW_RETURN_IF_ERROR(ValidateTransitionOptions(o));
  const std::vector<NodeId> users = graph.NodesOfType(o.user_type);
  // First pass: bound the pairs before allocating them.
  size_t max_pairs = 0;
  for (NodeId user : users) {
    size_t n = graph.Degree(user, o.edge_type, Direction::kOut);
    if (o.max_items_per_user > 0) n = std::min(n, o.max_items_per_user);
    max_pairs += MaxPairs(n, o.window);
  }
  if (max_pairs > o.max_pair_bytes / sizeof(Pair)) {
    return Status::InvalidArgument(
        "the relation would produce up to " + std::to_string(max_pairs) + " pairs (" +
        std::to_string(max_pairs * sizeof(Pair) >> 20) + " MiB), over max_pair_bytes (" +
        std::to_string(o.max_pair_bytes >> 20) + " MiB): lower window or max_items_per_user");
  }
  TransitionResult result;
  std::vector<Pair> pairs;
  std::vector<Neighbor> history;
  auto last_report = std::chrono::steady_clock::now();
  for (size_t u = 0; u < users.size(); ++u) {
    HistoryOf(graph, users[u], o, &history);
    result.relation_edges += history.size();
    if (history.size() >= 2) ++result.users;
    AddPairs(history, o.window, &pairs);
    if (o.progress && std::chrono::steady_clock::now() - last_report > std::chrono::milliseconds(200)) {
      o.progress(u, users.size());
      last_report = std::chrono::steady_clock::now();
    }
  }
  result.pairs = pairs.size();
  TopSuccessors(&pairs, o.k, &result);
  if (o.progress) o.progress(users.size(), users.size());
  return result;
}

namespace {

Status ValidateNext(const NextOptions& o) {
  if (o.recent < 1 || o.recent > 100) return Status::InvalidArgument("recent must be between 1 and 100");
  if (!(o.decay > 0 && o.decay <= 1)) return Status::InvalidArgument("decay must be above 0 and at most 1");
  return Status::OK();
}

// A seed of NextOptions with the history edge that made it one.
struct RecentItem {
  Neighbor edge;  // user -> the item, over the history relation
  double weight;
};

// The seeds of NextOptions: the most recent history neighbours with their weights.
std::vector<RecentItem> RecentItems(const Graph& graph, NodeId user, const NextOptions& o) {
  std::vector<Neighbor> list;
  graph.ForEachNeighbor(user, o.history.edge_type, o.history.dir, [&](const Neighbor& n) {
    list.push_back(n);
    return true;
  });
  const size_t n = std::min(o.recent, list.size());
  std::partial_sort(list.begin(), list.begin() + static_cast<std::ptrdiff_t>(n), list.end(),
                    [](const Neighbor& a, const Neighbor& b) {
                      return a.ts != b.ts ? a.ts > b.ts : a.node < b.node;
                    });
  std::vector<RecentItem> seeds;
  size_t rank = 0;
  for (size_t i = 0; i < n; ++i) {
    if (i > 0 && list[i].ts != list[i - 1].ts) ++rank;
    seeds.push_back({list[i], std::pow(o.decay, static_cast<double>(rank))});
  }
  return seeds;
}

double EdgeValue(const Neighbor& n, bool weighted) {
  if (!weighted) return 1.0;
  return n.weight > 0 ? static_cast<double>(n.weight) : 0.0;  // NaN compares false
}

}  // namespace

Result<NextResult> NextItems(const Graph& graph, NodeId user, const NextOptions& o) {
  PW_RETURN_IF_ERROR(ValidateNext(o));
  NextResult result;
  for (const RecentItem& item : RecentItems(graph, user, o)) {
    result.seeds.push_back({item.edge.node, item.weight});
  }
  std::vector<std::pair<NodeId, double>> contributions;
  for (const Seed& seed : result.seeds) {
    if (o.deadline.Expired()) {
      result.deadline_hit = true;
      break;
    }
    graph.ForEachNeighbor(seed.node, o.follow.edge_type, o.follow.dir, [&](const Neighbor& n) {
      double value = seed.weight * EdgeValue(n, o.weighted);
      if (value > 0) contributions.push_back({n.node, value});
      return true;
    });
  }
  std::sort(contributions.begin(), contributions.end());
  for (size_t i = 0; i < contributions.size();) {
    const NodeId node = contributions[i].first;
    double sum = 0;
    for (; i < contributions.size() && contributions[i].first == node; ++i) sum += contributions[i].second;
    result.scores.push_back({node, sum});
  }
  std::sort(result.scores.begin(), result.scores.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  return result;
}

Path NextBestPath(const Graph& graph, NodeId user, NodeId candidate, const NextOptions& o) {
  if (!ValidateNext(o).ok()) return {};
  Path best;
  double best_value = 0;
  for (const RecentItem& seed : RecentItems(graph, user, o)) {
    const NodeId m = seed.edge.node;
    Neighbor to{};
    bool found = false;
    graph.ForEachNeighbor(m, o.follow.edge_type, o.follow.dir, [&](const Neighbor& n) {
      if (n.node != candidate) return true;
      to = n;
      found = true;
      return false;
    });
    const double value = found ? seed.weight * EdgeValue(to, o.weighted) : 0;
    if (value <= best_value) continue;
    const Neighbor& from = seed.edge;
    best_value = value;
    best = {{user, o.history.edge_type, o.history.dir, m, from.weight, from.ts, from.count},
            {m, o.follow.edge_type, o.follow.dir, candidate, to.weight, to.ts, to.count}};
  }
  return best;
}

}  // namespace pathwise::graph
