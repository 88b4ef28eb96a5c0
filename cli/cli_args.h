// Internal to server/: a tiny argument parser for the CLI ("--name value", "--name=value",
// "--flag" and positionals). Unknown options are an error the caller reports with its usage.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "db/database.h"
#include "storage/status.h"

namespace pathwise::server {

struct Args {
  std::map<std::string, std::vector<std::string>> options;  // repeated options keep all values
  std::set<std::string> flags;
  std::vector<std::string> positionals;
  bool help = false;

  std::optional<std::string> Get(const std::string& name) const;
  bool Has(const std::string& flag) const { return flags.count(flag) > 0; }
};

// value_options take a value; flag_options do not. argv[0] is skipped.
Result<Args> ParseArgs(int argc, char** argv, const std::set<std::string>& value_options,
                       const std::set<std::string>& flag_options);

// Opens DIR for a CLI command; if RocksDB's lock is held (a server is running), says so.
Result<std::unique_ptr<Database>> OpenForCli(const std::string& dir,
                                             DatabaseOptions options = {});

}  // namespace pathwise::server
