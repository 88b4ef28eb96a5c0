// `pathwise load | query | keys | backup | restore`: embedded use of a data directory.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <iostream>
#include <sstream>

#include "server/auth.h"
#include "cli/cli.h"
#include "cli/cli_args.h"
#include "decide/decide.h"
#include "server/server.h"

namespace pathwise::server {
namespace {

constexpr char kLoadUsage[] = R"(usage: pathwise load --data DIR [--dry-run] [--exclusive] [--no-ingest] [--threads N] FILE...

Bulk-loads NDJSON files (format: docs/data-format.md) into DIR, one after the other.
  --dry-run     check every line (JSON, schema, types, references, vector dimensions) with the
                same errors as a load, and write nothing; each file is checked against DIR as it
                is, so a file's schema lines must come before its data in the same file
  --exclusive   hold the writer role for the whole load (no other write interleaves)
  --no-ingest   load in chunks even into a database without nodes and edges (which is otherwise
                loaded by SST ingestion: atomic, holding the writer role throughout)
  --threads N   parse and HNSW-insert threads (default: one per core)
A FILE that is one JSON document {"recipes": {name: recipe}, "surfaces": {name: surface}}
stores those recipes and surfaces instead (docs/decisions.md); the first bad one stops.
Shows a progress bar on a terminal, plain progress lines otherwise. Per-line errors are printed
as FILE:LINE: reason (the first 20) and counted; good lines are kept.
Exit status: 0 every line loaded, 1 some lines were rejected, 2 the command failed.
)";

constexpr char kQueryUsage[] = R"(usage: pathwise query --data DIR 'PQL' [options]

Runs one PQL statement against DIR (embedded, no server) and prints an aligned table.
  --param NAME=VALUE   a $NAME parameter; VALUE is parsed as JSON when it parses, else a string
                       (repeatable: --param user=u1 --param k=10 --param 'tags=["a","b"]')
  --json               print the full result as JSON
  --explain            add explanations (as if the query ended with EXPLAIN)
  --profile            add per-operator profile rows
  --deadline-ms N      give up after N ms (default: none)
Exit status: 0 success, 2 the query failed.
)";

constexpr char kKeysUsage[] = R"(usage: pathwise keys create --data DIR --role read|write|admin
       pathwise keys list --data DIR
       pathwise keys revoke --data DIR KEY_ID

Manages API keys in DIR (the database must not be open by a server; with a server running use
POST /v1/admin/keys). The key is printed once by `create`; only its salted hash is stored.
)";

constexpr char kBackupUsage[] = R"(usage: pathwise backup --data DIR --to BACKUP_DIR

Writes a consistent backup of DIR into BACKUP_DIR (which must not exist).
With a server running, use POST /v1/admin/backup instead.
)";

constexpr char kRestoreUsage[] = R"(usage: pathwise restore --from BACKUP_DIR --data DIR

Replaces DIR with the backup in BACKUP_DIR. No process may have DIR open.
)";

// A definitions document (decide::IsDefinitionsDocument) of at most 16 MiB, or nullopt for
// anything else (an NDJSON data file is never one JSON document of that shape).
std::optional<nlohmann::json> ReadDefinitions(const std::string& file) {
  std::error_code ec;
  auto size = std::filesystem::file_size(file, ec);
  if (ec || size > (16u << 20)) return std::nullopt;
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json document = nlohmann::json::parse(text.str(), nullptr, false);
  if (!decide::IsDefinitionsDocument(document)) return std::nullopt;
  return document;
}

int Fail(const char* command, const std::string& message) {
  std::cerr << "pathwise " << command << ": " << message << "\n";
  return 2;
}

std::string Cell(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_null()) return "null";
  return value.dump();
}

