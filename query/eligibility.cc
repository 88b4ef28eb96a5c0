// RECOMMEND eligibility: the WHERE conjuncts over the candidate (and the seed), applied to every
// merged candidate. Filter runs the property/IN/boolean conjuncts, Exclude the ones with
// pattern predicates (NOT (u)-[:BOUGHT]->(c), two-hop exclusions cached on the seed side).
// Candidates that NEAREST already checked during retrieval are not checked again.
#include "query/expr_eval.h"
#include "query/pattern_exec.h"
#include "query/recommend_exec.h"

namespace pathwise::query {

namespace {

EvalEnv LightEnv(RecState* st, uint32_t c) {
  st->row[1].node = st->nodes[c];
  EvalEnv env;
  env.st = st;
  env.row = st->row.data();
  env.source_mask = st->masks[c];
  return env;
}

class FilterOp : public RecOp {
 public:
  FilterOp() : RecOp("Filter") {}

 protected:
  Status Execute(RecState* st, OpCounts* counts) const override {
    const RecommendPlan& rec = *st->rec;
    st->survivors.clear();
    counts->rows_in = st->nodes.size();
    std::vector<uint32_t> unchecked;
    for (uint32_t c = 0; c < st->nodes.size(); ++c) {
      if (!st->prechecked[c]) unchecked.push_back(c);
    }
    PrefetchCandidates(st, unchecked);
    for (uint32_t c = 0; c < st->nodes.size(); ++c) {
      if (!st->Tick()) return st->error;
      if (st->prechecked[c]) {
        st->survivors.push_back(c);
        continue;
      }
      EvalEnv env = LightEnv(st, c);
      if (!NodeMatches(rec.target, st->nodes[c], env)) continue;
      bool keep = true;
      for (const auto& conjunct : rec.candidate_filters) {
        if (!EvalPredicate(*conjunct, env)) {
          keep = false;
          break;
        }
      }
      if (keep) st->survivors.push_back(c);
    }
    counts->rows_out = st->survivors.size();
    return st->error;
  }
};

class ExcludeOp : public RecOp {
 public:
  ExcludeOp() : RecOp("Exclude") {}

 protected:
  Status Execute(RecState* st, OpCounts* counts) const override {
    const RecommendPlan& rec = *st->rec;
    counts->rows_in = st->survivors.size();
    if (!rec.candidate_excludes.empty()) {
      size_t kept = 0;
      for (uint32_t c : st->survivors) {
        if (!st->Tick()) return st->error;
        bool keep = true;
        if (!st->prechecked[c]) {
          EvalEnv env = LightEnv(st, c);
          for (const auto& conjunct : rec.candidate_excludes) {
            if (!EvalPredicate(*conjunct, env)) {
              keep = false;
              break;
            }
          }
        }
        if (keep) st->survivors[kept++] = c;
      }
      st->survivors.resize(kept);
    }
    counts->rows_out = st->survivors.size();
    return st->error;
  }
};

}  // namespace

std::unique_ptr<RecOp> MakeFilterOp() { return std::make_unique<FilterOp>(); }
std::unique_ptr<RecOp> MakeExcludeOp() { return std::make_unique<ExcludeOp>(); }

}  // namespace pathwise::query
