// The `pathwise` binary: dispatches to the subcommands (each has --help).
#include <cstring>
#include <iostream>

#include "bench/bench.h"
#include "examples/movielens/demo.h"
#include "cli/cli.h"
#include "server/server.h"

namespace {

constexpr char kUsage[] = R"(usage: pathwise <command> [options]   (pathwise <command> --help)

  serve     serve a data directory over HTTP/JSON
  load      bulk-load NDJSON files into a data directory
  query     run one PQL statement against a data directory
  keys      create, list or revoke API keys
  backup    back up a data directory
  restore   restore a data directory from a backup
  export    write logged decisions (impressions and outcomes) or counter values as NDJSON
  evaluate  off-policy evaluation of a recipe from the impression log (evaluate replay)
  jobs      build models inside a data directory (item similarity, transitions, embeddings) and show their runs
  bench     benchmarks (engine, query, http) and the synthetic data generator
  demo      build the MovieLens knowledge graph and serve the explanation explorer
)";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0 ||
      std::strcmp(argv[1], "help") == 0) {
    std::cout << kUsage;
    return argc < 2 ? 2 : 0;
  }
  std::string command = argv[1];
  int sub_argc = argc - 1;
  char** sub_argv = argv + 1;
  if (command == "serve") return pathwise::server::ServeMain(sub_argc, sub_argv);
  if (command == "load") return pathwise::server::LoadMain(sub_argc, sub_argv);
  if (command == "query") return pathwise::server::QueryMain(sub_argc, sub_argv);
  if (command == "keys") return pathwise::server::KeysMain(sub_argc, sub_argv);
  if (command == "backup") return pathwise::server::BackupMain(sub_argc, sub_argv);
  if (command == "restore") return pathwise::server::RestoreMain(sub_argc, sub_argv);
  if (command == "export") return pathwise::server::ExportMain(sub_argc, sub_argv);
  if (command == "evaluate") return pathwise::server::EvaluateMain(sub_argc, sub_argv);
  if (command == "jobs") return pathwise::server::JobsMain(sub_argc, sub_argv);
  if (command == "bench") return pathwise::bench::Main(sub_argc, sub_argv);
  if (command == "demo") return pathwise::demo::Main(sub_argc, sub_argv);
  std::cerr << "pathwise: unknown command '" << command << "'\n\n" << kUsage;
  return 2;
}
