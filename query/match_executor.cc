// The MATCH operators (match_ops.h).
#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include "query/expr_eval.h"
#include "query/match_ops.h"
#include "query/pattern_exec.h"
#include "query/reclaimer.h"

namespace pathwise::query {

// Tables of at least this many bytes are freed by the Reclaimer.
constexpr size_t kReclaimBytes = size_t{1} << 20;

void DiscardTable(MatchState* st, RowTable* t) {
  st->Credit(t->bytes());
  if (st->reclaimer != nullptr && t->bytes() >= kReclaimBytes) {
    st->reclaimer->Dispose(std::move(*t));
  }
  *t = RowTable();
}

namespace {

Status TooManyRows() {
  return Status::ResourceExhausted("intermediate result exceeds " +
                                   std::to_string(kMaxIntermediateRows) + " rows");
}

}  // namespace

EvalEnv Env(MatchState* st, const Slot* row) {
  EvalEnv env;
  env.st = st;
  env.row = row;
  return env;
}

Status Append(MatchState* st, RowTable* out, const Slot* row) {
  if (out->rows() >= kMaxIntermediateRows) return TooManyRows();
  if (size_t grow = out->BytesToGrow(); grow != 0 && !st->Charge(grow)) return st->error;
  out->Append(row);
  return Status::OK();
}

RowTable& NewTable(MatchState* st) {
  DiscardTable(st, &st->building);
  st->building = RowTable(st->width);
  return st->building;
}

void Publish(MatchState* st, RowTable* out, OpCounts* counts) {
  std::swap(st->table, *out);
  st->rows = st->table.rows();
  counts->rows_out = st->rows;
  DiscardTable(st, out);
}

namespace {

// Approximate bytes of one value row (the vector and the values' payloads).
size_t RowBytes(const std::vector<RtValue>& row) {
  size_t bytes = sizeof(row) + row.capacity() * sizeof(RtValue);
  for (const RtValue& v : row) bytes += ApproxPayloadBytes(v);
  return bytes;
}

// One output row: the RETURN items, then the extra ORDER BY keys that are not among them.
std::vector<RtValue> ProjectRow(const std::vector<BoundExprPtr>& items,
                                const std::vector<BoundExprPtr>& extra, const EvalEnv& env) {
  std::vector<RtValue> out;
  out.reserve(items.size() + extra.size());
  for (const auto& item : items) out.push_back(Eval(*item, env));
  for (const auto& key : extra) out.push_back(Eval(*key, env));
  return out;
}

class StartOp : public MatchOp {
 public:
  StartOp(std::string name, NodeSpec spec, const BoundExpr* lookup, BoundExprPtr answered)
      : MatchOp(std::move(name)),
        spec_(std::move(spec)),
        lookup_(lookup),
        answered_(std::move(answered)) {}

 protected:
  Status Execute(MatchState* st, OpCounts* counts) const override {
    counts->rows_in = st->rows;
    // An id lookup reading earlier clauses' variables (UNWIND $ids AS id MATCH (m {id: id}))
    // looks up per row; otherwise the candidates are the same for every row.
    const bool per_row = lookup_ != nullptr && lookup_->slots != 0;
    std::vector<Slot> empty(st->width);
    std::vector<NodeId> nodes = per_row ? std::vector<NodeId>() : Candidates(st, empty.data());
    if (!st->Charge(nodes.capacity() * sizeof(NodeId))) return st->error;
    RowTable& out = NewTable(st);
    std::vector<Slot> row(st->width);
    for (size_t r = 0; r < st->rows; ++r) {
      if (per_row) nodes = Candidates(st, st->table.Row(r));
      for (NodeId node : nodes) {
        if (!st->Tick()) return st->error;
        std::copy_n(st->table.Row(r), st->width, row.begin());
        row[spec_.slot].node = node;
        if (!NodeMatches(spec_, node, Env(st, row.data()))) continue;
        PW_RETURN_IF_ERROR(Append(st, &out, row.data()));
      }
    }
    Publish(st, &out, counts);
    if (!per_row) st->Credit(nodes.capacity() * sizeof(NodeId));
    return st->error;
  }

