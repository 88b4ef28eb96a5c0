// The stored state of the similarity job's incremental mode (jobs/similarity_state.h).
#include "jobs/similarity_state.h"

#include <cstdint>

namespace pathwise::jobs {
namespace {

constexpr int kVersion = 1;
constexpr size_t kHexPerEntry = 32;

void AppendHex(uint64_t value, std::string* out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (int shift = 60; shift >= 0; shift -= 4) out->push_back(kDigits[(value >> shift) & 15]);
}

std::string Encode(const std::vector<std::pair<NodeId, uint64_t>>& entries) {
  std::string out;
  out.reserve(entries.size() * kHexPerEntry);
  for (const auto& [node, fingerprint] : entries) {
    AppendHex(node, &out);
    AppendHex(fingerprint, &out);
  }
  return out;
}

bool ParseHex(std::string_view text, uint64_t* value) {
  *value = 0;
  for (char c : text) {
    int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (digit < 0) return false;
    *value = (*value << 4) | static_cast<uint64_t>(digit);
  }
  return true;
}

// Entries must be in strictly ascending node order, as Encode writes them.
bool Decode(const nlohmann::json& hex, std::vector<std::pair<NodeId, uint64_t>>* out) {
  if (!hex.is_string()) return false;
  const std::string& text = hex.get_ref<const std::string&>();
  if (text.size() % kHexPerEntry != 0) return false;
  out->reserve(text.size() / kHexPerEntry);
  for (size_t at = 0; at < text.size(); at += kHexPerEntry) {
    uint64_t node, fingerprint;
    if (!ParseHex(std::string_view(text).substr(at, 16), &node) ||
        !ParseHex(std::string_view(text).substr(at + 16, 16), &fingerprint)) {
      return false;
    }
    if (!out->empty() && out->back().first >= node) return false;
    out->emplace_back(static_cast<NodeId>(node), fingerprint);
  }
  return true;
}

}  // namespace

std::string SimilarityStateKey(std::string_view output) {
  return "similarity/" + std::string(output);
}

std::string EncodeSimilarityState(const SimilarityState& state) {
  return nlohmann::json{{"version", kVersion},
                        {"params", state.params},
                        {"items", Encode(state.fingerprints.items)},
                        {"users", Encode(state.fingerprints.users)}}
      .dump();
}

Result<SimilarityState> DecodeSimilarityState(std::string_view stored) {
  nlohmann::json json = nlohmann::json::parse(stored, nullptr, false);
  SimilarityState state;
  if (!json.is_object() || json.value("version", 0) != kVersion || !json.contains("params") ||
      !json.contains("items") || !json.contains("users") ||
      !Decode(json["items"], &state.fingerprints.items) ||
      !Decode(json["users"], &state.fingerprints.users)) {
    return Status::Corruption("unreadable similarity state");
  }
  state.params = json["params"];
  return state;
}

}  // namespace pathwise::jobs
