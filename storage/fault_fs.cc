// FaultInjectionFs: a rocksdb::FileSystemWrapper that tracks synced bytes and unsynced directory
// entries, and at a simulated power loss drops what was not synced (storage/fault_fs.h).
#include "storage/fault_fs.h"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>

#include "storage/fault_fs_internal.h"

namespace pathwise::storage {

namespace {

namespace fs = std::filesystem;
using rocksdb::FileOptions;
using rocksdb::FSDirectory;
using rocksdb::FSWritableFile;
using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;
using rocksdb::Slice;

std::string Normal(const std::string& path) { return fs::path(path).lexically_normal().string(); }
std::string DirOf(const std::string& path) { return fs::path(path).parent_path().string(); }
std::string NameOf(const std::string& path) { return fs::path(path).filename().string(); }

IOStatus PowerOff() { return IOStatus::IOError("simulated power loss: the file system is off"); }

std::optional<std::string> ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

// What the simulated disk has made durable. Shared by the file system and its open files.
struct Core {
  std::atomic<bool> active{true};
  std::mutex mu;
  struct File {
    uint64_t written = 0;  // bytes written through this file system
    uint64_t synced = 0;   // bytes covered by the last successful Sync/Fsync
  };
  std::map<std::string, File> files;  // by normalized path; only files written since tracking
  // Per directory: names created or renamed into it since its last fsync, with the contents a
  // renamed-over file had before (nullopt: the name did not exist).
  std::map<std::string, std::map<std::string, std::optional<std::string>>> pending_names;

  // REQUIRES: mu held.
  void NoteNewName(const std::string& path, std::optional<std::string> previous) {
    auto& names = pending_names[DirOf(path)];
    names.emplace(NameOf(path), std::move(previous));  // keeps the oldest previous contents
  }
  void ForgetName(const std::string& path) {
    auto it = pending_names.find(DirOf(path));
    if (it != pending_names.end()) it->second.erase(NameOf(path));
  }
};

namespace {

class TrackedFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  TrackedFile(std::unique_ptr<FSWritableFile> target, std::shared_ptr<Core> core,
              std::string path)
      : FSWritableFileOwnerWrapper(std::move(target)), core_(std::move(core)),
        path_(std::move(path)) {}

  IOStatus Append(const Slice& data, const IOOptions& o, IODebugContext* d) override {
    if (!core_->active) return PowerOff();
    IOStatus s = FSWritableFileOwnerWrapper::Append(data, o, d);
    if (s.ok()) Grow(data.size(), std::nullopt);
    return s;
  }
  IOStatus Append(const Slice& data, const IOOptions& o, const rocksdb::DataVerificationInfo& v,
                  IODebugContext* d) override {
    if (!core_->active) return PowerOff();
    IOStatus s = FSWritableFileOwnerWrapper::Append(data, o, v, d);
    if (s.ok()) Grow(data.size(), std::nullopt);
    return s;
  }
  IOStatus PositionedAppend(const Slice& data, uint64_t offset, const IOOptions& o,
                            IODebugContext* d) override {
    if (!core_->active) return PowerOff();
    IOStatus s = FSWritableFileOwnerWrapper::PositionedAppend(data, offset, o, d);
    if (s.ok()) Grow(data.size(), offset);
    return s;
  }
  IOStatus PositionedAppend(const Slice& data, uint64_t offset, const IOOptions& o,
                            const rocksdb::DataVerificationInfo& v, IODebugContext* d) override {
    if (!core_->active) return PowerOff();
    IOStatus s = FSWritableFileOwnerWrapper::PositionedAppend(data, offset, o, v, d);
    if (s.ok()) Grow(data.size(), offset);
    return s;
  }
  IOStatus Truncate(uint64_t size, const IOOptions& o, IODebugContext* d) override {
    if (!core_->active) return PowerOff();
    IOStatus s = FSWritableFileOwnerWrapper::Truncate(size, o, d);
    if (s.ok()) {
      std::lock_guard lock(core_->mu);
      auto& f = core_->files[path_];
      f.written = size;
      f.synced = std::min(f.synced, size);
    }
    return s;
  }
  IOStatus Flush(const IOOptions& o, IODebugContext* d) override {
    if (!core_->active) return PowerOff();
    return FSWritableFileOwnerWrapper::Flush(o, d);
  }
  IOStatus Sync(const IOOptions& o, IODebugContext* d) override {
    return SyncWith([&] { return FSWritableFileOwnerWrapper::Sync(o, d); });
  }
  IOStatus Fsync(const IOOptions& o, IODebugContext* d) override {
    return SyncWith([&] { return FSWritableFileOwnerWrapper::Fsync(o, d); });
  }
  // sync_file_range gives no durability guarantee: passed through, not counted as a sync.
  IOStatus RangeSync(uint64_t offset, uint64_t n, const IOOptions& o, IODebugContext* d) override {
    if (!core_->active) return PowerOff();
    return FSWritableFileOwnerWrapper::RangeSync(offset, n, o, d);
  }

