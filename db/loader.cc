// NDJSON bulk load (docs/data-format.md, "Loads"). A ParsePipeline reads and parses lines on
// worker threads; this thread takes the parsed lines in order and commits them in chunks. Each
// chunk is one turn of the writer role: its lines are staged like one-op WriteSets (a bad line is
// reported and skipped, whatever is wrong with it) into one large unsynced batch
// (Store::WriteBulk), written, and applied to memory. Between chunks other writers commit, so
// events are acknowledged during a load. At the end a Flush and the vector snapshots make the
// load durable.
//
// Vectors go into their HNSW indexes in batches on every core (LoadVectors). In chunks they are
// inserted before the chunk's writer turn ends: a later write of the same vector by someone else
// is then applied after it, in the order the store has them. A load that holds the writer role
// throughout (exclusive, or ingesting) holds them until its end and inserts them then, in one
// bulk build -- unless fold-in models read item vectors while staging (db/fold_in.h), which need
// every earlier vector in its index. Lines staged meanwhile see the held vectors as existing.
//
// An ingestion load (LoadOptions::ingest: a database without nodes and edges) holds the writer
// role throughout and stages its chunks into one group, so each line is validated exactly as in
// chunks (same errors, ids, accumulation). At the end, or when the group reaches
// LoadOptions::max_ingest_bytes of lines, the group's batch is written as sorted SST files and
// ingested at once (Store::Ingest, atomic), then its memory operations are applied like a
// chunk's, and a new group starts for the next part. A cancelled ingestion drops the part it
// was staging: nothing of that part is written.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>
#include <unordered_set>

#include "db/database_impl.h"
#include "db/load_pipeline.h"
#include "db/load_vectors.h"

