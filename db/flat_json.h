// Internal to db/: a scanner for the flat JSON objects that are read without building a JSON
// document -- the event log's entries (events.cc) and the loader's simple edge lines
// (load_pipeline.cc). It takes a subset of JSON's grammar; each reader returns false where the
// text leaves that subset, and the caller then parses the text in full. So what it reads, the
// JSON parser reads the same.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pathwise {

class FlatJsonScanner {
 public:
  explicit FlatJsonScanner(std::string_view text) : text_(text) {}

  // Skips white space; true when nothing else is left.
  bool AtEnd();
  // Skips white space and consumes c; false (nothing consumed but the space) when c is not next.
  bool Consume(char c);
  // A string of ASCII from 0x20 up, without escapes (others need the parser's decoding and
  // UTF-8 check); *out views the text.
  bool String(std::string_view* out);
  bool StringInto(std::string* out);
  // A JSON number, -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?; *integral when it has neither a
  // fraction nor an exponent.
  bool Number(std::string_view* token, bool* integral);
  // An integer of at most 18 characters (within int64): the parser's value.
  bool Integer(int64_t* out);
  // A number as the parser's value converted to double (correctly rounded; out of double's
  // range: false).
  bool Double(double* out);

 private:
  void SkipSpace();
  size_t Digits();

  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace pathwise
