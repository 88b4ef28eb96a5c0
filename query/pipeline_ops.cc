// The clause-pipeline operators (match_ops.h): UNWIND, WITH's rebinding, OPTIONAL MATCH, UNION.
#include <algorithm>

#include "query/expr_eval.h"
#include "query/match_ops.h"

namespace pathwise::query {

bool StoreValue(MatchState* st, const RtValue& v, Slot* slot) {
  *slot = Slot();
  if (v.IsNull()) return true;
  if (!st->Charge(sizeof(RtValue) + ApproxPayloadBytes(v))) return false;
  slot->node = 0;
  slot->type = kValueSlotType;
  slot->ts = static_cast<int64_t>(st->slot_values.size());
  st->slot_values.push_back(v);
  return true;
}

namespace {

class UnwindOp : public MatchOp {
 public:
  UnwindOp(std::string name, BoundExprPtr list, int slot)
      : MatchOp(std::move(name)), list_(std::move(list)), slot_(slot) {}

 protected:
  Status Execute(MatchState* st, OpCounts* counts) const override {
    counts->rows_in = st->rows;
    RowTable& out = NewTable(st);
    std::vector<Slot> row(st->width);
    for (size_t r = 0; r < st->rows; ++r) {
      if (!st->Tick()) return st->error;
      const Slot* in = st->table.Row(r);
      RtValue v = Eval(*list_, Env(st, in));
      if (v.IsNull()) continue;
      RtList single;
      if (!v.IsList()) single.push_back(v);
      const RtList& items = v.IsList() ? v.AsList() : single;
      for (const RtValue& item : items) {
        if (!st->Tick()) return st->error;
        std::copy_n(in, st->width, row.begin());
        if (!StoreValue(st, item, &row[slot_])) return st->error;
        PW_RETURN_IF_ERROR(Append(st, &out, row.data()));
      }
    }
    Publish(st, &out, counts);
    return st->error;
  }

 private:
  BoundExprPtr list_;
  int slot_;
};

class RebindOp : public MatchOp {
 public:
  explicit RebindOp(std::vector<RebindSlot> columns)
      : MatchOp("With"), columns_(std::move(columns)) {}

 protected:
  Status Execute(MatchState* st, OpCounts* counts) const override {
    counts->rows_in = st->values.size();
    RowTable& out = NewTable(st);
    std::vector<Slot> row(st->width);
    for (const std::vector<RtValue>& values : st->values) {
      if (!st->Tick()) return st->error;
      std::fill(row.begin(), row.end(), Slot());
      for (size_t c = 0; c < columns_.size(); ++c) {
        if (!Store(st, columns_[c], values[c], &row[columns_[c].slot])) return st->error;
      }
      PW_RETURN_IF_ERROR(Append(st, &out, row.data()));
    }
    st->values.clear();
    Publish(st, &out, counts);
    return st->error;
  }

 private:
  static bool Store(MatchState* st, const RebindSlot& column, const RtValue& v, Slot* slot) {
    *slot = Slot();
    if (column.kind == RebindSlot::kNode) {
      if (v.IsNode()) slot->node = v.AsNode();
      return true;
    }
    if (column.kind == RebindSlot::kEdge) {
      if (!v.IsEdge()) return true;
      const EdgeVal& e = v.AsEdge();
      *slot = Slot{e.src, e.dst, e.type, e.count, e.weight, e.ts};
      return true;
    }
    return StoreValue(st, v, slot);
  }

  std::vector<RebindSlot> columns_;
};

class OptionalBeginOp : public MatchOp {
 public:
  explicit OptionalBeginOp(int marker) : MatchOp("OptionalBegin"), marker_(marker) {}

 protected:
  Status Execute(MatchState* st, OpCounts* counts) const override {
    counts->rows_in = st->rows;
    RowTable& out = NewTable(st);
    RowTable kept(st->width);
    std::vector<Slot> row(st->width);
    for (size_t r = 0; r < st->rows; ++r) {
      if (!st->Tick()) return st->error;
      std::copy_n(st->table.Row(r), st->width, row.begin());
      row[marker_].node = 0;
      row[marker_].ts = static_cast<int64_t>(r);
      PW_RETURN_IF_ERROR(Append(st, &out, row.data()));
      PW_RETURN_IF_ERROR(Append(st, &kept, row.data()));
    }
    st->optional_inputs.push_back(std::move(kept));
    Publish(st, &out, counts);
    return st->error;
  }

