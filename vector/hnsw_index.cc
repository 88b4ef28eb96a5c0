// VectorIndex over hnswlib: writes, lookups, capacity, snapshots' file I/O and searches.
// The only translation unit that includes hnswlib (see index_impl.h).
//
// Filtered search: greedy descent through the upper layers, then a beam search on the base
// layer in which every node may be traversed but only nodes that pass the filter (and are not
// deleted) enter the result beam. A selective filter makes the beam fill slowly, so the search
// walks further; a budget of distance computations (kBudgetPerEf * ef) bounds one attempt. If an
// attempt ends with fewer than k eligible hits, the next one widens ef (and the budget) 4x;
// once the widened search would cost more than an exact filtered scan (estimated from the
// selectivity the failed attempt observed), the exact scan answers and the result is marked
// exhaustive.
// hnswlib 0.6.2's prefetches in searchBaseLayer read the link id after the last one
// (datal[j + 1]); for a full list on the last level of a point's upper-layer block that is up
// to 4 bytes past the block hnswlib mallocs (found by fuzz/vector_snapshot_fuzz.cc under ASan,
// on ordinary inserts as well as loaded snapshots). Every malloc inside hnswlib's headers gets
// kHnswSlack more bytes, so that read stays inside the allocation; hnswlib frees them with free.
// The standard headers hnswlib includes come first, so the macro reaches hnswlib's code only.
#include <algorithm>
#include <atomic>
#include <cassert>
#include <cmath>
#include <cpuid.h>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <immintrin.h>
#include <iostream>
#include <list>
#include <mutex>
#include <queue>
#include <random>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>
#include <vector>
#include <x86intrin.h>

namespace pathwise::vector {
constexpr size_t kHnswSlack = 16;
inline void* HnswMalloc(size_t bytes) { return std::malloc(bytes + kHnswSlack); }
}  // namespace pathwise::vector

#define malloc(bytes) ::pathwise::vector::HnswMalloc(bytes)
#include <hnswlib/hnswlib.h>
#undef malloc

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <queue>
#include <thread>
#include <unordered_map>

#include "storage/crc32c.h"
#include "vector/index_impl.h"
#include "vector/metric.h"
#include "vector/simd_distance.h"

namespace pathwise::vector {
namespace {

// Asks for every cache line of [at, at + bytes).
void PrefetchLines(const void* at, size_t bytes) {
  const char* p = static_cast<const char*>(at);
  for (size_t offset = 0; offset < bytes; offset += 64) __builtin_prefetch(p + offset);
}

float Dist(const IndexImpl& impl, const float* query, uint32_t internal_id) {
  return impl.hnsw->fstdistfunc_(query, impl.hnsw->getDataByInternalId(internal_id),
                                 impl.hnsw->dist_func_param_);
}

// An hnswlib space over one of the host's kernels (vector/simd_distance.h): the same distance
// as hnswlib's InnerProductSpace / L2Space, computed with AVX2 and FMA when the CPU has them.
class KernelSpace : public hnswlib::SpaceInterface<float> {
 public:
  KernelSpace(size_t dim, DistanceKernel kernel) : dim_(dim), kernel_(kernel) {}
  size_t get_data_size() override { return dim_ * sizeof(float); }
  hnswlib::DISTFUNC<float> get_dist_func() override { return kernel_; }
  void* get_dist_func_param() override { return &dim_; }

