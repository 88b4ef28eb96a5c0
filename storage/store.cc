// Store: RocksDB with one column family per kind of record (docs/storage-format.md).
#include <algorithm>
#include <array>
#include <atomic>
#include <filesystem>
#include <functional>
#include <span>
#include <system_error>
#include <thread>

#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/sst_file_writer.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>

#include "storage/codec.h"
#include "storage/durable_files.h"
#include "storage/fault_fs_internal.h"
#include "storage/storage.h"
#include "storage/write_batch_rep.h"

namespace pathwise::storage {

namespace {

namespace fs = std::filesystem;

constexpr char kFormatVersionKey[] = "pathwise.format_version";
constexpr char kFormatVersion[] = "1";
constexpr int kNumCfs = static_cast<int>(Cf::kCount);

Status FromRocks(const rocksdb::Status& s, std::string_view context) {
  if (s.ok()) return Status::OK();
  std::string msg = std::string(context) + ": " + s.ToString();
  if (s.IsNotFound()) return Status::NotFound(msg);
  if (s.IsCorruption()) return Status::Corruption(msg);
  if (s.IsInvalidArgument()) return Status::InvalidArgument(msg);
  if (s.IsBusy() || s.IsTryAgain() || s.IsTimedOut()) return Status::Unavailable(msg);
  if (s.IsIOError() || s.IsNoSpace()) return Status::IOError(msg);
  return Status::IOError(msg);
}

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }
std::string_view ToView(const rocksdb::Slice& s) { return std::string_view(s.data(), s.size()); }

rocksdb::ColumnFamilyOptions CfOptions(Cf cf, const StoreOptions& options,
                                       const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions cfo;
  cfo.write_buffer_size = options.write_buffer_bytes;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  // Index and filter blocks live in the table readers (all tables stay open), not in the block
  // cache: a compacted SST's full filter is several MB, larger than one shard of the LRU cache,
  // so caching it evicted it at once and every point lookup (GetEdge, event dedupe) re-read and
  // re-checksummed it -- ~1 ms per Get at 10M edges. Held in memory they cost ~1.3 bytes per key.
  table.cache_index_and_filter_blocks = false;
  switch (cf) {
    case Cf::kMeta:
      // Every event looks up its dedupe key here, and nearly all are absent: a whole-key bloom
      // filter over the memtable answers those without searching its skip list (2% of the
      // write buffer).
      cfo.memtable_prefix_bloom_size_ratio = 0.02;
      cfo.memtable_whole_key_filtering = true;
      [[fallthrough]];
    case Cf::kNodes:
    case Cf::kNodeIds:
      // Point lookups: whole-key bloom filters.
      table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
      break;
    case Cf::kEdges:
    case Cf::kRedges:
      // Point lookups (GetEdge) and per-node prefix scans (first 4 bytes = node id).
      table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
      table.whole_key_filtering = true;
      cfo.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(4));
      // No filter in the bottommost level, which holds most keys: GetEdge is only called for
      // edges memory holds (a filter there can only answer "maybe"), and building the filters
      // of the bottommost files was a sixth of compaction CPU under random edge writes
      // (docs/benchmarks.md, "Write pipeline"). The levels above keep theirs, so a lookup
      // still skips the newer files that do not hold the key.
      cfo.optimize_filters_for_hits = true;
      break;
    default:
      break;  // vectors: scanned by space at open; no filter needed
  }
  cfo.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return cfo;
}

// Iterates keys of one column family starting with prefix (all keys when prefix is empty).
template <typename Fn>
Status ScanPrefix(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, std::string_view prefix,
                  Fn&& fn) {
  rocksdb::ReadOptions ro;
  ro.total_order_seek = true;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, cf));
  for (it->Seek(ToSlice(prefix)); it->Valid(); it->Next()) {
    std::string_view key = ToView(it->key());
    if (key.substr(0, prefix.size()) != prefix) break;
    bool more = true;
    PW_RETURN_IF_ERROR(fn(key, ToView(it->value()), &more));
    if (!more) break;
  }
  return FromRocks(it->status(), "scan");
}

