// server/: API keys. A key is "pw_<keyid>_<secret>" (both random hex from OpenSSL RAND_bytes).
// Stored at meta "key/<keyid>" -> {"role","salt","hash","created"} where hash is the hex
// SHA-256 of salt+secret; verification compares hashes in constant time (CRYPTO_memcmp).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "db/database.h"
#include "storage/status.h"

namespace pathwise::server {

// read < write < admin.
enum class Role : uint8_t { kNone = 0, kRead = 1, kWrite = 2, kAdmin = 3 };

// "read"|"write"|"admin" -> Role; InvalidArgument otherwise.
Result<Role> ParseRole(std::string_view name);
const char* RoleName(Role role);

struct KeyInfo {
  std::string id;
  std::string role;
  std::string created;  // ISO-8601 UTC
};

// Verifies "pw_<keyid>_<secret>": the key's role, or Unauthenticated (malformed, unknown,
// revoked or wrong secret; the message does not say which).
Result<Role> VerifyApiKey(const Database& db, std::string_view key);
// All keys (never secrets), ordered by id.
Result<std::vector<KeyInfo>> ListApiKeys(const Database& db);
// Deletes key/<id>; NotFound if absent.
Status RevokeApiKey(Database* db, std::string_view id);

}  // namespace pathwise::server
