// NDJSON bulk load (docs/data-format.md). Holds the writer role for the whole load. Each line
// is parsed by RecordFromJson and staged like a one-op WriteSet (a bad line is reported and
// skipped, whatever is wrong with it); staged lines accumulate in large unsynced batches
// (Store::WriteBulk, ~4 MB), each applied to memory after it is written, vectors in batches
// (VectorIndex::UpsertBatch); a Flush and index snapshots at the end make the load durable.
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

// Reads one line (without its newline) into *line, keeping at most max_bytes of it; *length is
// the line's full length. False at the end of the input.
bool ReadLine(std::istream& in, size_t max_bytes, std::string* line, size_t* length) {
  line->clear();
  *length = 0;
  std::streambuf* buf = in.rdbuf();
  bool any = false;
  for (int c = buf->sbumpc(); c != std::char_traits<char>::eof(); c = buf->sbumpc()) {
    any = true;
    if (c == '\n') return true;
    if (++*length <= max_bytes) line->push_back(static_cast<char>(c));
  }
  in.setstate(std::ios::eofbit);
  return any;
}

// Records nest at most three levels ({"props": {"tags": [...]}}); deeper text is rejected before
// it is parsed, so a hostile line cannot make any recursive code run deep.
constexpr size_t kMaxLineDepth = 32;

bool NestsDeeperThan(std::string_view text, size_t limit) {
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > limit) return true;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return false;
}

bool IsFault(const Status& s) {
  return s.code() == Status::Code::kInternal || s.code() == Status::Code::kIOError ||
         s.code() == Status::Code::kCorruption;
}

}  // namespace

class Database::Impl::Loader {
 public:
  Loader(Database::Impl* db, const LoadOptions& options) : db_(*db), options_(options) {}

  Result<LoadReport> Run(std::istream& in) {
    auto start = std::chrono::steady_clock::now();
    schema_ = db_.CurrentSchema();
    group_.Reset(db_.graph->IdBound());
    std::string line;
    size_t length = 0;
    while (ReadLine(in, options_.max_line_bytes, &line, &length)) {
      ++report_.lines;
      progress_.bytes += length + 1;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      Status s;
      if (length > options_.max_line_bytes) {
        s = Status::InvalidArgument("line is " + std::to_string(length) + " bytes; the limit is " +
                                    std::to_string(options_.max_line_bytes));
      } else if (line.find_first_not_of(" \t") != std::string::npos) {
        s = Line(line);
      }
      if (IsFault(s)) return s;  // not a bad line: the load cannot continue
      if (!s.ok()) AddError(s.message());
      if (group_.batch.ByteSize() >= kBulkBatchBytes) PW_RETURN_IF_ERROR(WriteChunk());
      if (report_.lines % kProgressEvery == 0) Progress();
    }
    PW_RETURN_IF_ERROR(WriteChunk());
    PW_RETURN_IF_ERROR(db_.store->Flush());
    PW_RETURN_IF_ERROR(db_.vectors->SaveSnapshots(db_.store.get()));
    report_.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    Progress();
    return report_;
  }

 private:
  Status Line(const std::string& line) {
    if (NestsDeeperThan(line, kMaxLineDepth)) {
      return Status::InvalidArgument("JSON nests deeper than " + std::to_string(kMaxLineDepth) +
                                     " levels");
    }
    Json obj = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (obj.is_discarded()) return Status::InvalidArgument("malformed JSON");
    if (!obj.is_object()) return Status::InvalidArgument("a line must be a JSON object");
    try {
      if (obj.contains("schema") && obj.size() == 1) return SchemaLine(obj["schema"]);
      PW_ASSIGN_OR_RETURN(Record record, RecordFromJson(obj));
      size_t* counter = std::holds_alternative<NodeWrite>(record)   ? &report_.nodes
                        : std::holds_alternative<EdgeWrite>(record) ? &report_.edges
                                                                    : &report_.vectors;
      WriteSet set;
      std::visit([&set](auto&& w) { set.ops.emplace_back(std::move(w)); }, std::move(record));
      WriteOutcome staged;
      PW_RETURN_IF_ERROR(StageSet(db_.View(*schema_), set, &group_, &staged));
      ++*counter;
      return Status::OK();
    } catch (const std::exception& e) {  // nlohmann type errors on odd values
      return Status::InvalidArgument(e.what());
    }
  }

  Status SchemaLine(const Json& schema) {
    PW_RETURN_IF_ERROR(WriteChunk());  // staged lines were checked against the old schema
    Status s = db_.MergeSchemaLocked(schema.dump());
    if (!s.ok()) return IsFault(s) ? s : Status::InvalidArgument(s.message());
    schema_ = db_.CurrentSchema();
    ++report_.schema_lines;
    return Status::OK();
  }

  // Writes the staged lines (unsynced; the load's final Flush makes them durable), then applies
  // them to memory, vectors in batches.
  Status WriteChunk() {
    if (group_.batch.Count() == 0) return Status::OK();
    Status s = db_.store->WriteBulk(&group_.batch);
    if (s.ok()) {
      s = ApplyToMemory(group_, db_.graph.get(), db_.vectors.get(),
                        [this](const MemOp& m) { return BufferVector(m); });
    }
    if (s.ok()) s = FlushVectors();
    if (!s.ok()) {
      db_.Fail(s);
      return s;
    }
    group_.Reset(db_.graph->IdBound());
    return Status::OK();
  }

  Status BufferVector(const MemOp& m) {
    VectorBuffer& buffer = buffers_[m.space];
    if (m.kind == MemOp::Kind::kRemoveVector || buffer.seen.count(m.node) > 0) {
      PW_RETURN_IF_ERROR(FlushVectors());
    }
    if (m.kind == MemOp::Kind::kRemoveVector) {
      vector::VectorIndex* index = db_.vectors->Get(m.space);
      return index == nullptr ? Status::OK() : index->Remove(m.node);
    }
    buffer.nodes.push_back(m.node);
    buffer.values.insert(buffer.values.end(), m.values.begin(), m.values.end());
    buffer.seen.insert(m.node);
    if (buffer.nodes.size() >= kVectorBatch) return FlushVectors();
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
  StagedGroup group_;
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
    PW_ASSIGN_OR_RETURN(report, impl_->LoadLocked(in, options));
    return Status::OK();
  });
  if (!s.ok()) return s;
  return std::move(*report);
}

}  // namespace pathwise
