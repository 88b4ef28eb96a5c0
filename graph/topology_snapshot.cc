// Graph::SaveSnapshot / Graph::LoadSnapshot: the topology snapshot file (format in
// docs/storage-format.md, "Topology snapshot"; why and when in docs/architecture-serving.md).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <system_error>
#include <thread>

#include "graph/graph.h"
#include "graph/graph_impl.h"
#include "graph/huge_pages.h"
#include "storage/crc32c.h"
#include "storage/durable_files.h"

namespace pathwise::graph {

namespace {

using Impl = GraphAccess::Impl;

constexpr char kMagic[8] = {'P', 'W', 'T', 'O', 'P', 'O', 'L', '\0'};
constexpr char kFooterMagic[4] = {'P', 'W', 'T', 'E'};
constexpr size_t kHeaderWords = 12;
constexpr size_t kHeaderBytes = kHeaderWords * 8;
constexpr size_t kFooterBytes = 16;  // u64 body length, u32 CRC32C of the body, footer magic
static_assert(sizeof(Neighbor) == 24, "the snapshot stores Neighbor as its 24 in-memory bytes");

// Header words after the 8-byte magic (all u64, little-endian).
enum HeaderWord : size_t {
  kFormat = 1, kMarker, kIdBound, kNodes, kEdges, kLists, kEntries, kRanked,
  kNameBytes, kKeyBytes, kPropBytes,
};

// Per list: its entry count, edge type and direction (8 bytes).
struct ListHeader {
  uint32_t size;
  TypeId type;
  uint8_t dir;
  uint8_t unused;
};
static_assert(sizeof(ListHeader) == 8);

// ---- Writing ---------------------------------------------------------------------------------

// A new file written through a 1 MiB buffer while checksumming every byte.
class SnapshotFile {
 public:
  explicit SnapshotFile(std::string path) : path_(std::move(path)) { buf_.reserve(kBuffer); }
  ~SnapshotFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  Status Open() {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) return Status::IOError("cannot create " + path_ + ": " + std::strerror(errno));
    return Status::OK();
  }
  void Put(const void* data, size_t n) {
    crc_ = storage::Crc32c(crc_, data, n);
    bytes_ += n;
    const char* p = static_cast<const char*>(data);
    if (buf_.size() + n > kBuffer) Flush();
    if (n >= kBuffer) {
      WriteAll(p, n);
    } else {
      buf_.insert(buf_.end(), p, p + n);
    }
  }
  template <typename T>
  void PutValue(T v) {
    Put(&v, sizeof(v));
  }
  // Appends the footer (not checksummed), flushes and fsyncs.
  Status Finish() {
    char footer[kFooterBytes];
    std::memcpy(footer, &bytes_, 8);
    std::memcpy(footer + 8, &crc_, 4);
    std::memcpy(footer + 12, kFooterMagic, 4);
    Flush();
    WriteAll(footer, kFooterBytes);
    if (error_.ok() && ::fsync(fd_) != 0) error_ = Status::IOError("fsync failed for " + path_);
    return error_;
  }
  uint64_t bytes() const { return bytes_ + kFooterBytes; }
  // Zero bytes up to the next multiple of `align` bytes from the start of the file.
  void PadTo(size_t align) {
    static constexpr char kZeros[8] = {};
    const size_t pad = (align - bytes_ % align) % align;
    if (pad > 0) Put(kZeros, pad);
  }

