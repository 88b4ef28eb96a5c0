// The MovieLens "small" data set (movies, ratings, tags, links) parsed into plain structs.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "storage/status.h"

namespace pathwise::demo {

struct Movie {
  int64_t id = 0;
  std::string full_title;  // as in movies.csv, e.g. "Toy Story (1995)"
  std::string title;       // without the trailing year, e.g. "Toy Story"
  int64_t year = 0;        // 0 when the title carries no "(yyyy)"
  std::vector<std::string> genres;  // "(no genres listed)" is dropped
  std::string imdb_id;
  std::string tmdb_id;
};

struct Rating {
  int64_t user = 0;
  int64_t movie = 0;
  double rating = 0;
  int64_t timestamp = 0;  // seconds since the epoch
};

struct Tag {
  int64_t user = 0;
  int64_t movie = 0;
  std::string tag;
  int64_t timestamp = 0;
};

struct Dataset {
  std::vector<Movie> movies;
  std::vector<Rating> ratings;
  std::vector<Tag> tags;
  std::unordered_map<int64_t, size_t> movie_index;  // movie id -> index in movies
  std::vector<int64_t> users;                       // distinct user ids, ascending
};

// Splits "Toy Story (1995)" into ("Toy Story", 1995); a title without a trailing year keeps
// its text and gets year 0. Trailing spaces are trimmed.
void SplitTitleYear(const std::string& full_title, std::string* title, int64_t* year);

// Reads DIR/movies.csv, ratings.csv, tags.csv and links.csv. Errors: IOError for a missing
// file, InvalidArgument naming file and line for malformed rows.
Result<Dataset> LoadDataset(const std::string& dir);

// The directory of the shipped copy (examples/movielens-small in the source tree).
std::string DefaultDataDir();

}  // namespace pathwise::demo
