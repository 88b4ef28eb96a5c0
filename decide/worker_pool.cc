#include "decide/worker_pool.h"

namespace pathwise::decide {

WorkerPool::WorkerPool(int threads, size_t max_queued) : max_queued_(max_queued) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
}

WorkerPool::~WorkerPool() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  cv_.NotifyAll();
  for (auto& t : threads_) t.join();
}

bool WorkerPool::TrySubmit(std::function<void()> work, std::function<void()> done,
                           std::chrono::steady_clock::time_point start_by) {
  {
    MutexLock lock(&mu_);
    if (stopping_) return false;
    size_t idle = threads_.size() - busy_;
    if (queue_.size() >= idle) {  // no thread will take it at once
      if (queue_.size() - idle >= max_queued_) return false;
      double ahead = static_cast<double>(queue_.size() - idle + 1);
      double wait_us = ahead * mean_task_us_ / static_cast<double>(threads_.size());
      auto now = std::chrono::steady_clock::now();
      if (start_by != std::chrono::steady_clock::time_point::max() &&
          now + std::chrono::microseconds(static_cast<int64_t>(wait_us)) >= start_by) {
        return false;
      }
    }
    queue_.push_back({std::move(work), std::move(done)});
  }
  cv_.NotifyOne();
  return true;
}

size_t WorkerPool::queued() const {
  MutexLock lock(&mu_);
  return queue_.size();
}

size_t WorkerPool::busy() const {
  MutexLock lock(&mu_);
  return busy_;
}

void WorkerPool::Loop() {
  for (;;) {
    Task task;
    {
      MutexLock lock(&mu_);
      while (!stopping_ && queue_.empty()) cv_.Wait(&mu_);
      if (queue_.empty()) return;  // stopping and drained
      task = std::move(queue_.front());
      queue_.pop_front();
      ++busy_;
    }
    auto start = std::chrono::steady_clock::now();
    task.work();
    double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
                    .count();
    {
      MutexLock lock(&mu_);
      --busy_;
      mean_task_us_ = mean_task_us_ == 0 ? us : 0.9 * mean_task_us_ + 0.1 * us;
    }
    if (task.done) task.done();
  }
}

}  // namespace pathwise::decide
