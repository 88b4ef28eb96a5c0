// The embeddings job: jobs::RandomizedSvd over a bipartite edge type (PureSVD on the raw edge
// weights), written back as two vector spaces and a fold-in model with Database::ReplaceVectors
// (jobs/svd_job.h, docs/jobs.md).
#include "jobs/svd_job.h"

#include <chrono>
#include <cmath>
#include <vector>

#include "jobs/params.h"
#include "jobs/randomized_svd.h"

namespace pathwise::jobs {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int64_t kMaxRank = 1024;
// The most working memory the SVD's dense blocks may take (docs/jobs.md, "svd").
constexpr double kMaxWorkingBytes = 16.0 * (1ull << 30);
// The HNSW settings of a user space the job declares with user_index "hnsw" (docs/jobs.md,
// "Online fold-in"); by default it declares the user space flat.
constexpr uint32_t kUserSpaceM = 8;
constexpr uint32_t kUserSpaceEf = 32;
// The item space the job declares: HNSW build beam 100 rather than 200 halves the time of
// inserting the factors, which is most of the job's time at 1M items (docs/benchmarks.md).
constexpr uint32_t kItemSpaceEf = 100;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct SvdSpec {
  std::string edge;
  std::string item_space;  // "Type.name"
  std::string user_space;
  SvdOptions svd;
  double item_scaling = 0;  // item factors are V diag(sigma^item_scaling)
  // The index of a user space the job declares (an existing space keeps its own).
  VectorIndexKind user_index = VectorIndexKind::kFlat;
  // Filled in by Resolve:
  TypeId edge_type = kInvalidType;
  TypeId user_type = kInvalidType;
  TypeId item_type = kInvalidType;
  bool declare_item_space = false;
  bool declare_user_space = false;
};

Result<SvdSpec> ParseSpec(const nlohmann::json& json) {
  PW_ASSIGN_OR_RETURN(Params p, Params::Of(json, {"edge", "rank", "item_space", "user_space",
                                                  "iterations", "oversample", "seed",
                                                  "item_scaling", "user_index"}));
  SvdSpec spec;
  PW_ASSIGN_OR_RETURN(spec.edge, p.String("edge"));
  PW_ASSIGN_OR_RETURN(spec.item_space, p.String("item_space"));
  PW_ASSIGN_OR_RETURN(spec.user_space, p.String("user_space"));
  PW_ASSIGN_OR_RETURN(int64_t rank, p.Int("rank", 64, 1, kMaxRank));
  PW_ASSIGN_OR_RETURN(int64_t iterations, p.Int("iterations", 4, 0, 50));
  PW_ASSIGN_OR_RETURN(int64_t oversample, p.Int("oversample", 10, 0, 1000));
  PW_ASSIGN_OR_RETURN(int64_t seed, p.Int("seed", 1, 0, INT64_MAX));
  PW_ASSIGN_OR_RETURN(spec.item_scaling, p.Number("item_scaling", 0, 0, 1));
  PW_ASSIGN_OR_RETURN(std::string user_index, p.String("user_index", "flat"));
  if (user_index != "flat" && user_index != "hnsw") {
    return Status::InvalidArgument("params.user_index must be \"flat\" or \"hnsw\", not \"" +
                                   user_index + "\"");
  }
  spec.user_index = user_index == "flat" ? VectorIndexKind::kFlat : VectorIndexKind::kHnsw;
  spec.svd.rank = static_cast<size_t>(rank);
  spec.svd.power_iterations = static_cast<size_t>(iterations);
  spec.svd.oversample = static_cast<size_t>(oversample);
  spec.svd.seed = static_cast<uint64_t>(seed);
  return spec;
}

// Checks one output space: on node_type, and (when declared) of dimension rank and, for the
// item space, not cosine. Sets *declare when it must be declared.
Status ResolveSpace(const Schema& schema, const std::string& param, const std::string& full,
                    const std::string& node_type, size_t rank, bool item, bool* declare) {
  size_t dot = full.find('.');
  if (dot == std::string::npos || full.substr(0, dot) != node_type) {
    return Status::InvalidArgument("params." + param + " must be a space on " + node_type +
                                   " (\"" + node_type + ".name\"), got '" + full + "'");
  }
  const VectorSpaceDef* space = schema.FindSpace(full);
  *declare = space == nullptr;
  if (*declare) {
    Schema declared = schema;  // the declaration must be valid before the work starts
    VectorSpaceDef def;
    def.node_type = node_type;
    def.name = full.substr(dot + 1);
    def.dim = static_cast<uint32_t>(rank);
    def.metric = Metric::kInnerProduct;
    return declared.AddSpace(def).WithPrefix("params." + param);
  }
  if (space->dim != rank) {
    return Status::InvalidArgument("vector space '" + full + "' has dimension " +
                                   std::to_string(space->dim) + "; params.rank is " +
                                   std::to_string(rank));
  }
  if (item && space->metric == Metric::kCosine) {
    return Status::InvalidArgument("vector space '" + full + "' is cosine: item factors need "
                                   "an ip or l2 space (cosine stores them normalised)");
  }
  return Status::OK();
}

Status Resolve(const Schema& schema, SvdSpec* spec) {
  const EdgeTypeDef* edge = schema.FindEdgeType(spec->edge);
  if (edge == nullptr) return Status::InvalidArgument("unknown edge type '" + spec->edge + "'");
  const NodeTypeDef* user = schema.FindNodeType(edge->from_type);
  const NodeTypeDef* item = schema.FindNodeType(edge->to_type);
  if (user == nullptr || item == nullptr || user == item) {
    return Status::InvalidArgument("edge type '" + spec->edge + "' must declare two different "
                                   "endpoint types (user -> item) for the svd job");
  }
  spec->edge_type = edge->id;
  spec->user_type = user->id;
  spec->item_type = item->id;
  PW_RETURN_IF_ERROR(ResolveSpace(schema, "item_space", spec->item_space, item->name,
                                  spec->svd.rank, true, &spec->declare_item_space));
  return ResolveSpace(schema, "user_space", spec->user_space, user->name, spec->svd.rank, false,
                      &spec->declare_user_space);
}

Result<SvdSpec> Prepare(Database& db, const nlohmann::json& params) {
  PW_ASSIGN_OR_RETURN(SvdSpec spec, ParseSpec(params));
  PW_RETURN_IF_ERROR(db.ReadGraph([&](const graph::Graph&, const Schema& schema) {
    return Resolve(schema, &spec);
  }));
  return spec;
}

// The relation as a users x items matrix of edge weights; rows and columns are the users and
// items with at least one edge.
struct Relation {
  std::vector<NodeId> users;
  std::vector<NodeId> items;
  SparseRows matrix;
};

Relation ReadRelation(const graph::Graph& graph, const SvdSpec& spec) {
  Relation out;
  std::vector<int64_t> column(graph.IdBound(), -1);
  std::vector<Eigen::Triplet<double>> entries;
  for (NodeId user : graph.NodesOfType(spec.user_type)) {
    size_t before = entries.size();
    graph.ForEachNeighbor(user, spec.edge_type, graph::Direction::kOut,
                          [&](const graph::Neighbor& nb) {
                            if (nb.node >= column.size()) return true;  // created meanwhile
                            if (column[nb.node] < 0) {
                              column[nb.node] = static_cast<int64_t>(out.items.size());
                              out.items.push_back(nb.node);
                            }
                            entries.emplace_back(out.users.size(), column[nb.node], nb.weight);
                            return true;
                          });
    if (entries.size() > before) out.users.push_back(user);
  }
  out.matrix.resize(static_cast<Eigen::Index>(out.users.size()),
                    static_cast<Eigen::Index>(out.items.size()));
  out.matrix.setFromTriplets(entries.begin(), entries.end());
  return out;
}

// The written model: item factors V diag(sigma^s) and user vectors A * items * diag(scale),
// scale = sigma^(-2s), computed from the stored (float) item factors exactly as fold-in does.
struct Factors {
  std::vector<float> items;  // items x rank
  std::vector<float> users;  // users x rank
  std::vector<NodeId> user_nodes;
  std::vector<float> scale;
};

Factors ToFactors(const Relation& relation, const TruncatedSvd& svd, double item_scaling) {
  const Eigen::Index rank = svd.singular_values.size();
  const double largest = svd.singular_values(0);
  Factors out;
  Eigen::VectorXd item_scale(rank), fold_scale(rank);
  for (Eigen::Index k = 0; k < rank; ++k) {
    double sigma = svd.singular_values(k);
    bool zero = !(sigma > 1e-12 * largest);  // a rank-deficient direction carries nothing
    item_scale(k) = zero ? 0 : std::pow(sigma, item_scaling);
    out.scale.push_back(zero ? 0.0f : static_cast<float>(std::pow(sigma, -2 * item_scaling)));
    fold_scale(k) = out.scale.back();
  }
  Eigen::MatrixXf items = (svd.right_vectors * item_scale.asDiagonal()).cast<float>();
  Eigen::MatrixXd users = relation.matrix * items.cast<double>() * fold_scale.asDiagonal();
  Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> item_rows = items;
  out.items.assign(item_rows.data(), item_rows.data() + item_rows.size());
  for (Eigen::Index u = 0; u < users.rows(); ++u) {
    Eigen::VectorXf row = users.row(u).cast<float>();
    if (row.isZero(0)) continue;  // no taste: fold-in would remove it too
    out.user_nodes.push_back(relation.users[u]);
    out.users.insert(out.users.end(), row.data(), row.data() + rank);
  }
  return out;
}

Status DeclareSpaces(Database& db, const SvdSpec& spec) {
  nlohmann::json spaces = nlohmann::json::array();
  for (auto [declare, full] : {std::pair{spec.declare_item_space, spec.item_space},
                               std::pair{spec.declare_user_space, spec.user_space}}) {
    if (!declare) continue;
    size_t dot = full.find('.');
    nlohmann::json space = {{"node_type", full.substr(0, dot)},
                            {"name", full.substr(dot + 1)},
                            {"dim", spec.svd.rank},
                            {"metric", "ip"}};
    // Fold-in rewrites a user's vector on every event, and an HNSW update is most of that cost:
    // the user space is flat by default (read by id, rarely searched), and a small graph when
    // user_index is "hnsw".
    if (full == spec.user_space) {
      space["index"] = VectorIndexKindName(spec.user_index);
      if (spec.user_index == VectorIndexKind::kHnsw) {
        space.update({{"m", kUserSpaceM}, {"ef_construction", kUserSpaceEf}});
      }
    } else {
      space["ef_construction"] = kItemSpaceEf;
    }
    spaces.push_back(space);
  }
  if (spaces.empty()) return Status::OK();
  return db.MergeSchema(nlohmann::json{{"vector_spaces", spaces}}.dump());
}

// InvalidArgument when the dense blocks (about four of items x width and three of users x width
// doubles) would exceed kMaxWorkingBytes, rather than running out of memory half-way.
Status CheckWorkingMemory(const SvdSpec& spec, size_t users, size_t items) {
  double width = static_cast<double>(std::min(spec.svd.rank + spec.svd.oversample,
                                              std::min(users, items)));
  double bytes = 8.0 * width * (4.0 * static_cast<double>(items) + 3.0 * users);
  if (bytes <= kMaxWorkingBytes) return Status::OK();
  return Status::InvalidArgument(
      "params.rank " + std::to_string(spec.svd.rank) + " with oversample " +
      std::to_string(spec.svd.oversample) + " over " + std::to_string(users) + " users and " +
      std::to_string(items) + " items needs about " + std::to_string(bytes / (1ull << 30)) +
      " GiB of working memory; the limit is 16 GiB");
}

std::vector<double> ToVector(const Eigen::VectorXd& v) { return {v.data(), v.data() + v.size()}; }

}  // namespace

