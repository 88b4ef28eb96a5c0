#include "storage/durable_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <vector>

namespace pathwise::storage {

namespace fs = std::filesystem;

Status SyncPath(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (directory ? O_DIRECTORY : 0));
  if (fd < 0) return Status::IOError("cannot open " + path + " to sync");
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Status::IOError("fsync failed for " + path);
  return Status::OK();
}

Status SyncParentDirectory(const std::string& path) {
  const std::string dir = fs::path(path).parent_path().string();
  return SyncPath(dir.empty() ? "." : dir, /*directory=*/true);
}

Status SyncTree(const std::string& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return SyncPath(path, false);
  std::vector<std::string> directories{path};
  for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_directory(ec)) {
      directories.push_back(it->path().string());
    } else if (it->is_regular_file(ec)) {
      PW_RETURN_IF_ERROR(SyncPath(it->path().string(), false));
    }
  }
  if (ec) return Status::IOError("cannot list " + path + ": " + ec.message());
  // Deepest first: a directory's entry in its parent is synced after its own contents.
  std::reverse(directories.begin(), directories.end());
  for (const std::string& dir : directories) PW_RETURN_IF_ERROR(SyncPath(dir, true));
  return Status::OK();
}

}  // namespace pathwise::storage
