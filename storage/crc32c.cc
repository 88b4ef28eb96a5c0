// CRC32C: the SSE4.2 instruction (three interleaved chains of 8-byte steps), or a byte-wise
// table without it.
#include "storage/crc32c.h"

#include <array>
#include <cstring>

#if defined(__SSE4_2__)
#include <nmmintrin.h>
#endif

namespace pathwise::storage {

#if defined(__SSE4_2__)

namespace {

// The crc32 instruction takes 3 cycles and can start one per cycle, so one chain of updates runs
// at a third of its rate. Crc32c runs three chains over three consecutive lanes of kLane bytes and
// joins them: the register is linear in (start register, data), so the register after lanes
// A, B, C from start s is Zeros(crc_A(s), 2 kLane) ^ Zeros(crc_B(0), kLane) ^ crc_C(0), where
// Zeros(c, n) is the register after n zero bytes from c, a linear map applied with 4 tables.
constexpr size_t kLane = 4096;

uint64_t Load64(const unsigned char* p) {
  uint64_t word;
  std::memcpy(&word, p, 8);
  return word;
}

// The linear map "n zero bytes" on the 32-bit register, one table per register byte.
class ZerosMap {
 public:
  explicit ZerosMap(size_t n) {
    uint32_t basis[32];
    for (int bit = 0; bit < 32; ++bit) {
      uint64_t c = uint32_t{1} << bit;
      for (size_t i = 0; i < n; i += 8) c = _mm_crc32_u64(c, 0);
      basis[bit] = static_cast<uint32_t>(c);
    }
    for (int k = 0; k < 4; ++k) {
      for (uint32_t b = 0; b < 256; ++b) {
        uint32_t v = 0;
        for (int j = 0; j < 8; ++j) v ^= (b >> j & 1) != 0 ? basis[8 * k + j] : 0;
        table_[k][b] = v;
      }
    }
  }
  uint32_t Apply(uint32_t c) const {
    return table_[0][c & 0xff] ^ table_[1][(c >> 8) & 0xff] ^ table_[2][(c >> 16) & 0xff] ^
           table_[3][c >> 24];
  }

 private:
  uint32_t table_[4][256];
};

}  // namespace

uint32_t Crc32c(uint32_t crc, const void* data, size_t n) {
  static const ZerosMap one_lane(kLane);
  static const ZerosMap two_lanes(2 * kLane);
  const auto* p = static_cast<const unsigned char*>(data);
  uint64_t c = ~crc;
  for (; n >= 3 * kLane; n -= 3 * kLane, p += 3 * kLane) {
    uint64_t a = c, b = 0, d = 0;
    for (size_t i = 0; i < kLane; i += 8) {
      a = _mm_crc32_u64(a, Load64(p + i));
      b = _mm_crc32_u64(b, Load64(p + kLane + i));
      d = _mm_crc32_u64(d, Load64(p + 2 * kLane + i));
    }
    c = two_lanes.Apply(static_cast<uint32_t>(a)) ^ one_lane.Apply(static_cast<uint32_t>(b)) ^
        static_cast<uint32_t>(d);
  }
  for (; n >= 8; n -= 8, p += 8) c = _mm_crc32_u64(c, Load64(p));
  auto c32 = static_cast<uint32_t>(c);
  for (; n > 0; --n, ++p) c32 = _mm_crc32_u8(c32, *p);
  return ~c32;
}

#else

namespace {

constexpr uint32_t kPoly = 0x82f63b78;  // CRC32C, reflected

constexpr std::array<uint32_t, 256> MakeTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
    t[i] = c;
  }
  return t;
}

constexpr std::array<uint32_t, 256> kTable = MakeTable();

}  // namespace

uint32_t Crc32c(uint32_t crc, const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint32_t c = ~crc;
  for (; n > 0; --n, ++p) c = kTable[(c ^ *p) & 0xff] ^ (c >> 8);
  return ~c;
}

#endif

}  // namespace pathwise::storage
