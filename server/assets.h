// server/: files embedded at build time (server/embed_assets.cmake): the explorer page under
// server/web/ (served at GET / and /static/*) and docs/openapi.yaml (GET /v1/openapi.yaml).
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace pathwise::server {

struct EmbeddedAsset {
  const char* path;          // relative to server/web, e.g. "index.html", "js/app.js"
  const char* content_type;  // from the extension
  const unsigned char* data;
  size_t size;
};

// Every embedded web file (possibly none).
std::span<const EmbeddedAsset> EmbeddedAssets();
// The asset at a relative path, or nullptr.
const EmbeddedAsset* FindAsset(std::string_view path);
// docs/openapi.yaml as it was at build time (empty if it did not exist).
std::string_view OpenApiYaml();

}  // namespace pathwise::server