 private:
  static constexpr size_t kBuffer = size_t{1} << 20;
  void Flush() {
    WriteAll(buf_.data(), buf_.size());
    buf_.clear();
  }
  void WriteAll(const char* p, size_t n) {
    while (n > 0 && error_.ok()) {
      ssize_t w = ::write(fd_, p, n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        error_ = Status::IOError("cannot write " + path_ + ": " + std::strerror(errno));
        return;
      }
      p += w;
      n -= static_cast<size_t>(w);
    }
  }
  std::string path_;
  int fd_ = -1;
  std::vector<char> buf_;
  uint32_t crc_ = 0;
  uint64_t bytes_ = 0;
  Status error_;
};

void EncodeValue(const Value& v, std::string* out) {
  out->push_back(static_cast<char>(v.index()));
  auto put_string = [out](const std::string& s) {
    auto n = static_cast<uint32_t>(s.size());
    out->append(reinterpret_cast<const char*>(&n), 4);
    out->append(s);
  };
  if (const bool* b = std::get_if<bool>(&v)) {
    out->push_back(*b ? 1 : 0);
  } else if (const int64_t* i = std::get_if<int64_t>(&v)) {
    out->append(reinterpret_cast<const char*>(i), 8);
  } else if (const double* d = std::get_if<double>(&v)) {
    out->append(reinterpret_cast<const char*>(d), 8);
  } else if (const std::string* s = std::get_if<std::string>(&v)) {
    put_string(*s);
  } else if (const auto* list = std::get_if<std::vector<std::string>>(&v)) {
    auto n = static_cast<uint32_t>(list->size());
    out->append(reinterpret_cast<const char*>(&n), 4);
    for (const std::string& s : *list) put_string(s);
  }
}

// A node's properties: u32 count, then per property u32 PropId, u8 kind, payload.
std::string EncodeProps(const std::vector<std::pair<PropId, Value>>& props) {
  std::string out;
  if (props.empty()) return out;
  auto n = static_cast<uint32_t>(props.size());
  out.append(reinterpret_cast<const char*>(&n), 4);
  for (const auto& p : props) {
    out.append(reinterpret_cast<const char*>(&p.first), 4);
    EncodeValue(p.second, &out);
  }
  return out;
}

// A list in the order Load builds it (ascending neighbour id: dst order out, src order in), with
// its rank order remapped to the new positions; `items` and `ranked` point at the list's own
// arrays when it is already in that order (every list Load built and no write changed).
struct CanonicalList {
  const Neighbor* items = nullptr;
  const uint32_t* ranked = nullptr;
  std::vector<Neighbor> sorted_items;
  std::vector<uint32_t> sorted_ranked;
};

void Canonicalize(const AdjList& list, CanonicalList* out) {
  out->items = list.items.data();
  out->ranked = list.ranked.data();
  const auto by_node = [](const Neighbor& a, const Neighbor& b) { return a.node < b.node; };
  if (std::is_sorted(list.items.begin(), list.items.end(), by_node)) return;
  const size_t n = list.items.size();
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return list.items[a].node < list.items[b].node; });
  std::vector<uint32_t> new_pos(n);
  out->sorted_items.resize(n);
  for (uint32_t k = 0; k < n; ++k) {
    out->sorted_items[k] = list.items[order[k]];
    new_pos[order[k]] = k;
  }
  out->sorted_ranked.resize(list.ranked.size());
  for (size_t r = 0; r < list.ranked.size(); ++r) out->sorted_ranked[r] = new_pos[list.ranked[r]];
  out->items = out->sorted_items.data();
  out->ranked = out->sorted_ranked.data();
}

// What the header counts, and the nodes' encoded properties; gathered in one pass over the
// slots before anything is written.
struct Counts {
  NodeId bound = 0;  // last live id + 1, as Load would have it
  uint64_t nodes = 0, edges = 0, lists = 0, entries = 0, ranked = 0, name_bytes = 0;
  uint64_t key_bytes = 0;
  std::vector<uint32_t> prop_len;  // per id below bound
  std::string props;               // every node's encoded properties, in id order
};

Counts Count(const Impl& impl, const std::vector<std::string>& names) {
  Counts c;
  const NodeId bound = impl.id_bound.load(std::memory_order_acquire);
  for (const std::string& name : names) c.name_bytes += 4 + name.size();
  for (NodeId id = 0; id < bound; ++id) {
    const NodeSlot& slot = impl.Slot(id);
    if (slot.type == kInvalidType) {
      c.prop_len.push_back(0);
      continue;
    }
    c.bound = id + 1;
    ++c.nodes;
    c.key_bytes += slot.key.size();
    std::string props = EncodeProps(slot.props);
    c.prop_len.push_back(static_cast<uint32_t>(props.size()));
    c.props += props;
    for (const AdjList& l : slot.lists) {
      if (l.items.empty()) continue;
      ++c.lists;
      c.entries += l.items.size();
      c.ranked += l.ranked.size();
      if (l.dir == Direction::kOut) c.edges += l.items.size();
    }
  }
  c.prop_len.resize(c.bound);
  return c;
}