 private:
  size_t dim_;
  DistanceKernel kernel_;
};

std::unique_ptr<hnswlib::SpaceInterface<float>> MakeSpace(const VectorSpaceDef& def) {
  const DistanceKernels& k = HostDistanceKernels();
  if (def.metric == Metric::kL2) {
    if (k.l2_squared != nullptr) return std::make_unique<KernelSpace>(def.dim, k.l2_squared);
    return std::make_unique<hnswlib::L2Space>(def.dim);
  }
  if (k.inner_product != nullptr) return std::make_unique<KernelSpace>(def.dim, k.inner_product);
  return std::make_unique<hnswlib::InnerProductSpace>(def.dim);
}

}  // namespace

VectorIndex::Impl::Impl() = default;
VectorIndex::Impl::~Impl() = default;

Status VectorIndex::Impl::WriteSnapshotTo(SnapshotSink* sink, uint32_t* crc,
                                          size_t* points) const {
  if (flat) {
    return Status::InvalidArgument("flat vector space " + def.FullName() +
                                      " has no snapshot (it is rebuilt from the store)");
  }
  auto lock = ReadLock();
  const auto& h = *hnsw;
  SnapshotHeader header;
  header.offset_level0 = h.offsetLevel0_;
  header.max_elements = h.max_elements_;
  header.count = h.cur_element_count;
  header.size_data_per_element = h.size_data_per_element_;
  header.label_offset = h.label_offset_;
  header.offset_data = h.offsetData_;
  header.max_level = h.maxlevel_;
  header.entry_point = h.enterpoint_node_;
  header.max_m = h.maxM_;
  header.max_m0 = h.maxM0_;
  header.m = h.M_;
  header.mult = h.mult_;
  header.ef_construction = h.ef_construction_;
  char encoded[kSnapshotHeaderBytes];
  EncodeSnapshotHeader(header, encoded);
  SnapshotWriter out(sink);
  PW_RETURN_IF_ERROR(out.Write(encoded, sizeof(encoded)));
  PW_RETURN_IF_ERROR(out.Write(h.data_level0_memory_, h.cur_element_count * h.size_data_per_element_));
  for (size_t i = 0; i < h.cur_element_count; ++i) {
    const uint32_t bytes =
        h.element_levels_[i] > 0 ? static_cast<uint32_t>(h.size_links_per_element_ * h.element_levels_[i]) : 0;
    PW_RETURN_IF_ERROR(out.Write(reinterpret_cast<const char*>(&bytes), sizeof(bytes)));
    if (bytes > 0) PW_RETURN_IF_ERROR(out.Write(h.linkLists_[i], bytes));
  }
  PW_RETURN_IF_ERROR(out.Finish());
  *crc = out.crc();
  *points = h.cur_element_count;
  return Status::OK();
}

size_t VectorIndex::Impl::Points() const {
  auto lock = ReadLock();
  return flat ? flat->Rows() : hnsw->cur_element_count;
}

constexpr size_t kInitialCapacity = 1024;

void VectorIndex::Impl::InitEmpty(size_t capacity) {
  space = MakeSpace(def);
  hnsw = std::make_unique<hnswlib::HierarchicalNSW<float>>(space.get(), capacity, def.m,
                                                           def.ef_construction);
  ids.Reset(capacity);
  live = 0;
  published = 0;
}

namespace {

// Hands a checked snapshot to h (constructed with hnswlib's empty constructor), setting up what
// hnswlib 0.6.2's loadIndex would. Throws std::bad_alloc when memory runs out; h's destructor is
// safe at every point.
void Adopt(SnapshotImage* img, hnswlib::SpaceInterface<float>* s,
           hnswlib::HierarchicalNSW<float>* h) {
  h->cur_element_count = 0;
  h->data_level0_memory_ = nullptr;
  h->linkLists_ = nullptr;
  h->visited_list_pool_ = nullptr;
  h->num_deleted_ = 0;
  h->metric_distance_computations = 0;
  h->metric_hops = 0;
  const SnapshotHeader& hd = img->header;
  const size_t capacity = img->capacity;
  h->offsetLevel0_ = hd.offset_level0;
  h->max_elements_ = capacity;
  h->size_data_per_element_ = hd.size_data_per_element;
  h->label_offset_ = hd.label_offset;
  h->offsetData_ = hd.offset_data;
  h->maxlevel_ = hd.max_level;
  h->enterpoint_node_ = hd.entry_point;
  h->maxM_ = hd.max_m;
  h->maxM0_ = hd.max_m0;
  h->M_ = hd.m;
  h->mult_ = hd.mult;
  h->revSize_ = 1.0 / hd.mult;
  h->ef_construction_ = hd.ef_construction;
  h->ef_ = 10;
  h->data_size_ = s->get_data_size();
  h->fstdistfunc_ = s->get_dist_func();
  h->dist_func_param_ = s->get_dist_func_param();
  h->size_links_per_element_ = h->maxM_ * sizeof(hnswlib::tableint) + sizeof(hnswlib::linklistsizeint);
  h->size_links_level0_ = h->maxM0_ * sizeof(hnswlib::tableint) + sizeof(hnswlib::linklistsizeint);

  std::vector<std::mutex>(capacity).swap(h->link_list_locks_);
  std::vector<std::mutex>(hnswlib::HierarchicalNSW<float>::max_update_element_locks)
      .swap(h->link_list_update_locks_);
  h->visited_list_pool_ = new hnswlib::VisitedListPool(1, static_cast<int>(capacity));
  h->linkLists_ = static_cast<char**>(std::malloc(sizeof(void*) * capacity));
  if (h->linkLists_ == nullptr) throw std::bad_alloc();
  h->data_level0_memory_ = img->level0.release();
  h->element_levels_ = std::move(img->levels);
  h->label_lookup_.clear();
  h->label_lookup_.reserve(hd.count);
  size_t deleted = 0;
  for (size_t i = 0; i < hd.count; ++i) {
    const auto id = static_cast<hnswlib::tableint>(i);
    h->label_lookup_[h->getExternalLabel(id)] = id;
    const size_t bytes = h->size_links_per_element_ * h->element_levels_[i];
    if (bytes == 0) {
      h->linkLists_[i] = nullptr;
    } else {
      h->linkLists_[i] = static_cast<char*>(HnswMalloc(bytes));
      if (h->linkLists_[i] == nullptr) throw std::bad_alloc();
      std::memcpy(h->linkLists_[i], img->upper.data() + img->upper_at[i], bytes);
    }
    // Counted from here on, so the destructor frees exactly what was allocated.
    h->cur_element_count = i + 1;
    if (h->isMarkedDeleted(id)) ++deleted;
  }
  h->num_deleted_ = deleted;
}

}  // namespace

Result<std::unique_ptr<VectorIndex::Impl>> VectorIndex::Impl::Load(const VectorSpaceDef& def,
                                                                   SnapshotSource* source,
                                                                   uint32_t* crc) {
  PW_ASSIGN_OR_RETURN(SnapshotImage img, ReadSnapshot(def, source, kInitialCapacity));
  auto impl = std::make_unique<Impl>();
  impl->def = def;
  try {
    impl->space = MakeSpace(def);
    // hnswlib's empty constructor leaves every member to Adopt.
    impl->hnsw = std::make_unique<hnswlib::HierarchicalNSW<float>>(impl->space.get());
    Adopt(&img, impl->space.get(), impl->hnsw.get());
    impl->ids.Reset(impl->hnsw->max_elements_);
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("no memory to load the vector index of " + def.FullName());
  }
  impl->live = impl->hnsw->cur_element_count - impl->hnsw->num_deleted_;
  impl->published = impl->hnsw->cur_element_count;
  if (crc != nullptr) *crc = img.crc;
  return impl;
}

size_t VectorIndex::Impl::CountLive() const {
  if (flat) return flat->Rows();
  size_t n = 0;
  for (size_t i = 0; i < hnsw->cur_element_count; ++i) {
    if (!hnsw->isMarkedDeleted(static_cast<uint32_t>(i))) ++n;
  }
  return n;
}

void IdMemo::Reset(size_t capacity) {
  constexpr size_t kMaxSlots = size_t{1} << 22;
  size_t n = 1;
  while (n < std::min(capacity, kMaxSlots)) n <<= 1;
  slots_.reset(new std::atomic<uint64_t>[n]);
  for (size_t i = 0; i < n; ++i) {
    slots_[i].store(uint64_t{kInvalidNode} << 32, std::memory_order_relaxed);
  }
  mask_ = n - 1;
}

int64_t VectorIndex::Impl::InternalId(NodeId node) const {
  int64_t remembered = ids.Find(node);
  if (remembered >= 0) return remembered;
  uint32_t internal;
  {
    // label_lookup_ is written by addPoint under cur_element_count_guard_.
    std::lock_guard<std::mutex> guard(hnsw->cur_element_count_guard_);
    auto it = hnsw->label_lookup_.find(node);
    if (it == hnsw->label_lookup_.end()) return -1;
    internal = it->second;
  }
  ids.Remember(node, internal);
  return internal;
}

namespace {

// The indexes whose read side the current thread holds, innermost last (a handful at most: a
// filter reading another index nests one more). Plain arrays, not a std::vector: a thread_local
// with a destructor is destroyed when the thread exits, before the static destructors of the
// main thread, which may still close a Database and read its indexes.
constexpr size_t kMaxHeldReads = 32;
thread_local const IndexImpl* t_read_held[kMaxHeldReads];
thread_local size_t t_read_held_count = 0;

}  // namespace

VectorIndex::Impl::ReadGuard::ReadGuard(const Impl& impl) {
  if (impl.ReadHeldByThisThread()) return;  // nested: the outer guard covers this read
  while (impl.resize_pending.load(std::memory_order_acquire)) std::this_thread::yield();
  impl.resize_mu.lock_shared();
  owner_ = &impl;
  // Deeper nesting than kMaxHeldReads distinct indexes is not recorded (it still reads safely;
  // only its re-entrancy is not recognised).
  if (t_read_held_count < kMaxHeldReads) t_read_held[t_read_held_count++] = &impl;
}

VectorIndex::Impl::ReadGuard::~ReadGuard() {
  if (owner_ == nullptr) return;
  for (size_t i = t_read_held_count; i-- > 0;) {
    if (t_read_held[i] != owner_) continue;
    for (size_t j = i + 1; j < t_read_held_count; ++j) t_read_held[j - 1] = t_read_held[j];
    --t_read_held_count;
    break;
  }
  owner_->resize_mu.unlock_shared();
}

bool VectorIndex::Impl::ReadHeldByThisThread() const {
  for (size_t i = 0; i < t_read_held_count; ++i) {
    if (t_read_held[i] == this) return true;
  }
  return false;
}

// hnswlib's internal ids are 32-bit and 0xffffffff marks "no entry point".
constexpr size_t kMaxPoints = size_t{0xffffffff} - 1;

Status VectorIndex::Impl::LockExclusive(std::unique_lock<std::shared_mutex>* lock,
                                        const std::string& action) {
  if (ReadHeldByThisThread()) {
    // The exclusive side waits for every reader, this thread's outer read included.
    return Status::Internal("cannot " + action + " vector index " + def.FullName() +
                            " from inside a read of the same index");
  }
  // Announce the writer first: glibc's rwlock prefers readers, so under a steady stream of
  // searches the exclusive lock could otherwise wait indefinitely. Readers already inside never
  // wait for this flag again (ReadGuard is re-entrant), so they finish and let the writer in;
  // new readers wait for the lock itself once it is held.
  resize_pending.store(true);
  *lock = std::unique_lock(resize_mu);
  resize_pending.store(false);
  return Status::OK();
}

Status VectorIndex::Impl::EnsureCapacity(size_t extra) {
  {
    auto lock = ReadLock();
    if (hnsw->cur_element_count + extra <= hnsw->max_elements_) return Status::OK();
  }
  std::unique_lock<std::shared_mutex> lock;
  PW_RETURN_IF_ERROR(LockExclusive(&lock, "grow"));
  size_t need = hnsw->cur_element_count + extra;
  if (need <= hnsw->max_elements_) return Status::OK();
  if (need > kMaxPoints) {
    return Status::ResourceExhausted("vector index " + def.FullName() + " is full (" +
                                     std::to_string(kMaxPoints) + " points)");
  }
  try {
    hnsw->resizeIndex(std::min(std::max({need, hnsw->max_elements_ * 2, kInitialCapacity}),
                               kMaxPoints));
    ids.Reset(hnsw->max_elements_);
  } catch (const std::exception& e) {
    return Status::ResourceExhausted("cannot grow vector index " + def.FullName() + ": " +
                                     e.what());
  }
  return Status::OK();
}

namespace {

// Largest squared norm accepted in l2/ip spaces: then every distance hnswlib computes between
// two stored or query vectors (at most 4 * FLT_MAX / 4 for l2, FLT_MAX / 4 for ip) stays finite.
constexpr double kMaxSquaredNorm = std::numeric_limits<float>::max() / 4.0;

}  // namespace

Status ValidateVector(const VectorSpaceDef& def, std::span<const float> values) {
  if (values.size() != def.dim) {
    return Status::InvalidArgument("vector for " + def.FullName() + " has dimension " +
                                   std::to_string(values.size()) + "; expected " +
                                   std::to_string(def.dim));
  }
  double norm2 = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      return Status::InvalidArgument("vector for " + def.FullName() +
                                     " has a NaN or infinite (not finite) value at position " +
                                     std::to_string(i));
    }
    norm2 += static_cast<double>(values[i]) * values[i];
  }
  if (def.metric != Metric::kCosine) {
    if (norm2 > kMaxSquaredNorm) {
      return Status::InvalidArgument("vector for " + def.FullName() + " has norm " +
                                     std::to_string(std::sqrt(norm2)) + ", above the limit of " +
                                     std::to_string(std::sqrt(kMaxSquaredNorm)) +
                                     " (distances would overflow)");
    }
    return Status::OK();
  }
  // Cosine: the stored vector is values / |values| in float; it must keep a direction. Computed
  // in double, any non-zero float vector (denormals included) normalises to a unit vector; the
  // check below also holds the stored float result to that.
  double unit2 = 0;
  if (norm2 > 0) {
    const double norm = std::sqrt(norm2);
    for (float v : values) {
      double x = static_cast<float>(v / norm);
      unit2 += x * x;
    }
  }
  if (!(unit2 > 0.5 && unit2 < 1.5)) {
    return Status::InvalidArgument(
        "vector for " + def.FullName() + " has norm 0 (all values zero, or too small for a "
        "float): a cosine space needs a vector with a direction");
  }
  return Status::OK();
}

