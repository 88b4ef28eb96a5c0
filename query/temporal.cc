// Dates, datetimes and durations (temporal.h). Calendar conversions are Howard Hinnant's
// days_from_civil / civil_from_days (proleptic Gregorian calendar).
#include "query/temporal.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

namespace pathwise::query {

namespace {

using Kind = TemporalVal::Kind;

constexpr int64_t kMsPerSecond = 1000;
constexpr int64_t kMsPerMinute = 60 * kMsPerSecond;
constexpr int64_t kMsPerHour = 60 * kMsPerMinute;
constexpr int64_t kMsPerDay = 24 * kMsPerHour;

int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

struct Civil {
  int64_t year, month, day;
};

Civil CivilFromDays(int64_t z) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t d = doy - (153 * mp + 2) / 5 + 1;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  return {yoe + era * 400 + (m <= 2), m, d};
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int64_t DaysInMonth(int64_t y, int64_t m) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// The days of years 0000-01-01 .. 9999-12-31.
const int64_t kMinDay = DaysFromCivil(0, 1, 1);
const int64_t kMaxDay = DaysFromCivil(9999, 12, 31);

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// A fixed-width unsigned decimal field at text[*at]; advances *at.
bool Digits(std::string_view text, size_t* at, size_t width, int64_t* out) {
  if (*at + width > text.size()) return false;
  int64_t v = 0;
  for (size_t i = 0; i < width; ++i) {
    char c = text[*at + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *at += width;
  *out = v;
  return true;
}

bool Expect(std::string_view text, size_t* at, char c) {
  if (*at >= text.size() || text[*at] != c) return false;
  ++*at;
  return true;
}

// Milliseconds of a fraction ".fff..." at text[*at] (after the dot); up to 9 digits, truncated to
// milliseconds.
bool FractionMillis(std::string_view text, size_t* at, int64_t* ms) {
  size_t start = *at;
  int64_t v = 0, scale = 1000;
  while (*at < text.size() && text[*at] >= '0' && text[*at] <= '9' && *at - start < 9) {
    scale /= 10;
    v += (text[*at] - '0') * scale;  // scale reaches 0 after three digits: the rest truncate
    ++*at;
  }
  *ms = v;
  return *at > start;
}

bool ParseDateAt(std::string_view text, size_t* at, TemporalVal* out) {
  int64_t y = 0, m = 0, d = 0;
  if (!Digits(text, at, 4, &y) || !Expect(text, at, '-') || !Digits(text, at, 2, &m) ||
      !Expect(text, at, '-') || !Digits(text, at, 2, &d)) {
    return false;
  }
  return MakeDate(y, m, d, out);
}

// HH:MM[:SS[.fraction]] as milliseconds of the day.
bool ParseTimeAt(std::string_view text, size_t* at, int64_t* ms) {
  int64_t h = 0, mi = 0, s = 0, frac = 0;
  if (!Digits(text, at, 2, &h) || !Expect(text, at, ':') || !Digits(text, at, 2, &mi)) return false;
  if (Expect(text, at, ':')) {
    if (!Digits(text, at, 2, &s)) return false;
    if (Expect(text, at, '.') && !FractionMillis(text, at, &frac)) return false;
  }
  if (h > 23 || mi > 59 || s > 59) return false;
  *ms = h * kMsPerHour + mi * kMsPerMinute + s * kMsPerSecond + frac;
  return true;
}

std::string TwoDigits(int64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%02lld", static_cast<long long>(v));
  return buf;
}

std::string DateText(int64_t days) {
  Civil c = CivilFromDays(days);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lld", static_cast<long long>(c.year),
                static_cast<long long>(c.month), static_cast<long long>(c.day));
  return buf;
}

// Seconds with an optional fraction: "6", "6.5", "-0.25".
std::string SecondsText(int64_t ms) {
  std::string out = ms < 0 ? "-" : "";
  uint64_t abs = ms < 0 ? 0 - static_cast<uint64_t>(ms) : static_cast<uint64_t>(ms);
  out += std::to_string(abs / 1000);
  if (abs % 1000 != 0) {
    char buf[8];
    std::snprintf(buf, sizeof buf, ".%03llu", static_cast<unsigned long long>(abs % 1000));
    std::string frac = buf;
    while (frac.back() == '0') frac.pop_back();
    out += frac;
  }
  return out;
}

std::string DurationText(const TemporalVal& t) {
  std::string out = "P";
  if (t.months / 12 != 0) out += std::to_string(t.months / 12) + "Y";
  if (t.months % 12 != 0) out += std::to_string(t.months % 12) + "M";
  if (t.days != 0) out += std::to_string(t.days) + "D";
  int64_t ms = t.millis;
  if (ms != 0) {
    out += "T";
    if (ms / kMsPerHour != 0) out += std::to_string(ms / kMsPerHour) + "H";
    ms %= kMsPerHour;
    if (ms / kMsPerMinute != 0) out += std::to_string(ms / kMsPerMinute) + "M";
    ms %= kMsPerMinute;
    if (ms != 0) out += SecondsText(ms) + "S";
  }
  return out == "P" ? "PT0S" : out;
}

// One "n<unit>" of a duration: a signed integer, or for seconds a decimal.
bool DurationPart(std::string_view text, size_t* at, bool seconds_allowed, int64_t* value,
                  int64_t* frac_ms, char* unit) {
  bool negative = Expect(text, at, '-');
  const char* begin = text.data() + *at;
  auto [end, ec] = std::from_chars(begin, text.data() + text.size(), *value);
  if (ec != std::errc() || *value < 0) return false;
  *at += static_cast<size_t>(end - begin);
  *frac_ms = 0;
  if (seconds_allowed && Expect(text, at, '.') && !FractionMillis(text, at, frac_ms)) return false;
  if (*at >= text.size()) return false;
  *unit = text[(*at)++];
  if (*frac_ms != 0 && *unit != 'S') return false;
  if (negative) {
    *value = -*value;
    *frac_ms = -*frac_ms;
  }
  return true;
}

bool AddScaled(int64_t* total, int64_t value, int64_t scale) {
  int64_t product = 0;
  return !__builtin_mul_overflow(value, scale, &product) &&
         !__builtin_add_overflow(*total, product, total);
}

// Adds n months to a date, keeping the day unless the month is shorter (then its last day).
bool AddMonths(int64_t days, int64_t months, int64_t* out) {
  if (months < -120000 || months > 120000) return false;
  Civil c = CivilFromDays(days);
  int64_t index = c.year * 12 + (c.month - 1) + months;
  int64_t year = FloorDiv(index, 12), month = index - year * 12 + 1;
  if (year < 0 || year > 9999) return false;
  *out = DaysFromCivil(year, month, std::min(c.day, DaysInMonth(year, month)));
  return true;
}

// date/datetime + sign * duration.
RtValue Shift(const TemporalVal& point, const TemporalVal& d, int64_t sign) {
  TemporalVal out = point;
  int64_t day = point.kind == Kind::kDate ? point.days : FloorDiv(point.millis, kMsPerDay);
  int64_t ms_of_day = point.kind == Kind::kDate ? 0 : point.millis - day * kMsPerDay;
  int64_t months = 0, shifted = 0;
  if (!AddScaled(&months, d.months, sign) || !AddMonths(day, months, &shifted)) return RtValue();
  int64_t ms = 0;
  if (!AddScaled(&ms, d.millis, sign)) return RtValue();
  if (point.kind == Kind::kDate) {
    // As in openCypher, a date ignores the duration's time part (it has no time of day).
    if (!AddScaled(&shifted, d.days, sign)) return RtValue();
    if (shifted < kMinDay || shifted > kMaxDay) return RtValue();
    out.days = shifted;
    return RtValue(out);
  }
  if (!AddScaled(&shifted, d.days, sign)) return RtValue();
  int64_t total = ms_of_day;
  if (!AddScaled(&total, shifted, kMsPerDay) || !AddScaled(&total, ms, 1)) return RtValue();
  if (!InDateTimeRange(total)) return RtValue();
  out.millis = total;
  return RtValue(out);
}

// A date or datetime as its day and the milliseconds into that day (a date: midnight).
struct DayTime {
  int64_t day;
  int64_t ms;
};

DayTime DayTimeOf(const TemporalVal& t) {
  if (t.kind == Kind::kDate) return {t.days, 0};
  int64_t day = FloorDiv(t.millis, kMsPerDay);
  return {day, t.millis - day * kMsPerDay};
}

// The last day counted whole from `from` towards `to`: to's day, or the day before it (after it,
// going backwards) when to's time of day has not reached from's (java.time's until()).
int64_t WholeDayEnd(DayTime from, DayTime to) {
  if (to.day > from.day && to.ms < from.ms) return to.day - 1;
  if (to.day < from.day && to.ms > from.ms) return to.day + 1;
  return to.day;
}

// Whole months from day a to day b, toward zero: b must reach a's day of the month.
int64_t MonthsBetween(int64_t a, int64_t b) {
  Civil x = CivilFromDays(a), y = CivilFromDays(b);
  int64_t packed_x = (x.year * 12 + x.month - 1) * 32 + x.day;
  int64_t packed_y = (y.year * 12 + y.month - 1) * 32 + y.day;
  return (packed_y - packed_x) / 32;
}

}  // namespace

RtValue DurationBetween(const RtValue& from, const RtValue& to, DurationUnits units) {
  if (!from.IsTemporal() || !to.IsTemporal()) return RtValue();
  if (from.AsTemporal().kind == Kind::kDuration || to.AsTemporal().kind == Kind::kDuration) {
    return RtValue();
  }
  DayTime a = DayTimeOf(from.AsTemporal()), b = DayTimeOf(to.AsTemporal());
  TemporalVal out{Kind::kDuration, 0, 0, 0};
  // Years 0000..9999 keep every part far from int64's range.
  if (units == DurationUnits::kSeconds) {
    out.millis = (b.day - a.day) * kMsPerDay + b.ms - a.ms;
    return RtValue(out);
  }
  if (units != DurationUnits::kDays) {
    out.months = MonthsBetween(a.day, WholeDayEnd(a, b));
    if (units == DurationUnits::kMonths) return RtValue(out);
    AddMonths(a.day, out.months, &a.day);  // lands between the two ends: always in range
  }
  out.days = WholeDayEnd(a, b) - a.day;
  if (units == DurationUnits::kAll) out.millis = (b.day - a.day - out.days) * kMsPerDay + b.ms - a.ms;
  return RtValue(out);
}

bool MakeDate(int64_t year, int64_t month, int64_t day, TemporalVal* out) {
  if (year < 0 || year > 9999 || month < 1 || month > 12 || day < 1 ||
      day > DaysInMonth(year, month)) {
    return false;
  }
  *out = TemporalVal{Kind::kDate, 0, DaysFromCivil(year, month, day), 0};
  return true;
}

bool InDateTimeRange(int64_t epoch_ms) {
  return epoch_ms >= kMinDay * kMsPerDay && epoch_ms < (kMaxDay + 1) * kMsPerDay;
}

TemporalVal DateOf(const TemporalVal& t) {
  if (t.kind != Kind::kDateTime) return t;
  return TemporalVal{Kind::kDate, 0, FloorDiv(t.millis, kMsPerDay), 0};
}

std::string TemporalText(const TemporalVal& t) {
  switch (t.kind) {
    case Kind::kDate: return DateText(t.days);
    case Kind::kDateTime: {
      int64_t day = FloorDiv(t.millis, kMsPerDay);
      int64_t ms = t.millis - day * kMsPerDay;
      std::string out = DateText(day) + "T" + TwoDigits(ms / kMsPerHour) + ":" +
                        TwoDigits(ms / kMsPerMinute % 60) + ":" + TwoDigits(ms / 1000 % 60);
      if (ms % 1000 != 0) {
        char buf[8];
        std::snprintf(buf, sizeof buf, ".%03lld", static_cast<long long>(ms % 1000));
        out += buf;
      }
      return out + "Z";
    }
    case Kind::kDuration: return DurationText(t);
  }
  return "";
}

bool ParseDate(std::string_view text, TemporalVal* out, std::string* error) {
  size_t at = 0;
  if (ParseDateAt(text, &at, out) && at == text.size()) return true;
  *error = "not a date of the form YYYY-MM-DD (years 0000 to 9999)";
  return false;
}

bool ParseDateTime(std::string_view text, TemporalVal* out, std::string* error) {
  size_t at = 0;
  TemporalVal date;
  int64_t ms = 0;
  *error = "not a datetime of the form YYYY-MM-DDTHH:MM[:SS[.fff]]Z";
  if (!ParseDateAt(text, &at, &date)) return false;
  if (Expect(text, &at, 'T') && !ParseTimeAt(text, &at, &ms)) return false;
  std::string_view zone = text.substr(at);
  if (!zone.empty() && zone != "Z" && zone != "+00:00" && zone != "+0000" && zone != "+00") {
    bool looks_like_zone = zone[0] == '+' || zone[0] == '-' || zone[0] == '[' ||
                           (zone[0] >= 'A' && zone[0] <= 'Z');
    if (looks_like_zone) {
      *error = "time zone '" + std::string(zone) +
               "' is not supported: PQL datetimes are UTC (write Z or leave the zone out)";
    }
    return false;
  }
  *out = TemporalVal{Kind::kDateTime, 0, 0, date.days * kMsPerDay + ms};
  return true;
}

bool ParseDuration(std::string_view text, TemporalVal* out, std::string* error) {
  *error = "not an ISO 8601 duration such as P1DT2H or PT90M";
  size_t at = 0;
  if (!Expect(text, &at, 'P') || at == text.size()) return false;
  TemporalVal d{Kind::kDuration, 0, 0, 0};
  bool time = false;
  while (at < text.size()) {
    if (!time && Expect(text, &at, 'T')) {
      time = true;
      if (at == text.size()) return false;
      continue;
    }
    int64_t value = 0, frac = 0;
    char unit = 0;
    if (!DurationPart(text, &at, time, &value, &frac, &unit)) return false;
    bool ok = false;
    if (!time && unit == 'Y') ok = AddScaled(&d.months, value, 12);
    if (!time && unit == 'M') ok = AddScaled(&d.months, value, 1);
    if (!time && unit == 'W') ok = AddScaled(&d.days, value, 7);
    if (!time && unit == 'D') ok = AddScaled(&d.days, value, 1);
    if (time && unit == 'H') ok = AddScaled(&d.millis, value, kMsPerHour);
    if (time && unit == 'M') ok = AddScaled(&d.millis, value, kMsPerMinute);
    if (time && unit == 'S') ok = AddScaled(&d.millis, value, kMsPerSecond) && AddScaled(&d.millis, frac, 1);
    if (!ok) return false;
  }
  *out = d;
  return true;
}

RtValue TemporalComponent(const TemporalVal& t, std::string_view name) {
  if (t.kind == Kind::kDuration) {
    if (name == "years") return RtValue(t.months / 12);
    if (name == "months") return RtValue(t.months);
    if (name == "weeks") return RtValue(t.days / 7);
    if (name == "days") return RtValue(t.days);
    if (name == "hours") return RtValue(t.millis / kMsPerHour);
    if (name == "minutes") return RtValue(t.millis / kMsPerMinute);
    if (name == "seconds") return RtValue(t.millis / kMsPerSecond);
    if (name == "milliseconds") return RtValue(t.millis);
    return RtValue();
  }
  int64_t day = t.kind == Kind::kDate ? t.days : FloorDiv(t.millis, kMsPerDay);
  Civil c = CivilFromDays(day);
  if (name == "year") return RtValue(c.year);
  if (name == "month") return RtValue(c.month);
  if (name == "day") return RtValue(c.day);
  if (name == "dayOfWeek") {  // ISO: Monday 1 ... Sunday 7; 1970-01-01 was a Thursday
    int64_t from_monday = day + 3;
    return RtValue(from_monday - 7 * FloorDiv(from_monday, 7) + 1);
  }
  if (t.kind == Kind::kDate) return RtValue();
  int64_t ms = t.millis - day * kMsPerDay;
  if (name == "hour") return RtValue(ms / kMsPerHour);
  if (name == "minute") return RtValue(ms / kMsPerMinute % 60);
  if (name == "second") return RtValue(ms / kMsPerSecond % 60);
  if (name == "millisecond") return RtValue(ms % 1000);
  if (name == "epochMillis") return RtValue(t.millis);
  if (name == "epochSeconds") return RtValue(FloorDiv(t.millis, kMsPerSecond));
  return RtValue();
}

RtValue TemporalArith(char op, const RtValue& a, const RtValue& b) {
  if (!a.IsTemporal() || !b.IsTemporal() || (op != '+' && op != '-')) return RtValue();
  const TemporalVal& x = a.AsTemporal();
  const TemporalVal& y = b.AsTemporal();
  bool x_duration = x.kind == Kind::kDuration, y_duration = y.kind == Kind::kDuration;
  if (x_duration && y_duration) {
    TemporalVal out = x;
    int64_t sign = op == '+' ? 1 : -1;
    if (!AddScaled(&out.months, y.months, sign) || !AddScaled(&out.days, y.days, sign) ||
        !AddScaled(&out.millis, y.millis, sign)) {
      return RtValue();
    }
    return RtValue(out);
  }
  if (y_duration) return Shift(x, y, op == '+' ? 1 : -1);
  if (x_duration && op == '+') return Shift(y, x, 1);
  return RtValue();
}

}  // namespace pathwise::query
