// Must NOT compile with clang: Add() writes a member guarded by mu_ without holding mu_. The
// CTest test "locking: ..." (clang builds only) builds it and expects the thread-safety analysis
// to name the variable and the mutex (storage/mutex.h, -Werror=thread-safety-analysis).
#include "storage/mutex.h"

namespace {

class Counter {
 public:
  void Add() { ++n_; }
  int Get() {
    pathwise::MutexLock lock(&mu_);
    return n_;
  }

 private:
  pathwise::Mutex mu_;
  int n_ PW_GUARDED_BY(mu_) = 0;
};

}  // namespace

int main() {
  Counter c;
  c.Add();
  return c.Get();
}
