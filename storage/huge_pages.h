// storage/: transparent huge pages for a large block filled once and then read at random (a
// topology snapshot's lists, an HNSW base layer). On a VM a 4 KiB page fault can cost more than
// the copy into the page, and a block of hundreds of MB faults hundreds of thousands of times;
// the same block on 2 MiB pages faults a few hundred times. The advice is given while the block
// is filled and withdrawn afterwards, so the pages already faulted stay huge, while any later
// fault in the range (spare capacity, or the allocator reusing the range once the block is
// freed) stays on ordinary pages and never compacts memory synchronously (THP defrag in
// "madvise" mode would). Advice only: where the kernel gives no huge pages (THP "never", none
// free) the memory is ordinary pages, slower and never wrong. docs/benchmarks.md, "Restart on
// huge pages".
#pragma once

#include <cstddef>

namespace pathwise::storage {

inline constexpr size_t kHugePageBytes = size_t{2} << 20;

// Advises the whole huge pages inside [data, data + bytes) as transparent huge pages for the
// object's life (MADV_HUGEPAGE), then withdraws the advice (MADV_NOHUGEPAGE). A range that holds
// no whole 2 MiB page is left alone.
class HugePageFill {
 public:
  HugePageFill(void* data, size_t bytes);
  ~HugePageFill() { Withdraw(); }
  HugePageFill(const HugePageFill&) = delete;
  HugePageFill& operator=(const HugePageFill&) = delete;

  // Withdraws the advice now (once; the destructor then does nothing).
  void Withdraw();

 private:
  char* begin_ = nullptr;
  size_t bytes_ = 0;
};

// Gives the memory of the whole pages (of the kernel's page size) inside [data, data + bytes)
// back to the kernel (MADV_DONTNEED); in anonymous private memory they read as zeros afterwards.
void DiscardPages(void* data, size_t bytes);

}  // namespace pathwise::storage
