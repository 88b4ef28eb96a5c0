// The demo's recipes: named, parameterised PQL queries stored as meta "recipe/<name>".
// The formulas were chosen on the validation split of `pathwise demo evaluate --split
// validation` (each user's last rating never seen, the second-to-last held out); the figures on
// the test split are in docs/quality.md.
#include "examples/movielens/graph_builder.h"

namespace pathwise::demo {

nlohmann::json Recipe::ToJson() const {
  // $limit may ask for up to 100 rows (decisions fetch extra candidates for their rules).
  nlohmann::json j = {{"name", name}, {"query", query}, {"description", description},
                      {"params", params}, {"max_limit", 100}};
  if (!sentence.empty()) j["sentence"] = sentence;
  return j;
}

std::vector<Recipe> DemoRecipes() {
  std::vector<Recipe> recipes;
  recipes.push_back(
      {"because_you_watched",
       "Movies similar (co-rating cosine) to the ones you rated: each path counts (rating - 3) "
       "x similarity, so 4-5 star movies pull and 1-2 star movies push away, and a rating counts "
       "half as much for every 30 days it is older than your latest one. Excludes movies you "
       "rated.",
       R"(RECOMMEND (c:Movie) FOR (u:User {id: $user})
  FROM (u)-[r:RATED MAX 5000]->(m:Movie)-[s:SIMILAR_TO MAX 20]->(c)
  WHERE NOT (u)-[:RATED]->(c)
  // recency: halved per 30 days (2592000000 ms) before the user's latest rating at load
  // time (u.last_rated); ratings sent later as events count fully
  SCORE sum((r.weight - 3) * s.weight
      * least(1.0, pow(0.5, (coalesce(u.last_rated, r.ts) - r.ts) / 2592000000.0))) AS co_rating
  LIMIT $limit)",
       {{"user", "1"}, {"limit", 10}},
       "Because you rated {via_weights:2:★} — people who liked those liked this."});
  recipes.push_back(
      {"similar_taste",
       "Nearest movies to your taste vector (the svd job's rank-32 truncated SVD of the rating "
       "matrix, inner product = a PureSVD score). Excludes movies you rated.",
       R"(RECOMMEND (c:Movie) FOR (u:User {id: $user})
  FROM NEAREST 200 TO u.taste IN Movie.embedding
  WHERE NOT (u)-[:RATED]->(c)
  SCORE similarity(c.embedding, u.taste) AS taste
  LIMIT $limit)",
       {{"user", "1"}, {"limit", 10}},
       "Close to your taste: you liked {similar:2}."});
  recipes.push_back(
      {"rp3beta_picks",
       "RP3beta over the ratings (you -> a movie you rated -> another user who rated it -> their "
       "movie, transition probabilities by rating, popular movies damped by degree^0.5), plus your "
       "taste vector. Each result's explanation is one such 3-step path of real ratings. "
       "Excludes movies you rated.",
       R"(RECOMMEND (c:Movie) FOR (u:User {id: $user})
  FROM RP3BETA OVER -[:RATED]-> {alpha: 1.0, beta: 0.5, max_neighbors: 200, top: 3000} AS rp3
  WHERE NOT (u)-[:RATED]->(c)
  // RP3beta scores are ~1e-4, x 10000 gives ~1-3; the taste term is larger (weights chosen on validation)
  SCORE 10000 * source_score('rp3') AS rp3 + 2.0 * similarity(c.embedding, u.taste) AS taste
  LIMIT $limit)",
       {{"user", "1"}, {"limit", 10}},
       ""});  // the generated sentence: "Found by RP3beta (score ...).
  recipes.push_back(
      {"up_next",
       "What people rated next after the movies you rated last: the transitions job's "
       "FOLLOWED_BY edges (a movie rated up to 5 positions after another in someone's ratings "
       "adds 1/distance) followed from your 5 most recent ratings, each weighing 0.3 per "
       "newer moment, plus your taste vector. A rating sent as an event changes the seeds at "
       "once. Excludes movies you rated.",
       R"(RECOMMEND (c:Movie) FOR (u:User {id: $user})
  FROM NEXT OVER -[:RATED]->, -[:FOLLOWED_BY]-> {recent: 5, decay: 0.3, top: 2000} AS next_up
  WHERE NOT (u)-[:RATED]->(c)
  // log damps the counts of very common successions; weights chosen on validation
  SCORE log(1 + source_score('next_up')) AS sequence + 0.5 * similarity(c.embedding, u.taste) AS taste
  LIMIT $limit)",
       {{"user", "1"}, {"limit", 10}},
       ""});  // the generated sentence: "Often comes next after X, one of your most recent (...)."
  recipes.push_back(
      {"genre_explorer",
       "Movies of one genre ($genre) with at least 5 ratings, ranked like because_you_watched "
       "(paths from what you rated, recency-weighted); movies no path reaches follow, most "
       "rated first. Excludes movies you rated.",
       R"(RECOMMEND (c:Movie) FOR (u:User {id: $user})
  FROM (g:Genre {id: $genre})<-[h:HAS_GENRE]-(c) MAX 5000 PER NODE
  FROM (u)-[r:RATED MAX 5000]->(m:Movie)-[s:SIMILAR_TO MAX 20]->(c)
  WHERE NOT (u)-[:RATED]->(c) AND (c)-[:HAS_GENRE]->(:Genre {id: $genre})
    AND c.rating_count >= 5
  SCORE sum((r.weight - 3) * s.weight
      * least(1.0, pow(0.5, (coalesce(u.last_rated, r.ts) - r.ts) / 2592000000.0))) AS co_rating
    + 0.01 * log(1 + c.rating_count) AS popularity
  LIMIT $limit)",
       {{"user", "1"}, {"genre", "Comedy"}, {"limit", 10}},
       "Because you rated {via_weights:2:★} — and it is in the genre you picked."});
  recipes.push_back(
      {"new_user",
       "For a user with no ratings yet: popular, well-rated movies from the chosen genres "
       "($genres). Excludes movies the user rated.",
       R"(RECOMMEND (c:Movie) FOR (u:User {id: $user})
  FROM (g:Genre)<-[h:HAS_GENRE]-(c) MAX 5000 PER NODE
  WHERE g.id IN $genres AND NOT (u)-[:RATED]->(c) AND c.rating_count >= 20
  SCORE c.rating_mean AS mean_rating + 0.5 * log(1 + c.rating_count) AS popularity
  LIMIT $limit)",
       {{"user", "1"}, {"genres", {"Comedy", "Animation"}}, {"limit", 10}}});
  recipes.push_back(
      {"popular_in_genre",
       "Popular, well-rated movies of one genre ($genre, default Drama) that you have not rated: "
       "the fallback of the home_row surface.",
       R"(RECOMMEND (c:Movie) FOR (u:User {id: $user})
  FROM (g:Genre {id: $genre})<-[h:HAS_GENRE]-(c) MAX 5000 PER NODE
  WHERE NOT (u)-[:RATED]->(c) AND c.rating_count >= 20
  SCORE c.rating_mean AS mean_rating + 0.5 * log(1 + c.rating_count) AS popularity
  LIMIT $limit)",
       {{"user", "1"}, {"genre", "Drama"}, {"limit", 10}}});
  return recipes;
}

