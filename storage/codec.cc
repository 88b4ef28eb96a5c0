// Key and value encodings (docs/storage-format.md). Decoders never trust their input: every
// length is bounds-checked and a malformed value is Status::Corruption.
#include "storage/codec.h"

#include <cstring>

namespace pathwise::storage::codec {

namespace {

enum Tag : uint8_t {
  kNull = 0,
  kFalse = 1,
  kTrue = 2,
  kInt = 3,
  kDouble = 4,
  kString = 5,
  kStringList = 6,
};

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

bool GetVarint(std::string_view* in, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && !in->empty(); shift += 7) {
    auto byte = static_cast<uint8_t>((*in)[0]);
    in->remove_prefix(1);
    result |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if (!(byte & 0x80)) {
      *v = result;
      return true;
    }
  }
  return false;
}

template <typename T>
void PutFixed(std::string* out, T v) {  // little-endian hosts only (x86-64, arm64)
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));
  out->append(buf, sizeof(T));
}

template <typename T>
bool GetFixed(std::string_view* in, T* v) {
  if (in->size() < sizeof(T)) return false;
  std::memcpy(v, in->data(), sizeof(T));
  in->remove_prefix(sizeof(T));
  return true;
}

void PutBytes(std::string* out, std::string_view s) {
  PutVarint(out, s.size());
  out->append(s);
}

bool GetBytes(std::string_view* in, std::string* s) {
  uint64_t n;
  if (!GetVarint(in, &n) || n > in->size()) return false;
  s->assign(in->data(), n);
  in->remove_prefix(n);
  return true;
}

Status Bad(const char* what) { return Status::Corruption(std::string("malformed ") + what); }

}  // namespace

void PutU16BE(std::string* out, uint16_t v) {
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v));
}

void PutU32BE(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}

uint16_t GetU16BE(const char* p) {
  auto u = reinterpret_cast<const uint8_t*>(p);
  return static_cast<uint16_t>((u[0] << 8) | u[1]);
}

uint32_t GetU32BE(const char* p) {
  auto u = reinterpret_cast<const uint8_t*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | u[3];
}

std::string NodeKey(NodeId id) {
  std::string k;
  PutU32BE(&k, id);
  return k;
}

std::string NodeIdKey(TypeId type, std::string_view key) {
  std::string k;
  k.reserve(2 + key.size());
  PutU16BE(&k, type);
  k.append(key);
  return k;
}

std::string EdgeKey(NodeId a, TypeId type, NodeId b) {
  std::string k;
  k.reserve(10);
  PutU32BE(&k, a);
  PutU16BE(&k, type);
  PutU32BE(&k, b);
  return k;
}

std::string VectorKey(SpaceId space, NodeId node) {
  std::string k;
  k.reserve(6);
  PutU16BE(&k, space);
  PutU32BE(&k, node);
  return k;
}

void EncodeProperties(const Properties& props, std::string* out) {
  PutVarint(out, props.size());
  for (const auto& [name, value] : props) {
    PutBytes(out, name);
    switch (value.index()) {
      case 0:
        out->push_back(kNull);
        break;
      case 1:
        out->push_back(std::get<bool>(value) ? kTrue : kFalse);
        break;
      case 2:
        out->push_back(kInt);
        PutFixed(out, std::get<int64_t>(value));
        break;
      case 3:
        out->push_back(kDouble);
        PutFixed(out, std::get<double>(value));
        break;
      case 4:
        out->push_back(kString);
        PutBytes(out, std::get<std::string>(value));
        break;
      case 5: {
        const auto& list = std::get<std::vector<std::string>>(value);
        out->push_back(kStringList);
        PutVarint(out, list.size());
        for (const auto& s : list) PutBytes(out, s);
        break;
      }
    }
  }
}

Status DecodeProperties(std::string_view* in, Properties* props) {
  props->clear();
  uint64_t n;
  if (!GetVarint(in, &n) || n > in->size()) return Bad("property count");
  for (uint64_t i = 0; i < n; ++i) {
    std::string name;
    if (!GetBytes(in, &name) || in->empty()) return Bad("property name");
    auto tag = static_cast<uint8_t>((*in)[0]);
    in->remove_prefix(1);
    Value v;
    switch (tag) {
      case kNull:
        break;
      case kFalse:
        v = false;
        break;
      case kTrue:
        v = true;
        break;
      case kInt: {
        int64_t x;
        if (!GetFixed(in, &x)) return Bad("int property");
        v = x;
        break;
      }
      case kDouble: {
        double x;
        if (!GetFixed(in, &x)) return Bad("double property");
        v = x;
        break;
      }
      case kString: {
        std::string s;
        if (!GetBytes(in, &s)) return Bad("string property");
        v = std::move(s);
        break;
      }
      case kStringList: {
        uint64_t count;
        if (!GetVarint(in, &count) || count > in->size()) return Bad("string list property");
        std::vector<std::string> list(count);
        for (auto& s : list) {
          if (!GetBytes(in, &s)) return Bad("string list property");
        }
        v = std::move(list);
        break;
      }
      default:
        return Bad("property tag");
    }
    props->insert_or_assign(std::move(name), std::move(v));
  }
  return Status::OK();
}

std::string EncodeNodeValue(TypeId type, std::string_view key, const Properties& props) {
  std::string out;
  out.push_back(static_cast<char>(kNodeValueVersion));
  PutU16BE(&out, type);
  PutBytes(&out, key);
  EncodeProperties(props, &out);
  return out;
}

Status DecodeNodeValue(std::string_view value, TypeId* type, std::string* key, Properties* props) {
  if (value.size() < 3 || static_cast<uint8_t>(value[0]) != kNodeValueVersion) {
    return Bad("node record header");
  }
  *type = GetU16BE(value.data() + 1);
  value.remove_prefix(3);
  if (!GetBytes(&value, key)) return Bad("node key");
  PW_RETURN_IF_ERROR(DecodeProperties(&value, props));
  if (!value.empty()) return Bad("node record (trailing bytes)");
  return Status::OK();
}

std::string EncodeEdgeValue(double weight, int64_t ts, uint32_t count, const Properties& props) {
  std::string out;
  out.push_back(static_cast<char>(kEdgeValueVersion));
  PutFixed(&out, weight);
  PutFixed(&out, ts);
  PutFixed(&out, count);
  EncodeProperties(props, &out);
  return out;
}

Status DecodeEdgeValue(std::string_view value, double* weight, int64_t* ts, uint32_t* count,
                       Properties* props) {
  if (value.empty() || static_cast<uint8_t>(value[0]) != kEdgeValueVersion) {
    return Bad("edge record header");
  }
  value.remove_prefix(1);
  if (!GetFixed(&value, weight) || !GetFixed(&value, ts) || !GetFixed(&value, count)) {
    return Bad("edge record");
  }
  PW_RETURN_IF_ERROR(DecodeProperties(&value, props));
  if (!value.empty()) return Bad("edge record (trailing bytes)");
  return Status::OK();
}

std::string EncodeVector(std::span<const float> values) {
  std::string out(values.size() * sizeof(float), '\0');
  if (!values.empty()) std::memcpy(out.data(), values.data(), out.size());
  return out;
}

Status DecodeVector(std::string_view value, std::vector<float>* out) {
  if (value.size() % sizeof(float) != 0) return Bad("vector (length not a multiple of 4)");
  out->resize(value.size() / sizeof(float));
  if (!value.empty()) std::memcpy(out->data(), value.data(), value.size());
  return Status::OK();
}

}  // namespace pathwise::storage::codec
