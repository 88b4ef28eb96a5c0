// Map literals and map projections (expr_maps.h).
#include "query/expr_maps.h"

#include "query/expr_eval.h"
#include "query/expr_fns.h"

namespace pathwise::query {

namespace {

const char* KindName(const RtValue& v) {
  if (v.IsBool()) return "boolean";
  if (v.IsNumber()) return "number";
  if (v.IsString()) return "string";
  if (v.IsList()) return "list";
  return "vector";
}

}  // namespace

RtValue EvalMap(const BoundExpr& e, const EvalEnv& env) {
  RtMap entries;
  entries.reserve(e.keys.size());
  if (env.st != nullptr) env.st->Tick(static_cast<uint32_t>(e.keys.size()));
  for (size_t i = 0; i < e.keys.size(); ++i) entries.emplace_back(e.keys[i], Eval(*e.args[i], env));
  return MakeMap(std::move(entries));
}

// Items apply in order, so a later one overrides an earlier key (`.*` then `title: 'x'`).
RtValue EvalMapProjection(const BoundExpr& e, const EvalEnv& env) {
  RtValue base = Eval(*e.args[0], env);
  if (base.IsNull()) return base;
  if (!base.IsNode() && !base.IsEdge() && !base.IsMap()) {
    return FailAt(e, env.st, std::string("map projection of a ") + KindName(base) +
                                 "; it needs a node, an edge or a map");
  }
  RtMap entries;
  for (size_t i = 0; i < e.keys.size(); ++i) {
    if (!env.st->Tick()) return RtValue();
    if (!e.keys[i].empty()) {
      entries.emplace_back(e.keys[i], Eval(*e.args[i + 1], env));
      continue;
    }
    RtValue all = PropertiesOf(base, *env.st);
    entries.insert(entries.end(), all.AsMap().begin(), all.AsMap().end());
  }
  return MakeMap(std::move(entries));
}

}  // namespace pathwise::query
