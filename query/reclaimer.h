// Internal to query/: frees large per-execution structures on a background thread.
//
// Returning hundreds of MiB to the kernel (unmapping the pages of a binding table) takes tens of
// milliseconds, and a query stopped by its deadline would spend them after the deadline. An
// execution hands such structures to the Engine's Reclaimer instead; they are destroyed shortly
// after, in the order handed over. The memory account is credited at once (the bytes are no
// longer the query's), so for a moment the process holds up to the structures in flight more
// than the budgets count.
#pragma once

#include <deque>
#include <memory>
#include <thread>
#include <utility>

#include "storage/mutex.h"

namespace pathwise::query {

class Reclaimer {
 public:
  Reclaimer();
  // Destroys everything still queued, then joins the thread.
  ~Reclaimer();
  Reclaimer(const Reclaimer&) = delete;
  Reclaimer& operator=(const Reclaimer&) = delete;

  // Takes value (moved from) and destroys it on the background thread.
  template <typename T>
  void Dispose(T&& value) {
    Enqueue(std::make_unique<Held<std::decay_t<T>>>(std::forward<T>(value)));
  }

  // Waits until everything handed over so far has been destroyed (tests).
  void Drain();

 private:
  struct Garbage {
    virtual ~Garbage() = default;
  };
  template <typename T>
  struct Held : Garbage {
    explicit Held(T&& v) : value(std::move(v)) {}
    T value;
  };
  void Enqueue(std::unique_ptr<Garbage> garbage) PW_EXCLUDES(mu_);
  void Loop() PW_EXCLUDES(mu_);

  Mutex mu_;
  CondVar cv_;
  std::deque<std::unique_ptr<Garbage>> queue_ PW_GUARDED_BY(mu_);
  size_t busy_ PW_GUARDED_BY(mu_) = 0;  // being destroyed now
  bool stop_ PW_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace pathwise::query
