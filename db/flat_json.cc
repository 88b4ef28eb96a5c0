// The scanner of flat JSON objects (flat_json.h).
#include "db/flat_json.h"

#include <charconv>

namespace pathwise {

bool FlatJsonScanner::AtEnd() {
  SkipSpace();
  return pos_ == text_.size();
}

bool FlatJsonScanner::Consume(char c) {
  SkipSpace();
  if (pos_ >= text_.size() || text_[pos_] != c) return false;
  ++pos_;
  return true;
}

bool FlatJsonScanner::String(std::string_view* out) {
  if (!Consume('"')) return false;
  const size_t start = pos_;
  for (; pos_ < text_.size(); ++pos_) {
    const auto c = static_cast<unsigned char>(text_[pos_]);
    if (c == '"') {
      *out = text_.substr(start, pos_++ - start);
      return true;
    }
    if (c == '\\' || c < 0x20 || c >= 0x80) return false;
  }
  return false;
}

bool FlatJsonScanner::StringInto(std::string* out) {
  std::string_view s;
  if (!String(&s)) return false;
  out->assign(s);
  return true;
}

bool FlatJsonScanner::Number(std::string_view* token, bool* integral) {
  SkipSpace();
  const size_t start = pos_;
  if (pos_ < text_.size() && text_[pos_] == '-') ++pos_;
  const size_t first = pos_;
  const size_t whole = Digits();
  if (whole == 0 || (whole > 1 && text_[first] == '0')) return false;
  *integral = true;
  if (pos_ < text_.size() && text_[pos_] == '.') {
    ++pos_;
    if (Digits() == 0) return false;
    *integral = false;
  }
  if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
    ++pos_;
    if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
    if (Digits() == 0) return false;
    *integral = false;
  }
  *token = text_.substr(start, pos_ - start);
  return true;
}

bool FlatJsonScanner::Integer(int64_t* out) {
  std::string_view token;
  bool integral = false;
  if (!Number(&token, &integral) || !integral || token.size() > 18) return false;
  return std::from_chars(token.data(), token.data() + token.size(), *out).ec == std::errc();
}

bool FlatJsonScanner::Double(double* out) {
  std::string_view token;
  bool integral = false;
  if (!Number(&token, &integral)) return false;
  auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), *out);
  if (integral && *out == 0) *out = 0;  // the parser reads -0 as the integer 0, not as -0.0
  return ec == std::errc() && end == token.data() + token.size();
}

void FlatJsonScanner::SkipSpace() {
  for (; pos_ < text_.size(); ++pos_) {
    const char c = text_[pos_];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
  }
}

size_t FlatJsonScanner::Digits() {
  const size_t from = pos_;
  while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
  return pos_ - from;
}

}  // namespace pathwise
