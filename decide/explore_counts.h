// Internal to decide/: the posterior counts of exploration (docs/feedback-loop.md,
// "Exploration"): per (surface, context bucket, item), the logged impressions and the attributed
// clicks. In memory, updated when a decision of an exploring surface is logged and when a click
// is attributed to one; filled from the impression log when the decider first loads the surface.
// Bounded: at most max_keys (surface, bucket, item) counts; beyond it the least recently used
// are forgotten (such an item then counts as new again).
#pragma once

#include <cstdint>
#include <list>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "decide/explore.h"
#include "storage/mutex.h"

namespace pathwise::decide {

class ExploreCounts {
 public:
  explicit ExploreCounts(size_t max_keys) : max_keys_(max_keys) {}

  // The counts of items in (surface, bucket), in their order (zeros for an item not held).
  std::vector<Arm> Get(const std::string& surface, const std::string& bucket,
                       const std::vector<std::string>& items);
  // One impression for each item (repeats count again).
  void AddImpressions(const std::string& surface, const std::string& bucket,
                      const std::vector<std::string>& items);
  void AddClick(const std::string& surface, const std::string& bucket, const std::string& item);

  // True the first time it is called for surface (the caller then loads it from the log).
  bool StartLoad(const std::string& surface);
  void Forget(const std::string& surface);  // its counts, and that it was loaded

  size_t keys() const;
  uint64_t evicted() const;

 private:
  using Key = std::string;  // surface + '\0' + bucket + '\0' + item
  struct Entry {
    Arm arm;
    std::list<Key>::iterator lru;
  };
  Entry* Touch(const Key& key, bool create) PW_REQUIRES(mu_);

  const size_t max_keys_;
  mutable Mutex mu_;
  std::list<Key> lru_ PW_GUARDED_BY(mu_);  // most recently used first
  std::unordered_map<Key, Entry> entries_ PW_GUARDED_BY(mu_);
  std::set<std::string> loaded_ PW_GUARDED_BY(mu_);
  uint64_t evicted_ PW_GUARDED_BY(mu_) = 0;
};

}  // namespace pathwise::decide
