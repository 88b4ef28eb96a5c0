// VectorSet: one index per space; snapshots (<dir>/<Type.name>.hnsw + .meta) and catch-up.
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "vector/index_impl.h"

namespace pathwise::vector {
namespace {

constexpr int kFormatVersion = 1;
namespace fs = std::filesystem;

std::string IndexPath(const std::string& dir, const VectorSpaceDef& def) {
  return dir + "/" + def.FullName() + ".hnsw";
}
std::string MetaPath(const std::string& dir, const VectorSpaceDef& def) {
  return dir + "/" + def.FullName() + ".meta";
}

Status FsyncPath(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) return Status::IOError("cannot open " + path + " to sync");
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Status::IOError("fsync failed for " + path);
  return Status::OK();
}

Status WriteFileAtomically(const std::string& path, const std::string& content) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    out.flush();
    if (!out) return Status::IOError("cannot write " + tmp);
  }
  PW_RETURN_IF_ERROR(FsyncPath(tmp, false));
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return Status::IOError("cannot rename " + tmp + ": " + ec.message());
  return Status::OK();
}

// Loads a consistent snapshot, or returns nullptr (caller rebuilds from the store).
std::unique_ptr<IndexImpl> TryLoadSnapshot(const std::string& dir,
                                                   const VectorSpaceDef& def,
                                                   uint64_t latest_sequence) {
  std::string index_path = IndexPath(dir, def);
  std::string meta_path = MetaPath(dir, def);
  std::error_code ec;
  if (!fs::exists(index_path, ec) || !fs::exists(meta_path, ec)) return nullptr;
  try {
    std::ifstream in(meta_path);
    nlohmann::json meta = nlohmann::json::parse(in);
    if (meta.at("format").get<int>() != kFormatVersion ||
        meta.at("dim").get<uint32_t>() != def.dim ||
        meta.at("metric").get<std::string>() != MetricName(def.metric) ||
        meta.at("m").get<uint32_t>() != def.m ||
        meta.at("sequence").get<uint64_t>() > latest_sequence) {
      return nullptr;  // another definition, or a snapshot newer than the store (restored backup)
    }
    auto impl = std::make_unique<IndexImpl>();
    impl->def = def;
    impl->LoadFrom(index_path);
    if (impl->Points() != meta.at("count").get<size_t>()) {
      return nullptr;
    }
    return impl;
  } catch (const std::exception&) {
    return nullptr;  // damaged or partial snapshot: rebuild
  }
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
  std::string path = IndexPath(dir, impl.def);
  std::string tmp = path + ".tmp";
  size_t count = 0;
  PW_RETURN_IF_ERROR(impl.SaveTo(tmp, &count));
  PW_RETURN_IF_ERROR(FsyncPath(tmp, false));
  fs::rename(tmp, path, ec);
  if (ec) return Status::IOError("cannot rename " + tmp + ": " + ec.message());
  nlohmann::json meta = {{"format", kFormatVersion}, {"space", impl.def.FullName()},
                         {"sequence", sequence},     {"count", count},
                         {"live", impl.live.load()}, {"dim", impl.def.dim},
                         {"metric", MetricName(impl.def.metric)}, {"m", impl.def.m}};
  PW_RETURN_IF_ERROR(WriteFileAtomically(MetaPath(dir, impl.def), meta.dump()));
  return FsyncPath(dir, true);
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
    if (!dir.empty()) loaded = TryLoadSnapshot(dir, def, latest);
    if (loaded) {
      std::unique_ptr<VectorIndex> index(new VectorIndex());
      index->impl_ = std::move(loaded);
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
    // A rebuilt index has no snapshot yet: the next SaveSnapshots writes one.
    index->impl_->dirty = true;
    set->impl_->indexes[def.id] = std::move(index);
  }
  return set;
}

Status VectorSet::AddSpace(const VectorSpaceDef& def) {
  std::unique_lock lock(impl_->mu);
  if (impl_->indexes.count(def.id)) {
    const VectorSpaceDef& have = impl_->indexes[def.id]->def();
    if (have.dim == def.dim && have.metric == def.metric) return Status::OK();
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

Status VectorSet::SaveSnapshots(storage::Store* store) {
  if (impl_->dir.empty()) return Status::OK();  // in-memory database: nothing to persist
  std::shared_lock lock(impl_->mu);
  uint64_t sequence = store->LatestSequence();
  for (auto& [space, index] : impl_->indexes) {
    if (!index->impl_->dirty.load()) continue;
    PW_RETURN_IF_ERROR(WriteSnapshot(*index->impl_, impl_->dir, sequence));
    PW_RETURN_IF_ERROR(store->ClearDirtyVectors(space));
    index->impl_->dirty = false;
  }
  return Status::OK();
}

Status VectorSet::SaveSnapshotsTo(const std::string& dir) const {
  std::shared_lock lock(impl_->mu);
  for (const auto& [space, index] : impl_->indexes) {
    // A backup's snapshot covers everything the checkpoint has; sequence 0 never looks newer
    // than the restored store, and the store's dirty set re-applies anything after it.
    PW_RETURN_IF_ERROR(WriteSnapshot(*index->impl_, dir, 0));
  }
  return Status::OK();
}

}  // namespace pathwise::vector