void WriteBody(const Impl& impl, const std::vector<std::string>& names, const Counts& c,
               uint64_t marker, SnapshotFile* file) {
  uint64_t header[kHeaderWords] = {};
  std::memcpy(&header[0], kMagic, 8);
  header[kFormat] = Graph::kSnapshotFormat;
  header[kMarker] = marker;
  header[kIdBound] = c.bound;
  header[kNodes] = c.nodes;
  header[kEdges] = c.edges;
  header[kLists] = c.lists;
  header[kEntries] = c.entries;
  header[kRanked] = c.ranked;
  header[kNameBytes] = c.name_bytes;
  header[kKeyBytes] = c.key_bytes;
  header[kPropBytes] = c.props.size();
  file->Put(header, kHeaderBytes);
  file->PutValue(static_cast<uint32_t>(names.size()));
  for (const std::string& name : names) {
    file->PutValue(static_cast<uint32_t>(name.size()));
    file->Put(name.data(), name.size());
  }
  // One pass over the slots per section; a removed node's slot writes zero lengths.
  auto for_live = [&](auto&& fn) {
    for (NodeId id = 0; id < c.bound; ++id) {
      const NodeSlot& s = impl.Slot(id);
      if (s.type != kInvalidType) fn(s);
    }
  };
  for (NodeId id = 0; id < c.bound; ++id) file->PutValue(impl.Slot(id).type);
  for (NodeId id = 0; id < c.bound; ++id) {
    const NodeSlot& s = impl.Slot(id);
    file->PutValue(static_cast<uint32_t>(s.type == kInvalidType ? 0 : s.key.size()));
  }
  for_live([&](const NodeSlot& s) { file->Put(s.key.data(), s.key.size()); });
  file->Put(c.prop_len.data(), c.prop_len.size() * sizeof(uint32_t));
  file->Put(c.props.data(), c.props.size());
  for (NodeId id = 0; id < c.bound; ++id) {
    const NodeSlot& s = impl.Slot(id);
    uint32_t lists = 0;
    if (s.type != kInvalidType) {
      for (const AdjList& l : s.lists) lists += l.items.empty() ? 0 : 1;
    }
    file->PutValue(lists);
  }
  for_live([&](const NodeSlot& s) {
    for (const AdjList& l : s.lists) {
      if (l.items.empty()) continue;
      ListHeader h{static_cast<uint32_t>(l.items.size()), l.type, static_cast<uint8_t>(l.dir), 0};
      file->PutValue(h);
    }
  });
  // The lists section starts 8-aligned in the file and every list's entries stay so (an odd
  // rank order is followed by 4 zero bytes): the loaded graph's lists use them where they lie.
  file->PadTo(alignof(Neighbor));
  CanonicalList canonical;
  for_live([&](const NodeSlot& s) {
    for (const AdjList& l : s.lists) {
      if (l.items.empty()) continue;
      Canonicalize(l, &canonical);
      file->Put(canonical.items, l.items.size() * sizeof(Neighbor));
      file->Put(canonical.ranked, l.ranked.size() * sizeof(uint32_t));
      if (l.ranked.size() % 2 == 1) file->PutValue(uint32_t{0});
    }
  });
}

// ---- Reading ---------------------------------------------------------------------------------

