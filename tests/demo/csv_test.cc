#include <doctest/doctest.h>

#include "examples/movielens/csv.h"
#include "examples/movielens/dataset.h"

using pathwise::demo::CsvRow;
using pathwise::demo::ParseCsv;

TEST_CASE("csv parses plain rows with LF and CRLF line endings") {
  auto lf = ParseCsv("a,b,c\n1,2,3\n");
  REQUIRE(lf.ok());
  CHECK(lf.value() == std::vector<CsvRow>{{"a", "b", "c"}, {"1", "2", "3"}});
  auto crlf = ParseCsv("a,b,c\r\n1,2,3\r\n4,5,6");
  REQUIRE(crlf.ok());
  CHECK(crlf.value() == std::vector<CsvRow>{{"a", "b", "c"}, {"1", "2", "3"}, {"4", "5", "6"}});
}

TEST_CASE("csv quoted fields keep commas, escaped quotes and line breaks") {
  auto rows = ParseCsv(
      "id,title\r\n"
      "11,\"American President, The (1995)\"\r\n"
      "12,\"Say \"\"Hi\"\", Bob\"\r\n"
      "13,\"two\nlines\"\n");
  REQUIRE(rows.ok());
  REQUIRE(rows.value().size() == 4);
  CHECK(rows.value()[1] == CsvRow{"11", "American President, The (1995)"});
  CHECK(rows.value()[2] == CsvRow{"12", "Say \"Hi\", Bob"});
  CHECK(rows.value()[3] == CsvRow{"13", "two\nlines"});
}

TEST_CASE("csv keeps empty fields, including a quoted empty field and a trailing one") {
  auto rows = ParseCsv("a,,\"\",b,\n");
  REQUIRE(rows.ok());
  REQUIRE(rows.value().size() == 1);
  CHECK(rows.value()[0] == CsvRow{"a", "", "", "b", ""});
}

TEST_CASE("csv skips blank lines") {
  auto rows = ParseCsv("a\n\r\n\nb\n");
  REQUIRE(rows.ok());
  CHECK(rows.value() == std::vector<CsvRow>{{"a"}, {"b"}});
}

TEST_CASE("csv rejects an unterminated quote and text after a closing quote with the line") {
  auto open = ParseCsv("a,b\n1,\"never closed\n2,3\n");
  REQUIRE_FALSE(open.ok());
  CHECK(open.status().message().find("line 2") != std::string::npos);
  auto trailing = ParseCsv("a\n\"x\"y,2\n");
  REQUIRE_FALSE(trailing.ok());
  CHECK(trailing.status().message().find("line 2") != std::string::npos);
  auto stray = ParseCsv("ab\"c\n");
  CHECK_FALSE(stray.ok());
}

TEST_CASE("movie titles split into title and year") {
  std::string title;
  int64_t year = 0;
  pathwise::demo::SplitTitleYear("Toy Story (1995)", &title, &year);
  CHECK(title == "Toy Story");
  CHECK(year == 1995);
  pathwise::demo::SplitTitleYear("City of Lost Children, The (Cité des enfants perdus, La) (1995) ",
                                 &title, &year);
  CHECK(title == "City of Lost Children, The (Cité des enfants perdus, La)");
  CHECK(year == 1995);
  pathwise::demo::SplitTitleYear("Babylon 5", &title, &year);
  CHECK(title == "Babylon 5");
  CHECK(year == 0);
}
