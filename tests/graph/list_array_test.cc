// graph::ListArray: a borrowed array reads its source without copying, copies on its first
// change and never writes through to the source; owned or borrowed, every operation matches
// std::vector under random operations.
#include <doctest/doctest.h>

#include <random>
#include <vector>

#include "graph/list_array.h"

using pathwise::graph::ListArray;

namespace {

bool Same(const ListArray<uint32_t>& a, const std::vector<uint32_t>& v) {
  return std::vector<uint32_t>(a.begin(), a.end()) == v;
}

// Applies `ops` random operations to a and v alike, checking after each that they agree.
void RunRandomOps(ListArray<uint32_t>& a, std::vector<uint32_t>& v, size_t ops, uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (size_t i = 0; i < ops; ++i) {
    const auto value = static_cast<uint32_t>(rng());
    switch (rng() % 8) {
      case 0:
        a.push_back(value);
        v.push_back(value);
        break;
      case 1: {
        size_t pos = v.empty() ? 0 : rng() % (v.size() + 1);
        a.insert(pos, value);
        v.insert(v.begin() + static_cast<std::ptrdiff_t>(pos), value);
        break;
      }
      case 2:
        if (v.empty()) break;
        {
          size_t pos = rng() % v.size();
          a.erase(pos);
          v.erase(v.begin() + static_cast<std::ptrdiff_t>(pos));
        }
        break;
      case 3: {
        size_t n = rng() % 40;
        a.resize(n);
        v.resize(n);
        break;
      }
      case 4: {
        uint32_t more[3] = {value, value + 1, value + 2};
        a.append(more, 3);
        v.insert(v.end(), more, more + 3);
        break;
      }
      case 5:
        if (!v.empty()) {
          size_t pos = rng() % v.size();
          a.MutableData()[pos] = value;
          v[pos] = value;
        }
        break;
      case 6:
        a.shrink_to_fit();
        CHECK(a.capacity() == (a.borrowed() ? 0 : a.size()));
        break;
      default:
        if (rng() % 16 == 0) {
          a.clear();
          v.clear();
        }
        break;
    }
    REQUIRE(Same(a, v));
    if (!a.borrowed()) CHECK(a.capacity() >= a.size());
  }
}

}  // namespace

TEST_CASE("a borrowed list array reads its source in place until its first change") {
  const std::vector<uint32_t> source = {5, 3, 9, 1};
  ListArray<uint32_t> a = ListArray<uint32_t>::Borrow(source.data(), source.size());
  CHECK(a.borrowed());
  CHECK(a.capacity() == 0);
  CHECK(a.data() == source.data());
  CHECK(Same(a, source));

  a.push_back(7);
  CHECK_FALSE(a.borrowed());
  CHECK(a.data() != source.data());
  CHECK(Same(a, {5, 3, 9, 1, 7}));
  CHECK(source == std::vector<uint32_t>{5, 3, 9, 1});  // the source is never written
}

TEST_CASE("every change to a borrowed list array copies it first and leaves the source as it was") {
  const std::vector<uint32_t> source = {5, 3, 9, 1};
  auto borrowed = [&] { return ListArray<uint32_t>::Borrow(source.data(), source.size()); };
  {
    auto a = borrowed();
    a.MutableData()[0] = 8;
    CHECK(Same(a, {8, 3, 9, 1}));
  }
  {
    auto a = borrowed();
    a.insert(1, 4);
    CHECK(Same(a, {5, 4, 3, 9, 1}));
  }
  {
    auto a = borrowed();
    a.erase(0);
    CHECK(Same(a, {3, 9, 1}));
  }
  {
    auto a = borrowed();
    a.resize(2);
    CHECK(Same(a, {5, 3}));
    a.resize(0);
    CHECK(a.empty());
  }
  {
    auto a = borrowed();
    a.clear();  // lets go of the view without copying
    CHECK(a.empty());
    CHECK_FALSE(a.borrowed());
  }
  {
    auto a = borrowed();
    a.shrink_to_fit();  // nothing of its own to release: still a view
    CHECK(a.borrowed());
  }
  CHECK(source == std::vector<uint32_t>{5, 3, 9, 1});
}

TEST_CASE("an empty borrowed view is an empty array of its own") {
  const uint32_t one = 1;
  ListArray<uint32_t> a = ListArray<uint32_t>::Borrow(&one, 0);
  CHECK(a.empty());
  CHECK_FALSE(a.borrowed());
  a.push_back(2);
  CHECK(Same(a, {2}));
}

TEST_CASE("a list array, owned or borrowed, agrees with std::vector under random operations") {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    CAPTURE(seed);
    std::vector<uint32_t> v;
    ListArray<uint32_t> owned;
    RunRandomOps(owned, v, 2000, seed);

    std::vector<uint32_t> source(static_cast<size_t>(seed) * 3);
    for (size_t i = 0; i < source.size(); ++i) source[i] = static_cast<uint32_t>(i * 7);
    const std::vector<uint32_t> before = source;
    std::vector<uint32_t> w = source;
    ListArray<uint32_t> borrowed = ListArray<uint32_t>::Borrow(source.data(), source.size());
    RunRandomOps(borrowed, w, 2000, seed + 100);
    CHECK(source == before);
  }
}

TEST_CASE("a moved list array takes the elements and leaves the source empty") {
  ListArray<uint32_t> a;
  for (uint32_t i = 0; i < 10; ++i) a.push_back(i);
  ListArray<uint32_t> b = std::move(a);
  CHECK(b.size() == 10);
  CHECK(a.empty());  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  a = std::move(b);
  CHECK(a.size() == 10);
  CHECK(a[9] == 9);
}
