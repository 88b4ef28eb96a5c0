// `pathwise demo`: loads MovieLens into a data directory once, then serves it with the explorer.
#include "examples/movielens/demo.h"

#include <chrono>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "examples/movielens/dataset.h"
#include "examples/movielens/evaluate.h"
#include "examples/movielens/graph_builder.h"
#include "db/database.h"
#include "server/server.h"

namespace pathwise::demo {
namespace {

struct DemoArgs {
  std::string data_dir = "./pathwise-demo-data";
  std::string source_dir;
  std::string host = "127.0.0.1";
  int port = 7070;
  bool auth = false;
  bool fault_injection = false;
};

// A literal loopback address (127.0.0.0/8 or ::1); names such as "127.evil.invalid" are not.
bool IsLoopback(const std::string& host) {
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

int Usage() {
  std::fprintf(stderr,
               "usage: pathwise demo [--data DIR] [--listen HOST:PORT] [--auth] [--source CSV_DIR]\n"
               "                     [--enable-fault-injection]   (loopback only; adds\n"
               "                     /v1/admin/faults and the explorer's fault toggles)\n"
               "       pathwise demo evaluate [--users N] [--source CSV_DIR] [--baselines-only]\n"
               "                              [--split test|validation] [--recipes FILE]\n"
               "                              [--min-rating X] [--resamples N] [--puresvd-rank N]\n"
               "                              [--transitions JSON]\n");
  return 2;
}

bool ParseArgs(int argc, char** argv, DemoArgs* args) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--data" && i + 1 < argc) {
      args->data_dir = argv[++i];
    } else if (arg == "--source" && i + 1 < argc) {
      args->source_dir = argv[++i];
    } else if (arg == "--listen" && i + 1 < argc) {
      std::string listen = argv[++i];
      size_t colon = listen.rfind(':');
      if (colon == std::string::npos) return false;
      args->host = listen.substr(0, colon);
      char* end = nullptr;
      long port = std::strtol(listen.c_str() + colon + 1, &end, 10);
      if (*end != '\0' || port < 0 || port > 65535) return false;
      args->port = static_cast<int>(port);
    } else if (arg == "--auth") {
      args->auth = true;
    } else if (arg == "--enable-fault-injection") {
      args->fault_injection = true;
    } else {
      return false;
    }
  }
  return true;
}

// Builds and loads the demo graph unless the loaded marker is present.
Status EnsureLoaded(Database* db, const std::string& source_dir) {
  if (db->GetMeta(kLoadedMarker).ok()) {
    std::printf("Demo graph already loaded in this data directory.\n");
    return InstallDemoMeta(db);  // recipes may have changed since the load
  }
  auto start = std::chrono::steady_clock::now();
  std::printf("Reading MovieLens from %s ...\n", source_dir.c_str());
  PW_ASSIGN_OR_RETURN(Dataset data, LoadDataset(source_dir));
  DemoGraph graph = BuildDemoGraph(data, data.ratings, BuildOptions{});
  auto built = std::chrono::steady_clock::now();
  PW_RETURN_IF_ERROR(LoadDemoGraph(db, &graph));
  PW_RETURN_IF_ERROR(db->Checkpoint());
  auto done = std::chrono::steady_clock::now();
  auto job_seconds = [&](const char* job) {
    return graph.jobs[job]["result"].value("seconds", 0.0);
  };
  std::printf("Loaded %s\n", graph.counts.ToJson().dump().c_str());
  std::printf(
      "Load time: %.2f s (parse %.2f s, database writes and jobs %.2f s, of which the "
      "similarity job %.2f s and the svd job %.2f s)\n",
      std::chrono::duration<double>(done - start).count(),
      std::chrono::duration<double>(built - start).count(),
      std::chrono::duration<double>(done - built).count(), job_seconds("similarity"),
      job_seconds("svd"));
  return Status::OK();
}

}  // namespace

int Main(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "evaluate") return EvaluateMain(argc - 1, argv + 1);
  DemoArgs args;
  if (!ParseArgs(argc, argv, &args)) return Usage();
  if (args.source_dir.empty()) args.source_dir = DefaultDataDir();
  if (!args.auth && !IsLoopback(args.host)) {
    std::fprintf(stderr, "pathwise demo: --auth is required when listening on %s\n",
                 args.host.c_str());
    return 2;
  }
  auto db = Database::Open({}, args.data_dir);
  if (!db.ok()) {
    std::fprintf(stderr, "pathwise demo: %s\n", db.status().message().c_str());
    return 1;
  }
  Status loaded = EnsureLoaded(db.value().get(), args.source_dir);
  if (!loaded.ok()) {
    std::fprintf(stderr, "pathwise demo: loading failed: %s\n", loaded.message().c_str());
    return 1;
  }
  server::ServerOptions options;
  options.host = args.host;
  options.port = args.port;
  options.no_auth = !args.auth;
  options.data_dir = args.data_dir;
  options.enable_fault_injection = args.fault_injection;  // Start() refuses it off loopback
  server::Server server(db.value().get(), options);
  Status started = server.Start();
  if (!started.ok()) {
    std::fprintf(stderr, "pathwise demo: %s\n", started.message().c_str());
    return 1;
  }
  std::string base = server.BaseUrl();
  std::string auth_header;
  if (args.auth) {
    auto read_key = server::CreateApiKey(db.value().get(), "read");
    auto write_key = server::CreateApiKey(db.value().get(), "write");
    if (!read_key.ok() || !write_key.ok()) {
      std::fprintf(stderr, "pathwise demo: cannot create API keys\n");
      return 1;
    }
    std::printf("Read key:  %s\nWrite key: %s\n(shown once; paste one into the page's API key "
                "field)\n",
                read_key.value().c_str(), write_key.value().c_str());
    auth_header = " -H 'Authorization: Bearer " + read_key.value() + "'";
  } else {
    std::printf("No authentication: the demo listens on loopback only (use --auth for keys).\n");
  }
  if (args.fault_injection) {
    std::printf("Fault injection is on: /v1/admin/faults and the explorer's fault toggles.\n");
  }
  std::printf("\nExplorer: %s/\n\nTry:\n", base.c_str());
  std::printf("  curl -s%s %s/v1/recipes\n", auth_header.c_str(), base.c_str());
  std::printf("  curl -s%s -X POST %s/v1/recipes/because_you_watched/run -d "
              "'{\"params\":{\"user\":\"1\"},\"explain\":true}'\n",
              auth_header.c_str(), base.c_str());
  std::printf("  curl -s%s -X POST %s/v1/query -d '{\"query\":\"MATCH (m:Movie)-[:HAS_GENRE]->"
              "(g:Genre {id: \\\"Animation\\\"}) RETURN m.title, m.rating_mean ORDER BY "
              "m.rating_count DESC LIMIT 5\"}'\n",
              auth_header.c_str(), base.c_str());
  std::printf("\nServing on %s (Ctrl-C to stop)\n", base.c_str());
  std::fflush(stdout);
  server.Wait(true);
  return 0;
}

}  // namespace pathwise::demo