 private:
  std::vector<NodeId> Candidates(MatchState* st, const Slot* row) const {
    const graph::Graph& g = *st->graph;
    std::vector<NodeId> nodes;
    if (lookup_ != nullptr) {
      RtValue v = Eval(*lookup_, Env(st, row));
      if (answered_ != nullptr && !LookupAnswers(*answered_, v)) return nodes;
      auto add = [&](const RtValue& key) {
        if (!key.IsString()) return;
        if (spec_.type != kInvalidType) {
          NodeId id = g.Lookup(spec_.type, key.AsString());
          if (id != kInvalidNode) nodes.push_back(id);
          return;
        }
        for (const NodeTypeDef& def : st->schema->node_types()) {
          NodeId id = g.Lookup(def.id, key.AsString());
          if (id != kInvalidNode) nodes.push_back(id);
        }
      };
      if (v.IsList()) {
        if (spec_.type != kInvalidType) {
          LookupList(g, v.AsList(), &nodes);
        } else {
          for (const RtValue& item : v.AsList()) add(item);
        }
        std::sort(nodes.begin(), nodes.end());
        nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
        g.Prefetch(nodes);  // the rows' properties are read next (an item query's projection)
      } else {
        add(v);
      }
      return nodes;
    }
    if (spec_.type != kInvalidType) return g.NodesOfType(spec_.type);
    for (const NodeTypeDef& def : st->schema->node_types()) {
      std::vector<NodeId> of_type = g.NodesOfType(def.id);
      nodes.insert(nodes.end(), of_type.begin(), of_type.end());
    }
    return nodes;
  }

  // The nodes of spec_'s type whose keys are the strings of list, in one dictionary read.
  void LookupList(const graph::Graph& g, const RtList& list,
                  std::vector<NodeId>* nodes) const {
    std::vector<std::string_view> keys;
    keys.reserve(list.size());
    for (const RtValue& item : list) {
      if (item.IsString()) keys.push_back(item.AsString());
    }
    std::vector<NodeId> found(keys.size());
    g.LookupMany(spec_.type, keys, found.data());
    for (NodeId id : found) {
      if (id != kInvalidNode) nodes->push_back(id);
    }
  }

  // Whether the nodes looked up for v are those for which the conjunct is true: `x.id IN v`
  // only when v is a list (else it is null or false for every node), `x.id = v` unless v is a
  // list (a list never equals an id).
  static bool LookupAnswers(const BoundExpr& conjunct, const RtValue& v) {
    return conjunct.kind == BK::kIn ? v.IsList() : !v.IsList();
  }

  NodeSpec spec_;
  const BoundExpr* lookup_;  // a node's {id: ...} (in spec_) or answered_'s e
  BoundExprPtr answered_;    // the WHERE conjunct the lookup came from, or null
};

class ExpandOp : public MatchOp {
 public:
  ExpandOp(std::string name, ExpandSpec x) : MatchOp(std::move(name)), x_(std::move(x)) {}

 protected:
  Status Execute(MatchState* st, OpCounts* counts) const override {
    counts->rows_in = st->rows;
    RowTable& out = NewTable(st);
    std::vector<Slot> row(st->width);
    std::vector<Step> steps;
    for (size_t r = 0; r < st->rows; ++r) {
      const Slot* in = st->table.Row(r);
      NodeId from = in[x_.from_slot].node;
      if (from == kInvalidNode) continue;
      if (HopNeighbors(*st, x_.hop, from, x_.reverse, x_.hop.cap, &steps)) st->hops_truncated = true;
      if (!st->Tick(static_cast<uint32_t>(std::min<size_t>(steps.size(), UINT32_MAX)))) {
        return st->error;
      }
      for (const Step& step : steps) {
        if (!st->Tick()) return st->error;
        NodeId to = step.nb.node;
        if (x_.to_bound && in[x_.spec.slot].node != to) continue;
        Slot edge = EdgeSlot(from, step);
        if (EdgeReused(*st, in, x_.earlier_edges, edge)) continue;
        std::copy_n(in, st->width, row.begin());
        row[x_.spec.slot].node = to;
        if (x_.hop.slot >= 0) row[x_.hop.slot] = edge;
        if (x_.spec.HasFilter() && !NodeMatches(x_.spec, to, Env(st, row.data()))) continue;
        PW_RETURN_IF_ERROR(Append(st, &out, row.data()));
      }
    }
    Publish(st, &out, counts);
    return st->error;
  }

 private:
  ExpandSpec x_;
};

class NodeCheckOp : public MatchOp {
 public:
  NodeCheckOp(std::string name, NodeSpec spec) : MatchOp(std::move(name)), spec_(std::move(spec)) {}

