// examples/movielens: the MovieLens demo — builds a knowledge graph (users, movies, genres, tags,
// ratings, co-rating similarity, learned embeddings) from examples/movielens-small/ and serves it.
#pragma once

namespace pathwise::demo {

// `pathwise demo [options]`; argv[0] is "demo". Loads the data once, then serves it.
int Main(int argc, char** argv);

}  // namespace pathwise::demo
