// FaultInjectionFs: what a simulated power loss keeps (synced writes) and drops (the rest).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "storage/fault_fs.h"
#include "storage/storage.h"

namespace pathwise::storage {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  TempDir() {
    std::random_device rd;
    path = (fs::temp_directory_path() / ("pw_faultfs_" + std::to_string(rd()))).string();
    fs::remove_all(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string path;
};

std::unique_ptr<Store> OpenOn(const std::string& path, std::shared_ptr<FaultInjectionFs> fault) {
  StoreOptions options;
  options.fault_injection_fs = std::move(fault);
  auto store = Store::Open(options, path);
  REQUIRE_MESSAGE(store.ok(), store.status().ToString());
  return std::move(store).value();
}

Status PutMeta(Store& store, const std::string& key, bool sync) {
  WriteBatch batch;
  batch.PutMeta(key, "v");
  return store.Write(&batch, sync);
}

TEST_CASE("a simulated power loss keeps synced writes and drops unsynced ones") {
  TempDir dir;
  auto fault = FaultInjectionFs::Create();
  auto store = OpenOn(dir.path, fault);
  REQUIRE(PutMeta(*store, "synced", /*sync=*/true).ok());
  REQUIRE(PutMeta(*store, "unsynced", /*sync=*/false).ok());
  fault->Deactivate();
  store.reset();  // the close cannot write anything: the power is off
  auto dropped = fault->DropUnsyncedData();
  REQUIRE_MESSAGE(dropped.ok(), dropped.status().ToString());
  CHECK(dropped->bytes_dropped > 0);

  store = OpenOn(dir.path, fault);
  CHECK(store->GetMeta("synced").ok());
  CHECK(store->GetMeta("unsynced").status().code() == Status::Code::kNotFound);
}

TEST_CASE("without a power loss a clean close keeps unsynced writes") {
  TempDir dir;
  auto fault = FaultInjectionFs::Create();
  auto store = OpenOn(dir.path, fault);
  REQUIRE(PutMeta(*store, "unsynced", /*sync=*/false).ok());
  store.reset();  // flushes memtables and syncs
  REQUIRE(fault->DropUnsyncedData().ok());
  store = OpenOn(dir.path, fault);
  CHECK(store->GetMeta("unsynced").ok());
}

TEST_CASE("every write fails while the simulated power is off and works again after the drop") {
  TempDir dir;
  auto fault = FaultInjectionFs::Create();
  auto store = OpenOn(dir.path, fault);
  fault->Deactivate();
  CHECK_FALSE(fault->active());
  Status s = PutMeta(*store, "k", /*sync=*/true);
  CHECK(s.code() == Status::Code::kIOError);
  store.reset();
  REQUIRE(fault->DropUnsyncedData().ok());
  CHECK(fault->active());
  store = OpenOn(dir.path, fault);
  CHECK(store->GetMeta("k").status().code() == Status::Code::kNotFound);
  CHECK(PutMeta(*store, "k", /*sync=*/true).ok());
}

TEST_CASE("flushed tables survive a power loss and the database reopens after many losses") {
  TempDir dir;
  auto fault = FaultInjectionFs::Create();
  for (int round = 0; round < 5; ++round) {
    auto store = OpenOn(dir.path, fault);
    for (int i = 0; i < 50; ++i) {
      REQUIRE(PutMeta(*store, "r" + std::to_string(round) + "/" + std::to_string(i), true).ok());
    }
    if (round % 2 == 0) REQUIRE(store->Flush().ok());  // SST files, MANIFEST and CURRENT
    fault->Deactivate();
    store.reset();
    REQUIRE(fault->DropUnsyncedData().ok());
  }
  auto store = OpenOn(dir.path, fault);
  int found = 0;
  REQUIRE(store->ScanMeta("r", [&](std::string_view, std::string_view) {
                 ++found;
                 return true;
               }).ok());
  CHECK(found == 5 * 50);
}

}  // namespace
}  // namespace pathwise::storage
