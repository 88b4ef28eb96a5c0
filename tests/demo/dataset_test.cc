#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>
#include <unordered_set>

#include "examples/movielens/dataset.h"
#include "examples/movielens/evaluate.h"
#include "examples/movielens/graph_builder.h"
#include "examples/movielens/model.h"

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

bool IsFamilyMovie(const demo::Movie& movie) {
  for (const auto& g : movie.genres) {
    if (g == "Animation" || g == "Children") return true;
  }
  return false;
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

TEST_CASE("similar_to keeps at most top_k positive neighbours with enough co-raters") {
  const auto& graph = Graph();
  demo::SimilarityOptions defaults;
  size_t with_neighbours = 0;
  for (const auto& list : graph.similar) {
    CHECK(list.size() <= defaults.top_k);
    if (!list.empty()) ++with_neighbours;
    for (size_t i = 0; i < list.size(); ++i) {
      CHECK(list[i].similarity > 0);
      CHECK(list[i].similarity <= 1.0001);
      CHECK(list[i].co_raters >= defaults.min_co_raters);
      if (i > 0) CHECK(list[i - 1].similarity >= list[i].similarity);
    }
  }
  CHECK(with_neighbours > 1000);
  // Toy Story's co-rating neighbours include Toy Story 2.
  const auto& toy_list = graph.similar[Data().movie_index.at(1)];
  size_t toy2 = Data().movie_index.at(3114);
  CHECK(std::any_of(toy_list.begin(), toy_list.end(),
                    [&](const demo::Neighbour& n) { return n.movie == toy2; }));
}

TEST_CASE("embedding neighbours of Toy Story are animated or children's movies far above chance") {
  const auto& data = Data();
  const auto& graph = Graph();
  size_t toy = data.movie_index.at(1);
  std::vector<std::pair<double, size_t>> candidates;
  size_t family = 0;
  for (size_t m = 0; m < data.movies.size(); ++m) {
    if (m == toy || graph.matrix.by_movie[m].size() < 20) continue;
    candidates.push_back({-demo::Cosine(graph.embeddings.movie[toy], graph.embeddings.movie[m]), m});
    if (IsFamilyMovie(data.movies[m])) ++family;
  }
  double base_rate = double(family) / candidates.size();
  std::sort(candidates.begin(), candidates.end());
  size_t top = 20, family_top = 0;
  for (size_t i = 0; i < top; ++i) family_top += IsFamilyMovie(data.movies[candidates[i].second]);
  double top_rate = double(family_top) / top;
  MESSAGE("family share: top-20 " << top_rate << " vs all " << base_rate);
  CHECK(top_rate >= 2.5 * base_rate);
  CHECK(family_top >= 6);
}

TEST_CASE("user taste vectors predict held-in ratings better than chance") {
  // user . movie approximates the centred rating: liked movies score higher than disliked ones.
  const auto& graph = Graph();
  const auto& m = graph.matrix;
  size_t agree = 0, pairs = 0;
  for (size_t u = 0; u < m.num_users; u += 7) {
    double liked = 0, disliked = 0;
    size_t n_liked = 0, n_disliked = 0;
    for (const auto& [movie, rating] : m.by_user[u]) {
      double dot = 0;
      for (size_t k = 0; k < graph.embeddings.dim; ++k) {
        dot += graph.embeddings.user[u][k] * graph.embeddings.movie[movie][k];
      }
      if (rating >= 4.5) liked += dot, ++n_liked;
      if (rating <= 2) disliked += dot, ++n_disliked;
    }
    if (!n_liked || !n_disliked) continue;
    ++pairs;
    if (liked / n_liked > disliked / n_disliked) ++agree;
  }
  REQUIRE(pairs > 20);
  CHECK(agree >= 0.9 * pairs);
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
