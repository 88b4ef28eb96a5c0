#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>
#include <unordered_set>

#include "examples/movielens/dataset.h"
#include "examples/movielens/evaluate.h"
#include "examples/movielens/graph_builder.h"
#include "examples/movielens/rating_matrix.h"

namespace demo = pathwise::demo;

namespace {

const demo::Dataset& Data() {
  static const demo::Dataset data = [] {
    auto loaded = demo::LoadDataset(std::string(PATHWISE_SOURCE_DIR) + "/examples/movielens-small");
    REQUIRE(loaded.ok());
    return std::move(loaded).value();
  }();
  return data;
}

const demo::DemoGraph& Graph() {
  static const demo::DemoGraph graph =
      demo::BuildDemoGraph(Data(), Data().ratings, demo::BuildOptions{});
  return graph;
}

}  // namespace

TEST_CASE("movielens files load with the published counts") {
  const auto& data = Data();
  CHECK(data.movies.size() == 9742);
  CHECK(data.ratings.size() == 100836);
  CHECK(data.users.size() == 610);
  CHECK(data.tags.size() == 3683);
  const auto& toy = data.movies[data.movie_index.at(1)];
  CHECK(toy.title == "Toy Story");
  CHECK(toy.year == 1995);
  CHECK(toy.imdb_id == "0114709");
  CHECK(toy.genres == std::vector<std::string>{"Adventure", "Animation", "Children", "Comedy",
                                               "Fantasy"});
  // A title with a comma inside quotes.
  const auto& president = data.movies[data.movie_index.at(11)];
  CHECK(president.title == "American President, The");
}

TEST_CASE("demo graph has one node per movie and user and one RATED edge per rating") {
  const auto& counts = Graph().counts;
  CHECK(counts.movies == 9742);
  CHECK(counts.users == 610);
  CHECK(counts.rated == 100836);
  CHECK(counts.genres == 19);
  CHECK(counts.has_genre > 9742);
  size_t rated_edges = 0, users = 0;
  for (const auto& set : Graph().writes) {
    for (const auto& op : set.ops) {
      if (auto* e = std::get_if<pathwise::EdgeWrite>(&op); e && e->type == "RATED") {
        ++rated_edges;
        REQUIRE(e->ts.has_value());
        CHECK(*e->ts % 1000 == 0);
      }
      if (auto* n = std::get_if<pathwise::NodeWrite>(&op); n && n->type == "User") ++users;
    }
  }
  CHECK(rated_edges == 100836);
  CHECK(users == 610);
}

TEST_CASE("leave-last-out split holds out each user's latest liked rating and leaks nothing") {
  const auto& data = Data();
  auto split = demo::SplitLeaveLastOut(data, 4.0);
  CHECK(split.train.size() + split.test.size() == data.ratings.size());
  CHECK(split.test.size() > 100);
  std::set<std::pair<int64_t, int64_t>> train_pairs;
  std::map<int64_t, int64_t> latest_train;
  for (const auto& r : split.train) {
    train_pairs.insert({r.user, r.movie});
    latest_train[r.user] = std::max(latest_train[r.user], r.timestamp);
  }
  std::set<int64_t> test_users;
  for (const auto& t : split.test) {
    CHECK(t.rating >= 4.0);
    CHECK(test_users.insert(t.user).second);
    CHECK_FALSE(train_pairs.count({t.user, t.movie}));
    CHECK(t.timestamp >= latest_train[t.user]);
  }
}

TEST_CASE("validation split never sees a test rating: last ratings dropped, second-to-last held out") {
  const auto& data = Data();
  auto test_split = demo::SplitLeaveLastOut(data, 4.0);
  demo::Dataset without_last = data;
  without_last.ratings = demo::WithoutLastRatings(data);
  CHECK(without_last.ratings.size() == data.ratings.size() - data.users.size());
  auto validation = demo::SplitLeaveLastOut(without_last, 4.0);
  CHECK(validation.test.size() > 100);
  // Every user's last rating (a test hold-out or a training rating of the test split) is absent
  // from both parts of the validation split.
  std::map<int64_t, std::pair<int64_t, int64_t>> last;  // user -> (timestamp, movie)
  for (const auto& r : data.ratings) {
    auto& l = last[r.user];
    l = std::max(l, std::make_pair(r.timestamp, r.movie));
  }
  auto is_last = [&](const demo::Rating& r) {
    return last[r.user] == std::make_pair(r.timestamp, r.movie);
  };
  for (const auto& r : validation.train) CHECK_FALSE(is_last(r));
  for (const auto& r : validation.test) CHECK_FALSE(is_last(r));
  for (const auto& t : test_split.test) CHECK(is_last(t));
}
