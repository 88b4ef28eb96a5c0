// Internal to query/: the MATCH binding table — rows of `width` Slots kept in fixed-size chunks.
//
// A table that grows never moves its rows: a new chunk is added when the last one is full, so
// the cost of growth is one allocation of kChunkBytes (its pages are touched row by row as rows
// are appended, between the caller's deadline checks), never a copy of everything held so far.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

#include "query/exec_state.h"

namespace pathwise::query {

class RowTable {
 public:
  // Bytes of one chunk (at least one row per chunk).
  static constexpr size_t kChunkBytes = size_t{64} << 10;

  RowTable() = default;
  explicit RowTable(size_t width)
      : width_(width), rows_per_chunk_(std::max<size_t>(1, kChunkBytes / RowBytes(width))) {}
  RowTable(RowTable&& other) noexcept { *this = std::move(other); }
  RowTable& operator=(RowTable&& other) noexcept {
    Release();
    width_ = other.width_;
    rows_per_chunk_ = other.rows_per_chunk_;
    rows_ = std::exchange(other.rows_, 0);
    chunks_ = std::move(other.chunks_);
    other.chunks_.clear();
    return *this;
  }
  ~RowTable() { Release(); }

  size_t width() const { return width_; }
  size_t rows() const { return rows_; }
  // Bytes allocated for rows (the memory account's figure).
  size_t bytes() const { return chunks_.size() * rows_per_chunk_ * RowBytes(width_); }
  // The bytes the next Append allocates: 0 while the last chunk has room.
  size_t BytesToGrow() const {
    return rows_ < chunks_.size() * rows_per_chunk_ ? 0 : rows_per_chunk_ * RowBytes(width_);
  }

  // REQUIRES: r < rows(). The pointer stays valid until the table is destroyed or moved from.
  const Slot* Row(size_t r) const {
    return chunks_[r / rows_per_chunk_].get() + (r % rows_per_chunk_) * width_;
  }
  // Appends a copy of row[0, width()).
  void Append(const Slot* row) {
    if (rows_ == chunks_.size() * rows_per_chunk_) {
      // Not value-initialized: a chunk's pages are first written by the rows copied into it.
      chunks_.emplace_back(std::allocator<Slot>().allocate(rows_per_chunk_ * width_),
                           ChunkDeleter{rows_per_chunk_ * width_});
    }
    Slot* dst = chunks_.back().get() + (rows_ % rows_per_chunk_) * width_;
    std::uninitialized_copy_n(row, width_, dst);
    ++rows_;
  }

 private:
  struct ChunkDeleter {
    size_t slots;
    void operator()(Slot* p) const { std::allocator<Slot>().deallocate(p, slots); }
  };
  static size_t RowBytes(size_t width) { return std::max<size_t>(width, 1) * sizeof(Slot); }
  // Frees the chunks newest first: each then joins the free space at the top of the allocator's
  // heap, which is returned to the kernel in small steps instead of one large unmapping.
  void Release() {
    while (!chunks_.empty()) chunks_.pop_back();
    rows_ = 0;
  }

  size_t width_ = 0;
  size_t rows_per_chunk_ = 1;
  size_t rows_ = 0;
  std::vector<std::unique_ptr<Slot, ChunkDeleter>> chunks_;
};

}  // namespace pathwise::query
