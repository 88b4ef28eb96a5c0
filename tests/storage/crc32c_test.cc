// storage::Crc32c: the standard check value, and the same CRC as a bit-at-a-time reference for
// every length and alignment around the three-lane blocks, whole or in pieces.
#include <doctest/doctest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "storage/crc32c.h"

using pathwise::storage::Crc32c;

namespace {

// CRC32C one bit at a time (reflected polynomial 0x82f63b78).
uint32_t Reference(uint32_t crc, const unsigned char* p, size_t n) {
  uint32_t c = ~crc;
  for (size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int k = 0; k < 8; ++k) c = (c & 1) != 0 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
  }
  return ~c;
}

std::vector<unsigned char> RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<unsigned char> out(n);
  for (auto& b : out) b = static_cast<unsigned char>(rng());
  return out;
}

}  // namespace

TEST_CASE("crc32c gives the standard check value") {
  const char* check = "123456789";
  CHECK(Crc32c(0, check, std::strlen(check)) == 0xe3069283u);
  CHECK(Crc32c(0, nullptr, 0) == 0);
  const std::string zeros(32, '\0');
  CHECK(Crc32c(0, zeros.data(), zeros.size()) == 0x8a9136aau);  // RFC 3720, B.4
}

TEST_CASE("crc32c equals the bitwise reference for every length and alignment around its blocks") {
  // Lanes are 4,096 bytes, blocks 12,288: lengths below, at and past one and two blocks.
  const std::vector<unsigned char> bytes = RandomBytes(3 * 12288 + 64, 7);
  for (size_t len : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{4095}, size_t{4096},
                     size_t{12287}, size_t{12288}, size_t{12289}, size_t{12295}, size_t{24576},
                     size_t{24583}, size_t{36863}, size_t{36864}}) {
    for (size_t offset = 0; offset < 9; ++offset) {
      CAPTURE(len);
      CAPTURE(offset);
      CHECK(Crc32c(0, bytes.data() + offset, len) == Reference(0, bytes.data() + offset, len));
      CHECK(Crc32c(0x1234567u, bytes.data() + offset, len) ==
            Reference(0x1234567u, bytes.data() + offset, len));
    }
  }
}

TEST_CASE("crc32c of a buffer in random pieces equals the crc of the whole") {
  const std::vector<unsigned char> bytes = RandomBytes(200000, 11);
  const uint32_t whole = Reference(0, bytes.data(), bytes.size());
  CHECK(Crc32c(0, bytes.data(), bytes.size()) == whole);
  std::mt19937_64 rng(3);
  for (int round = 0; round < 20; ++round) {
    uint32_t crc = 0;
    for (size_t at = 0; at < bytes.size();) {
      const size_t piece = std::min<size_t>(bytes.size() - at, rng() % 40000);
      crc = Crc32c(crc, bytes.data() + at, piece);
      at += piece;
    }
    CHECK(crc == whole);
  }
}
