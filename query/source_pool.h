// Internal to query/: the Engine's small set of threads that run RECOMMEND sources beside the
// query's own thread (EngineOptions::source_threads, docs/query-execution.md "Sources in
// parallel"). It never queues: work is taken only when a thread is idle, so a caller that is
// refused runs the work itself, and a query never waits for another query's sources.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "storage/mutex.h"

namespace pathwise::query {

class SourcePool {
 public:
  // threads: 0 makes a pool that refuses everything.
  explicit SourcePool(size_t threads);
  // Joins the threads (work already taken runs to the end first).
  ~SourcePool();
  SourcePool(const SourcePool&) = delete;
  SourcePool& operator=(const SourcePool&) = delete;

  size_t size() const { return threads_.size(); }

  // Runs work, then done once the thread counts as idle again (so a caller woken by done finds
  // it idle), on an idle thread and returns true; returns false, nothing taken, when every
  // thread is busy. work and done must not throw nor wait for other work of this pool.
  bool TryRun(std::function<void()> work, std::function<void()> done) PW_EXCLUDES(mu_);

 private:
  void Loop() PW_EXCLUDES(mu_);

  Mutex mu_;
  CondVar cv_;
  struct Task {
    std::function<void()> work, done;
  };
  std::deque<Task> taken_ PW_GUARDED_BY(mu_);
  size_t idle_ PW_GUARDED_BY(mu_) = 0;  // threads neither running nor promised work
  bool stop_ PW_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

// Counts work handed out and lets one thread wait until all of it is done.
class WorkCounter {
 public:
  void Add() PW_EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    ++pending_;
  }
  void Done() PW_EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    if (--pending_ == 0) cv_.NotifyAll();
  }
  void Wait() PW_EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    while (pending_ != 0) cv_.Wait(&mu_);
  }

 private:
  Mutex mu_;
  CondVar cv_;
  size_t pending_ PW_GUARDED_BY(mu_) = 0;
};

// Runs part(0) .. part(n - 1), each exactly once, and returns when all have returned: parts
// 1 .. n-1 are offered to pool's idle threads (never queued; pool may be null), and the caller
// runs part 0 and every part no pool thread has started yet. Returns how many parts pool
// threads ran. part must not throw; a part a pool thread skipped touches nothing of the caller.
size_t RunParts(SourcePool* pool, size_t n, const std::function<void(size_t)>& part);

}  // namespace pathwise::query