Status ValidateSvd(Database& db, const nlohmann::json& params) {
  return Prepare(db, params).status();
}

Result<nlohmann::json> RunSvd(Database& db, const nlohmann::json& params,
                              const ProgressFn& progress) {
  auto start = Clock::now();
  PW_ASSIGN_OR_RETURN(SvdSpec spec, Prepare(db, params));
  auto report = [&](const char* phase, size_t done, size_t total) {
    if (progress) progress(Progress{phase, done, total});
  };
  report("reading", 0, 0);
  Relation relation;
  uint64_t fold_in_point = 0;  // users whose events arrive after it get no job vector as exact
  PW_RETURN_IF_ERROR(db.ReadGraph([&](const graph::Graph& graph, const Schema&) {
    relation = ReadRelation(graph, spec);
    return Status::OK();
  }, &fold_in_point));
  const size_t rank = spec.svd.rank, users = relation.users.size(), items = relation.items.size();
  if (rank > std::min(users, items)) {
    return Status::InvalidArgument(
        "params.rank " + std::to_string(rank) + " exceeds the relation's size: " +
        std::to_string(users) + " users and " + std::to_string(items) + " items with '" +
        spec.edge + "' edges");
  }
  PW_RETURN_IF_ERROR(CheckWorkingMemory(spec, users, items));
  double read_seconds = SecondsSince(start);
  spec.svd.progress = [&](size_t done, size_t total) { report("computing", done, total); };
  TruncatedSvd svd = RandomizedSvd(relation.matrix, spec.svd);
  Factors factors = ToFactors(relation, svd, spec.item_scaling);
  double compute_seconds = SecondsSince(start);
  report("writing", 0, items + factors.user_nodes.size());
  PW_RETURN_IF_ERROR(DeclareSpaces(db, spec));
  nlohmann::json info = {{"job", "svd"},
                         {"rank", rank},
                         {"item_scaling", spec.item_scaling},
                         {"singular_values", ToVector(svd.singular_values)}};
  FoldInModel fold_in{spec.edge, spec.item_space, spec.user_space, factors.scale, info};
  std::vector<SpaceVectors> spaces;
  spaces.push_back({spec.item_space, relation.items, std::move(factors.items)});
  spaces.push_back({spec.user_space, factors.user_nodes, std::move(factors.users)});
  PW_ASSIGN_OR_RETURN(ReplaceVectorsReport written,
                      db.ReplaceVectors(std::move(spaces), std::move(fold_in), fold_in_point));
  double seconds = SecondsSince(start);
  return nlohmann::json{{"users", users},
                        {"items", items},
                        {"relation_edges", relation.matrix.nonZeros()},
                        {"rank", rank},
                        {"singular_values", info["singular_values"]},
                        {"user_vectors", factors.user_nodes.size()},
                        {"vectors_written", written.vectors_written},
                        {"vectors_removed", written.vectors_removed},
                        {"vectors_skipped", written.vectors_skipped},
                        {"spaces_declared", spec.declare_item_space || spec.declare_user_space},
                        {"read_seconds", read_seconds},
                        {"compute_seconds", compute_seconds},
                        {"write_seconds", seconds - compute_seconds},
                        {"store_seconds", written.store_seconds},
                        {"swap_seconds", written.swap_seconds},
                        {"seconds", seconds}};
}

}  // namespace pathwise::jobs
