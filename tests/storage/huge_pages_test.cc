// storage/huge_pages.h: the advice changes no byte of a block, and DiscardPages gives back whole
// pages only (the partial pages at either end keep their bytes).
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstring>
#include <new>

#include "storage/huge_pages.h"

using pathwise::storage::DiscardPages;
using pathwise::storage::HugePageFill;
using pathwise::storage::kHugePageBytes;

namespace {

struct AlignedBlock {
  explicit AlignedBlock(size_t n)
      : size(n), data(static_cast<char*>(::operator new(n, std::align_val_t(kHugePageBytes)))) {}
  ~AlignedBlock() { ::operator delete(data, std::align_val_t(kHugePageBytes)); }
  size_t size;
  char* data;
};

}  // namespace

TEST_CASE("a block filled under huge-page advice reads back what was written") {
  AlignedBlock block(3 * kHugePageBytes);
  {
    // From an unaligned start: only the whole huge pages inside are advised.
    HugePageFill fill(block.data + 100, block.size - 100);
    for (size_t i = 0; i < block.size; ++i) block.data[i] = static_cast<char>(i * 31 + 7);
  }
  size_t wrong = 0;
  for (size_t i = 0; i < block.size; ++i) wrong += block.data[i] != static_cast<char>(i * 31 + 7);
  CHECK(wrong == 0);
  HugePageFill small(block.data, 4096);  // no whole huge page: left alone
  small.Withdraw();
  small.Withdraw();  // once only; harmless again
}

TEST_CASE("discarded pages read as zeros and the partial pages at the ends keep their bytes") {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  AlignedBlock block(8 * page);
  std::memset(block.data, 'x', block.size);
  // From the middle of page 1 to the middle of page 5: pages 2, 3 and 4 are whole.
  DiscardPages(block.data + page + page / 2, 4 * page);
  for (size_t p = 0; p < 8; ++p) {
    INFO("page " << p);
    const bool whole_inside = p >= 2 && p <= 4;
    CHECK(block.data[p * page] == (whole_inside ? 0 : 'x'));
    CHECK(block.data[p * page + page - 1] == (whole_inside ? 0 : 'x'));
  }
  DiscardPages(block.data + 1, page - 2);  // no whole page: nothing changes
  CHECK(block.data[1] == 'x');
}