 protected:
  Status Execute(MatchState* st, OpCounts* counts) const override {
    counts->rows_in = st->rows;
    RowTable& out = NewTable(st);
    for (size_t r = 0; r < st->rows; ++r) {
      if (!st->Tick()) return st->error;
      const Slot* row = st->table.Row(r);
      NodeId node = row[spec_.slot].node;
      if (node == kInvalidNode || !NodeMatches(spec_, node, Env(st, row))) continue;
      PW_RETURN_IF_ERROR(Append(st, &out, row));
    }
    Publish(st, &out, counts);
    return st->error;
  }

 private:
  NodeSpec spec_;
};

class FilterOp : public MatchOp {
 public:
  FilterOp(std::string name, std::vector<BoundExprPtr> conjuncts)
      : MatchOp(std::move(name)), conjuncts_(std::move(conjuncts)) {}

 protected:
  Status Execute(MatchState* st, OpCounts* counts) const override {
    counts->rows_in = st->rows;
    RowTable& out = NewTable(st);
    for (size_t r = 0; r < st->rows; ++r) {
      if (!st->Tick()) return st->error;
      const Slot* row = st->table.Row(r);
      bool keep = true;
      for (const auto& c : conjuncts_) {
        if (!EvalPredicate(*c, Env(st, row))) {
          keep = false;
          break;
        }
      }
      if (keep) PW_RETURN_IF_ERROR(Append(st, &out, row));
    }
    Publish(st, &out, counts);
    return st->error;
  }

 private:
  std::vector<BoundExprPtr> conjuncts_;
};

class ProjectOp : public MatchOp {
 public:
  ProjectOp(std::vector<BoundExprPtr> items, std::vector<BoundExprPtr> extra)
      : MatchOp("Project"), items_(std::move(items)), extra_(std::move(extra)) {}

 protected:
  Status Execute(MatchState* st, OpCounts* counts) const override {
    counts->rows_in = st->rows;
    st->values.clear();
    if (!st->Charge(st->rows * sizeof(std::vector<RtValue>))) return st->error;
    st->values.reserve(st->rows);
    for (size_t r = 0; r < st->rows; ++r) {
      if (!st->Tick()) return st->error;
      EvalEnv env = Env(st, st->table.Row(r));
      st->values.push_back(ProjectRow(items_, extra_, env));
      if (!st->Charge(RowBytes(st->values.back()) - sizeof(std::vector<RtValue>))) {
        return st->error;
      }
    }
    counts->rows_out = st->values.size();
    return st->error;
  }

 private:
  std::vector<BoundExprPtr> items_;
  std::vector<BoundExprPtr> extra_;
};

// One aggregate's running state over a group's rows.
struct Accumulator {
  int64_t count = 0;
  int64_t numbers = 0;  // numeric values seen (the divisor of avg)
  int64_t int_sum = 0;
  double double_sum = 0;
  bool is_double = false;
  RtValue best;
  RtList collected;  // collect(); the numbers of percentileCont/Disc
  double mean = 0, m2 = 0;  // stDev, stDevP: Welford's running mean and sum of squared deviations
  std::unique_ptr<std::unordered_set<std::string>> seen;  // DISTINCT

  // Folds v in; returns the approximate bytes newly held (DISTINCT keys, collected values).
  size_t Add(const AggSpec& spec, const RtValue& v) {
    if (spec.fn == AggFn::kCountStar) {
      ++count;
      return 0;
    }
    if (v.IsNull()) return 0;
    size_t held = 0;
    if (spec.distinct) {
      if (!seen) seen = std::make_unique<std::unordered_set<std::string>>();
      std::string key;
      AppendKey(v, &key);
      held += 64 + key.size();
      if (!seen->insert(std::move(key)).second) return 0;
    }
    ++count;
    switch (spec.fn) {
      case AggFn::kSum:
      case AggFn::kAvg:
        if (!v.IsNumber()) return held;  // sum and avg ignore non-numbers, like RECOMMEND's
        ++numbers;
        double_sum += v.AsDouble();
        if (v.IsDouble() || __builtin_add_overflow(int_sum, v.IsInt() ? v.AsInt() : 0, &int_sum)) {
          is_double = true;
        }
        return held;
      case AggFn::kMin:
        if (best.IsNull() || TotalOrder(v, best) < 0) best = v;
        return held;
      case AggFn::kMax:
        if (best.IsNull() || TotalOrder(v, best) > 0) best = v;
        return held;
      case AggFn::kCollect:
        collected.push_back(v);
        return held + sizeof(RtValue) + ApproxPayloadBytes(v);
      case AggFn::kPercentileCont:
      case AggFn::kPercentileDisc:
        if (!v.IsNumber()) return held;
        collected.push_back(v);
        return held + sizeof(RtValue);
      case AggFn::kStDev:
      case AggFn::kStDevP: {
        if (!v.IsNumber()) return held;
        ++numbers;
        double delta = v.AsDouble() - mean;
        mean += delta / static_cast<double>(numbers);
        m2 += delta * (v.AsDouble() - mean);
        return held;
      }
      default: return held;
    }
  }

