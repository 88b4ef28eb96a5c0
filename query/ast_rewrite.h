// Internal to query/: copies of AST expressions, for the planners' rewrites.
#pragma once

#include <map>
#include <string>

#include "query/ast.h"

namespace pathwise::query {

// A deep copy of e in which every variable named in `aliases` is replaced by a copy of the
// expression it maps to (ORDER BY `n * 2` where n is a projection's alias). Pattern predicates are
// copied as they are: their variables name pattern positions, not aliases.
ast::ExprPtr SubstituteAliases(const ast::Expr& e,
                               const std::map<std::string, const ast::Expr*>& aliases);

// True when e reads a variable named in `names` outside pattern predicates.
bool UsesAnyVariable(const ast::Expr& e, const std::map<std::string, const ast::Expr*>& names);

}  // namespace pathwise::query
