#include "server/assets.h"

namespace pathwise::server {

const EmbeddedAsset* FindAsset(std::string_view path) {
  for (const EmbeddedAsset& asset : EmbeddedAssets()) {
    if (path == asset.path) return &asset;
  }
  return nullptr;
}

}  // namespace pathwise::server
