#include "server/auth.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <ctime>

#include <nlohmann/json.hpp>

#include "server/server.h"

namespace pathwise::server {
namespace {

constexpr char kKeyPrefix[] = "key/";

std::string Hex(const unsigned char* data, size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 15]);
  }
  return out;
}

Result<std::string> RandomHex(size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  if (RAND_bytes(buf.data(), static_cast<int>(bytes)) != 1) {
    return Status::Internal("RAND_bytes failed");
  }
  return Hex(buf.data(), bytes);
}

std::string Sha256Hex(std::string_view salt, std::string_view secret) {
  std::string input;
  input.reserve(salt.size() + secret.size());
  input.append(salt).append(secret);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  return Hex(digest, sizeof(digest));
}

std::string NowIso8601() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool IsHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return !s.empty();
}

}  // namespace

Result<Role> ParseRole(std::string_view name) {
  if (name == "read") return Role::kRead;
  if (name == "write") return Role::kWrite;
  if (name == "admin") return Role::kAdmin;
  return Status::InvalidArgument("role must be read, write or admin, not '" + std::string(name) +
                                 "'");
}

const char* RoleName(Role role) {
  switch (role) {
    case Role::kRead: return "read";
    case Role::kWrite: return "write";
    case Role::kAdmin: return "admin";
    case Role::kNone: break;
  }
  return "none";
}

Result<std::string> CreateApiKey(Database* db, const std::string& role) {
  PW_RETURN_IF_ERROR(ParseRole(role).status());
  PW_ASSIGN_OR_RETURN(std::string id, RandomHex(8));
  PW_ASSIGN_OR_RETURN(std::string secret, RandomHex(24));
  PW_ASSIGN_OR_RETURN(std::string salt, RandomHex(16));
  nlohmann::json record = {{"role", role},
                           {"salt", salt},
                           {"hash", Sha256Hex(salt, secret)},
                           {"created", NowIso8601()}};
  WriteSet writes;
  writes.ops.push_back(MetaWrite{kKeyPrefix + id, record.dump()});
  PW_RETURN_IF_ERROR(db->Apply(writes));
  return "pw_" + id + "_" + secret;
}

Result<Role> VerifyApiKey(const Database& db, std::string_view key) {
  const Status unauthenticated = Status::Unauthenticated("invalid API key");
  if (key.substr(0, 3) != "pw_") return unauthenticated;
  std::string_view rest = key.substr(3);
  size_t sep = rest.find('_');
  if (sep == std::string_view::npos) return unauthenticated;
  std::string_view id = rest.substr(0, sep);
  std::string_view secret = rest.substr(sep + 1);
  if (!IsHex(id) || id.size() > 64 || secret.empty() || secret.size() > 256) {
    return unauthenticated;
  }
  auto stored = db.GetMeta(kKeyPrefix + std::string(id));
  if (!stored.ok()) {
    if (stored.status().code() == Status::Code::kNotFound) return unauthenticated;
    return stored.status();
  }
  nlohmann::json record = nlohmann::json::parse(*stored, nullptr, false);
  if (!record.is_object() || !record.value("hash", nlohmann::json()).is_string() ||
      !record.value("salt", nlohmann::json()).is_string() ||
      !record.value("role", nlohmann::json()).is_string()) {
    return Status::Corruption("API key record " + std::string(id) + " is malformed");
  }
  std::string expected = record["hash"].get<std::string>();
  std::string actual = Sha256Hex(record["salt"].get<std::string>(), secret);
  if (expected.size() != actual.size() ||
      CRYPTO_memcmp(expected.data(), actual.data(), actual.size()) != 0) {
    return unauthenticated;
  }
  auto role = ParseRole(record["role"].get<std::string>());
  if (!role.ok()) return Status::Corruption("API key record " + std::string(id) + " has a bad role");
  return *role;
}

Result<std::vector<KeyInfo>> ListApiKeys(const Database& db) {
  std::vector<KeyInfo> keys;
  PW_RETURN_IF_ERROR(db.ScanMeta(kKeyPrefix, [&](std::string_view key, std::string_view value) {
    nlohmann::json record = nlohmann::json::parse(value, nullptr, false);
    KeyInfo info;
    // Keys arrive with their prefix; strip it.
    if (key.rfind(kKeyPrefix, 0) == 0) key.remove_prefix(sizeof(kKeyPrefix) - 1);
    info.id = std::string(key);
    if (record.is_object()) {
      info.role = record.value("role", "");
      info.created = record.value("created", "");
    }
    keys.push_back(std::move(info));
    return true;
  }));
  return keys;
}

Status RevokeApiKey(Database* db, std::string_view id) {
  std::string meta_key = kKeyPrefix + std::string(id);
  auto existing = db->GetMeta(meta_key);
  if (!existing.ok()) {
    if (existing.status().code() == Status::Code::kNotFound) {
      return Status::NotFound("no API key with id '" + std::string(id) + "'");
    }
    return existing.status();
  }
  WriteSet writes;
  writes.ops.push_back(MetaWrite{meta_key, std::nullopt});
  return db->Apply(writes);
}

}  // namespace pathwise::server
