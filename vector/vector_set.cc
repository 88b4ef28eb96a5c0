// VectorSet: one index per space; snapshots (<dir>/<Type.name>.hnsw + .meta) and catch-up for
// HNSW spaces; flat spaces are rebuilt from the store at every open.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "storage/durable_files.h"
#include "vector/index_impl.h"

namespace pathwise::vector {
namespace {

namespace fs = std::filesystem;

std::string IndexPath(const std::string& dir, const VectorSpaceDef& def) {
  return dir + "/" + def.FullName() + ".hnsw";
}
std::string MetaPath(const std::string& dir, const VectorSpaceDef& def) {
  return dir + "/" + def.FullName() + ".meta";
}

// Renames tmp over path and syncs the directory, so that after a power loss path holds either
// its old or its new (complete, synced) content.
Status RenameDurably(const std::string& tmp, const std::string& path, const std::string& dir) {
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return Status::IOError("cannot rename " + tmp + ": " + ec.message());
  return storage::SyncPath(dir, /*directory=*/true);
}

Status WriteFileAtomically(const std::string& path, const std::string& content,
                           const std::string& dir) {
  std::string tmp = path + ".tmp";
  PW_ASSIGN_OR_RETURN(std::unique_ptr<FileSink> out, FileSink::Create(tmp));
  PW_RETURN_IF_ERROR(out->Write(content.data(), content.size()));
  PW_RETURN_IF_ERROR(out->Finish());
  return RenameDurably(tmp, path, dir);
}

// Loads the space's snapshot if it is intact and fits the definition and the store. NotFound
// when there is none; any other error says why the snapshot cannot be used.
Result<std::unique_ptr<IndexImpl>> LoadSnapshot(const std::string& dir, const VectorSpaceDef& def,
                                                uint64_t latest_sequence) {
  const std::string index_path = IndexPath(dir, def);
  const std::string meta_path = MetaPath(dir, def);
  std::error_code ec;
  const bool have_index = fs::exists(index_path, ec);
  const bool have_meta = fs::exists(meta_path, ec);
  if (!have_index && !have_meta) return Status::NotFound("no snapshot");
  if (!have_meta) return Status::Corruption("its .meta file is missing");
  nlohmann::json meta;
  {
    std::ifstream in(meta_path);
    meta = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  }
  if (!meta.is_object() || !meta.contains("format") || !meta["format"].is_number_unsigned()) {
    return Status::Corruption("its .meta file is unreadable");
  }
  if (meta["format"].get<uint64_t>() != kSnapshotFormat) {
    return Status::Corruption("format " + meta["format"].dump() + ", expected " +
                              std::to_string(kSnapshotFormat));
  }
  for (const char* key : {"dim", "m", "sequence", "count", "checksum"}) {
    if (!meta.contains(key) || !meta[key].is_number_unsigned()) {
      return Status::Corruption(std::string("its .meta file lacks \"") + key + "\"");
    }
  }
  if (!meta.contains("metric") || !meta["metric"].is_string()) {
    return Status::Corruption("its .meta file lacks \"metric\"");
  }
  if (meta["dim"].get<uint64_t>() != def.dim || meta["m"].get<uint64_t>() != def.m ||
      meta["metric"].get<std::string>() != MetricName(def.metric)) {
    return Status::Corruption("it is for another definition of the space");
  }
  if (meta["sequence"].get<uint64_t>() > latest_sequence) {
    return Status::Corruption("it is newer than the record store (a restored backup?)");
  }
  if (!have_index) return Status::Corruption("the index file is missing");
  PW_ASSIGN_OR_RETURN(std::unique_ptr<FileSource> source, FileSource::Open(index_path));
  uint32_t crc = 0;
  PW_ASSIGN_OR_RETURN(std::unique_ptr<IndexImpl> impl, IndexImpl::Load(def, source.get(), &crc));
  if (crc != meta["checksum"].get<uint64_t>()) {
    return Status::Corruption("the index file does not belong to its .meta (checksums differ)");
  }
  if (impl->Points() != meta["count"].get<uint64_t>()) {
    return Status::Corruption("the point count differs from its .meta");
  }
  return impl;
}

Status BuildFromStore(const storage::Store& store, VectorIndex* index) {
  const VectorSpaceDef& def = index->def();
  std::vector<NodeId> nodes;
  std::vector<float> values;
  Status bad;
  PW_RETURN_IF_ERROR(store.ScanVectors(def.id, [&](NodeId node, std::span<const float> v) {
    if (v.size() != def.dim) {
      bad = Status::Corruption("stored vector of node " + std::to_string(node) + " in " +
                               def.FullName() + " has dim " + std::to_string(v.size()));
      return false;
    }
    nodes.push_back(node);
    values.insert(values.end(), v.begin(), v.end());
    return true;
  }));
  PW_RETURN_IF_ERROR(bad);
  if (nodes.empty()) return Status::OK();
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return index->UpsertBatch(nodes, values, threads);
}

}  // namespace

Status WriteSnapshot(const IndexImpl& impl, const std::string& dir, uint64_t sequence) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::IOError("cannot create snapshot directory " + dir + ": " + ec.message());
  const std::string path = IndexPath(dir, impl.def);
  const std::string tmp = path + ".tmp";
  size_t count = 0;
  uint32_t crc = 0;
  {
    PW_ASSIGN_OR_RETURN(std::unique_ptr<FileSink> out, FileSink::Create(tmp));
    PW_RETURN_IF_ERROR(impl.WriteSnapshotTo(out.get(), &crc, &count));
    PW_RETURN_IF_ERROR(out->Finish());  // fsync before the rename
  }
  PW_RETURN_IF_ERROR(RenameDurably(tmp, path, dir));
  // Until the .meta below is renamed too, the pair does not match (checksum) and a restart
  // rebuilds this space from the store: a crash here costs time, never correctness.
  nlohmann::json meta = {{"format", kSnapshotFormat}, {"space", impl.def.FullName()},
                         {"sequence", sequence},      {"count", count},
                         {"live", impl.live.load()},  {"dim", impl.def.dim},
                         {"metric", MetricName(impl.def.metric)}, {"m", impl.def.m},
                         {"checksum", crc}};
  return WriteFileAtomically(MetaPath(dir, impl.def), meta.dump(), dir);
}