Status DecodeEdge(std::string_view key, std::string_view value, EdgeRecord* e) {
  if (key.size() != 10) return Status::Corruption("malformed edge key");
  e->src = codec::GetU32BE(key.data());
  e->type = codec::GetU16BE(key.data() + 4);
  e->dst = codec::GetU32BE(key.data() + 6);
  return codec::DecodeEdgeValue(value, &e->weight, &e->ts, &e->count, &e->props);
}

// Runs work on `threads` threads (this one included; fewer when no thread can be started).
void RunOnThreads(const std::function<void()>& work, size_t threads) {
  std::vector<std::thread> helpers;
  try {
    while (helpers.size() + 1 < threads) helpers.emplace_back(work);
  } catch (const std::system_error&) {
    // fewer threads: this one and the helpers started take the rest
  }
  work();
  for (auto& t : helpers) t.join();
}

// A key's first 16 bytes as two big-endian words (zero-padded), so most comparisons of two keys
// are two integer comparisons instead of a memcmp through a pointer.
struct KeyPrefix {
  uint64_t hi = 0, lo = 0;
  explicit KeyPrefix(std::string_view key) {
    for (size_t i = 0; i < 16; ++i) {
      const uint64_t byte = i < key.size() ? static_cast<unsigned char>(key[i]) : 0;
      (i < 8 ? hi : lo) |= byte << (8 * (7 - i % 8));
    }
  }
};

// Sorts ops by key, keeping batch order among equal keys (what std::stable_sort on the keys
// gives, in a fraction of its time for the short keys of nodes and edges).
template <typename Op>
void SortByKey(std::vector<const Op*>* ops) {
  struct Entry {
    uint64_t hi, lo;
    size_t index;  // in batch order: breaks ties
    const Op* op;
  };
  std::vector<Entry> entries;
  entries.reserve(ops->size());
  for (size_t i = 0; i < ops->size(); ++i) {
    const KeyPrefix p((*ops)[i]->key());
    entries.push_back({p.hi, p.lo, i, (*ops)[i]});
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    if (a.hi != b.hi) return a.hi < b.hi;
    if (a.lo != b.lo) return a.lo < b.lo;
    // Equal first 16 bytes (zero-padded): the full keys decide; a shorter key is a prefix of a
    // longer one here, or the keys differ after byte 16.
    if (a.op->key() != b.op->key()) return a.op->key() < b.op->key();
    return a.index < b.index;
  });
  for (size_t i = 0; i < entries.size(); ++i) (*ops)[i] = entries[i].op;
}

// A batch's operations on one family, sorted by key (the last of a repeated key wins).
// (A template: WriteBatch::Rep is private to WriteBatch and Store.)
template <typename Op>
Status WriteSorted(Cf cf, std::vector<const Op*>* ops, rocksdb::SstFileWriter* writer) {
  SortByKey(ops);
  for (size_t i = 0; i < ops->size(); ++i) {
    const auto* op = (*ops)[i];
    if (i + 1 < ops->size() && (*ops)[i + 1]->key() == op->key()) continue;  // a later one wins
    rocksdb::Status s = op->op == BatchOp::kPut
                            ? writer->Put(ToSlice(op->key()), ToSlice(op->value()))
                            : writer->Delete(ToSlice(op->key()));
    if (!s.ok()) return FromRocks(s, std::string("write sst for ") + CfName(cf));
  }
  return Status::OK();
}

// Forward entries of Store::IngestEdges: a merge of the two lists in (src, dst) order, which is
// the order of their keys (u32 src, the one type, u32 dst, big-endian).
Status WriteForward(TypeId type, std::span<const ModelEdge> edges,
                    std::span<const std::pair<NodeId, NodeId>> removed,
                    rocksdb::SstFileWriter* writer) {
  size_t r = 0;
  for (size_t e = 0; e <= edges.size(); ++e) {
    std::pair<NodeId, NodeId> put = e < edges.size() ? std::make_pair(edges[e].src, edges[e].dst)
                                                     : std::make_pair(kInvalidNode, kInvalidNode);
    for (; r < removed.size() && (e == edges.size() || removed[r] < put); ++r) {
      rocksdb::Status s = writer->Delete(codec::EdgeKey(removed[r].first, type, removed[r].second));
      if (!s.ok()) return FromRocks(s, "write sst for edges");
    }
    if (e == edges.size()) break;
    if (r < removed.size() && removed[r] == put) ++r;  // rewritten: the put wins
    rocksdb::Status s = writer->Put(codec::EdgeKey(put.first, type, put.second),
                                    codec::EncodeEdgeValue(edges[e].weight, edges[e].ts, 1, {}));
    if (!s.ok()) return FromRocks(s, "write sst for edges");
  }
  return Status::OK();
}

