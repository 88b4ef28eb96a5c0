// Internal to graph/: memory on transparent huge pages for large read-mostly arrays that are
// read at random: an allocator (the walks' relation snapshots) and a block filled once (the lists
// of a loaded topology snapshot). Allocations of at least kHugePage bytes are aligned to 2 MiB and
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

// One block of bytes, 2 MiB-aligned, whose pages are faulted in as huge pages while the owner
// fills it; Seal() then advises the range back to ordinary pages (existing huge pages stay), so
// once the block is freed and its range reused, a fault there never compacts memory
// synchronously (with THP defrag in "madvise" mode it would; docs/benchmarks.md, "Restart on huge
// pages"). Ordinary pages where the kernel gives none.
class HugePageBlock {
 public:
  static constexpr size_t kHugePage = size_t{2} << 20;

  explicit HugePageBlock(size_t bytes)
      : size_((bytes + kHugePage - 1) / kHugePage * kHugePage),
        data_(static_cast<char*>(::operator new(size_ == 0 ? kHugePage : size_,
                                                std::align_val_t(kHugePage)))) {
    if (size_ > 0) madvise(data_, size_, MADV_HUGEPAGE);  // advice only
  }
  ~HugePageBlock() { ::operator delete(data_, std::align_val_t(kHugePage)); }
  HugePageBlock(const HugePageBlock&) = delete;
  HugePageBlock& operator=(const HugePageBlock&) = delete;

  char* data() { return data_; }
  // Call once the block is filled.
  void Seal() {
    if (size_ > 0) madvise(data_, size_, MADV_NOHUGEPAGE);
  }

 private:
  size_t size_;
  char* data_;
};

}  // namespace pathwise::graph
