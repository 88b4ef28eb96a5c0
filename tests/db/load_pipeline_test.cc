// db/: the load's read-and-parse pipeline (db/load_pipeline.h): lines come back in file order
// with their numbers and lengths, whatever the reads and blocks they span.
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "db/database.h"
#include "db/load_pipeline.h"

namespace pathwise {
namespace {

TEST_CASE("the parse pipeline hands back every line with its number and length across reads") {
  constexpr size_t kMaxLine = 100000;
  std::mt19937 rng(14);
  std::vector<std::string> ids;  // per line: the node id, "" for a blank line, "!" too long
  std::string text;
  for (int i = 0; i < 3000; ++i) {
    const unsigned pick = rng() % 50;
    if (pick == 0) {
      ids.push_back("");
      text += rng() % 2 == 0 ? "\n" : "  \r\n";
      continue;
    }
    if (pick == 1) {  // longer than the limit and than one read of the stream
      ids.push_back("!");
      text += std::string(2 * kMaxLine + 17, 'x') + "\n";
      continue;
    }
    const size_t length = 1 + rng() % (pick < 5 ? 70000 : 300);
    ids.push_back(std::string(length, static_cast<char>('a' + pick % 26)));
    text += R"({"node":"T","id":")" + ids.back() + "\"}" + (pick == 2 ? "\r\n" : "\n");
  }
  ids.push_back("last");  // without a newline
  text += R"({"node":"T","id":"last"})";

  std::istringstream in(text);
  ParsePipeline pipeline(in, kMaxLine, /*workers=*/2);
  ParsedBlock block;
  size_t n = 0;
  size_t bytes = 0;
  while (pipeline.Next(&block)) {
    for (const ParsedLine& line : block.lines) {
      REQUIRE(n < ids.size());
      CHECK(line.line == n + 1);
      bytes += line.bytes;
      if (ids[n].empty()) {
        CHECK(line.kind == ParsedLine::Kind::kBlank);
      } else if (ids[n] == "!") {
        CHECK(line.kind == ParsedLine::Kind::kError);
        CHECK(line.text == "line is " + std::to_string(2 * kMaxLine + 17) +
                               " bytes; the limit is " + std::to_string(kMaxLine));
      } else {
        REQUIRE(line.kind == ParsedLine::Kind::kRecord);
        CHECK(std::get<NodeWrite>(line.record).id == ids[n]);
      }
      ++n;
    }
  }
  CHECK(n == ids.size());
  CHECK(bytes == text.size() + 1);  // every line counts its newline, the last one's too
}

}  // namespace
}  // namespace pathwise
