// Snapshot files: framing (footer, CRC32C), file I/O and the checks of ReadSnapshot.
#include "vector/snapshot_format.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <new>
#include <unordered_set>

#include "storage/crc32c.h"
#include "storage/huge_pages.h"

namespace pathwise::vector {
namespace {

constexpr char kMagic[8] = {'P', 'W', 'V', 'S', 'N', 'A', 'P', '\0'};
constexpr size_t kFileBuffer = size_t{1} << 20;
// FileSink's write-back step (see snapshot_format.h).
constexpr size_t kWriteBackStep = size_t{4} << 20;
constexpr uint32_t kLinkCountMask = 0xffff;  // bits 0-15 of a link header
constexpr uint32_t kDeletedBit = 1u << 16;   // hnswlib's DELETE_MARK in byte 2
constexpr uint64_t kMaxPoints = 0xfffffffe;  // 32-bit ids; 0xffffffff means "none"
constexpr uint64_t kMaxEfConstruction = uint64_t{1} << 24;

template <typename T>
void PutPod(char** p, T v) {
  std::memcpy(*p, &v, sizeof(T));
  *p += sizeof(T);
}

template <typename T>
T GetPod(const char** p) {
  T v;
  std::memcpy(&v, *p, sizeof(T));
  *p += sizeof(T);
  return v;
}

template <typename T>
T PodAt(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

SnapshotHeader DecodeHeader(const char* in) {
  const char* p = in;
  SnapshotHeader h;
  h.offset_level0 = GetPod<uint64_t>(&p);
  h.max_elements = GetPod<uint64_t>(&p);
  h.count = GetPod<uint64_t>(&p);
  h.size_data_per_element = GetPod<uint64_t>(&p);
  h.label_offset = GetPod<uint64_t>(&p);
  h.offset_data = GetPod<uint64_t>(&p);
  h.max_level = GetPod<int32_t>(&p);
  h.entry_point = GetPod<uint32_t>(&p);
  h.max_m = GetPod<uint64_t>(&p);
  h.max_m0 = GetPod<uint64_t>(&p);
  h.m = GetPod<uint64_t>(&p);
  h.mult = GetPod<double>(&p);
  h.ef_construction = GetPod<uint64_t>(&p);
  return h;
}

Status Corrupt(const std::string& why) { return Status::Corruption("vector snapshot: " + why); }

// The header describes an index of space def whose body holds `body` bytes.
Status CheckHeader(const VectorSpaceDef& def, const SnapshotHeader& h, size_t body) {
  const uint64_t links0 = 4 + 4 * uint64_t{h.max_m0};
  const uint64_t data = uint64_t{def.dim} * sizeof(float);
  if (h.m != def.m || h.max_m != def.m || h.max_m0 != 2 * uint64_t{def.m}) {
    return Corrupt("graph degree (m " + std::to_string(h.m) + ", max_m " +
                   std::to_string(h.max_m) + ", max_m0 " + std::to_string(h.max_m0) +
                   ") does not match the space's m " + std::to_string(def.m));
  }
  if (h.offset_level0 != 0 || h.offset_data != links0 || h.label_offset != links0 + data ||
      h.size_data_per_element != links0 + data + sizeof(uint64_t)) {
    return Corrupt("point layout does not match a space of dim " + std::to_string(def.dim));
  }
  const double mult = 1.0 / std::log(static_cast<double>(def.m));
  if (!(std::fabs(h.mult - mult) <= 1e-9 * mult)) return Corrupt("level multiplier is wrong");
  if (h.ef_construction == 0 || h.ef_construction > kMaxEfConstruction) {
    return Corrupt("ef_construction " + std::to_string(h.ef_construction) + " out of range");
  }
  if (h.count > kMaxPoints || h.count > (body - kSnapshotHeaderBytes) / h.size_data_per_element) {
    return Corrupt(std::to_string(h.count) + " points do not fit in a body of " +
                   std::to_string(body) + " bytes");
  }
  if (h.max_elements < h.count) {
    return Corrupt("capacity " + std::to_string(h.max_elements) + " below the point count " +
                   std::to_string(h.count));
  }
  if (h.count == 0 && (h.max_level != -1 || h.entry_point != 0xffffffff)) {
    return Corrupt("an empty graph has an entry point");
  }
  if (h.count > 0 && (h.max_level < 0 || h.entry_point >= h.count)) {
    return Corrupt("entry point " + std::to_string(h.entry_point) + " or top level " +
                   std::to_string(h.max_level) + " out of range");
  }
  return Status::OK();
}

// Splits the upper-layer section into per-point levels and link offsets.
Status ParseUpper(const SnapshotHeader& h, SnapshotImage* img) {
  const uint64_t per_level = 4 + 4 * h.max_m;
  const std::vector<char>& upper = img->upper;
  img->upper_at.assign(h.count, 0);
  size_t at = 0;
  for (size_t i = 0; i < h.count; ++i) {
    if (upper.size() - at < 4) return Corrupt("upper layers truncated at point " + std::to_string(i));
    const uint32_t bytes = PodAt<uint32_t>(upper.data() + at);
    at += 4;
    if (bytes % per_level != 0 || upper.size() - at < bytes) {
      return Corrupt("upper-layer size " + std::to_string(bytes) + " of point " +
                     std::to_string(i) + " is damaged");
    }
    const uint64_t level = bytes / per_level;
    if (level > static_cast<uint64_t>(std::max(h.max_level, 0))) {
      return Corrupt("point " + std::to_string(i) + " has level " + std::to_string(level) +
                     " above the top level " + std::to_string(h.max_level));
    }
    img->levels[i] = static_cast<int>(level);
    img->upper_at[i] = at;
    at += bytes;
  }
  if (at != upper.size()) return Corrupt("trailing bytes after the upper layers");
  if (h.count > 0 && img->levels[h.entry_point] != h.max_level) {
    return Corrupt("the entry point's level is not the top level");
  }
  return Status::OK();
}

// One link list: count within max, every id an existing point present at `level`.
Status CheckLinks(const SnapshotImage& img, const char* list, uint64_t max, int level,
                  size_t point) {
  const uint32_t head = PodAt<uint32_t>(list);
  const uint32_t n = head & kLinkCountMask;
  if (n > max) {
    return Corrupt("point " + std::to_string(point) + " has " + std::to_string(n) +
                   " links at level " + std::to_string(level) + ", more than " +
                   std::to_string(max));
  }
  const uint64_t count = img.header.count;
  for (uint32_t j = 0; j < n; ++j) {
    const uint32_t id = PodAt<uint32_t>(list + 4 + 4 * size_t{j});
    if (id >= count) {
      return Corrupt("point " + std::to_string(point) + " links to point " + std::to_string(id) +
                     ", beyond the " + std::to_string(count) + " points");
    }
    if (img.levels[id] < level) {
      return Corrupt("point " + std::to_string(point) + " links to point " + std::to_string(id) +
                     " at level " + std::to_string(level) + ", which that point lacks");
    }
  }
  return Status::OK();
}

Status CheckPoints(const VectorSpaceDef& def, const SnapshotImage& img) {
  const SnapshotHeader& h = img.header;
  const uint64_t per_level = 4 + 4 * h.max_m;
  std::unordered_set<uint64_t> labels;
  labels.reserve(h.count);
  for (size_t i = 0; i < h.count; ++i) {
    const char* point = img.level0.get() + i * h.size_data_per_element;
    const uint32_t head = PodAt<uint32_t>(point + h.offset_level0);
    if ((head & ~(kLinkCountMask | kDeletedBit)) != 0) {
      return Corrupt("point " + std::to_string(i) + " has unknown flags");
    }
    PW_RETURN_IF_ERROR(CheckLinks(img, point + h.offset_level0, h.max_m0, 0, i));
    for (int level = 1; level <= img.levels[i]; ++level) {
      const char* list = img.upper.data() + img.upper_at[i] + (level - 1) * per_level;
      PW_RETURN_IF_ERROR(CheckLinks(img, list, h.max_m, level, i));
    }
    for (uint32_t d = 0; d < def.dim; ++d) {
      if (!std::isfinite(PodAt<float>(point + h.offset_data + 4 * size_t{d}))) {
        return Corrupt("point " + std::to_string(i) + " has a non-finite value");
      }
    }
    const uint64_t label = PodAt<uint64_t>(point + h.label_offset);
    if (label >= kInvalidNode) {
      return Corrupt("point " + std::to_string(i) + " has node id " + std::to_string(label) +
                     ", out of range");
    }
    if (!labels.insert(label).second) {
      return Corrupt("node " + std::to_string(label) + " appears twice");
    }
  }
  return Status::OK();
}

// Reads n bytes at offset into fresh memory at dst, faulted in as transparent huge pages while
// it is filled (storage/huge_pages.h): a 1M-point base layer is ~700 MB.
Status ReadIntoHugePages(SnapshotSource* src, size_t offset, char* dst, size_t n) {
  storage::HugePageFill fill(dst, n);
  return src->ReadAt(offset, dst, n);
}

Status ReadChecked(const VectorSpaceDef& def, SnapshotSource* src, size_t min_capacity,
                   SnapshotImage* img) {
  const size_t size = src->Size();
  if (size < kSnapshotHeaderBytes + kSnapshotFooterBytes) {
    return Corrupt("file of " + std::to_string(size) + " bytes is shorter than a header and footer");
  }
  char footer[kSnapshotFooterBytes];
  PW_RETURN_IF_ERROR(src->ReadAt(size - kSnapshotFooterBytes, footer, kSnapshotFooterBytes));
  if (std::memcmp(footer, kMagic, sizeof(kMagic)) != 0) {
    return Corrupt("no snapshot footer (truncated, or not a snapshot)");
  }
  const uint32_t version = PodAt<uint32_t>(footer + 8);
  const uint32_t crc = PodAt<uint32_t>(footer + 12);
  const uint64_t body = PodAt<uint64_t>(footer + 16);
  if (version != kSnapshotFormat) {
    return Corrupt("format version " + std::to_string(version) + ", expected " +
                   std::to_string(kSnapshotFormat));
  }
  if (body != size - kSnapshotFooterBytes) {
    return Corrupt("body length " + std::to_string(body) + " does not match the file's " +
                   std::to_string(size - kSnapshotFooterBytes));
  }
  char header[kSnapshotHeaderBytes];
  PW_RETURN_IF_ERROR(src->ReadAt(0, header, kSnapshotHeaderBytes));
  uint32_t actual = storage::Crc32c(0, header, kSnapshotHeaderBytes);
  img->header = DecodeHeader(header);
  const SnapshotHeader& h = img->header;
  PW_RETURN_IF_ERROR(CheckHeader(def, h, body));

  const uint64_t level0_bytes = h.count * h.size_data_per_element;
  img->capacity = std::clamp<uint64_t>(h.max_elements, std::max<uint64_t>(h.count, min_capacity),
                                       std::max<uint64_t>(2 * h.count, min_capacity));
  img->capacity = std::min<uint64_t>(img->capacity, kMaxPoints);
  img->level0.reset(static_cast<char*>(
      std::malloc(std::max<size_t>(1, img->capacity * h.size_data_per_element))));
  if (!img->level0) return Status::ResourceExhausted("no memory for a vector snapshot's points");
  PW_RETURN_IF_ERROR(ReadIntoHugePages(src, kSnapshotHeaderBytes, img->level0.get(), level0_bytes));
  actual = storage::Crc32c(actual, img->level0.get(), level0_bytes);
  img->upper.resize(body - kSnapshotHeaderBytes - level0_bytes);
  PW_RETURN_IF_ERROR(
      src->ReadAt(kSnapshotHeaderBytes + level0_bytes, img->upper.data(), img->upper.size()));
  actual = storage::Crc32c(actual, img->upper.data(), img->upper.size());
  if (actual != crc) return Corrupt("checksum mismatch (the file is damaged)");
  img->crc = crc;

  img->levels.assign(img->capacity, 0);
  PW_RETURN_IF_ERROR(ParseUpper(h, img));
  return CheckPoints(def, *img);
}

}  // namespace

void EncodeSnapshotHeader(const SnapshotHeader& h, char out[kSnapshotHeaderBytes]) {
  char* p = out;
  PutPod(&p, h.offset_level0);
  PutPod(&p, h.max_elements);
  PutPod(&p, h.count);
  PutPod(&p, h.size_data_per_element);
  PutPod(&p, h.label_offset);
  PutPod(&p, h.offset_data);
  PutPod(&p, h.max_level);
  PutPod(&p, h.entry_point);
  PutPod(&p, h.max_m);
  PutPod(&p, h.max_m0);
  PutPod(&p, h.m);
  PutPod(&p, h.mult);
  PutPod(&p, h.ef_construction);
}

std::string SnapshotFooter(uint32_t crc, uint64_t body_bytes) {
  std::string out(kSnapshotFooterBytes, '\0');
  char* p = out.data();
  std::memcpy(p, kMagic, sizeof(kMagic));
  p += sizeof(kMagic);
  PutPod(&p, kSnapshotFormat);
  PutPod(&p, crc);
  PutPod(&p, body_bytes);
  return out;
}

Status StringSink::Write(const char* data, size_t n) {
  out_->append(data, n);
  return Status::OK();
}

Result<std::unique_ptr<FileSink>> FileSink::Create(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError("cannot create " + path + ": " + std::strerror(errno));
  return std::unique_ptr<FileSink>(new FileSink(fd, path));
}

FileSink::FileSink(int fd, std::string path) : fd_(fd), path_(std::move(path)) {
  buf_.reserve(kFileBuffer);
}

FileSink::~FileSink() {
  if (fd_ >= 0) ::close(fd_);
}

Status FileSink::Write(const char* data, size_t n) {
  if (buf_.size() + n > kFileBuffer) PW_RETURN_IF_ERROR(Flush());
  if (n >= kFileBuffer) return WriteAll(data, n);  // the level-0 block: straight from memory
  buf_.insert(buf_.end(), data, data + n);
  return Status::OK();
}

Status FileSink::Flush() {
  PW_RETURN_IF_ERROR(WriteAll(buf_.data(), buf_.size()));
  buf_.clear();
  return Status::OK();
}

Status FileSink::WriteAll(const char* p, size_t left) {
  while (left > 0) {
    ssize_t w = ::write(fd_, p, std::min(left, kWriteBackStep));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return Status::IOError("cannot write " + path_ + ": " + std::strerror(errno));
    p += w;
    left -= static_cast<size_t>(w);
    written_ += static_cast<uint64_t>(w);
    WriteBack();
  }
  return Status::OK();
}

// Advisory: a failure here (a file system without sync_file_range) shows, if it matters, in
// Finish's fsync.
void FileSink::WriteBack() {
  while (written_ - started_ >= kWriteBackStep) {
    if (started_ > waited_) {
      (void)::sync_file_range(fd_, static_cast<off64_t>(waited_),
                              static_cast<off64_t>(started_ - waited_),
                              SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                                  SYNC_FILE_RANGE_WAIT_AFTER);
      waited_ = started_;
    }
    (void)::sync_file_range(fd_, static_cast<off64_t>(started_), kWriteBackStep,
                            SYNC_FILE_RANGE_WRITE);
    started_ += kWriteBackStep;
  }
}

Status FileSink::Finish() {
  PW_RETURN_IF_ERROR(Flush());
  if (::fsync(fd_) != 0) return Status::IOError("fsync failed for " + path_);
  int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) return Status::IOError("cannot close " + path_);
  return Status::OK();
}

Status SnapshotWriter::Write(const char* data, size_t n) {
  crc_ = storage::Crc32c(crc_, data, n);
  bytes_ += n;
  return sink_->Write(data, n);
}

Status SnapshotWriter::Finish() {
  std::string footer = SnapshotFooter(crc_, bytes_);
  return sink_->Write(footer.data(), footer.size());
}

Status BytesSource::ReadAt(size_t offset, char* dst, size_t n) {
  if (offset > bytes_.size() || n > bytes_.size() - offset) {
    return Status::Internal("snapshot read past the end");
  }
  if (n == 0) return Status::OK();  // dst may be null for an empty section
  std::memcpy(dst, bytes_.data() + offset, n);
  return Status::OK();
}

Result<std::unique_ptr<FileSource>> FileSource::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("no snapshot file " + path);
    return Status::IOError("cannot open " + path + ": " + std::strerror(errno));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return Status::IOError("cannot stat " + path);
  }
  return std::unique_ptr<FileSource>(new FileSource(fd, static_cast<size_t>(st.st_size), path));
}

FileSource::~FileSource() { ::close(fd_); }

Status FileSource::ReadAt(size_t offset, char* dst, size_t n) {
  while (n > 0) {
    ssize_t r = ::pread(fd_, dst, std::min<size_t>(n, size_t{1} << 30), static_cast<off_t>(offset));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return Status::IOError("cannot read " + path_ + ": short read");
    dst += r;
    offset += static_cast<size_t>(r);
    n -= static_cast<size_t>(r);
  }
  return Status::OK();
}

Result<SnapshotImage> ReadSnapshot(const VectorSpaceDef& def, SnapshotSource* source,
                                   size_t min_capacity) {
  SnapshotImage img;
  try {
    PW_RETURN_IF_ERROR(ReadChecked(def, source, min_capacity, &img));
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("no memory to load a vector snapshot for " + def.FullName());
  }
  return img;
}

}  // namespace pathwise::vector