// The whole file read into one HugePageBlock. The loaded lists borrow from it where they lie
// (the block is 2 MiB-aligned and the lists section 8-aligned in the file), so the block is
// handed to the graph; the pages before the lists are discarded once decoded. Reading instead of
// mapping: each 4 KiB page of a mapping is a fault of its own, which on a VM costs more than the
// copy `pread` makes into huge pages.
class FileImage {
 public:
  Status Read(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return Status::NotFound("no topology snapshot at " + path);
      return Status::IOError("cannot open " + path + ": " + std::strerror(errno));
    }
    Status s = ReadAll(fd, path);
    ::close(fd);
    return s;
  }
  const char* data() const { return block_->data(); }
  size_t size() const { return size_; }
  std::shared_ptr<HugePageBlock> block() const { return block_; }

 private:
  Status ReadAll(int fd, const std::string& path) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return Status::IOError("cannot stat " + path);
    size_ = static_cast<size_t>(st.st_size);
    block_ = std::make_shared<HugePageBlock>(size_);
    for (size_t at = 0; at < size_;) {
      const size_t chunk = std::min<size_t>(size_ - at, size_t{1} << 30);
      ssize_t r = ::pread(fd, block_->data() + at, chunk, static_cast<off_t>(at));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return Status::IOError("cannot read " + path + ": " + std::strerror(errno));
      if (r == 0) return Status::Corruption("the snapshot is truncated");  // shrank meanwhile
      at += static_cast<size_t>(r);
    }
    block_->Seal();
    return Status::OK();
  }

  std::shared_ptr<HugePageBlock> block_;
  size_t size_ = 0;
};

// Bounds-checked reads over the body; every read past the end is Corruption.
class Reader {
 public:
  Reader(const char* p, size_t n) : p_(p), end_(p + n) {}
  Status Take(size_t n, const char** out) {
    if (static_cast<size_t>(end_ - p_) < n) return Status::Corruption("the snapshot is truncated");
    *out = p_;
    p_ += n;
    return Status::OK();
  }
  template <typename T>
  Status Get(T* v) {
    const char* p;
    PW_RETURN_IF_ERROR(Take(sizeof(T), &p));
    std::memcpy(v, p, sizeof(T));
    return Status::OK();
  }
  // A section of count elements of T, read later with At.
  template <typename T>
  Status Array(uint64_t count, const char** out) {
    if (count > static_cast<size_t>(end_ - p_) / sizeof(T))
      return Status::Corruption("the snapshot is truncated");
    return Take(count * sizeof(T), out);
  }
  // Skips the zero bytes up to the next address that is a multiple of align (the image starts
  // 2 MiB-aligned, so that is the file offset's alignment too).
  Status SkipPadding(size_t align) {
    const size_t pad = (align - reinterpret_cast<uintptr_t>(p_) % align) % align;
    const char* p = nullptr;
    PW_RETURN_IF_ERROR(Take(pad, &p));
    for (size_t i = 0; i < pad; ++i) {
      if (p[i] != 0) return Status::Corruption("the padding before the lists is not zero");
    }
    return Status::OK();
  }
  const char* position() const { return p_; }
  size_t left() const { return static_cast<size_t>(end_ - p_); }
  bool AtEnd() const { return p_ == end_; }

 private:
  const char* p_;
  const char* end_;
};

template <typename T>
T At(const char* array, size_t i) {
  T v;
  std::memcpy(&v, array + i * sizeof(T), sizeof(T));
  return v;
}

Status DecodeString(Reader& r, std::string* out) {
  uint32_t n;
  const char* p;
  PW_RETURN_IF_ERROR(r.Get(&n));
  PW_RETURN_IF_ERROR(r.Take(n, &p));
  out->assign(p, n);
  return Status::OK();
}

Status DecodeValue(Reader& r, Value* v) {
  uint8_t kind;
  PW_RETURN_IF_ERROR(r.Get(&kind));
  switch (kind) {
    case 0: *v = std::monostate{}; return Status::OK();
    case 1: { uint8_t b; PW_RETURN_IF_ERROR(r.Get(&b)); *v = b != 0; return Status::OK(); }
    case 2: { int64_t i; PW_RETURN_IF_ERROR(r.Get(&i)); *v = i; return Status::OK(); }
    case 3: { double d; PW_RETURN_IF_ERROR(r.Get(&d)); *v = d; return Status::OK(); }
    case 4: { std::string s; PW_RETURN_IF_ERROR(DecodeString(r, &s)); *v = std::move(s); return Status::OK(); }
    case 5: {
      uint32_t n;
      PW_RETURN_IF_ERROR(r.Get(&n));
      std::vector<std::string> list;
      for (uint32_t i = 0; i < n; ++i) PW_RETURN_IF_ERROR(DecodeString(r, &list.emplace_back()));
      *v = std::move(list);
      return Status::OK();
    }
    default: return Status::Corruption("a property has an unknown value kind");
  }
}

