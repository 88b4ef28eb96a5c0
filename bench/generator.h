// The synthetic shop graph used by the benchmarks: users, items, categories, sellers and brands
// with power-law (Zipf) interactions, item-item similarity, and clustered item embeddings.
// Deterministic: the same options (including the seed) always produce the same bytes.
//
// Shape (N = items):
//   nodes   User u0..  (N/10), Item i0.. (N), Category c0.. (~N/1000), Seller s0.. (~N/200),
//           Brand b0.. (~N/2000)
//   edges   VIEWED  User->Item  accumulate, Zipf over items (80% from 1-3 favourite categories)
//           BOUGHT  User->Item  ~12% of views
//           SIMILAR_TO Item->Item 5 per item, same category, weight in (0, 1]
//           BELONGS_TO Item->Category, SOLD_BY Item->Seller, OF_BRAND Item->Brand
//           BLOCKED User->Seller (~10% of users block one seller)
//   vectors Item.embedding: Gaussian mixture around one centroid per category (cosine)
//           User.taste: mean of the centroids of the user's viewed items plus noise (cosine)
// Interaction timestamps are spread over the 90 days before end_ts_ms.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <istream>
#include <memory>
#include <string>
#include <string_view>

namespace pathwise::bench {

struct GeneratorOptions {
  size_t items = 100000;
  size_t users = 0;       // 0: items / 10 (at least 10)
  size_t categories = 0;  // 0: items / 1000 (at least 4)
  size_t sellers = 0;     // 0: items / 200 (at least 4)
  size_t brands = 0;      // 0: items / 2000 (at least 2)
  uint32_t dim = 128;
  uint64_t seed = 42;
  double views_per_user = 25;  // mean VIEWED lines per user (repeats accumulate)
  double buy_rate = 0.12;      // probability that a view is also a purchase
  size_t similar_per_item = 5;
  double zipf_s = 1.0;          // exponent of the popularity law (1.0 supported exactly)
  double cluster_sigma = 0.35;  // item noise around its category centroid (per dimension)
  int64_t end_ts_ms =
      1793491200000;    // 2026-11-01T00:00:00Z; interactions lie in the 90 days before
  bool vectors = true;  // emit Item.embedding and User.taste lines
  uint32_t hnsw_m = 16;
  uint32_t hnsw_ef_construction = 200;
  uint32_t hnsw_ef_search = 64;
};

// Counts of what one generation emits (filled by Generate).
struct GeneratorCounts {
  size_t nodes = 0;
  size_t edge_lines = 0;  // VIEWED repeats count once per line
  size_t vectors = 0;
  size_t lines = 0;
  size_t bytes = 0;
};

// Options with the 0 ("derive from items") fields resolved.
GeneratorOptions ResolveOptions(const GeneratorOptions& options);

// The schema line's JSON object (node types, edge types, vector spaces) for these options.
std::string SchemaJson(const GeneratorOptions& options);

// Generates the whole data set as NDJSON (docs/data-format.md) and hands it to sink in chunks of
// complete lines (~1 MiB each), in order; sink returns false to stop early. Returns the counts
// of what was emitted.
GeneratorCounts Generate(const GeneratorOptions& options,
                         const std::function<bool(std::string_view chunk)>& sink);

// An istream over Generate's output, produced by a background thread through a small bounded
// queue, so that Database::Load parses while the generator generates (no temporary file).
// Destroying the stream early stops the producer.
std::unique_ptr<std::istream> OpenGeneratedStream(const GeneratorOptions& options);

// External ids used by the generator.
std::string UserId(size_t index);
std::string ItemId(size_t index);

}  // namespace pathwise::bench
