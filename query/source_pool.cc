#include "query/source_pool.h"

#include <utility>

namespace pathwise::query {

SourcePool::SourcePool(size_t threads) {
  {
    MutexLock lock(&mu_);
    idle_ = threads;
  }
  threads_.reserve(threads);
  for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
}

SourcePool::~SourcePool() {
  {
    MutexLock lock(&mu_);
    stop_ = true;
  }
  cv_.NotifyAll();
  for (std::thread& t : threads_) t.join();
}

bool SourcePool::TryRun(std::function<void()> work, std::function<void()> done) {
  {
    MutexLock lock(&mu_);
    if (idle_ == 0 || stop_) return false;
    --idle_;
    taken_.push_back(Task{std::move(work), std::move(done)});
  }
  cv_.NotifyOne();
  return true;
}

void SourcePool::Loop() {
  while (true) {
    Task task;
    {
      MutexLock lock(&mu_);
      while (taken_.empty() && !stop_) cv_.Wait(&mu_);
      if (taken_.empty()) return;  // stopping, nothing taken
      task = std::move(taken_.front());
      taken_.pop_front();
    }
    task.work();
    {
      MutexLock lock(&mu_);
      ++idle_;
    }
    task.done();
  }
}

}  // namespace pathwise::query
