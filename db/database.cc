// Database: open/close, schema changes, reads, metadata and administration. The write path is
// in write_path.cc, the NDJSON loader in loader.cc.
#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <system_error>
#include <thread>

#include "db/database_impl.h"
#include "db/event_log.h"
#include "graph/walks.h"
#include "storage/durable_files.h"

namespace pathwise {

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr char kSchemaKey[] = "schema";
// The declared counters: a JSON array of features::CounterToJson (with every default written).
constexpr char kCountersKey[] = "schema/counters";

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The stored counter declarations (none when the key is absent).
Result<std::vector<features::CounterDef>> StoredCounters(const storage::Store& store) {
  auto stored = store.GetMeta(kCountersKey);
  if (!stored.ok()) {
    if (stored.status().code() == Status::Code::kNotFound) return std::vector<features::CounterDef>();
    return stored.status();
  }
  auto defs = features::ParseCounters(Json::parse(*stored, nullptr, false));
  if (!defs.ok()) return Status::Corruption("stored counters are unreadable: " + defs.status().message());
  return defs;
}

// current plus the counters a schema document declares: a known name must be declared
// identically. InvalidArgument otherwise, or for a bad declaration.
Result<std::vector<features::CounterDef>> MergeCounters(
    const std::vector<features::CounterDef>& current, const Json& declared) {
  PW_ASSIGN_OR_RETURN(std::vector<features::CounterDef> added, features::ParseCounters(declared));
  Json all = Json::array();
  for (const auto& def : current) all.push_back(features::CounterToJson(def));
  for (const auto& def : added) {
    auto same = std::find_if(current.begin(), current.end(),
                             [&](const features::CounterDef& d) { return d.name == def.name; });
    if (same == current.end()) {
      all.push_back(features::CounterToJson(def));
    } else if (features::CounterToJson(*same) != features::CounterToJson(def)) {
      return Status::InvalidArgument("counter '" + def.name +
                                     "' is already declared differently; counters cannot change");
    }
  }
  return features::ParseCounters(all);
}

std::string DbPath(const std::string& dir) { return (fs::path(dir) / "db").string(); }
std::string HnswPath(const std::string& dir) { return (fs::path(dir) / "hnsw").string(); }
std::string TopologyPath(const std::string& dir) { return (fs::path(dir) / "topology").string(); }

// The graph from its snapshot when that is intact and stamped with the store's sequence
// (nothing was written since), else rebuilt from the store; one line says why a snapshot that
// exists was not used.
Result<std::unique_ptr<graph::Graph>> LoadGraph(const storage::Store& store, const Schema& schema,
                                                const std::string& path, std::string* source) {
  Result<std::unique_ptr<graph::Graph>> snap =
      graph::Graph::LoadSnapshot(path, store.LatestSequence());
  if (snap.ok()) {
    *source = "snapshot";
    return snap;
  }
  if (snap.status().code() != Status::Code::kNotFound) {
    std::fprintf(stderr, "pathwise: rebuilding the topology from the record store: %s: %s\n",
                 path.c_str(), snap.status().message().c_str());
  }
  *source = "store";
  return graph::Graph::Load(store, schema);
}

// Saves the topology snapshot stamped with the store's current sequence; a failure costs the
// next open a rebuild, never correctness, so it is reported and not returned.
void SaveTopology(const graph::Graph& graph, const storage::Store& store, const std::string& path) {
  Result<uint64_t> saved = graph.SaveSnapshot(path, store.LatestSequence());
  if (!saved.ok()) {
    std::fprintf(stderr, "pathwise: cannot save the topology snapshot %s: %s\n", path.c_str(),
                 saved.status().ToString().c_str());
  }
}

// The last WriteSet::log_sequence written (0 when none was).
Result<uint64_t> StoredLogSequence(const storage::Store& store) {
  auto stored = store.GetMeta(kLogSequenceMetaKey);
  if (stored.status().code() == Status::Code::kNotFound) return uint64_t{0};
  if (!stored.ok()) return stored.status();
  const std::string& text = stored.value();
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return Status::Corruption(std::string("the stored log sequence is not a number: ") +
                              kLogSequenceMetaKey);
  }
  return value;
}

}  // namespace

Database::Database() : impl_(std::make_unique<Impl>()) {}

