// storage/: a mutex, its scoped lock and a condition variable that Clang's thread-safety
// analysis understands. A member declared PW_GUARDED_BY(mu_) may only be touched with mu_ held,
// and a function declared PW_REQUIRES(mu_) only called with it held; the clang builds (ASan,
// TSan, fuzz: scripts/test.sh) compile with -Wthread-safety -Werror=thread-safety-analysis, so a
// violation does not build. GCC ignores the attributes. (libstdc++'s std::mutex carries no
// annotations, hence the wrapper.)
//
//   class Counter {
//    public:
//     void Add() { MutexLock lock(&mu_); ++n_; }
//    private:
//     Mutex mu_;
//     int n_ PW_GUARDED_BY(mu_) = 0;
//   };
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define PW_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define PW_THREAD_ANNOTATION(x)
#endif

#define PW_CAPABILITY(x) PW_THREAD_ANNOTATION(capability(x))
#define PW_SCOPED_CAPABILITY PW_THREAD_ANNOTATION(scoped_lockable)
#define PW_GUARDED_BY(x) PW_THREAD_ANNOTATION(guarded_by(x))
#define PW_PT_GUARDED_BY(x) PW_THREAD_ANNOTATION(pt_guarded_by(x))
#define PW_REQUIRES(...) PW_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define PW_ACQUIRE(...) PW_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define PW_RELEASE(...) PW_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define PW_TRY_ACQUIRE(...) PW_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define PW_EXCLUDES(...) PW_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define PW_NO_THREAD_SAFETY_ANALYSIS PW_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace pathwise {

class PW_CAPABILITY("mutex") Mutex {
 public:
  void Lock() PW_ACQUIRE() { mu_.lock(); }
  void Unlock() PW_RELEASE() { mu_.unlock(); }
  bool TryLock() PW_TRY_ACQUIRE(true) { return mu_.try_lock(); }

 private:
  friend class CondVar;
  std::mutex mu_;
};

// Holds mu for its scope.
class PW_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) PW_ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() PW_RELEASE() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

// A condition variable over a Mutex. Waits may wake spuriously: wait in a loop on the condition.
class CondVar {
 public:
  // Releases mu while waiting and holds it again on return.
  void Wait(Mutex* mu) PW_REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();
  }
  // The same, returning false when timeout passed without a notification.
  template <typename Rep, typename Period>
  bool WaitFor(Mutex* mu, std::chrono::duration<Rep, Period> timeout) PW_REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    bool notified = cv_.wait_for(lock, timeout) == std::cv_status::no_timeout;
    lock.release();
    return notified;
  }
  void NotifyOne() { cv_.notify_one(); }
  void NotifyAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

}  // namespace pathwise
