// Internal to query/: renders AST expressions and patterns back to PQL text (score term labels,
// ORDER BY matching, plan descriptions). Parentheses are added only where precedence needs them.
#pragma once

#include <string>

#include "query/ast.h"

namespace pathwise::query {

std::string ExprText(const ast::Expr& e);
std::string PatternText(const ast::Pattern& p);
std::string NodePatternText(const ast::NodePattern& n);
// "-[r:A|B]->"; reversed renders the relationship as read from its right end ("<-[r:A|B]-").
std::string EdgePatternText(const ast::EdgePattern& e, bool reversed = false);

}  // namespace pathwise::query