  // REQUIRES: 0 <= percentile <= 1. Sorts the collected numbers.
  RtValue Percentile(bool continuous, double percentile) {
    if (collected.empty()) return RtValue();
    std::sort(collected.begin(), collected.end(),
              [](const RtValue& a, const RtValue& b) { return a.AsDouble() < b.AsDouble(); });
    double n = static_cast<double>(collected.size());
    if (!continuous) {  // nearest rank, as Neo4j: the first value with at least p of them <= it
      double rank = std::ceil(percentile * n);
      return collected[rank < 1 ? 0 : static_cast<size_t>(rank) - 1];
    }
    double at = percentile * (n - 1);
    size_t lo = static_cast<size_t>(std::floor(at)), hi = static_cast<size_t>(std::ceil(at));
    double low = collected[lo].AsDouble(), high = collected[hi].AsDouble();
    return RtValue(lo == hi ? low : low + (high - low) * (at - static_cast<double>(lo)));
  }

  RtValue StandardDeviation(bool sample) const {
    int64_t divisor = sample ? numbers - 1 : numbers;
    if (divisor <= 0) return RtValue(0.0);
    return RtValue(std::sqrt(m2 / static_cast<double>(divisor)));
  }

  // percentile: percentileCont/Disc's, checked by the caller.
  RtValue Finish(const AggSpec& spec, double percentile) {
    switch (spec.fn) {
      case AggFn::kCountStar:
      case AggFn::kCount: return RtValue(count);
      case AggFn::kSum: return is_double ? RtValue(double_sum) : RtValue(int_sum);
      case AggFn::kAvg:
        return numbers == 0 ? RtValue() : RtValue(double_sum / static_cast<double>(numbers));
      case AggFn::kMin:
      case AggFn::kMax: return best;
      case AggFn::kCollect: return MakeList(collected);
      case AggFn::kPercentileCont:
      case AggFn::kPercentileDisc: return Percentile(spec.fn == AggFn::kPercentileCont, percentile);
      case AggFn::kStDev:
      case AggFn::kStDevP: return StandardDeviation(spec.fn == AggFn::kStDev);
    }
    return RtValue();
  }
};

// The percentile argument of each aggregate in specs (0 where there is none); an error unless
// it is a number in [0, 1].
Result<std::vector<double>> Percentiles(const AggSpec* specs, size_t count, MatchState* st) {
  std::vector<double> out(count, 0);
  std::vector<Slot> null_row(st->width);
  for (size_t a = 0; a < count; ++a) {
    if (!specs[a].param) continue;
    RtValue p = Eval(*specs[a].param, Env(st, null_row.data()));
    if (!p.IsNumber() || !(p.AsDouble() >= 0 && p.AsDouble() <= 1)) {
      const ast::Position& pos = specs[a].param->pos;
      return Status::InvalidArgument(specs[a].text + ": the percentile must be a number from 0.0 "
                                     "to 1.0, got " + ToJson(p, nullptr, nullptr).dump())
          .WithPosition(pos.line, pos.column);
    }
    out[a] = p.AsDouble();
  }
  return out;
}

class AggregateOp : public MatchOp {
 public:
  AggregateOp(std::vector<BoundExprPtr> items, std::vector<bool> is_key,
              std::vector<BoundExprPtr> extra, size_t first_agg, size_t agg_count)
      : MatchOp("Aggregate"),
        items_(std::move(items)),
        is_key_(std::move(is_key)),
        extra_(std::move(extra)),
        first_agg_(first_agg),
        agg_count_(agg_count) {}

