// Internal to decide/: a fixed set of threads running submitted tasks, with a bounded queue.
// The submitter waits for a task's result only until its own deadline; a task it abandons runs
// to completion on its worker (its query has a deadline of its own) and its result is dropped.
#pragma once

#include <deque>
#include <chrono>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "storage/mutex.h"

namespace pathwise::decide {

class WorkerPool {
 public:
  WorkerPool(int threads, size_t max_queued);
  ~WorkerPool();  // runs what is queued, then joins

  // Runs work on a worker, then done (if set) once that worker counts as free again, so a
  // caller woken by done can submit at once. False (and nothing taken) when no thread is idle
  // and either max_queued tasks already wait or the expected wait for a thread (the tasks ahead
  // times the recent mean task time, over the threads) would pass start_by.
  bool TrySubmit(std::function<void()> work, std::function<void()> done = {},
                 std::chrono::steady_clock::time_point start_by =
                     std::chrono::steady_clock::time_point::max());
  size_t queued() const;
  size_t busy() const;

 private:
  void Loop();
  const size_t max_queued_;
  mutable Mutex mu_;
  CondVar cv_;
  struct Task {
    std::function<void()> work, done;
  };
  std::deque<Task> queue_ PW_GUARDED_BY(mu_);
  size_t busy_ PW_GUARDED_BY(mu_) = 0;
  double mean_task_us_ PW_GUARDED_BY(mu_) = 0;  // moving average of task times
  bool stopping_ PW_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

// A result a worker fills in and a waiter takes, if it still wants it.
template <typename T>
class Promise {
 public:
  void Set(T value) {
    {
      MutexLock lock(&mu_);
      value_ = std::make_unique<T>(std::move(value));
    }
    cv_.NotifyAll();
  }
  // The value if it was set before `until`, else nullptr.
  std::unique_ptr<T> WaitUntil(std::chrono::steady_clock::time_point until) {
    MutexLock lock(&mu_);
    for (auto now = std::chrono::steady_clock::now(); value_ == nullptr && now < until;
         now = std::chrono::steady_clock::now()) {
      cv_.WaitFor(&mu_, until - now);
    }
    return std::move(value_);
  }

 private:
  Mutex mu_;
  CondVar cv_;
  std::unique_ptr<T> value_ PW_GUARDED_BY(mu_);
};

}  // namespace pathwise::decide