 private:
  void Grow(uint64_t n, std::optional<uint64_t> offset) {
    std::lock_guard lock(core_->mu);
    auto& f = core_->files[path_];
    f.written = offset ? std::max(f.written, *offset + n) : f.written + n;
  }
  // A sync covers (at least) what was written when it started; appends racing with it may or
  // may not be covered, so they are not counted.
  template <typename Fn>
  IOStatus SyncWith(Fn&& sync) {
    if (!core_->active) return PowerOff();
    uint64_t covered;
    {
      std::lock_guard lock(core_->mu);
      covered = core_->files[path_].written;
    }
    IOStatus s = sync();
    if (s.ok()) {
      std::lock_guard lock(core_->mu);
      auto& f = core_->files[path_];
      f.synced = std::max(f.synced, covered);
    }
    return s;
  }

  std::shared_ptr<Core> core_;
  std::string path_;
};

class TrackedDirectory : public rocksdb::FSDirectoryWrapper {
 public:
  TrackedDirectory(std::unique_ptr<FSDirectory> target, std::shared_ptr<Core> core,
                   std::string path)
      : FSDirectoryWrapper(std::move(target)), core_(std::move(core)), path_(std::move(path)) {}

  IOStatus Fsync(const IOOptions& o, IODebugContext* d) override {
    if (!core_->active) return PowerOff();
    IOStatus s = FSDirectoryWrapper::Fsync(o, d);
    if (s.ok()) Synced();
    return s;
  }
  IOStatus FsyncWithDirOptions(const IOOptions& o, IODebugContext* d,
                               const rocksdb::DirFsyncOptions& options) override {
    if (!core_->active) return PowerOff();
    IOStatus s = FSDirectoryWrapper::FsyncWithDirOptions(o, d, options);
    if (s.ok()) Synced();
    return s;
  }

 private:
  void Synced() {
    std::lock_guard lock(core_->mu);
    core_->pending_names.erase(path_);
  }
  std::shared_ptr<Core> core_;
  std::string path_;
};

class TrackingFileSystem : public rocksdb::FileSystemWrapper {
 public:
  explicit TrackingFileSystem(std::shared_ptr<Core> core)
      : FileSystemWrapper(rocksdb::FileSystem::Default()), core_(std::move(core)) {}

  const char* Name() const override { return "PathwiseFaultInjectionFs"; }

  IOStatus NewWritableFile(const std::string& f, const FileOptions& fo,
                           std::unique_ptr<FSWritableFile>* r, IODebugContext* d) override {
    if (!core_->active) return PowerOff();
    const std::string path = Normal(f);
    std::optional<std::string> previous = ReadWhole(path);  // NewWritableFile truncates
    std::unique_ptr<FSWritableFile> file;
    IOStatus s = target()->NewWritableFile(f, fo, &file, d);
    if (!s.ok()) return s;
    {
      std::lock_guard lock(core_->mu);
      core_->files[path] = Core::File{};
      core_->NoteNewName(path, std::move(previous));
    }
    *r = std::make_unique<TrackedFile>(std::move(file), core_, path);
    return s;
  }
  IOStatus ReopenWritableFile(const std::string& f, const FileOptions& fo,
                              std::unique_ptr<FSWritableFile>* r, IODebugContext* d) override {
    if (!core_->active) return PowerOff();
    const std::string path = Normal(f);
    std::error_code ec;
    const bool existed = fs::exists(path, ec);
    const uint64_t size = existed ? fs::file_size(path, ec) : 0;
    std::unique_ptr<FSWritableFile> file;
    IOStatus s = target()->ReopenWritableFile(f, fo, &file, d);
    if (!s.ok()) return s;
    {
      std::lock_guard lock(core_->mu);
      // An untracked existing file is durable as it stands.
      core_->files.try_emplace(path, Core::File{size, size});
      if (!existed) core_->NoteNewName(path, std::nullopt);
    }
    *r = std::make_unique<TrackedFile>(std::move(file), core_, path);
    return s;
  }
  IOStatus ReuseWritableFile(const std::string& f, const std::string& old, const FileOptions& fo,
                             std::unique_ptr<FSWritableFile>* r, IODebugContext* d) override {
    // WAL recycling (recycle_log_file_num) is off in the Store; refusing keeps the model simple.
    return IOStatus::NotSupported("FaultInjectionFs: ReuseWritableFile");
  }
  IOStatus NewRandomRWFile(const std::string& f, const FileOptions& fo,
                           std::unique_ptr<rocksdb::FSRandomRWFile>* r,
                           IODebugContext* d) override {
    return IOStatus::NotSupported("FaultInjectionFs: NewRandomRWFile");
  }
  IOStatus NewDirectory(const std::string& name, const IOOptions& o,
                        std::unique_ptr<FSDirectory>* r, IODebugContext* d) override {
    std::unique_ptr<FSDirectory> dir;
    IOStatus s = target()->NewDirectory(name, o, &dir, d);
    if (!s.ok()) return s;
    *r = std::make_unique<TrackedDirectory>(std::move(dir), core_, Normal(name));
    return s;
  }
  IOStatus DeleteFile(const std::string& f, const IOOptions& o, IODebugContext* d) override {
    if (!core_->active) return PowerOff();
    IOStatus s = target()->DeleteFile(f, o, d);
    if (s.ok()) {
      const std::string path = Normal(f);
      std::lock_guard lock(core_->mu);
      core_->files.erase(path);
      core_->ForgetName(path);
    }
    return s;
  }
  IOStatus RenameFile(const std::string& src, const std::string& dst, const IOOptions& o,
                      IODebugContext* d) override {
    if (!core_->active) return PowerOff();
    const std::string from = Normal(src), to = Normal(dst);
    std::optional<std::string> previous = ReadWhole(to);
    IOStatus s = target()->RenameFile(src, dst, o, d);
    if (!s.ok()) return s;
    std::lock_guard lock(core_->mu);
    auto it = core_->files.find(from);
    if (it != core_->files.end()) {
      core_->files[to] = it->second;
      core_->files.erase(from);
    } else {
      core_->files.erase(to);
    }
    core_->ForgetName(from);
    core_->NoteNewName(to, std::move(previous));
    return s;
  }
  IOStatus LinkFile(const std::string& src, const std::string& dst, const IOOptions& o,
                    IODebugContext* d) override {
    if (!core_->active) return PowerOff();
    IOStatus s = target()->LinkFile(src, dst, o, d);
    if (s.ok()) {
      std::lock_guard lock(core_->mu);
      core_->NoteNewName(Normal(dst), std::nullopt);
    }
    return s;
  }
  IOStatus Truncate(const std::string& f, size_t size, const IOOptions& o,
                    IODebugContext* d) override {
    if (!core_->active) return PowerOff();
    IOStatus s = target()->Truncate(f, size, o, d);
    if (s.ok()) {
      std::lock_guard lock(core_->mu);
      auto it = core_->files.find(Normal(f));
      if (it != core_->files.end()) {
        it->second.written = size;
        it->second.synced = std::min<uint64_t>(it->second.synced, size);
      }
    }
    return s;
  }
  IOStatus CreateDir(const std::string& dir, const IOOptions& o, IODebugContext* d) override {
    if (!core_->active) return PowerOff();
    return target()->CreateDir(dir, o, d);
  }
  IOStatus CreateDirIfMissing(const std::string& dir, const IOOptions& o,
                              IODebugContext* d) override {
    if (!core_->active) return PowerOff();
    return target()->CreateDirIfMissing(dir, o, d);
  }
  IOStatus DeleteDir(const std::string& dir, const IOOptions& o, IODebugContext* d) override {
    if (!core_->active) return PowerOff();
    return target()->DeleteDir(dir, o, d);
  }

