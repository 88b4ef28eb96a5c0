// NDJSON bulk load (docs/data-format.md). Holds the writer role for the whole load. Each line
// is validated and applied like a one-op WriteSet, but storage operations accumulate in large
// unlogged batches (Store::WriteBulk, ~4 MB) and vectors are inserted into the indexes in
// batches (VectorIndex::UpsertBatch); a Flush and index snapshots at the end make it durable.
#include <chrono>
#include <cmath>
#include <unordered_set>

#include "db/database_impl.h"

namespace pathwise {

namespace {

using Json = nlohmann::json;

constexpr size_t kBulkBatchBytes = 4u << 20;
constexpr size_t kVectorBatch = 10000;
constexpr size_t kProgressEvery = 10000;
constexpr int kVectorThreads = 2;

// Vectors of one space waiting to be inserted into its index.
struct VectorBuffer {
  std::vector<NodeId> nodes;
  std::vector<float> values;
  std::unordered_set<NodeId> seen;
};

Result<std::string> StringField(const Json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end() || !it->is_string()) {
    return Status::InvalidArgument(std::string("'") + name + "' must be a string");
  }
  return it->get<std::string>();
}

Result<NodeRef> RefField(const Json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end() || !it->is_array() || it->size() != 2 || !(*it)[0].is_string() ||
      !(*it)[1].is_string()) {
    return Status::InvalidArgument(std::string("'") + name + "' must be [\"Type\", \"id\"]");
  }
  return NodeRef{(*it)[0].get<std::string>(), (*it)[1].get<std::string>(), false};
}

Result<Properties> PropsField(const Json& obj) {
  auto it = obj.find("props");
  if (it == obj.end()) return Properties{};
  return PropertiesFromJson(*it);
}

std::string OpField(const Json& obj) {
  auto it = obj.find("op");
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

Result<WriteSet> NodeLine(const Json& obj) {
  NodeWrite w;
  PW_ASSIGN_OR_RETURN(w.type, StringField(obj, "node"));
  PW_ASSIGN_OR_RETURN(w.id, StringField(obj, "id"));
  PW_ASSIGN_OR_RETURN(w.props, PropsField(obj));
  std::string op = OpField(obj);
  if (op == "patch") {
    w.op = NodeWrite::Op::kPatch;
  } else if (op == "delete") {
    w.op = NodeWrite::Op::kDelete;
  } else if (!op.empty() && op != "upsert") {
    return Status::InvalidArgument("unknown node op '" + op + "'");
  }
  WriteSet set;
  set.ops.emplace_back(std::move(w));
  return set;
}

Result<WriteSet> EdgeLine(const Json& obj) {
  EdgeWrite w;
  PW_ASSIGN_OR_RETURN(w.type, StringField(obj, "edge"));
  PW_ASSIGN_OR_RETURN(w.from, RefField(obj, "from"));
  PW_ASSIGN_OR_RETURN(w.to, RefField(obj, "to"));
  PW_ASSIGN_OR_RETURN(w.props, PropsField(obj));
  if (auto it = obj.find("weight"); it != obj.end()) {
    if (!it->is_number()) return Status::InvalidArgument("'weight' must be a number");
    w.weight = it->get<double>();
  }
  if (auto it = obj.find("ts"); it != obj.end()) {
    if (!it->is_number_integer()) return Status::InvalidArgument("'ts' must be an integer (ms)");
    w.ts = it->get<int64_t>();
  }
  std::string op = OpField(obj);
  if (op == "delete") {
    w.op = EdgeWrite::Op::kDelete;
  } else if (!op.empty() && op != "put") {
    return Status::InvalidArgument("unknown edge op '" + op + "'");
  }
  WriteSet set;
  set.ops.emplace_back(std::move(w));
  return set;
}

}  // namespace

class Database::Impl::Loader {
 public:
  Loader(Database::Impl* db, const LoadOptions& options) : db_(*db), options_(options) {}

