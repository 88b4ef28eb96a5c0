// db/: the loader's reader of simple edge lines (db/load_pipeline.h, ReadSimpleEdgeLine) against
// the full parse (nlohmann::json + RecordFromJson): a line it reads gives the same record, and
// every line outside its shape is left to the full parse.
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "db/database.h"
#include "db/load_pipeline.h"

namespace pathwise {
namespace {

// The record the full parse gives for text, or nullopt when it rejects the line or the line is
// not an edge.
std::optional<EdgeWrite> FullParse(const std::string& text) {
  nlohmann::json obj = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (obj.is_discarded()) return std::nullopt;
  try {
    Result<Record> record = RecordFromJson(obj);
    if (!record.ok() || !std::holds_alternative<EdgeWrite>(*record)) return std::nullopt;
    return std::get<EdgeWrite>(*record);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

bool SameRef(const NodeRef& a, const NodeRef& b) {
  return a.type == b.type && a.id == b.id && a.create_if_missing == b.create_if_missing;
}

bool SameEdge(const EdgeWrite& a, const EdgeWrite& b) {
  return a.op == b.op && a.type == b.type && SameRef(a.from, b.from) && SameRef(a.to, b.to) &&
         a.weight.has_value() == b.weight.has_value() &&
         (!a.weight || std::signbit(*a.weight) == std::signbit(*b.weight)) && a.weight == b.weight &&
         a.ts == b.ts && a.props == b.props;
}

// Checks the contract on one line; returns whether the simple reader took it.
bool CheckLine(const std::string& text) {
  EdgeWrite simple;
  const bool read = ReadSimpleEdgeLine(text, &simple);
  if (read) {
    std::optional<EdgeWrite> full = FullParse(text);
    INFO(text);
    REQUIRE(full.has_value());
    CHECK(SameEdge(simple, *full));
  }
  return read;
}

TEST_CASE("a simple edge line reads to exactly the record the full JSON parse gives") {
  const std::vector<std::string> lines = {
      R"({"edge":"VIEWED","from":["User","u3242"],"to":["Item","i2076"],"weight":1,"ts":1786484118066})",
      R"({"edge":"BOUGHT","from":["User","u1"],"to":["Item","i2"]})",
      R"( { "to" : [ "Item" , "i 2" ] ,	"from":["User","u1"], "edge" : "E" } )",
      R"({"edge":"E","from":["U","a"],"to":["I","b"],"op":"delete"})",
      R"({"edge":"E","from":["U","a"],"to":["I","b"],"op":"put","weight":-0})",
      R"({"edge":"E","from":["U","a"],"to":["I","b"],"weight":-0.0})",
      R"({"edge":"E","from":["U","a"],"to":["I","b"],"weight":0.1,"ts":-5})",
      R"({"edge":"E","from":["U","a"],"to":["I","b"],"weight":2.5e-3,"ts":0})",
      R"({"edge":"E","from":["U","a"],"to":["I","b"],"weight":1E+2,"ts":-0})",
      R"({"edge":"E","from":["U","a"],"to":["I","b"],"weight":123456789012345678})",
      R"({"edge":"E","from":["U","a"],"to":["I","b"],"weight":12345678901234567890123})",
      R"({"edge":"E","from":["U","a"],"to":["I","b"],"weight":-9007199254740993})",
      R"({"edge":"E","from":["U","a"],"to":["I","b"],"weight":3.4e38,"ts":999999999999999999})",
      R"({"edge":"","from":["",""],"to":["I","~!@#$%^&*()_+{}|:<>?"]})",
  };
  for (const std::string& line : lines) CHECK(CheckLine(line));
}

TEST_CASE("an edge line outside the simple shape is left to the full parse") {
  const std::vector<std::string> lines = {
      R"({"edge":"E","from":["U","a\"b"],"to":["I","b"]})",              // an escape
      R"({"edge":"E","from":["U","\u00e9"],"to":["I","b"]})",
      "{\"edge\":\"E\",\"from\":[\"U\",\"\xc3\xa9\"],\"to\":[\"I\",\"b\"]}",  // UTF-8
      "{\"edge\":\"E\",\"from\":[\"U\",\"\xff\"],\"to\":[\"I\",\"b\"]}",      // not UTF-8
      R"({"edge":"E","from":["U",7],"to":["I","b"]})",                   // an integer id
      R"({"edge":"E","from":["U","a"],"to":["I","b"],"props":{}})",
      R"({"edge":"E","from":["U","a"],"to":["I","b"],"edge":"F"})",     // a repeated member
      R"({"edge":"E","from":["U","a"],"to":["I","b"],"node":"U"})",
      R"({"edge":"E","from":["U","a"],"to":["I","b"],"color":1})",
      R"({"edge":"E","from":["U","a"]})",                                 // no "to"
      R"({"from":["U","a"],"to":["I","b"]})",
      R"({"edge":"E","from":["U","a"],"to":["I","b"],"weight":01})",
      R"({"edge":"E","from":["U","a"],"to":["I","b"],"weight":1.})",
      R"({"edge":"E","from":["U","a"],"to":["I","b"],"weight":.5})",
      R"({"edge":"E","from":["U","a"],"to":["I","b"],"weight":1e400})",
      R"({"edge":"E","from":["U","a"],"to":["I","b"],"weight":"1"})",
      R"({"edge":"E","from":["U","a"],"to":["I","b"],"weight":null})",
      R"({"edge":"E","from":["U","a"],"to":["I","b"],"ts":1.0})",
      R"({"edge":"E","from":["U","a"],"to":["I","b"],"ts":1e3})",
      R"({"edge":"E","from":["U","a"],"to":["I","b"],"ts":9223372036854775807})",
      R"({"edge":"E","from":["U","a"],"to":["I","b"],"ts":-100000000000000000})",
      R"({"edge":"E","from":["U","a"],"to":["I","b"],"op":"upsert"})",
      R"({"edge":"E","from":["U","a"],"to":["I","b"]} x)",
      R"({"edge":"E","from":["U","a"],"to":["I","b"],})",
      R"({"edge":"E","from":["U","a","c"],"to":["I","b"]})",
      R"({"edge":"E","from":["U","a"],"to":["I","b"])",
      R"([{"edge":"E","from":["U","a"],"to":["I","b"]}])",
      "\xef\xbb\xbf{\"edge\":\"E\",\"from\":[\"U\",\"a\"],\"to\":[\"I\",\"b\"]}",  // a BOM
      "{}",
      "",
  };
  for (const std::string& line : lines) {
    INFO(line);
    CHECK_FALSE(CheckLine(line));
  }
}

TEST_CASE("a mutated edge line is read only when the full parse gives the same record") {
  const std::vector<std::string> seeds = {
      R"({"edge":"VIEWED","from":["User","u3242"],"to":["Item","i2076"],"weight":1,"ts":1786484118066})",
      R"({"edge":"E","from":["U","a"],"to":["I","b"],"weight":-2.5e-3,"op":"delete"})",
  };
  const std::string alphabet = "{}[]\",:. -+eE019aZ\\\t\x01\x80";
  std::mt19937 rng(14);
  size_t read = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string line = seeds[i % seeds.size()];
    for (int edits = 1 + static_cast<int>(rng() % 3); edits > 0; --edits) {
      const size_t at = rng() % (line.size() + 1);
      const char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0:
          if (at < line.size()) line[at] = c;
          break;
        case 1:
          line.insert(line.begin() + static_cast<std::ptrdiff_t>(at), c);
          break;
        default:
          if (at < line.size()) line.erase(at, 1);
      }
    }
    read += CheckLine(line);
  }
  CHECK(read > 100);  // the mutations keep some lines in the simple shape
}

}  // namespace
}  // namespace pathwise
