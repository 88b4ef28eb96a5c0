// PQL text -> query/ast.h. The only file that sees ANTLR: the generated lexer and parser
// (grammar/Pql.g4) run here and their parse tree is converted into Pathwise's AST at once.
//
// Parsing is two-stage (SLL prediction with a bailing error strategy, then full LL on failure).
// The first error stops parsing: it is thrown as a ParseError inside this file and becomes one
// Status (SyntaxError; InvalidArgument for a Limits limit; DeadlineExceeded). The text size is
// bounded before lexing and bracket nesting before parsing, rule nesting while parsing and
// expression depth and size while converting, so that no input can exhaust the stack and parse
// time is bounded by max_query_bytes. The deadline is checked while waiting for the parse
// mutex, between stages, every 256 tokens lexed and consumed, every 256 rule entries of the
// parser and every 256 AST nodes of the conversion.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <exception>
#include <limits>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include "PqlLexer.h"
#include "PqlParser.h"
#include "antlr4-runtime.h"
#include "query/ast.h"
#include "query/reclaimer.h"

namespace pathwise::query::ast {
namespace {

using pathwise_pql::PqlLexer;
using pathwise_pql::PqlParser;

constexpr size_t kMaxExpected = 8;     // expected tokens listed in an error message
constexpr size_t kMaxTokenEcho = 40;   // offending token text echoed in an error message

// The one exception type used inside this file; Parse() turns it into a Status.
struct ParseError {
  std::string what;
  int line;    // 0: no position
  int column;
  Status::Code code = Status::Code::kSyntaxError;
};

[[noreturn]] void Fail(int line, int column, std::string what) {
  throw ParseError{std::move(what), line, column};
}

[[noreturn]] void Fail(const antlr4::Token* token, std::string what) {
  Fail(static_cast<int>(token->getLine()), static_cast<int>(token->getCharPositionInLine()) + 1,
       std::move(what));
}

// A Limits limit was passed at token: InvalidArgument naming the limit.
[[noreturn]] void FailLimit(const antlr4::Token* token, std::string what) {
  throw ParseError{std::move(what), static_cast<int>(token->getLine()),
                   static_cast<int>(token->getCharPositionInLine()) + 1,
                   Status::Code::kInvalidArgument};
}

std::string LimitText(const char* name, size_t value) {
  return std::string("the limit ") + name + " (" + std::to_string(value) + ")";
}

void CheckDeadline(const Deadline& deadline, const char* stage) {
  if (deadline.Expired()) {
    throw ParseError{std::string("query deadline exceeded while ") + stage, 0, 0,
                     Status::Code::kDeadlineExceeded};
  }
}

Position PosOf(const antlr4::Token* token) {
  return {static_cast<int>(token->getLine()),
          static_cast<int>(token->getCharPositionInLine()) + 1};
}

Position PosOf(antlr4::ParserRuleContext* ctx) { return PosOf(ctx->getStart()); }

// ---------------------------------------------------------------------------------------------
// Error messages

std::string Echo(const antlr4::Token* token) {
  if (token->getType() == antlr4::Token::EOF) return "end of input";
  std::string text = token->getText();
  if (text.size() > kMaxTokenEcho) text = text.substr(0, kMaxTokenEcho) + "...";
  return "'" + text + "'";
}

// How an expected token is shown, and its rank: clause keywords, punctuation and token classes,
// operator keywords, operator symbols. Empty: not shown.
std::pair<std::string, int> Describe(const antlr4::dfa::Vocabulary& vocab, ssize_t type) {
  if (type == static_cast<ssize_t>(antlr4::Token::EOF)) return {"end of input", 1};
  switch (type) {
    case PqlParser::IDENTIFIER: return {"identifier", 1};
    case PqlParser::INTEGER: return {"integer", 1};
    case PqlParser::FLOAT: return {"number", 1};
    case PqlParser::DURATION: return {"duration", 1};
    case PqlParser::STRING: return {"string", 1};
    case PqlParser::PARAM: return {"parameter", 1};
    case PqlParser::NEQ: return {"'<>'", 3};
    case PqlParser::QUOTED_IDENTIFIER:
    case PqlParser::UNTERMINATED_STRING:
    case PqlParser::ERROR_CHAR: return {"", 0};
    case PqlParser::K_AND:
    case PqlParser::K_OR:
    case PqlParser::K_XOR:
    case PqlParser::K_NOT:
    case PqlParser::K_IS:
    case PqlParser::K_IN:
    case PqlParser::K_STARTS:
    case PqlParser::K_ENDS:
    case PqlParser::K_CONTAINS: return {vocab.getSymbolicName(type).substr(2), 2};
    case PqlParser::REGEX:
    case PqlParser::STAR:
    case PqlParser::SLASH:
    case PqlParser::PERCENT:
    case PqlParser::PLUS:
    case PqlParser::DASH:
    case PqlParser::EQ:
    case PqlParser::LT:
    case PqlParser::LE:
    case PqlParser::GT:
    case PqlParser::GE: return {vocab.getLiteralName(type), 3};
    default: break;
  }
  std::string symbolic = vocab.getSymbolicName(type);
  if (symbolic.rfind("K_", 0) == 0) return {symbolic.substr(2), 0};
  std::string literal = vocab.getLiteralName(type);
  return {literal.empty() ? symbolic : literal, 1};
}

std::string RenderExpected(const antlr4::dfa::Vocabulary& vocab,
                           const antlr4::misc::IntervalSet& expected) {
  auto has = [&](size_t type) { return expected.contains(type); };
  if (has(PqlParser::INTEGER) && has(PqlParser::STRING) && has(PqlParser::PARAM) &&
      has(PqlParser::LBRACKET)) {
    return "expected an expression";
  }
  bool names = has(PqlParser::IDENTIFIER);
  std::vector<std::pair<int, std::string>> shown;  // (rank * 1000 + type, text)
  std::set<std::string> seen;
  for (ssize_t type : expected.toList()) {
    auto [text, rank] = Describe(vocab, type);
    if (text.empty() || !seen.insert(text).second) continue;
    // Where an identifier fits, keywords are accepted as names; listing them would mislead.
    if (names && vocab.getSymbolicName(type).rfind("K_", 0) == 0) continue;
    shown.emplace_back(rank * 1000 + static_cast<int>(type), text);
  }
  if (shown.empty()) return "";
  std::sort(shown.begin(), shown.end());
  std::string out = shown.size() == 1 ? "expected " : "expected one of: ";
  for (size_t i = 0; i < shown.size() && i < kMaxExpected; ++i) {
    out += (i ? ", " : "") + shown[i].second;
  }
  if (shown.size() > kMaxExpected) out += ", ...";
  return out;
}

// Lexical errors are tokens of their own; the parser stops at them at the latest.
std::string LexicalError(const antlr4::Token* token) {
  if (token->getType() == PqlParser::UNTERMINATED_STRING) return "unterminated string literal";
  return "unexpected character " + Echo(token);
}

bool IsLexicalError(const antlr4::Token* token) {
  return token->getType() == PqlParser::UNTERMINATED_STRING ||
         token->getType() == PqlParser::ERROR_CHAR;
}

std::string Upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

std::string Lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// Cypher's write and procedure clauses, recognised where a syntax error stops the parse at them
// (at the start of a query or after a clause): "CREATE" ... "FOREACH", and LOAD followed by CSV.
// Returns the clause's name, or "" when the token does not start one.
std::string CypherWriteClause(antlr4::Parser* parser, const antlr4::Token* token) {
  static const char* const kClauses[] = {"CREATE", "MERGE",  "SET",  "DELETE",
                                         "DETACH", "REMOVE", "CALL", "FOREACH"};
  if (token->getType() != PqlParser::IDENTIFIER) return "";
  std::string word = Upper(token->getText());
  for (const char* clause : kClauses) {
    if (word == clause) return word == "DETACH" ? "DETACH DELETE" : word;
  }
  if (word == "LOAD" && parser != nullptr) {
    antlr4::Token* next = parser->getTokenStream()->get(token->getTokenIndex() + 1);
    if (next != nullptr && Upper(next->getText()) == "CSV") return "LOAD CSV";
  }
  return "";
}

// Reports the first syntax error with the expected token set, then stops the parse.
class FirstErrorListener : public antlr4::BaseErrorListener {
 public:
  void syntaxError(antlr4::Recognizer* recognizer, antlr4::Token* offending, size_t line,
                   size_t column, const std::string& /*msg*/,
                   std::exception_ptr e) override {
    if (offending != nullptr && IsLexicalError(offending)) Fail(offending, LexicalError(offending));
    if (offending != nullptr) {
      std::string clause =
          CypherWriteClause(dynamic_cast<antlr4::Parser*>(recognizer), offending);
      if (!clause.empty()) {
        Fail(offending, clause + " is not supported: PQL is read-only; write through the HTTP "
                                 "write API (POST /v1/batch, /v1/events, /v1/nodes, /v1/edges) "
                                 "or bulk-load with `pathwise load`");
      }
    }
    std::string what = "unexpected " + (offending ? Echo(offending) : std::string("input"));
    auto* parser = dynamic_cast<antlr4::Parser*>(recognizer);
    if (parser != nullptr) {
      antlr4::misc::IntervalSet expected;
      try {
        if (e) std::rethrow_exception(e);
        expected = parser->getExpectedTokens();
      } catch (const antlr4::RecognitionException& re) {
        expected = re.getExpectedTokens();
      } catch (...) {
      }
      std::string rendered = RenderExpected(parser->getVocabulary(), expected);
      if (!rendered.empty()) what += ", " + rendered;
    }
    Fail(static_cast<int>(line), static_cast<int>(column) + 1, std::move(what));
  }
};

// The generated lexer with a deadline check every 256 tokens (the token stream is filled before
// parsing starts, so lexing a large text is otherwise one uninterrupted step).
class GuardedLexer : public PqlLexer {
 public:
  GuardedLexer(antlr4::CharStream* input, const Deadline& deadline)
      : PqlLexer(input), deadline_(deadline) {}
  std::unique_ptr<antlr4::Token> nextToken() override {
    if ((++tokens_ & 255) == 0) CheckDeadline(deadline_, "lexing");
    return PqlLexer::nextToken();
  }

