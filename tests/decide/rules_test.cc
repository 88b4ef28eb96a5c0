// ApplyRules (decide/rules.h) on lists built by hand: a boost re-ranks by the new score with
// ties in their earlier order and unscored items last.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "decide/rules.h"
#include "decide/surface.h"

namespace pathwise::testing {
namespace {

using decide::Item;
using decide::Rule;

Item Scored(const std::string& id, double score, bool boosted) {
  Item item;
  item.id = id;
  item.score = score;
  item.label = "title " + id;
  item.values = {boosted};
  return item;
}

// A surface with one rule: boost items whose value is true by factor.
decide::Surface BoostSurface(double factor) {
  decide::Surface surface;
  Rule boost;
  boost.type = Rule::Type::kBoost;
  boost.expr = "i.promoted";
  boost.factor = factor;
  surface.rules = {boost};
  return surface;
}

std::vector<std::string> Ids(const std::vector<Item>& list) {
  std::vector<std::string> ids;
  for (const Item& item : list) ids.push_back(item.id);
  return ids;
}

TEST_CASE("a boost re-ranks by the new score, keeping ties in order and unscored items last") {
  decide::Surface surface = BoostSurface(3);
  std::vector<Item> list = {Scored("a", 3, false), Scored("b", NAN, true), Scored("c", 2, false),
                            Scored("d", 2, false), Scored("e", 1, true),  Scored("f", 0.5, false)};
  auto report = decide::ApplyRules(surface, {}, {}, {}, 10, &list);
  // e: 1 x 3 = 3, a tie with a, which came first; b has no score to scale and stays last.
  CHECK(Ids(list) == std::vector<std::string>{"a", "e", "c", "d", "f", "b"});
  CHECK(report.affected == std::vector<size_t>{1});
  CHECK(list[1].score == doctest::Approx(3));
  CHECK(list[1].label == "title e");  // items move whole
  REQUIRE(list[1].applied.size() == 1);
  CHECK(list[1].applied[0]["score_before"] == 1.0);
  CHECK(list[0].applied.empty());
}

TEST_CASE("a boost that changes no order leaves the list as it was") {
  decide::Surface surface = BoostSurface(1.5);
  std::vector<Item> list = {Scored("a", 4, true), Scored("b", 2, false), Scored("c", 1, true)};
  decide::ApplyRules(surface, {}, {}, {}, 2, &list);
  CHECK(Ids(list) == std::vector<std::string>{"a", "b"});  // cut to k
  CHECK(list[0].score == doctest::Approx(6));
}

}  // namespace
}  // namespace pathwise::testing
