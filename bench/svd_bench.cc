// The svd embeddings job and online fold-in, measured (bench/svd_bench.h).
#include "bench/svd_bench.h"

#include <filesystem>
#include <random>

#include "bench/fixture.h"
#include "bench/generator.h"
#include "db/fold_in.h"
#include "jobs/jobs.h"

namespace pathwise::bench {
namespace {

constexpr char kItemSpace[] = "Item.factors";
constexpr char kUserSpace[] = "User.svd_taste";

// runs single VIEWED events for random existing users on random items, unsynced (the fold-in
// cost is compute, not fsync), each timed alone.
Result<Samples> TimeEvents(Database* db, size_t runs, size_t users, size_t items,
                           std::mt19937_64* rng) {
  Samples samples;
  for (size_t run = 0; run < runs; ++run) {
    WriteSet set;
    EdgeWrite e;
    e.type = "VIEWED";
    e.from = {"User", UserId((*rng)() % users)};
    e.to = {"Item", ItemId((*rng)() % items)};
    set.ops.push_back(e);
    double start = NowSeconds();
    PW_RETURN_IF_ERROR(db->Apply(set, WriteOptions{false}));
    samples.Add((NowSeconds() - start) * 1e6);
  }
  return samples;
}

// The fold-in computation alone for random users of a raw copy: in full (their VIEWED edges,
// then ComputeFoldIn over the item factors), and incrementally for one changed VIEWED edge
// (+1 to a random one of theirs: the user's vector read from the user space, FoldInIncrement),
// as the stager computes it for a user the ledger knows. Also reports the mean history size.
Status TimeFoldIn(Report* report, Database* db, const std::string& raw_dir, size_t runs,
                  size_t users, std::mt19937_64* rng) {
  PW_ASSIGN_OR_RETURN(FoldInModel stored, db->GetFoldIn("VIEWED"));
  PW_ASSIGN_OR_RETURN(auto raw, OpenRawCopy(db, raw_dir));
  PW_ASSIGN_OR_RETURN(FoldIn model, ResolveFoldIn(raw->schema, stored));
  const vector::VectorIndex* factors = raw->vectors->Get(model.item_space);
  const vector::VectorIndex* tastes = raw->vectors->Get(model.user_space);
  if (factors == nullptr || tastes == nullptr) return Status::Internal("no index for the model");
  Samples samples, increments;
  size_t edges_seen = 0;
  std::vector<std::pair<NodeId, double>> edges;
  std::vector<float> out;
  for (size_t run = 0; run < runs; ++run) {
    NodeId user = raw->graph->Lookup(raw->user_type, UserId((*rng)() % users));
    double start = NowSeconds();
    edges.clear();
    raw->graph->ForEachNeighbor(user, raw->viewed, storage::Direction::kOut,
                                [&](const graph::Neighbor& nb) {
                                  edges.emplace_back(nb.node, nb.weight);
                                  return true;
                                });
    ComputeFoldIn(model, *factors, edges, &out);
    samples.Add((NowSeconds() - start) * 1e6);
    edges_seen += edges.size();
    if (edges.empty()) continue;
    const std::pair<NodeId, double> change{edges[(*rng)() % edges.size()].first, 1.0};
    start = NowSeconds();
    out.resize(model.scale.size());
    if (tastes->CopyTo(user, out)) FoldInIncrement(model, *factors, {&change, 1}, &out);
    increments.Add((NowSeconds() - start) * 1e6);
  }
  report->Latency("svd.fold_in_compute", samples,
                  "in full: a user's VIEWED edges + sum of weight x 64-d item factor");
  report->Latency("svd.fold_in_increment_compute", increments,
                  "incremental, one edge changed: the user's vector + 1 x one 64-d item factor");
  report->Value("svd.fold_in_history_mean", static_cast<double>(edges_seen) / runs, "edges",
                "VIEWED edges per sampled user");
  return Status::OK();
}

// The svd job on db with the user space's index `user_index` (its figures under `prefix`).
Status RunJob(Report* report, Database* db, const char* user_index, const std::string& prefix) {
  nlohmann::json params = {{"edge", "VIEWED"}, {"rank", 64}, {"item_space", kItemSpace},
                           {"user_space", kUserSpace}, {"user_index", user_index}};
  PW_ASSIGN_OR_RETURN(nlohmann::json result, jobs::Run(*db, "svd", params));
  for (const char* key : {"read_seconds", "compute_seconds", "write_seconds", "store_seconds",
                          "swap_seconds", "seconds"}) {
    report->Value(prefix + key, result[key].get<double>(), "s");
  }
  report->Info(prefix + "result", result);
  return Status::OK();
}

// The same events on each database in turn, in blocks of 50, so that the machine's load falls on
// all of them alike; one Samples per database.
Result<std::vector<Samples>> TimeEventsInterleaved(const std::vector<Database*>& dbs, size_t runs,
                                                   size_t users, size_t items,
                                                   std::mt19937_64* rng) {
  constexpr size_t kBlock = 50;
  std::vector<Samples> out(dbs.size());
  for (size_t done = 0; done < runs; done += kBlock) {
    const uint64_t block_seed = (*rng)();
    for (size_t d = 0; d < dbs.size(); ++d) {
      std::mt19937_64 block_rng(block_seed);
      PW_ASSIGN_OR_RETURN(Samples block, TimeEvents(dbs[d], std::min(kBlock, runs - done), users,
                                                    items, &block_rng));
      for (double v : block.values()) out[d].Add(v);
    }
  }
  return out;
}

// NEAREST 10 over the user space from random users' own vectors, through PQL.
Result<Samples> TimeUserNearest(Database* db, size_t runs, size_t users, std::mt19937_64* rng) {
  const std::string query = "RECOMMEND (c:User) FOR (u:User {id: $user}) FROM NEAREST 10 TO u." +
                            std::string(kUserSpace).substr(5) + " IN " + kUserSpace + " LIMIT 10";
  Samples samples;
  for (size_t run = 0; run < runs; ++run) {
    nlohmann::json params = {{"user", UserId((*rng)() % users)}};
    double start = NowSeconds();
    PW_ASSIGN_OR_RETURN(QueryResult result, db->Query(query, params));
    samples.Add((NowSeconds() - start) * 1e6);
  }
  return samples;
}

// A flat space of n random 64-d ip vectors, outside any database: filling it, and exact
// NEAREST 10 searches.
Status MeasureFlatScan(Report* report, size_t n, const std::string& label, std::mt19937_64* rng) {
  VectorSpaceDef def;
  def.node_type = "User";
  def.name = "flat";
  def.dim = 64;
  def.metric = Metric::kInnerProduct;
  def.index = VectorIndexKind::kFlat;
  PW_ASSIGN_OR_RETURN(auto index, vector::VectorIndex::Create(def));
  std::normal_distribution<float> gauss(0, 1);
  std::vector<float> rows(n * def.dim);
  for (float& v : rows) v = gauss(*rng);
  std::vector<NodeId> nodes(n);
  for (size_t i = 0; i < n; ++i) nodes[i] = i;
  double start = NowSeconds();
  PW_RETURN_IF_ERROR(index->UpsertBatch(nodes, rows, 1));
  report->Value("svd.flat_fill_" + label + "_seconds", NowSeconds() - start, "s",
                "UpsertBatch of " + std::to_string(n) + " 64-d vectors into a flat space");
  Samples samples;
  std::vector<float> q(def.dim);
  for (size_t run = 0; run < 200; ++run) {
    for (float& v : q) v = gauss(*rng);
    start = NowSeconds();
    PW_ASSIGN_OR_RETURN(vector::SearchResult r, index->Search(q, vector::SearchOptions{.k = 10}));
    samples.Add((NowSeconds() - start) * 1e6);
  }
  report->Latency("svd.flat_search_" + label, samples,
                  "VectorIndex::Search k 10, exact scan of " + std::to_string(n) + " 64-d vectors");
  return Status::OK();
}

}  // namespace

Status MeasureSvd(Report* report, Database* db, const std::string& copy_dir, size_t runs,
                  size_t users, size_t items, uint64_t seed) {
  std::mt19937_64 rng(seed + 7);
  // Three copies: no model, the job with a flat user space (its default), with an HNSW one.
  PW_ASSIGN_OR_RETURN(auto plain, OpenBenchCopy(db, copy_dir + ".plain"));
  PW_ASSIGN_OR_RETURN(auto flat, OpenBenchCopy(db, copy_dir));
  PW_ASSIGN_OR_RETURN(auto hnsw, OpenBenchCopy(db, copy_dir + ".hnsw"));
  PW_RETURN_IF_ERROR(RunJob(report, flat.get(), "flat", "svd.job."));
  PW_RETURN_IF_ERROR(RunJob(report, hnsw.get(), "hnsw", "svd.job_hnsw_user."));
  std::vector<Database*> dbs = {plain.get(), flat.get(), hnsw.get()};
  if (plain->GetFoldIn("VIEWED").ok()) return Status::Internal("the bench data has a fold-in model");
  PW_ASSIGN_OR_RETURN(std::vector<Samples> events,
                      TimeEventsInterleaved(dbs, runs, users, items, &rng));
  report->Latency("svd.event_without_fold_in", events[0], "Apply, 1 VIEWED edge, sync=false");
  report->Latency("svd.event_with_fold_in", events[1],
                  "the same, the user's 64-d vector recomputed into a flat user space (default)");
  report->Latency("svd.event_with_fold_in_hnsw_user", events[2],
                  "the same into an HNSW user space (m 8, ef_construction 32)");
  PW_ASSIGN_OR_RETURN(Samples flat_nearest, TimeUserNearest(flat.get(), runs, users, &rng));
  PW_ASSIGN_OR_RETURN(Samples hnsw_nearest, TimeUserNearest(hnsw.get(), runs, users, &rng));
  report->Latency("svd.user_nearest_flat", flat_nearest,
                  "PQL NEAREST 10 over the flat user space (an exact scan)");
  report->Latency("svd.user_nearest_hnsw", hnsw_nearest,
                  "PQL NEAREST 10 over the HNSW user space");
  PW_RETURN_IF_ERROR(TimeFoldIn(report, flat.get(), copy_dir + ".raw", runs, users, &rng));
  plain.reset();
  flat.reset();
  hnsw.reset();
  for (const std::string& dir : {copy_dir, copy_dir + ".plain", copy_dir + ".hnsw"}) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    std::filesystem::remove_all(dir + ".backup", ec);  // OpenBenchCopy's
  }
  std::error_code ec;
  std::filesystem::remove_all(copy_dir + ".raw", ec);
  PW_RETURN_IF_ERROR(MeasureFlatScan(report, 100000, "100k", &rng));
  return MeasureFlatScan(report, 1000000, "1m", &rng);
}

}  // namespace pathwise::bench
