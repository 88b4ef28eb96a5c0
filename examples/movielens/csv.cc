#include "examples/movielens/csv.h"

#include <fstream>
#include <sstream>

namespace pathwise::demo {

Result<std::vector<CsvRow>> ParseCsv(std::string_view text) {
  std::vector<CsvRow> rows;
  CsvRow row;
  std::string field;
  bool at_field_start = true;   // nothing of the current field read yet
  bool row_has_fields = false;  // a separator or quoted field was seen in this row
  size_t line = 1;
  size_t i = 0;
  const size_t n = text.size();
  auto end_row = [&]() {
    row.push_back(std::move(field));
    field.clear();
    if (row_has_fields || !(row.size() == 1 && row[0].empty())) rows.push_back(std::move(row));
    row.clear();
    at_field_start = true;
    row_has_fields = false;
  };
  while (i < n) {
    char ch = text[i];
    if (ch == '"' && at_field_start) {
      // Quoted field.
      size_t start_line = line;
      ++i;
      bool closed = false;
      while (i < n) {
        char q = text[i];
        if (q == '"') {
          if (i + 1 < n && text[i + 1] == '"') {
            field.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        if (q == '\n') ++line;
        field.push_back(q);
        ++i;
      }
      if (!closed) {
        return Status::InvalidArgument("CSV: unterminated quoted field starting at line " +
                                       std::to_string(start_line));
      }
      at_field_start = false;
      row_has_fields = true;
      // After a closing quote: a separator, a line end or the end of the text.
      if (i < n && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
        return Status::InvalidArgument("CSV: unexpected text after a closing quote at line " +
                                       std::to_string(line));
      }
      continue;
    }
    if (ch == ',') {
      row.push_back(std::move(field));
      field.clear();
      at_field_start = true;
      row_has_fields = true;
      ++i;
      continue;
    }
    if (ch == '\r' && i + 1 < n && text[i + 1] == '\n') {
      ++i;
      continue;
    }
    if (ch == '\n') {
      end_row();
      ++line;
      ++i;
      continue;
    }
    if (ch == '"') {
      return Status::InvalidArgument("CSV: quote inside an unquoted field at line " +
                                     std::to_string(line));
    }
    field.push_back(ch);
    at_field_start = false;
    ++i;
  }
  if (!field.empty() || row_has_fields) end_row();
  return rows;
}

Result<std::vector<CsvRow>> ReadCsvFile(const std::string& path,
                                        const std::vector<std::string>& expected_header) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError("cannot read " + path);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  auto parsed = ParseCsv(buffer.str());
  if (!parsed.ok()) {
    return Status::InvalidArgument(path + ": " + parsed.status().message());
  }
  std::vector<CsvRow> rows = std::move(parsed).value();
  if (rows.empty() || rows[0] != expected_header) {
    return Status::InvalidArgument(path + ": unexpected header");
  }
  rows.erase(rows.begin());
  return rows;
}

}  // namespace pathwise::demo