Status DecodeProps(const char* p, size_t n, size_t prop_names,
                   std::vector<std::pair<PropId, Value>>* out) {
  if (n == 0) return Status::OK();
  Reader r(p, n);
  uint32_t count;
  PW_RETURN_IF_ERROR(r.Get(&count));
  if (count > n / 5) return Status::Corruption("a node's property count exceeds its bytes");
  out->resize(count);
  for (auto& [prop, value] : *out) {
    PW_RETURN_IF_ERROR(r.Get(&prop));
    if (prop >= prop_names) return Status::Corruption("a property id is out of range");
    PW_RETURN_IF_ERROR(DecodeValue(r, &value));
  }
  if (!r.AtEnd()) return Status::Corruption("a node's properties do not fill their bytes");
  for (size_t i = 1; i < out->size(); ++i) {
    if ((*out)[i - 1].first >= (*out)[i].first)
      return Status::Corruption("a node's properties are not in id order");
  }
  return Status::OK();
}

// The sections, located and size-checked against the header before any slot is filled.
struct Sections {
  const uint64_t* header;
  const char *types, *key_len, *keys, *prop_len, *props, *list_count, *lists;
  const char* entries;  // the lists, up to entries_end (8-aligned)
  const char* entries_end;
};

Status Locate(Reader& r, const uint64_t h[kHeaderWords], Impl& impl, Sections* s) {
  uint32_t names;
  PW_RETURN_IF_ERROR(r.Get(&names));
  for (uint32_t i = 0; i < names; ++i) {
    std::string name;
    PW_RETURN_IF_ERROR(DecodeString(r, &name));
    if (!impl.prop_ids.emplace(name, static_cast<PropId>(i)).second)
      return Status::Corruption("a property name appears twice");
    impl.prop_names.push_back(std::move(name));
  }
  const uint64_t bound = h[kIdBound];
  if (bound >= kInvalidNode) return Status::Corruption("the id bound is out of range");
  PW_RETURN_IF_ERROR(r.Array<TypeId>(bound, &s->types));
  PW_RETURN_IF_ERROR(r.Array<uint32_t>(bound, &s->key_len));
  PW_RETURN_IF_ERROR(r.Array<char>(h[kKeyBytes], &s->keys));
  PW_RETURN_IF_ERROR(r.Array<uint32_t>(bound, &s->prop_len));
  PW_RETURN_IF_ERROR(r.Array<char>(h[kPropBytes], &s->props));
  PW_RETURN_IF_ERROR(r.Array<uint32_t>(bound, &s->list_count));
  PW_RETURN_IF_ERROR(r.Array<ListHeader>(h[kLists], &s->lists));
  if (h[kEntries] > (uint64_t{1} << 40) || h[kRanked] > h[kEntries])
    return Status::Corruption("the entry counts are out of range");
  PW_RETURN_IF_ERROR(r.SkipPadding(alignof(Neighbor)));
  // The lists fill the rest: entries, rank orders and one 4-byte pad per odd rank order, which
  // FillLists counts (the header does not).
  if (r.left() < h[kEntries] * sizeof(Neighbor) + h[kRanked] * 4)
    return Status::Corruption("the snapshot is truncated");
  s->entries = r.position();
  s->entries_end = s->entries + r.left();
  return Status::OK();
}

