// Internal to graph/: a 4-byte reader/writer spin lock for the per-node lock stripes.
//
// Writer-preferring: a writer first sets the writer bit (new readers then back off), then waits
// for the readers already inside to leave. Critical sections are a few hundred nanoseconds (one
// list update or one list visit), so spinning beats parking; after a few dozen spins the waiter
// yields, which matters on small machines where the holder may be descheduled.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>

namespace pathwise::graph {

class RwSpinLock {
 public:
  void lock_shared() {
    for (int spins = 0;; ++spins) {
      uint32_t prev = state_.fetch_add(1, std::memory_order_acquire);
      if ((prev & kWriter) == 0) return;
      state_.fetch_sub(1, std::memory_order_relaxed);
      while (state_.load(std::memory_order_relaxed) & kWriter) Backoff(&spins);
    }
  }
  void unlock_shared() { state_.fetch_sub(1, std::memory_order_release); }

  void lock() {
    int spins = 0;
    // Claim the writer bit (there is normally one writer, but be correct for several).
    for (;;) {
      uint32_t prev = state_.fetch_or(kWriter, std::memory_order_acquire);
      if ((prev & kWriter) == 0) break;
      Backoff(&spins);
    }
    // Wait for readers that got in before the bit was set.
    while ((state_.load(std::memory_order_acquire) & ~kWriter) != 0) Backoff(&spins);
  }
  void unlock() { state_.fetch_and(~kWriter, std::memory_order_release); }

 private:
  static constexpr uint32_t kWriter = 1u << 31;
  static void Backoff(int* spins) {
    if (++*spins < 64) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    } else {
      std::this_thread::yield();
    }
  }
  std::atomic<uint32_t> state_{0};
};

}  // namespace pathwise::graph
