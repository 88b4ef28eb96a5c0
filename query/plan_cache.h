// Internal to query/: an LRU cache of bound plans keyed by (query text, schema version), bounded
// by an entry count and by approximate bytes (the key's text plus Plan::approx_bytes).
// Plans are immutable and shared: an evicted plan stays alive while executions still use it.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "query/plan.h"
#include "storage/mutex.h"

namespace pathwise::query {

class PlanCache {
 public:
  // max_entries 0 or max_bytes 0 disables caching.
  PlanCache(size_t max_entries, size_t max_bytes) : max_entries_(max_entries), max_bytes_(max_bytes) {}

  // The cached plan for (text, schema_version), or null; a hit becomes most recently used.
  std::shared_ptr<const Plan> Get(std::string_view text, uint64_t schema_version);
  // Inserts (or replaces) a plan, then evicts least recently used plans until both the entry
  // count and the bytes are within bounds. A plan larger than the whole byte budget is not kept.
  void Put(std::string_view text, uint64_t schema_version, std::shared_ptr<const Plan> plan);
  size_t size() const;
  size_t bytes() const;

  // Approximate bytes an entry holds: key, plan, list and index nodes.
  static size_t EntryBytes(size_t key_bytes, const Plan& plan);

 private:
  static std::string Key(std::string_view text, uint64_t schema_version);
  struct Entry {
    std::string key;
    std::shared_ptr<const Plan> plan;
    size_t bytes = 0;
  };
  void EvictLocked() PW_REQUIRES(mu_);

  const size_t max_entries_;
  const size_t max_bytes_;
  mutable Mutex mu_;
  size_t bytes_ PW_GUARDED_BY(mu_) = 0;
  std::list<Entry> lru_ PW_GUARDED_BY(mu_);  // front: most recently used
  // Views into Entry::key.
  std::unordered_map<std::string_view, std::list<Entry>::iterator> index_ PW_GUARDED_BY(mu_);
};

}  // namespace pathwise::query