void PrintTable(const QueryResult& result) {
  std::vector<std::string> headers;
  for (const auto& column : result.columns) headers.push_back(Cell(column));
  std::vector<std::vector<std::string>> cells;
  for (const auto& row : result.rows) {
    std::vector<std::string> line;
    if (row.is_array()) {
      for (const auto& value : row) line.push_back(Cell(value));
    } else {
      line.push_back(Cell(row));
    }
    cells.push_back(std::move(line));
  }
  size_t width_count = headers.size();
  for (const auto& line : cells) width_count = std::max(width_count, line.size());
  std::vector<size_t> widths(width_count, 0);
  for (size_t i = 0; i < headers.size(); ++i) widths[i] = headers[i].size();
  for (const auto& line : cells) {
    for (size_t i = 0; i < line.size(); ++i) widths[i] = std::max(widths[i], line[i].size());
  }
  auto print_line = [&](const std::vector<std::string>& line) {
    std::string out;
    for (size_t i = 0; i < width_count; ++i) {
      std::string text = i < line.size() ? line[i] : "";
      out += text + std::string(widths[i] - text.size(), ' ');
      if (i + 1 < width_count) out += "  ";
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    std::cout << out << "\n";
  };
  print_line(headers);
  std::vector<std::string> rule;
  for (size_t w : widths) rule.push_back(std::string(w, '-'));
  print_line(rule);
  for (const auto& line : cells) print_line(line);
  std::cout << "(" << cells.size() << " row" << (cells.size() == 1 ? "" : "s") << ")\n";
}

}  // namespace