  Result<LoadReport> Run(std::istream& in) {
    auto start = std::chrono::steady_clock::now();
    schema_ = db_.CurrentSchema();
    std::string line;
    while (std::getline(in, line)) {
      ++report_.lines;
      progress_.bytes += line.size() + 1;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") != std::string::npos) {
        Status s = Line(line);
        if (s.code() == Status::Code::kInternal || s.code() == Status::Code::kIOError ||
            s.code() == Status::Code::kCorruption) {
          return s;  // not a bad line: the load cannot continue
        }
        if (!s.ok()) AddError(s.message());
      }
      if (pending_.batch.ByteSize() >= kBulkBatchBytes) PW_RETURN_IF_ERROR(WritePending());
      if (report_.lines % kProgressEvery == 0) Progress();
    }
    PW_RETURN_IF_ERROR(FlushVectors());
    PW_RETURN_IF_ERROR(WritePending());
    PW_RETURN_IF_ERROR(db_.store->Flush());
    PW_RETURN_IF_ERROR(db_.vectors->SaveSnapshots(db_.store.get()));
    report_.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    Progress();
    return report_;
  }

 private:
  Status Line(const std::string& line) {
    Json obj = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (obj.is_discarded()) return Status::InvalidArgument("malformed JSON");
    if (!obj.is_object()) return Status::InvalidArgument("a line must be a JSON object");
    try {
      if (obj.contains("schema")) {
        PW_RETURN_IF_ERROR(db_.MergeSchemaLocked(obj["schema"].dump()));
        schema_ = db_.CurrentSchema();
        ++report_.schema_lines;
        return Status::OK();
      }
      if (obj.contains("vector")) return VectorLine(obj);
      bool is_node = obj.contains("node");
      if (!is_node && !obj.contains("edge")) {
        return Status::InvalidArgument("a line needs one of 'schema', 'node', 'edge', 'vector'");
      }
      PW_ASSIGN_OR_RETURN(WriteSet set, is_node ? NodeLine(obj) : EdgeLine(obj));
      if (is_node && std::get<NodeWrite>(set.ops[0]).op == NodeWrite::Op::kDelete) {
        PW_RETURN_IF_ERROR(FlushVectors());  // a buffered vector must not outlive its node
      }
      bool duplicate = false;
      PW_RETURN_IF_ERROR(db_.ApplySet(*schema_, set, &pending_, &duplicate));
      ++(is_node ? report_.nodes : report_.edges);
      return Status::OK();
    } catch (const std::exception& e) {  // nlohmann type errors on odd values
      return Status::InvalidArgument(e.what());
    }
  }

  Status VectorLine(const Json& obj) {
    PW_ASSIGN_OR_RETURN(std::string space_name, StringField(obj, "vector"));
    PW_ASSIGN_OR_RETURN(std::string id, StringField(obj, "id"));
    const VectorSpaceDef* space = schema_->FindSpace(space_name);
    if (space == nullptr)
      return Status::InvalidArgument("unknown vector space '" + space_name + "'");
    PW_RETURN_IF_ERROR(ValidateExternalId(id));
    auto values = obj.find("values");
    if (values == obj.end() || !values->is_array()) {
      return Status::InvalidArgument("'values' must be an array of numbers");
    }
    if (values->size() != space->dim) {
      return Status::InvalidArgument("vector for '" + space_name + "' has dimension " +
                                     std::to_string(values->size()) + "; expected " +
                                     std::to_string(space->dim));
    }
    std::vector<float> v;
    v.reserve(space->dim);
    for (const auto& x : *values) {
      if (!x.is_number()) return Status::InvalidArgument("'values' must be numbers");
      float f = static_cast<float>(x.get<double>());
      if (!std::isfinite(f)) return Status::InvalidArgument("vector has a NaN or infinite value");
      v.push_back(f);
    }
    const NodeTypeDef* type = schema_->FindNodeType(space->node_type);
    NodeId node = db_.graph->Lookup(type->id, id);
    if (node == kInvalidNode) {
      return Status::NotFound("vector node " + space->node_type + " '" + id + "' does not exist");
    }
    VectorBuffer& buffer = buffers_[space->id];
    if (buffer.seen.count(node) > 0) PW_RETURN_IF_ERROR(FlushVectors());
    buffer.nodes.push_back(node);
    buffer.values.insert(buffer.values.end(), v.begin(), v.end());
    buffer.seen.insert(node);
    pending_.batch.PutVector(space->id, node, v);
    ++report_.vectors;
    if (buffer.nodes.size() >= kVectorBatch) PW_RETURN_IF_ERROR(FlushVectors());
    return Status::OK();
  }

  Status FlushVectors() {
    for (auto& [space, buffer] : buffers_) {
      if (buffer.nodes.empty()) continue;
      vector::VectorIndex* index = db_.vectors->Get(space);
      if (index == nullptr) return Status::Internal("no index for vector space");
      Status s = index->UpsertBatch(buffer.nodes, buffer.values, kVectorThreads);
      if (!s.ok()) return Status::Internal("bulk vector insert failed: " + s.ToString());
      buffer = VectorBuffer();
    }
    return Status::OK();
  }

  Status WritePending() {
    PW_RETURN_IF_ERROR(db_.store->WriteBulk(&pending_.batch));
    pending_.Clear();
    return Status::OK();
  }

  void AddError(std::string reason) {
    ++report_.errors;
    ++progress_.errors;
    if (report_.error_list.size() < options_.max_errors_kept) {
      report_.error_list.push_back({report_.lines, std::move(reason)});
    }
  }

  void Progress() {
    progress_.lines = report_.lines;
    if (options_.progress) options_.progress(progress_);
  }

  Database::Impl& db_;
  const LoadOptions& options_;
  std::shared_ptr<const Schema> schema_;
  PendingBatch pending_;
  std::map<SpaceId, VectorBuffer> buffers_;
  LoadReport report_;
  LoadProgress progress_;
};

Result<LoadReport> Database::Impl::LoadLocked(std::istream& in, const LoadOptions& options) {
  Loader loader(this, options);
  return loader.Run(in);
}

Result<LoadReport> Database::Load(std::istream& in, const LoadOptions& options) {
  std::optional<LoadReport> report;
  Status s = impl_->RunExclusive([&]() -> Status {
    auto r = impl_->LoadLocked(in, options);
    if (!r.ok()) {
      // Memory may be ahead of the store: refuse further writes until reopened.
      std::lock_guard<std::mutex> lock(impl_->mu);
      if (impl_->failed.ok()) impl_->failed = r.status();
      return r.status();
    }
    report = std::move(r).value();
    return Status::OK();
  });
  if (!s.ok()) return s;
  return std::move(*report);
}

}  // namespace pathwise
