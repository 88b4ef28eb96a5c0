// Internal to decide/: the recent impressions of each (surface, user), for frequency caps
// (docs/decisions.md, "Frequency caps"). An in-memory index of logged decisions: filled from the
// impression log when a surface with caps is first loaded (so caps hold across restarts) and
// then by every decision of that surface. Bounded: at most max_decisions decisions are held;
// beyond it the least recently served users are forgotten (their caps then count only what is
// served later).
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "storage/mutex.h"

namespace pathwise::decide {

class FrequencyIndex {
 public:
  explicit FrequencyIndex(size_t max_decisions) : max_decisions_(max_decisions) {}

  // Starts (or keeps) tracking surface, keeping each user's decisions for horizon_ms (its
  // longest cap window). Returns the earliest serving time from which the index holds every
  // logged decision of surface (nullopt: not loaded yet; see SetCoveredSince).
  std::optional<int64_t> Track(const std::string& surface, int64_t horizon_ms);
  // Marks surface as holding every logged decision served from ms on (after a load from the
  // log).
  void SetCoveredSince(const std::string& surface, int64_t ms);
  // Stops tracking surface and forgets its decisions (deleted, or its caps removed).
  void Forget(const std::string& surface);

  // Adds a decision of a tracked surface to user (its recommendation_id, serving time and item
  // ids); nothing for a surface not tracked. Adding the same recommendation_id again changes
  // nothing, so a load from the log may overlap decisions recorded live. The user's decisions
  // older than served_ms - the surface's horizon are dropped.
  void Record(const std::string& surface, const std::string& user, const std::string& id,
              int64_t served_ms, std::vector<std::string> items);

  // item -> serving times (ms) of its impressions to user on surface at or after since_ms.
  std::unordered_map<std::string, std::vector<int64_t>> Since(const std::string& surface,
                                                               const std::string& user,
                                                               int64_t since_ms) const;

  size_t decisions() const;
  uint64_t evicted_users() const;

 private:
  using Key = std::string;  // surface + '\0' + user
  struct Decision {
    int64_t served_ms = 0;
    std::vector<std::string> items;
  };
  struct Entry {
    std::map<std::string, Decision> decisions;  // by recommendation_id (time order)
    std::list<Key>::iterator lru;
  };
  void DropBefore(Entry* entry, int64_t ms) PW_REQUIRES(mu_);
  void EraseEntry(std::unordered_map<Key, Entry>::iterator it) PW_REQUIRES(mu_);

  const size_t max_decisions_;
  mutable Mutex mu_;
  std::list<Key> lru_ PW_GUARDED_BY(mu_);  // most recently served first
  std::unordered_map<Key, Entry> entries_ PW_GUARDED_BY(mu_);
  struct Tracked {
    int64_t horizon_ms = 0;
    std::optional<int64_t> covered_since;
  };
  std::map<std::string, Tracked> tracked_ PW_GUARDED_BY(mu_);
  size_t decisions_ PW_GUARDED_BY(mu_) = 0;
  uint64_t evicted_users_ PW_GUARDED_BY(mu_) = 0;
};

}  // namespace pathwise::decide