int LoadMain(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, {"data", "threads"}, {"dry-run", "exclusive", "no-ingest"});
  if (!args.ok()) return Fail("load", args.status().message() + "\n\n" + kLoadUsage);
  if (args->help) {
    std::cout << kLoadUsage;
    return 0;
  }
  auto data = args->Get("data");
  if (!data || args->positionals.empty()) return Fail("load", std::string("\n") + kLoadUsage);
  auto db = OpenForCli(*data);
  if (!db.ok()) return Fail("load", "cannot open " + *data + ": " + db.status().ToString());
  bool tty = isatty(STDERR_FILENO) == 1;
  size_t total_lines = 0, total_errors = 0, printed_errors = 0;
  size_t nodes = 0, edges = 0, vectors = 0;
  double total_seconds = 0;
  for (const std::string& file : args->positionals) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return Fail("load", "cannot read " + file);
    if (auto definitions = ReadDefinitions(file)) {
      auto stored = decide::ApplyDefinitions(db->get(), *definitions);
      if (!stored.ok()) return Fail("load", file + ": " + stored.status().ToString());
      std::cerr << file << ": stored recipes " << (*stored)["recipes"].dump() << " and surfaces "
                << (*stored)["surfaces"].dump() << "\n";
      continue;
    }
    auto last_print = std::chrono::steady_clock::now();
    std::error_code size_error;
    const double total_mb = std::filesystem::file_size(file, size_error) / 1e6;
    LoadOptions options;
    options.max_errors_kept = 20;
    options.dry_run = args->Has("dry-run");
    options.exclusive = args->Has("exclusive");
    options.ingest = !args->Has("no-ingest");
    if (auto threads = args->Get("threads")) {
      options.threads = std::atoi(threads->c_str());
      if (options.threads < 1 || options.threads > 64) {
        return Fail("load", "--threads must be an integer from 1 to 64");
      }
    }
    options.progress = [&](const LoadProgress& progress) {
      auto now = std::chrono::steady_clock::now();
      double mb = progress.bytes / 1e6;
      double mb_per_s = progress.seconds > 0 ? mb / progress.seconds : 0;
      char eta[32] = "";
      if (!size_error && mb_per_s > 0 && progress.phase == "parsing") {
        std::snprintf(eta, sizeof(eta), ", ETA %.0f s", (total_mb - mb) / mb_per_s);
      }
      char line[320];
      if (progress.phase == "indexing") {
        std::snprintf(line, sizeof(line), "%s: indexing vectors, %zu of %zu, %.0f s",
                      file.c_str(), progress.vectors_indexed, progress.vectors_to_index,
                      progress.seconds);
      } else {
        std::snprintf(line, sizeof(line),
                      "%s: %s, %zu lines, %.1f of %.1f MB, %.1f MB/s%s, %zu errors", file.c_str(),
                      progress.phase.c_str(), progress.lines, mb, total_mb, mb_per_s, eta,
                      progress.errors);
      }
      if (tty) {
        std::cerr << "\r\033[K" << line << std::flush;
      } else if (std::chrono::duration<double>(now - last_print).count() >= 5.0) {
        std::cerr << line << "\n";
        last_print = now;
      }
    };
    auto report = (*db)->Load(in, options);
    if (tty) std::cerr << "\r\033[K";
    if (!report.ok()) return Fail("load", file + ": " + report.status().ToString());
    for (const LoadError& error : report->error_list) {
      if (printed_errors++ < 20) std::cerr << file << ":" << error.line << ": " << error.reason << "\n";
    }
    total_lines += report->lines;
    total_errors += report->errors;
    nodes += report->nodes;
    edges += report->edges;
    vectors += report->vectors;
    total_seconds += report->seconds;
    const LoadPhases& t = report->phases;
    std::fprintf(stderr,
                 "%s: %zu lines in %.2f s, %zu errors%s%s, mode %s\n"
                 "  time: parse %.2f s (all threads), stage %.2f, write %.2f, ingest %.2f, "
                 "memory %.2f, vectors %.2f, finish %.2f; waited %.2f for lines, %.2f for the "
                 "writer; %zu writer turns, longest %.0f ms\n",
                 file.c_str(), report->lines, report->seconds, report->errors,
                 report->dry_run ? " (dry run: nothing written)" : "",
                 report->cancelled ? " (cancelled)" : "", report->mode.c_str(), t.parse, t.stage,
                 t.write, t.ingest, t.memory, t.vectors, t.finish, t.parse_wait, t.writer_wait,
                 report->chunks,
                 report->max_chunk_seconds * 1e3);
  }
  if (total_errors > printed_errors) {
    std::cerr << "(" << total_errors - printed_errors << " more errors not shown)\n";
  }
  std::cout << (args->Has("dry-run") ? "checked (dry run, nothing written) " : "loaded ") << total_lines << " lines (" << nodes << " nodes, " << edges
            << " edges, " << vectors << " vectors) in " << total_seconds << " s; " << total_errors
            << " lines rejected\n";
  return total_errors > 0 ? 1 : 0;
}

int QueryMain(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, {"data", "param", "deadline-ms"}, {"json", "explain", "profile"});
  if (!args.ok()) return Fail("query", args.status().message() + "\n\n" + kQueryUsage);
  if (args->help) {
    std::cout << kQueryUsage;
    return 0;
  }
  auto data = args->Get("data");
  if (!data || args->positionals.size() != 1) return Fail("query", std::string("\n") + kQueryUsage);
  nlohmann::json params = nlohmann::json::object();
  if (auto it = args->options.find("param"); it != args->options.end()) {
    for (const std::string& param : it->second) {
      size_t eq = param.find('=');
      if (eq == std::string::npos || eq == 0) return Fail("query", "--param must be NAME=VALUE");
      std::string name = param.substr(0, eq);
      if (name[0] == '$') name = name.substr(1);
      std::string text = param.substr(eq + 1);
      nlohmann::json value = nlohmann::json::parse(text, nullptr, false);
      params[name] = value.is_discarded() ? nlohmann::json(text) : value;
    }
  }
  QueryOptions options;
  options.explain = args->Has("explain");
  options.profile = args->Has("profile");
  if (auto ms = args->Get("deadline-ms")) {
    try {
      options.deadline = Deadline::AfterMillis(std::stoll(*ms));
    } catch (const std::exception&) {
      return Fail("query", "--deadline-ms must be an integer");
    }
  }
  auto db = OpenForCli(*data);
  if (!db.ok()) return Fail("query", "cannot open " + *data + ": " + db.status().ToString());
  auto result = (*db)->Query(args->positionals[0], params, options);
  if (!result.ok()) return Fail("query", result.status().ToString());
  if (args->Has("json")) {
    std::cout << result->ToJson().dump(2) << "\n";
    return 0;
  }
  PrintTable(*result);
  if (!result->explanations.empty()) {
    std::cout << "\nexplanations:\n" << result->explanations.dump(2) << "\n";
  }
  if (!result->profile.empty()) std::cout << "\nprofile:\n" << result->profile.dump(2) << "\n";
  return 0;
}