 private:
  const Deadline& deadline_;
  uint32_t tokens_ = 0;
};

// The token stream with a deadline check every 256 tokens consumed. Adaptive prediction consumes
// the tokens it looks ahead over, so a prediction that scans far (across a long list, say) is
// checked too, not only the parser's rule entries.
class GuardedTokenStream : public antlr4::CommonTokenStream {
 public:
  GuardedTokenStream(antlr4::TokenSource* source, const Deadline& deadline)
      : CommonTokenStream(source), deadline_(deadline) {}
  void consume() override {
    if ((++consumed_ & 255) == 0) CheckDeadline(deadline_, "parsing");
    CommonTokenStream::consume();
  }

 private:
  const Deadline& deadline_;
  uint32_t consumed_ = 0;
};

// The generated parser with a recursion bound and deadline checks on rule entry.
class GuardedParser : public PqlParser {
 public:
  GuardedParser(antlr4::TokenStream* input, const Limits& limits, const Deadline& deadline)
      : PqlParser(input), limits_(limits), deadline_(deadline) {}
  void enterRule(antlr4::ParserRuleContext* ctx, size_t state, size_t rule) override {
    CheckDepth();
    PqlParser::enterRule(ctx, state, rule);
  }
  void enterRecursionRule(antlr4::ParserRuleContext* ctx, size_t state, size_t rule,
                          int precedence) override {
    CheckDepth();
    PqlParser::enterRecursionRule(ctx, state, rule, precedence);
  }

 private:
  // Throws before the base class enters the rule, so unwinding exits exactly the entered rules.
  void CheckDepth() {
    if ((++entries_ & 255) == 0) CheckDeadline(deadline_, "parsing");
    if (_ctx != nullptr && static_cast<int>(_ctx->depth()) >= limits_.max_expression_depth) {
      FailLimit(getCurrentToken(),
                "query nested more than " + std::to_string(limits_.max_expression_depth) +
                    " levels deep, over " +
                    LimitText("max_expression_depth", limits_.max_expression_depth));
    }
  }

