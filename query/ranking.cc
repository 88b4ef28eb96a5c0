// RECOMMEND ranking: SCORE per eligible candidate, top-k selection (score descending, null
// scores last, ties by NodeId), DIVERSIFY (greedy per-value caps, maximal marginal relevance)
// and LIMIT/OFFSET.
#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "query/expr_eval.h"
#include "query/rank_sources.h"
#include "query/recommend_exec.h"

namespace pathwise::query {

namespace {

RtValue Negate(const RtValue& v) {
  if (v.IsInt() && v.AsInt() != std::numeric_limits<int64_t>::min()) return RtValue(-v.AsInt());
  if (v.IsNumber()) return RtValue(-v.AsDouble());
  return RtValue();
}

double ToScore(const RtValue& v) {
  if (!v.IsNumber()) return std::nan("");
  return v.AsDouble();
}

}  // namespace

double ScoreOf(RecState* st, uint32_t c) {
  const RecommendPlan& rec = *st->rec;
  const size_t n = st->num_sources();
  if (rec.terms.empty()) {
    double score = 0;
    for (size_t s = 0; s < n; ++s) {
      if (st->masks[c] >> s & 1) score += st->source_values[c * n + s];
    }
    return score;
  }
  EvalEnv env = st->CandidateEnv(c);
  RtValue acc;
  for (size_t i = 0; i < rec.terms.size(); ++i) {
    RtValue v = Eval(*rec.terms[i].expr, env);
    acc = i == 0 ? v : Arith(rec.terms[i].op, acc, v);
  }
  return ToScore(acc);
}

std::vector<TermValue> ScoreTerms(RecState* st, uint32_t c) {
  const RecommendPlan& rec = *st->rec;
  std::vector<TermValue> out;
  const size_t n = st->num_sources();
  if (rec.terms.empty()) {
    for (size_t s = 0; s < n; ++s) {
      if ((st->masks[c] >> s & 1) == 0) continue;
      bool nearest = s < rec.source_names.size() &&
                     std::any_of(rec.nearest_sources.begin(), rec.nearest_sources.end(),
                                 [&](const NearestSourcePlan& p) { return p.bit == static_cast<int>(s); });
      const RankSourcePlan* rank = RankSourceOf(rec, static_cast<int>(s));
      std::string what = rank      ? RankScoreLabel(rank->algorithm)
                         : nearest ? "similarity"
                                   : "sum of path weight products";
      out.push_back({rec.source_names[s] + ": " + what, rec.source_names[s],
                     what + " (" + rec.source_names[s] + ")", RtValue(st->source_values[c * n + s])});
    }
    return out;
  }
  EvalEnv env = st->CandidateEnv(c);
  for (const ScoreTerm& term : rec.terms) {
    RtValue v = Eval(*term.expr, env);
    out.push_back({term.text, term.name, term.label, term.op == '-' ? Negate(v) : v});
  }
  return out;
}

namespace {

bool Better(const RecState& st, uint32_t a, uint32_t b) {
  double x = st.scores[a], y = st.scores[b];
  bool nx = std::isnan(x), ny = std::isnan(y);
  if (nx != ny) return ny;
  if (!nx && x != y) return x > y;
  return st.nodes[a] < st.nodes[b];
}

Result<size_t> NonNegative(const BoundExpr* e, RecState* st, size_t fallback, const char* what) {
  if (e == nullptr) return fallback;
  EvalEnv env;
  env.st = st;
  env.row = st->row.data();
  RtValue v = Eval(*e, env);
  if (!v.IsInt() || v.AsInt() < 0) {
    return Status::InvalidArgument(std::string(what) + " must be a non-negative integer")
        .WithPosition(e->pos.line, e->pos.column);
  }
  return static_cast<size_t>(v.AsInt());
}

// VectorIndex::Prefetch of the stored vectors SCORE's similarity(c.space, ...) will read: the
// survivors', except those whose value a NEAREST source already computed.
void PrefetchScoreVectors(RecState* st) {
  if (st->vectors == nullptr) return;
  std::vector<NodeId> nodes;
  for (const RecommendPlan::ScoreVector& sv : st->rec->score_vectors) {
    const vector::VectorIndex* index = st->vectors->Get(sv.space);
    if (index == nullptr) continue;
    nodes.clear();
    for (uint32_t c : st->survivors) {
      if (sv.reused_bit < 0 || (st->masks[c] >> sv.reused_bit & 1) == 0) nodes.push_back(st->nodes[c]);
    }
    index->Prefetch(nodes);
  }
}

class ScoreOp : public RecOp {
 public:
  ScoreOp() : RecOp("Score") {}

