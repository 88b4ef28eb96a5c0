// RFC 4180 CSV parsing for the MovieLens files: LF or CRLF line endings, quoted fields that may
// contain commas, line breaks and doubled quotes ("" -> ").
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "storage/status.h"

namespace pathwise::demo {

using CsvRow = std::vector<std::string>;

// Parses a whole CSV text into rows of fields. A trailing line break does not add an empty row;
// blank lines are skipped. Errors: InvalidArgument naming the 1-based line for an unterminated
// quoted field or a quote in the middle of an unquoted field / text after a closing quote.
Result<std::vector<CsvRow>> ParseCsv(std::string_view text);

// Reads and parses a file; the first row (the header) is checked against `expected_header`
// and dropped. Errors: IOError if unreadable, InvalidArgument on a bad header or bad CSV.
Result<std::vector<CsvRow>> ReadCsvFile(const std::string& path,
                                        const std::vector<std::string>& expected_header);

}  // namespace pathwise::demo