namespace pathwise {

namespace {

using Clock = std::chrono::steady_clock;

// A chunk is sized so that its turn of the writer role takes about kTargetTurnSeconds: after
// each chunk the loader measures how many bytes of lines (and, separately, how many vectors) per
// second the turn got through and sizes the next chunk from that, within these bounds. Vector
// inserts cost far more than other lines (a few hundred us each into a 1M-point HNSW index,
// a replacement about as much as a new point), so they are budgeted on their own.
constexpr double kTargetTurnSeconds = 0.02;
constexpr size_t kMinChunkBytes = 16u << 10, kMaxChunkBytes = 1u << 20;
constexpr size_t kMinChunkVectors = 8, kMaxChunkVectors = 1024;
// A chunk is at most this many times the bytes (or vectors) of the turn it was sized from: a
// rate measured on a few lines extrapolates poorly (their lists may have been cheap to change).
constexpr double kMaxChunkGrowth = 2.0;
constexpr size_t kProgressEvery = 10000;

double Since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// A load that holds its vectors until its end inserts them in slices of this many (progress is
// reported after each).
constexpr size_t kVectorSlice = 1u << 16;

bool IsFault(const Status& s) {
  return s.code() == Status::Code::kInternal || s.code() == Status::Code::kIOError ||
         s.code() == Status::Code::kCorruption;
}

int ThreadCount(int requested) {
  if (requested > 0) return std::min(requested, 64);
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace

class Database::Impl::Loader {
 public:
  Loader(Database::Impl* db, const LoadOptions& options)
      : db_(*db), options_(options), threads_(ThreadCount(options.threads)) {
    report_.dry_run = options.dry_run;
  }

  // exclusive: the caller already holds the writer role for the whole load. ingest: and the
  // database has no nodes and edges (an ingestion load; REQUIRES exclusive).
  // Reads, writes and flushes the load. Conclude() then ends it, outside the writer role.
  Status Run(std::istream& in, bool exclusive, bool ingest) {
    exclusive_ = exclusive;
    ingesting_ = ingest;
    report_.mode = options_.dry_run ? "dry_run" : ingest ? "ingest" : "chunks";
    start_ = Clock::now();
    schema_ = db_.CurrentSchema();
    group_.Reset(db_.graph->IdBound());
    {
      ParsePipeline pipeline(in, options_.max_line_bytes, threads_);
      Status read = ReadAll(&pipeline);
      if (!read.ok()) {
        // What was written before the failure is in memory too: its vectors go into their
        // indexes (a failure to insert them fails the database).
        InsertHeldVectors();
        return read;
      }
      report_.phases.parse = pipeline.parse_seconds();
      report_.phases.parse_wait = pipeline.wait_seconds();
    }
    PW_RETURN_IF_ERROR(Finish());
    if (report_.mode == "ingest") report_.max_chunk_seconds = Since(start_);
    return Status::OK();
  }

  // Saves the vector snapshots (with the writer role only to begin and finish them, so serving
  // goes on meanwhile) and reports the load done. REQUIRES: Run returned OK; the caller does
  // not hold the writer role.
  Result<LoadReport> Conclude() {
    if (!options_.dry_run) {
      auto start = Clock::now();
      Status s = db_.SnapshotVectors();
      report_.phases.finish += Since(start);
      PW_RETURN_IF_ERROR(s);
    }
    report_.seconds = Since(start_);
    Progress("done");
    return report_;
  }

 private:
  Status ReadAll(ParsePipeline* pipeline) {
    ParsedBlock block;
    size_t next_progress = kProgressEvery;
    while (pipeline->Next(&block)) {
      for (ParsedLine& line : block.lines) PW_RETURN_IF_ERROR(Take(std::move(line)));
      if (options_.cancel != nullptr && options_.cancel->load()) {
        report_.cancelled = true;
        break;
      }
      if (progress_.lines >= next_progress) {
        Progress("parsing");
        next_progress = progress_.lines + kProgressEvery;
      }
    }
    return CommitPending();
  }

  Status Take(ParsedLine&& line) {
    ++progress_.lines;
    progress_.bytes += line.bytes;
    switch (line.kind) {
      case ParsedLine::Kind::kBlank:
        return Status::OK();
      case ParsedLine::Kind::kSchema:
        PW_RETURN_IF_ERROR(CommitPending());  // lines before it are checked against the old schema
        PW_RETURN_IF_ERROR(InsertHeldVectors());  // into the spaces their lines were checked in
        return SchemaLine(line);
      case ParsedLine::Kind::kRecord:
        PW_RETURN_IF_ERROR(StartChunkIfNewType(line.record));
        if (std::holds_alternative<VectorWrite>(line.record)) {
          ++pending_vectors_;
          pending_vector_bytes_ += line.bytes;
        }
        [[fallthrough]];
      case ParsedLine::Kind::kError:
        pending_bytes_ += line.bytes;
        pending_.push_back(std::move(line));
        break;
    }
    // A load that holds its vectors sizes chunks by bytes alone: their inserts are not in its turns.
    const bool vectors_full = !holds_vectors_ && pending_vectors_ >= chunk_vectors_;
    if (pending_bytes_ >= chunk_bytes_ || vectors_full) return CommitPending();
    return Status::OK();
  }

  // The first line of a node or edge type the load has not had before ends the chunk in
  // progress, and the next chunk starts from the least size: the sizes were measured on other
  // lines, and another type's lines can cost far more to apply (at 1M items, an item's
  // BELONGS_TO edge takes the item out of one category's list of thousands and into another's,
  // where a node line sets a few properties). Sized from the node lines before them, the first
  // chunk of edges held other writers for 100-170 ms (docs/benchmarks.md, "Writer turns sized
  // per line type"). Vector lines are budgeted on their own (chunk_vectors_).
  Status StartChunkIfNewType(const Record& record) {
    if (ingesting_ || options_.dry_run) return Status::OK();  // no turns to keep short
    bool new_type = false;
    if (const auto* n = std::get_if<NodeWrite>(&record)) {
      new_type = node_types_seen_.insert(n->type).second;
    } else if (const auto* e = std::get_if<EdgeWrite>(&record)) {
      new_type = edge_types_seen_.insert(e->type).second;
    }
    if (!new_type) return Status::OK();
    PW_RETURN_IF_ERROR(CommitPending());
    chunk_bytes_ = kMinChunkBytes;
    return Status::OK();
  }

  // Runs fn holding the writer role (taking a turn unless the whole load holds it).
  Status WithWriter(const std::function<Status()>& fn) {
    if (exclusive_) return fn();
    auto asked = Clock::now();
    return db_.RunExclusive([&] {
      report_.phases.writer_wait += Since(asked);
      return fn();
    });
  }

  Status SchemaLine(const ParsedLine& line) {
    Status s;
    if (options_.dry_run) {
      auto next = std::make_shared<Schema>(*schema_);
      s = next->MergeJson(line.text);
      if (s.ok()) schema_ = std::move(next);
    } else {
      s = WithWriter([&] { return db_.MergeSchemaLocked(line.text); });
      if (s.ok()) schema_ = db_.CurrentSchema();
    }
    if (IsFault(s)) return s;
    if (!s.ok()) {
      AddError(line.line, s.message());
      return Status::OK();
    }
    ++report_.schema_lines;
    return Status::OK();
  }

  // Stages, writes and applies the pending lines as one chunk (a dry run only stages them; an
  // ingestion load stages them into its group, and ingests it at max_ingest_bytes).
  Status CommitPending() {
    if (pending_.empty()) return Status::OK();
    Status s;
    if (ingesting_) {
      s = StagePending();
      staged_bytes_ += pending_bytes_;
      if (s.ok() && staged_bytes_ >= options_.max_ingest_bytes) s = IngestStaged(/*last=*/false);
    } else if (options_.dry_run) {
      s = StagePending();
      group_.batch.Clear();
      group_.mem.clear();
      group_.overlay.edges.clear();  // kept: nodes, properties, vectors (later lines need them)
    } else {
      s = WithWriter([this] {
        auto start = Clock::now();
        const LoadPhases before = report_.phases;
        Status r = CommitChunk();
        const double turn = Since(start);
        if (turn > report_.max_chunk_seconds) NoteLongestTurn(turn, start, before);
        SizeNextChunk(turn, report_.phases.vectors - before.vectors);
        return r;
      });
      ++report_.chunks;
    }
    pending_.clear();
    pending_bytes_ = pending_vector_bytes_ = 0;
    pending_vectors_ = 0;
    return s;
  }

  void NoteLongestTurn(double seconds, Clock::time_point began, const LoadPhases& before) {
    report_.max_chunk_seconds = seconds;
    LoadReport::Turn& t = report_.longest_turn;
    t.began_at = std::chrono::duration<double>(began - start_).count();
    t.lines = pending_.size();
    t.edge_lines = static_cast<size_t>(
        std::count_if(pending_.begin(), pending_.end(), [](const ParsedLine& l) {
          return l.kind == ParsedLine::Kind::kRecord && std::holds_alternative<EdgeWrite>(l.record);
        }));
    t.vector_lines = pending_vectors_;
    t.phases = LoadPhases{};
    t.phases.stage = report_.phases.stage - before.stage;
    t.phases.write = report_.phases.write - before.write;
    t.phases.memory = report_.phases.memory - before.memory;
    t.phases.vectors = report_.phases.vectors - before.vectors;
  }

  // Sizes the next chunk from this turn's rates (see kTargetTurnSeconds).
  void SizeNextChunk(double turn_seconds, double vector_seconds) {
    auto clamp_size = [](double v, size_t lo, size_t hi) {
      return static_cast<size_t>(std::clamp(v, static_cast<double>(lo), static_cast<double>(hi)));
    };
    const double other_seconds = turn_seconds - vector_seconds;
    const size_t other_bytes = pending_bytes_ - pending_vector_bytes_;
    if (other_bytes >= kMinChunkBytes && other_seconds > 0) {
      const double sized = other_bytes / other_seconds * kTargetTurnSeconds;
      chunk_bytes_ = clamp_size(std::min(sized, kMaxChunkGrowth * static_cast<double>(other_bytes)),
                                kMinChunkBytes, kMaxChunkBytes);
    }
    if (pending_vectors_ >= kMinChunkVectors && vector_seconds > 0) {
      const double sized = pending_vectors_ / vector_seconds * kTargetTurnSeconds;
      chunk_vectors_ =
          clamp_size(std::min(sized, kMaxChunkGrowth * static_cast<double>(pending_vectors_)),
                     kMinChunkVectors, kMaxChunkVectors);
    }
  }

  Status CommitChunk() {
    schema_ = db_.CurrentSchema();
    group_.Reset(db_.graph->IdBound());
    PW_RETURN_IF_ERROR(StagePending());
    if (group_.batch.Count() == 0) return Status::OK();
    auto start = Clock::now();
    Status s = db_.store->WriteBulk(&group_.batch);
    report_.phases.write += Since(start);
    if (s.ok()) s = ApplyStaged();
    if (!s.ok()) db_.Fail(s);
    return s;
  }

  // Applies the staged group to memory; its vectors go to held_ and are inserted now unless the
  // load holds them to its end.
  Status ApplyStaged() {
    auto start = Clock::now();
    Status s = ApplyToMemory(group_, db_.graph.get(), db_.vectors.get(),
                             [this](const MemOp& m) { return HoldVector(m); });
    report_.phases.memory += Since(start);
    if (!s.ok()) return s;
    if (!holds_vectors_ || held_.bytes() >= options_.max_held_vector_bytes) {
      return InsertHeldVectors();
    }
    return Status::OK();
  }

  Status StagePending() {
    auto start = Clock::now();
    StagingView view = db_.View(*schema_);
    // Held only when nothing staged needs the indexes up to date: fold-in reads item vectors.
    holds_vectors_ = exclusive_ && (view.fold_ins == nullptr || view.fold_ins->empty());
    if (!holds_vectors_) PW_RETURN_IF_ERROR(InsertHeldVectors());
    view.pending = {&held_.overlay(), nullptr};
    // Loads fold in in full and do not track what they write: every user may need a full
    // recomputation after them (a dry run changes nothing).
    view.fold_ledger = nullptr;
    if (!options_.dry_run) db_.fold_ledger->Clear();
    for (ParsedLine& line : pending_) {
      if (line.kind == ParsedLine::Kind::kError) {
        AddError(line.line, std::move(line.text));
        continue;
      }
      Status s = StageRecord(view, std::move(line.record));
      if (IsFault(s)) return s;  // not a bad line: the load cannot continue
      if (!s.ok()) AddError(line.line, s.message());
    }
    report_.phases.stage += Since(start);
    return Status::OK();
  }

  Status StageRecord(const StagingView& view, Record&& record) {
    size_t* counter = std::holds_alternative<NodeWrite>(record)   ? &report_.nodes
                      : std::holds_alternative<EdgeWrite>(record) ? &report_.edges
                                                                  : &report_.vectors;
    set_.ops.clear();  // one set reused for every line: no allocation per line
    std::visit([this](auto&& w) { set_.ops.emplace_back(std::move(w)); }, std::move(record));
    WriteOutcome staged;
    PW_RETURN_IF_ERROR(StageSet(view, set_, &group_, &staged));
    ++*counter;
    return Status::OK();
  }

  Status HoldVector(const MemOp& m) {
    if (m.kind == MemOp::Kind::kRemoveVector) {
      return held_.Remove(m.space, m.node, db_.vectors->Get(m.space));
    }
    held_.Put(m.space, m.node, m.values());
    return Status::OK();
  }

  // Inserts the held vectors (all at once in chunks; with progress when the load held them).
  Status InsertHeldVectors() {
    if (held_.count() == 0) return Status::OK();
    auto start = Clock::now();
    const bool report = holds_vectors_;
    if (report) {
      progress_.vectors_to_index = held_.count();
      progress_.vectors_indexed = 0;
      Progress("indexing");
    }
    const size_t slice = report ? kVectorSlice : held_.count();
    Status s = held_.Insert(db_.vectors.get(), threads_, slice, [&](size_t done) {
      if (!report) return;
      progress_.vectors_indexed = done;
      Progress("indexing");
    });
    report_.phases.vectors += Since(start);
    progress_.phase = "parsing";  // reported with the next lines (or replaced by "finishing")
    if (!s.ok()) db_.Fail(s);
    return s;
  }

  // Ingests the group staged so far (atomically) and applies it to memory, the two side by side:
  // the store's ingestion on a thread of its own, memory on this one. Memory may so run ahead of
  // the store for the length of the ingestion; an ingestion that then fails fails the database
  // (a reopen rebuilds memory from the store, without the part). Unless it is the last part,
  // staging then starts a new group for the next part (each part at most about
  // max_ingest_bytes of lines), which sees this one as written.
  Status IngestStaged(bool last) {
    if (last) ingesting_ = false;
    staged_bytes_ = 0;
    if (group_.batch.Count() == 0) return Status::OK();
    Progress("ingesting");
    Status ingested;
    std::thread ingest([this, &ingested] {
      auto start = Clock::now();
      ingested = db_.store->Ingest(group_.batch, threads_);
      report_.phases.ingest += Since(start);
    });
    Status s = ApplyStaged();
    ingest.join();
    ++report_.chunks;
    if (s.ok()) s = ingested;
    if (!s.ok()) db_.Fail(s);
    group_.Reset(db_.graph->IdBound());
    ingested_ = {report_.nodes, report_.edges, report_.vectors};
    return s;
  }

  // Forgets what an ingestion load staged since its last ingested part (it was cancelled):
  // nothing of it is written, so nothing of it is counted.
  void DropStaged() {
    ingesting_ = false;
    group_.Reset(db_.graph->IdBound());
    report_.nodes = ingested_.nodes;
    report_.edges = ingested_.edges;
    report_.vectors = ingested_.vectors;
  }

  // Makes the load durable: a flush (the chunks were logged unsynced). Needs no writer role.
  Status Finish() {
    report_.lines = progress_.lines;
    if (options_.dry_run) return Status::OK();
    if (ingesting_ && report_.cancelled) DropStaged();
    if (ingesting_) PW_RETURN_IF_ERROR(IngestStaged(/*last=*/true));
    PW_RETURN_IF_ERROR(InsertHeldVectors());
    Progress("finishing");
    auto start = Clock::now();
    Status s = db_.store->Flush();
    report_.phases.finish = Since(start);
    return s;
  }

  void AddError(size_t line, std::string reason) {
    ++report_.errors;
    ++progress_.errors;
    if (report_.error_list.size() < options_.max_errors_kept) {
      report_.error_list.push_back({line, std::move(reason)});
    }
  }

  void Progress(const char* phase) {
    progress_.phase = phase;
    progress_.seconds = Since(start_);
    if (options_.progress) options_.progress(progress_);
  }

  Database::Impl& db_;
  const LoadOptions& options_;
  const int threads_;
  bool exclusive_ = false;
  bool ingesting_ = false;   // an ingestion load that has not ingested its last part yet
  size_t staged_bytes_ = 0;  // of lines staged into group_ by an ingestion load
  struct {
    size_t nodes = 0, edges = 0, vectors = 0;
  } ingested_;  // the counts of the parts an ingestion load has ingested
  Clock::time_point start_;
  std::shared_ptr<const Schema> schema_;
  StagedGroup group_;
  std::vector<ParsedLine> pending_;  // parsed lines of the chunk being gathered, in order
  size_t pending_bytes_ = 0;
  size_t pending_vector_bytes_ = 0;  // of pending_bytes_, in vector lines
  size_t pending_vectors_ = 0;
  // The current chunk sizes (SizeNextChunk). Both start at the least, since the first turn is
  // not yet measured: a first chunk of 256 KB of edge lines (accumulated edges read their old
  // value from a cold store) held other writers for 60-100 ms at 1M items, and one of 64 vector
  // replacements for up to 228 ms (docs/benchmarks.md, "Each stall placed", "Vector
  // replacement").
  size_t chunk_bytes_ = kMinChunkBytes;
  size_t chunk_vectors_ = kMinChunkVectors;
  // The node and edge types of the lines taken so far (StartChunkIfNewType).
  std::unordered_set<std::string> node_types_seen_, edge_types_seen_;
  bool holds_vectors_ = false;  // held_ is inserted at the end, not after each chunk
  LoadVectors held_;  // vectors applied and not yet in their indexes
  WriteSet set_;      // the line being staged (StageRecord)
  LoadReport report_;
  LoadProgress progress_;
};

Result<LoadReport> Database::Load(std::istream& in, const LoadOptions& options) {
  Result<LoadReport> report = LoadLines(in, options);
  // Even a failed load may have written a prefix of its chunks.
  if (!options.dry_run) impl_->NotifyObservers(WrittenNodes{{}, /*all=*/true});
  return report;
}

Result<LoadReport> Database::LoadLines(std::istream& in, const LoadOptions& options) {
  Impl::Loader loader(impl_.get(), options);
  auto empty = [this] { return impl_->graph->NodeCount() == 0 && impl_->graph->EdgeCount() == 0; };
  const bool may_ingest = options.ingest && !options.dry_run && empty();
  if (options.dry_run || (!options.exclusive && !may_ingest)) {
    PW_RETURN_IF_ERROR(loader.Run(in, /*exclusive=*/false, /*ingest=*/false));
  } else {
    PW_RETURN_IF_ERROR(impl_->RunExclusive([&] {
      // Checked again holding the role: a write may have come first.
      return loader.Run(in, /*exclusive=*/true, may_ingest && empty());
    }));
  }
  return loader.Conclude();
}

}  // namespace pathwise
