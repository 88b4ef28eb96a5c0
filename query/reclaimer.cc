#include "query/reclaimer.h"

namespace pathwise::query {

Reclaimer::Reclaimer() : thread_([this] { Loop(); }) {}

Reclaimer::~Reclaimer() {
  {
    MutexLock lock(&mu_);
    stop_ = true;
  }
  cv_.NotifyAll();
  thread_.join();
}

void Reclaimer::Enqueue(std::unique_ptr<Garbage> garbage) {
  {
    MutexLock lock(&mu_);
    queue_.push_back(std::move(garbage));
  }
  cv_.NotifyAll();
}

void Reclaimer::Drain() {
  MutexLock lock(&mu_);
  while (!queue_.empty() || busy_ != 0) cv_.Wait(&mu_);
}

void Reclaimer::Loop() {
  mu_.Lock();
  for (;;) {
    while (!stop_ && queue_.empty()) cv_.Wait(&mu_);
    if (queue_.empty()) break;  // stop_ and nothing left
    std::unique_ptr<Garbage> garbage = std::move(queue_.front());
    queue_.pop_front();
    ++busy_;
    mu_.Unlock();
    garbage.reset();
    mu_.Lock();
    --busy_;
    cv_.NotifyAll();
  }
  mu_.Unlock();
}

}  // namespace pathwise::query
