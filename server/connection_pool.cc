#include "server/connection_pool.h"

#include <algorithm>

namespace pathwise::server {

ConnectionPool::ConnectionPool(size_t min_threads, size_t max_threads)
    : max_threads_(std::max<size_t>(1, max_threads)) {
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < std::min(min_threads, max_threads_); ++i) StartThreadLocked();
}

ConnectionPool::~ConnectionPool() { shutdown(); }

void ConnectionPool::StartThreadLocked() {
  ++idle_;
  threads_.emplace_back([this] { Work(); });
}

void ConnectionPool::enqueue(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    tasks_.push_back(std::move(fn));
    if (idle_ < tasks_.size() && threads_.size() < max_threads_) StartThreadLocked();
  }
  cv_.notify_one();
}

void ConnectionPool::shutdown() {
  std::vector<std::thread> to_join;
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutdown_ = true;
    to_join.swap(threads_);
  }
  cv_.notify_all();
  for (std::thread& t : to_join) t.join();
}

size_t ConnectionPool::threads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return threads_.size();
}

void ConnectionPool::Work() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return !tasks_.empty() || shutdown_; });
    if (tasks_.empty()) return;  // shutting down and drained
    std::function<void()> task = std::move(tasks_.front());
    tasks_.pop_front();
    --idle_;
    lock.unlock();
    task();
    lock.lock();
    ++idle_;
  }
}

}  // namespace pathwise::server