Status VectorIndex::Impl::Prepare(std::span<const float> values, float* out) const {
  PW_RETURN_IF_ERROR(ValidateVector(def, values));
  if (def.metric != Metric::kCosine) {
    std::copy(values.begin(), values.end(), out);
    return Status::OK();
  }
  double norm2 = 0;
  for (float v : values) norm2 += static_cast<double>(v) * v;
  const double norm = std::sqrt(norm2);
  // In double: 1 / norm can exceed the float range for denormal inputs.
  for (size_t i = 0; i < values.size(); ++i) out[i] = static_cast<float>(values[i] / norm);
  return Status::OK();
}

namespace {

// An exception from hnswlib's addPoint: out of memory (std::bad_alloc, or hnswlib's own
// "Not enough memory" errors) is ResourceExhausted; anything else is a bug (Internal).
Status InsertFailed(const VectorSpaceDef& def, const std::exception& e) {
  std::string what = e.what();
  if (dynamic_cast<const std::bad_alloc*>(&e) != nullptr ||
      what.rfind("Not enough memory", 0) == 0) {
    return Status::ResourceExhausted("vector insert into " + def.FullName() + ": " + what);
  }
  return Status::Internal("vector insert into " + def.FullName() + " failed: " + what);
}

}  // namespace

VectorIndex::VectorIndex() : impl_(std::make_unique<Impl>()) {}
VectorIndex::~VectorIndex() = default;

