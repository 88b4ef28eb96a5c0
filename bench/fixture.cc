// OpenBenchDatabase and OpenRawCopy.
#include "bench/fixture.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "bench/harness.h"

namespace pathwise::bench {

const char* const kRecommendQuery = R"(RECOMMEND (c:Item) FOR (u:User {id: $user})
  FROM (u)-[v:VIEWED|BOUGHT]->(:Item)-[s:SIMILAR_TO]->(c) MAX 50 PER NODE
  FROM NEAREST 200 TO u.taste IN Item.embedding
  WHERE c.in_stock AND c.price <= $max_price
    AND NOT (u)-[:BOUGHT]->(c)
    AND NOT (u)-[:BLOCKED]->(:Seller)<-[:SOLD_BY]-(c)
  SCORE 0.6 * sum(v.weight * decay(v.ts, 7d) * s.weight)
      + 0.4 * similarity(c.embedding, u.taste)
      + 0.1 * log(1 + c.popularity)
  DIVERSIFY BY c.category MAX 3
  LIMIT 10
  EXPLAIN)";

std::string RecommendQueryWithoutExplain() {
  std::string text = kRecommendQuery;
  const std::string suffix = "\n  EXPLAIN";
  if (text.size() >= suffix.size() &&
      text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0) {
    text.resize(text.size() - suffix.size());
  }
  return text;
}

int64_t BenchNowMs(const GeneratorOptions& generator) { return generator.end_ts_ms; }

QueryOptions BenchQueryOptions(const GeneratorOptions& generator) {
  QueryOptions options;
  options.now_ms = BenchNowMs(generator);
  return options;
}

namespace {

std::string Fingerprint(const GeneratorOptions& g) {
  GeneratorOptions o = ResolveOptions(g);
  return "items=" + std::to_string(o.items) + ";users=" + std::to_string(o.users) +
         ";dim=" + std::to_string(o.dim) + ";seed=" + std::to_string(o.seed);
}

constexpr const char* kMarkerFile = ".pathwise-bench";

// The benchmarks delete and recreate their directories; they only ever delete a directory that
// is absent, empty, or marked as theirs, never someone's real database.
Status RemoveBenchDirectory(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return Status::OK();
  bool empty =
      fs::is_directory(dir, ec) && fs::directory_iterator(dir, ec) == fs::directory_iterator();
  if (!empty && !fs::exists(fs::path(dir) / kMarkerFile, ec)) {
    return Status::InvalidArgument(dir +
                                   " exists and was not created by pathwise bench; "
                                   "refusing to delete it (choose another --data)");
  }
  fs::remove_all(dir, ec);
  if (ec) return Status::IOError("cannot remove " + dir + ": " + ec.message());
  return Status::OK();
}

Status MarkBenchDirectory(const std::string& dir) {
  std::ofstream marker(std::filesystem::path(dir) / kMarkerFile);
  marker << "created by pathwise bench; may be deleted by it\n";
  return marker ? Status::OK() : Status::IOError("cannot write a marker file in " + dir);
}

}  // namespace

GeneratorOptions GeneratorFromFlags(const Flags& flags) {
  GeneratorOptions gen;
  gen.items = static_cast<size_t>(std::max<int64_t>(1, flags.GetInt("items", 100000)));
  gen.seed = static_cast<uint64_t>(flags.GetInt("seed", 42));
  gen.hnsw_ef_construction = static_cast<uint32_t>(flags.GetInt("ef-construction", 200));
  return ResolveOptions(gen);
}

