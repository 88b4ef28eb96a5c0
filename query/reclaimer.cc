#include "query/reclaimer.h"

namespace pathwise::query {

Reclaimer::Reclaimer() : thread_([this] { Loop(); }) {}

Reclaimer::~Reclaimer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Reclaimer::Enqueue(std::unique_ptr<Garbage> garbage) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(garbage));
  }
  cv_.notify_all();
}

void Reclaimer::Drain() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return queue_.empty() && busy_ == 0; });
}

void Reclaimer::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stop_ and nothing left
    std::unique_ptr<Garbage> garbage = std::move(queue_.front());
    queue_.pop_front();
    ++busy_;
    lock.unlock();
    garbage.reset();
    lock.lock();
    --busy_;
    cv_.notify_all();
  }
}

}  // namespace pathwise::query
