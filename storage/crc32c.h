// storage/: CRC32C (Castagnoli), the checksum of the snapshot files kept next to the store
// (vector/'s HNSW snapshots, graph/'s topology snapshot).
#pragma once

#include <cstddef>
#include <cstdint>

namespace pathwise::storage {

// Extends `crc` (0 for the first piece) with n bytes at data; Crc32c(Crc32c(0, a), b) equals the
// CRC of a followed by b. Uses SSE4.2's crc32 instruction when compiled for it.
uint32_t Crc32c(uint32_t crc, const void* data, size_t n);

}  // namespace pathwise::storage
