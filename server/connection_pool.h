// server/: the task queue httplib runs connections on. httplib hands each accepted connection to
// the queue as one task that lasts as long as the connection (keep-alive included), so a fixed
// pool of N threads is taken away by N slow or idle clients. This pool grows on demand up to a
// cap instead: a connection waits only when max_threads connections are already open.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include <httplib.h>

#include "storage/mutex.h"

namespace pathwise::server {

class ConnectionPool : public httplib::TaskQueue {
 public:
  // min_threads start at once; more start while every thread is busy, up to max_threads.
  ConnectionPool(size_t min_threads, size_t max_threads);
  ~ConnectionPool() override;

  void enqueue(std::function<void()> fn) override;
  // Runs the queued tasks to completion, then joins every thread.
  void shutdown() override;

  size_t threads() const;

 private:
  void StartThreadLocked() PW_REQUIRES(mu_);
  void Work() PW_EXCLUDES(mu_);

  const size_t max_threads_;
  mutable Mutex mu_;
  CondVar cv_;
  std::deque<std::function<void()>> tasks_ PW_GUARDED_BY(mu_);
  std::vector<std::thread> threads_ PW_GUARDED_BY(mu_);
  size_t idle_ PW_GUARDED_BY(mu_) = 0;
  bool shutdown_ PW_GUARDED_BY(mu_) = false;
};

}  // namespace pathwise::server
