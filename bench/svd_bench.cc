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

// The fold-in computation alone for random users of a raw copy: their VIEWED edges, then
// ComputeFoldIn over the item factors. Also reports the users' mean history size.
Status TimeFoldIn(Report* report, Database* db, const std::string& raw_dir, size_t runs,
                  size_t users, std::mt19937_64* rng) {
  PW_ASSIGN_OR_RETURN(FoldInModel stored, db->GetFoldIn("VIEWED"));
  PW_ASSIGN_OR_RETURN(auto raw, OpenRawCopy(db, raw_dir));
  PW_ASSIGN_OR_RETURN(FoldIn model, ResolveFoldIn(raw->schema, stored));
  const vector::VectorIndex* factors = raw->vectors->Get(model.item_space);
  if (factors == nullptr) return Status::Internal("no index for the item factors");
  Samples samples;
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
  }
  report->Latency("svd.fold_in_compute", samples,
                  "a user's VIEWED edges + sum of weight x 64-d item factor; target <= 50 us");
  report->Value("svd.fold_in_history_mean", static_cast<double>(edges_seen) / runs, "edges",
                "VIEWED edges per sampled user");
  return Status::OK();
}

}  // namespace

Status MeasureSvd(Report* report, Database* db, const std::string& copy_dir, size_t runs,
                  size_t users, size_t items, uint64_t seed) {
  std::mt19937_64 rng(seed + 7);
  PW_ASSIGN_OR_RETURN(auto copy, OpenBenchCopy(db, copy_dir));
  if (!copy->GetFoldIn("VIEWED").ok()) {
    PW_ASSIGN_OR_RETURN(Samples before, TimeEvents(copy.get(), runs, users, items, &rng));
    report->Latency("svd.event_without_fold_in", before, "Apply, 1 VIEWED edge, sync=false");
  }
  nlohmann::json params = {{"edge", "VIEWED"}, {"rank", 64}, {"item_space", kItemSpace},
                           {"user_space", kUserSpace}};
  PW_ASSIGN_OR_RETURN(nlohmann::json result, jobs::Run(*copy, "svd", params));
  for (const char* key : {"read_seconds", "compute_seconds", "write_seconds", "store_seconds",
                          "swap_seconds", "seconds"}) {
    report->Value(std::string("svd.job.") + key, result[key].get<double>(), "s");
  }
  report->Info("svd.job.result", result);
  PW_ASSIGN_OR_RETURN(Samples after, TimeEvents(copy.get(), runs, users, items, &rng));
  report->Latency("svd.event_with_fold_in", after,
                  "Apply, 1 VIEWED edge, sync=false, the user's 64-d vector recomputed");
  PW_RETURN_IF_ERROR(TimeFoldIn(report, copy.get(), copy_dir + ".raw", runs, users, &rng));
  copy.reset();
  std::error_code ec;
  std::filesystem::remove_all(copy_dir, ec);
  std::filesystem::remove_all(copy_dir + ".raw", ec);
  std::filesystem::remove_all(copy_dir + ".backup", ec);  // OpenBenchCopy's
  return Status::OK();
}

}  // namespace pathwise::bench