std::vector<std::pair<std::string, nlohmann::json>> DemoSurfaces() {
  nlohmann::json popular = {
      {"query",
       "MATCH (m:Movie) WHERE m.rating_count >= 50 RETURN m.id ORDER BY m.rating_count DESC "
       "LIMIT 200"},
      {"refresh_seconds", 300}};
  nlohmann::json home_row = {
      {"description",
       "The home page row: because_you_watched, then similar_taste, then popular_in_genre "
       "(context.genre, default Drama); at most 3 movies per genre; a movie is shown to a user "
       "at most 5 times a day; movies viewed 5 or more times in the last 7 days (the views_7d "
       "counter) are boosted by 1.2."},
      {"recipe", "because_you_watched"},
      {"fallbacks", {"similar_taste", "popular_in_genre"}},
      {"params", {{"genre", "Drama"}}},
      {"popular", popular},
      {"k", 10},
      {"min_items", 5},
      {"deadline_ms", 50},
      {"item_type", "Movie"},
      {"label", "title"},
      {"rules",
       {{{"type", "quota"}, {"by", "i.genres"}, {"max", 3}},
        {{"type", "frequency_cap"}, {"max", 5}, {"window_seconds", 86400}},
        {{"type", "boost"}, {"where", "counter(i, 'views_7d') >= 5"}, {"factor", 1.2}}}}};
  nlohmann::json byw_row = {
      {"description",
       "\"Because you watched\": co-rating neighbours of what the user rated, then their taste "
       "vector; movies before 1970 are buried a little."},
      {"recipe", "because_you_watched"},
      {"fallbacks", {"similar_taste"}},
      {"popular", popular},
      {"k", 10},
      {"deadline_ms", 50},
      {"item_type", "Movie"},
      {"label", "title"},
      {"rules", {{{"type", "bury"}, {"where", "i.year < 1970"}, {"factor", 0.8}}}}};
  return {{"home_row", home_row}, {"because_you_watched_row", byw_row}};
}

}  // namespace pathwise::demo