// Reverse entries of Store::IngestEdges: (dst, src) keys, sorted here; a put wins over a delete.
Status WriteReverse(TypeId type, std::span<const ModelEdge> edges,
                    std::span<const std::pair<NodeId, NodeId>> removed,
                    rocksdb::SstFileWriter* writer) {
  struct Entry {
    NodeId first, second;
    bool put;
  };
  std::vector<Entry> entries;
  entries.reserve(edges.size() + removed.size());
  for (const auto& [src, dst] : removed) entries.push_back({dst, src, false});
  for (const ModelEdge& e : edges) entries.push_back({e.dst, e.src, true});
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.first != b.first ? a.first < b.first
                              : a.second != b.second ? a.second < b.second : a.put > b.put;
  });
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    if (i > 0 && entries[i - 1].first == e.first && entries[i - 1].second == e.second) continue;
    std::string key = codec::EdgeKey(e.first, type, e.second);
    rocksdb::Status s = e.put ? writer->Put(key, "") : writer->Delete(key);
    if (!s.ok()) return FromRocks(s, "write sst for redges");
  }
  return Status::OK();
}

}  // namespace

// Batches with at least this many operations are applied in key order (see Impl::Apply).
constexpr size_t kSortedWriteMinOps = 64;

struct Store::Impl {
  rocksdb::DB* db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs;
  std::shared_ptr<rocksdb::Cache> cache;
  std::unique_ptr<rocksdb::Env> env;  // set only with StoreOptions::fault_injection_fs
  std::string path;
  std::vector<rocksdb::Options> sst_options;  // per family: what its SST files are written with

  // Where Ingest builds its files: beside the database, on the same file system (RocksDB moves
  // them in by hard links).
  std::string IngestDir() const { return path + ".ingest"; }

  rocksdb::ColumnFamilyHandle* Handle(Cf cf) const { return cfs[static_cast<int>(cf)]; }

  // sorted: insert in (column family, key) order. Same-key operations keep their relative
  // order (stable sort), so the result is unchanged; the memtable skip list inserts sorted keys
  // far faster (its splice is reused), which matters for multi-megabyte bulk batches.
  Status Build(const WriteBatch& batch, bool sorted, rocksdb::WriteBatch* wb) const {
    const auto& ops = batch.rep_->ops;
    std::vector<const WriteBatch::Rep::Op*> order;
    order.reserve(ops.size());
    for (const auto& op : ops) order.push_back(&op);
    if (sorted) {
      std::stable_sort(order.begin(), order.end(), [](const auto* a, const auto* b) {
        return a->cf != b->cf ? a->cf < b->cf : a->key() < b->key();
      });
    }
    for (const auto* op : order) {
      rocksdb::Status s = op->op == BatchOp::kPut
                              ? wb->Put(Handle(op->cf), ToSlice(op->key()), ToSlice(op->value()))
                              : wb->Delete(Handle(op->cf), ToSlice(op->key()));
      if (!s.ok()) return FromRocks(s, "write batch");
    }
    return Status::OK();
  }

  // Whether Write applies batch in key order (see Build).
  static bool SortsOnWrite(const WriteBatch& batch) {
    return batch.Count() >= kSortedWriteMinOps;
  }

  Status Apply(WriteBatch* batch, const rocksdb::WriteOptions& wo, bool sorted) {
    if (batch->Count() == 0) return Status::OK();
    rocksdb::WriteBatch wb(batch->ByteSize() + 64);
    PW_RETURN_IF_ERROR(Build(*batch, sorted, &wb));
    return FromRocks(db->Write(wo, &wb), "write");
  }