struct VectorSet::Impl {
  std::string dir;
  mutable std::shared_mutex mu;  // guards the map; indexes themselves are thread-safe
  std::map<SpaceId, std::unique_ptr<VectorIndex>> indexes;
};

VectorSet::VectorSet() : impl_(std::make_unique<Impl>()) {}
VectorSet::~VectorSet() = default;

Result<std::unique_ptr<VectorSet>> VectorSet::Open(const storage::Store& store,
                                                   const Schema& schema, const std::string& dir) {
  std::unique_ptr<VectorSet> set(new VectorSet());
  set->impl_->dir = dir;
  // Dirty (space, node) pairs written after each space's snapshot.
  std::map<SpaceId, std::vector<NodeId>> dirty;
  PW_RETURN_IF_ERROR(store.ScanDirtyVectors([&](SpaceId space, NodeId node) {
    dirty[space].push_back(node);
    return true;
  }));
  uint64_t latest = store.LatestSequence();
  for (const VectorSpaceDef& def : schema.spaces()) {
    std::unique_ptr<IndexImpl> loaded;
    const bool flat = def.index == VectorIndexKind::kFlat;
    if (!dir.empty() && !flat) {
      Result<std::unique_ptr<IndexImpl>> r = LoadSnapshot(dir, def, latest);
      if (r.ok()) {
        loaded = std::move(r).value();
      } else if (r.status().code() != Status::Code::kNotFound) {
        // One line per unusable snapshot; the store holds every vector, so rebuilding is safe.
        std::fprintf(stderr, "pathwise: rebuilding %s from the record store: %s: %s\n",
                     def.FullName().c_str(), IndexPath(dir, def).c_str(),
                     r.status().message().c_str());
      }
    }
    if (loaded) {
      std::unique_ptr<VectorIndex> index = IndexInternals::Wrap(std::move(loaded));
      for (NodeId node : dirty[def.id]) {
        Result<std::vector<float>> v = store.GetVector(def.id, node);
        if (v.ok()) {
          PW_RETURN_IF_ERROR(index->Upsert(node, *v));
        } else if (v.status().code() == Status::Code::kNotFound) {
          PW_RETURN_IF_ERROR(index->Remove(node));
        } else {
          return v.status();
        }
      }
      index->impl_->dirty = !dirty[def.id].empty();
      set->impl_->indexes[def.id] = std::move(index);
      continue;
    }
    PW_ASSIGN_OR_RETURN(std::unique_ptr<VectorIndex> index, VectorIndex::Create(def));
    PW_RETURN_IF_ERROR(BuildFromStore(store, index.get()));
    // A rebuilt HNSW index has no snapshot yet: the next SaveSnapshots writes one. A flat index
    // has none; its SaveSnapshots clears the store's dirty set, which it does not read.
    index->impl_->dirty = true;
    set->impl_->indexes[def.id] = std::move(index);
  }
  return set;
}