Result<std::unique_ptr<Database>> OpenBenchDatabase(const std::string& dir,
                                                    const GeneratorOptions& generator, bool fresh,
                                                    LoadFigures* figures) {
  figures->generator = ResolveOptions(generator);
  const std::string fingerprint = Fingerprint(generator);
  std::error_code ec;
  if (!fresh && std::filesystem::exists(std::filesystem::path(dir) / "db", ec)) {
    auto db = Database::Open({}, dir);
    if (db.ok()) {
      auto meta = db.value()->GetMeta("bench/fingerprint");
      if (meta.ok() && meta.value() == fingerprint) {
        std::fprintf(stderr, "reusing bench database in %s (%s)\n", dir.c_str(),
                     fingerprint.c_str());
        return db;
      }
    }
  }
  PW_RETURN_IF_ERROR(RemoveBenchDirectory(dir));
  std::filesystem::create_directories(dir, ec);
  PW_RETURN_IF_ERROR(MarkBenchDirectory(dir));
  DatabaseOptions options;
  options.store.write_buffer_bytes = 256u << 20;
  PW_ASSIGN_OR_RETURN(auto db, Database::Open(options, dir));
  std::fprintf(stderr, "generating and loading %s into %s ...\n", fingerprint.c_str(), dir.c_str());
  auto stream = OpenGeneratedStream(generator);
  LoadOptions load_options;
  double start = NowSeconds();
  double last_print = start;
  double indexing_cpu_start = -1;
  load_options.progress = [&](const LoadProgress& p) {
    if (p.phase == "indexing" && indexing_cpu_start < 0) indexing_cpu_start = ProcessCpuSeconds();
    if (p.phase != "indexing" && indexing_cpu_start >= 0 && figures->indexing_cpu_seconds < 0) {
      figures->indexing_cpu_seconds = ProcessCpuSeconds() - indexing_cpu_start;
    }
    double now = NowSeconds();
    if (now - last_print < 5) return;
    last_print = now;
    std::fprintf(stderr, "  %.0f s: %s, %zu lines, %.1f MB, %zu errors, %zu of %zu vectors indexed\n",
                 now - start, p.phase.c_str(), p.lines, p.bytes / 1e6, p.errors,
                 p.vectors_indexed, p.vectors_to_index);
  };
  PW_ASSIGN_OR_RETURN(LoadReport report, db->Load(*stream, load_options));
  figures->seconds = NowSeconds() - start;
  figures->report = report;
  figures->loaded = true;
  std::fprintf(stderr, "loaded in %.1f s: %s\n", figures->seconds, report.ToJson().dump().c_str());
  if (report.errors > 0) {
    return Status::Internal(
        "bench load reported " + std::to_string(report.errors) + " line errors; first: " +
        (report.error_list.empty() ? std::string("?") : report.error_list[0].reason));
  }
  WriteSet meta;
  meta.ops.push_back(MetaWrite{"bench/fingerprint", fingerprint});
  PW_RETURN_IF_ERROR(db->Apply(meta));
  return db;
}

Result<std::unique_ptr<Database>> OpenBenchCopy(Database* db, const std::string& copy_dir) {
  const std::string backup = copy_dir + ".backup";
  PW_RETURN_IF_ERROR(RemoveBenchDirectory(copy_dir));
  PW_RETURN_IF_ERROR(RemoveBenchDirectory(backup));
  PW_RETURN_IF_ERROR(db->Backup(backup));
  PW_RETURN_IF_ERROR(Database::Restore(backup, copy_dir));
  PW_RETURN_IF_ERROR(MarkBenchDirectory(copy_dir));
  PW_RETURN_IF_ERROR(MarkBenchDirectory(backup));
  DatabaseOptions options;
  options.store.write_buffer_bytes = 256u << 20;
  return Database::Open(options, copy_dir);
}

Result<std::unique_ptr<RawCopy>> OpenRawCopy(Database* db, const std::string& backup_dir) {
  std::error_code ec;
  PW_RETURN_IF_ERROR(RemoveBenchDirectory(backup_dir));
  PW_RETURN_IF_ERROR(db->Backup(backup_dir));
  PW_RETURN_IF_ERROR(MarkBenchDirectory(backup_dir));
  auto raw = std::make_unique<RawCopy>();
  std::string store_dir = backup_dir;
  if (std::filesystem::exists(backup_dir + "/db", ec)) store_dir = backup_dir + "/db";
  std::string hnsw_dir = backup_dir;
  if (std::filesystem::exists(backup_dir + "/hnsw", ec)) hnsw_dir = backup_dir + "/hnsw";
  storage::StoreOptions store_options;
  store_options.create_if_missing = false;
  PW_ASSIGN_OR_RETURN(raw->store, storage::Store::Open(store_options, store_dir));
  PW_RETURN_IF_ERROR(raw->schema.MergeJson(db->SchemaJson()));
  PW_ASSIGN_OR_RETURN(raw->graph, graph::Graph::Load(*raw->store, raw->schema));
  PW_ASSIGN_OR_RETURN(raw->vectors, vector::VectorSet::Open(*raw->store, raw->schema, hnsw_dir));
  const Schema& s = raw->schema;
  auto node_type = [&](const char* n) {
    auto* t = s.FindNodeType(n);
    return t ? t->id : kInvalidType;
  };
  auto edge_type = [&](const char* n) {
    auto* t = s.FindEdgeType(n);
    return t ? t->id : kInvalidType;
  };
  raw->user_type = node_type("User");
  raw->item_type = node_type("Item");
  raw->viewed = edge_type("VIEWED");
  raw->bought = edge_type("BOUGHT");
  raw->similar = edge_type("SIMILAR_TO");
  if (auto* sp = s.FindSpace("Item.embedding")) raw->item_index = raw->vectors->Get(sp->id);
  if (auto* sp = s.FindSpace("User.taste")) raw->user_index = raw->vectors->Get(sp->id);
  if (!raw->item_index || !raw->user_index || raw->user_type == kInvalidType) {
    return Status::Internal("bench database lacks the shop schema");
  }
  return raw;
}

}  // namespace pathwise::bench
