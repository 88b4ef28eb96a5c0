// graph::NodeIndexMap against std::unordered_map under random inserts, overwrites and erases,
// including keys that collide into long probe runs (erasing shifts later entries back).
#include <doctest/doctest.h>

#include <random>
#include <unordered_map>
#include <vector>

#include "graph/node_map.h"

using pathwise::NodeId;
using pathwise::graph::NodeIndexMap;

namespace {

void CheckSame(const NodeIndexMap& map, const std::unordered_map<NodeId, uint32_t>& ref,
               NodeId key_bound) {
  REQUIRE(map.size() == ref.size());
  for (NodeId k = 0; k < key_bound; ++k) {
    auto it = ref.find(k);
    CHECK(map.Find(k) == (it == ref.end() ? NodeIndexMap::kMissing : it->second));
  }
}

void RunRandomOps(NodeId key_bound, size_t ops, uint64_t seed) {
  NodeIndexMap map;
  std::unordered_map<NodeId, uint32_t> ref;
  std::mt19937_64 rng(seed);
  for (size_t i = 0; i < ops; ++i) {
    NodeId key = static_cast<NodeId>(rng() % key_bound);
    uint32_t value = static_cast<uint32_t>(rng() % 1000);
    switch (rng() % 3) {
      case 0:
        map.Set(key, value);
        ref[key] = value;
        break;
      case 1: {
        bool inserted;
        uint32_t got = map.FindOrInsert(key, value, &inserted);
        auto [it, ref_inserted] = ref.emplace(key, value);
        CHECK(inserted == ref_inserted);
        CHECK(got == it->second);
        break;
      }
      default:
        CHECK(map.Erase(key) == (ref.erase(key) == 1));
    }
    if (i % 97 == 0) CheckSame(map, ref, key_bound);
  }
  CheckSame(map, ref, key_bound);
}

}  // namespace

TEST_CASE("a node index map keeps the same entries as a reference map under inserts, overwrites and erases") {
  RunRandomOps(50, 5000, 1);      // few keys: the table stays small, probe runs wrap around
  RunRandomOps(5000, 20000, 2);   // growth through several doublings
}

TEST_CASE("erasing a node index map entry keeps the keys after it in its probe run findable") {
  NodeIndexMap map(4);
  std::vector<NodeId> keys;
  for (NodeId k = 0; k < 20; ++k) {
    map.Set(k, k + 100);
    keys.push_back(k);
  }
  for (NodeId gone : {NodeId{3}, NodeId{0}, NodeId{19}, NodeId{7}}) {
    CHECK(map.Erase(gone));
    CHECK_FALSE(map.Erase(gone));
    CHECK(map.Find(gone) == NodeIndexMap::kMissing);
    std::erase(keys, gone);
    for (NodeId k : keys) CHECK(map.Find(k) == k + 100);
  }
  CHECK(map.size() == keys.size());
}