namespace {

Status CheckDef(const VectorSpaceDef& def) {
  if (def.dim == 0 || def.dim > 65536) {
    return Status::InvalidArgument("vector space " + def.FullName() + " needs 1..65536 dims");
  }
  if (def.m < 2 || def.m > 1024 || def.ef_construction == 0) {
    return Status::InvalidArgument("vector space " + def.FullName() + " has a bad m/ef");
  }
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<VectorIndex>> VectorIndex::Create(const VectorSpaceDef& def) {
  PW_RETURN_IF_ERROR(CheckDef(def));
  std::unique_ptr<VectorIndex> index(new VectorIndex());
  index->impl_->def = def;
  try {
    if (def.index == VectorIndexKind::kFlat) {
      index->impl_->flat = std::make_unique<FlatRows>(def.dim);
      return index;
    }
    index->impl_->InitEmpty(kInitialCapacity);
  } catch (const std::exception& e) {
    return Status::ResourceExhausted(std::string("cannot create vector index: ") + e.what());
  }
  return index;
}

static_assert(VectorIndex::kSnapshotFooterBytes == pathwise::vector::kSnapshotFooterBytes);

Result<std::string> VectorIndex::SnapshotBytes() const {
  std::string out;
  StringSink sink(&out);
  uint32_t crc = 0;
  size_t points = 0;
  try {
    PW_RETURN_IF_ERROR(impl_->WriteSnapshotTo(&sink, &crc, &points));
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("no memory for the snapshot of " + impl_->def.FullName());
  }
  return out;
}

namespace {

Result<std::unique_ptr<VectorIndex>> LoadFrom(const VectorSpaceDef& def, SnapshotSource* source) {
  if (def.index == VectorIndexKind::kFlat) {
    return Status::InvalidArgument("flat vector space " + def.FullName() +
                                   " has no snapshot (it is rebuilt from the store)");
  }
  PW_ASSIGN_OR_RETURN(std::unique_ptr<IndexImpl> impl, IndexImpl::Load(def, source, nullptr));
  return IndexInternals::Wrap(std::move(impl));
}

}  // namespace

Result<std::unique_ptr<VectorIndex>> VectorIndex::LoadSnapshotBytes(const VectorSpaceDef& def,
                                                                    std::string_view bytes) {
  PW_RETURN_IF_ERROR(CheckDef(def));
  BytesSource source(bytes);
  return LoadFrom(def, &source);
}

Result<std::unique_ptr<VectorIndex>> VectorIndex::LoadSnapshotFile(const VectorSpaceDef& def,
                                                                   const std::string& path) {
  PW_RETURN_IF_ERROR(CheckDef(def));
  PW_ASSIGN_OR_RETURN(std::unique_ptr<FileSource> source, FileSource::Open(path));
  return LoadFrom(def, source.get());
}

std::string VectorIndex::FrameSnapshotBody(std::string_view body) {
  return std::string(body) +
         SnapshotFooter(storage::Crc32c(0, body.data(), body.size()), body.size());
}

const VectorSpaceDef& VectorIndex::def() const { return impl_->def; }

VectorIndex::Impl::WriteScope::WriteScope(Impl& impl, std::span<const NodeId> nodes)
    : impl_(impl), lock_(impl.write_mu) {
  // Counted before any list changes: a search that copied a list meanwhile sees the count move.
  impl_.link_writes.fetch_add(kLinkWriteInFlight, std::memory_order_seq_cst);
  std::atomic_thread_fence(std::memory_order_release);
  // Set only under the writer role, when no write is in flight: a write that sees it false
  // started before the snapshot began, and its effect is in the snapshot.
  if (impl_.recording.load(std::memory_order_acquire)) {
    std::lock_guard<std::mutex> guard(impl_.touched_mu);
    impl_.touched.insert(impl_.touched.end(), nodes.begin(), nodes.end());
  }
}

VectorIndex::Impl::WriteScope::~WriteScope() {
  impl_.link_writes.fetch_add(kLinkWriteDone, std::memory_order_release);
}

std::vector<NodeId> VectorIndex::Impl::TakeTouched() {
  std::lock_guard<std::mutex> guard(touched_mu);
  recording = false;
  std::vector<NodeId> nodes = std::move(touched);
  touched.clear();
  std::sort(nodes.begin(), nodes.end());
  nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
  return nodes;
}

Status VectorIndex::Upsert(NodeId node, std::span<const float> values) {
  Impl::WriteScope writing(*impl_, {&node, 1});
  if (impl_->flat) return FlatUpsert(*impl_, node, values);
  std::vector<float> prepared(impl_->def.dim);
  PW_RETURN_IF_ERROR(impl_->Prepare(values, prepared.data()));
  // Only a new point needs room: a replacement growing a full index would copy all of it.
  bool known;
  {
    auto lock = impl_->ReadLock();
    known = impl_->InternalId(node) >= 0;
  }
  if (!known) PW_RETURN_IF_ERROR(impl_->EnsureCapacity(1));
  try {
    auto lock = impl_->ReadLock();
    int64_t internal = impl_->InternalId(node);
    bool was_live = internal >= 0 && !impl_->hnsw->isMarkedDeleted(static_cast<uint32_t>(internal));
    if (internal >= 0) {
      impl_->Replace(prepared.data(), internal);
    } else {
      impl_->hnsw->addPoint(prepared.data(), node);
    }
    if (!was_live) impl_->live.fetch_add(1);
    impl_->published = impl_->hnsw->cur_element_count;
  } catch (const std::exception& e) {
    return InsertFailed(impl_->def, e);
  }
  impl_->dirty = true;
  return Status::OK();
}

Status VectorIndex::UpsertBatch(std::span<const NodeId> nodes, std::span<const float> values,
                                int threads) {
  Impl::WriteScope writing(*impl_, nodes);
  if (impl_->flat) return FlatUpsertBatch(*impl_, nodes, values);
  const size_t dim = impl_->def.dim;
  if (values.size() != nodes.size() * dim) {
    return Status::InvalidArgument("batch has " + std::to_string(values.size()) +
                                   " values for " + std::to_string(nodes.size()) +
                                   " vectors of dim " + std::to_string(dim));
  }
  // Validate everything before inserting anything; the last occurrence of a node wins.
  std::vector<float> prepared(values.size());
  std::unordered_map<NodeId, size_t> last;
  last.reserve(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    PW_RETURN_IF_ERROR(impl_->Prepare(values.subspan(i * dim, dim), prepared.data() + i * dim));
    last[nodes[i]] = i;
  }
  std::vector<size_t> order;
  order.reserve(last.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (last[nodes[i]] == i) order.push_back(i);
  }
  // Each node's internal id, looked up once (writes are serialised, and hnswlib never changes a
  // label's id, so they hold until the batch goes in; -1 for a node the index lacks).
  std::vector<int64_t> internal(nodes.size(), -1);
  size_t unknown = 0;
  {
    auto lock = impl_->ReadLock();
    for (size_t i : order) {
      internal[i] = impl_->InternalId(nodes[i]);
      unknown += internal[i] < 0;
    }
  }
  PW_RETURN_IF_ERROR(impl_->EnsureCapacity(unknown));  // room for the new points only
  auto lock = impl_->ReadLock();
  // Counted before inserting, so that a batch costs O(batch), not O(index): a load inserts
  // thousands of batches into an index of a million points.
  size_t added = unknown;
  for (size_t i : order) {
    if (internal[i] >= 0 && impl_->hnsw->isMarkedDeleted(static_cast<uint32_t>(internal[i]))) {
      ++added;
    }
  }
  // New labels first, on every thread; then the labels the index has (hnswlib's updatePoint)
  // on this thread alone: updatePoint rewrites a point's vector in place while other inserts
  // read it as a neighbour, a data race (ThreadSanitizer reports it) that one thread avoids.
  const size_t fresh = static_cast<size_t>(
      std::stable_partition(order.begin(), order.end(),
                            [&](size_t i) { return internal[i] < 0; }) -
      order.begin());
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::string error;
  std::mutex error_mu;
  size_t end = fresh;
  auto work = [&] {
    for (;;) {
      size_t at = next.fetch_add(1);
      if (at >= end || failed.load()) return;
      size_t i = order[at];
      try {
        if (at < fresh) {
          impl_->hnsw->addPoint(prepared.data() + i * dim, nodes[i]);
        } else {
          impl_->Replace(prepared.data() + i * dim, internal[i]);
        }
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> g(error_mu);
        failed = true;
        error = e.what();
      }
    }
  };
  size_t n_threads = std::clamp<size_t>(threads <= 0 ? 1 : threads, 1, 64);
  n_threads = std::min(n_threads, std::max<size_t>(1, fresh / 8));
  std::vector<std::thread> pool;
  for (size_t t = 1; t < n_threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  next = fresh;
  end = order.size();
  work();
  // After a failure some points went in and some did not: count them all.
  if (failed) {
    impl_->live = impl_->CountLive();
  } else {
    impl_->live += added;
  }
  impl_->published = impl_->hnsw->cur_element_count;
  impl_->dirty = true;
  if (failed) return Status::Internal("vector batch insert failed: " + error);
  return Status::OK();
}

void VectorIndex::Impl::Replace(const float* prepared, int64_t internal) {
  const auto id = static_cast<hnswlib::tableint>(internal);
  std::unique_lock<std::mutex> lock(
      hnsw->link_list_update_locks_[id & (hnswlib::HierarchicalNSW<float>::max_update_element_locks - 1)]);
  if (hnsw->isMarkedDeleted(id)) hnsw->unmarkDeletedInternal(id);
  hnsw->updatePoint(prepared, id, replace_repair_share.load(std::memory_order_relaxed));
}

void VectorIndex::SetReplaceRepairShare(float share) {
  impl_->replace_repair_share.store(std::isnan(share) ? kDefaultReplaceRepairShare : std::clamp(share, 0.0f, 1.0f),
                                    std::memory_order_relaxed);
}

Status VectorIndex::Remove(NodeId node) {
  Impl::WriteScope writing(*impl_, {&node, 1});
  if (impl_->flat) return FlatRemove(*impl_, node);
  auto lock = impl_->ReadLock();
  int64_t internal = impl_->InternalId(node);
  if (internal < 0 || impl_->hnsw->isMarkedDeleted(static_cast<uint32_t>(internal))) {
    return Status::OK();
  }
  try {
    impl_->hnsw->markDelete(node);
  } catch (const std::exception& e) {
    return Status::Internal(std::string("vector remove failed: ") + e.what());
  }
  impl_->live.fetch_sub(1);
  impl_->dirty = true;
  return Status::OK();
}

const float* VectorIndex::Impl::LiveData(NodeId node) const {
  if (flat) return flat->Find(node);
  int64_t internal = InternalId(node);
  if (internal < 0 || hnsw->isMarkedDeleted(static_cast<uint32_t>(internal))) return nullptr;
  return reinterpret_cast<const float*>(hnsw->getDataByInternalId(static_cast<uint32_t>(internal)));
}

namespace {

Status NoVector(NodeId node, const VectorSpaceDef& def) {
  return Status::NotFound("no vector for node " + std::to_string(node) + " in " + def.FullName());
}

}  // namespace

bool VectorIndex::Contains(NodeId node) const {
  auto lock = impl_->ReadLock();
  return impl_->LiveData(node) != nullptr;
}

Result<std::vector<float>> VectorIndex::Get(NodeId node) const {
  auto lock = impl_->ReadLock();
  const float* data = impl_->LiveData(node);
  if (data == nullptr) return NoVector(node, impl_->def);
  return std::vector<float>(data, data + impl_->def.dim);
}

bool VectorIndex::CopyTo(NodeId node, std::span<float> out) const {
  auto lock = impl_->ReadLock();
  const float* data = impl_->LiveData(node);
  if (data == nullptr || out.size() < impl_->def.dim) return false;
  std::copy(data, data + impl_->def.dim, out.begin());
  return true;
}

size_t VectorIndex::Size() const { return impl_->live.load(); }

float VectorIndex::Similarity(std::span<const float> a, std::span<const float> b) const {
  return MetricSimilarity(impl_->def.metric, a.data(), b.data(), std::min(a.size(), b.size()));
}

Result<float> VectorIndex::SimilarityTo(NodeId node, std::span<const float> q) const {
  auto lock = impl_->ReadLock();
  const float* data = impl_->LiveData(node);
  if (data == nullptr) return NoVector(node, impl_->def);
  return MetricSimilarity(impl_->def.metric, data, q.data(), std::min<size_t>(impl_->def.dim, q.size()));
}

void VectorIndex::Prefetch(std::span<const NodeId> nodes) const {
  if (nodes.empty()) return;
  auto lock = impl_->ReadLock();
  const size_t bytes = impl_->def.dim * sizeof(float);
  if (impl_->flat) {
    for (NodeId node : nodes) {
      if (const float* data = impl_->flat->Find(node)) PrefetchLines(data, bytes);
    }
    return;
  }
  auto& h = *impl_->hnsw;
  for (NodeId node : nodes) {
    int64_t internal = impl_->InternalId(node);
    if (internal < 0) continue;
    __builtin_prefetch(h.get_linklist0(static_cast<uint32_t>(internal)));  // its deleted mark
    PrefetchLines(h.getDataByInternalId(static_cast<uint32_t>(internal)), bytes);
  }
}

size_t VectorIndex::MemoryBytes() const {
  auto lock = impl_->ReadLock();
  if (impl_->flat) return impl_->flat->MemoryBytes();
  const auto& h = *impl_->hnsw;
  size_t bytes = h.max_elements_ * (h.size_data_per_element_ + sizeof(void*) + sizeof(int) +
                                    sizeof(std::mutex));
  for (size_t i = 0; i < h.cur_element_count; ++i) {
    if (h.element_levels_[i] > 0) bytes += h.size_links_per_element_ * h.element_levels_[i];
  }
  bytes += h.label_lookup_.size() * 32 + impl_->ids.MemoryBytes();
  return bytes;
}

namespace {

constexpr size_t kBudgetPerEf = 64;
constexpr size_t kMinBudget = 4096;
constexpr double kVisitVsScanCost = 8.0;
// The unfiltered-then-filter strategy runs when the caller expects at least this pass rate, with
// a beam of k / pass_rate * margin.
constexpr double kPostFilterMinPassRate = 0.5;
constexpr double kPostFilterMargin = 1.2;

using DistId = std::pair<float, uint32_t>;
using MaxHeap = std::priority_queue<DistId>;
using MinHeap = std::priority_queue<DistId, std::vector<DistId>, std::greater<DistId>>;

struct Attempt {
  MaxHeap top;  // eligible hits, worst on top
  size_t computations = 0;
  size_t eligible_seen = 0;  // nodes that passed the filter (estimates its selectivity)
  size_t filter_evaluations = 0;
  bool budget_hit = false;
  bool deadline_hit = false;
};

// Copies the neighbour list of internal id `id` at `level` into out (room for maxM0_ ids) and
// returns its length. hnswlib's insertions rewrite a list only while holding the element's
// link_list_locks_ entry, and an unlocked read could see a list half rewritten. Taking that lock
// for every list a search reads cost ~6% of a saturated server's CPU at 1M points (the locks'
// cache lines are one more miss per visited point), so while no write is in flight
// (impl.link_writes) the list is copied without it, and the copy is kept only if no write began
// meanwhile; otherwise, or under ThreadSanitizer (which does not model such sequence locks), the
// copy is taken under the lock, which is uncontended unless that element is being linked.
using Hnsw = hnswlib::HierarchicalNSW<float>;

#ifdef PATHWISE_TSAN  // set by CMakeLists.txt for PATHWISE_SANITIZE=thread
constexpr bool kLockFreeLinkReads = false;
#else
constexpr bool kLockFreeLinkReads = true;
#endif

int CopyLinksUnder(const Hnsw& h, uint32_t id, int level, uint32_t* out) {
  const unsigned int* data = level == 0 ? h.get_linklist0(id) : h.get_linklist(id, level);
  int size = std::min<int>(h.getListCount(const_cast<unsigned int*>(data)),
                           static_cast<int>(level == 0 ? h.maxM0_ : h.maxM_));
  std::memcpy(out, data + 1, static_cast<size_t>(size) * sizeof(uint32_t));
  return size;
}

int CopyLinks(const IndexImpl& impl, uint32_t id, int level, uint32_t* out) {
  const Hnsw& h = *impl.hnsw;
  if constexpr (kLockFreeLinkReads) {
    const uint64_t before = impl.link_writes.load(std::memory_order_acquire);
    if ((before & IndexImpl::kLinkWritesInFlightMask) == 0) {
      int size = CopyLinksUnder(h, id, level, out);
      std::atomic_thread_fence(std::memory_order_acquire);
      if (impl.link_writes.load(std::memory_order_relaxed) == before) return size;
    }
  }
  std::lock_guard<std::mutex> guard(const_cast<Hnsw&>(h).link_list_locks_[id]);
  return CopyLinksUnder(h, id, level, out);
}

// Greedy descent through layers maxlevel..1; returns the base-layer entry point.
uint32_t Descend(const IndexImpl& impl, const float* q, size_t* computations,
                 std::vector<uint32_t>* links) {
  const auto& h = *impl.hnsw;
  uint32_t cur;
  int top_level;
  {
    // An insertion that raises the top level holds `global` while it changes both.
    std::lock_guard<std::mutex> guard(const_cast<Hnsw&>(h).global);
    cur = h.enterpoint_node_;
    top_level = h.maxlevel_;
  }
  float cur_dist = Dist(impl, q, cur);
  ++*computations;
  for (int level = top_level; level > 0; --level) {
    bool changed = true;
    while (changed) {
      changed = false;
      int size = CopyLinks(impl, cur, level, links->data());
      for (int i = 0; i < size; ++i) {
        uint32_t cand = (*links)[i];
        if (cand >= impl.published.load(std::memory_order_relaxed)) continue;
        float d = Dist(impl, q, cand);
        ++*computations;
        if (d < cur_dist) {
          cur_dist = d;
          cur = cand;
          changed = true;
        }
      }
    }
  }
  return cur;
}

// Asks for the cache lines of point id's level-0 block from its header (neighbour count and
// deleted mark) to the end of its vector.
void PrefetchPoint(const Hnsw& h, uint32_t id) {
  PrefetchLines(h.data_level0_memory_ + static_cast<size_t>(id) * h.size_data_per_element_,
                h.offsetData_ + h.data_size_);
}

void BaseLayerSearch(const IndexImpl& impl, const float* q, size_t ef, size_t budget,
                     const std::function<bool(NodeId)>* filter, const Deadline& deadline,
                     Attempt* out) {
  auto& h = *impl.hnsw;
  const size_t published = impl.published.load(std::memory_order_acquire);
  if (published == 0) return;
  std::vector<uint32_t> links(std::max(h.maxM0_, h.maxM_));
  uint32_t entry = Descend(impl, q, &out->computations, &links);
  auto eligible = [&](uint32_t id) {
    if (h.isMarkedDeleted(id)) return false;
    if (filter == nullptr) return true;
    ++out->filter_evaluations;
    return (*filter)(static_cast<NodeId>(h.getExternalLabel(id)));
  };

  hnswlib::VisitedList* vl = h.visited_list_pool_->getFreeVisitedList();
  hnswlib::vl_type* visited = vl->mass;
  hnswlib::vl_type tag = vl->curV;

  MinHeap candidates;
  float lower_bound = std::numeric_limits<float>::max();
  float d0 = Dist(impl, q, entry);
  ++out->computations;
  candidates.emplace(d0, entry);
  visited[entry] = tag;
  if (eligible(entry)) {
    ++out->eligible_seen;
    out->top.emplace(d0, entry);
    lower_bound = d0;
  }
  size_t expansions = 0;
  while (!candidates.empty()) {
    auto [dist, id] = candidates.top();
    if (dist > lower_bound && out->top.size() >= ef) break;
    if (out->computations >= budget) {
      out->budget_hit = true;
      break;
    }
    if ((++expansions & 63) == 0 && deadline.Expired()) {
      out->deadline_hit = true;
      break;
    }
    candidates.pop();
    int size = CopyLinks(impl, id, 0, links.data());
    // The points not yet visited first, each one's block (deleted mark, vector) requested from
    // memory at once, so that its misses overlap the distances computed before it.
    for (int i = 0; i < size; ++i) __builtin_prefetch(visited + links[i]);
    int fresh = 0;
    for (int i = 0; i < size; ++i) {
      uint32_t nb = links[i];
      if (nb >= published || visited[nb] == tag) continue;
      visited[nb] = tag;
      links[fresh++] = nb;
      PrefetchPoint(h, nb);
    }
    for (int i = 0; i < fresh; ++i) {
      uint32_t nb = links[i];
      float d = Dist(impl, q, nb);
      ++out->computations;
      if (out->top.size() < ef || d < lower_bound) {
        candidates.emplace(d, nb);
        if (eligible(nb)) {
          ++out->eligible_seen;
          out->top.emplace(d, nb);
          if (out->top.size() > ef) out->top.pop();
          lower_bound = out->top.top().first;
        }
      }
    }
  }
  h.visited_list_pool_->releaseVisitedList(vl);
}

void FillHits(const IndexImpl& impl, MaxHeap* top, size_t k, SearchResult* out) {
  while (top->size() > k) top->pop();
  out->hits.resize(top->size());
  for (size_t i = top->size(); i-- > 0;) {
    auto [dist, id] = top->top();
    top->pop();
    out->hits[i] = {static_cast<NodeId>(impl.hnsw->getExternalLabel(id)), dist,
                    SimilarityFromDistance(impl.def.metric, dist)};
  }
}

}  // namespace

Result<SearchResult> VectorIndex::Search(std::span<const float> query,
                                         const SearchOptions& options) const {
  if (impl_->flat) return FlatSearch(*impl_, query, options);
  std::vector<float> q(impl_->def.dim);
  PW_RETURN_IF_ERROR(impl_->Prepare(query, q.data()));
  SearchResult result;
  if (options.k == 0) return result;
  size_t ef = std::max(options.ef == 0 ? impl_->def.ef_search : options.ef, options.k);
  ef = std::min<size_t>(ef, size_t{1} << 30);  // keeps the budget arithmetic far from overflow
  try {
    if (options.filter != nullptr && options.expected_pass_rate >= kPostFilterMinPassRate) {
      // Unfiltered beam of about k / pass_rate (plus a margin), then the filter in distance order.
      size_t wide = static_cast<size_t>(
          std::ceil(static_cast<double>(options.k) / std::min(options.expected_pass_rate, 1.0) *
                    kPostFilterMargin)) + 8;
      wide = std::min<size_t>(std::max(wide, ef), size_t{1} << 30);
      Attempt attempt;
      {
        auto lock = impl_->ReadLock();
        BaseLayerSearch(*impl_, q.data(), wide, std::numeric_limits<size_t>::max(), nullptr,
                        options.deadline, &attempt);
        if (attempt.deadline_hit) return Status::DeadlineExceeded("vector search deadline passed");
        result.distance_computations += attempt.computations;
        // The beam's hits closest first, with their node ids.
        std::vector<std::pair<float, uint32_t>> ordered(attempt.top.size());
        std::vector<NodeId> nodes(ordered.size());
        for (size_t i = ordered.size(); i-- > 0; attempt.top.pop()) {
          ordered[i] = attempt.top.top();
          nodes[i] = static_cast<NodeId>(impl_->hnsw->getExternalLabel(ordered[i].second));
        }
        if (options.prefetch != nullptr) (*options.prefetch)(nodes);
        MaxHeap kept;
        for (size_t i = 0; i < ordered.size() && kept.size() < options.k; ++i) {
          ++result.filter_evaluations;
          if ((*options.filter)(nodes[i])) {
            ++result.filter_passes;
            kept.push(ordered[i]);
          }
        }
        if (kept.size() >= options.k) {
          result.post_filtered = true;
          FillHits(*impl_, &kept, options.k, &result);
          return result;
        }
      }
    }
    for (;;) {
      size_t budget = std::max(ef * kBudgetPerEf, kMinBudget);
      Attempt attempt;
      size_t points;
      {
        auto lock = impl_->ReadLock();
        points = impl_->published.load();
        BaseLayerSearch(*impl_, q.data(), ef, budget, options.filter, options.deadline, &attempt);
        result.distance_computations += attempt.computations;
        result.filter_evaluations += attempt.filter_evaluations;
        result.filter_passes += attempt.eligible_seen;
        if (attempt.deadline_hit) return Status::DeadlineExceeded("vector search deadline passed");
        if (attempt.top.size() >= options.k) {
          FillHits(*impl_, &attempt.top, options.k, &result);
          return result;
        }
      }
      // Too few eligible hits: widen while that is still cheaper than an exact scan. The beam
      // fills after about ef / selectivity visits; a graph visit (distance + heap) costs about
      // kVisitVsScanCost filter checks of the scan, which computes distances only for eligible
      // points.
      double selectivity = (attempt.eligible_seen + 1.0) / (attempt.computations + 1.0);
      double needed_visits = static_cast<double>(ef * 4) / selectivity;
      if (attempt.budget_hit && budget * 4 < points &&
          needed_visits * kVisitVsScanCost < static_cast<double>(points)) {
        ef *= 4;
        continue;
      }
      size_t spent = result.distance_computations;
      PW_ASSIGN_OR_RETURN(SearchResult exact, SearchExact(query, options));
      exact.distance_computations += spent;
      return exact;
    }
  } catch (const std::exception& e) {
    return Status::Internal(std::string("vector search failed: ") + e.what());
  }
}

Result<SearchResult> VectorIndex::SearchRaw(std::span<const float> query, size_t k,
                                            size_t ef) const {
  if (impl_->flat) {
    SearchOptions options;
    options.k = k;
    return FlatSearch(*impl_, query, options);
  }
  std::vector<float> q(impl_->def.dim);
  PW_RETURN_IF_ERROR(impl_->Prepare(query, q.data()));
  SearchResult result;
  if (k == 0) return result;
  try {
    auto lock = impl_->ReadLock();
    auto& h = *impl_->hnsw;
    if (impl_->published.load() == 0) return result;
    // hnswlib's searchKnn reads the shared ef_ member; call its own layers with an explicit ef
    // instead so concurrent raw searches with different ef do not race.
    size_t computations = 0;
    std::vector<uint32_t> links(std::max(h.maxM0_, h.maxM_));
    uint32_t entry = Descend(*impl_, q.data(), &computations, &links);
    auto top = h.num_deleted_
                   ? h.searchBaseLayerST<true, false>(entry, q.data(), std::max(ef, k))
                   : h.searchBaseLayerST<false, false>(entry, q.data(), std::max(ef, k));
    MaxHeap heap;
    while (!top.empty()) {
      heap.push(top.top());
      top.pop();
    }
    FillHits(*impl_, &heap, k, &result);
    result.distance_computations = computations;
  } catch (const std::exception& e) {
    return Status::Internal(std::string("vector search failed: ") + e.what());
  }
  return result;
}

Result<SearchResult> VectorIndex::SearchExact(std::span<const float> query,
                                              const SearchOptions& options) const {
  if (impl_->flat) {
    SearchOptions scan = options;
    scan.expected_pass_rate = -1;  // the filtered scan itself
    return FlatSearch(*impl_, query, scan);
  }
  std::vector<float> q(impl_->def.dim);
  PW_RETURN_IF_ERROR(impl_->Prepare(query, q.data()));
  SearchResult result;
  result.exhaustive = true;
  if (options.k == 0) return result;
  auto lock = impl_->ReadLock();
  const auto& h = *impl_->hnsw;
  MaxHeap top;
  size_t n = impl_->published.load(std::memory_order_acquire);
  for (size_t i = 0; i < n; ++i) {
    if ((i & 1023) == 1023 && options.deadline.Expired()) {
      return Status::DeadlineExceeded("exact vector search deadline passed");
    }
    uint32_t id = static_cast<uint32_t>(i);
    if (h.isMarkedDeleted(id)) continue;
    if (options.filter != nullptr && !(*options.filter)(static_cast<NodeId>(h.getExternalLabel(id)))) {
      continue;
    }
    float d = Dist(*impl_, q.data(), id);
    ++result.distance_computations;
    if (top.size() < options.k) {
      top.emplace(d, id);
    } else if (d < top.top().first) {
      top.pop();
      top.emplace(d, id);
    }
  }
  FillHits(*impl_, &top, options.k, &result);
  return result;
}

struct RawHnswFloor::Impl {
  IndexImpl prepare;  // def and Prepare() only
  std::unique_ptr<hnswlib::SpaceInterface<float>> space;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> hnsw;
  double seconds = 0;
};

RawHnswFloor::RawHnswFloor() : impl_(std::make_unique<Impl>()) {}
RawHnswFloor::~RawHnswFloor() = default;
double RawHnswFloor::build_seconds() const { return impl_->seconds; }

Result<std::unique_ptr<RawHnswFloor>> RawHnswFloor::Build(const VectorSpaceDef& def,
                                                          std::span<const float> rows,
                                                          int threads) {
  PW_RETURN_IF_ERROR(CheckDef(def));
  const size_t dim = def.dim;
  if (rows.size() % dim != 0) {
    return Status::InvalidArgument(std::to_string(rows.size()) + " values are not rows of dim " +
                                   std::to_string(dim));
  }
  const size_t n = rows.size() / dim;
  std::unique_ptr<RawHnswFloor> floor(new RawHnswFloor());
  Impl& impl = *floor->impl_;
  impl.prepare.def = def;
  std::vector<float> prepared(rows.size());
  for (size_t i = 0; i < n; ++i) {
    PW_RETURN_IF_ERROR(impl.prepare.Prepare(rows.subspan(i * dim, dim), prepared.data() + i * dim));
  }
  try {
    impl.space = MakeSpace(def);
    impl.hnsw = std::make_unique<hnswlib::HierarchicalNSW<float>>(impl.space.get(),
                                                                  std::max<size_t>(n, 1), def.m,
                                                                  def.ef_construction);
  } catch (const std::exception& e) {
    return Status::ResourceExhausted(std::string("cannot create the raw index: ") + e.what());
  }
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  auto work = [&] {
    try {
      for (size_t i = next++; i < n && !failed; i = next++) {
        impl.hnsw->addPoint(prepared.data() + i * dim, i);
      }
    } catch (const std::exception&) {
      failed = true;
    }
  };
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 1; t < std::clamp(threads, 1, 64); ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  if (failed) return Status::ResourceExhausted("the raw index's build failed");
  impl.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return floor;
}

std::vector<size_t> RawHnswFloor::Search(std::span<const float> query, size_t k, size_t ef) {
  std::vector<float> q(impl_->prepare.def.dim);
  std::vector<size_t> out;
  if (!impl_->prepare.Prepare(query, q.data()).ok() || impl_->hnsw->cur_element_count == 0) {
    return out;
  }
  impl_->hnsw->setEf(ef);
  auto top = impl_->hnsw->searchKnn(q.data(), k);
  out.resize(top.size());
  for (size_t i = top.size(); i-- > 0; top.pop()) out[i] = top.top().second;
  return out;
}

}  // namespace pathwise::vector
