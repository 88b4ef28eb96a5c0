// Internal to graph/: the array behind an adjacency list's entries and its rank order.
//
// A ListArray either owns its memory (grown like a std::vector) or borrows a run of the block into
// which a topology snapshot's lists were read (graph/topology_snapshot.cc), which the graph keeps
// for as long as any list may borrow from it. Opening a snapshot therefore allocates nothing per list;
// the first change to a borrowed array copies it into memory of its own, so only the lists that
// are written after the open pay for a copy.
//
// Reads are const and never change the representation, so readers under a node's shared stripe
// lock may call them concurrently. Every mutating call may copy a borrowed array first: callers
// hold the node's stripe exclusively (or own the graph alone, as Load does). There is no
// non-const operator[] or begin(): writes go through MutableData(), so a read can never copy by
// accident. T must be trivially copyable (Neighbor, uint32_t). Sizes are below 2^32 (a list's
// positions are uint32_t everywhere); growing past that throws std::length_error, as a
// std::vector throws when it cannot grow.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <type_traits>

namespace pathwise::graph {

template <typename T>
class ListArray {
  static_assert(std::is_trivially_copyable_v<T>, "ListArray copies its elements as bytes");

 public:
  ListArray() = default;
  ~ListArray() { Free(); }
  ListArray(const ListArray&) = delete;
  ListArray& operator=(const ListArray&) = delete;
  ListArray(ListArray&& o) noexcept : data_(o.data_), size_(o.size_), cap_(o.cap_) { o.Reset(); }
  ListArray& operator=(ListArray&& o) noexcept {
    if (this != &o) {
      Free();
      data_ = o.data_;
      size_ = o.size_;
      cap_ = o.cap_;
      o.Reset();
    }
    return *this;
  }

  // A view of n elements at data, which must outlive this array or its first change.
  static ListArray Borrow(const T* data, size_t n) {
    ListArray a;
    if (n == 0) return a;
    a.data_ = const_cast<T*>(data);  // never written through while borrowed (cap_ == 0)
    a.size_ = Checked(n);
    return a;
  }

  bool borrowed() const { return cap_ == 0 && data_ != nullptr; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Elements held in memory of its own (0 while borrowed).
  size_t capacity() const { return cap_; }
  const T* data() const { return data_; }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }
  const T& operator[](size_t i) const { return data_[i]; }

  // The elements, made writable (copied first when borrowed).
  T* MutableData() {
    if (borrowed()) Reallocate(size_);
    return data_;
  }
  void push_back(const T& v) {
    if (size_ >= cap_) Grow(size_ + 1);  // >=: a borrowed array (cap_ 0) copies first
    data_[size_++] = v;
  }
  // Inserts v before position pos (<= size()).
  void insert(size_t pos, const T& v) {
    if (size_ >= cap_) Grow(size_ + 1);  // >=: a borrowed array (cap_ 0) copies first
    std::memmove(data_ + pos + 1, data_ + pos, (size_ - pos) * sizeof(T));
    data_[pos] = v;
    ++size_;
  }
  void append(const T* first, size_t n) {
    if (n == 0) return;
    reserve(size_ + n);
    std::memcpy(data_ + size_, first, n * sizeof(T));
    size_ += static_cast<uint32_t>(n);
  }
  // Removes the element at pos (< size()), keeping the order of the others.
  void erase(size_t pos) {
    MutableData();
    std::memmove(data_ + pos, data_ + pos + 1, (size_ - pos - 1) * sizeof(T));
    --size_;
  }
  // New elements are value-initialised (zero for Neighbor and uint32_t).
  void resize(size_t n) {
    if (n == 0) {
      clear();
      return;
    }
    reserve(n);
    if (n > size_) std::memset(static_cast<void*>(data_ + size_), 0, (n - size_) * sizeof(T));
    size_ = Checked(n);
  }
  // Own memory for exactly max(n, size()) elements when there is less (or none: borrowed).
  void reserve(size_t n) {
    if (n > cap_ || borrowed()) Reallocate(Checked(std::max<size_t>(n, size_)));
  }
  void assign(const T* first, size_t n) {
    clear();
    append(first, n);
  }
  // Empties the array, keeping its own memory (a borrowed array lets go of its view).
  void clear() {
    if (borrowed()) data_ = nullptr;
    size_ = 0;
  }
  // Releases own memory beyond size() (a borrowed array stays borrowed).
  void shrink_to_fit() {
    if (borrowed() || size_ == cap_) return;
    if (size_ == 0) {
      Free();
      Reset();
      return;
    }
    Reallocate(size_);
  }

 private:
  static uint32_t Checked(size_t n) {
    if (n > UINT32_MAX) throw std::length_error("an adjacency list cannot hold 2^32 entries");
    return static_cast<uint32_t>(n);
  }
  // Own memory for at least `need` elements (at least double the current), holding the
  // current elements. A borrowed array's first copy is exactly `need` long.
  void Grow(size_t need) {
    size_t cap = std::max<size_t>(size_t{cap_} * 2, Checked(need));
    Reallocate(std::min<size_t>(cap, UINT32_MAX));
  }
  // REQUIRES: size() <= cap.
  void Reallocate(size_t cap) {
    if (cap == 0) {  // nothing to hold: let go of any memory or view
      Free();
      Reset();
      return;
    }
    T* fresh = static_cast<T*>(std::malloc(cap * sizeof(T)));
    if (fresh == nullptr) throw std::bad_alloc();
    if (size_ > 0) std::memcpy(static_cast<void*>(fresh), data_, size_ * sizeof(T));
    Free();
    data_ = fresh;
    cap_ = static_cast<uint32_t>(cap);
  }
  void Free() {
    if (cap_ > 0) std::free(data_);
  }
  void Reset() {
    data_ = nullptr;
    size_ = 0;
    cap_ = 0;
  }

  T* data_ = nullptr;  // own memory when cap_ > 0; a borrowed view when cap_ == 0 and non-null
  uint32_t size_ = 0;
  uint32_t cap_ = 0;
};

}  // namespace pathwise::graph
