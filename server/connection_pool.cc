#include "server/connection_pool.h"

#include <algorithm>

namespace pathwise::server {

ConnectionPool::ConnectionPool(size_t min_threads, size_t max_threads)
    : max_threads_(std::max<size_t>(1, max_threads)) {
  MutexLock lock(&mu_);
  for (size_t i = 0; i < std::min(min_threads, max_threads_); ++i) StartThreadLocked();
}

ConnectionPool::~ConnectionPool() { shutdown(); }

void ConnectionPool::StartThreadLocked() {
  ++idle_;
  threads_.emplace_back([this] { Work(); });
}

void ConnectionPool::enqueue(std::function<void()> fn) {
  {
    MutexLock lock(&mu_);
    tasks_.push_back(std::move(fn));
    if (idle_ < tasks_.size() && threads_.size() < max_threads_) StartThreadLocked();
  }
  cv_.NotifyOne();
}

void ConnectionPool::shutdown() {
  std::vector<std::thread> to_join;
  {
    MutexLock lock(&mu_);
    shutdown_ = true;
    to_join.swap(threads_);
  }
  cv_.NotifyAll();
  for (std::thread& t : to_join) t.join();
}

size_t ConnectionPool::threads() const {
  MutexLock lock(&mu_);
  return threads_.size();
}

void ConnectionPool::Work() {
  mu_.Lock();
  for (;;) {
    while (tasks_.empty() && !shutdown_) cv_.Wait(&mu_);
    if (tasks_.empty()) break;  // shutting down and drained
    std::function<void()> task = std::move(tasks_.front());
    tasks_.pop_front();
    --idle_;
    mu_.Unlock();
    task();
    mu_.Lock();
    ++idle_;
  }
  mu_.Unlock();
}

}  // namespace pathwise::server
