// storage/fault_fs.h: a file system for tests that simulates power loss under the Store.
//
// kill -9 keeps the page cache, so it cannot show that an acknowledged write was synced. This
// file system (modelled on RocksDB's FaultInjectionTestFS) passes every call through to the real
// disk but remembers, per file written through it, how many bytes its last Sync/Fsync covered,
// and, per directory, which names were created or renamed into it since that directory's last
// fsync. A test simulates a power loss in three steps:
//   fs->Deactivate();            // the power goes: from now on nothing reaches the disk
//   (destroy the Database/Store) // its close-time writes fail, as they would without power
//   fs->DropUnsyncedData();      // the disk as it would be after the reboot
// and then reopens the Store on the surviving files (DropUnsyncedData reactivates).
//
// Used through StoreOptions::fault_injection_fs; production code never sets it.
// Not modelled: deletions whose directory was not synced (the file stays deleted), metadata
// other than sizes, and torn writes inside a synced range.
#pragma once

#include <cstdint>
#include <memory>

#include "storage/status.h"

namespace pathwise::storage {

struct DropReport {
  uint64_t files_truncated = 0;  // files cut back to their last synced size
  uint64_t bytes_dropped = 0;    // unsynced bytes removed from those files
  uint64_t files_removed = 0;    // created since their directory's last fsync
  uint64_t files_restored = 0;   // renamed over since the last fsync: previous contents back
};

class FaultInjectionFs {
 public:
  static std::shared_ptr<FaultInjectionFs> Create();
  ~FaultInjectionFs();

  // From now on every call that would change the disk (append, sync, create, rename, delete,
  // link, truncate) fails with an I/O error; reads still work. Thread-safe.
  void Deactivate();
  bool active() const;

  // Rewrites the disk to what survives a power loss: every tracked file is truncated to its
  // last synced size; names created since their directory's last fsync are removed; a file
  // renamed over an existing one since that fsync gets the old contents back. Then forgets the
  // tracking (all surviving bytes count as synced) and reactivates.
  // REQUIRES: no Store is open on this file system.
  Result<DropReport> DropUnsyncedData();

  struct State;  // internal; storage/ reaches it through fault_fs_internal.h

 private:
  FaultInjectionFs();
  std::shared_ptr<State> state_;
  friend std::shared_ptr<State> FaultFsState(const FaultInjectionFs& fs);
};

}  // namespace pathwise::storage
