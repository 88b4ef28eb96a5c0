// Internal to graph/: memory on transparent huge pages for large read-mostly arrays that are
// read at random: an allocator (the walks' relation snapshots) and a block filled once (the lists
// of a loaded topology snapshot). Allocations of at least kHugePage bytes are aligned to 2 MiB and
// advised as transparent huge pages (madvise MADV_HUGEPAGE) before they are first written, so a
// random read over tens of megabytes misses the TLB far less often. Where the kernel gives no
// huge pages (THP "never", or none free) the memory is ordinary pages: only slower, never wrong.
#pragma once

#include <sys/mman.h>

#include <algorithm>
#include <cstddef>
#include <new>

#include "storage/huge_pages.h"

namespace pathwise::graph {

template <typename T>
struct HugePageAllocator {
  using value_type = T;
  static constexpr size_t kHugePage = storage::kHugePageBytes;

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

// One block of bytes whose pages are faulted in as huge pages while the owner fills it (when it
// is at least kHugePage long: 2 MiB-aligned then, else 64-byte aligned); Seal() withdraws the
// advice (storage/huge_pages.h says why).
class HugePageBlock {
 public:
  static constexpr size_t kHugePage = storage::kHugePageBytes;

  explicit HugePageBlock(size_t bytes)
      : align_(bytes >= kHugePage ? kHugePage : 64),
        size_(bytes >= kHugePage ? (bytes + kHugePage - 1) / kHugePage * kHugePage
                                 : (bytes == 0 ? 1 : bytes)),
        data_(static_cast<char*>(::operator new(size_, std::align_val_t(align_)))),
        fill_(data_, size_) {}
  ~HugePageBlock() { ::operator delete(data_, std::align_val_t(align_)); }
  HugePageBlock(const HugePageBlock&) = delete;
  HugePageBlock& operator=(const HugePageBlock&) = delete;

  char* data() { return data_; }
  const char* data() const { return data_; }
  // Call once the block is filled.
  void Seal() { fill_.Withdraw(); }
  // Gives the memory of the whole pages inside the first `bytes` back to the kernel; they read
  // as zeros from then on.
  void Discard(size_t bytes) { storage::DiscardPages(data_, std::min(bytes, size_)); }

 private:
  size_t align_;
  size_t size_;
  char* data_;
  storage::HugePageFill fill_;
};

}  // namespace pathwise::graph
