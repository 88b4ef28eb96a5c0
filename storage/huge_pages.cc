#include "storage/huge_pages.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <utility>

namespace pathwise::storage {
namespace {

// The part of [data, data + bytes) made of whole pages of `page` bytes: its start and length
// (length 0 when it holds none).
std::pair<char*, size_t> WholePages(void* data, size_t bytes, size_t page) {
  const auto start = reinterpret_cast<uintptr_t>(data);
  const uintptr_t first = (start + page - 1) / page * page;
  const uintptr_t end = (start + bytes) / page * page;
  if (end <= first) return {nullptr, 0};
  return {reinterpret_cast<char*>(first), end - first};
}

}  // namespace

HugePageFill::HugePageFill(void* data, size_t bytes) {
  auto [begin, length] = WholePages(data, bytes, kHugePageBytes);
  if (length == 0) return;
  begin_ = begin;
  bytes_ = length;
  (void)::madvise(begin_, bytes_, MADV_HUGEPAGE);  // advice only: failure leaves ordinary pages
}

void HugePageFill::Withdraw() {
  if (bytes_ == 0) return;
  (void)::madvise(begin_, bytes_, MADV_NOHUGEPAGE);
  bytes_ = 0;
}

void DiscardPages(void* data, size_t bytes) {
  static const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  auto [begin, length] = WholePages(data, bytes, page);
  if (length > 0) (void)::madvise(begin, length, MADV_DONTNEED);
}

}  // namespace pathwise::storage
