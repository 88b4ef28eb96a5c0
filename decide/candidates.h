// Internal to decide/: the candidate cache, per (surface, recipe, user), of what a recipe's
// retrieval found (query::CandidateSet, the Graph -> Score seam of query/query.h). Scores, the
// candidate filters and the surface's rules are never cached: every decision runs them on the
// set. docs/decisions.md, "Caches".
//
// An entry is fresh for the surface's TTL; an older one is still served (stale) while one
// refresh recomputes it. Identical misses arriving while a computation runs wait for it
// (coalesced) instead of computing again. The user's own writes erase their entries
// (InvalidateUser), and a computation that started before an invalidation is not stored, so the
// next decision after an event runs retrieval on the graph that holds it. At most max_entries
// entries and about max_bytes of sets (query::CandidateSetBytes) are kept; the least recently
// used entry is evicted first.
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <string>

#include "query/query.h"
#include "storage/mutex.h"

namespace pathwise::decide {

class CandidateCache {
 public:
  using Clock = std::chrono::steady_clock;
  using Set = std::shared_ptr<const query::CandidateSet>;

  CandidateCache(size_t max_entries, size_t max_bytes)
      : max_entries_(max_entries), max_bytes_(max_bytes) {}

  struct Lookup {
    enum class Kind { kHit, kStale, kMiss, kCoalesced };
    Kind kind = Kind::kMiss;
    // kHit, kStale: the set to reuse. kCoalesced: the computation's set, null when it failed,
    // was invalidated or did not finish by `until`.
    Set set;
    // Non-zero: the caller computes the set and hands it to Store with this token (kMiss: for
    // its own decision; kStale: the one refresh, in the background).
    uint64_t token = 0;
  };
  // key: the surface (and variant) and recipe; user: whose entry (InvalidateUser's unit).
  Lookup Get(const std::string& user, const std::string& key, int64_t ttl_ms,
             Clock::time_point until);
  // Ends the computation of `token`: set becomes the entry's (fresh from now). A null set is a
  // failed computation (a stale entry is kept). Dropped when the entry was invalidated or
  // evicted since Get.
  void Store(const std::string& user, const std::string& key, uint64_t token, Set set);
  // Replaces the entry's set when it is still `old` (a run that did not fit the cached set
  // retrieved a new one for the same key).
  void Replace(const std::string& user, const std::string& key, const Set& old, Set set);

  void InvalidateUser(const std::string& user);
  void InvalidateAll();
  // Forgets the entries whose key starts with prefix (a surface stored or deleted).
  void ForgetKeys(const std::string& prefix);

  struct Counts {
    uint64_t hits = 0, stale = 0, misses = 0, coalesced = 0, computations = 0, failures = 0,
             mismatches = 0, invalidations = 0, evictions = 0;
    size_t entries = 0, bytes = 0;
  };
  Counts counts() const;
  void CountMismatch();

 private:
  using Key = std::string;  // user + '\0' + key: a user's entries are contiguous
  struct Entry {
    Set set;
    size_t bytes = 0;  // the set's
    Clock::time_point computed_at;
    uint64_t token = 0;  // of the running computation; 0: none
    std::list<Key>::iterator lru;
  };
  using Map = std::map<Key, Entry>;
  Map::iterator Erase(Map::iterator it) PW_REQUIRES(mu_);
  void SetOf(Entry* e, Set set) PW_REQUIRES(mu_);
  void Evict() PW_REQUIRES(mu_);
  // Waits until key's computation ends (or its entry goes) or until passes.
  void WaitFor(const Key& k, Clock::time_point until) PW_REQUIRES(mu_);

  const size_t max_entries_;
  const size_t max_bytes_;
  size_t bytes_ PW_GUARDED_BY(mu_) = 0;
  mutable Mutex mu_;
  CondVar done_cv_;
  Map entries_ PW_GUARDED_BY(mu_);
  std::list<Key> lru_ PW_GUARDED_BY(mu_);  // most recently used first
  uint64_t next_token_ PW_GUARDED_BY(mu_) = 1;
  Counts counts_ PW_GUARDED_BY(mu_);
};

}  // namespace pathwise::decide