 protected:
  Status Execute(RecState* st, OpCounts* counts) const override {
    counts->rows_in = st->survivors.size();
    st->scores.assign(st->nodes.size(), std::nan(""));
    // Filter prefetched every candidate it checked (eligibility.cc); the survivors it passed
    // over (checked during retrieval) are fetched here.
    std::vector<uint32_t> unfetched;
    for (uint32_t c : st->survivors) {
      if (st->prechecked[c]) unfetched.push_back(c);
    }
    PrefetchCandidates(st, unfetched);
    PrefetchScoreVectors(st);
    for (uint32_t c : st->survivors) {
      if (!st->Tick()) return st->error;
      st->scores[c] = ScoreOf(st, c);
    }
    counts->rows_out = st->survivors.size();
    return st->error;
  }
};

class TopKOp : public RecOp {
 public:
  TopKOp() : RecOp("TopK") {}

 protected:
  Status Execute(RecState* st, OpCounts* counts) const override {
    const RecommendPlan& rec = *st->rec;
    PW_ASSIGN_OR_RETURN(st->limit, NonNegative(rec.limit.get(), st, 100, "LIMIT"));
    PW_ASSIGN_OR_RETURN(st->offset, NonNegative(rec.offset.get(), st, 0, "OFFSET"));
    counts->rows_in = st->survivors.size();
    std::vector<uint32_t>& ranked = st->ranked;
    ranked = st->survivors;
    auto better = [st](uint32_t a, uint32_t b) { return Better(*st, a, b); };
    bool diversify = rec.diversify_by || rec.mmr_lambda;
    size_t need = st->offset + st->limit;
    if (need < st->offset) need = SIZE_MAX;  // overflow
    if (!diversify && need < ranked.size()) {
      std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(need),
                        ranked.end(), better);
      ranked.resize(need);
    } else {
      std::sort(ranked.begin(), ranked.end(), better);
    }
    counts->rows_out = ranked.size();
    return Status::OK();
  }
};

void AppendKeys(const RtValue& v, std::vector<std::string>* keys) {
  keys->clear();
  if (v.IsNull()) return;
  if (v.IsList()) {
    for (const RtValue& item : v.AsList()) {
      if (item.IsNull()) continue;
      keys->emplace_back();
      AppendKey(item, &keys->back());
    }
    return;
  }
  keys->emplace_back();
  AppendKey(v, &keys->back());
}

class DiversifyOp : public RecOp {
 public:
  DiversifyOp() : RecOp("Diversify") {}

 protected:
  Status Execute(RecState* st, OpCounts* counts) const override {
    const RecommendPlan& rec = *st->rec;
    counts->rows_in = st->ranked.size();
    size_t need = st->offset + st->limit;
    if (need < st->offset) need = SIZE_MAX;
    size_t max_per_value = SIZE_MAX;
    if (rec.diversify_by) {
      PW_ASSIGN_OR_RETURN(max_per_value, NonNegative(rec.diversify_max.get(), st, 1, "DIVERSIFY MAX"));
    }
    // Per-candidate bucket keys (only when BY is given).
    std::unordered_map<std::string, size_t> used;
    std::vector<std::string> keys;
    auto admissible = [&](uint32_t c, bool take) {
      if (!rec.diversify_by) return true;
      EvalEnv env = st->CandidateEnv(c);
      AppendKeys(Eval(*rec.diversify_by, env), &keys);
      for (const std::string& k : keys) {
        auto it = used.find(k);
        if (it != used.end() && it->second >= max_per_value) return false;
      }
      if (take) {
        for (const std::string& k : keys) ++used[k];
      }
      return true;
    };
    std::vector<uint32_t> out;
    if (!rec.mmr_lambda) {
      for (uint32_t c : st->ranked) {
        if (out.size() >= need || !st->Tick()) break;
        if (admissible(c, true)) out.push_back(c);
      }
    } else {
      PW_RETURN_IF_ERROR(Mmr(st, need, admissible, &out));
    }
    PW_RETURN_IF_ERROR(st->error);
    st->ranked.swap(out);
    counts->rows_out = st->ranked.size();
    return Status::OK();
  }

