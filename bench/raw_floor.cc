// Raw floors: graph::Graph and hnswlib (through VectorIndex::SearchRaw) used directly.
#include "bench/raw_floor.h"

#include <algorithm>
#include <cstdio>
#include <random>
#include <thread>
#include <unordered_set>

namespace pathwise::bench {
namespace {

constexpr TypeId kNodeType = 0;
constexpr TypeId kLinkType = 0;
constexpr TypeId kSimilarType = 1;

double Micros(double start) { return (NowSeconds() - start) * 1e6; }

// Keeps the optimiser from discarding a result.
volatile size_t g_sink = 0;

}  // namespace

std::vector<std::pair<std::string, Samples>> RawOneHop(size_t runs, uint64_t seed) {
  auto graph = graph::Graph::CreateEmpty();
  std::mt19937_64 rng(seed);
  const size_t kTargets = 50000;
  std::vector<NodeId> targets;
  for (size_t i = 0; i < kTargets; ++i) {
    targets.push_back(graph->AddNode(kNodeType, "t" + std::to_string(i), {}));
  }
  std::vector<std::pair<std::string, Samples>> out;
  std::vector<graph::Neighbor> buffer;
  for (size_t degree : {10, 100, 1000, 10000}) {
    NodeId hub = graph->AddNode(kNodeType, "hub" + std::to_string(degree), {});
    std::unordered_set<size_t> chosen;
    while (chosen.size() < degree) chosen.insert(rng() % kTargets);
    for (size_t t : chosen) {
      graph->PutEdge(hub, kLinkType, targets[t], static_cast<float>((rng() % 1000) / 1000.0), 1,
                     static_cast<int64_t>(rng() % 1000000));
    }
    Samples visit, top;
    for (size_t run = 0; run < runs + 10; ++run) {
      double start = NowSeconds();
      size_t count = 0;
      double sum = 0;
      graph->ForEachNeighbor(hub, kLinkType, graph::Direction::kOut, [&](const graph::Neighbor& n) {
        ++count;
        sum += n.weight;
        return true;
      });
      double t_visit = Micros(start);
      g_sink = count + static_cast<size_t>(sum);
      start = NowSeconds();
      buffer.clear();
      g_sink = graph->TopNeighbors(hub, kLinkType, graph::Direction::kOut, degree, &buffer);
      double t_top = Micros(start);
      if (run >= 10) {
        visit.Add(t_visit);
        top.Add(t_top);
      }
    }
    out.emplace_back("one_hop.raw_visit.degree_" + std::to_string(degree), visit);
    out.emplace_back("one_hop.raw_top_neighbors.degree_" + std::to_string(degree), top);
  }
  return out;
}

TwoHopSamples RawTwoHop(size_t runs, uint64_t seed) {
  auto graph = graph::Graph::CreateEmpty();
  std::mt19937_64 rng(seed + 7);
  const size_t kSources = 1000, kMiddles = 20000, kFirst = 60, kSecond = 30;
  std::vector<NodeId> sources, middles;
  for (size_t i = 0; i < kSources; ++i) {
    sources.push_back(graph->AddNode(kNodeType, "s" + std::to_string(i), {}));
  }
  for (size_t i = 0; i < kMiddles; ++i) {
    middles.push_back(graph->AddNode(kNodeType, "m" + std::to_string(i), {}));
  }
  auto weight = [&] { return static_cast<float>(0.001 + (rng() % 1000) / 1000.0); };
  for (NodeId s : sources) {
    for (size_t j = 0; j < kFirst; ++j) {
      graph->PutEdge(s, kLinkType, middles[rng() % kMiddles], weight(), 1, 0);
    }
  }
  for (NodeId m : middles) {
    for (size_t j = 0; j < kSecond; ++j) {
      graph->PutEdge(m, kSimilarType, middles[rng() % kMiddles], weight(), 1, 0);
    }
  }
  std::vector<float> score(graph->IdBound(), 0.0f);
  std::vector<NodeId> touched;
  std::vector<graph::Neighbor> first, second;
  TwoHopSamples samples;
  for (size_t run = 0; run < runs + 100; ++run) {
    NodeId source = sources[rng() % kSources];
    if (run % 2 == 1) {
      double start = NowSeconds();
      size_t taken = 0;
      graph->ForEachNeighbor(source, kLinkType, graph::Direction::kOut,
                             [&](const graph::Neighbor& a) {
                               size_t inner = 0;
                               graph->ForEachNeighbor(a.node, kSimilarType, graph::Direction::kOut,
                                                      [&](const graph::Neighbor& b) {
                                                        if (score[b.node] == 0.0f)
                                                          touched.push_back(b.node);
                                                        score[b.node] += a.weight * b.weight;
                                                        return ++inner < 20;
                                                      });
                               return ++taken < 50;
                             });
      size_t top = std::min<size_t>(10, touched.size());
      std::partial_sort(touched.begin(), touched.begin() + top, touched.end(),
                        [&](NodeId x, NodeId y) { return score[x] > score[y]; });
      g_sink = touched.empty() ? 0 : touched[0];
      for (NodeId n : touched) score[n] = 0.0f;
      touched.clear();
      double micros = Micros(start);
      if (run >= 100) samples.unranked.Add(micros);
      continue;
    }
    double start = NowSeconds();
    first.clear();
    graph->TopNeighbors(source, kLinkType, graph::Direction::kOut, 50, &first);
    for (const auto& a : first) {
      second.clear();
      graph->TopNeighbors(a.node, kSimilarType, graph::Direction::kOut, 20, &second);
      for (const auto& b : second) {
        if (score[b.node] == 0.0f) touched.push_back(b.node);
        score[b.node] += a.weight * b.weight;
      }
    }
    size_t top = std::min<size_t>(10, touched.size());
    std::partial_sort(touched.begin(), touched.begin() + top, touched.end(),
                      [&](NodeId x, NodeId y) { return score[x] > score[y]; });
    g_sink = touched.empty() ? 0 : touched[0];
    for (NodeId n : touched) score[n] = 0.0f;
    touched.clear();
    double micros = Micros(start);
    if (run >= 100) samples.ranked.Add(micros);
  }
  return samples;
}

namespace {

// Up to `queries` taste vectors of random users (the same users for the same seed).
Result<std::vector<std::vector<float>>> TasteQueries(const RawCopy& raw, size_t queries,
                                                     size_t users, uint64_t seed) {
  std::mt19937_64 rng(seed + 3);
  std::vector<std::vector<float>> query_vectors;
  for (size_t attempt = 0; query_vectors.size() < queries && attempt < queries * 4; ++attempt) {
    NodeId user = raw.graph->Lookup(raw.user_type, UserId(rng() % users));
    if (user == kInvalidNode) continue;
    auto v = raw.user_index->Get(user);
    if (v.ok()) query_vectors.push_back(std::move(v).value());
  }
  if (query_vectors.empty()) return Status::Internal("no user taste vectors found");
  return query_vectors;
}

// The share of truth's nodes among found's.
double Recall(const std::vector<NodeId>& found, const std::unordered_set<NodeId>& truth) {
  size_t hits = 0;
  for (NodeId node : found) hits += truth.count(node);
  return truth.empty() ? 1.0 : static_cast<double>(hits) / static_cast<double>(truth.size());
}

std::vector<NodeId> NodesOf(const vector::SearchResult& result) {
  std::vector<NodeId> out;
  for (const vector::Hit& hit : result.hits) out.push_back(hit.node);
  return out;
}

}  // namespace

// Recall@10 at ef 64 of one index over the queries, against truth (one set per query).
template <typename Search>
double Recall10(const std::vector<std::vector<float>>& queries,
                const std::vector<std::unordered_set<NodeId>>& truth, Search search) {
  double sum = 0;
  for (size_t i = 0; i < queries.size(); ++i) sum += Recall(search(queries[i]), truth[i]);
  return sum / static_cast<double>(std::max<size_t>(queries.size(), 1));
}

// The vectors of a loaded index over the nodes of type, with their nodes.
void SpaceRows(const RawCopy& raw, const vector::VectorIndex& loaded, TypeId type,
               std::vector<NodeId>* nodes, std::vector<float>* rows) {
  const size_t dim = loaded.def().dim;
  for (NodeId node : raw.graph->NodesOfType(type)) {
    size_t at = rows->size();
    rows->resize(at + dim);
    if (!loaded.CopyTo(node, std::span<float>(*rows).subspan(at, dim))) {
      rows->resize(at);
      continue;
    }
    nodes->push_back(node);
  }
}

void ReportSpread(Report* report, const std::string& name, const std::vector<double>& values,
                  const char* unit, const std::string& note) {
  std::vector<double> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  char text[300];
  std::snprintf(text, sizeof(text), "%s; median of %zu, min %.4g, max %.4g", note.c_str(),
                sorted.size(), sorted.front(), sorted.back());
  report->Value(name, sorted[sorted.size() / 2], unit, text);
}

Status MeasureHnswBuild(Report* report, const RawCopy& raw, double load_vector_seconds,
                        double load_vector_cpu_seconds, size_t queries, size_t users,
                        uint64_t seed, size_t builds) {
  const vector::VectorIndex& loaded = *raw.item_index;
  const VectorSpaceDef& def = loaded.def();
  std::vector<NodeId> nodes, user_nodes;
  std::vector<float> rows, user_rows;
  SpaceRows(raw, loaded, raw.item_type, &nodes, &rows);
  // The users' taste space too, raw: a load's HNSW phase builds both spaces.
  SpaceRows(raw, *raw.user_index, raw.user_type, &user_nodes, &user_rows);
  PW_ASSIGN_OR_RETURN(auto query_vectors, TasteQueries(raw, queries, users, seed));
  std::vector<std::unordered_set<NodeId>> truth;
  for (const auto& q : query_vectors) {
    vector::SearchOptions exact;
    exact.k = 10;
    PW_ASSIGN_OR_RETURN(auto result, loaded.SearchExact(q, exact));
    std::vector<NodeId> found = NodesOf(result);
    truth.emplace_back(found.begin(), found.end());
  }
  auto searched = [](const vector::VectorIndex& index) {
    return [&index](const std::vector<float>& q) {
      auto result = index.SearchRaw(q, 10, 64);
      return result.ok() ? NodesOf(*result) : std::vector<NodeId>{};
    };
  };
  const int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<double> raw_seconds, raw_user_seconds, pathwise_seconds, raw_recall, pathwise_recall;
  std::vector<double> raw_both_cpu;  // process CPU seconds of each raw build of both spaces
  for (size_t b = 0; b < std::max<size_t>(builds, 1); ++b) {
    for (int side = 0; side < 2; ++side) {  // raw first in even builds, Pathwise first in odd
      if ((side == 0) == (b % 2 == 0)) {
        std::fprintf(stderr, "hnsw_build %zu: raw hnswlib, %zu vectors\n", b, nodes.size());
        double cpu = ProcessCpuSeconds();
        PW_ASSIGN_OR_RETURN(auto floor, vector::RawHnswFloor::Build(def, rows, threads));
        cpu = ProcessCpuSeconds() - cpu;
        raw_seconds.push_back(floor->build_seconds());
        raw_recall.push_back(Recall10(query_vectors, truth, [&](const std::vector<float>& q) {
          std::vector<NodeId> out;
          for (size_t row : floor->Search(q, 10, 64)) out.push_back(nodes[row]);
          return out;
        }));
        floor.reset();
        if (load_vector_seconds >= 0) {
          std::fprintf(stderr, "hnsw_build %zu: raw hnswlib, %zu user vectors\n", b,
                       user_nodes.size());
          const double user_cpu = ProcessCpuSeconds();
          PW_ASSIGN_OR_RETURN(auto users,
                              vector::RawHnswFloor::Build(raw.user_index->def(), user_rows, threads));
          raw_user_seconds.push_back(users->build_seconds());
          raw_both_cpu.push_back(cpu + ProcessCpuSeconds() - user_cpu);
        }
      } else {
        std::fprintf(stderr, "hnsw_build %zu: Pathwise, %zu vectors\n", b, nodes.size());
        PW_ASSIGN_OR_RETURN(auto rebuilt, vector::VectorIndex::Create(def));
        double start = NowSeconds();
        PW_RETURN_IF_ERROR(rebuilt->UpsertBatch(nodes, rows, threads));
        pathwise_seconds.push_back(NowSeconds() - start);
        pathwise_recall.push_back(Recall10(query_vectors, truth, searched(*rebuilt)));
      }
    }
  }
  char note[200];
  std::snprintf(note, sizeof(note), "%zu vectors, dim %zu, m %zu, ef_construction %zu, %d threads",
                nodes.size(), static_cast<size_t>(def.dim), static_cast<size_t>(def.m),
                static_cast<size_t>(def.ef_construction), threads);
  ReportSpread(report, "hnsw_build.raw_hnswlib_seconds", raw_seconds, "s", note);
  ReportSpread(report, "hnsw_build.pathwise_seconds", pathwise_seconds, "s",
               "a new VectorIndex, UpsertBatch; builds alternate which goes first");
  std::vector<double> ratios;
  for (size_t b = 0; b < raw_seconds.size(); ++b) ratios.push_back(pathwise_seconds[b] / raw_seconds[b]);
  ReportSpread(report, "hnsw_build.pathwise_over_raw", ratios, "x",
               "per build pair; issue 14: the HNSW phase within 1.3x of raw hnswlib");
  if (load_vector_seconds >= 0) {
    // Both spaces, raw, build by build: the floor of the load's phase.
    std::vector<double> raw_both;
    for (size_t b = 0; b < raw_seconds.size(); ++b) {
      raw_both.push_back(raw_seconds[b] + raw_user_seconds[b]);
    }
    ReportSpread(report, "hnsw_build.raw_hnswlib_both_spaces_seconds", raw_both, "s",
                 "the item vectors and the " + std::to_string(user_nodes.size()) +
                     " users' taste vectors (their space's parameters), raw hnswlib");
    std::sort(raw_both.begin(), raw_both.end());
    report->Value("hnsw_build.load_phase_over_raw", load_vector_seconds / raw_both[raw_both.size() / 2],
                  "x",
                  "issue 14: this run's load, its HNSW phase (both spaces) over raw hnswlib's builds "
                  "of the same vectors (median)");
    if (load_vector_cpu_seconds >= 0) {
      ReportSpread(report, "hnsw_build.raw_hnswlib_both_spaces_cpu_seconds", raw_both_cpu, "s",
                   "process CPU time of the raw builds of both spaces");
      std::sort(raw_both_cpu.begin(), raw_both_cpu.end());
      report->Value("hnsw_build.load_phase_cpu_seconds", load_vector_cpu_seconds, "s",
                    "process CPU time while the load inserted its held vectors");
      report->Value("hnsw_build.load_phase_cpu_over_raw",
                    load_vector_cpu_seconds / raw_both_cpu[raw_both_cpu.size() / 2], "x",
                    "the same ratio in CPU time, which other processes on the machine do not "
                    "lengthen");
    }
  }
  std::snprintf(note, sizeof(note), "recall@10 at ef 64 against an exact scan, %zu taste queries",
                query_vectors.size());
  report->Value("hnsw_build.recall10_ef64.loaded", Recall10(query_vectors, truth, searched(loaded)),
                "", note);
  ReportSpread(report, "hnsw_build.recall10_ef64.pathwise_rebuilt", pathwise_recall, "",
               "the indexes of hnsw_build.pathwise_seconds");
  ReportSpread(report, "hnsw_build.recall10_ef64.raw_hnswlib", raw_recall, "",
               "issue 14: the loaded index within 0.01 of this");
  return Status::OK();
}

Result<KnnSweep> SweepKnn(const RawCopy& raw, size_t queries, size_t users, uint64_t seed) {
  KnnSweep sweep;
  PW_ASSIGN_OR_RETURN(auto query_vectors, TasteQueries(raw, queries, users, seed));
  const vector::VectorIndex& index = *raw.item_index;
  // Ground truth: exact top 200 (the top 10 is its prefix).
  std::vector<std::unordered_set<NodeId>> truth10, truth200;
  for (const auto& q : query_vectors) {
    vector::SearchOptions options;
    options.k = 200;
    double start = NowSeconds();
    PW_ASSIGN_OR_RETURN(auto exact, index.SearchExact(q, options));
    sweep.exact.Add(Micros(start));
    std::unordered_set<NodeId> t10, t200;
    for (size_t i = 0; i < exact.hits.size(); ++i) {
      if (i < 10) t10.insert(exact.hits[i].node);
      t200.insert(exact.hits[i].node);
    }
    truth10.push_back(std::move(t10));
    truth200.push_back(std::move(t200));
  }
  const std::vector<std::pair<size_t, std::vector<size_t>>> plan = {
      {10, {10, 20, 40, 64, 128}}, {200, {200, 300, 400, 600, 800, 1200}}};
  for (const auto& entry : plan) {
    // Named copies, not structured bindings: lambdas below capture k (clang 14 refuses bindings).
    const auto k = entry.first;
    const auto& efs = entry.second;
    const auto& truth = k == 10 ? truth10 : truth200;
    sweep.min_ef_for_target[k] = 0;
    for (size_t ef : efs) {
      KnnRow row;
      row.k = k;
      row.ef = ef;
      size_t wrapper_hits = 0, raw_hits = 0, expected = 0;
      const size_t reps = 3;  // every query three times, alternating order
      for (size_t rep = 0; rep < reps; ++rep) {
        for (size_t qi = 0; qi < query_vectors.size(); ++qi) {
          const auto& q = query_vectors[qi];
          vector::SearchOptions options;
          options.k = k;
          options.ef = ef;
          auto run_wrapper = [&]() -> Status {
            double start = NowSeconds();
            PW_ASSIGN_OR_RETURN(auto r, index.Search(q, options));
            row.wrapper.Add(Micros(start));
            if (rep == 0) {
              for (const auto& h : r.hits) wrapper_hits += truth[qi].count(h.node);
            }
            return Status::OK();
          };
          auto run_raw = [&]() -> Status {
            double start = NowSeconds();
            PW_ASSIGN_OR_RETURN(auto r, index.SearchRaw(q, k, ef));
            row.raw.Add(Micros(start));
            if (rep == 0) {
              for (const auto& h : r.hits) raw_hits += truth[qi].count(h.node);
            }
            return Status::OK();
          };
          if ((qi + rep) % 2 == 0) {
            PW_RETURN_IF_ERROR(run_wrapper());
            PW_RETURN_IF_ERROR(run_raw());
          } else {
            PW_RETURN_IF_ERROR(run_raw());
            PW_RETURN_IF_ERROR(run_wrapper());
          }
          if (rep == 0) expected += truth[qi].size() < k ? truth[qi].size() : k;
        }
      }
      row.wrapper_recall = expected ? static_cast<double>(wrapper_hits) / expected : 0;
      row.raw_recall = expected ? static_cast<double>(raw_hits) / expected : 0;
      if (row.wrapper_recall >= 0.99 && sweep.min_ef_for_target[k] == 0) {
        sweep.min_ef_for_target[k] = ef;
      }
      sweep.rows.push_back(std::move(row));
    }
  }
  return sweep;
}

FloorTimes RecommendFloor(const RawCopy& raw, NodeId user, size_t k, size_t ef, size_t per_node,
                          std::vector<float>* scratch, std::vector<NodeId>* touched) {
  FloorTimes t;
  double start = NowSeconds();
  auto taste = raw.user_index->Get(user);
  if (taste.ok()) {
    auto hits = raw.item_index->SearchRaw(taste.value(), k, ef);
    if (hits.ok()) t.candidates += hits->hits.size();
  }
  double mid = NowSeconds();
  t.nearest_us = (mid - start) * 1e6;
  if (scratch->size() < raw.graph->IdBound()) scratch->assign(raw.graph->IdBound(), 0.0f);
  std::vector<graph::Neighbor> first, second;
  for (TypeId type : {raw.viewed, raw.bought}) {
    second.clear();
    raw.graph->TopNeighbors(user, type, graph::Direction::kOut, per_node, &second);
    first.insert(first.end(), second.begin(), second.end());
  }
  if (first.size() > per_node) {
    std::partial_sort(
        first.begin(), first.begin() + per_node, first.end(),
        [](const graph::Neighbor& a, const graph::Neighbor& b) { return a.weight > b.weight; });
    first.resize(per_node);
  }
  for (const auto& a : first) {
    second.clear();
    raw.graph->TopNeighbors(a.node, raw.similar, graph::Direction::kOut, per_node, &second);
    for (const auto& b : second) {
      if ((*scratch)[b.node] == 0.0f) touched->push_back(b.node);
      (*scratch)[b.node] += a.weight * b.weight;
    }
  }
  t.candidates += touched->size();
  for (NodeId n : *touched) (*scratch)[n] = 0.0f;
  touched->clear();
  double end = NowSeconds();
  t.expand_us = (end - mid) * 1e6;
  t.total_us = (end - start) * 1e6;
  return t;
}

}  // namespace pathwise::bench
