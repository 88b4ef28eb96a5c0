// The FastRP embeddings job: jobs::FastRp over the undirected graph of one or more edge types,
// written into one vector space with Database::ReplaceVectors (jobs/fastrp_job.h, docs/jobs.md).
#include "jobs/fastrp_job.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

#include "jobs/fastrp.h"
#include "jobs/params.h"

namespace pathwise::jobs {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int64_t kMaxDim = 4096;
constexpr size_t kMaxIterations = 20;
// The most working memory the job's dense blocks may take (docs/jobs.md, "fastrp").
constexpr double kMaxWorkingBytes = 16.0 * (1ull << 30);

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct FastRpSpec {
  std::vector<std::string> edges;
  std::string space;  // "Type.name"
  int64_t dim = 0;    // 0: the space's
  bool weighted = false;
  FastRpOptions rp;
  // Filled in by Resolve:
  std::vector<TypeId> edge_types;
  TypeId node_type = kInvalidType;
};

// "A,B" -> {"A", "B"}; empty names are an error.
Result<std::vector<std::string>> SplitEdges(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    std::string name = text.substr(start, comma == std::string::npos ? comma : comma - start);
    if (name.empty()) {
      return Status::InvalidArgument("params.edge must name edge types separated by commas, got '" +
                                     text + "'");
    }
    out.push_back(name);
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

// params.weights: an array of 1..kMaxIterations numbers >= 0, not all 0. When absent, the
// default of `iterations` entries: 0 for the first and 1 for the others (1 alone for 1).
Result<std::vector<double>> ParseWeights(const nlohmann::json& json, int64_t iterations,
                                         bool iterations_given) {
  const std::string what = "params.weights must be an array of 1 to " +
                           std::to_string(kMaxIterations) + " numbers >= 0, not all 0";
  const nlohmann::json* weights = nullptr;
  if (json.is_object() && json.contains("weights") && !json["weights"].is_null()) {
    weights = &json["weights"];
  }
  if (weights == nullptr) {
    std::vector<double> out(static_cast<size_t>(iterations), 1.0);
    if (iterations > 1) out[0] = 0;
    return out;
  }
  if (!weights->is_array() || weights->empty() || weights->size() > kMaxIterations) {
    return Status::InvalidArgument(what);
  }
  std::vector<double> out;
  bool any = false;
  for (const nlohmann::json& w : *weights) {
    if (!w.is_number()) return Status::InvalidArgument(what);
    double v = w.get<double>();
    if (!std::isfinite(v) || v < 0) return Status::InvalidArgument(what);
    any |= v > 0;
    out.push_back(v);
  }
  if (!any) return Status::InvalidArgument(what);
  if (iterations_given && static_cast<size_t>(iterations) != out.size()) {
    return Status::InvalidArgument("params.iterations is " + std::to_string(iterations) +
                                   " but params.weights has " + std::to_string(out.size()) +
                                   " entries (one per iteration)");
  }
  return out;
}

Result<FastRpSpec> ParseSpec(const nlohmann::json& json) {
  PW_ASSIGN_OR_RETURN(Params p, Params::Of(json, {"edge", "space", "dim", "iterations", "weights",
                                                  "normalization_strength", "weighted",
                                                  "seed"}));
  FastRpSpec spec;
  PW_ASSIGN_OR_RETURN(std::string edge, p.String("edge"));
  PW_ASSIGN_OR_RETURN(spec.edges, SplitEdges(edge));
  PW_ASSIGN_OR_RETURN(spec.space, p.String("space"));
  PW_ASSIGN_OR_RETURN(spec.dim, p.Int("dim", 0, 1, kMaxDim));
  PW_ASSIGN_OR_RETURN(int64_t iterations,
                      p.Int("iterations", 3, 1, static_cast<int64_t>(kMaxIterations)));
  bool iterations_given = json.is_object() && json.contains("iterations") &&
                          !json["iterations"].is_null();
  PW_ASSIGN_OR_RETURN(spec.rp.weights, ParseWeights(json, iterations, iterations_given));
  PW_ASSIGN_OR_RETURN(spec.rp.normalization_strength,
                      p.Number("normalization_strength", 0, -1, 1));
  PW_ASSIGN_OR_RETURN(spec.weighted, p.Bool("weighted", false));
  PW_ASSIGN_OR_RETURN(int64_t seed, p.Int("seed", 1, 0, INT64_MAX));
  spec.rp.seed = static_cast<uint64_t>(seed);
  return spec;
}

Status Resolve(const Schema& schema, FastRpSpec* spec) {
  size_t dot = spec->space.find('.');
  if (dot == std::string::npos) {
    return Status::InvalidArgument("params.space must be a vector space \"Type.name\", got '" +
                                   spec->space + "'");
  }
  const VectorSpaceDef* space = schema.FindSpace(spec->space);
  if (space == nullptr) {
    return Status::InvalidArgument("vector space '" + spec->space + "' is not declared (declare "
                                   "it with the dimension the embeddings should have)");
  }
  if (spec->dim != 0 && static_cast<uint32_t>(spec->dim) != space->dim) {
    return Status::InvalidArgument("vector space '" + spec->space + "' has dimension " +
                                   std::to_string(space->dim) + "; params.dim is " +
                                   std::to_string(spec->dim));
  }
  spec->dim = space->dim;
  spec->rp.dim = space->dim;
  const NodeTypeDef* node_type = schema.FindNodeType(space->node_type);
  if (node_type == nullptr) {
    return Status::InvalidArgument("vector space '" + spec->space + "' is on an unknown node type");
  }
  spec->node_type = node_type->id;
  bool touches = false;
  spec->edge_types.clear();
  for (const std::string& name : spec->edges) {
    const EdgeTypeDef* edge = schema.FindEdgeType(name);
    if (edge == nullptr) return Status::InvalidArgument("unknown edge type '" + name + "'");
    for (TypeId seen : spec->edge_types) {
      if (seen == edge->id) {
        return Status::InvalidArgument("params.edge names edge type '" + name + "' twice");
      }
    }
    spec->edge_types.push_back(edge->id);
    touches |= edge->from_type.empty() || edge->to_type.empty() ||
               edge->from_type == node_type->name || edge->to_type == node_type->name;
  }
  if (!touches) {
    return Status::InvalidArgument("no edge type in params.edge has an endpoint of type " +
                                   node_type->name + ", the type of vector space '" +
                                   spec->space + "'");
  }
  return Status::OK();
}

Result<FastRpSpec> Prepare(Database& db, const nlohmann::json& params) {
  PW_ASSIGN_OR_RETURN(FastRpSpec spec, ParseSpec(params));
  PW_RETURN_IF_ERROR(db.ReadGraph([&](const graph::Graph&, const Schema& schema) {
    return Resolve(schema, &spec);
  }));
  return spec;
}

// The undirected graph of the edge types: nodes are every endpoint of an edge of them (any
// node type), and S(u, v) = S(v, u) sums the weights (or 1s) of the edges u -> v and v -> u.
struct Adjacency {
  std::vector<NodeId> nodes;  // row i is nodes[i], in id order
  SparseAdjacency matrix;
  size_t edges = 0;
};

Adjacency ReadAdjacency(const graph::Graph& graph, const Schema& schema, const FastRpSpec& spec) {
  Adjacency out;
  std::vector<int64_t> row(graph.IdBound(), -1);
  auto index = [&](NodeId node) {
    if (row[node] < 0) {
      row[node] = static_cast<int64_t>(out.nodes.size());
      out.nodes.push_back(node);
    }
    return row[node];
  };
  std::vector<Eigen::Triplet<double>> entries;
  for (TypeId edge_type : spec.edge_types) {
    const EdgeTypeDef* edge = schema.EdgeType(edge_type);
    for (const NodeTypeDef& type : schema.node_types()) {
      if (!edge->from_type.empty() && edge->from_type != type.name) continue;
      for (NodeId from : graph.NodesOfType(type.id)) {
        if (from >= row.size()) continue;  // created meanwhile
        graph.ForEachNeighbor(from, edge_type, graph::Direction::kOut,
                              [&](const graph::Neighbor& nb) {
                                if (nb.node >= row.size()) return true;  // created meanwhile
                                double w = spec.weighted ? nb.weight : 1.0;
                                int64_t a = index(from), b = index(nb.node);
                                entries.emplace_back(a, b, w);
                                entries.emplace_back(b, a, w);
                                ++out.edges;
                                return true;
                              });
      }
    }
  }
  // Rows in node id order, which neither the lists' order nor a restart changes, so that row r
  // of the random matrix belongs to the same node for the same data.
  std::vector<NodeId> by_id = out.nodes;
  std::sort(by_id.begin(), by_id.end());
  for (size_t i = 0; i < by_id.size(); ++i) row[by_id[i]] = static_cast<int64_t>(i);
  for (Eigen::Triplet<double>& t : entries) {
    t = Eigen::Triplet<double>(row[out.nodes[t.row()]], row[out.nodes[t.col()]], t.value());
  }
  out.nodes = std::move(by_id);
  auto n = static_cast<Eigen::Index>(out.nodes.size());
  out.matrix.resize(n, n);
  out.matrix.setFromTriplets(entries.begin(), entries.end());  // sums duplicates
  return out;
}

}  // namespace

Status ValidateFastRp(Database& db, const nlohmann::json& params) {
  return Prepare(db, params).status();
}

Result<nlohmann::json> RunFastRp(Database& db, const nlohmann::json& params,
                                 const ProgressFn& progress) {
  auto start = Clock::now();
  PW_ASSIGN_OR_RETURN(FastRpSpec spec, Prepare(db, params));
  auto report = [&](const char* phase, size_t done, size_t total) {
    if (progress) progress(Progress{phase, done, total});
  };
  report("reading", 0, 0);
  Adjacency adjacency;
  PW_RETURN_IF_ERROR(db.ReadGraph([&](const graph::Graph& graph, const Schema& schema) {
    adjacency = ReadAdjacency(graph, schema, spec);
    return Status::OK();
  }));
  const size_t nodes = adjacency.nodes.size();
  double bytes = 8.0 * 4.0 * static_cast<double>(nodes) * static_cast<double>(spec.dim);
  if (bytes > kMaxWorkingBytes) {
    return Status::InvalidArgument(
        "params.dim " + std::to_string(spec.dim) + " over " + std::to_string(nodes) +
        " nodes needs about " + std::to_string(bytes / (1ull << 30)) +
        " GiB of working memory; the limit is 16 GiB");
  }
  double read_seconds = SecondsSince(start);
  spec.rp.progress = [&](size_t done, size_t total) { report("computing", done, total); };
  Eigen::MatrixXd embedding = FastRp(adjacency.matrix, spec.rp);
  // Rows of the space's node type; a zero row (in practice only with a tiny dim: the rows of R
  // that reach the node are all zero or cancel) is not written.
  std::vector<NodeId> written_nodes;
  std::vector<float> values;
  size_t zero = 0;
  Eigen::VectorXf vector;
  PW_RETURN_IF_ERROR(db.ReadGraph([&](const graph::Graph& graph, const Schema&) {
    for (size_t i = 0; i < nodes; ++i) {
      if (graph.TypeOf(adjacency.nodes[i]) != spec.node_type) continue;
      vector = embedding.row(static_cast<Eigen::Index>(i)).cast<float>();
      if (vector.isZero(0)) {
        ++zero;
        continue;
      }
      written_nodes.push_back(adjacency.nodes[i]);
      values.insert(values.end(), vector.data(), vector.data() + vector.size());
    }
    return Status::OK();
  }));
  double compute_seconds = SecondsSince(start);
  const size_t embedded = written_nodes.size();
  if (embedded == 0) {  // rather than emptying the space
    return Status::InvalidArgument("no node of the type of vector space '" + spec.space +
                                   "' has a non-zero embedding over params.edge '" +
                                   params["edge"].get<std::string>() + "' (" +
                                   std::to_string(nodes) + " nodes with edges); nothing written");
  }
  report("writing", 0, embedded);
  std::vector<SpaceVectors> spaces;
  spaces.push_back({spec.space, std::move(written_nodes), std::move(values)});
  PW_ASSIGN_OR_RETURN(ReplaceVectorsReport written, db.ReplaceVectors(std::move(spaces)));
  double seconds = SecondsSince(start);
  return nlohmann::json{{"nodes", nodes},
                        {"edges", adjacency.edges},
                        {"dim", spec.dim},
                        {"iterations", spec.rp.weights.size()},
                        {"weights", spec.rp.weights},
                        {"embedded", embedded},
                        {"zero_vectors", zero},
                        {"vectors_written", written.vectors_written},
                        {"vectors_removed", written.vectors_removed},
                        {"vectors_skipped", written.vectors_skipped},
                        {"read_seconds", read_seconds},
                        {"compute_seconds", compute_seconds},
                        {"write_seconds", seconds - compute_seconds},
                        {"store_seconds", written.store_seconds},
                        {"swap_seconds", written.swap_seconds},
                        {"seconds", seconds}};
}

}  // namespace pathwise::jobs
