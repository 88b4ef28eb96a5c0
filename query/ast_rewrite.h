// Internal to query/: copies of AST expressions, for the planners' rewrites.
#pragma once

#include <map>
#include <string>

#include "query/ast.h"

namespace pathwise::query {

// A deep copy of e in which every variable named in `aliases` is replaced by a copy of the
// expression it maps to (ORDER BY `n * 2` where n is a projection's alias). In a pattern
// predicate or subquery, a node variable that is the alias of a bare variable (`RETURN u AS user
// ORDER BY COUNT { (user)-->() }`) is renamed to that variable; other pattern variables name
// pattern positions and are copied as they are.
ast::ExprPtr SubstituteAliases(const ast::Expr& e,
                               const std::map<std::string, const ast::Expr*>& aliases);

// True when e reads a variable named in `names`, also as a node of a pattern predicate or
// subquery.
bool UsesAnyVariable(const ast::Expr& e, const std::map<std::string, const ast::Expr*>& names);

}  // namespace pathwise::query