 protected:
  Status Execute(MatchState* st, OpCounts* counts) const override {
    counts->rows_in = st->rows;
    // This projection's aggregates; kAggRef indexes Plan::match_aggs, so results are laid out
    // at their plan index (the slots of other projections' aggregates stay null).
    const AggSpec* specs = st->plan->match_aggs.data() + first_agg_;
    PW_ASSIGN_OR_RETURN(std::vector<double> percentiles, Percentiles(specs, agg_count_, st));
    bool has_keys = std::find(is_key_.begin(), is_key_.end(), true) != is_key_.end();
    struct Group {
      size_t first_row;
      std::vector<Accumulator> accs;
    };
    std::vector<Group> groups;
    std::unordered_map<std::string, size_t> index;
    std::string key;
    for (size_t r = 0; r < st->rows; ++r) {
      if (!st->Tick()) return st->error;
      EvalEnv env = Env(st, st->table.Row(r));
      key.clear();
      for (size_t i = 0; i < items_.size(); ++i) {
        if (is_key_[i]) AppendKey(Eval(*items_[i], env), &key);
      }
      auto [it, inserted] = index.emplace(key, groups.size());
      if (inserted) {
        groups.push_back(Group{r, std::vector<Accumulator>(agg_count_)});
        if (!st->Charge(kGroupBytes + 2 * key.size() + agg_count_ * sizeof(Accumulator))) {
          return st->error;
        }
      }
      Group& g = groups[it->second];
      for (size_t a = 0; a < agg_count_; ++a) {
        RtValue v = specs[a].arg ? Eval(*specs[a].arg, env) : RtValue();
        size_t held = g.accs[a].Add(specs[a], v);
        if (held != 0 && !st->Charge(held)) return st->error;
      }
    }
    if (groups.empty() && !has_keys) {
      groups.push_back(Group{SIZE_MAX, std::vector<Accumulator>(agg_count_)});
    }
    std::vector<Slot> null_row(st->width);
    st->values.clear();
    std::vector<RtValue> results(st->plan->match_aggs.size());
    for (Group& g : groups) {
      if (!st->Tick()) return st->error;
      for (size_t a = 0; a < agg_count_; ++a) {
        results[first_agg_ + a] = g.accs[a].Finish(specs[a], percentiles[a]);
      }
      EvalEnv env = Env(st, g.first_row == SIZE_MAX ? null_row.data()
                                                    : st->table.Row(g.first_row));
      env.aggs = results.data();
      st->values.push_back(ProjectRow(items_, extra_, env));
      if (!st->Charge(RowBytes(st->values.back()))) return st->error;
    }
    counts->rows_out = st->values.size();
    return st->error;
  }

 private:
  // A group's fixed cost: the Group, its hash-index node and key string headers.
  static constexpr size_t kGroupBytes = 128;
  std::vector<BoundExprPtr> items_;
  std::vector<bool> is_key_;
  std::vector<BoundExprPtr> extra_;
  size_t first_agg_;
  size_t agg_count_;
};

class DistinctOp : public MatchOp {
 public:
  explicit DistinctOp(size_t columns) : MatchOp("Distinct"), columns_(columns) {}

 protected:
  Status Execute(MatchState* st, OpCounts* counts) const override {
    counts->rows_in = st->values.size();
    std::unordered_set<std::string> seen;
    std::vector<std::vector<RtValue>> out;
    for (auto& row : st->values) {
      if (!st->Tick()) return st->error;
      std::string key;
      for (size_t i = 0; i < columns_; ++i) AppendKey(row[i], &key);
      if (!st->Charge(64 + key.size())) return st->error;
      if (seen.insert(std::move(key)).second) out.push_back(std::move(row));
    }
    st->values.swap(out);
    counts->rows_out = st->values.size();
    return st->error;
  }

 private:
  size_t columns_;
};

class SortOp : public MatchOp {
 public:
  explicit SortOp(std::vector<std::pair<size_t, bool>> keys) : MatchOp("Sort"), keys_(std::move(keys)) {}

