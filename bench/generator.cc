// The synthetic shop-graph generator (see generator.h for the shape of the data).
#include "bench/generator.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <vector>

#include <nlohmann/json.hpp>

namespace pathwise::bench {
namespace {

constexpr int64_t kDayMs = 86400000;
constexpr size_t kChunkBytes = 1u << 20;

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A small deterministic generator (splitmix64 stream) seeded per entity, so each entity's
// attributes depend only on (seed, kind, index) and not on generation order.
class Rng {
 public:
  Rng(uint64_t seed, uint64_t kind, uint64_t index)
      : state_(SplitMix(seed ^ SplitMix(kind * 0x1000003ULL + index))) {}
  uint64_t Next() {
    state_ += 0x9e3779b97f4a7c15ULL;
    uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }  // [0, 1)
  size_t Below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(Uniform() * n); }
  double Gaussian() {
    double u1 = Uniform();
    double u2 = Uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  // A rank in [0, n) drawn from a continuous power law with exponent s (rank 0 most likely).
  size_t Zipf(size_t n, double s) {
    if (n <= 1) return 0;
    double u = Uniform();
    double x;
    if (std::abs(s - 1.0) < 1e-9) {
      x = std::pow(static_cast<double>(n) + 1.0, u);
    } else {
      double a = 1.0 - s;
      x = std::pow((std::pow(static_cast<double>(n) + 1.0, a) - 1.0) * u + 1.0, 1.0 / a);
    }
    size_t rank = static_cast<size_t>(x) - 1;
    return std::min(rank, n - 1);
  }

 private:
  uint64_t state_;
};

enum Kind : uint64_t {
  kItemKind = 1,
  kUserKind,
  kCentroidKind,
  kItemVecKind,
  kSellerKind,
  kTasteKind,
  kSimilarKind
};

class Writer {
 public:
  Writer(const std::function<bool(std::string_view)>& sink, GeneratorCounts* counts)
      : sink_(sink), counts_(counts) {
    buf_.reserve(kChunkBytes + 64 * 1024);
  }
  Writer& S(std::string_view s) {
    buf_.append(s);
    return *this;
  }
  Writer& I(int64_t v) {
    char tmp[24];
    auto r = std::to_chars(tmp, tmp + sizeof(tmp), v);
    buf_.append(tmp, r.ptr);
    return *this;
  }
  Writer& D(double v, int precision) {
    char tmp[32];
    auto r = std::to_chars(tmp, tmp + sizeof(tmp), v, std::chars_format::general, precision);
    buf_.append(tmp, r.ptr);
    return *this;
  }
  Writer& F(float v) {
    char tmp[32];
    auto r = std::to_chars(tmp, tmp + sizeof(tmp), v, std::chars_format::general, 4);
    buf_.append(tmp, r.ptr);
    return *this;
  }
  // Ends a line; flushes a full chunk. Returns false once the sink asked to stop.
  bool EndLine() {
    buf_.push_back('\n');
    counts_->lines++;
    if (buf_.size() >= kChunkBytes) return Flush();
    return !stopped_;
  }
  bool Flush() {
    if (stopped_ || buf_.empty()) return !stopped_;
    counts_->bytes += buf_.size();
    if (!sink_(buf_)) stopped_ = true;
    buf_.clear();
    return !stopped_;
  }

