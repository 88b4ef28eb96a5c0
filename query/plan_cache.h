// Internal to query/: an LRU cache of bound plans keyed by (query text, schema version).
// Plans are immutable and shared: an evicted plan stays alive while executions still use it.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "query/plan.h"

namespace pathwise::query {

class PlanCache {
 public:
  // capacity 0 disables caching.
  explicit PlanCache(size_t capacity) : capacity_(capacity) {}

  // The cached plan for (text, schema_version), or null; a hit becomes most recently used.
  std::shared_ptr<const Plan> Get(std::string_view text, uint64_t schema_version);
  // Inserts (or replaces) a plan, evicting the least recently used beyond capacity.
  void Put(std::string_view text, uint64_t schema_version, std::shared_ptr<const Plan> plan);
  size_t size() const;

 private:
  static std::string Key(std::string_view text, uint64_t schema_version);
  struct Entry {
    std::string key;
    std::shared_ptr<const Plan> plan;
  };
  const size_t capacity_;
  mutable std::mutex mu_;
  std::list<Entry> lru_;  // front: most recently used
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

}  // namespace pathwise::query