  // Writes ops (one family's, in batch order) to one SST file at file: sorted by key, the
  // last operation per key only (stable sort), a delete as a tombstone.
  // Writes one SST file per family in `cfs` (fill adds its entries in key order, one family per
  // thread, up to `threads` at once) in IngestDir(), then ingests them all in one atomic step.
  // The directory is removed in every case.
  Status IngestFiles(const std::vector<Cf>& cfs, int threads,
                     const std::function<Status(Cf, rocksdb::SstFileWriter*)>& fill) {
    const std::string dir = IngestDir();
    std::error_code ec;
    fs::remove_all(dir, ec);
    fs::create_directories(dir, ec);
    if (ec) return Status::IOError("create " + dir + ": " + ec.message());
    auto file_of = [&](Cf cf) { return dir + "/" + CfName(cf) + ".sst"; };
    std::vector<Status> written(cfs.size());
    std::atomic<size_t> next{0};
    auto work = [&] {
      for (size_t i = next++; i < cfs.size(); i = next++) {
        rocksdb::SstFileWriter writer(rocksdb::EnvOptions(), sst_options[static_cast<int>(cfs[i])],
                                      Handle(cfs[i]));
        written[i] = FromRocks(writer.Open(file_of(cfs[i])), "open " + file_of(cfs[i]));
        if (written[i].ok()) written[i] = fill(cfs[i], &writer);
        if (written[i].ok()) {
          written[i] = FromRocks(writer.Finish(), std::string("finish sst for ") + CfName(cfs[i]));
        }
      }
    };
    RunOnThreads(work, std::min<size_t>(std::max(threads, 1), cfs.size()));
    Status s;
    for (const Status& w : written) {
      if (s.ok()) s = w;
    }
    if (s.ok()) {
      std::vector<rocksdb::IngestExternalFileArg> args;
      for (Cf cf : cfs) {
        rocksdb::IngestExternalFileArg arg;
        arg.column_family = Handle(cf);
        arg.external_files = {file_of(cf)};
        arg.options.move_files = true;           // hard links: no copy
        arg.options.write_global_seqno = false;  // the sequence number lives in the MANIFEST
        args.push_back(std::move(arg));
      }
      s = FromRocks(db->IngestExternalFiles(args), "ingest");
    }
    fs::remove_all(dir, ec);
    return s;
  }

  Status Get(Cf cf, std::string_view key, std::string* value) const {
    return FromRocks(db->Get(rocksdb::ReadOptions(), Handle(cf), ToSlice(key), value), "get");
  }

  ~Impl() {
    if (db == nullptr) return;
    // Stop and wait for flushes and compactions first, so none runs while the DB is torn down.
    rocksdb::CancelAllBackgroundWork(db, /*wait=*/true);
    for (auto* h : cfs) {
      if (h != nullptr) db->DestroyColumnFamilyHandle(h);
    }
    db->Close();
    delete db;
  }
};

Store::Store() : impl_(std::make_unique<Impl>()) {}

Store::~Store() {
  if (impl_ && impl_->db != nullptr) Flush();  // best effort; errors cannot be reported here
}

