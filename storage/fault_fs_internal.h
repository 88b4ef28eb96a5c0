// Internal to storage/: the RocksDB side of FaultInjectionFs (storage/fault_fs.h).
#pragma once

#include <memory>

#include <rocksdb/file_system.h>

#include "storage/fault_fs.h"

namespace pathwise::storage {

std::shared_ptr<FaultInjectionFs::State> FaultFsState(const FaultInjectionFs& fs);
// The rocksdb::FileSystem the Store opens its database with when fault injection is on.
std::shared_ptr<rocksdb::FileSystem> FaultFsRocks(const FaultInjectionFs& fs);

}  // namespace pathwise::storage
