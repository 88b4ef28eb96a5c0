// Making files written outside RocksDB durable: fsync of a file, of a directory (so the names
// created or renamed in it survive a power loss), and of a whole tree after a copy.
#pragma once

#include <string>

#include "storage/status.h"

namespace pathwise::storage {

// fsyncs the file (or, with directory = true, the directory) at path. IOError if it cannot be
// opened or the fsync fails.
Status SyncPath(const std::string& path, bool directory);

// fsyncs the directory that holds path (the current directory for a bare name), so that a name
// just created or renamed there survives a power loss.
Status SyncParentDirectory(const std::string& path);

// fsyncs every regular file under path, then every directory from the deepest up, path itself
// last: after it returns OK, a power loss keeps the tree as it is now. path may be a file.
// IOError names the first entry that could not be synced.
Status SyncTree(const std::string& path);

}  // namespace pathwise::storage