Result<std::unique_ptr<Store>> Store::Open(const StoreOptions& options, const std::string& path) {
  std::unique_ptr<Store> store(new Store());
  Impl& impl = *store->impl_;
  impl.path = path;
  impl.cache = rocksdb::NewLRUCache(options.block_cache_bytes);

  rocksdb::DBOptions dbo;
  dbo.create_if_missing = options.create_if_missing;
  dbo.create_missing_column_families = true;
  dbo.max_background_jobs = 2;
  dbo.bytes_per_sync = 1 << 20;
  dbo.enable_pipelined_write = false;  // keep RocksDB's write group (shared fsync)
  // atomic_flush stays off: RocksDB 7.8 (Debian 12) leaks a column family reference when an
  // automatic atomic flush fails (facebook/rocksdb#12176) and then aborts at close. Every write,
  // bulk ones included, goes through the WAL, which keeps the families consistent after a crash.
  if (options.fault_injection_fs) {
    impl.env = rocksdb::NewCompositeEnv(FaultFsRocks(*options.fault_injection_fs));
    dbo.env = impl.env.get();
  }

  std::vector<std::string> existing;
  if (rocksdb::DB::ListColumnFamilies(dbo, path, &existing).ok()) {
    for (const auto& name : existing) {
      bool known = name == rocksdb::kDefaultColumnFamilyName;
      for (int i = 0; i < kNumCfs; ++i) known |= name == CfName(static_cast<Cf>(i));
      if (!known) {
        return Status::Corruption("database at " + path + " has unknown column family '" + name +
                                  "'");
      }
    }
  } else if (!options.create_if_missing) {
    return Status::NotFound("no database at " + path);
  }

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
  for (int i = 0; i < kNumCfs; ++i) {
    descriptors.emplace_back(CfName(static_cast<Cf>(i)),
                             CfOptions(static_cast<Cf>(i), options, impl.cache));
    impl.sst_options.emplace_back(dbo, descriptors.back().options);
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  std::error_code ec;
  fs::create_directories(path, ec);
  rocksdb::Status s = rocksdb::DB::Open(dbo, path, descriptors, &handles, &impl.db);
  if (!s.ok()) return FromRocks(s, "open " + path);
  // handles[0] is the (unused) default family.
  impl.db->DestroyColumnFamilyHandle(handles[0]);
  impl.cfs.assign(handles.begin() + 1, handles.end());
  fs::remove_all(impl.IngestDir(), ec);  // left by a crash during Ingest: never ingested

  std::string version;
  Status vs = impl.Get(Cf::kMeta, kFormatVersionKey, &version);
  if (vs.code() == Status::Code::kNotFound) {
    WriteBatch batch;
    batch.PutMeta(kFormatVersionKey, kFormatVersion);
    PW_RETURN_IF_ERROR(store->Write(&batch, /*sync=*/true));
  } else if (!vs.ok()) {
    return vs;
  } else if (version != kFormatVersion) {
    return Status::Corruption("database at " + path + " has storage format version '" + version +
                              "'; this build reads version " + kFormatVersion);
  }
  return store;
}

Status Store::Write(WriteBatch* batch, bool sync) {
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  WriteBatch::Rep& rep = *batch->rep_;
  if (rep.prepared && rep.prepared_by == this) {
    return FromRocks(impl_->db->Write(wo, rep.prepared.get()), "write");
  }
  // A group commit of many writes (an events request, a catalog batch) inserts its keys in
  // order too: the skip list reuses its splice between neighbouring keys.
  return impl_->Apply(batch, wo, Impl::SortsOnWrite(*batch));
}

Status Store::Prepare(WriteBatch* batch) const {
  WriteBatch::Rep& rep = *batch->rep_;
  rep.prepared.reset();
  if (rep.ops.empty()) return Status::OK();
  std::unique_ptr<rocksdb::WriteBatch, WriteBatch::Rep::PreparedDeleter> wb(
      new rocksdb::WriteBatch(batch->ByteSize() + 64));
  PW_RETURN_IF_ERROR(impl_->Build(*batch, Impl::SortsOnWrite(*batch), wb.get()));
  rep.prepared = std::move(wb);
  rep.prepared_by = this;
  return Status::OK();
}

void WriteBatch::Rep::PreparedDeleter::operator()(rocksdb::WriteBatch* wb) const { delete wb; }

Status Store::WriteBulk(WriteBatch* batch) {
  rocksdb::WriteOptions wo;
  wo.sync = false;  // logged, not synced: Flush() makes the load durable
  return impl_->Apply(batch, wo, /*sorted=*/true);
}

Status Store::Flush() {
  rocksdb::FlushOptions fo;
  fo.wait = true;
  PW_RETURN_IF_ERROR(FromRocks(impl_->db->Flush(fo, impl_->cfs), "flush"));
  return FromRocks(impl_->db->FlushWAL(/*sync=*/true), "flush wal");
}

Status Store::Ingest(const WriteBatch& batch, int threads) {
  if (batch.Count() == 0) return Status::OK();
  std::array<std::vector<const WriteBatch::Rep::Op*>, kNumCfs> by_cf;
  for (const auto& op : batch.rep_->ops) by_cf[static_cast<int>(op.cf)].push_back(&op);
  std::vector<Cf> todo;  // families with operations, the largest first
  for (int cf = 0; cf < kNumCfs; ++cf) {
    if (!by_cf[cf].empty()) todo.push_back(static_cast<Cf>(cf));
  }
  std::sort(todo.begin(), todo.end(), [&](Cf a, Cf b) {
    return by_cf[static_cast<int>(a)].size() > by_cf[static_cast<int>(b)].size();
  });
  return impl_->IngestFiles(todo, threads, [&](Cf cf, rocksdb::SstFileWriter* writer) {
    return WriteSorted(cf, &by_cf[static_cast<int>(cf)], writer);
  });
}

Status Store::IngestEdges(TypeId type, std::span<const ModelEdge> edges,
                          std::span<const std::pair<NodeId, NodeId>> removed) {
  if (edges.empty() && removed.empty()) return Status::OK();
  return impl_->IngestFiles({Cf::kEdges, Cf::kRedges}, 2,
                            [&](Cf cf, rocksdb::SstFileWriter* writer) {
                              return cf == Cf::kEdges ? WriteForward(type, edges, removed, writer)
                                                      : WriteReverse(type, edges, removed, writer);
                            });
}

Result<std::string> Store::GetMeta(std::string_view key) const {
  std::string value;
  PW_RETURN_IF_ERROR(impl_->Get(Cf::kMeta, key, &value));
  return value;
}

Status Store::ScanMeta(std::string_view prefix,
                       const std::function<bool(std::string_view, std::string_view)>& fn) const {
  return ScanPrefix(impl_->db, impl_->Handle(Cf::kMeta), prefix,
                    [&](std::string_view k, std::string_view v, bool* more) {
                      *more = fn(k, v);
                      return Status::OK();
                    });
}

Result<std::string> Store::GetImpressionLog(std::string_view key) const {
  std::string value;
  PW_RETURN_IF_ERROR(impl_->Get(Cf::kImpressions, key, &value));
  return value;
}

// Entries of a log column family with begin <= key < end, in key order.
static Status ScanLog(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, std::string_view begin,
                      std::string_view end,
                      const std::function<bool(std::string_view, std::string_view)>& fn) {
  rocksdb::ReadOptions ro;
  rocksdb::Slice upper = ToSlice(end);
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, cf));
  for (it->Seek(ToSlice(begin)); it->Valid(); it->Next()) {
    if (!fn(ToView(it->key()), ToView(it->value()))) break;
  }
  return FromRocks(it->status(), "scan log");
}