 private:
  int marker_;
};

class OptionalEndOp : public MatchOp {
 public:
  explicit OptionalEndOp(int marker) : MatchOp("OptionalEnd"), marker_(marker) {}

 protected:
  Status Execute(MatchState* st, OpCounts* counts) const override {
    counts->rows_in = st->rows;
    RowTable input = std::move(st->optional_inputs.back());
    st->optional_inputs.pop_back();
    std::vector<bool> matched(input.rows(), false);
    if (!st->Charge(input.rows() / 8)) return st->error;
    for (size_t r = 0; r < st->rows; ++r) {
      if (!st->Tick()) return st->error;
      matched[static_cast<size_t>(st->table.Row(r)[marker_].ts)] = true;
    }
    for (size_t r = 0; r < input.rows(); ++r) {
      if (!st->Tick()) return st->error;
      if (!matched[r]) PW_RETURN_IF_ERROR(Append(st, &st->table, input.Row(r)));
    }
    st->rows = st->table.rows();
    counts->rows_out = st->rows;
    DiscardTable(st, &input);
    return st->error;
  }

 private:
  int marker_;
};

// Keeps the first `columns` values of each row (drops a part's hidden sort keys) in *out.
void AppendRows(MatchState* st, size_t columns, std::vector<std::vector<RtValue>>* out) {
  for (std::vector<RtValue>& row : st->values) {
    row.resize(columns);
    out->push_back(std::move(row));
  }
  st->values.clear();
}

class UnionPartOp : public MatchOp {
 public:
  explicit UnionPartOp(size_t columns) : MatchOp("UnionPart"), columns_(columns) {}

 protected:
  Status Execute(MatchState* st, OpCounts* counts) const override {
    counts->rows_in = st->values.size();
    AppendRows(st, columns_, &st->union_rows);
    DiscardTable(st, &st->table);
    st->table = RowTable(st->width);
    const std::vector<Slot> empty(st->width);
    PW_RETURN_IF_ERROR(Append(st, &st->table, empty.data()));
    st->rows = 1;
    counts->rows_out = st->union_rows.size();
    return st->error;
  }

 private:
  size_t columns_;
};

class UnionOp : public MatchOp {
 public:
  UnionOp(size_t columns, bool all) : MatchOp(all ? "UnionAll" : "Union"), columns_(columns) {}

 protected:
  Status Execute(MatchState* st, OpCounts* counts) const override {
    counts->rows_in = st->union_rows.size() + st->values.size();
    AppendRows(st, columns_, &st->union_rows);
    st->values.swap(st->union_rows);
    counts->rows_out = st->values.size();
    return st->error;
  }

 private:
  size_t columns_;
};

}  // namespace

std::unique_ptr<MatchOp> MakeUnionPartOp(size_t columns) {
  return std::make_unique<UnionPartOp>(columns);
}
std::unique_ptr<MatchOp> MakeUnionOp(size_t columns, bool all) {
  return std::make_unique<UnionOp>(columns, all);
}
std::unique_ptr<MatchOp> MakeUnwindOp(std::string name, BoundExprPtr list, int slot) {
  return std::make_unique<UnwindOp>(std::move(name), std::move(list), slot);
}
std::unique_ptr<MatchOp> MakeRebindOp(std::vector<RebindSlot> columns) {
  return std::make_unique<RebindOp>(std::move(columns));
}
std::unique_ptr<MatchOp> MakeOptionalBeginOp(int marker_slot) {
  return std::make_unique<OptionalBeginOp>(marker_slot);
}
std::unique_ptr<MatchOp> MakeOptionalEndOp(int marker_slot) {
  return std::make_unique<OptionalEndOp>(marker_slot);
}

}  // namespace pathwise::query
