#include "query/source_pool.h"

#include <atomic>
#include <memory>
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

namespace {

// What RunParts shares with the pool's tasks, kept alive by them: a task whose part the caller
// claimed may run after RunParts has returned.
struct PartsState {
  explicit PartsState(size_t n) : claimed(n), on_pool(n, 0) {}
  std::vector<std::atomic<bool>> claimed;  // whoever sets it first runs the part
  std::vector<char> on_pool;               // written and read by the pool thread that ran it
  WorkCounter pending;                     // offered parts not finished yet
};

}  // namespace

size_t RunParts(SourcePool* pool, size_t n, const std::function<void(size_t)>& part) {
  auto state = std::make_shared<PartsState>(n);
  std::vector<bool> offered(n, false);
  const std::function<void(size_t)>* fn = &part;
  for (size_t i = 1; pool != nullptr && i < n; ++i) {
    state->pending.Add();
    bool taken = pool->TryRun(
        [state, fn, i] {
          if (state->claimed[i].exchange(true, std::memory_order_acq_rel)) return;
          (*fn)(i);
          state->on_pool[i] = 1;
        },
        [state, i] {
          if (state->on_pool[i]) state->pending.Done();
        });
    if (!taken) {
      state->pending.Done();
      break;
    }
    offered[i] = true;
  }
  for (size_t i = 0; i < n; ++i) {
    if (state->claimed[i].exchange(true, std::memory_order_acq_rel)) continue;
    part(i);
    if (offered[i]) state->pending.Done();
  }
  state->pending.Wait();
  size_t on_pool = 0;
  for (size_t i = 0; i < n; ++i) on_pool += state->on_pool[i] != 0;
  return on_pool;
}

}  // namespace pathwise::query
