// Internal to storage/: the byte layout of keys and values (docs/storage-format.md).
// Keys use big-endian integers so that RocksDB's bytewise order equals numeric order.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "storage/schema.h"
#include "storage/status.h"

namespace pathwise::storage::codec {

constexpr uint8_t kNodeValueVersion = 1;
constexpr uint8_t kEdgeValueVersion = 1;

void PutU16BE(std::string* out, uint16_t v);
void PutU32BE(std::string* out, uint32_t v);
uint16_t GetU16BE(const char* p);
uint32_t GetU32BE(const char* p);

std::string NodeKey(NodeId id);                            // u32
std::string NodeIdKey(TypeId type, std::string_view key);  // u16 + bytes
std::string EdgeKey(NodeId a, TypeId type, NodeId b);      // u32 u16 u32
std::string VectorKey(SpaceId space, NodeId node);         // u16 u32

// Tagged binary property map (see docs/storage-format.md).
void EncodeProperties(const Properties& props, std::string* out);
// Decodes from *in, advancing it. Corruption on malformed input.
Status DecodeProperties(std::string_view* in, Properties* props);

std::string EncodeNodeValue(TypeId type, std::string_view key, const Properties& props);
Status DecodeNodeValue(std::string_view value, TypeId* type, std::string* key, Properties* props);

std::string EncodeEdgeValue(double weight, int64_t ts, uint32_t count, const Properties& props);
Status DecodeEdgeValue(std::string_view value, double* weight, int64_t* ts, uint32_t* count,
                       Properties* props);

std::string EncodeVector(std::span<const float> values);
Status DecodeVector(std::string_view value, std::vector<float>* out);

}  // namespace pathwise::storage::codec