// A synced range deletion of [begin, end) in a log column family.
static Status DeleteLogRange(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
                             std::string_view begin, std::string_view end) {
  if (begin >= end) return Status::OK();
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocks(db->DeleteRange(wo, cf, ToSlice(begin), ToSlice(end)), "expire log");
}

Status Store::ScanImpressionLog(
    std::string_view begin, std::string_view end,
    const std::function<bool(std::string_view, std::string_view)>& fn) const {
  return ScanLog(impl_->db, impl_->Handle(Cf::kImpressions), begin, end, fn);
}

Status Store::DeleteImpressionLogRange(std::string_view begin, std::string_view end) {
  return DeleteLogRange(impl_->db, impl_->Handle(Cf::kImpressions), begin, end);
}

Status Store::ScanEventLog(std::string_view begin, std::string_view end,
                           const std::function<bool(std::string_view, std::string_view)>& fn) const {
  return ScanLog(impl_->db, impl_->Handle(Cf::kEvents), begin, end, fn);
}

Status Store::DeleteEventLogRange(std::string_view begin, std::string_view end) {
  return DeleteLogRange(impl_->db, impl_->Handle(Cf::kEvents), begin, end);
}

Result<std::string> Store::LastEventLogKey() const {
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->Handle(Cf::kEvents)));
  it->SeekToLast();
  if (it->Valid()) return std::string(ToView(it->key()));
  PW_RETURN_IF_ERROR(FromRocks(it->status(), "last event"));
  return Status::NotFound("the event log is empty");
}

Result<NodeRecord> Store::GetNode(NodeId id) const {
  std::string value;
  PW_RETURN_IF_ERROR(impl_->Get(Cf::kNodes, codec::NodeKey(id), &value));
  NodeRecord node;
  node.id = id;
  PW_RETURN_IF_ERROR(codec::DecodeNodeValue(value, &node.type, &node.key, &node.props));
  return node;
}

Result<NodeId> Store::LookupNode(TypeId type, std::string_view key) const {
  std::string value;
  PW_RETURN_IF_ERROR(impl_->Get(Cf::kNodeIds, codec::NodeIdKey(type, key), &value));
  if (value.size() != 4) return Status::Corruption("malformed node id entry");
  return codec::GetU32BE(value.data());
}

