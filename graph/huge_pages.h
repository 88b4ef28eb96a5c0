// Internal to graph/: an allocator for large read-mostly arrays that are read at random (the
// walks' relation snapshots). Allocations of at least kHugePage bytes are aligned to 2 MiB and
// advised as transparent huge pages (madvise MADV_HUGEPAGE) before they are first written, so a
// random read over tens of megabytes misses the TLB far less often. Where the kernel gives no
// huge pages (THP "never", or none free) the memory is ordinary pages: only slower, never wrong.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <new>

namespace pathwise::graph {

template <typename T>
struct HugePageAllocator {
  using value_type = T;
  static constexpr size_t kHugePage = size_t{2} << 20;

  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}  // NOLINT: allocator conversion

  T* allocate(size_t n) {
    size_t bytes = n * sizeof(T);
    if (bytes < kHugePage) return static_cast<T*>(::operator new(bytes));
    size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    void* p = ::operator new(rounded, std::align_val_t(kHugePage));
    madvise(p, rounded, MADV_HUGEPAGE);  // advice only: failure leaves ordinary pages
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t n) {
    if (n * sizeof(T) < kHugePage) {
      ::operator delete(p);
    } else {
      ::operator delete(p, std::align_val_t(kHugePage));
    }
  }
  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const { return true; }
};

}  // namespace pathwise::graph