Result<std::unique_ptr<Database>> Database::Open(const DatabaseOptions& options,
                                                 const std::string& dir) {
  std::unique_ptr<Database> db(new Database());
  Impl& impl = *db->impl_;
  impl.options = options;
  impl.dir = dir;
  std::error_code ec;
  fs::create_directories(HnswPath(dir), ec);
  if (ec) return Status::IOError("cannot create " + HnswPath(dir) + ": " + ec.message());
  PW_ASSIGN_OR_RETURN(impl.store, storage::Store::Open(options.store, DbPath(dir)));

  auto schema = std::make_shared<Schema>();
  auto stored = impl.store->GetMeta(kSchemaKey);
  if (stored.ok()) {
    Status s = schema->MergeJson(stored.value());
    if (!s.ok()) return Status::Corruption("stored schema is unreadable: " + s.message());
  } else if (stored.status().code() != Status::Code::kNotFound) {
    return stored.status();
  }
  impl.SetSchema(schema);
  PW_RETURN_IF_ERROR(impl.LoadServingStructures(*schema, HnswPath(dir), TopologyPath(dir)));
  PW_ASSIGN_OR_RETURN(FoldIns fold_ins, LoadFoldIns(*impl.store, *schema));
  impl.SetFoldIns(std::make_shared<const FoldIns>(std::move(fold_ins)));
  PW_ASSIGN_OR_RETURN(impl.next_event_seq, event_log::NextSequence(*impl.store));
  PW_ASSIGN_OR_RETURN(uint64_t log_sequence, StoredLogSequence(*impl.store));
  impl.log_sequence = log_sequence;
  PW_ASSIGN_OR_RETURN(std::vector<features::CounterDef> counters, StoredCounters(*impl.store));
  PW_RETURN_IF_ERROR(impl.RebuildCounters(std::move(counters), NowMillis()));
  impl.engine = std::make_unique<query::Engine>(options.query_engine);
  if (options.checkpoint_interval_seconds > 0) {
    impl.checkpointer = std::thread([&impl] { impl.CheckpointLoop(); });
  }
  if (options.impression_retention_days > 0 || options.event_retention_days > 0) {
    impl.expirer = std::thread([&impl, d = db.get()] { impl.ExpiryLoop(d); });
  }
  return db;
}

// The graph and the vector indexes are loaded side by side: they read disjoint data and
// neither looks at the other.
Status Database::Impl::LoadServingStructures(const Schema& schema, const std::string& hnsw_dir,
                                             const std::string& topology_path) {
  Result<std::unique_ptr<vector::VectorSet>> opened = Status::Internal("vectors not opened");
  auto open_vectors = [&] { opened = vector::VectorSet::Open(*store, schema, hnsw_dir); };
  std::thread vector_thread;
  try {
    vector_thread = std::thread(open_vectors);
  } catch (const std::system_error&) {
    open_vectors();  // no thread available: open them after the graph, here
  }
  Result<std::unique_ptr<graph::Graph>> loaded =
      LoadGraph(*store, schema, topology_path, &topology_source);
  if (vector_thread.joinable()) vector_thread.join();
  if (!loaded.ok()) return loaded.status();
  if (!opened.ok()) return opened.status();
  // Writes may follow from now on: a crash after them must not find a snapshot that looks
  // valid, so only the next clean close writes one again. (Its sequence stamp would expose it
  // as stale anyway; the deletion makes that independent of how the store numbers writes.)
  std::error_code ec;
  fs::remove(topology_path, ec);
  if (ec) {
    return Status::IOError("cannot delete the topology snapshot " + topology_path + ": " +
                           ec.message());
  }
  graph = std::move(loaded).value();
  vectors = std::move(opened).value();
  return Status::OK();
}

bool Database::Impl::WaitForStop(std::chrono::steady_clock::duration period) {
  MutexLock lock(&checkpoint_mu);
  const auto until = std::chrono::steady_clock::now() + period;
  for (auto now = std::chrono::steady_clock::now(); !stop_checkpoints && now < until;
       now = std::chrono::steady_clock::now()) {
    checkpoint_cv.WaitFor(&checkpoint_mu, until - now);
  }
  return stop_checkpoints;
}