  const Limits& limits_;
  const Deadline& deadline_;
  uint32_t entries_ = 0;
};

// Rejects invalid UTF-8 with its position (the ANTLR input stream would throw).
void CheckUtf8(std::string_view text) {
  int line = 1, column = 1;
  for (size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    bool ok = len > 0 && i + len <= text.size() && !(len == 2 && c < 0xC2);
    for (size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(text[i + k]) >> 6) == 2;
    if (ok && len == 3) {
      auto c1 = static_cast<unsigned char>(text[i + 1]);
      ok = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 >= 0xA0);
    }
    if (ok && len == 4) {
      auto c1 = static_cast<unsigned char>(text[i + 1]);
      ok = !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 >= 0x90) && c <= 0xF4;
    }
    if (!ok) Fail(line, column, "invalid UTF-8 in query text");
    if (c == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
    i += len;
  }
}

// Bounds bracket nesting before the recursive-descent parser sees the tokens.
void CheckNesting(antlr4::CommonTokenStream& tokens, const Limits& limits) {
  const int max = limits.max_nesting_depth;
  int depth = 0;
  for (antlr4::Token* token : tokens.getTokens()) {
    switch (token->getType()) {
      case PqlParser::LPAREN:
      case PqlParser::LBRACKET:
      case PqlParser::LBRACE:
        if (++depth > max) {
          FailLimit(token, "brackets nested more than " + std::to_string(max) + " levels deep, over " +
                               LimitText("max_nesting_depth", max));
        }
        break;
      case PqlParser::RPAREN:
      case PqlParser::RBRACKET:
      case PqlParser::RBRACE:
        depth = std::max(0, depth - 1);
        break;
      default: break;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Literals

std::string Unquote(antlr4::Token* token) {  // `name` with `` for a backtick
  std::string text = token->getText();
  std::string out;
  for (size_t i = 1; i + 1 < text.size(); ++i) {
    out += text[i];
    if (text[i] == '`') ++i;
  }
  return out;
}

void AppendUtf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::string UnescapeString(antlr4::Token* token) {
  const std::string text = token->getText();
  std::string out;
  auto hex4 = [&](size_t at) -> uint32_t {
    uint32_t cp = 0;
    if (at + 4 > text.size() - 1) Fail(token, "invalid \\u escape in string literal");
    auto [end, ec] = std::from_chars(text.data() + at, text.data() + at + 4, cp, 16);
    if (ec != std::errc() || end != text.data() + at + 4) {
      Fail(token, "invalid \\u escape in string literal");
    }
    return cp;
  };
  for (size_t i = 1; i + 1 < text.size(); ++i) {
    if (text[i] != '\\') {
      out += text[i];
      continue;
    }
    char c = text[++i];
    switch (c) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case '0': out += '\0'; break;
      case '\\': case '\'': case '"': case '/': out += c; break;
      case 'u': {
        uint32_t cp = hex4(i + 1);
        i += 4;
        if (cp >= 0xD800 && cp < 0xDC00 && i + 2 < text.size() && text[i + 1] == '\\' &&
            text[i + 2] == 'u') {
          uint32_t low = hex4(i + 3);
          if (low < 0xDC00 || low > 0xDFFF) Fail(token, "invalid surrogate pair in string literal");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          i += 6;
        } else if (cp >= 0xD800 && cp <= 0xDFFF) {
          Fail(token, "invalid surrogate in string literal");
        }
        AppendUtf8(cp, out);
        break;
      }
      default: Fail(token, std::string("unknown escape '\\") + c + "' in string literal");
    }
  }
  return out;
}

// INTEGER, FLOAT or DURATION text (optionally negated) -> literal.
Literal NumberLiteral(antlr4::Token* token, bool negative) {
  const std::string text = token->getText();
  Literal lit;
  if (token->getType() == PqlParser::FLOAT) {
    double v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || !std::isfinite(v)) Fail(token, "number out of range: " + text);
    lit.value = negative ? -v : v;
    return lit;
  }
  // Magnitudes are accumulated negated so that -9223372036854775808 fits.
  int64_t total = 0;
  bool overflow = false;
  for (size_t i = 0; i < text.size();) {
    size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    int64_t n = 0;
    for (size_t k = start; k < i; ++k) {
      overflow |= __builtin_mul_overflow(n, 10, &n) || __builtin_sub_overflow(n, text[k] - '0', &n);
    }
    int64_t unit = 1;
    if (token->getType() == PqlParser::DURATION) {
      if (text.compare(i, 2, "ms") == 0) {
        i += 2;
      } else {
        char u = text[i++];
        unit = u == 's' ? 1000 : u == 'm' ? 60'000 : u == 'h' ? 3'600'000 : 86'400'000;
      }
      lit.is_duration = true;
    }
    overflow |= __builtin_mul_overflow(n, unit, &n) || __builtin_add_overflow(total, n, &total);
  }
  if (!negative) overflow |= __builtin_mul_overflow(total, -1, &total);
  if (overflow) Fail(token, (lit.is_duration ? "duration out of range: " : "integer out of range: ") + text);
  lit.value = total;
  return lit;
}

// ---------------------------------------------------------------------------------------------
// Parse tree -> AST

class Converter {
 public:
  Converter(antlr4::CharStream* input, const Limits& limits, const Deadline& deadline)
      : input_(input), limits_(limits), deadline_(deadline) {}

  size_t nodes() const { return nodes_; }

  std::unique_ptr<Statement> ConvertStatement(PqlParser::StatementContext* ctx) {
    auto stmt = std::make_unique<Statement>();
    stmt->profile = ctx->K_PROFILE() != nullptr;
    stmt->explain = ctx->K_EXPLAIN() != nullptr;
    PqlParser::UnionQueryContext* u = ctx->unionQuery();
    if (u->matchQuery(0)->recommendQuery() == nullptr) {
      stmt->body = ConvertUnion(u);
    } else {
      if (!u->K_UNION().empty()) Fail(u->K_UNION(0)->getSymbol(), kRecommendInUnion);
      stmt->body = ConvertRecommend(u->matchQuery(0));
    }
    return stmt;
  }

 private:
  static constexpr const char* kRecommendInUnion =
      "UNION joins queries that end in RETURN; a RECOMMEND query cannot be part of a UNION";

  // q1 UNION [ALL] q2 ...: all UNION or all UNION ALL (openCypher does not mix them).
  MatchQuery ConvertUnion(PqlParser::UnionQueryContext* ctx) {
    std::vector<PqlParser::MatchQueryContext*> parts = ctx->matchQuery();
    MatchQuery q = ConvertMatch(parts[0]);
    std::vector<antlr4::tree::TerminalNode*> unions = ctx->K_UNION();
    for (size_t i = 1; i < parts.size(); ++i) {
      antlr4::Token* keyword = unions[i - 1]->getSymbol();
      UnionPart part;
      part.pos = PosOf(keyword);
      // K_ALL tokens belong to the UNION right before them.
      part.all = false;
      for (auto* all : ctx->K_ALL()) {
        if (all->getSymbol()->getTokenIndex() == keyword->getTokenIndex() + 1) part.all = true;
      }
      if (i > 1 && part.all != q.unions[0].all) {
        Fail(keyword, "UNION and UNION ALL cannot be mixed in one query");
      }
      if (parts[i]->recommendQuery() != nullptr) {
        Fail(parts[i]->recommendQuery()->getStart(), kRecommendInUnion);
      }
      part.query = std::make_unique<MatchQuery>(ConvertMatch(parts[i]));
      q.unions.push_back(std::move(part));
    }
    return q;
  }

  MatchQuery ConvertMatch(PqlParser::MatchQueryContext* ctx) {
    MatchQuery q;
    for (auto* clause : ctx->readingClause()) q.clauses.push_back(ConvertClause(clause));
    auto* ret = ctx->returnClause();
    ConvertItems(ret->K_DISTINCT() != nullptr, ret->returnItem(), ctx->orderClause(),
                 ctx->skipClause(), ctx->limitClause(), &q);
    return q;
  }

  Clause ConvertClause(PqlParser::ReadingClauseContext* ctx) {
    Clause c;
    c.pos = PosOf(ctx);
    if (auto* m = dynamic_cast<PqlParser::MatchClauseContext*>(ctx)) {
      c.kind = ClauseKind::kMatch;
      c.optional = m->K_OPTIONAL() != nullptr;
      for (auto* p : m->matchPattern()) c.patterns.push_back(ConvertMatchPattern(p));
      if (m->whereClause()) c.where = Expr(m->whereClause()->expression());
    } else if (auto* u = dynamic_cast<PqlParser::UnwindClauseContext*>(ctx)) {
      c.kind = ClauseKind::kUnwind;
      c.expr = Expr(u->expression());
      c.alias = Variable(u->variable());
    } else {
      auto* w = dynamic_cast<PqlParser::WithClauseContext*>(ctx);
      c.kind = ClauseKind::kWith;
      ConvertItems(w->K_DISTINCT() != nullptr, w->returnItem(), w->orderClause(), w->skipClause(),
                   w->limitClause(), &c.projection);
      if (w->whereClause()) c.where = Expr(w->whereClause()->expression());
    }
    return c;
  }

  void ConvertItems(bool distinct, const std::vector<PqlParser::ReturnItemContext*>& items,
                    PqlParser::OrderClauseContext* order, PqlParser::SkipClauseContext* skip,
                    PqlParser::LimitClauseContext* limit, Projection* out) {
    out->distinct = distinct;
    for (auto* item : items) {
      ReturnItem r;
      r.expr = Expr(item->expression());
      r.text = SourceText(item->expression());
      if (item->name()) r.alias = Name(item->name());
      out->returns.push_back(std::move(r));
    }
    if (order) {
      for (auto* item : order->sortItem()) {
        out->order_by.push_back(
            {Expr(item->expression()), item->K_DESC() != nullptr || item->K_DESCENDING() != nullptr});
      }
    }
    if (skip) out->skip = Expr(skip->expression());
    if (limit) out->limit = Expr(limit->expression());
  }

  // [clauses ...] RECOMMEND ...: the clauses before RECOMMEND compute its seed and parameters.
  RecommendQuery ConvertRecommend(PqlParser::MatchQueryContext* m) {
    PqlParser::RecommendQueryContext* ctx = m->recommendQuery();
    RecommendQuery q;
    q.pos = PosOf(ctx);
    for (auto* clause : m->readingClause()) q.clauses.push_back(ConvertClause(clause));
    q.target = ConvertNode(ctx->nodePattern(0));
    if (ctx->variable() != nullptr) {  // FOR m
      q.seed.var = Variable(ctx->variable());
      q.seed.pos = PosOf(ctx->variable());
    } else {
      q.seed = ConvertNode(ctx->nodePattern(1));
    }
    for (auto* source : ctx->source()) {
      if (auto* graph = dynamic_cast<PqlParser::GraphSourceContext*>(source)) {
        GraphSource g;
        g.pos = PosOf(graph);
        g.pattern = ConvertPattern(graph->pattern());
        if (graph->K_ALL()) g.max_per_node = kMaxAll;
        if (graph->integer()) g.max_per_node = Integer(graph->integer());
        if (graph->name()) g.alias = Name(graph->name());
        q.sources.emplace_back(std::move(g));
      } else if (auto* nearest = dynamic_cast<PqlParser::NearestSourceContext*>(source)) {
        q.sources.emplace_back(ConvertNearest(nearest));
      } else {
        q.sources.emplace_back(ConvertRank(dynamic_cast<PqlParser::RankSourceContext*>(source)));
      }
    }
    if (ctx->whereClause()) q.where = Expr(ctx->whereClause()->expression());
    if (ctx->scoreClause()) ConvertScore(ctx->scoreClause(), &q);
    if (ctx->diversifyClause()) q.diversify = ConvertDiversify(ctx->diversifyClause());
    if (ctx->limitClause()) q.limit = Expr(ctx->limitClause()->expression());
    if (ctx->offsetClause()) q.offset = Expr(ctx->offsetClause()->expression());
    return q;
  }

  void ConvertScore(PqlParser::ScoreClauseContext* ctx, RecommendQuery* q) {
    q->score_pos = PosOf(ctx);
    auto add = [&](char op, PqlParser::ExpressionContext* e, PqlParser::NameContext* name) {
      ScoreItem item;
      item.op = op;
      item.expr = Expr(e);
      if (name != nullptr) item.name = Name(name);
      item.pos = PosOf(e);
      q->score.push_back(std::move(item));
    };
    add('+', ctx->expression(), ctx->name());
    for (PqlParser::ScoreNamedContext* named : ctx->scoreNamed()) {
      add(named->op->getText()[0], named->expression(), named->name());
    }
    if (PqlParser::ScoreLastContext* last = ctx->scoreLast()) {
      add(last->op->getText()[0], last->expression(), nullptr);
    }
  }

  NearestSource ConvertNearest(PqlParser::NearestSourceContext* ctx) {
    NearestSource n;
    n.pos = PosOf(ctx);
    n.k = Expr(ctx->expression(0));
    auto* target = ctx->nearestTarget();
    if (target->atom() != nullptr) {
      n.target = Atom(target->atom());
      for (auto* name : target->name()) {  // u.taste: property accesses on the atom
        auto property = Make(ExprKind::kProperty, n.target->pos);
        property->name = Name(name);
        property->args.push_back(std::move(n.target));
        n.target = std::move(property);
      }
    } else {
      n.positive = ConvertExamples(target->examples(0));
      if (target->examples().size() > 1) n.negative = ConvertExamples(target->examples(1));
    }
    n.space_type = Name(ctx->name(0));
    n.space_name = Name(ctx->name(1));
    if (ctx->K_EF()) n.ef = Expr(ctx->expression(1));
    if (ctx->K_AS()) n.alias = Name(ctx->name(2));
    return n;
  }

  RankSource ConvertRank(PqlParser::RankSourceContext* ctx) {
    RankSource r;
    r.pos = PosOf(ctx);
    const size_t type = ctx->algorithm->getType();
    r.algorithm = type == PqlParser::K_WALK       ? RankAlgorithm::kWalk
                  : type == PqlParser::K_PAGERANK ? RankAlgorithm::kPageRank
                  : type == PqlParser::K_RP3BETA  ? RankAlgorithm::kRp3Beta
                                                  : RankAlgorithm::kNext;
    for (auto* edge : ctx->relationship()) r.hops.push_back(ConvertEdge(edge));
    if (ctx->properties()) {
      for (auto* entry : ctx->properties()->propertyEntry()) {
        r.option_pos.push_back(PosOf(entry));
        r.options.emplace_back(Name(entry->name()), Expr(entry->expression()));
      }
    }
    if (ctx->name()) r.alias = Name(ctx->name());
    return r;
  }

  ExamplesTarget ConvertExamples(PqlParser::ExamplesContext* ctx) {
    ExamplesTarget ex;
    ex.var = Variable(ctx->variable());
    ex.pattern = ConvertPattern(ctx->pattern());
    if (ctx->expression()) ex.where = Expr(ctx->expression());
    return ex;
  }

  Diversify ConvertDiversify(PqlParser::DiversifyClauseContext* ctx) {
    Diversify d;
    d.pos = PosOf(ctx);
    for (auto* item : ctx->diversifyItem()) {
      if (auto* by = dynamic_cast<PqlParser::DiversifyByContext*>(item)) {
        if (d.by) Fail(by->getStart(), "DIVERSIFY BY given twice");
        d.by = Expr(by->expression(0));
        d.max_per_value = Expr(by->expression(1));
      } else {
        auto* mmr = dynamic_cast<PqlParser::DiversifyMmrContext*>(item);
        if (d.mmr_lambda) Fail(mmr->getStart(), "DIVERSIFY MMR given twice");
        antlr4::Token* num = mmr->number()->getStart();
        Literal lit = NumberLiteral(num, false);
        d.mmr_lambda = lit.value.index() == 2 ? static_cast<double>(std::get<int64_t>(lit.value))
                                              : std::get<double>(lit.value);
        d.mmr_space_type = Name(mmr->name(0));
        d.mmr_space_name = Name(mmr->name(1));
      }
    }
    return d;
  }

  Pattern ConvertPattern(PqlParser::PatternContext* ctx) {
    return ConvertChain(PosOf(ctx), ctx->nodePattern(), ctx->relationship());
  }

  // [p =] pattern  |  [p =] shortestPath(pattern)  |  [p =] allShortestPaths(pattern)
  Pattern ConvertMatchPattern(PqlParser::MatchPatternContext* ctx) {
    Pattern p = ConvertPattern(ctx->pattern());
    if (ctx->variable()) {
      p.path_var = Variable(ctx->variable());
      p.path_pos = PosOf(ctx);
    }
    if (auto* fn = ctx->functionName()) {
      std::string name = FunctionName(fn);
      if (name == "shortestpath") {
        p.search = PathSearch::kShortest;
      } else if (name == "allshortestpaths") {
        p.search = PathSearch::kAllShortest;
      } else {
        Fail(fn->getStart(), "unexpected '" + fn->getText() +
                                 "', expected shortestPath or allShortestPaths before a pattern");
      }
      p.pos = PosOf(fn);
    }
    return p;
  }

  Pattern ConvertChain(Position pos, const std::vector<PqlParser::NodePatternContext*>& nodes,
                       const std::vector<PqlParser::RelationshipContext*>& edges) {
    Pattern p;
    p.pos = pos;
    for (auto* node : nodes) p.nodes.push_back(ConvertNode(node));
    for (auto* edge : edges) p.edges.push_back(ConvertEdge(edge));
    return p;
  }

  NodePattern ConvertNode(PqlParser::NodePatternContext* ctx) {
    NodePattern n;
    n.pos = PosOf(ctx);
    if (ctx->variable()) n.var = Variable(ctx->variable());
    if (ctx->name()) n.type = Name(ctx->name());
    if (ctx->properties()) n.props = ConvertProperties(ctx->properties());
    return n;
  }

  // {key: expr, ...} of a node or relationship pattern, in written order.
  std::vector<std::pair<std::string, ExprPtr>> ConvertProperties(
      PqlParser::PropertiesContext* ctx) {
    std::vector<std::pair<std::string, ExprPtr>> props;
    for (auto* entry : ctx->propertyEntry()) {
      props.emplace_back(Name(entry->name()), Expr(entry->expression()));
    }
    return props;
  }

  EdgePattern ConvertEdge(PqlParser::RelationshipContext* ctx) {
    EdgePattern e;
    e.pos = PosOf(ctx);
    PqlParser::RelationshipDetailContext* detail = nullptr;
    if (auto* out = dynamic_cast<PqlParser::OutRelationshipContext*>(ctx)) {
      e.dir = EdgeDirection::kOut;
      detail = out->relationshipDetail();
    } else if (auto* in = dynamic_cast<PqlParser::InRelationshipContext*>(ctx)) {
      e.dir = EdgeDirection::kIn;
      detail = in->relationshipDetail();
    } else {
      e.dir = EdgeDirection::kBoth;
      detail = dynamic_cast<PqlParser::BothRelationshipContext*>(ctx)->relationshipDetail();
    }
    if (detail != nullptr) {
      if (detail->variable()) e.var = Variable(detail->variable());
      for (auto* type : detail->name()) e.types.push_back(Name(type));
      if (detail->K_ALL()) e.max_per_node = kMaxAll;
      if (detail->integer()) e.max_per_node = Integer(detail->integer());
      if (detail->properties()) e.props = ConvertProperties(detail->properties());
      if (auto* range = detail->hopRange()) {
        e.var_length = true;
        std::vector<PqlParser::IntegerContext*> bounds = range->integer();
        if (range->DOTDOT() == nullptr) {
          if (!bounds.empty()) e.min_hops = e.max_hops = Integer(bounds[0]);
        } else {
          // *a..b, *..b or *a..: which bound is there follows from where it stands.
          for (auto* b : bounds) {
            bool before = b->getStart()->getTokenIndex() < range->DOTDOT()->getSymbol()->getTokenIndex();
            (before ? e.min_hops : e.max_hops) = Integer(b);
          }
        }
      }
    }
    return e;
  }

  // --- expressions

  ExprPtr Expr(PqlParser::ExpressionContext* ctx) {
    struct DepthScope {
      int& depth;
      ~DepthScope() { --depth; }
    } scope{++depth_};
    if (depth_ > limits_.max_expression_depth) {
      FailLimit(ctx->getStart(),
                "expression nested more than " + std::to_string(limits_.max_expression_depth) +
                    " levels deep, over " +
                    LimitText("max_expression_depth", limits_.max_expression_depth));
    }
    Position pos = PosOf(ctx);
    if (auto* c = dynamic_cast<PqlParser::AtomExprContext*>(ctx)) return Atom(c->atom());
    if (auto* c = dynamic_cast<PqlParser::PropertyExprContext*>(ctx)) {
      auto e = Make(ExprKind::kProperty, pos);
      e->name = Name(c->name());
      e->args.push_back(Expr(c->expression()));
      return e;
    }
    if (auto* c = dynamic_cast<PqlParser::NegateExprContext*>(ctx)) {
      if (auto* lit = NumericLiteral(c->expression())) {  // -5, -1.5, -7d fold into the literal
        auto e = Make(ExprKind::kLiteral, pos);
        e->literal = NumberLiteral(lit, true);
        return e;
      }
      return Unary("-", pos, c->expression());
    }
    if (auto* c = dynamic_cast<PqlParser::PlusExprContext*>(ctx)) return Expr(c->expression());
    if (auto* c = dynamic_cast<PqlParser::NotExprContext*>(ctx)) {
      return Unary("NOT", pos, c->expression());
    }
    if (auto* c = dynamic_cast<PqlParser::MultiplyExprContext*>(ctx)) {
      return Binary(c->op->getText(), c->expression(0), c->expression(1));
    }
    if (auto* c = dynamic_cast<PqlParser::AddExprContext*>(ctx)) {
      return Binary(c->op->getText(), c->expression(0), c->expression(1));
    }
    if (auto* c = dynamic_cast<PqlParser::CompareExprContext*>(ctx)) {
      if (c->comparisonOp() != nullptr) {
        std::string op = c->comparisonOp()->getText();
        return Binary(op == "!=" ? "<>" : op, c->expression(0), c->expression(1));
      }
      auto e = Make(ExprKind::kIn, pos);
      e->negated = c->K_NOT() != nullptr;
      e->args.push_back(Expr(c->expression(0)));
      e->args.push_back(Expr(c->expression(1)));
      return e;
    }
    if (auto* c = dynamic_cast<PqlParser::StringExprContext*>(ctx)) {
      std::string op = c->K_STARTS() ? "STARTS WITH"
                       : c->K_ENDS() ? "ENDS WITH"
                       : c->K_CONTAINS() ? "CONTAINS"
                                         : "=~";
      return Binary(op, c->expression(0), c->expression(1));
    }
    if (auto* c = dynamic_cast<PqlParser::IsNullExprContext*>(ctx)) {
      auto e = Make(ExprKind::kIsNull, pos);
      e->negated = c->K_NOT() != nullptr;
      e->args.push_back(Expr(c->expression()));
      return e;
    }
    if (auto* c = dynamic_cast<PqlParser::AndExprContext*>(ctx)) {
      return Binary("AND", c->expression(0), c->expression(1));
    }
    if (auto* c = dynamic_cast<PqlParser::XorExprContext*>(ctx)) {
      return Binary("XOR", c->expression(0), c->expression(1));
    }
    if (auto* c = dynamic_cast<PqlParser::OrExprContext*>(ctx)) {
      return Binary("OR", c->expression(0), c->expression(1));
    }
    Fail(ctx->getStart(), "unsupported expression");
  }

  ExprPtr Atom(PqlParser::AtomContext* ctx) {
    Position pos = PosOf(ctx);
    if (auto* c = dynamic_cast<PqlParser::LiteralAtomContext*>(ctx)) {
      auto e = Make(ExprKind::kLiteral, pos);
      antlr4::Token* token = c->literal()->getStart();
      switch (token->getType()) {
        case PqlParser::INTEGER:
        case PqlParser::FLOAT:
        case PqlParser::DURATION: e->literal = NumberLiteral(token, false); break;
        case PqlParser::STRING: e->literal.value = UnescapeString(token); break;
        case PqlParser::K_TRUE: e->literal.value = true; break;
        case PqlParser::K_FALSE: e->literal.value = false; break;
        default: break;  // NULL
      }
      return e;
    }
    if (auto* c = dynamic_cast<PqlParser::ParamAtomContext*>(ctx)) {
      auto e = Make(ExprKind::kParam, pos);
      e->name = c->PARAM()->getText().substr(1);
      return e;
    }
    if (auto* c = dynamic_cast<PqlParser::ListAtomContext*>(ctx)) {
      auto e = Make(ExprKind::kList, pos);
      if (c->expression().size() > limits_.max_list_elements) {
        FailLimit(c->getStart(), "list of " + std::to_string(c->expression().size()) +
                                     " elements, more than " +
                                     LimitText("max_list_elements", limits_.max_list_elements));
      }
      for (auto* item : c->expression()) e->args.push_back(Expr(item));
      return e;
    }
    if (auto* c = dynamic_cast<PqlParser::CaseAtomContext*>(ctx)) return Case(c);
    if (auto* c = dynamic_cast<PqlParser::MapAtomContext*>(ctx)) return Map(c);
    if (auto* c = dynamic_cast<PqlParser::MapProjectionAtomContext*>(ctx)) return MapProjection(c);
    if (auto* c = dynamic_cast<PqlParser::ReduceAtomContext*>(ctx)) return Reduce(c);
    if (auto* c = dynamic_cast<PqlParser::ListComprehensionAtomContext*>(ctx)) {
      return ListComprehension(c);
    }
    if (auto* c = dynamic_cast<PqlParser::CallAtomContext*>(ctx)) {
      auto e = Make(ExprKind::kCall, pos);
      e->name = FunctionName(c->functionName());
      for (auto* part : c->name()) e->name += "." + Lower(Name(part));
      e->star = c->STAR() != nullptr;
      e->distinct = c->K_DISTINCT() != nullptr;
      for (auto* arg : c->expression()) e->args.push_back(Expr(arg));
      return e;
    }
    if (auto* c = dynamic_cast<PqlParser::SubqueryAtomContext*>(ctx)) return Subquery(c);
    if (auto* c = dynamic_cast<PqlParser::PatternAtomContext*>(ctx)) {
      auto e = Make(ExprKind::kPattern, pos);
      e->pattern = std::make_unique<Pattern>(ConvertChain(pos, c->nodePattern(), c->relationship()));
      return e;
    }
    if (auto* c = dynamic_cast<PqlParser::ParenAtomContext*>(ctx)) return Expr(c->expression());
    auto* c = dynamic_cast<PqlParser::VariableAtomContext*>(ctx);
    auto e = Make(ExprKind::kVariable, pos);
    e->name = Variable(c->variable());
    return e;
  }

  // EXISTS { [MATCH] pattern [WHERE e] } / COUNT { ... }; see ExprKind::kPattern.
  ExprPtr Subquery(PqlParser::SubqueryAtomContext* ctx) {
    auto* fn = ctx->functionName();
    std::string name = Upper(fn->QUOTED_IDENTIFIER() ? Unquote(fn->getStart()) : fn->getText());
    if (name != "EXISTS" && name != "COUNT") {
      Fail(fn->getStart(), "unexpected " + Echo(fn->getStart()) +
                               ", expected EXISTS or COUNT before a subquery '{'");
    }
    auto e = Make(ExprKind::kPattern, PosOf(ctx));
    e->op = name;
    e->pattern = std::make_unique<Pattern>(ConvertPattern(ctx->pattern()));
    if (ctx->whereClause()) e->args.push_back(Expr(ctx->whereClause()->expression()));
    return e;
  }

  // [x IN list [WHERE pred] [| map]]; see ExprKind::kListComp for the layout.
  ExprPtr ListComprehension(PqlParser::ListComprehensionAtomContext* ctx) {
    auto e = Make(ExprKind::kListComp, PosOf(ctx));
    e->name = Variable(ctx->variable());
    size_t next = 0;
    e->args.push_back(Expr(ctx->expression(next++)));
    if (ctx->K_WHERE()) {
      e->args.push_back(Expr(ctx->expression(next++)));
    } else {
      auto yes = Make(ExprKind::kLiteral, PosOf(ctx));
      yes->literal.value = true;
      e->args.push_back(std::move(yes));
    }
    if (ctx->PIPE()) {
      e->args.push_back(Expr(ctx->expression(next)));
    } else {
      auto var = Make(ExprKind::kVariable, PosOf(ctx->variable()));
      var->name = e->name;
      e->args.push_back(std::move(var));
    }
    return e;
  }

  void CheckMapSize(antlr4::ParserRuleContext* ctx, size_t entries) {
    if (entries > limits_.max_list_elements) {
      FailLimit(ctx->getStart(), "map of " + std::to_string(entries) + " entries, more than " +
                                     LimitText("max_list_elements", limits_.max_list_elements));
    }
  }

  // {k: v, ...}; see ExprKind::kMap.
  ExprPtr Map(PqlParser::MapAtomContext* ctx) {
    CheckMapSize(ctx, ctx->propertyEntry().size());
    auto e = Make(ExprKind::kMap, PosOf(ctx));
    for (auto* entry : ctx->propertyEntry()) {
      e->keys.push_back(Name(entry->name()));
      e->args.push_back(Expr(entry->expression()));
    }
    return e;
  }

  ExprPtr VariableExpr(PqlParser::VariableContext* ctx) {
    auto e = Make(ExprKind::kVariable, PosOf(ctx));
    e->name = Variable(ctx);
    return e;
  }

  // m {.title, .*, key: e, x}; see ExprKind::kMapProjection.
  ExprPtr MapProjection(PqlParser::MapProjectionAtomContext* ctx) {
    // `EXISTS { }` parses as an empty projection of a variable named EXISTS: it is a subquery
    // that lacks its pattern.
    const std::string base = Upper(ctx->variable()->getText());
    if (ctx->mapProjectionItem().empty() && (base == "EXISTS" || base == "COUNT")) {
      Fail(ctx->RBRACE()->getSymbol(), "unexpected '}', expected a pattern in " + base + " { }");
    }
    CheckMapSize(ctx, ctx->mapProjectionItem().size());
    auto e = Make(ExprKind::kMapProjection, PosOf(ctx));
    e->args.push_back(VariableExpr(ctx->variable()));
    for (auto* item : ctx->mapProjectionItem()) {
      if (auto* c = dynamic_cast<PqlParser::PropertySelectorContext*>(item)) {
        auto prop = Make(ExprKind::kProperty, PosOf(c->name()));
        prop->name = Name(c->name());
        prop->args.push_back(VariableExpr(ctx->variable()));
        e->keys.push_back(prop->name);
        e->args.push_back(std::move(prop));
      } else if (dynamic_cast<PqlParser::AllPropertiesSelectorContext*>(item) != nullptr) {
        e->keys.emplace_back();
        e->args.push_back(VariableExpr(ctx->variable()));
      } else if (auto* c = dynamic_cast<PqlParser::LiteralEntryContext*>(item)) {
        e->keys.push_back(Name(c->propertyEntry()->name()));
        e->args.push_back(Expr(c->propertyEntry()->expression()));
      } else {
        auto* v = dynamic_cast<PqlParser::VariableSelectorContext*>(item);
        e->keys.push_back(Variable(v->variable()));
        e->args.push_back(VariableExpr(v->variable()));
      }
    }
    return e;
  }

  // reduce(acc = init, x IN list | e); see ExprKind::kReduce.
  ExprPtr Reduce(PqlParser::ReduceAtomContext* ctx) {
    auto* fn = ctx->functionName();
    if (FunctionName(fn) != "reduce") {
      Fail(fn->getStart(), "unexpected '" + fn->getText() +
                               "(acc = init, x IN list | expression)': only reduce() has this form");
    }
    auto e = Make(ExprKind::kReduce, PosOf(ctx));
    e->keys = {Variable(ctx->variable(0)), Variable(ctx->variable(1))};
    for (auto* arg : ctx->expression()) e->args.push_back(Expr(arg));
    return e;
  }

  // CASE [subject] (WHEN w THEN t)+ [ELSE e] END; see ExprKind::kCase for the layout.
  ExprPtr Case(PqlParser::CaseAtomContext* ctx) {
    auto e = Make(ExprKind::kCase, PosOf(ctx));
    e->op = ctx->expression().size() > (ctx->K_ELSE() ? 1u : 0u) ? "simple" : "generic";
    if (e->op == "simple") e->args.push_back(Expr(ctx->expression(0)));
    for (auto* alt : ctx->caseAlternative()) {
      e->args.push_back(Expr(alt->expression(0)));
      e->args.push_back(Expr(alt->expression(1)));
    }
    if (ctx->K_ELSE()) {
      e->args.push_back(Expr(ctx->expression().back()));
    } else {
      e->args.push_back(Make(ExprKind::kLiteral, PosOf(ctx->K_END()->getSymbol())));
    }
    return e;
  }

  // The literal token when ctx is a bare numeric literal (for folding unary minus).
  static antlr4::Token* NumericLiteral(PqlParser::ExpressionContext* ctx) {
    auto* atom = dynamic_cast<PqlParser::AtomExprContext*>(ctx);
    if (atom == nullptr) return nullptr;
    auto* lit = dynamic_cast<PqlParser::LiteralAtomContext*>(atom->atom());
    if (lit == nullptr) return nullptr;
    antlr4::Token* token = lit->literal()->getStart();
    size_t type = token->getType();
    bool numeric = type == PqlParser::INTEGER || type == PqlParser::FLOAT || type == PqlParser::DURATION;
    return numeric ? token : nullptr;
  }

  ExprPtr Make(ExprKind kind, Position pos) {
    if (++nodes_ > limits_.max_expression_nodes) {
      throw ParseError{"query has more than " + std::to_string(limits_.max_expression_nodes) +
                           " expression nodes, over " +
                           LimitText("max_expression_nodes", limits_.max_expression_nodes),
                       pos.line, pos.column, Status::Code::kInvalidArgument};
    }
    if ((nodes_ & 255) == 0) CheckDeadline(deadline_, "parsing");
    auto e = std::make_unique<ast::Expr>();
    e->kind = kind;
    e->pos = pos;
    return e;
  }

  ExprPtr Unary(std::string op, Position pos, PqlParser::ExpressionContext* operand) {
    auto e = Make(ExprKind::kUnary, pos);
    e->op = std::move(op);
    e->args.push_back(Expr(operand));
    return e;
  }

  // Binary nodes are positioned at their left operand, like the source text they span.
  ExprPtr Binary(std::string op, PqlParser::ExpressionContext* lhs,
                 PqlParser::ExpressionContext* rhs) {
    auto e = Make(ExprKind::kBinary, PosOf(lhs));
    e->op = std::move(op);
    e->args.push_back(Expr(lhs));
    e->args.push_back(Expr(rhs));
    return e;
  }

  static std::string Name(PqlParser::NameContext* ctx) {
    return ctx->QUOTED_IDENTIFIER() ? Unquote(ctx->getStart()) : ctx->getText();
  }

  // Function names are case-insensitive: the name lower-cased.
  static std::string FunctionName(PqlParser::FunctionNameContext* ctx) {
    return Lower(ctx->QUOTED_IDENTIFIER() ? Unquote(ctx->getStart()) : ctx->getText());
  }

  static std::string Variable(PqlParser::VariableContext* ctx) {
    return ctx->QUOTED_IDENTIFIER() ? Unquote(ctx->getStart()) : ctx->getText();
  }

  static int64_t Integer(PqlParser::IntegerContext* ctx) {
    return std::get<int64_t>(NumberLiteral(ctx->getStart(), false).value);
  }

  std::string SourceText(antlr4::ParserRuleContext* ctx) const {
    return input_->getText(
        antlr4::misc::Interval(ctx->getStart()->getStartIndex(), ctx->getStop()->getStopIndex()));
  }

  antlr4::CharStream* input_;
  const Limits& limits_;
  const Deadline& deadline_;
  int depth_ = 0;
  size_t nodes_ = 0;
};

// ANTLR's shared prediction caches are not trusted across threads in runtime 4.9; parsing is off
// the hot path (plans are cached by text), so parses are serialized. A parse waits for the mutex
// only until its deadline, polling try_lock every 20 us: a timed wait (try_lock_until) goes
// through pthread_mutex_clocklock, which Debian 12's ThreadSanitizer does not intercept, so it
// then reports the matching unlock as an unlock of an unlocked mutex.
std::mutex parse_mutex;

std::unique_lock<std::mutex> LockParser(const Deadline& deadline) {
  if (deadline.IsNever()) return std::unique_lock<std::mutex>(parse_mutex);
  std::unique_lock<std::mutex> lock(parse_mutex, std::defer_lock);
  while (!lock.try_lock()) {
    if (deadline.Expired()) {
      throw ParseError{"query deadline exceeded while waiting for the parser", 0, 0,
                       Status::Code::kDeadlineExceeded};
    }
    std::this_thread::sleep_for(std::chrono::microseconds(20));
  }
  return lock;
}

// Everything one parse builds with ANTLR: the text as code points, the tokens and the parse tree.
// Members are constructed in order and each refers only to those before it.
struct ParseSession {
  ParseSession(std::string_view text, const Limits& limits, const Deadline& deadline)
      : input(text.data(), text.size()),
        lexer(&input, deadline),
        tokens(&lexer, deadline),
        parser(&tokens, limits, deadline) {}
  FirstErrorListener listener;
  antlr4::ANTLRInputStream input;
  GuardedLexer lexer;
  GuardedTokenStream tokens;
  GuardedParser parser;  // owns the parse tree
};

// A session freed on the reclaimer's thread, under the parse mutex like everything else that
// touches ANTLR objects (a concurrent parse waits for it only until its own deadline).
struct LockedSession {
  std::unique_ptr<ParseSession> session;
  explicit LockedSession(std::unique_ptr<ParseSession> s) : session(std::move(s)) {}
  LockedSession(LockedSession&&) = default;
  ~LockedSession() {
    if (session == nullptr) return;
    std::lock_guard<std::mutex> lock(parse_mutex);
    session.reset();
  }
};

// Hands the session to the reclaimer when the parse ends, returned or thrown: freeing the tree
// and tokens of a large text takes milliseconds, which a parse stopped by its deadline would
// otherwise spend after the deadline.
struct SessionDisposer {
  Reclaimer* reclaimer;
  std::unique_ptr<ParseSession>& session;
  ~SessionDisposer() {
    if (reclaimer != nullptr && session != nullptr) {
      reclaimer->Dispose(LockedSession(std::move(session)));
    }
  }
};

std::unique_ptr<Statement> ParseOrThrow(std::string_view text, const Limits& limits,
                                        const Deadline& deadline, Reclaimer* reclaimer) {
  if (text.size() > limits.max_query_bytes) {
    throw ParseError{"query text is " + std::to_string(text.size()) + " bytes, more than " +
                         LimitText("max_query_bytes", limits.max_query_bytes),
                     0, 0, Status::Code::kInvalidArgument};
  }
  CheckDeadline(deadline, "starting to parse");
  CheckUtf8(text);
  std::unique_ptr<ParseSession> session;
  SessionDisposer disposer{reclaimer, session};
  session = std::make_unique<ParseSession>(text, limits, deadline);
  GuardedLexer& lexer = session->lexer;
  FirstErrorListener& listener = session->listener;
  GuardedTokenStream& tokens = session->tokens;
  GuardedParser& parser = session->parser;
  lexer.removeErrorListeners();  // ERROR_CHAR catches everything; the listener is a backstop
  lexer.addErrorListener(&listener);
  tokens.fill();
  CheckDeadline(deadline, "lexing");
  CheckNesting(tokens, limits);

  parser.removeErrorListeners();
  parser.getInterpreter<antlr4::atn::ParserATNSimulator>()->setPredictionMode(
      antlr4::atn::PredictionMode::SLL);
  parser.setErrorHandler(std::make_shared<antlr4::BailErrorStrategy>());
  PqlParser::StatementContext* tree = nullptr;
  try {
    tree = parser.statement();
  } catch (const antlr4::ParseCancellationException&) {
    CheckDeadline(deadline, "parsing");
    tokens.seek(0);
    parser.reset();
    parser.addErrorListener(&listener);
    parser.setErrorHandler(std::make_shared<antlr4::DefaultErrorStrategy>());
    parser.getInterpreter<antlr4::atn::ParserATNSimulator>()->setPredictionMode(
        antlr4::atn::PredictionMode::LL);
    tree = parser.statement();
  }
  CheckDeadline(deadline, "parsing");
  Converter converter(&session->input, limits, deadline);
  std::unique_ptr<Statement> stmt = converter.ConvertStatement(tree);
  stmt->expression_nodes = converter.nodes();
  stmt->text_bytes = text.size();
  return stmt;
}

}  // namespace

Result<std::unique_ptr<Statement>> Parse(std::string_view text, const Limits& limits,
                                          const Deadline& deadline, Reclaimer* reclaimer) {
  try {
    std::unique_lock<std::mutex> lock = LockParser(deadline);
    return ParseOrThrow(text, limits, deadline, reclaimer);
  } catch (const ParseError& e) {
    if (e.code != Status::Code::kSyntaxError) {
      Status s = e.code == Status::Code::kDeadlineExceeded ? Status::DeadlineExceeded(e.what)
                                                           : Status::InvalidArgument(e.what);
      return e.line > 0 ? s.WithPosition(e.line, e.column) : s;
    }
    return Status::SyntaxError("syntax error at line " + std::to_string(e.line) + ", column " +
                                   std::to_string(e.column) + ": " + e.what,
                               e.line, e.column);
  } catch (const std::exception& e) {
    return Status::Internal(std::string("PQL parser failed: ") + e.what());
  } catch (...) {
    return Status::Internal("PQL parser failed");
  }
}

}  // namespace pathwise::query::ast