// Types, keys and properties of every node; the per-type id lists in id order.
Status FillNodes(const Sections& s, Impl& impl) {
  const auto bound = static_cast<NodeId>(s.header[kIdBound]);
  impl.GrowTo(bound);
  uint64_t key_at = 0, prop_at = 0, nodes = 0;
  for (NodeId id = 0; id < bound; ++id) {
    NodeSlot& slot = impl.Slot(id);
    slot.type = At<TypeId>(s.types, id);
    const uint32_t key_len = At<uint32_t>(s.key_len, id);
    const uint32_t prop_len = At<uint32_t>(s.prop_len, id);
    if (key_len > s.header[kKeyBytes] - key_at || prop_len > s.header[kPropBytes] - prop_at)
      return Status::Corruption("a node's key or properties run past their section");
    if (slot.type == kInvalidType) {
      if (key_len != 0 || prop_len != 0 || At<uint32_t>(s.list_count, id) != 0)
        return Status::Corruption("a removed node has data");
      continue;
    }
    ++nodes;
    slot.key.assign(s.keys + key_at, key_len);
    key_at += key_len;
    PW_RETURN_IF_ERROR(DecodeProps(s.props + prop_at, prop_len, impl.prop_names.size(), &slot.props));
    prop_at += prop_len;
    if (impl.dicts.size() <= slot.type) impl.dicts.resize(static_cast<size_t>(slot.type) + 1);
    impl.dicts[slot.type].ids.push_back(id);
  }
  if (nodes != s.header[kNodes] || key_at != s.header[kKeyBytes] || prop_at != s.header[kPropBytes])
    return Status::Corruption("the node sections disagree with the header");
  if (bound > 0 && At<TypeId>(s.types, bound - 1) == kInvalidType)
    return Status::Corruption("the id bound is past the last node");
  impl.node_count.store(nodes, std::memory_order_relaxed);
  return Status::OK();
}

// Every list borrows its entries and rank order where they lie in the image (ListArray), after a
// check of each entry's node and each rank position.
Status FillLists(const Sections& s, Impl& impl) {
  const auto bound = static_cast<NodeId>(s.header[kIdBound]);
  uint64_t list_at = 0, entries = 0, ranked = 0, out_edges = 0, in_edges = 0;
  const char* p = s.entries;
  for (NodeId id = 0; id < bound; ++id) {
    const uint32_t count = At<uint32_t>(s.list_count, id);
    if (count > s.header[kLists] - list_at) return Status::Corruption("the list counts exceed the lists");
    NodeSlot& slot = impl.Slot(id);
    slot.lists.resize(count);
    for (AdjList& list : slot.lists) {
      const auto h = At<ListHeader>(s.lists, list_at++);
      if (h.size == 0 || h.type == kInvalidType || h.dir > 1 ||
          h.size > s.header[kEntries] - entries)
        return Status::Corruption("a list header is out of range");
      const size_t ranks = h.size >= 2 ? h.size : 0;
      const size_t bytes = h.size * sizeof(Neighbor) + (ranks + ranks % 2) * sizeof(uint32_t);
      if (ranks > s.header[kRanked] - ranked || bytes > static_cast<size_t>(s.entries_end - p))
        return Status::Corruption("the rank orders overrun");
      list.type = h.type;
      list.dir = static_cast<Direction>(h.dir);
      list.items = ListArray<Neighbor>::Borrow(reinterpret_cast<const Neighbor*>(p), h.size);
      list.ranked = ListArray<uint32_t>::Borrow(
          reinterpret_cast<const uint32_t*>(p + h.size * sizeof(Neighbor)), ranks);
      p += bytes;
      entries += h.size;
      ranked += ranks;
      (list.dir == Direction::kOut ? out_edges : in_edges) += h.size;
      for (const Neighbor& n : list.items) {
        if (n.node >= bound || At<TypeId>(s.types, n.node) == kInvalidType)
          return Status::Corruption("an edge points at a node that does not exist");
      }
      for (uint32_t pos : list.ranked) {
        if (pos >= h.size) return Status::Corruption("a rank position is out of range");
      }
      list.BuildIndexIfLarge();
    }
  }
  if (list_at != s.header[kLists] || entries != s.header[kEntries] ||
      ranked != s.header[kRanked] || out_edges != s.header[kEdges] || in_edges != out_edges ||
      p != s.entries_end)
    return Status::Corruption("the lists disagree with the header");
  impl.edge_count.store(out_edges, std::memory_order_relaxed);
  return Status::OK();
}

void BuildKeyMaps(Impl& impl) {
  for (TypeDict& dict : impl.dicts) {
    dict.by_key.reserve(dict.ids.size());
    for (NodeId id : dict.ids) dict.by_key.emplace(impl.Slot(id).key, id);
  }
}