Status Store::ScanNodes(const std::function<bool(const NodeRecord&)>& fn) const {
  return ScanPrefix(
      impl_->db, impl_->Handle(Cf::kNodes), "",
      [&](std::string_view k, std::string_view v, bool* more) {
        if (k.size() != 4) return Status::Corruption("malformed node key");
        NodeRecord node;
        node.id = codec::GetU32BE(k.data());
        PW_RETURN_IF_ERROR(codec::DecodeNodeValue(v, &node.type, &node.key, &node.props));
        *more = fn(node);
        return Status::OK();
      });
}

Result<EdgeRecord> Store::GetEdge(NodeId src, TypeId type, NodeId dst) const {
  std::string key = codec::EdgeKey(src, type, dst);
  std::string value;
  PW_RETURN_IF_ERROR(impl_->Get(Cf::kEdges, key, &value));
  EdgeRecord edge;
  PW_RETURN_IF_ERROR(DecodeEdge(key, value, &edge));
  return edge;
}

Status Store::ScanEdges(const std::function<bool(const EdgeRecord&)>& fn) const {
  return ScanPrefix(impl_->db, impl_->Handle(Cf::kEdges), "",
                    [&](std::string_view k, std::string_view v, bool* more) {
                      EdgeRecord edge;
                      PW_RETURN_IF_ERROR(DecodeEdge(k, v, &edge));
                      *more = fn(edge);
                      return Status::OK();
                    });
}

Status Store::ScanEdges(NodeId from, NodeId to,
                        const std::function<bool(const EdgeRecord&)>& fn) const {
  if (from >= to) return Status::OK();
  rocksdb::ReadOptions ro;
  ro.total_order_seek = true;
  const std::string begin = codec::NodeKey(from);
  const std::string end = codec::NodeKey(to);  // u32 big-endian: key order is src order
  rocksdb::Slice upper(end);
  if (to != kInvalidNode) ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->Handle(Cf::kEdges)));
  for (it->Seek(ToSlice(begin)); it->Valid(); it->Next()) {
    EdgeRecord edge;
    PW_RETURN_IF_ERROR(DecodeEdge(ToView(it->key()), ToView(it->value()), &edge));
    if (!fn(edge)) break;
  }
  return FromRocks(it->status(), "scan");
}

Status Store::ScanEdgesOf(NodeId node, Direction dir,
                          const std::function<bool(const EdgeRecord&)>& fn) const {
  std::string prefix = codec::NodeKey(node);
  if (dir == Direction::kOut) {
    return ScanPrefix(impl_->db, impl_->Handle(Cf::kEdges), prefix,
                      [&](std::string_view k, std::string_view v, bool* more) {
                        EdgeRecord edge;
                        PW_RETURN_IF_ERROR(DecodeEdge(k, v, &edge));
                        *more = fn(edge);
                        return Status::OK();
                      });
  }
  return ScanPrefix(impl_->db, impl_->Handle(Cf::kRedges), prefix,
                    [&](std::string_view k, std::string_view, bool* more) {
                      if (k.size() != 10) return Status::Corruption("malformed reverse edge key");
                      auto edge = GetEdge(codec::GetU32BE(k.data() + 6),
                                          codec::GetU16BE(k.data() + 4), node);
                      if (!edge.ok()) {
                        return edge.status().code() == Status::Code::kNotFound
                                   ? Status::Corruption("reverse edge without forward edge")
                                   : edge.status();
                      }
                      *more = fn(edge.value());
                      return Status::OK();
                    });
}

Result<std::vector<float>> Store::GetVector(SpaceId space, NodeId node) const {
  std::string value;
  PW_RETURN_IF_ERROR(impl_->Get(Cf::kVectors, codec::VectorKey(space, node), &value));
  std::vector<float> out;
  PW_RETURN_IF_ERROR(codec::DecodeVector(value, &out));
  return out;
}

Status Store::ScanVectors(SpaceId space,
                          const std::function<bool(NodeId, std::span<const float>)>& fn) const {
  std::string prefix;
  codec::PutU16BE(&prefix, space);
  std::vector<float> values;
  return ScanPrefix(impl_->db, impl_->Handle(Cf::kVectors), prefix,
                    [&](std::string_view k, std::string_view v, bool* more) {
                      if (k.size() != 6) return Status::Corruption("malformed vector key");
                      PW_RETURN_IF_ERROR(codec::DecodeVector(v, &values));
                      *more = fn(codec::GetU32BE(k.data() + 2), values);
                      return Status::OK();
                    });
}

