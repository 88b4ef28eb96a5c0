// `pathwise bench replace`: what replacing vectors costs an HNSW index and what it keeps of its
// recall, per neighbour-repair share (VectorIndex::SetReplaceRepairShare). One index of --points
// clustered vectors (the bench generator's shape: a centroid per 1,000 points, sigma 0.35 per
// dimension) is built once; for each move (far: each replaced point drawn around another random
// centroid, as a refreshed catalog of new embeddings; near: new noise around its own centroid)
// and each share, a copy of it has --replace points replaced one by one, each timed. Recall@10
// at ef 64 is then measured against an exact scan of the final vectors, for random queries and
// for queries next to the moved points, side by side with a fresh build of the same final
// vectors (the quality a rebuild would give).
#include <algorithm>
#include <cstdio>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "bench/commands.h"
#include "bench/harness.h"
#include "vector/vector.h"

namespace pathwise::bench {
namespace {

constexpr size_t kK = 10;
constexpr size_t kEf = 64;

struct Data {
  size_t dim = 0;
  std::vector<float> centroids;  // n_cats x dim
  std::vector<float> rows;       // points x dim, the initial vectors
};

void Around(const float* centroid, size_t dim, std::mt19937_64* rng, float* out) {
  std::normal_distribution<float> noise(0.0f, 0.35f);
  for (size_t d = 0; d < dim; ++d) out[d] = centroid[d] + noise(*rng);
}

Data MakeData(size_t points, size_t dim, uint64_t seed) {
  Data data;
  data.dim = dim;
  const size_t n_cats = std::max<size_t>(4, points / 1000);
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> unit(0.0f, 1.0f);
  data.centroids.resize(n_cats * dim);
  for (float& v : data.centroids) v = unit(rng);
  data.rows.resize(points * dim);
  for (size_t i = 0; i < points; ++i) {
    Around(&data.centroids[(rng() % n_cats) * dim], dim, &rng, &data.rows[i * dim]);
  }
  return data;
}

VectorSpaceDef SpaceDef(size_t dim, uint32_t ef_construction) {
  VectorSpaceDef def;
  def.node_type = "Item";
  def.name = "embedding";
  def.dim = static_cast<uint32_t>(dim);
  def.ef_construction = ef_construction;
  return def;
}

Result<std::unique_ptr<vector::VectorIndex>> Build(const VectorSpaceDef& def,
                                                   const std::vector<float>& rows, int threads) {
  PW_ASSIGN_OR_RETURN(auto index, vector::VectorIndex::Create(def));
  std::vector<NodeId> nodes(rows.size() / def.dim);
  for (size_t i = 0; i < nodes.size(); ++i) nodes[i] = i;
  PW_RETURN_IF_ERROR(index->UpsertBatch(nodes, rows, threads));
  return index;
}

// Recall@kK at ef kEf of `index` over `queries` against the exact answers `truth`.
Result<double> Recall(const vector::VectorIndex& index, const std::vector<float>& queries,
                      const std::vector<std::vector<NodeId>>& truth) {
  const size_t dim = index.def().dim;
  size_t found = 0, wanted = 0;
  vector::SearchOptions options;
  options.k = kK;
  options.ef = kEf;
  for (size_t q = 0; q < truth.size(); ++q) {
    PW_ASSIGN_OR_RETURN(auto r, index.Search({&queries[q * dim], dim}, options));
    for (const vector::Hit& hit : r.hits) {
      found += std::count(truth[q].begin(), truth[q].end(), hit.node);
    }
    wanted += truth[q].size();
  }
  return wanted == 0 ? 0.0 : static_cast<double>(found) / static_cast<double>(wanted);
}

std::vector<float> ParseShares(const std::string& text) {
  std::vector<float> shares;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) shares.push_back(std::stof(part));
  return shares;
}

Status Run(const Flags& flags, Report* report) {
  const size_t points = static_cast<size_t>(flags.GetInt("points", 100000));
  const size_t dim = static_cast<size_t>(flags.GetInt("dim", 128));
  const size_t replace = static_cast<size_t>(flags.GetInt("replace", static_cast<int64_t>(points / 5)));
  const size_t n_queries = static_cast<size_t>(flags.GetInt("queries", 1000));
  const int threads = static_cast<int>(flags.GetInt("threads", 2));
  const auto ef_construction = static_cast<uint32_t>(flags.GetInt("ef-construction", 200));
  const uint64_t seed = static_cast<uint64_t>(flags.GetInt("seed", 42));
  std::vector<float> shares;
  try {
    shares = ParseShares(flags.Get("shares", "1,0.25,0.1,0"));
  } catch (const std::exception&) {
    return Status::InvalidArgument("--shares: a comma-separated list of numbers in [0, 1]");
  }
  if (points < 100 || dim == 0 || dim > 4096 || replace == 0 || replace > points ||
      n_queries == 0 || shares.empty()) {
    return Status::InvalidArgument(
        "need --points >= 100, --dim in [1, 4096], --replace in [1, points], --queries >= 1");
  }
  const VectorSpaceDef def = SpaceDef(dim, ef_construction);
  report->Info("config", {{"points", points}, {"dim", dim}, {"replace", replace},
                          {"queries", n_queries}, {"ef_construction", ef_construction},
                          {"k", kK}, {"ef", kEf}, {"threads", threads}});
  Data data = MakeData(points, dim, seed);
  double start = NowSeconds();
  PW_ASSIGN_OR_RETURN(auto base, Build(def, data.rows, threads));
  report->Value("build.seconds", NowSeconds() - start, "s");
  PW_ASSIGN_OR_RETURN(std::string base_bytes, base->SnapshotBytes());
  base.reset();

  const size_t n_cats = data.centroids.size() / dim;
  const std::string moves = "," + flags.Get("moves", "far,near") + ",";
  for (const char* move : {"far", "near"}) {
    if (moves.find("," + std::string(move) + ",") == std::string::npos) continue;
    // The replaced points (the first `replace` of a shuffle) and their new vectors.
    std::mt19937_64 rng(seed ^ (move[0] == 'f' ? 0xfa4 : 0x4ea4));
    std::vector<NodeId> order(points);
    for (size_t i = 0; i < points; ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), rng);
    order.resize(replace);
    std::vector<float> fresh(replace * dim);
    std::vector<float> final_rows = data.rows;
    for (size_t j = 0; j < replace; ++j) {
      const float* own = &data.rows[order[j] * dim];
      if (move[0] == 'f') {
        Around(&data.centroids[(rng() % n_cats) * dim], dim, &rng, &fresh[j * dim]);
      } else {
        // Around its own centroid: the nearest one to its old vector.
        size_t best = 0;
        float best_d = 1e30f;
        for (size_t c = 0; c < n_cats; ++c) {
          float d2 = 0;
          for (size_t d = 0; d < dim; ++d) {
            float x = own[d] - data.centroids[c * dim + d];
            d2 += x * x;
          }
          if (d2 < best_d) best_d = d2, best = c;
        }
        Around(&data.centroids[best * dim], dim, &rng, &fresh[j * dim]);
      }
      std::copy_n(&fresh[j * dim], dim, &final_rows[order[j] * dim]);
    }
    // Queries: half around random centroids, half next to moved points' new vectors.
    std::vector<float> random_q(n_queries * dim), moved_q(n_queries * dim);
    std::normal_distribution<float> small(0.0f, 0.1f);
    for (size_t q = 0; q < n_queries; ++q) {
      Around(&data.centroids[(rng() % n_cats) * dim], dim, &rng, &random_q[q * dim]);
      const float* v = &fresh[(rng() % replace) * dim];
      for (size_t d = 0; d < dim; ++d) moved_q[q * dim + d] = v[d] + small(rng);
    }
    // The exact answers and the rebuild's recall, from a fresh build of the final vectors.
    start = NowSeconds();
    PW_ASSIGN_OR_RETURN(auto rebuilt, Build(def, final_rows, threads));
    const double rebuild_seconds = NowSeconds() - start;
    std::vector<std::vector<NodeId>> truth_random(n_queries), truth_moved(n_queries);
    vector::SearchOptions exact;
    exact.k = kK;
    for (size_t q = 0; q < n_queries; ++q) {
      PW_ASSIGN_OR_RETURN(auto a, rebuilt->SearchExact({&random_q[q * dim], dim}, exact));
      PW_ASSIGN_OR_RETURN(auto b, rebuilt->SearchExact({&moved_q[q * dim], dim}, exact));
      for (const auto& h : a.hits) truth_random[q].push_back(h.node);
      for (const auto& h : b.hits) truth_moved[q].push_back(h.node);
    }
    const std::string prefix = std::string("replace.") + move;
    PW_ASSIGN_OR_RETURN(double rebuilt_random, Recall(*rebuilt, random_q, truth_random));
    PW_ASSIGN_OR_RETURN(double rebuilt_moved, Recall(*rebuilt, moved_q, truth_moved));
    report->Value(prefix + ".rebuild.seconds", rebuild_seconds, "s");
    report->Value(prefix + ".rebuild.recall_random", rebuilt_random, "");
    report->Value(prefix + ".rebuild.recall_moved", rebuilt_moved, "");
    rebuilt.reset();

    for (float share : shares) {
      PW_ASSIGN_OR_RETURN(auto index, vector::VectorIndex::LoadSnapshotBytes(def, base_bytes));
      index->SetReplaceRepairShare(share);
      Samples each;
      start = NowSeconds();
      for (size_t j = 0; j < replace; ++j) {
        double t = NowSeconds();
        PW_RETURN_IF_ERROR(index->Upsert(order[j], {&fresh[j * dim], dim}));
        each.Add((NowSeconds() - t) * 1e6);
      }
      const double seconds = NowSeconds() - start;
      char name[64];
      std::snprintf(name, sizeof(name), "%s.share_%g", prefix.c_str(), share);
      report->Latency(std::string(name) + ".replace", each);
      report->Value(std::string(name) + ".replace.seconds", seconds, "s");
      PW_ASSIGN_OR_RETURN(double r_random, Recall(*index, random_q, truth_random));
      PW_ASSIGN_OR_RETURN(double r_moved, Recall(*index, moved_q, truth_moved));
      report->Value(std::string(name) + ".recall_random", r_random, "");
      report->Value(std::string(name) + ".recall_moved", r_moved, "");
    }
  }
  return Status::OK();
}

}  // namespace

int ReplaceMain(int argc, char** argv) {
  return RunCommand("replace", argc, argv,
                    {"points", "dim", "replace", "queries", "threads", "ef-construction", "seed",
                     "shares", "moves", "json"},
                    Run);
}

}  // namespace pathwise::bench