// Checks the footer, the header's magic and version, the length and the checksum.
Status CheckFile(const FileImage& file, uint64_t expected_marker, uint64_t header[kHeaderWords]) {
  if (file.size() < kHeaderBytes + kFooterBytes)
    return Status::Corruption("the snapshot is truncated");
  std::memcpy(header, file.data(), kHeaderBytes);
  if (std::memcmp(&header[0], kMagic, 8) != 0) return Status::Corruption("not a topology snapshot");
  if (header[kFormat] != Graph::kSnapshotFormat) {
    return Status::Corruption("format " + std::to_string(header[kFormat]) + ", expected " +
                              std::to_string(Graph::kSnapshotFormat));
  }
  const char* footer = file.data() + file.size() - kFooterBytes;
  uint64_t body_bytes;
  uint32_t crc;
  std::memcpy(&body_bytes, footer, 8);
  std::memcpy(&crc, footer + 8, 4);
  if (std::memcmp(footer + 12, kFooterMagic, 4) != 0 || body_bytes != file.size() - kFooterBytes)
    return Status::Corruption("the snapshot is truncated or its footer is damaged");
  if (storage::Crc32c(0, file.data(), body_bytes) != crc)
    return Status::Corruption("checksum mismatch (the file is damaged)");
  if (header[kMarker] != expected_marker) {
    return Status::Corruption("stale: written at store sequence " + std::to_string(header[kMarker]) +
                              ", the store is at " + std::to_string(expected_marker));
  }
  return Status::OK();
}

}  // namespace

Result<uint64_t> Graph::SaveSnapshot(const std::string& path, uint64_t marker) const {
  std::shared_lock dict_lock(impl_->dict_mu);
  std::shared_lock prop_lock(impl_->prop_mu);
  const std::vector<std::string>& names = impl_->prop_names;
  const Counts counts = Count(*impl_, names);
  const std::string tmp = path + ".tmp";
  uint64_t bytes = 0;
  {
    SnapshotFile file(tmp);
    Status s = file.Open();
    if (s.ok()) {
      WriteBody(*impl_, names, counts, marker, &file);
      s = file.Finish();
      bytes = file.bytes();
    }
    if (!s.ok()) {
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      return s;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Status::IOError("cannot rename " + tmp + ": " + ec.message());
  PW_RETURN_IF_ERROR(storage::SyncParentDirectory(path));
  return bytes;
}

Result<std::unique_ptr<Graph>> Graph::LoadSnapshot(const std::string& path,
                                                   uint64_t expected_marker) {
  FileImage file;
  PW_RETURN_IF_ERROR(file.Read(path));
  uint64_t header[kHeaderWords];
  PW_RETURN_IF_ERROR(CheckFile(file, expected_marker, header));
  std::unique_ptr<Graph> graph = CreateEmpty();
  Impl& impl = *graph->impl_;
  Reader reader(file.data() + kHeaderBytes, file.size() - kHeaderBytes - kFooterBytes);
  Sections sections{};
  sections.header = header;
  PW_RETURN_IF_ERROR(Locate(reader, header, impl, &sections));
  PW_RETURN_IF_ERROR(FillNodes(sections, impl));
  // The key maps read only the slots' keys: built beside the lists (which touch only lists).
  std::thread key_maps;
  try {
    key_maps = std::thread(BuildKeyMaps, std::ref(impl));
  } catch (const std::system_error&) {
    BuildKeyMaps(impl);
  }
  Status lists = FillLists(sections, impl);
  if (key_maps.joinable()) key_maps.join();
  PW_RETURN_IF_ERROR(lists);
  // The lists stay where they lie: the graph keeps the image, less the decoded sections before.
  std::shared_ptr<HugePageBlock> image = file.block();
  image->Discard(static_cast<size_t>(sections.entries - file.data()));
  impl.image_bytes = static_cast<size_t>(sections.entries_end - sections.entries);
  impl.image = std::move(image);
  return graph;
}

}  // namespace pathwise::graph