 private:
  template <typename Admissible>
  static Status Mmr(RecState* st, size_t need, Admissible& admissible, std::vector<uint32_t>* out) {
    const RecommendPlan& rec = *st->rec;
    const double lambda = *rec.mmr_lambda;
    const vector::VectorIndex* index = st->vectors ? st->vectors->Get(rec.mmr_space) : nullptr;
    size_t pool_size = std::min(st->ranked.size(), std::max<size_t>(std::min(need, SIZE_MAX / 8) * 4, 100));
    std::vector<uint32_t> pool(st->ranked.begin(), st->ranked.begin() + static_cast<std::ptrdiff_t>(pool_size));
    std::vector<std::vector<float>> vecs(pool.size());
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < pool.size(); ++i) {
      if (index != nullptr) {
        auto v = index->Get(st->nodes[pool[i]]);
        if (v.ok()) vecs[i] = std::move(v).value();
      }
      double s = st->scores[pool[i]];
      if (!std::isnan(s)) {
        lo = std::min(lo, s);
        hi = std::max(hi, s);
      }
    }
    auto relevance = [&](size_t i) {
      double s = st->scores[pool[i]];
      if (std::isnan(s)) return 0.0;
      return hi > lo ? (s - lo) / (hi - lo) : 1.0;
    };
    std::vector<double> max_sim(pool.size(), 0.0);
    std::vector<bool> taken(pool.size(), false);
    bool any_selected = false;
    while (out->size() < need) {
      if (!st->Tick()) return st->error;
      size_t best = SIZE_MAX;
      double best_value = 0;
      for (size_t i = 0; i < pool.size(); ++i) {
        if (taken[i]) continue;
        double value = lambda * relevance(i) - (1 - lambda) * (any_selected ? max_sim[i] : 0.0);
        if (best == SIZE_MAX || value > best_value) {
          if (!admissible(pool[i], false)) continue;
          best = i;
          best_value = value;
        }
      }
      if (best == SIZE_MAX) break;
      taken[best] = true;
      admissible(pool[best], true);
      out->push_back(pool[best]);
      any_selected = true;
      for (size_t i = 0; i < pool.size(); ++i) {
        if (taken[i] || vecs[i].empty() || vecs[best].empty()) continue;
        double sim = index->Similarity(vecs[i], vecs[best]);
        max_sim[i] = std::max(max_sim[i], sim);
      }
    }
    return Status::OK();
  }
};

class LimitOp : public RecOp {
 public:
  LimitOp() : RecOp("Limit") {}

 protected:
  Status Execute(RecState* st, OpCounts* counts) const override {
    auto& ranked = st->ranked;
    counts->rows_in = ranked.size();
    if (st->offset >= ranked.size()) {
      ranked.clear();
    } else {
      ranked.erase(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(st->offset));
      if (st->limit < ranked.size()) ranked.resize(st->limit);
    }
    counts->rows_out = ranked.size();
    if (ranked.size() > st->max_rows) {
      return Status::ResourceExhausted("result has " + std::to_string(ranked.size()) +
                                       " rows, more than max_rows " + std::to_string(st->max_rows));
    }
    return Status::OK();
  }
};

}  // namespace

std::unique_ptr<RecOp> MakeScoreOp() { return std::make_unique<ScoreOp>(); }
std::unique_ptr<RecOp> MakeTopKOp() { return std::make_unique<TopKOp>(); }
std::unique_ptr<RecOp> MakeDiversifyOp() { return std::make_unique<DiversifyOp>(); }
std::unique_ptr<RecOp> MakeLimitOp() { return std::make_unique<LimitOp>(); }

}  // namespace pathwise::query
