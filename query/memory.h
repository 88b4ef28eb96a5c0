// Internal to query/: approximate memory accounting of query executions.
//
// Operators charge what their structures grow by (binding tables, result rows, candidate arrays,
// recorded paths, aggregate groups, DISTINCT sets) to the execution's QueryMemory, which enforces
// the per-query budget (Limits::max_query_memory_bytes) and reserves from the Engine's shared
// MemoryPool (EngineOptions::max_total_query_memory_bytes) in chunks, so the sum over running
// queries stays bounded. Everything an execution reserved returns to the pool when it ends.
// The figures are approximations (element sizes times counts, string payloads), not allocator
// measurements; they bound growth, they do not meter it exactly.
#pragma once

#include <atomic>
#include <cstddef>
#include <string>

#include "storage/mutex.h"
#include "storage/status.h"

namespace pathwise::query {

// Bytes reserved by all running executions of one Engine.
class MemoryPool {
 public:
  explicit MemoryPool(size_t limit) : limit_(limit) {}
  // Reserves bytes unless that would pass the limit (0: unbounded).
  bool TryReserve(size_t bytes) {
    size_t before = used_.fetch_add(bytes, std::memory_order_relaxed);
    if (limit_ != 0 && before + bytes > limit_) {
      used_.fetch_sub(bytes, std::memory_order_relaxed);
      return false;
    }
    return true;
  }
  void Release(size_t bytes) { used_.fetch_sub(bytes, std::memory_order_relaxed); }
  size_t used() const { return used_.load(std::memory_order_relaxed); }
  size_t limit() const { return limit_; }

 private:
  const size_t limit_;
  std::atomic<size_t> used_{0};
};

// One execution's account. Safe to charge and credit from several threads at once (a RECOMMEND
// query's sources may run in parallel: docs/query-execution.md, "Sources in parallel").
class QueryMemory {
 public:
  // Reservations from the pool are made in chunks of this many bytes.
  static constexpr size_t kChunk = size_t{1} << 20;

  QueryMemory(size_t limit, MemoryPool* pool) : limit_(limit), pool_(pool) {}
  ~QueryMemory() {
    if (pool_ != nullptr) pool_->Release(reserved_.load(std::memory_order_relaxed));
  }
  QueryMemory(const QueryMemory&) = delete;
  QueryMemory& operator=(const QueryMemory&) = delete;

  // Records bytes more held. ResourceExhausted naming the budget when this execution would pass
  // its own budget or all executions together would pass the pool's (nothing recorded then).
  Status Charge(size_t bytes) {
    size_t used = used_.fetch_add(bytes, std::memory_order_relaxed) + bytes;
    if (limit_ != 0 && used > limit_) {
      used_.fetch_sub(bytes, std::memory_order_relaxed);
      return Status::ResourceExhausted(
          "query memory budget exceeded: the query needs more than the limit "
          "max_query_memory_bytes (" + Human(limit_) + ")");
    }
    if (pool_ != nullptr && used > reserved_.load(std::memory_order_relaxed) && !Reserve(used)) {
      used_.fetch_sub(bytes, std::memory_order_relaxed);
      return Status::ResourceExhausted(
          "memory budget of all running queries exceeded: together they would need more than "
          "the limit max_total_query_memory_bytes (" + Human(pool_->limit()) +
          "); retry later or lower the query's fan-out");
    }
    return Status::OK();
  }
  // Records bytes no longer held (their reservation stays until the execution ends).
  void Credit(size_t bytes) {
    size_t used = used_.load(std::memory_order_relaxed);
    while (!used_.compare_exchange_weak(used, bytes > used ? 0 : used - bytes,
                                        std::memory_order_relaxed)) {
    }
  }
  size_t used() const { return used_.load(std::memory_order_relaxed); }
  size_t peak_reserved() const { return reserved_.load(std::memory_order_relaxed); }

 private:
  static std::string Human(size_t bytes) {
    if (bytes % (size_t{1} << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
    return std::to_string(bytes) + " bytes";
  }
  // Reserves chunks from the pool until `used` bytes are covered; false when the pool refuses.
  bool Reserve(size_t used) PW_EXCLUDES(reserve_mu_) {
    MutexLock lock(&reserve_mu_);
    size_t reserved = reserved_.load(std::memory_order_relaxed);
    if (used <= reserved) return true;  // another thread reserved enough meanwhile
    size_t more = (used - reserved + kChunk - 1) / kChunk * kChunk;
    if (!pool_->TryReserve(more)) return false;
    reserved_.store(reserved + more, std::memory_order_relaxed);
    return true;
  }

  const size_t limit_;
  MemoryPool* const pool_;
  std::atomic<size_t> used_{0};
  std::atomic<size_t> reserved_{0};  // written under reserve_mu_
  Mutex reserve_mu_;
};

}  // namespace pathwise::query