Status Store::ScanDirtyVectors(const std::function<bool(SpaceId, NodeId)>& fn) const {
  return ScanPrefix(impl_->db, impl_->Handle(Cf::kDirtyVectors), "",
                    [&](std::string_view k, std::string_view, bool* more) {
                      if (k.size() != 6) return Status::Corruption("malformed dirty vector key");
                      *more = fn(codec::GetU16BE(k.data()), codec::GetU32BE(k.data() + 2));
                      return Status::OK();
                    });
}

Status Store::ClearDirtyVectors(SpaceId space, std::span<const NodeId> keep) {
  std::string begin, end;
  codec::PutU16BE(&begin, space);
  // The end key: space + 1 (or 0xFFFF followed by 0xFF... for the last space).
  if (space == UINT16_MAX) {
    end = std::string("\xFF\xFF\xFF\xFF\xFF\xFF\xFF", 7);
  } else {
    codec::PutU16BE(&end, static_cast<uint16_t>(space + 1));
  }
  rocksdb::ColumnFamilyHandle* cf = impl_->Handle(Cf::kDirtyVectors);
  rocksdb::WriteBatch batch;
  PW_RETURN_IF_ERROR(FromRocks(batch.DeleteRange(cf, begin, end), "clear dirty vectors"));
  // Later operations of a batch win over earlier ones: the kept marks survive the range delete.
  for (NodeId node : keep) {
    PW_RETURN_IF_ERROR(FromRocks(batch.Put(cf, codec::VectorKey(space, node), ""),
                                 "keep dirty vector"));
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocks(impl_->db->Write(wo, &batch), "clear dirty vectors");
}

uint64_t Store::LatestSequence() const { return impl_->db->GetLatestSequenceNumber(); }

uint64_t Store::SizeOnDisk() const {
  uint64_t sst = 0;
  impl_->db->GetAggregatedIntProperty("rocksdb.total-sst-files-size", &sst);
  uint64_t wal = 0;
  rocksdb::VectorLogPtr logs;
  if (impl_->db->GetSortedWalFiles(logs).ok()) {
    for (const auto& log : logs) wal += log->SizeFileBytes();
  }
  return sst + wal;
}

Status Store::Checkpoint(const std::string& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec)) return Status::AlreadyExists("checkpoint directory exists: " + dir);
  rocksdb::Checkpoint* raw = nullptr;
  PW_RETURN_IF_ERROR(FromRocks(rocksdb::Checkpoint::Create(impl_->db, &raw), "checkpoint"));
  std::unique_ptr<rocksdb::Checkpoint> cp(raw);
  return FromRocks(cp->CreateCheckpoint(dir), "checkpoint " + dir);
}

Status Store::Restore(const std::string& checkpoint_dir, const std::string& path) {
  std::error_code ec;
  if (!fs::exists(fs::path(checkpoint_dir) / "CURRENT", ec)) {
    return Status::NotFound("no checkpoint at " + checkpoint_dir);
  }
  rocksdb::Env* env = rocksdb::Env::Default();
  if (fs::exists(path, ec)) {
    // Refuse while any process (including this one) has the database open.
    rocksdb::FileLock* lock = nullptr;
    rocksdb::Status s = env->LockFile(path + "/LOCK", &lock);
    if (!s.ok()) return Status::Unavailable("database at " + path + " is in use: " + s.ToString());
    env->UnlockFile(lock);
  }
  std::string staging = path + ".restoring";
  fs::path parent = fs::absolute(fs::path(path), ec).parent_path();
  if (!parent.empty()) fs::create_directories(parent, ec);
  fs::remove_all(staging, ec);
  fs::copy(checkpoint_dir, staging, fs::copy_options::recursive, ec);
  if (ec) return Status::IOError("copy " + checkpoint_dir + ": " + ec.message());
  // The copy is on disk before it takes the database's name, and the name before we return.
  PW_RETURN_IF_ERROR(SyncTree(staging));
  fs::remove_all(path, ec);
  if (ec) return Status::IOError("remove " + path + ": " + ec.message());
  fs::rename(staging, path, ec);
  if (ec) return Status::IOError("rename " + staging + ": " + ec.message());
  return SyncParentDirectory(path);
}

}  // namespace pathwise::storage
