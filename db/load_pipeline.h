// Internal to db/: the front half of a bulk load. One thread reads NDJSON lines into blocks;
// worker threads parse the blocks (JSON, depth and length checks, RecordFromJson; the common
// edge line without a JSON document, ReadSimpleEdgeLine); the loader takes the parsed blocks
// back in input order. Parsing is the part of a load that needs no
// database state, so it runs on every core while the loader stages and writes.
#pragma once

#include <cstddef>
#include <istream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "db/database.h"

namespace pathwise {

// One input line after parsing.
struct ParsedLine {
  enum class Kind : uint8_t {
    kBlank,   // empty or only blanks: skipped, not an error
    kRecord,  // a node, edge or vector line
    kSchema,  // {"schema": {...}}
    kError,   // malformed, too long, too deep, or a bad record: error says why
  };
  Kind kind = Kind::kBlank;
  size_t line = 0;   // 1-based line number in the input
  size_t bytes = 0;  // the line's length including its newline
  Record record;
  std::string text;  // kSchema: the schema object as JSON; kError: the reason
};

struct ParsedBlock {
  std::vector<ParsedLine> lines;
};

// Records nest at most three levels ({"props": {"tags": [...]}}); deeper text is rejected before
// it is parsed, so a hostile line cannot make any recursive code run deep.
inline constexpr size_t kMaxLoadLineDepth = 32;

// Reads the common shape of an edge line without building a JSON document: one object with
// "edge", "from" and "to", optionally "weight", "ts" and "op" ("put" or "delete"), each once, its
// strings ASCII without escapes or control characters, both ids strings, ts an integer of at
// most 18 characters (db/flat_json.h). True, with *out set, only for such a line, and then the
// JSON parser and RecordFromJson give exactly *out for it. False for every other line (valid or
// not), which the caller parses in full.
bool ReadSimpleEdgeLine(std::string_view text, EdgeWrite* out);

// Parses one line's text (without its newline). length is the line's full length, which may
// exceed text.size() when the reader kept only max_line_bytes of it.
ParsedLine ParseLoadLine(std::string_view text, size_t length, size_t max_line_bytes);

class ParsePipeline {
 public:
  // Starts reading in at once on a thread of its own, with `workers` parse threads (>= 1).
  // At most a few blocks per worker are read ahead, so memory stays bounded whatever the input.
  ParsePipeline(std::istream& in, size_t max_line_bytes, int workers);
  // Stops reading and parsing (a block being parsed is finished first) and joins the threads.
  ~ParsePipeline();
  ParsePipeline(const ParsePipeline&) = delete;
  ParsePipeline& operator=(const ParsePipeline&) = delete;

  // The next block in input order; false at the end of the input.
  bool Next(ParsedBlock* block);
  // Seconds the worker threads spent parsing, summed over workers.
  double parse_seconds() const;
  // Seconds Next() waited for a block that was not parsed yet.
  double wait_seconds() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace pathwise
