// date(), datetime(), duration(), duration.between() and duration.inMonths/inDays/inSeconds()
// (expr_fns.h's TemporalFunction; values in temporal.h).
#include <string>
#include <vector>

#include "query/expr_fns.h"
#include "query/temporal.h"

namespace pathwise::query {

namespace {

using Kind = TemporalVal::Kind;

constexpr int64_t kMsPerDay = 86'400'000;

// A duration map key: one unit is `scale` months (years, months), days (weeks, days) or
// milliseconds (hours ... milliseconds).
struct Field {
  const char* name;
  int64_t scale;
};

// The map argument's entries as integers by the allowed names; false (with *error) for an
// unknown key or a value that is not an integer.
bool Fields(const RtMap& map, const std::vector<std::string>& allowed, std::vector<RtValue>* out,
            std::string* error) {
  out->assign(allowed.size(), RtValue());
  for (const auto& [key, value] : map) {
    size_t i = 0;
    while (i < allowed.size() && allowed[i] != key) ++i;
    if (i == allowed.size()) {
      std::string names;
      for (const std::string& n : allowed) names += (names.empty() ? "" : ", ") + n;
      *error = "unknown component '" + key + "' (expected " + names + ")";
      return false;
    }
    if (!value.IsNull() && !value.IsInt()) {
      *error = "component '" + key + "' must be an integer";
      return false;
    }
    (*out)[i] = value;
  }
  return true;
}

int64_t IntOr(const RtValue& v, int64_t fallback) { return v.IsInt() ? v.AsInt() : fallback; }

// date({year, month, day}) and the date part of datetime({...}).
bool DateFromFields(const std::vector<RtValue>& f, TemporalVal* out, std::string* error) {
  if (!f[0].IsInt()) {
    *error = "needs a year";
    return false;
  }
  if (!MakeDate(f[0].AsInt(), IntOr(f[1], 1), IntOr(f[2], 1), out)) {
    *error = "not a calendar date of the years 0 to 9999";
    return false;
  }
  return true;
}

bool DateFromMap(const RtMap& map, TemporalVal* out, std::string* error) {
  std::vector<RtValue> f;
  return Fields(map, {"year", "month", "day"}, &f, error) && DateFromFields(f, out, error);
}

// {timezone: ...} accepts UTC only.
bool IsUtcZone(const RtValue& zone) {
  if (zone.IsNull()) return true;
  if (!zone.IsString()) return false;
  const std::string& z = zone.AsString();
  return z == "Z" || z == "UTC" || z == "+00:00";
}

bool DateTimeFromMap(const RtMap& map, TemporalVal* out, std::string* error) {
  RtMap rest;
  for (const auto& entry : map) {
    if (entry.first != "timezone") rest.push_back(entry);
  }
  if (!IsUtcZone(MapGet(map, "timezone"))) {
    *error = "time zones other than UTC are not supported: PQL datetimes are UTC";
    return false;
  }
  std::vector<RtValue> f;
  if (!Fields(rest, {"year", "month", "day", "hour", "minute", "second", "millisecond",
                     "epochMillis", "epochSeconds"},
              &f, error)) {
    return false;
  }
  if (f[7].IsInt() || f[8].IsInt()) {
    bool others = f[7].IsInt() && f[8].IsInt();
    for (size_t i = 0; i < 7; ++i) others |= !f[i].IsNull();
    if (others) {
      *error = "epochMillis or epochSeconds cannot be combined with other components";
      return false;
    }
    int64_t ms = f[7].IsInt() ? f[7].AsInt() : 0;
    if (f[8].IsInt() && __builtin_mul_overflow(f[8].AsInt(), int64_t{1000}, &ms)) ms = INT64_MAX;
    if (!InDateTimeRange(ms)) {
      *error = "epoch time outside the years 0 to 9999";
      return false;
    }
    *out = TemporalVal{Kind::kDateTime, 0, 0, ms};
    return true;
  }
  TemporalVal date;
  if (!DateFromFields(f, &date, error)) return false;
  int64_t h = IntOr(f[3], 0), mi = IntOr(f[4], 0), s = IntOr(f[5], 0), ms = IntOr(f[6], 0);
  if (h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59 || ms < 0 || ms > 999) {
    *error = "hour, minute, second or millisecond out of range";
    return false;
  }
  *out = TemporalVal{Kind::kDateTime, 0, 0,
                     date.days * kMsPerDay + ((h * 60 + mi) * 60 + s) * 1000 + ms};
  return true;
}

bool DurationFromMap(const RtMap& map, TemporalVal* out, std::string* error) {
  static const Field kFields[] = {{"years", 12},        {"months", 1},         {"weeks", 7},
                                  {"days", 1},          {"hours", 3'600'000},  {"minutes", 60'000},
                                  {"seconds", 1'000},   {"milliseconds", 1}};
  std::vector<std::string> names;
  for (const Field& f : kFields) names.emplace_back(f.name);
  std::vector<RtValue> f;
  if (!Fields(map, names, &f, error)) return false;
  *out = TemporalVal{Kind::kDuration, 0, 0, 0};
  for (size_t i = 0; i < f.size(); ++i) {
    int64_t* total = i < 2 ? &out->months : (i < 4 ? &out->days : &out->millis);
    int64_t product = 0;
    if (__builtin_mul_overflow(IntOr(f[i], 0), kFields[i].scale, &product) ||
        __builtin_add_overflow(*total, product, total)) {
      *error = "duration out of range";
      return false;
    }
  }
  return true;
}

using Parser = bool (*)(std::string_view, TemporalVal*, std::string*);
using MapReader = bool (*)(const RtMap&, TemporalVal*, std::string*);

// fn(arg): from a string (parse), a map (read) or a temporal value of the same kind (or a
// datetime for date()); anything else is an error.
RtValue Construct(const BoundExpr& call, const RtValue& arg, Kind kind, Parser parse,
                  MapReader read, ExecState* st) {
  TemporalVal out;
  std::string error;
  bool ok = false;
  if (arg.IsString()) {
    ok = parse(arg.AsString(), &out, &error);
    if (!ok) error = "'" + arg.AsString() + "': " + error;
  } else if (arg.IsMap()) {
    ok = read(arg.AsMap(), &out, &error);
  } else if (arg.IsTemporal() && arg.AsTemporal().kind == kind) {
    out = arg.AsTemporal();
    ok = true;
  } else if (arg.IsTemporal() && kind == Kind::kDate && arg.AsTemporal().kind == Kind::kDateTime) {
    out = DateOf(arg.AsTemporal());
    ok = true;
  } else {
    error = "takes a string or a map";
  }
  if (!ok) return FailAt(call, st, call.name + "(): " + error);
  return RtValue(out);
}

}  // namespace

RtValue TemporalFunction(const BoundExpr& call, const std::vector<RtValue>& args, ExecState* st) {
  switch (call.fn) {
    case Fn::kDate:
      if (args.empty()) return RtValue(DateOf(TemporalVal{Kind::kDateTime, 0, 0, st->now_ms}));
      return Construct(call, args[0], Kind::kDate, ParseDate, DateFromMap, st);
    case Fn::kDateTime:
      if (args.empty()) return RtValue(TemporalVal{Kind::kDateTime, 0, 0, st->now_ms});
      return Construct(call, args[0], Kind::kDateTime, ParseDateTime, DateTimeFromMap, st);
    case Fn::kDurationBetween: return DurationBetween(args[0], args[1], DurationUnits::kAll);
    case Fn::kDurationInMonths: return DurationBetween(args[0], args[1], DurationUnits::kMonths);
    case Fn::kDurationInDays: return DurationBetween(args[0], args[1], DurationUnits::kDays);
    case Fn::kDurationInSeconds: return DurationBetween(args[0], args[1], DurationUnits::kSeconds);
    default: return Construct(call, args[0], Kind::kDuration, ParseDuration, DurationFromMap, st);
  }
}

}  // namespace pathwise::query
