// Helpers shared by the libFuzzer targets (fuzz/<name>_fuzz.cc). Conventions for a target:
//   - one file fuzz/<name>_fuzz.cc defining LLVMFuzzerTestOneInput; CMake makes fuzz_<name>;
//   - seeds in fuzz/corpus/<name>/ (small, committed); scripts/fuzz.sh <name> SECONDS runs it;
//   - state that is costly to build (a Database) is built once and reused across inputs, and
//     the target checks properties (no crash, errors are Status values, results serialize).
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "db/database.h"

namespace pathwise::fuzz {

// A fresh directory under $TMPDIR, removed when the process exits normally.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& tag) {
    path_ = (std::filesystem::temp_directory_path() /
             ("pw_fuzz_" + tag + "_" + std::to_string(::getpid())))
                .string();
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Small buffers: fuzzers open many databases and must stay well under libFuzzer's RSS limit.
inline DatabaseOptions SmallDatabaseOptions() {
  DatabaseOptions options;
  options.store.block_cache_bytes = 4u << 20;
  options.store.write_buffer_bytes = 1u << 20;
  options.query_engine.plan_cache_entries = 64;
  options.snapshot_on_close = false;
  return options;
}

// Opens a database in dir and loads an NDJSON file (schema line first) into it. Aborts on
// failure: a fuzz target without its fixture would fuzz nothing.
inline std::unique_ptr<Database> OpenWithFixture(const std::string& dir,
                                                 const std::string& ndjson_path) {
  auto db = Database::Open(SmallDatabaseOptions(), dir);
  if (!db.ok()) {
    fprintf(stderr, "fuzz: cannot open database: %s\n", db.status().ToString().c_str());
    abort();
  }
  std::ifstream in(ndjson_path);
  if (!in) {
    fprintf(stderr, "fuzz: cannot read fixture %s\n", ndjson_path.c_str());
    abort();
  }
  auto report = (*db)->Load(in);
  if (!report.ok() || report->errors != 0) {
    fprintf(stderr, "fuzz: fixture %s did not load cleanly\n", ndjson_path.c_str());
    abort();
  }
  return std::move(db).value();
}

}  // namespace pathwise::fuzz