Status VectorSet::AddSpace(const VectorSpaceDef& def) {
  std::unique_lock lock(impl_->mu);
  if (impl_->indexes.count(def.id)) {
    const VectorSpaceDef& have = impl_->indexes[def.id]->def();
    if (have.dim == def.dim && have.metric == def.metric && have.index == def.index) {
      return Status::OK();
    }
    return Status::AlreadyExists("vector space " + def.FullName() + " already exists");
  }
  PW_ASSIGN_OR_RETURN(std::unique_ptr<VectorIndex> index, VectorIndex::Create(def));
  impl_->indexes[def.id] = std::move(index);
  return Status::OK();
}

VectorIndex* VectorSet::Get(SpaceId space) {
  std::shared_lock lock(impl_->mu);
  auto it = impl_->indexes.find(space);
  return it == impl_->indexes.end() ? nullptr : it->second.get();
}

const VectorIndex* VectorSet::Get(SpaceId space) const {
  std::shared_lock lock(impl_->mu);
  auto it = impl_->indexes.find(space);
  return it == impl_->indexes.end() ? nullptr : it->second.get();
}

struct VectorSnapshot::Impl {
  struct Space {
    SpaceId id = 0;
    IndexImpl* index = nullptr;
    std::unique_lock<std::shared_mutex> hold;  // HNSW: write_mu until the file is written
  };
  std::string dir;
  uint64_t sequence = 0;
  std::vector<Space> spaces;
  bool finished = false;
};

VectorSnapshot::VectorSnapshot() : impl_(std::make_unique<Impl>()) {}

VectorSnapshot::~VectorSnapshot() {
  for (auto& space : impl_->spaces) {
    if (space.hold.owns_lock()) space.hold.unlock();
    if (impl_->finished) continue;
    space.index->TakeTouched();  // ends recording; every mark stays in the store
    space.index->dirty = true;
  }
}

Status VectorSnapshot::Write() {
  Status status;
  for (auto& space : impl_->spaces) {
    if (status.ok() && space.hold.owns_lock()) {
      status = WriteSnapshot(*space.index, impl_->dir, impl_->sequence);
    }
    if (space.hold.owns_lock()) space.hold.unlock();
  }
  return status;
}

Status VectorSnapshot::Finish(storage::Store* store) {
  for (auto& space : impl_->spaces) {
    std::vector<NodeId> written = space.index->TakeTouched();
    if (written.size() > kMaxKeptMarks) {
      space.index->dirty = true;  // the marks stay; the next snapshot clears them
      continue;
    }
    PW_RETURN_IF_ERROR(store->ClearDirtyVectors(space.id, written));
  }
  impl_->finished = true;
  return Status::OK();
}

Result<std::unique_ptr<VectorSnapshot>> VectorSet::BeginSnapshot(const storage::Store& store) {
  std::unique_ptr<VectorSnapshot> snapshot(new VectorSnapshot());
  if (impl_->dir.empty()) return snapshot;  // in-memory database: nothing to persist
  VectorSnapshot::Impl& s = *snapshot->impl_;
  s.dir = impl_->dir;
  s.sequence = store.LatestSequence();
  std::shared_lock lock(impl_->mu);
  for (auto& [id, index] : impl_->indexes) {
    IndexImpl* impl = index->impl_.get();
    if (!impl->dirty.load()) continue;
    VectorSnapshot::Impl::Space space{id, impl, {}};
    if (!impl->flat) space.hold = std::unique_lock(impl->write_mu);
    impl->recording = true;
    impl->dirty = false;
    s.spaces.push_back(std::move(space));
  }
  return snapshot;
}

Status VectorSet::SaveSnapshots(storage::Store* store) {
  PW_ASSIGN_OR_RETURN(std::unique_ptr<VectorSnapshot> snapshot, BeginSnapshot(*store));
  PW_RETURN_IF_ERROR(snapshot->Write());
  return snapshot->Finish(store);
}

Status VectorSet::SaveSnapshotsTo(const std::string& dir) const {
  std::shared_lock lock(impl_->mu);
  for (const auto& [space, index] : impl_->indexes) {
    if (index->impl_->flat) continue;  // rebuilt from the restored store
    // A backup's snapshot covers everything the checkpoint has; sequence 0 never looks newer
    // than the restored store, and the store's dirty set re-applies anything after it.
    PW_RETURN_IF_ERROR(WriteSnapshot(*index->impl_, dir, 0));
  }
  return Status::OK();
}

}  // namespace pathwise::vector
