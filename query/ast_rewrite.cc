#include "query/ast_rewrite.h"

namespace pathwise::query {

namespace {

ast::ExprPtr Copy(const ast::Expr& e, const std::map<std::string, const ast::Expr*>* aliases);

// A node variable that is an alias of a bare variable (RETURN u AS user ... ORDER BY
// COUNT { (user)-->() }) is renamed to that variable.
ast::Pattern CopyPattern(const ast::Pattern& p,
                         const std::map<std::string, const ast::Expr*>* aliases) {
  ast::Pattern out;
  out.pos = p.pos;
  for (const ast::EdgePattern& e : p.edges) {
    ast::EdgePattern edge;
    edge.var = e.var;
    edge.types = e.types;
    for (const auto& [key, value] : e.props) edge.props.emplace_back(key, Copy(*value, nullptr));
    edge.dir = e.dir;
    edge.max_per_node = e.max_per_node;
    edge.var_length = e.var_length;
    edge.min_hops = e.min_hops;
    edge.max_hops = e.max_hops;
    edge.pos = e.pos;
    out.edges.push_back(std::move(edge));
  }
  for (const ast::NodePattern& n : p.nodes) {
    ast::NodePattern node;
    node.var = n.var;
    if (aliases != nullptr) {
      auto alias = aliases->find(n.var);
      if (alias != aliases->end() && alias->second->kind == ast::ExprKind::kVariable) {
        node.var = alias->second->name;
      }
    }
    node.type = n.type;
    node.pos = n.pos;
    for (const auto& [key, value] : n.props) node.props.emplace_back(key, Copy(*value, nullptr));
    out.nodes.push_back(std::move(node));
  }
  return out;
}

ast::ExprPtr Copy(const ast::Expr& e, const std::map<std::string, const ast::Expr*>* aliases) {
  if (aliases != nullptr && e.kind == ast::ExprKind::kVariable) {
    auto it = aliases->find(e.name);
    if (it != aliases->end()) return Copy(*it->second, nullptr);
  }
  auto out = std::make_unique<ast::Expr>();
  out->kind = e.kind;
  out->pos = e.pos;
  out->literal = e.literal;
  out->name = e.name;
  out->op = e.op;
  out->negated = e.negated;
  out->distinct = e.distinct;
  out->star = e.star;
  out->keys = e.keys;
  for (const auto& arg : e.args) out->args.push_back(Copy(*arg, aliases));
  if (e.pattern) out->pattern = std::make_unique<ast::Pattern>(CopyPattern(*e.pattern, aliases));
  return out;
}

}  // namespace

ast::ExprPtr SubstituteAliases(const ast::Expr& e,
                               const std::map<std::string, const ast::Expr*>& aliases) {
  return Copy(e, &aliases);
}

bool UsesAnyVariable(const ast::Expr& e, const std::map<std::string, const ast::Expr*>& names) {
  if (e.kind == ast::ExprKind::kVariable) return names.count(e.name) != 0;
  if (e.pattern) {
    for (const ast::NodePattern& n : e.pattern->nodes) {
      if (names.count(n.var)) return true;
    }
  }
  for (const auto& arg : e.args) {
    if (UsesAnyVariable(*arg, names)) return true;
  }
  return false;
}

}  // namespace pathwise::query
