// Flat vector spaces (VectorSpaceDef::index == kFlat): the vectors in one contiguous array, no
// graph. Writes are O(dim) under the index's write side; every search is an exact scan under its
// read side (index_impl.h, FlatRows). No hnswlib here: distances come from vector/metric.h.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <new>
#include <queue>

#include "vector/index_impl.h"
#include "vector/metric.h"

namespace pathwise::vector {

// Row numbers are 32-bit, as hnswlib's internal ids are.
constexpr size_t kMaxFlatRows = size_t{0xffffffff} - 1;

const float* FlatRows::Find(NodeId node) const {
  auto it = row_of.find(node);
  return it == row_of.end() ? nullptr : values.data() + size_t{it->second} * dim;
}

bool FlatRows::Put(NodeId node, const float* prepared) {
  if (auto it = row_of.find(node); it != row_of.end()) {
    std::copy(prepared, prepared + dim, values.begin() + size_t{it->second} * dim);
    return false;
  }
  if (nodes.size() >= kMaxFlatRows) throw std::bad_alloc();
  const auto row = static_cast<uint32_t>(nodes.size());
  row_of.emplace(node, row);  // if this throws, nothing has changed
  try {
    values.insert(values.end(), prepared, prepared + dim);
    nodes.push_back(node);
  } catch (...) {
    values.resize(size_t{row} * dim);
    row_of.erase(node);
    throw;
  }
  return true;
}

bool FlatRows::Erase(NodeId node) {
  auto it = row_of.find(node);
  if (it == row_of.end()) return false;
  const uint32_t row = it->second;
  row_of.erase(it);
  const auto last = static_cast<uint32_t>(nodes.size() - 1);
  if (row != last) {
    std::copy_n(values.begin() + size_t{last} * dim, dim, values.begin() + size_t{row} * dim);
    nodes[row] = nodes[last];
    row_of.find(nodes[row])->second = row;
  }
  nodes.pop_back();
  values.resize(size_t{last} * dim);
  return true;
}

size_t FlatRows::MemoryBytes() const {
  return values.capacity() * sizeof(float) + nodes.capacity() * sizeof(NodeId) +
         row_of.bucket_count() * sizeof(void*) + row_of.size() * 32;
}

namespace {

Status OutOfMemory(const IndexImpl& impl) {
  return Status::ResourceExhausted("no memory for another vector in " + impl.def.FullName());
}

}  // namespace

Status FlatUpsert(IndexImpl& impl, NodeId node, std::span<const float> values) {
  std::vector<float> prepared(impl.def.dim);
  PW_RETURN_IF_ERROR(impl.Prepare(values, prepared.data()));
  std::unique_lock<std::shared_mutex> lock;
  PW_RETURN_IF_ERROR(impl.LockExclusive(&lock, "write to"));
  try {
    if (impl.flat->Put(node, prepared.data())) impl.live.fetch_add(1);
  } catch (const std::bad_alloc&) {
    return OutOfMemory(impl);
  }
  impl.dirty = true;
  return Status::OK();
}

Status FlatUpsertBatch(IndexImpl& impl, std::span<const NodeId> nodes,
                       std::span<const float> values) {
  const size_t dim = impl.def.dim;
  if (values.size() != nodes.size() * dim) {
    return Status::InvalidArgument("batch has " + std::to_string(values.size()) +
                                   " values for " + std::to_string(nodes.size()) +
                                   " vectors of dim " + std::to_string(dim));
  }
  std::vector<float> prepared(values.size());  // all validated before anything is written
  for (size_t i = 0; i < nodes.size(); ++i) {
    PW_RETURN_IF_ERROR(impl.Prepare(values.subspan(i * dim, dim), prepared.data() + i * dim));
  }
  std::unique_lock<std::shared_mutex> lock;
  PW_RETURN_IF_ERROR(impl.LockExclusive(&lock, "write to"));
  impl.dirty = true;
  try {
    // In order, so the last occurrence of a node wins.
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (impl.flat->Put(nodes[i], prepared.data() + i * dim)) impl.live.fetch_add(1);
    }
  } catch (const std::bad_alloc&) {
    return OutOfMemory(impl);
  }
  return Status::OK();
}

Status FlatRemove(IndexImpl& impl, NodeId node) {
  std::unique_lock<std::shared_mutex> lock;
  PW_RETURN_IF_ERROR(impl.LockExclusive(&lock, "remove from"));
  if (!impl.flat->Erase(node)) return Status::OK();
  impl.live.fetch_sub(1);
  impl.dirty = true;
  return Status::OK();
}

