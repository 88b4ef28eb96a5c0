#include "cli/cli_args.h"

#include <algorithm>
#include <cctype>

namespace pathwise::server {

std::optional<std::string> Args::Get(const std::string& name) const {
  auto it = options.find(name);
  if (it == options.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

Result<Args> ParseArgs(int argc, char** argv, const std::set<std::string>& value_options,
                       const std::set<std::string>& flag_options) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      args.help = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0 || arg == "--") {
      args.positionals.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    size_t eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (flag_options.count(name)) {
      if (value) return Status::InvalidArgument("--" + name + " takes no value");
      args.flags.insert(name);
    } else if (value_options.count(name)) {
      if (!value) {
        if (i + 1 >= argc) return Status::InvalidArgument("--" + name + " needs a value");
        value = argv[++i];
      }
      args.options[name].push_back(*value);
    } else {
      return Status::InvalidArgument("unknown option --" + name);
    }
  }
  return args;
}

Result<std::unique_ptr<Database>> OpenForCli(const std::string& dir, DatabaseOptions options) {
  auto db = Database::Open(options, dir);
  if (db.ok()) return db;
  std::string message = db.status().message();
  std::string lower = message;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (lower.find("lock") != std::string::npos) {
    return Status::Unavailable("the database in " + dir +
                               " is in use by another process (is `pathwise serve` running?). "
                               "Use the server's HTTP API instead (e.g. POST /v1/admin/keys). "
                               "Details: " + message);
  }
  return db.status();
}

}  // namespace pathwise::server
