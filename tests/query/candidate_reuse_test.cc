// QueryOptions::keep_candidates / reuse_candidates: RECOMMEND hands out what its seed and
// sources retrieved and continues from it later, with filters and SCORE run again.
#include <doctest/doctest.h>

#include "tests/query/database_test_util.h"

namespace pathwise::testing {
namespace {

using json = nlohmann::json;

constexpr char kRecipe[] = R"(RECOMMEND (c:Item) FOR (u:User {id: $user})
  FROM (u)-[:VIEWED]->(:Item)-[s:SIMILAR]->(c) AS similar
  FROM (t:Tag {id: $tag})-[:TAGGED]->(c) AS tagged
  WHERE c.price < $max_price
  SCORE sum(s.weight) + c.price / 100
  LIMIT $limit)";

struct ReuseFixture {
  ReuseFixture() {
    db = OpenDbWithSchema(dir.path);
    WriteSet set;
    for (int i = 1; i <= 9; ++i) {
      set.ops.push_back(Node("Item", "i" + std::to_string(i), {{"price", 10.0 * i}}));
    }
    set.ops.push_back(Node("User", "u"));
    set.ops.push_back(Node("Tag", "t"));
    set.ops.push_back(Edge("VIEWED", {"User", "u"}, {"Item", "i1"}));
    for (int i = 2; i <= 5; ++i) {
      set.ops.push_back(Edge("SIMILAR", {"Item", "i1"}, {"Item", "i" + std::to_string(i)}, 0.5));
    }
    for (int i = 6; i <= 8; ++i) set.ops.push_back(Edge("TAGGED", {"Tag", "t"}, {"Item", "i" + std::to_string(i)}));
    REQUIRE(db->Apply(set).ok());
  }
  Result<QueryResult> Run(json params, QueryOptions options) {
    return db->Query(kRecipe, params, options);
  }
  static json Params(double max_price = 1000, int limit = 10) {
    return {{"user", "u"}, {"tag", "t"}, {"max_price", max_price}, {"limit", limit}};
  }
  TempDir dir;
  std::unique_ptr<Database> db;
};

TEST_CASE("a kept candidate set reused gives the same rows without running the sources") {
  ReuseFixture f;
  QueryOptions keep;
  keep.keep_candidates = true;
  auto first = f.Run(ReuseFixture::Params(), keep);
  REQUIRE(first.ok());
  REQUIRE(first->candidates != nullptr);
  CHECK(query::CandidateCount(*first->candidates) == 7);
  QueryOptions reuse;
  reuse.reuse_candidates = first->candidates;
  // A new similar item is not a candidate of the reused set.
  REQUIRE(f.db->Apply(Set(Edge("SIMILAR", {"Item", "i1"}, {"Item", "i9"}, 0.5))).ok());
  auto second = f.Run(ReuseFixture::Params(), reuse);
  REQUIRE(second.ok());
  CHECK(second->stats["candidates_reused"] == true);
  CHECK(second->rows == first->rows);
}

TEST_CASE("filters, SCORE and LIMIT run again on a reused set, with this query's parameters") {
  ReuseFixture f;
  QueryOptions keep;
  keep.keep_candidates = true;
  auto first = f.Run(ReuseFixture::Params(), keep);
  REQUIRE(first.ok());
  QueryOptions reuse;
  reuse.reuse_candidates = first->candidates;
  REQUIRE(f.db->Apply(Set(Node("Item", "i2", {{"price", 500.0}}))).ok());
  auto second = f.Run(ReuseFixture::Params(/*max_price=*/75, /*limit=*/3), reuse);
  REQUIRE(second.ok());
  CHECK(second->stats["candidates_reused"] == true);
  // i8 (80) is filtered by the new $max_price, i2 (now 500) by its new price; 3 rows.
  REQUIRE(second->rows.size() == 3);
  CHECK(second->rows[0][0] == "i5");
  CHECK(second->rows[1][0] == "i4");
  CHECK(second->rows[2][0] == "i3");
}

TEST_CASE("a set is not reused when a parameter its sources read, or the seed, differs") {
  ReuseFixture f;
  QueryOptions keep;
  keep.keep_candidates = true;
  auto first = f.Run(ReuseFixture::Params(), keep);
  REQUIRE(first.ok());
  QueryOptions reuse;
  reuse.reuse_candidates = first->candidates;
  reuse.keep_candidates = true;
  json other_tag = ReuseFixture::Params();
  other_tag["tag"] = "none";
  auto second = f.Run(other_tag, reuse);
  REQUIRE(second.ok());
  CHECK(second->stats["candidates_reused"] == false);
  CHECK(second->rows.size() == 4);  // the similar items only
  CHECK(second->candidates != first->candidates);
  json other_user = ReuseFixture::Params();
  other_user["user"] = "nobody";
  auto third = f.Run(other_user, reuse);
  REQUIRE(third.ok());
  CHECK(third->stats["candidates_reused"] == false);
  CHECK(third->rows.empty());
  QueryOptions explain = reuse;
  explain.explain = true;
  auto explained = f.Run(ReuseFixture::Params(), explain);
  REQUIRE(explained.ok());
  CHECK(explained->stats["candidates_reused"] == false);
  CHECK(explained->explanations.size() == explained->rows.size());
}

}  // namespace
}  // namespace pathwise::testing