void Database::Impl::ExpiryLoop(Database* db) {
  auto cutoff = [](uint32_t days) {
    return NowMillis() - int64_t{days} * 24 * 3600 * 1000;
  };
  do {
    if (options.impression_retention_days > 0) {
      Status s = db->ExpireImpressions(cutoff(options.impression_retention_days));
      if (!s.ok()) std::fprintf(stderr, "pathwise: impression expiry failed: %s\n", s.ToString().c_str());
    }
    if (options.event_retention_days > 0) {
      Status s = db->ExpireEvents(cutoff(options.event_retention_days));
      if (!s.ok()) std::fprintf(stderr, "pathwise: event expiry failed: %s\n", s.ToString().c_str());
    }
  } while (!WaitForStop(std::chrono::hours(1)));
}

void Database::Impl::CheckpointLoop() {
  const auto interval = std::chrono::seconds(options.checkpoint_interval_seconds);
  while (!WaitForStop(interval)) {
    Status s = SnapshotVectors();
    if (!s.ok())
      std::fprintf(stderr, "pathwise: periodic checkpoint failed: %s\n", s.ToString().c_str());
  }
}

Status Database::Impl::SnapshotVectors() {
  MutexLock serial(&snapshot_mu);
  std::unique_ptr<vector::VectorSnapshot> snapshot;
  PW_RETURN_IF_ERROR(RunExclusive([&]() -> Status {
    PW_ASSIGN_OR_RETURN(snapshot, vectors->BeginSnapshot(*store));
    return Status::OK();
  }));
  PW_RETURN_IF_ERROR(snapshot->Write());
  return RunExclusive([&] { return snapshot->Finish(store.get()); });
}

Database::~Database() {
  if (!impl_ || !impl_->store) return;
  {
    MutexLock lock(&impl_->checkpoint_mu);
    impl_->stop_checkpoints = true;
  }
  impl_->checkpoint_cv.NotifyAll();
  if (impl_->checkpointer.joinable()) impl_->checkpointer.join();
  if (impl_->expirer.joinable()) impl_->expirer.join();
  // Waits behind every queued writer, then snapshots and flushes as the last writer.
  impl_->RunExclusive(
      [this] {
        bool healthy;
        {
          MutexLock lock(&impl_->mu);
          healthy = impl_->failed.ok();
        }
        // In the failed state memory may be ahead of the store: never snapshot it.
        if (healthy && impl_->options.snapshot_on_close && impl_->vectors) {
          impl_->vectors->SaveSnapshots(impl_->store.get());
        }
        // After the vector snapshots, whose dirty-set clearing is itself a write: the
        // topology's stamp is the store's last sequence.
        if (healthy && impl_->options.snapshot_on_close && impl_->graph) {
          SaveTopology(*impl_->graph, *impl_->store, TopologyPath(impl_->dir));
        }
        return impl_->store->Flush();
      },
      /*run_when_failed=*/true);
  impl_->engine.reset();
  impl_->vectors.reset();
  impl_->graph.reset();
  impl_->store.reset();
}

// ---- Schema -------------------------------------------------------------------------------

std::string Database::SchemaJson() const {
  std::string json = impl_->CurrentSchema()->ToJson();
  MutexLock lock(&impl_->counters_mu);
  if (impl_->counters->defs().empty()) return json;
  Json doc = Json::parse(json);
  doc["counters"] = Json::array();
  for (const auto& def : impl_->counters->defs()) doc["counters"].push_back(features::CounterToJson(def));
  return doc.dump();
}

Status Database::Impl::MergeSchemaLocked(std::string_view json) {
  // "counters" are ours (features/); the rest is the storage schema's.
  Json doc = Json::parse(json, nullptr, false);
  std::optional<std::vector<features::CounterDef>> next_counters;
  std::string rest(json);
  if (doc.is_object() && doc.contains("counters")) {
    std::vector<features::CounterDef> current;
    {
      MutexLock lock(&counters_mu);
      current = counters->defs();
    }
    PW_ASSIGN_OR_RETURN(auto merged, MergeCounters(current, doc["counters"]));
    if (merged.size() != current.size()) next_counters = std::move(merged);
    doc.erase("counters");
    rest = doc.dump();
  }
  std::shared_ptr<const Schema> old = CurrentSchema();
  auto next = std::make_shared<Schema>(*old);
  PW_RETURN_IF_ERROR(next->MergeJson(rest));
  if (next->version() == old->version() && !next_counters) return Status::OK();
  storage::WriteBatch batch;
  batch.PutMeta(kSchemaKey, next->ToJson());
  if (next_counters) {
    Json stored = Json::array();
    for (const auto& def : *next_counters) stored.push_back(features::CounterToJson(def));
    batch.PutMeta(kCountersKey, stored.dump());
  }
  PW_RETURN_IF_ERROR(store->Write(&batch, /*sync=*/true));
  for (size_t i = old->spaces().size(); i < next->spaces().size(); ++i) {
    PW_RETURN_IF_ERROR(vectors->AddSpace(next->spaces()[i]));
  }
  fold_ledger->Clear();  // incremental fold-in assumes the schema it was computed under
  SetSchema(std::move(next));
  if (next_counters) return RebuildCounters(std::move(*next_counters), NowMillis());
  return Status::OK();
}

