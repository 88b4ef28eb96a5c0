// The demo's recipes: named, parameterised PQL queries stored as meta "recipe/<name>".
#include "examples/movielens/graph_builder.h"

namespace pathwise::demo {

nlohmann::json Recipe::ToJson() const {
  return {{"name", name}, {"query", query}, {"description", description}, {"params", params}};
}

std::vector<Recipe> DemoRecipes() {
  std::vector<Recipe> recipes;
  recipes.push_back(
      {"because_you_watched",
       "Movies similar (co-rating cosine) to the ones you rated: each path counts (rating - 3) "
       "x similarity, so 4-5 star movies pull and 1-2 star movies push away; plus a small taste "
       "and popularity prior. Excludes movies you rated.",
       R"(RECOMMEND (c:Movie) FOR (u:User {id: $user})
  FROM (u)-[r:RATED MAX 5000]->(m:Movie)-[s:SIMILAR_TO MAX 20]->(c)
  WHERE NOT (u)-[:RATED]->(c)
  SCORE sum((r.weight - 3) * s.weight)
      + 0.5 * similarity(c.embedding, u.taste)
      + 0.1 * log(1 + c.popularity)
  LIMIT 10)",
       {{"user", "1"}}});
  recipes.push_back(
      {"similar_taste",
       "Nearest movies to your taste vector (truncated SVD of the rating matrix), with a small "
       "popularity prior. Excludes movies you rated.",
       R"(RECOMMEND (c:Movie) FOR (u:User {id: $user})
  FROM NEAREST 200 TO u.taste IN Movie.embedding
  WHERE NOT (u)-[:RATED]->(c)
  SCORE similarity(c.embedding, u.taste) + 0.1 * log(1 + c.popularity)
  LIMIT 10)",
       {{"user", "1"}}});
  recipes.push_back(
      {"genre_explorer",
       "Well-rated movies of one genre ($genre), ranked by mean rating, evidence and how well "
       "they fit your taste. Excludes movies you rated.",
       R"(RECOMMEND (c:Movie) FOR (u:User {id: $user})
  FROM (g:Genre {id: $genre})<-[h:HAS_GENRE]-(c) MAX 5000 PER NODE
  WHERE NOT (u)-[:RATED]->(c) AND c.rating_count >= 5
  SCORE 0.3 * c.rating_mean + 0.1 * log(1 + c.rating_count)
      + similarity(c.embedding, u.taste)
  LIMIT 10)",
       {{"user", "1"}, {"genre", "Comedy"}}});
  recipes.push_back(
      {"new_user",
       "For a user with no ratings yet: popular, well-rated movies from the chosen genres "
       "($genres). Excludes movies the user rated.",
       R"(RECOMMEND (c:Movie) FOR (u:User {id: $user})
  FROM (g:Genre)<-[h:HAS_GENRE]-(c) MAX 5000 PER NODE
  WHERE g.id IN $genres AND NOT (u)-[:RATED]->(c) AND c.rating_count >= 20
  SCORE c.rating_mean + 0.3 * log(1 + c.rating_count)
  LIMIT 10)",
       {{"user", "1"}, {"genres", {"Comedy", "Animation"}}}});
  return recipes;
}

}  // namespace pathwise::demo
