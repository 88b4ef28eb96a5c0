// Path contributions to SCORE terms (see contributions.h for the rule).
#include "query/contributions.h"

#include <algorithm>
#include <cmath>

#include "query/expr_eval.h"

namespace pathwise::query {

namespace {

// |a - b| small relative to the larger of 1 and the values involved.
bool Near(double a, double b, double scale) {
  return std::fabs(a - b) <= 1e-9 * std::max({1.0, std::fabs(scale), std::fabs(a), std::fabs(b)});
}

// The term's signed value with aggregate `agg` set to `value` (the other aggregates as they are).
double TermWith(RecState* st, uint32_t c, size_t term, size_t agg, double value) {
  const ScoreTerm& t = st->rec->terms[term];
  EvalEnv env = st->CandidateEnv(c);
  std::vector<RtValue> aggs(env.aggs, env.aggs + st->rec->aggs.size());
  aggs[agg] = RtValue(value);
  env.aggs = aggs.data();
  RtValue v = Eval(*t.expr, env);
  if (!v.IsNumber()) return std::nan("");
  return t.op == '-' ? -v.AsDouble() : v.AsDouble();
}

// Path p's part of aggregate `agg` (input: what the aggregate's argument was on p); the parts of
// all paths that fed the aggregate add up to its value.
double PartOf(const AggSpec& agg, const NumAcc& acc, const AggInput& input, bool* extreme_taken) {
  switch (agg.fn) {
    case AggFn::kCountStar: return 1;
    case AggFn::kCount: return input.kind != AggInput::kNull ? 1 : 0;
    case AggFn::kSum: return input.kind == AggInput::kNumber ? input.number : 0;
    case AggFn::kAvg:
      return input.kind == AggInput::kNumber && acc.numbers > 0 ? input.number / acc.numbers : 0;
    case AggFn::kMin:
    case AggFn::kMax: {
      double target = agg.fn == AggFn::kMin ? acc.min : acc.max;
      if (*extreme_taken || input.kind != AggInput::kNumber || input.number != target) return 0;
      *extreme_taken = true;
      return target;
    }
    case AggFn::kCollect:
    case AggFn::kPercentileCont:
    case AggFn::kPercentileDisc:
    case AggFn::kStDev:
    case AggFn::kStDevP: return 0;  // MATCH only
  }
  return 0;
}

// Per graph source bit: its index in RecommendPlan::graph_sources (-1: a NEAREST or rank source).
std::vector<int> GraphIndexByBit(const RecommendPlan& rec) {
  std::vector<int> out(rec.source_names.size(), -1);
  for (size_t g = 0; g < rec.graph_sources.size(); ++g) out[rec.graph_sources[g].bit] = static_cast<int>(g);
  return out;
}

// Splits term `t` (reading only aggregate `agg`) over the paths; adds to `paths`.
void SplitTerm(RecState* st, uint32_t c, size_t t, size_t agg, const std::vector<uint32_t>& logged,
               ResultContributions* out) {
  const RecommendPlan& rec = *st->rec;
  const AggSpec& spec = rec.aggs[agg];
  const NumAcc& acc = st->accs[c * rec.aggs.size() + agg];
  const RtValue& term_value = out->terms[t].value;
  if (!term_value.IsNumber()) return;
  const double T = term_value.AsDouble();
  const RtValue a_value = acc.Finish(spec.fn);
  const double A = a_value.IsNumber() ? a_value.AsDouble() : 0;
  // Linear through the origin: T(0) = 0, T(2) = 2 T(1) and T(A) = T(1) A.
  const double t0 = TermWith(st, c, t, agg, 0), t1 = TermWith(st, c, t, agg, 1),
               t2 = TermWith(st, c, t, agg, 2);
  const bool linear = std::isfinite(t1) && Near(t0, 0, t1) && Near(t2, 2 * t1, t1) && Near(T, t1 * A, T);
  const std::vector<int> graph_index = GraphIndexByBit(rec);
  std::vector<std::pair<size_t, double>> parts;  // (position in out->paths, x_p)
  bool extreme_taken = false;
  for (size_t i = 0; i < logged.size(); ++i) {
    const LoggedPath& p = st->path_log[logged[i]];
    int g = graph_index[p.rec.source];
    if (g < 0) continue;
    std::vector<size_t> fed = GraphSourceAggs(rec, static_cast<size_t>(g));
    auto it = std::find(fed.begin(), fed.end(), agg);
    if (it == fed.end()) continue;
    const AggInput& input = st->path_inputs[p.first_input + (it - fed.begin())];
    parts.emplace_back(i, PartOf(spec, acc, input, &extreme_taken));
  }
  if (parts.empty()) return;
  out->decomposed[t] = true;
  out->term_paths[t] = parts.size();
  for (const auto& [i, x] : parts) {
    double contribution;
    if (linear) {
      contribution = t1 * x;
    } else if (A != 0) {
      contribution = T * (x / A);
    } else {
      contribution = T / static_cast<double>(parts.size());
    }
    PathContribution& pc = out->paths[i];
    pc.feeds_term = true;
    pc.terms.emplace_back(static_cast<int>(t), contribution);
  }
}

// The default score (no SCORE): one term per source; a graph source's term is the sum of its
// paths' strengths, so each path contributes its strength.
void SplitDefaultTerms(RecState* st, const std::vector<uint32_t>& logged, ResultContributions* out) {
  for (size_t i = 0; i < logged.size(); ++i) {
    const LoggedPath& p = st->path_log[logged[i]];
    const std::string& name = st->rec->source_names[p.rec.source];
    for (size_t t = 0; t < out->terms.size(); ++t) {
      if (out->terms[t].name != name) continue;
      out->decomposed[t] = true;
      ++out->term_paths[t];
      out->paths[i].feeds_term = true;
      out->paths[i].terms.emplace_back(static_cast<int>(t), p.rec.strength);
    }
  }
}

}  // namespace

ResultContributions ContributionsOf(RecState* st, uint32_t c, const std::vector<uint32_t>& logged) {
  const RecommendPlan& rec = *st->rec;
  ResultContributions out;
  out.terms = ScoreTerms(st, c);
  out.decomposed.assign(out.terms.size(), false);
  out.term_paths.assign(out.terms.size(), 0);
  out.paths.resize(logged.size());
  for (size_t i = 0; i < logged.size(); ++i) out.paths[i].log = logged[i];
  if (rec.terms.empty()) {
    SplitDefaultTerms(st, logged, &out);
  } else {
    for (size_t t = 0; t < rec.terms.size(); ++t) {
      const std::vector<size_t>& aggs = rec.terms[t].aggs;
      if (aggs.size() == 1 && rec.aggs[aggs[0]].fn != AggFn::kCollect) {
        SplitTerm(st, c, t, aggs[0], logged, &out);
      }
    }
  }
  for (PathContribution& p : out.paths) {
    double best = -1;
    for (const auto& [t, value] : p.terms) {
      p.total += value;
      if (std::fabs(value) > best) {
        best = std::fabs(value);
        p.main_term = t;
      }
    }
  }
  std::stable_sort(out.paths.begin(), out.paths.end(),
                   [](const PathContribution& a, const PathContribution& b) {
                     if (a.feeds_term != b.feeds_term) return a.feeds_term;
                     return std::fabs(a.total) > std::fabs(b.total);
                   });
  return out;
}

}  // namespace pathwise::query
