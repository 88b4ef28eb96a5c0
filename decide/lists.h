// Internal to decide/: the lists a decision can always fall back on. PopularLists keeps each
// surface's precomputed popular list, refreshed in the background (concurrent requests for a
// list never computed yet wait for one computation: no stampede). LastServed remembers the list
// last served to each (surface, user).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "decide/rules.h"
#include "storage/mutex.h"
#include "storage/status.h"

namespace pathwise::decide {

using ItemList = std::vector<Item>;

class PopularLists {
 public:
  using Clock = std::chrono::steady_clock;
  using Compute = std::function<Result<ItemList>()>;
  PopularLists();
  ~PopularLists();  // stops the refresher (a running computation finishes first)

  // The list for key. Fresh: returned. Older than refresh_seconds: returned, and one background
  // refresh is started. Never computed: one background computation is started (or joined) and
  // the caller waits for it until `until`; nullptr if it is not ready by then or failed.
  std::shared_ptr<const ItemList> Get(const std::string& key, int64_t refresh_seconds,
                                      const Compute& compute, Clock::time_point until);
  void Forget(const std::string& key);
  // Starts a background computation of key's list unless one exists or is running.
  void Prefetch(const std::string& key, const Compute& compute);

  struct Counts {
    uint64_t hits = 0, stale = 0, misses = 0, coalesced = 0, computations = 0, failures = 0;
  };
  Counts counts() const;

 private:
  struct Entry {
    std::shared_ptr<const ItemList> list;
    Clock::time_point computed_at;
    bool computing = false;
    uint64_t generation = 0;  // bumped by Forget: a computation of an older one is dropped
  };
  void Enqueue(const std::string& key, Entry* entry, const Compute& compute) PW_REQUIRES(mu_);
  void Loop();
  // Waits until key's computation ends or until passes.
  void WaitForList(const std::string& key, Clock::time_point until) PW_REQUIRES(mu_);

  mutable Mutex mu_;
  CondVar done_cv_;  // a computation finished
  CondVar work_cv_;  // work queued or stopping
  std::map<std::string, Entry> entries_ PW_GUARDED_BY(mu_);
  struct Job {
    std::string key;
    uint64_t generation = 0;
    Compute compute;
  };
  std::deque<Job> jobs_ PW_GUARDED_BY(mu_);
  bool stopping_ PW_GUARDED_BY(mu_) = false;
  Counts counts_ PW_GUARDED_BY(mu_);
  std::thread thread_;
};

// The last list served per (surface, user), at most `capacity` of them (least recently served
// forgotten first). Ids and types only: rules and labels are applied again when it is served.
class LastServed {
 public:
  explicit LastServed(size_t capacity) : capacity_(capacity) {}
  void Put(const std::string& surface, const std::string& user, const ItemList& items);
  ItemList Get(const std::string& surface, const std::string& user) const;
  void ForgetSurface(const std::string& surface);

 private:
  using Key = std::string;  // surface + '\0' + user
  struct Entry {
    std::vector<std::pair<std::string, std::string>> items;  // (id, type)
    std::list<Key>::iterator lru;
  };
  const size_t capacity_;
  mutable Mutex mu_;
  std::list<Key> lru_ PW_GUARDED_BY(mu_);  // most recent first
  std::unordered_map<Key, Entry> entries_ PW_GUARDED_BY(mu_);
};

}  // namespace pathwise::decide
