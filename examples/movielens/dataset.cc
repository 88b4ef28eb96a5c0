#include "examples/movielens/dataset.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <set>

#include "examples/movielens/csv.h"

namespace pathwise::demo {
namespace {

bool ParseInt(const std::string& text, int64_t* out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

bool ParseDouble(const std::string& text, double* out) {
  try {
    size_t used = 0;
    *out = std::stod(text, &used);
    return used == text.size();
  } catch (...) {
    return false;
  }
}

Status RowError(const std::string& file, size_t row, const std::string& what) {
  return Status::InvalidArgument(file + " row " + std::to_string(row + 2) + ": " + what);
}

std::vector<std::string> SplitGenres(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t bar = text.find('|', start);
    if (bar == std::string::npos) bar = text.size();
    std::string genre = text.substr(start, bar - start);
    if (!genre.empty() && genre != "(no genres listed)") out.push_back(genre);
    start = bar + 1;
  }
  return out;
}

}  // namespace

void SplitTitleYear(const std::string& full_title, std::string* title, int64_t* year) {
  std::string text = full_title;
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  *year = 0;
  if (text.size() >= 6 && text[text.size() - 1] == ')' && text[text.size() - 6] == '(') {
    std::string digits = text.substr(text.size() - 5, 4);
    int64_t y = 0;
    if (ParseInt(digits, &y)) {
      *year = y;
      text.resize(text.size() - 6);
      while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
        text.pop_back();
      }
    }
  }
  *title = text;
}

std::string DefaultDataDir() {
#ifdef PATHWISE_SOURCE_DIR
  std::string source_copy = std::string(PATHWISE_SOURCE_DIR) + "/examples/movielens-small";
  if (std::filesystem::exists(source_copy + "/ratings.csv")) return source_copy;
#endif
  return "examples/movielens-small";
}

Result<Dataset> LoadDataset(const std::string& dir) {
  Dataset data;
  PW_ASSIGN_OR_RETURN(auto movie_rows,
                      ReadCsvFile(dir + "/movies.csv", {"movieId", "title", "genres"}));
  for (size_t r = 0; r < movie_rows.size(); ++r) {
    const CsvRow& row = movie_rows[r];
    if (row.size() != 3) return RowError("movies.csv", r, "expected 3 fields");
    Movie movie;
    if (!ParseInt(row[0], &movie.id)) return RowError("movies.csv", r, "bad movieId");
    movie.full_title = row[1];
    SplitTitleYear(row[1], &movie.title, &movie.year);
    movie.genres = SplitGenres(row[2]);
    if (!data.movie_index.emplace(movie.id, data.movies.size()).second) {
      return RowError("movies.csv", r, "duplicate movieId");
    }
    data.movies.push_back(std::move(movie));
  }
  PW_ASSIGN_OR_RETURN(auto link_rows,
                      ReadCsvFile(dir + "/links.csv", {"movieId", "imdbId", "tmdbId"}));
  for (size_t r = 0; r < link_rows.size(); ++r) {
    const CsvRow& row = link_rows[r];
    int64_t id = 0;
    if (row.size() != 3 || !ParseInt(row[0], &id)) return RowError("links.csv", r, "bad row");
    auto it = data.movie_index.find(id);
    if (it == data.movie_index.end()) continue;
    data.movies[it->second].imdb_id = row[1];
    data.movies[it->second].tmdb_id = row[2];
  }
  std::set<int64_t> users;
  PW_ASSIGN_OR_RETURN(auto rating_rows, ReadCsvFile(dir + "/ratings.csv",
                                                    {"userId", "movieId", "rating", "timestamp"}));
  data.ratings.reserve(rating_rows.size());
  for (size_t r = 0; r < rating_rows.size(); ++r) {
    const CsvRow& row = rating_rows[r];
    Rating rating;
    if (row.size() != 4 || !ParseInt(row[0], &rating.user) || !ParseInt(row[1], &rating.movie) ||
        !ParseDouble(row[2], &rating.rating) || !ParseInt(row[3], &rating.timestamp)) {
      return RowError("ratings.csv", r, "bad row");
    }
    if (!data.movie_index.count(rating.movie)) return RowError("ratings.csv", r, "unknown movie");
    users.insert(rating.user);
    data.ratings.push_back(rating);
  }
  PW_ASSIGN_OR_RETURN(auto tag_rows, ReadCsvFile(dir + "/tags.csv",
                                                 {"userId", "movieId", "tag", "timestamp"}));
  for (size_t r = 0; r < tag_rows.size(); ++r) {
    const CsvRow& row = tag_rows[r];
    Tag tag;
    if (row.size() != 4 || !ParseInt(row[0], &tag.user) || !ParseInt(row[1], &tag.movie) ||
        !ParseInt(row[3], &tag.timestamp)) {
      return RowError("tags.csv", r, "bad row");
    }
    if (!data.movie_index.count(tag.movie)) return RowError("tags.csv", r, "unknown movie");
    tag.tag = row[2];
    users.insert(tag.user);
    data.tags.push_back(std::move(tag));
  }
  data.users.assign(users.begin(), users.end());
  return data;
}

}  // namespace pathwise::demo