Status Database::MergeSchema(std::string_view json) {
  return impl_->RunExclusive([&] { return impl_->MergeSchemaLocked(json); });
}

// ---- Reads --------------------------------------------------------------------------------

namespace {

// The node (type, id) in graph; its type's definition in *def when def is given.
Result<NodeId> FindNode(const Schema& schema, const graph::Graph& graph, std::string_view type,
                        std::string_view id, const NodeTypeDef** def = nullptr) {
  const NodeTypeDef* found = schema.FindNodeType(type);
  if (found == nullptr) return Status::InvalidArgument("unknown node type '" + std::string(type) + "'");
  if (def != nullptr) *def = found;
  NodeId node = graph.Lookup(found->id, id);
  if (node == kInvalidNode) {
    return Status::NotFound("node " + std::string(type) + " '" + std::string(id) + "' not found");
  }
  return node;
}

}  // namespace

Result<nlohmann::json> Database::GetNode(std::string_view type, std::string_view id) const {
  std::shared_ptr<const Schema> schema = impl_->CurrentSchema();
  const NodeTypeDef* def = nullptr;
  PW_ASSIGN_OR_RETURN(NodeId node, FindNode(*schema, *impl_->graph, type, id, &def));
  Json vectors = Json::object();
  for (const auto& space : schema->spaces()) {
    if (space.node_type != def->name) continue;
    const vector::VectorIndex* index = impl_->vectors->Get(space.id);
    vectors[space.name] = index != nullptr && index->Contains(node);
  }
  Json degrees = Json::object();
  for (const auto& d : impl_->graph->Degrees(node)) {
    const EdgeTypeDef* edge = schema->EdgeType(d.edge_type);
    if (edge == nullptr) continue;
    Json& entry = degrees[edge->name];
    if (entry.is_null()) entry = {{"out", 0}, {"in", 0}};
    entry[d.dir == storage::Direction::kOut ? "out" : "in"] = d.degree;
  }
  return Json{{"type", def->name},
              {"id", std::string(id)},
              {"properties", PropertiesToJson(impl_->graph->GetProperties(node))},
              {"vectors", vectors},
              {"degrees", degrees}};
}

Result<uint64_t> Database::OutDegree(std::string_view type, std::string_view id) const {
  std::shared_ptr<const Schema> schema = impl_->CurrentSchema();
  PW_ASSIGN_OR_RETURN(NodeId node, FindNode(*schema, *impl_->graph, type, id));
  uint64_t out = 0;
  for (const auto& d : impl_->graph->Degrees(node)) {
    if (d.dir == storage::Direction::kOut && schema->EdgeType(d.edge_type) != nullptr) out += d.degree;
  }
  return out;
}

Result<QueryResult> Database::Query(std::string_view text, const nlohmann::json& params,
                                    const QueryOptions& options) {
  query::Catalog catalog;
  catalog.schema = impl_->CurrentSchema();
  catalog.graph = impl_->graph.get();
  catalog.vectors = impl_->vectors.get();
  catalog.store = impl_->store.get();
  catalog.counters = &impl_->online_counters;
  catalog.default_max_per_node = impl_->options.default_max_per_node;
  return impl_->engine->Execute(catalog, text, params, options);
}

Result<std::string> Database::GetMeta(std::string_view key) const {
  return impl_->store->GetMeta(key);
}

Status Database::ScanMeta(std::string_view prefix,
                          const std::function<bool(std::string_view, std::string_view)>& fn) const {
  return impl_->store->ScanMeta(prefix, fn);
}

