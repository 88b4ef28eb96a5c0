// Fuzzes the bulk loader: Database::Load on fuzzed NDJSON (docs/data-format.md) into a database
// that already has the shop_small schema and data (tests/queries/fixtures). The database is
// recreated every kInputsPerDatabase inputs so its size stays bounded.
// Properties: no crash; the report's counts are consistent (never more errors or records than
// lines); after the load the database still answers a query and a node lookup.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>

#include "fuzz/fuzz_util.h"

namespace {

using pathwise::Database;

constexpr int kInputsPerDatabase = 500;

void Check(bool condition, const char* what) {
  if (!condition) {
    fprintf(stderr, "ndjson_load_fuzz: property violated: %s\n", what);
    abort();
  }
}

struct State {
  const pathwise::fuzz::ScratchDir& dir;
  std::unique_ptr<Database> db;
  int inputs = 0;
  int generation = 0;

  Database& Get() {
    if (db == nullptr || inputs >= kInputsPerDatabase) {
      db.reset();
      std::error_code ec;
      std::filesystem::remove_all(dir.path(), ec);
      db = pathwise::fuzz::OpenWithFixture(
          dir.path() + "/data" + std::to_string(generation++),
          PATHWISE_SOURCE_DIR "/tests/queries/fixtures/shop_small.ndjson");
      inputs = 0;
    }
    ++inputs;
    return *db;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static pathwise::fuzz::ScratchDir dir("ndjson");
  // Never destroyed: closing a Database from a static destructor runs after RocksDB's own
  // statics are gone (it crashed in rocksdb::Log). Still reachable, so not a leak report.
  static State& state = *new State{dir};
  Database& db = state.Get();
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  auto report = db.Load(in);
  if (report.ok()) {
    Check(report->errors <= report->lines, "errors <= lines");
    Check(report->nodes + report->edges + report->vectors + report->schema_lines <= report->lines,
          "records <= lines");
    Check(report->error_list.size() <= report->errors, "kept errors <= counted errors");
    (void)report->ToJson().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  auto rows = db.Query("MATCH (u:User {id: 'u1'}) RETURN u.id", nlohmann::json::object());
  Check(rows.ok(), "the fixture user is still queryable after a load");
  (void)db.GetNode("Item", "i1");
  // A database that stopped accepting writes is replaced, so later inputs still reach the loader.
  if (!db.Health().ok()) state.inputs = kInputsPerDatabase;
  return 0;
}
