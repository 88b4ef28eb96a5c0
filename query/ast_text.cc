#include "query/ast_text.h"

#include <nlohmann/json.hpp>

namespace pathwise::query {

namespace {

using ast::Expr;
using ast::ExprKind;

// Binding strength, higher binds tighter (docs/query-language.md's precedence table).
int Precedence(const Expr& e) {
  switch (e.kind) {
    case ExprKind::kBinary:
      if (e.op == "OR") return 1;
      if (e.op == "XOR") return 2;
      if (e.op == "AND") return 3;
      if (e.op == "+" || e.op == "-") return 7;
      if (e.op == "*" || e.op == "/" || e.op == "%") return 8;
      if (e.op == "STARTS WITH" || e.op == "ENDS WITH" || e.op == "CONTAINS" || e.op == "=~") {
        return 6;
      }
      return 5;  // comparisons
    case ExprKind::kUnary: return e.op == "NOT" ? 4 : 9;
    case ExprKind::kIn:
    case ExprKind::kIsNull: return 5;
    default: return 11;
  }
}

std::string Wrap(const Expr& e, int min_precedence) {
  std::string s = ExprText(e);
  return Precedence(e) < min_precedence ? "(" + s + ")" : s;
}

std::string DurationText(int64_t ms) {
  struct Unit {
    int64_t ms;
    const char* name;
  };
  static const Unit kUnits[] = {{86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}, {1, "ms"}};
  if (ms == 0) return "0ms";
  std::string out = ms < 0 ? "-" : "";
  uint64_t left = ms < 0 ? 0 - static_cast<uint64_t>(ms) : static_cast<uint64_t>(ms);
  for (const Unit& u : kUnits) {
    if (left >= static_cast<uint64_t>(u.ms)) {
      out += std::to_string(left / u.ms) + u.name;
      left %= u.ms;
    }
  }
  return out;
}

std::string LiteralText(const ast::Literal& lit) {
  switch (lit.value.index()) {
    case 0: return "null";
    case 1: return std::get<bool>(lit.value) ? "true" : "false";
    case 2: {
      int64_t i = std::get<int64_t>(lit.value);
      return lit.is_duration ? DurationText(i) : std::to_string(i);
    }
    case 3: return nlohmann::json(std::get<double>(lit.value)).dump();
    default: {
      std::string s = nlohmann::json(std::get<std::string>(lit.value)).dump();
      // JSON's double quotes are PQL string quotes too.
      return s;
    }
  }
}

// `{k: v, ...}` after prefix: keys[i] with args[i + first]; an empty key is `.*`.
std::string MapText(std::string prefix, const Expr& e, size_t first) {
  for (size_t i = 0; i < e.keys.size(); ++i) {
    if (i > 0) prefix += ", ";
    prefix += e.keys[i].empty() ? ".*" : e.keys[i] + ": " + ExprText(*e.args[i + first]);
  }
  return prefix + "}";
}

}  // namespace

namespace {

// A pattern's property map appended to `s` (the text before it inside the parentheses or
// brackets): ` {k: v, ...}`, without the blank when s is empty.
std::string WithPropsText(std::string s,
                          const std::vector<std::pair<std::string, ast::ExprPtr>>& props) {
  if (props.empty()) return s;
  s += s.empty() ? "{" : " {";
  for (size_t i = 0; i < props.size(); ++i) {
    if (i > 0) s += ", ";
    s += props[i].first + ": " + ExprText(*props[i].second);
  }
  return s + "}";
}

}  // namespace

std::string NodePatternText(const ast::NodePattern& n) {
  std::string s = n.var;
  if (!n.type.empty()) s += ":" + n.type;
  return "(" + WithPropsText(std::move(s), n.props) + ")";
}

namespace {

// `*`, `*2`, `*1..3`, `*..3`, `*2..` as written.
std::string HopRangeText(const ast::EdgePattern& e) {
  std::string s = "*";
  if (e.min_hops && e.min_hops == e.max_hops) return s + std::to_string(*e.min_hops);
  if (e.min_hops) s += std::to_string(*e.min_hops);
  if (e.min_hops || e.max_hops) s += "..";
  if (e.max_hops) s += std::to_string(*e.max_hops);
  return s;
}

}  // namespace

std::string EdgePatternText(const ast::EdgePattern& e, bool reversed) {
  std::string detail = e.var;
  for (size_t t = 0; t < e.types.size(); ++t) detail += (t == 0 ? ":" : "|") + e.types[t];
  if (e.var_length) detail += HopRangeText(e);
  detail = WithPropsText(std::move(detail), e.props);
  if (e.max_per_node) {
    detail += (detail.empty() ? "MAX " : " MAX ") +
              (*e.max_per_node == ast::kMaxAll ? std::string("ALL") : std::to_string(*e.max_per_node));
  }
  std::string mid = detail.empty() ? "" : "[" + detail + "]";
  ast::EdgeDirection dir = e.dir;
  if (reversed && dir != ast::EdgeDirection::kBoth) {
    dir = dir == ast::EdgeDirection::kOut ? ast::EdgeDirection::kIn : ast::EdgeDirection::kOut;
  }
  switch (dir) {
    case ast::EdgeDirection::kOut: return "-" + mid + "->";
    case ast::EdgeDirection::kIn: return "<-" + mid + "-";
    case ast::EdgeDirection::kBoth: return "-" + mid + "-";
  }
  return "";
}

std::string PatternText(const ast::Pattern& p) {
  std::string s;
  for (size_t i = 0; i < p.nodes.size(); ++i) {
    s += NodePatternText(p.nodes[i]);
    if (i >= p.edges.size()) continue;
    s += EdgePatternText(p.edges[i]);
  }
  return s;
}

std::string ExprText(const Expr& e) {
  switch (e.kind) {
    case ExprKind::kLiteral: return LiteralText(e.literal);
    case ExprKind::kParam: return "$" + e.name;
    case ExprKind::kVariable: return e.name;
    case ExprKind::kProperty: return Wrap(*e.args[0], 10) + "." + e.name;
    case ExprKind::kCall: {
      std::string s = e.name + "(";
      if (e.star) s += "*";
      if (e.distinct) s += "DISTINCT ";
      for (size_t i = 0; i < e.args.size(); ++i) {
        if (i > 0) s += ", ";
        s += ExprText(*e.args[i]);
      }
      return s + ")";
    }
    case ExprKind::kUnary:
      if (e.op == "NOT") return "NOT " + Wrap(*e.args[0], 4);
      return e.op + Wrap(*e.args[0], 9);
    case ExprKind::kBinary: {
      int p = Precedence(e);
      // Left-associative: the right operand needs parentheses at equal precedence.
      return Wrap(*e.args[0], p) + " " + e.op + " " + Wrap(*e.args[1], p + 1);
    }
    case ExprKind::kIn:
      return Wrap(*e.args[0], 7) + (e.negated ? " NOT IN " : " IN ") + Wrap(*e.args[1], 7);
    case ExprKind::kIsNull: return Wrap(*e.args[0], 7) + (e.negated ? " IS NOT NULL" : " IS NULL");
    case ExprKind::kList: {
      std::string s = "[";
      for (size_t i = 0; i < e.args.size(); ++i) {
        if (i > 0) s += ", ";
        s += ExprText(*e.args[i]);
      }
      return s + "]";
    }
    case ExprKind::kPattern: {
      if (e.op.empty()) return PatternText(*e.pattern);
      std::string where = e.args.empty() ? "" : " WHERE " + ExprText(*e.args[0]);
      return e.op + " { " + PatternText(*e.pattern) + where + " }";
    }
    case ExprKind::kListComp:
      return "[" + e.name + " IN " + ExprText(*e.args[0]) + " WHERE " + ExprText(*e.args[1]) +
             " | " + ExprText(*e.args[2]) + "]";
    case ExprKind::kCase: {
      std::string s = "CASE";
      size_t i = 0;
      if (e.op == "simple") s += " " + ExprText(*e.args[i++]);
      for (; i + 2 < e.args.size(); i += 2) {
        s += " WHEN " + ExprText(*e.args[i]) + " THEN " + ExprText(*e.args[i + 1]);
      }
      return s + " ELSE " + ExprText(*e.args.back()) + " END";
    }
    case ExprKind::kMap: return MapText("{", e, 0);
    case ExprKind::kMapProjection: return MapText(Wrap(*e.args[0], 10) + " {", e, 1);
    case ExprKind::kReduce:
      return "reduce(" + e.keys[0] + " = " + ExprText(*e.args[0]) + ", " + e.keys[1] + " IN " +
             ExprText(*e.args[1]) + " | " + ExprText(*e.args[2]) + ")";
  }
  return "";
}

}  // namespace pathwise::query
