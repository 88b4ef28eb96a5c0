// String, conversion, list and graph-introspection functions (expr_fns.h).
#include "query/expr_fns.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <string>
#include <string_view>

namespace pathwise::query {

RtValue FailAt(const BoundExpr& at, ExecState* st, const std::string& what) {
  if (st->error.ok()) {
    st->error = Status::InvalidArgument(what).WithPosition(at.pos.line, at.pos.column);
  }
  return RtValue();
}

RtValue PropertiesOf(const RtValue& v, const ExecState& st) {
  if (v.IsMap()) return v;
  RtMap entries;
  if (v.IsNode()) {
    for (auto& [name, value] : st.graph->GetProperties(v.AsNode())) {
      entries.emplace_back(name, FromProperty(std::move(value)));
    }
    return MakeMap(std::move(entries));
  }
  if (!v.IsEdge()) return RtValue();
  const EdgeVal& e = v.AsEdge();
  if (st.store != nullptr) {
    auto record = st.store->GetEdge(e.src, e.type, e.dst);
    if (record.ok()) {
      for (const auto& [name, value] : record->props) entries.emplace_back(name, FromProperty(value));
    }
  }
  // The attributes last: they win over stored properties of the same name, as in r.weight.
  entries.emplace_back("count", RtValue(static_cast<int64_t>(e.count)));
  entries.emplace_back("ts", RtValue(e.ts));
  entries.emplace_back("weight", RtValue(static_cast<double>(e.weight)));
  return MakeMap(std::move(entries));
}

namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Byte offset of code point `index` in s (s.size() when s has fewer code points).
size_t CodePointOffset(std::string_view s, int64_t index) {
  size_t at = 0;
  for (int64_t k = 0; k < index && at < s.size(); ++k) {
    ++at;
    while (at < s.size() && (static_cast<unsigned char>(s[at]) & 0xC0) == 0x80) ++at;
  }
  return at;
}

RtValue ChangeCase(const std::string& s, bool upper) {
  std::string out = s;
  for (char& c : out) {
    if (upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (!upper && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return RtValue(std::move(out));
}

// substring(s, start[, length]) in code points; null for a negative start or length.
RtValue Substring(const std::vector<RtValue>& args) {
  if (!args[0].IsString() || !args[1].IsInt()) return RtValue();
  if (args.size() > 2 && !args[2].IsInt()) return RtValue();
  int64_t start = args[1].AsInt();
  int64_t length = args.size() > 2 ? args[2].AsInt() : std::numeric_limits<int64_t>::max();
  if (start < 0 || length < 0) return RtValue();
  std::string_view s = args[0].AsString();
  size_t begin = CodePointOffset(s, start);
  std::string_view rest = s.substr(begin);
  return RtValue(std::string(rest.substr(0, CodePointOffset(rest, length))));
}

RtValue Trim(const std::string& s, bool left, bool right) {
  size_t begin = 0, end = s.size();
  while (left && begin < end && IsBlank(s[begin])) ++begin;
  while (right && end > begin && IsBlank(s[end - 1])) --end;
  return RtValue(s.substr(begin, end - begin));
}

RtValue Replace(const BoundExpr& call, const std::vector<RtValue>& args, ExecState* st) {
  if (!args[0].IsString() || !args[1].IsString() || !args[2].IsString()) return RtValue();
  const std::string& s = args[0].AsString();
  const std::string& from = args[1].AsString();
  const std::string& to = args[2].AsString();
  if (from.empty()) return args[0];
  std::string out;
  size_t at = 0;
  for (size_t hit; (hit = s.find(from, at)) != std::string::npos; at = hit + from.size()) {
    out.append(s, at, hit - at);
    out += to;
    if (out.size() > kMaxStringResultBytes) {
      return FailAt(call, st, "replace() result is more than " +
                                std::to_string(kMaxStringResultBytes >> 20) + " MiB");
    }
    if (!st->Tick()) return RtValue();
  }
  out.append(s, at, std::string::npos);
  return RtValue(std::move(out));
}

// split(s, delimiter); an empty delimiter splits into code points.
RtValue Split(const std::vector<RtValue>& args, ExecState* st) {
  if (!args[0].IsString() || !args[1].IsString()) return RtValue();
  std::string_view s = args[0].AsString();
  std::string_view delim = args[1].AsString();
  RtList parts;
  if (delim.empty()) {
    for (size_t at = 0; at < s.size();) {
      size_t next = CodePointOffset(s.substr(at), 1) + at;
      parts.emplace_back(std::string(s.substr(at, next - at)));
      at = next;
    }
  } else {
    size_t at = 0;
    for (size_t hit; (hit = s.find(delim, at)) != std::string_view::npos; at = hit + delim.size()) {
      parts.emplace_back(std::string(s.substr(at, hit - at)));
    }
    parts.emplace_back(std::string(s.substr(at)));
  }
  st->Tick(static_cast<uint32_t>(std::min<size_t>(parts.size(), UINT32_MAX)));
  return MakeList(std::move(parts));
}

// Whole-text number parsing: "42", "-1.5e3"; surrounding blanks allowed; anything else null.
RtValue ParseNumber(std::string_view text, bool want_int) {
  while (!text.empty() && IsBlank(text.front())) text.remove_prefix(1);
  while (!text.empty() && IsBlank(text.back())) text.remove_suffix(1);
  const char* end = text.data() + text.size();
  int64_t i = 0;
  auto [iend, iec] = std::from_chars(text.data(), end, i);
  if (iec == std::errc() && iend == end) return want_int ? RtValue(i) : RtValue(static_cast<double>(i));
  double d = 0;
  auto [dend, dec] = std::from_chars(text.data(), end, d);
  if (dec != std::errc() || dend != end || !std::isfinite(d)) return RtValue();
  if (!want_int) return RtValue(d);
  double t = std::trunc(d);
  if (t < -9.2233720368547758e18 || t >= 9.2233720368547758e18) return RtValue();
  return RtValue(static_cast<int64_t>(t));
}

RtValue ToInteger(const RtValue& v) {
  if (v.IsInt()) return v;
  if (v.IsBool()) return RtValue(int64_t{v.AsBool() ? 1 : 0});
  if (v.IsDouble()) {
    double t = std::trunc(v.AsDouble());
    if (!std::isfinite(t) || t < -9.2233720368547758e18 || t >= 9.2233720368547758e18) {
      return RtValue();
    }
    return RtValue(static_cast<int64_t>(t));
  }
  if (v.IsString()) return ParseNumber(v.AsString(), true);
  return RtValue();
}

RtValue ToFloat(const RtValue& v) {
  if (v.IsNumber()) return RtValue(v.AsDouble());
  if (v.IsString()) return ParseNumber(v.AsString(), false);
  return RtValue();
}

// range(start, end[, step]): inclusive of end, like Cypher.
RtValue Range(const BoundExpr& call, const std::vector<RtValue>& args, ExecState* st) {
  for (const RtValue& a : args) {
    if (!a.IsInt()) return RtValue();
  }
  int64_t start = args[0].AsInt(), end = args[1].AsInt();
  int64_t step = args.size() > 2 ? args[2].AsInt() : 1;
  if (step == 0) return FailAt(call, st, "range() step must not be zero");
  // Element count in 128 bits: no overflow for any int64 bounds.
  __int128 span = static_cast<__int128>(end) - start;
  __int128 count = (span == 0 || (span > 0) == (step > 0)) ? span / step + 1 : 0;
  if (count > static_cast<__int128>(kMaxRangeElements)) {
    return FailAt(call, st, "range() of more than " + std::to_string(kMaxRangeElements) +
                              " elements (the limit of a range)");
  }
  RtList out;
  out.reserve(static_cast<size_t>(count));
  for (__int128 k = 0; k < count; ++k) out.emplace_back(static_cast<int64_t>(start + k * step));
  st->Tick(static_cast<uint32_t>(count));
  return MakeList(std::move(out));
}

RtValue Labels(const RtValue& v, const ExecState& st) {
  if (!v.IsNode()) return RtValue();
  const NodeTypeDef* def = st.schema->NodeType(st.graph->TypeOf(v.AsNode()));
  if (def == nullptr) return RtValue();
  return MakeList(RtList{RtValue(def->name)});
}

// keys(x): the sorted keys of properties(x).
RtValue Keys(const RtValue& v, const ExecState& st) {
  RtValue map = PropertiesOf(v, st);
  if (map.IsNull()) return map;
  RtList out;
  out.reserve(map.AsMap().size());
  for (const auto& [name, value] : map.AsMap()) out.emplace_back(name);
  return MakeList(std::move(out));
}

RtValue HeadOrLast(const RtValue& v, bool last) {
  if (!v.IsList() || v.AsList().empty()) return RtValue();
  return last ? v.AsList().back() : v.AsList().front();
}

// A path value is a list alternating nodes and edges, starting and ending with a node.
bool IsPath(const RtValue& v) {
  if (!v.IsList() || v.AsList().size() % 2 == 0) return false;
  const RtList& items = v.AsList();
  for (size_t i = 0; i < items.size(); ++i) {
    if (i % 2 == 0 ? !items[i].IsNode() : !items[i].IsEdge()) return false;
  }
  return true;
}

// nodes(p) (parity 0), relationships(p) (parity 1): every other element of a path.
RtValue PathElements(const RtValue& v, size_t parity, ExecState* st) {
  if (!IsPath(v)) return RtValue();
  const RtList& items = v.AsList();
  st->Tick(static_cast<uint32_t>(items.size()));
  RtList out;
  out.reserve(items.size() / 2 + 1);
  for (size_t i = parity; i < items.size(); i += 2) out.push_back(items[i]);
  return MakeList(std::move(out));
}

}  // namespace

bool IsExtraFunction(Fn fn) { return fn >= Fn::kToLower; }

RtValue CallFunction(const BoundExpr& call, const std::vector<RtValue>& args, ExecState* st) {
  for (const RtValue& a : args) {
    if (a.IsNull()) return RtValue();
  }
  switch (call.fn) {
    case Fn::kToLower:
    case Fn::kToUpper:
      return args[0].IsString() ? ChangeCase(args[0].AsString(), call.fn == Fn::kToUpper)
                                : RtValue();
    case Fn::kSubstring: return Substring(args);
    case Fn::kTrim:
    case Fn::kLTrim:
    case Fn::kRTrim:
      if (!args[0].IsString()) return RtValue();
      return Trim(args[0].AsString(), call.fn != Fn::kRTrim, call.fn != Fn::kLTrim);
    case Fn::kReplace: return Replace(call, args, st);
    case Fn::kSplit: return Split(args, st);
    case Fn::kToInteger: return ToInteger(args[0]);
    case Fn::kToFloat: return ToFloat(args[0]);
    case Fn::kLabels: return Labels(args[0], *st);
    case Fn::kKeys: return Keys(args[0], *st);
    case Fn::kProperties: return PropertiesOf(args[0], *st);
    case Fn::kDate:
    case Fn::kDateTime:
    case Fn::kDuration:
    case Fn::kDurationBetween:
    case Fn::kDurationInMonths:
    case Fn::kDurationInDays:
    case Fn::kDurationInSeconds: return TemporalFunction(call, args, st);
    case Fn::kHead: return HeadOrLast(args[0], false);
    case Fn::kLast: return HeadOrLast(args[0], true);
    case Fn::kRange: return Range(call, args, st);
    case Fn::kNodes: return PathElements(args[0], 0, st);
    case Fn::kRelationships: return PathElements(args[0], 1, st);
    case Fn::kLength:
      if (!IsPath(args[0])) return RtValue();
      return RtValue(static_cast<int64_t>(args[0].AsList().size() / 2));
    default: return RtValue();
  }
}

RtValue StringPredicate(char op, const RtValue& a, const RtValue& b) {
  if (!a.IsString() || !b.IsString()) return RtValue();
  std::string_view s = a.AsString(), part = b.AsString();
  switch (op) {
    case 's': return RtValue(s.substr(0, part.size()) == part);
    case 'e': return RtValue(s.size() >= part.size() && s.substr(s.size() - part.size()) == part);
    default: return RtValue(s.find(part) != std::string_view::npos);
  }
}

}  // namespace pathwise::query