 private:
  std::shared_ptr<Core> core_;
};

}  // namespace

struct FaultInjectionFs::State {
  std::shared_ptr<Core> core = std::make_shared<Core>();
  std::shared_ptr<rocksdb::FileSystem> rocks = std::make_shared<TrackingFileSystem>(core);
};

FaultInjectionFs::FaultInjectionFs() : state_(std::make_shared<State>()) {}
FaultInjectionFs::~FaultInjectionFs() = default;

std::shared_ptr<FaultInjectionFs> FaultInjectionFs::Create() {
  return std::shared_ptr<FaultInjectionFs>(new FaultInjectionFs());
}

void FaultInjectionFs::Deactivate() { state_->core->active = false; }
bool FaultInjectionFs::active() const { return state_->core->active; }

Result<DropReport> FaultInjectionFs::DropUnsyncedData() {
  Core& core = *state_->core;
  std::lock_guard lock(core.mu);
  DropReport report;
  std::error_code ec;
  for (const auto& [path, file] : core.files) {
    if (!fs::exists(path, ec)) continue;
    const uint64_t size = fs::file_size(path, ec);
    if (ec) return Status::IOError("size of " + path + ": " + ec.message());
    if (size <= file.synced) continue;
    fs::resize_file(path, file.synced, ec);
    if (ec) return Status::IOError("truncate " + path + ": " + ec.message());
    ++report.files_truncated;
    report.bytes_dropped += size - file.synced;
  }
  for (const auto& [dir, names] : core.pending_names) {
    for (const auto& [name, previous] : names) {
      const fs::path path = fs::path(dir) / name;
      if (previous) {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out.write(previous->data(), static_cast<std::streamsize>(previous->size()));
        if (!out) return Status::IOError("restore " + path.string());
        ++report.files_restored;
      } else if (fs::remove(path, ec)) {
        ++report.files_removed;
      }
    }
  }
  core.files.clear();
  core.pending_names.clear();
  core.active = true;
  return report;
}

std::shared_ptr<FaultInjectionFs::State> FaultFsState(const FaultInjectionFs& fs) {
  return fs.state_;
}

std::shared_ptr<rocksdb::FileSystem> FaultFsRocks(const FaultInjectionFs& fs) {
  return FaultFsState(fs)->rocks;
}

}  // namespace pathwise::storage
