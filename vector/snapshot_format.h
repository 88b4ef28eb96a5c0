// Internal to vector/: the snapshot file format, independent of hnswlib's types.
//
// A snapshot file is a body followed by a footer:
//   body   = hnswlib 0.6.2's saveIndex layout:
//            header (96 bytes, SnapshotHeader's fields in order, little-endian),
//            level 0 (count * size_data_per_element bytes; per point: a u32 link header
//              [bits 0-15 link count, bit 16 deleted], max_m0 u32 neighbour ids, dim floats,
//              the u64 label),
//            upper layers (per point: u32 byte size = level * (4 + 4 * max_m), then per level
//              1..level: u32 link count, max_m u32 neighbour ids);
//   footer = 24 bytes: "PWVSNAP\0", u32 format version (kSnapshotFormat), u32 CRC32C of the
//            body, u64 body length.
// ReadSnapshot checks all of it before anything is used, so a loaded graph never sends a read
// out of bounds: any violation is Corruption naming the reason.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "storage/storage.h"

namespace pathwise::vector {

constexpr uint32_t kSnapshotFormat = 2;
constexpr size_t kSnapshotHeaderBytes = 96;
constexpr size_t kSnapshotFooterBytes = 24;

struct SnapshotHeader {
  uint64_t offset_level0 = 0;
  uint64_t max_elements = 0;
  uint64_t count = 0;
  uint64_t size_data_per_element = 0;
  uint64_t label_offset = 0;
  uint64_t offset_data = 0;
  int32_t max_level = -1;
  uint32_t entry_point = 0xffffffff;
  uint64_t max_m = 0;
  uint64_t max_m0 = 0;
  uint64_t m = 0;
  double mult = 0;
  uint64_t ef_construction = 0;
};

void EncodeSnapshotHeader(const SnapshotHeader& h, char out[kSnapshotHeaderBytes]);
// The footer for a body of `body_bytes` bytes with CRC32C `crc`.
std::string SnapshotFooter(uint32_t crc, uint64_t body_bytes);

// Where snapshot bytes go; Write fails with IOError.
class SnapshotSink {
 public:
  virtual ~SnapshotSink() = default;
  virtual Status Write(const char* data, size_t n) = 0;
};

// Appends to a string.
class StringSink : public SnapshotSink {
 public:
  explicit StringSink(std::string* out) : out_(out) {}
  Status Write(const char* data, size_t n) override;

 private:
  std::string* out_;
};

// Writes a new file through a buffer; Finish flushes, fsyncs and closes it. The file goes to
// disk in steps as it is written (the kernel's write-back of each step started, and the step
// before it waited for), so at most two steps are ever dirty: a snapshot of hundreds of MB
// never queues ahead of a writer's WAL fsync on the same disk.
class FileSink : public SnapshotSink {
 public:
  static Result<std::unique_ptr<FileSink>> Create(const std::string& path);
  ~FileSink() override;
  Status Write(const char* data, size_t n) override;
  Status Finish();

 private:
  FileSink(int fd, std::string path);
  Status Flush();
  Status WriteAll(const char* data, size_t n);
  void WriteBack();
  int fd_;
  std::string path_;
  std::vector<char> buf_;
  uint64_t written_ = 0;  // bytes written to the file
  uint64_t started_ = 0;  // write-back started for [0, started_)
  uint64_t waited_ = 0;   // on disk (waited for): [0, waited_)
};

// Writes a body into a sink while checksumming it; Finish appends the footer.
class SnapshotWriter {
 public:
  explicit SnapshotWriter(SnapshotSink* sink) : sink_(sink) {}
  Status Write(const char* data, size_t n);
  Status Finish();
  uint32_t crc() const { return crc_; }

 private:
  SnapshotSink* sink_;
  uint32_t crc_ = 0;
  uint64_t bytes_ = 0;
};

// Where snapshot bytes come from.
class SnapshotSource {
 public:
  virtual ~SnapshotSource() = default;
  virtual size_t Size() const = 0;
  // Copies n bytes at offset into dst (the caller keeps offset + n <= Size()).
  virtual Status ReadAt(size_t offset, char* dst, size_t n) = 0;
};

class BytesSource : public SnapshotSource {
 public:
  explicit BytesSource(std::string_view bytes) : bytes_(bytes) {}
  size_t Size() const override { return bytes_.size(); }
  Status ReadAt(size_t offset, char* dst, size_t n) override;

 private:
  std::string_view bytes_;
};

class FileSource : public SnapshotSource {
 public:
  // NotFound if path does not exist, IOError if it cannot be opened.
  static Result<std::unique_ptr<FileSource>> Open(const std::string& path);
  ~FileSource() override;
  size_t Size() const override { return size_; }
  Status ReadAt(size_t offset, char* dst, size_t n) override;

 private:
  FileSource(int fd, size_t size, std::string path) : fd_(fd), size_(size), path_(std::move(path)) {}
  int fd_;
  size_t size_;
  std::string path_;
};

struct FreeDeleter {
  void operator()(char* p) const { std::free(p); }
};

// A checked snapshot, ready to be adopted by hnswlib.
struct SnapshotImage {
  SnapshotHeader header;
  size_t capacity = 0;  // points level0 has room for (>= header.count)
  std::unique_ptr<char, FreeDeleter> level0;  // malloc'ed, capacity * size_data_per_element
  std::vector<char> upper;                    // the upper-layer section as in the file
  std::vector<uint64_t> upper_at;  // per point: offset in upper of its first level's links
  std::vector<int> levels;         // per point, capacity entries (0 beyond count)
  uint32_t crc = 0;                // the body's CRC32C (from the footer, verified)
};

// Reads and checks a snapshot for space def: footer (magic, version, length, checksum), header
// against def, sizes against the file, per point the link counts (<= max_m0 / max_m), the
// deleted flag, every neighbour id (< count, and at a level its target has), the levels
// (<= max_level, the entry point's == max_level), labels (unique node ids < kInvalidNode),
// finite vector values.
// Corruption with the reason; ResourceExhausted if memory runs out. `min_capacity`: the least
// room to reserve in level0 (the index's initial capacity).
Result<SnapshotImage> ReadSnapshot(const VectorSpaceDef& def, SnapshotSource* source,
                                   size_t min_capacity);

}  // namespace pathwise::vector