int KeysMain(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, {"data", "role"}, {});
  if (!args.ok()) return Fail("keys", args.status().message() + "\n\n" + kKeysUsage);
  if (args->help || args->positionals.empty()) {
    std::cout << kKeysUsage;
    return args->help ? 0 : 2;
  }
  auto data = args->Get("data");
  if (!data) return Fail("keys", std::string("--data DIR is required\n\n") + kKeysUsage);
  const std::string& action = args->positionals[0];
  if (action != "create" && action != "list" && action != "revoke") {
    return Fail("keys", "unknown action '" + action + "'\n\n" + kKeysUsage);
  }
  auto db = OpenForCli(*data);
  if (!db.ok()) return Fail("keys", db.status().message());
  if (action == "create") {
    auto role = args->Get("role");
    if (!role) return Fail("keys", "--role read|write|admin is required");
    auto key = CreateApiKey(db->get(), *role);
    if (!key.ok()) return Fail("keys", key.status().ToString());
    std::cerr << "new " << *role << " key (shown once; store it now):\n";
    std::cout << *key << "\n";
    return 0;
  }
  if (action == "list") {
    auto keys = ListApiKeys(**db);
    if (!keys.ok()) return Fail("keys", keys.status().ToString());
    std::cout << "id                role   created\n";
    for (const KeyInfo& key : *keys) {
      std::printf("%-16s  %-5s  %s\n", key.id.c_str(), key.role.c_str(), key.created.c_str());
    }
    return 0;
  }
  if (args->positionals.size() != 2) return Fail("keys", "usage: pathwise keys revoke --data DIR KEY_ID");
  Status status = RevokeApiKey(db->get(), args->positionals[1]);
  if (!status.ok()) return Fail("keys", status.ToString());
  std::cout << "revoked " << args->positionals[1] << "\n";
  return 0;
}

int BackupMain(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, {"data", "to"}, {});
  if (!args.ok()) return Fail("backup", args.status().message() + "\n\n" + kBackupUsage);
  if (args->help) {
    std::cout << kBackupUsage;
    return 0;
  }
  auto data = args->Get("data");
  auto to = args->Get("to");
  if (!data || !to) return Fail("backup", std::string("\n") + kBackupUsage);
  auto db = OpenForCli(*data);
  if (!db.ok()) return Fail("backup", db.status().message());
  Status status = (*db)->Backup(*to);
  if (!status.ok()) return Fail("backup", status.ToString());
  std::cout << "backed up " << *data << " to " << *to << "\n";
  return 0;
}

int RestoreMain(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, {"data", "from"}, {});
  if (!args.ok()) return Fail("restore", args.status().message() + "\n\n" + kRestoreUsage);
  if (args->help) {
    std::cout << kRestoreUsage;
    return 0;
  }
  auto data = args->Get("data");
  auto from = args->Get("from");
  if (!data || !from) return Fail("restore", std::string("\n") + kRestoreUsage);
  Status status = Database::Restore(*from, *data);
  if (!status.ok()) return Fail("restore", status.ToString());
  std::cout << "restored " << *data << " from " << *from << "\n";
  return 0;
}

}  // namespace pathwise::server