 private:
  const std::function<bool(std::string_view)>& sink_;
  GeneratorCounts* counts_;
  std::string buf_;
  bool stopped_ = false;
};

struct View {
  uint32_t item;
  bool bought;
  int64_t ts;
};

const char* const kAdjectives[] = {"classic", "compact", "deluxe", "eco",   "smart",
                                   "vintage", "pro",     "light",  "urban", "everyday"};
const char* const kNouns[] = {"lamp",    "backpack", "kettle", "jacket",   "speaker", "mug",
                              "sneaker", "watch",    "chair",  "notebook", "blender", "scarf"};

}  // namespace

std::string UserId(size_t index) { return "u" + std::to_string(index); }
std::string ItemId(size_t index) { return "i" + std::to_string(index); }

GeneratorOptions ResolveOptions(const GeneratorOptions& options) {
  GeneratorOptions o = options;
  if (o.items == 0) o.items = 1;
  if (o.users == 0) o.users = std::max<size_t>(10, o.items / 10);
  if (o.categories == 0) o.categories = std::max<size_t>(4, o.items / 1000);
  if (o.sellers == 0) o.sellers = std::max<size_t>(4, o.items / 200);
  if (o.brands == 0) o.brands = std::max<size_t>(2, o.items / 2000);
  if (o.dim == 0) o.dim = 1;
  return o;
}

std::string SchemaJson(const GeneratorOptions& options) {
  using nlohmann::json;
  json node_types = json::array({
      {{"name", "User"}, {"properties", {{"segment", "string"}}}},
      {{"name", "Item"},
       {"properties",
        {{"title", "string"},
         {"price", "double"},
         {"in_stock", "bool"},
         {"category", "string"},
         {"brand", "string"},
         {"popularity", "int"}}}},
      {{"name", "Category"}, {"properties", {{"name", "string"}}}},
      {{"name", "Seller"}, {"properties", {{"name", "string"}, {"rating", "double"}}}},
      {{"name", "Brand"}, {"properties", {{"name", "string"}}}},
  });
  auto edge = [](const char* name, const char* mode, const char* from, const char* to) {
    return json{{"name", name}, {"mode", mode}, {"from", from}, {"to", to}};
  };
  json edge_types = json::array({
      edge("VIEWED", "accumulate", "User", "Item"),
      edge("BOUGHT", "replace", "User", "Item"),
      edge("SIMILAR_TO", "replace", "Item", "Item"),
      edge("BELONGS_TO", "replace", "Item", "Category"),
      edge("SOLD_BY", "replace", "Item", "Seller"),
      edge("OF_BRAND", "replace", "Item", "Brand"),
      edge("BLOCKED", "replace", "User", "Seller"),
  });
  auto space = [&](const char* type, const char* name) {
    return json{{"node_type", type},
                {"name", name},
                {"dim", options.dim},
                {"metric", "cosine"},
                {"m", options.hnsw_m},
                {"ef_construction", options.hnsw_ef_construction},
                {"ef_search", options.hnsw_ef_search}};
  };
  json spaces = json::array({space("Item", "embedding"), space("User", "taste")});
  return json{{"node_types", node_types}, {"edge_types", edge_types}, {"vector_spaces", spaces}}
      .dump();
}

GeneratorCounts Generate(const GeneratorOptions& raw_options,
                         const std::function<bool(std::string_view chunk)>& sink) {
  const GeneratorOptions o = ResolveOptions(raw_options);
  GeneratorCounts counts;
  Writer w(sink, &counts);
  const size_t n_items = o.items;
  const size_t n_users = o.users;
  const size_t n_cats = o.categories;
  const int64_t span_ms = 90 * kDayMs;

  // Item attributes: category (= mixture component), seller, brand.
  std::vector<uint32_t> item_cat(n_items), item_seller(n_items), item_brand(n_items);
  std::vector<std::vector<uint32_t>> items_by_cat(n_cats);
  for (size_t i = 0; i < n_items; ++i) {
    Rng rng(o.seed, kItemKind, i);
    item_cat[i] = static_cast<uint32_t>(rng.Below(n_cats));
    item_seller[i] = static_cast<uint32_t>(rng.Zipf(o.sellers, 0.8));
    item_brand[i] = static_cast<uint32_t>(rng.Below(o.brands));
    items_by_cat[item_cat[i]].push_back(static_cast<uint32_t>(i));  // popular (low index) first
  }
  // Centroids, one per category.
  std::vector<float> centroids(n_cats * o.dim);
  for (size_t c = 0; c < n_cats; ++c) {
    Rng rng(o.seed, kCentroidKind, c);
    for (size_t d = 0; d < o.dim; ++d)
      centroids[c * o.dim + d] = static_cast<float>(rng.Gaussian());
  }

  // Interactions (kept in memory: ~16 bytes per view), popularity = views per item.
  std::vector<size_t> user_begin(n_users + 1, 0);
  std::vector<View> views;
  views.reserve(static_cast<size_t>(n_users * o.views_per_user * 1.1));
  std::vector<uint32_t> popularity(n_items, 0);
  for (size_t u = 0; u < n_users; ++u) {
    user_begin[u] = views.size();
    Rng rng(o.seed, kUserKind, u);
    size_t n_fav = 1 + rng.Below(3);
    uint32_t favs[3];
    for (size_t f = 0; f < n_fav; ++f) favs[f] = static_cast<uint32_t>(rng.Zipf(n_cats, 0.7));
    // Exponentially distributed number of views, at least one.
    size_t n_views = 1 + static_cast<size_t>(-std::log(1.0 - rng.Uniform()) *
                                             std::max(0.0, o.views_per_user - 1));
    for (size_t v = 0; v < n_views; ++v) {
      uint32_t item;
      const auto& list = items_by_cat[favs[rng.Below(n_fav)]];
      if (rng.Uniform() < 0.8 && !list.empty()) {
        item = list[rng.Zipf(list.size(), o.zipf_s)];
      } else {
        item = static_cast<uint32_t>(rng.Zipf(n_items, o.zipf_s));
      }
      bool bought = rng.Uniform() < o.buy_rate;
      int64_t ts = o.end_ts_ms - static_cast<int64_t>(rng.Uniform() * span_ms);
      views.push_back({item, bought, ts});
      popularity[item]++;
    }
  }
  user_begin[n_users] = views.size();

  // ---- Schema and nodes ----
  w.S("{\"schema\":").S(SchemaJson(o)).S("}");
  if (!w.EndLine()) return counts;
  for (size_t c = 0; c < n_cats; ++c) {
    w.S("{\"node\":\"Category\",\"id\":\"c")
        .I(c)
        .S("\",\"props\":{\"name\":\"category ")
        .I(c)
        .S("\"}}");
    counts.nodes++;
    if (!w.EndLine()) return counts;
  }
  for (size_t s = 0; s < o.sellers; ++s) {
    Rng rng(o.seed, kSellerKind, s);
    w.S("{\"node\":\"Seller\",\"id\":\"s")
        .I(s)
        .S("\",\"props\":{\"name\":\"seller ")
        .I(s)
        .S("\",\"rating\":")
        .D(1.0 + std::floor(rng.Uniform() * 40) / 10, 3)
        .S("}}");
    counts.nodes++;
    if (!w.EndLine()) return counts;
  }
  for (size_t b = 0; b < o.brands; ++b) {
    w.S("{\"node\":\"Brand\",\"id\":\"b").I(b).S("\",\"props\":{\"name\":\"brand ").I(b).S("\"}}");
    counts.nodes++;
    if (!w.EndLine()) return counts;
  }
  for (size_t i = 0; i < n_items; ++i) {
    Rng rng(o.seed, kItemKind, i + 0x100000000ULL);
    double price = std::round(std::exp(3.0 + 1.0 * rng.Gaussian()) * 100) / 100;
    if (price < 0.5) price = 0.5;
    bool in_stock = rng.Uniform() < 0.9;
    w.S("{\"node\":\"Item\",\"id\":\"i")
        .I(i)
        .S("\",\"props\":{\"title\":\"")
        .S(kAdjectives[rng.Below(10)])
        .S(" ")
        .S(kNouns[rng.Below(12)])
        .S(" ")
        .I(i)
        .S("\",\"price\":")
        .D(price, 8)
        .S(",\"in_stock\":")
        .S(in_stock ? "true" : "false")
        .S(",\"category\":\"c")
        .I(item_cat[i])
        .S("\",\"brand\":\"b")
        .I(item_brand[i])
        .S("\",\"popularity\":")
        .I(popularity[i])
        .S("}}");
    counts.nodes++;
    if (!w.EndLine()) return counts;
  }
  static const char* const kSegments[] = {"new", "casual", "regular", "loyal"};
  for (size_t u = 0; u < n_users; ++u) {
    w.S("{\"node\":\"User\",\"id\":\"u")
        .I(u)
        .S("\",\"props\":{\"segment\":\"")
        .S(kSegments[SplitMix(o.seed + u) % 4])
        .S("\"}}");
    counts.nodes++;
    if (!w.EndLine()) return counts;
  }

  // ---- Edges ----
  for (size_t u = 0; u < n_users; ++u) {
    for (size_t v = user_begin[u]; v < user_begin[u + 1]; ++v) {
      const View& view = views[v];
      w.S("{\"edge\":\"VIEWED\",\"from\":[\"User\",\"u")
          .I(u)
          .S("\"],\"to\":[\"Item\",\"i")
          .I(view.item)
          .S("\"],\"weight\":1,\"ts\":")
          .I(view.ts)
          .S("}");
      counts.edge_lines++;
      if (!w.EndLine()) return counts;
      if (view.bought) {
        w.S("{\"edge\":\"BOUGHT\",\"from\":[\"User\",\"u")
            .I(u)
            .S("\"],\"to\":[\"Item\",\"i")
            .I(view.item)
            .S("\"],\"weight\":1,\"ts\":")
            .I(view.ts + 60000)
            .S("}");
        counts.edge_lines++;
        if (!w.EndLine()) return counts;
      }
    }
    if (SplitMix(o.seed ^ (u * 31 + 7)) % 10 == 0) {
      Rng rng(o.seed, kSellerKind, u + 0x100000000ULL);
      w.S("{\"edge\":\"BLOCKED\",\"from\":[\"User\",\"u")
          .I(u)
          .S("\"],\"to\":[\"Seller\",\"s")
          .I(rng.Zipf(o.sellers, 0.8))
          .S("\"]}");
      counts.edge_lines++;
      if (!w.EndLine()) return counts;
    }
  }
  for (size_t i = 0; i < n_items; ++i) {
    const auto& list = items_by_cat[item_cat[i]];
    Rng rng(o.seed, kSimilarKind, i);
    uint32_t chosen[64];
    size_t n_chosen = 0;
    size_t want = std::min<size_t>(std::min<size_t>(o.similar_per_item, 64), list.size() - 1);
    for (size_t attempt = 0; n_chosen < want && attempt < want * 8; ++attempt) {
      uint32_t j = list[rng.Zipf(list.size(), o.zipf_s)];
      if (j == i || std::find(chosen, chosen + n_chosen, j) != chosen + n_chosen) continue;
      chosen[n_chosen++] = j;
      double weight = 1.0 - std::floor(rng.Uniform() * 950) / 1000;  // (0.05, 1]
      w.S("{\"edge\":\"SIMILAR_TO\",\"from\":[\"Item\",\"i")
          .I(i)
          .S("\"],\"to\":[\"Item\",\"i")
          .I(j)
          .S("\"],\"weight\":")
          .D(weight, 3)
          .S("}");
      counts.edge_lines++;
      if (!w.EndLine()) return counts;
    }
    w.S("{\"edge\":\"BELONGS_TO\",\"from\":[\"Item\",\"i")
        .I(i)
        .S("\"],\"to\":[\"Category\",\"c")
        .I(item_cat[i])
        .S("\"]}");
    if (!w.EndLine()) return counts;
    w.S("{\"edge\":\"SOLD_BY\",\"from\":[\"Item\",\"i")
        .I(i)
        .S("\"],\"to\":[\"Seller\",\"s")
        .I(item_seller[i])
        .S("\"]}");
    if (!w.EndLine()) return counts;
    w.S("{\"edge\":\"OF_BRAND\",\"from\":[\"Item\",\"i")
        .I(i)
        .S("\"],\"to\":[\"Brand\",\"b")
        .I(item_brand[i])
        .S("\"]}");
    if (!w.EndLine()) return counts;
    counts.edge_lines += 3;
  }

  // ---- Vectors ----
  if (o.vectors) {
    std::vector<float> vec(o.dim);
    for (size_t i = 0; i < n_items; ++i) {
      Rng rng(o.seed, kItemVecKind, i);
      const float* centroid = &centroids[item_cat[i] * o.dim];
      w.S("{\"vector\":\"Item.embedding\",\"id\":\"i").I(i).S("\",\"values\":[");
      for (size_t d = 0; d < o.dim; ++d) {
        if (d) w.S(",");
        w.F(centroid[d] + static_cast<float>(o.cluster_sigma * rng.Gaussian()));
      }
      w.S("]}");
      counts.vectors++;
      if (!w.EndLine()) return counts;
    }
    for (size_t u = 0; u < n_users; ++u) {
      std::fill(vec.begin(), vec.end(), 0.0f);
      size_t n = user_begin[u + 1] - user_begin[u];
      for (size_t v = user_begin[u]; v < user_begin[u + 1]; ++v) {
        const float* centroid = &centroids[item_cat[views[v].item] * o.dim];
        for (size_t d = 0; d < o.dim; ++d) vec[d] += centroid[d];
      }
      Rng rng(o.seed, kTasteKind, u);
      w.S("{\"vector\":\"User.taste\",\"id\":\"u").I(u).S("\",\"values\":[");
      for (size_t d = 0; d < o.dim; ++d) {
        if (d) w.S(",");
        w.F(vec[d] / static_cast<float>(std::max<size_t>(n, 1)) +
            static_cast<float>(0.2 * rng.Gaussian()));
      }
      w.S("]}");
      counts.vectors++;
      if (!w.EndLine()) return counts;
    }
  }
  w.Flush();
  return counts;
}

}  // namespace pathwise::bench