 protected:
  Status Execute(MatchState* st, OpCounts* counts) const override {
    counts->rows_in = st->values.size();
    // stable_sort's buffer: half the rows' headers.
    if (!st->Charge(st->values.size() / 2 * sizeof(std::vector<RtValue>))) return st->error;
    // The comparator counts work; a passed deadline unwinds the sort (the rows stay valid).
    struct Stop {};
    try {
      std::stable_sort(st->values.begin(), st->values.end(),
                       [&](const std::vector<RtValue>& a, const std::vector<RtValue>& b) {
                         if (!st->Tick()) throw Stop{};
                         for (const auto& [column, descending] : keys_) {
                           int c = TotalOrder(a[column], b[column]);
                           if (c != 0) return descending ? c > 0 : c < 0;
                         }
                         return false;
                       });
    } catch (const Stop&) {
      return st->error;
    }
    counts->rows_out = st->values.size();
    return st->error;
  }

 private:
  std::vector<std::pair<size_t, bool>> keys_;
};

Result<size_t> Count(const BoundExpr* e, MatchState* st, const char* what) {
  if (e == nullptr) return SIZE_MAX;
  std::vector<Slot> empty(st->width);
  RtValue v = Eval(*e, Env(st, empty.data()));
  if (!v.IsInt() || v.AsInt() < 0) {
    return Status::InvalidArgument(std::string(what) + " must be a non-negative integer")
        .WithPosition(e->pos.line, e->pos.column);
  }
  return static_cast<size_t>(v.AsInt());
}

class SkipLimitOp : public MatchOp {
 public:
  SkipLimitOp(BoundExprPtr skip, BoundExprPtr limit)
      : MatchOp("SkipLimit"), skip_(std::move(skip)), limit_(std::move(limit)) {}

 protected:
  Status Execute(MatchState* st, OpCounts* counts) const override {
    counts->rows_in = st->values.size();
    PW_ASSIGN_OR_RETURN(size_t skip, Count(skip_.get(), st, "SKIP"));
    PW_ASSIGN_OR_RETURN(size_t limit, Count(limit_.get(), st, "LIMIT"));
    if (skip == SIZE_MAX) skip = 0;
    auto& v = st->values;
    if (skip >= v.size()) {
      v.clear();
    } else {
      v.erase(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(skip));
      if (limit < v.size()) v.resize(limit);
    }
    counts->rows_out = v.size();
    return Status::OK();
  }

 private:
  BoundExprPtr skip_;
  BoundExprPtr limit_;
};

}  // namespace

std::unique_ptr<MatchOp> MakeStartOp(std::string name, NodeSpec spec, const BoundExpr* lookup,
                                     BoundExprPtr answered) {
  return std::make_unique<StartOp>(std::move(name), std::move(spec), lookup, std::move(answered));
}
std::unique_ptr<MatchOp> MakeExpandOp(std::string name, ExpandSpec expand) {
  if (expand.hop.var_length) return MakeVarExpandOp(std::move(name), std::move(expand));
  return std::make_unique<ExpandOp>(std::move(name), std::move(expand));
}
std::unique_ptr<MatchOp> MakeNodeCheckOp(std::string name, NodeSpec spec) {
  return std::make_unique<NodeCheckOp>(std::move(name), std::move(spec));
}
std::unique_ptr<MatchOp> MakeFilterOp(std::string name, std::vector<BoundExprPtr> conjuncts) {
  return std::make_unique<FilterOp>(std::move(name), std::move(conjuncts));
}
std::unique_ptr<MatchOp> MakeProjectOp(std::vector<BoundExprPtr> items,
                                       std::vector<BoundExprPtr> extra) {
  return std::make_unique<ProjectOp>(std::move(items), std::move(extra));
}
std::unique_ptr<MatchOp> MakeAggregateOp(std::vector<BoundExprPtr> items, std::vector<bool> is_key,
                                         std::vector<BoundExprPtr> extra, size_t first_agg,
                                         size_t agg_count) {
  return std::make_unique<AggregateOp>(std::move(items), std::move(is_key), std::move(extra),
                                       first_agg, agg_count);
}
std::unique_ptr<MatchOp> MakeDistinctOp(size_t columns) {
  return std::make_unique<DistinctOp>(columns);
}
std::unique_ptr<MatchOp> MakeSortOp(std::vector<std::pair<size_t, bool>> columns) {
  return std::make_unique<SortOp>(std::move(columns));
}
std::unique_ptr<MatchOp> MakeSkipLimitOp(BoundExprPtr skip, BoundExprPtr limit) {
  return std::make_unique<SkipLimitOp>(std::move(skip), std::move(limit));
}

}  // namespace pathwise::query
