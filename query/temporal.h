// Internal to query/: date, datetime and duration values (runtime_value.h's TemporalVal) — ISO
// 8601 text, calendar arithmetic and components. UTC only: a datetime is milliseconds since the
// epoch; text with any other time zone is rejected. Years are 0000..9999.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "query/runtime_value.h"

namespace pathwise::query {

// ISO 8601: "2024-05-01", "2024-05-01T10:00:00Z" (".123" when there are milliseconds),
// "P1Y2M3DT4H5M6.5S" ("PT0S" for a zero duration).
std::string TemporalText(const TemporalVal& t);

// Parse ISO 8601 text. On failure return false with *error saying what was wrong.
//   date:     YYYY-MM-DD
//   datetime: YYYY-MM-DD[THH:MM[:SS[.fraction]]][Z | +00:00 | +0000 | +00]
//   duration: P[nY][nM][nW][nD][T[nH][nM][n[.fraction]S]] (each n may have a leading '-')
bool ParseDate(std::string_view text, TemporalVal* out, std::string* error);
bool ParseDateTime(std::string_view text, TemporalVal* out, std::string* error);
bool ParseDuration(std::string_view text, TemporalVal* out, std::string* error);

// A date from its fields; false unless it is a real calendar day of years 0..9999.
bool MakeDate(int64_t year, int64_t month, int64_t day, TemporalVal* out);

// A component by name (date: year, month, day, dayOfWeek; datetime: those and hour, minute,
// second, millisecond, epochMillis, epochSeconds; duration: years, months, weeks, days, hours,
// minutes, seconds, milliseconds); null for other names.
RtValue TemporalComponent(const TemporalVal& t, std::string_view name);

// `a + b` and `a - b` where a or b is temporal: datetime/date +- duration, duration + datetime/
// date, duration +- duration. Null for other combinations and for results outside the years
// 0..9999 or int64.
RtValue TemporalArith(char op, const RtValue& a, const RtValue& b);

// What duration.between() and its variants measure.
enum class DurationUnits : uint8_t { kAll, kMonths, kDays, kSeconds };

// duration.between(from, to) as in openCypher (kAll): the whole months from `from` to `to` (a
// month counts once `to` reaches the same day of the month and time of day, backwards alike),
// then the whole days from `from` moved by those months, then the milliseconds left; a date
// stands for its midnight. duration.inMonths (kMonths): those whole months alone;
// duration.inDays (kDays): the whole days from `from` to `to`; duration.inSeconds (kSeconds):
// the time between them as a time part only. Null unless both are dates or datetimes.
RtValue DurationBetween(const RtValue& from, const RtValue& to, DurationUnits units);

// True when epoch_ms is a datetime of the years 0..9999.
bool InDateTimeRange(int64_t epoch_ms);

// The date of a datetime (UTC); a date unchanged.
TemporalVal DateOf(const TemporalVal& t);

}  // namespace pathwise::query