namespace {

// (distance, node): ordered by distance, ties by node id, so results do not depend on the
// order of the rows (which removals change).
using DistNode = std::pair<float, NodeId>;
using TopHeap = std::priority_queue<DistNode>;  // the worst kept pair on top

struct ScanRequest {
  const float* query;
  size_t k;
  const std::function<bool(NodeId)>* filter;  // null: every row is eligible
  const Deadline* deadline;
};

// The k closest eligible rows of `rows` into *top; counts into *result.
template <Metric kMetric>
Status ScanRows(const FlatRows& rows, const ScanRequest& request, TopHeap* top,
                SearchResult* result) {
  const size_t dim = rows.dim;
  for (size_t row = 0; row < rows.Rows(); ++row) {
    if ((row & 1023) == 1023 && request.deadline->Expired()) {
      return Status::DeadlineExceeded("flat vector search deadline passed");
    }
    const NodeId node = rows.nodes[row];
    if (request.filter != nullptr) {
      ++result->filter_evaluations;
      if (!(*request.filter)(node)) continue;
      ++result->filter_passes;
    }
    const DistNode hit{DistanceIn<kMetric>(rows.values.data() + row * dim, request.query, dim),
                       node};
    ++result->distance_computations;
    if (top->size() < request.k) {
      top->push(hit);
    } else if (hit < top->top()) {
      top->pop();
      top->push(hit);
    }
  }
  return Status::OK();
}

Status Scan(const IndexImpl& impl, const ScanRequest& request, TopHeap* top,
            SearchResult* result) {
  switch (impl.def.metric) {
    case Metric::kCosine: return ScanRows<Metric::kCosine>(*impl.flat, request, top, result);
    case Metric::kInnerProduct:
      return ScanRows<Metric::kInnerProduct>(*impl.flat, request, top, result);
    case Metric::kL2: return ScanRows<Metric::kL2>(*impl.flat, request, top, result);
  }
  return Status::Internal("unknown metric");
}

// The heap's pairs, closest first.
std::vector<DistNode> Drain(TopHeap* top) {
  std::vector<DistNode> out(top->size());
  for (size_t i = out.size(); i-- > 0; top->pop()) out[i] = top->top();
  return out;
}

void AddHit(const IndexImpl& impl, const DistNode& pair, SearchResult* out) {
  out->hits.push_back({pair.second, pair.first, SimilarityFromDistance(impl.def.metric, pair.first)});
}

// The expected_pass_rate strategy (SearchOptions): the closest k / pass_rate (with a margin)
// rows unfiltered, then the filter in distance order. True when that found k eligible hits.
// REQUIRES: the read side held, options.filter set.
Result<bool> PostFilter(const IndexImpl& impl, const float* q, const SearchOptions& options,
                        SearchResult* result) {
  constexpr double kMargin = 1.2;
  const double wide = std::ceil(static_cast<double>(options.k) /
                                std::min(options.expected_pass_rate, 1.0) * kMargin) + 8;
  TopHeap top;
  SearchResult scan;
  const size_t beam = static_cast<size_t>(std::min(wide, static_cast<double>(impl.flat->Rows())));
  PW_RETURN_IF_ERROR(Scan(impl, {q, beam, nullptr, &options.deadline}, &top, &scan));
  result->distance_computations += scan.distance_computations;
  const std::vector<DistNode> ordered = Drain(&top);
  std::vector<NodeId> nodes(ordered.size());
  for (size_t i = 0; i < ordered.size(); ++i) nodes[i] = ordered[i].second;
  if (options.prefetch != nullptr) (*options.prefetch)(nodes);
  std::vector<DistNode> kept;
  for (size_t i = 0; i < ordered.size() && kept.size() < options.k; ++i) {
    ++result->filter_evaluations;
    if (!(*options.filter)(nodes[i])) continue;
    ++result->filter_passes;
    kept.push_back(ordered[i]);
  }
  if (kept.size() < options.k) return false;
  for (const DistNode& pair : kept) AddHit(impl, pair, result);
  result->post_filtered = true;
  return true;
}

// The post-filter strategy applies when the caller expects most rows to pass.
constexpr double kPostFilterMinPassRate = 0.5;

}  // namespace

Result<SearchResult> FlatSearch(const IndexImpl& impl, std::span<const float> query,
                                const SearchOptions& options) {
  std::vector<float> q(impl.def.dim);
  PW_RETURN_IF_ERROR(impl.Prepare(query, q.data()));
  SearchResult result;
  if (options.k == 0) return result;
  auto lock = impl.ReadLock();
  if (options.filter != nullptr && options.expected_pass_rate >= kPostFilterMinPassRate) {
    PW_ASSIGN_OR_RETURN(bool answered, PostFilter(impl, q.data(), options, &result));
    if (answered) return result;
  }
  TopHeap top;
  PW_RETURN_IF_ERROR(Scan(impl, {q.data(), options.k, options.filter, &options.deadline}, &top,
                          &result));
  for (const DistNode& pair : Drain(&top)) AddHit(impl, pair, &result);
  result.exhaustive = true;
  return result;
}

}  // namespace pathwise::vector