Result<nlohmann::json> Database::GetEventTypes() const {
  auto stored = GetMeta(kEventTypesMetaKey);
  if (!stored.ok()) {
    if (stored.status().code() == Status::Code::kNotFound) return nlohmann::json::object();
    return stored.status();
  }
  nlohmann::json table = nlohmann::json::parse(*stored, nullptr, false);
  if (!table.is_object()) return Status::Corruption("the stored event-type table is not a JSON object");
  return table;
}

// ---- Administration -----------------------------------------------------------------------

Status Database::Backup(const std::string& dir) {
  return impl_->RunExclusive([&]() -> Status {
    std::error_code ec;
    if (fs::exists(dir, ec)) return Status::AlreadyExists("backup directory exists: " + dir);
    fs::create_directories(dir, ec);
    if (ec) return Status::IOError("cannot create " + dir + ": " + ec.message());
    PW_RETURN_IF_ERROR(impl_->store->Checkpoint(DbPath(dir)));
    fs::create_directories(HnswPath(dir), ec);
    PW_RETURN_IF_ERROR(impl_->vectors->SaveSnapshotsTo(HnswPath(dir)));
    // The checkpoint holds exactly the store at this sequence (no writer runs).
    PW_ASSIGN_OR_RETURN(uint64_t bytes, impl_->graph->SaveSnapshot(
                                            TopologyPath(dir), impl_->store->LatestSequence()));
    (void)bytes;
    return Status::OK();
  });
}

Status Database::Restore(const std::string& backup_dir, const std::string& dir) {
  PW_RETURN_IF_ERROR(storage::Store::Restore(DbPath(backup_dir), DbPath(dir)));
  std::error_code ec;
  fs::remove_all(HnswPath(dir), ec);
  if (fs::exists(HnswPath(backup_dir), ec)) {
    fs::copy(HnswPath(backup_dir), HnswPath(dir), fs::copy_options::recursive, ec);
    if (ec) return Status::IOError("copy index snapshots: " + ec.message());
  }
  fs::remove(TopologyPath(dir), ec);
  if (fs::exists(TopologyPath(backup_dir), ec)) {
    fs::copy_file(TopologyPath(backup_dir), TopologyPath(dir), ec);
    if (ec) return Status::IOError("copy the topology snapshot: " + ec.message());
    PW_RETURN_IF_ERROR(storage::SyncPath(TopologyPath(dir), /*directory=*/false));
  }
  // The snapshots are on disk before Restore reports the database restored.
  if (fs::exists(HnswPath(dir), ec)) PW_RETURN_IF_ERROR(storage::SyncTree(HnswPath(dir)));
  return storage::SyncPath(dir, /*directory=*/true);
}

Status Database::Checkpoint() { return impl_->SnapshotVectors(); }

Status Database::Health() const {
  MutexLock lock(&impl_->mu);
  return impl_->failed;
}

nlohmann::json Database::Stats() const {
  std::shared_ptr<const Schema> schema = impl_->CurrentSchema();
  Json vectors = Json::object();
  size_t vector_bytes = 0;
  for (const auto& space : schema->spaces()) {
    const vector::VectorIndex* index = impl_->vectors->Get(space.id);
    vectors[space.FullName()] = index != nullptr ? index->Size() : 0;
    if (index != nullptr) vector_bytes += index->MemoryBytes();
  }
  Json counters;
  {
    MutexLock lock(&impl_->counters_mu);
    counters = impl_->counters->Stats();
  }
  return Json{{"nodes", impl_->graph->NodeCount()},
              {"edges", impl_->graph->EdgeCount()},
              {"vectors", vectors},
              {"disk_bytes", impl_->store->SizeOnDisk()},
              {"memory_bytes",
               {{"graph", impl_->graph->MemoryBytes()},
                {"walk_snapshots", graph::GetWalkSnapshotStats(*impl_->graph).bytes},
                {"vectors", vector_bytes}}},
              {"sequence", impl_->store->LatestSequence()},
              {"log_sequence", AppliedLogSequence()},
              {"topology_loaded_from", impl_->topology_source},
              {"fold_ins",
               {{"full", impl_->fold_ledger->full_fold_ins()},
                {"incremental", impl_->fold_ledger->incremental_fold_ins()}}},
              {"counters", counters}};
}

}  // namespace pathwise
