// Internal to query/: per-execution state shared by the MATCH and RECOMMEND executors:
// parameter values, property ids resolved against this graph, the clock, the deadline, caches of
// once-per-execution values, and the per-operator profile.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "query/query.h"
#include "query/node_map.h"
#include "query/plan.h"
#include "query/runtime_value.h"
#include "vector/vector.h"

namespace pathwise::query {

// A variable's binding in a row: a node (node) or an edge (node = src, dst, type, ...).
// node == kInvalidNode means unbound (evaluates to null).
struct Slot {
  NodeId node = kInvalidNode;
  NodeId dst = kInvalidNode;
  TypeId type = kInvalidType;
  uint32_t count = 0;
  float weight = 0;
  int64_t ts = 0;
};

struct ExecState {
  const Plan* plan = nullptr;
  const Schema* schema = nullptr;
  const graph::Graph* graph = nullptr;
  const vector::VectorSet* vectors = nullptr;
  const storage::Store* store = nullptr;
  size_t default_max_per_node = 100;
  Deadline deadline = Deadline::Never();
  int64_t now_ms = 0;
  size_t max_rows = 10000;
  bool explain = false;

  std::vector<RtValue> params;          // by Plan::params index
  std::vector<graph::PropId> props;     // by Plan::props index
  std::vector<RtValue> cache;           // by Plan::cached index
  std::vector<std::unique_ptr<NodeSet>> exists_sets;  // seed-cached pattern predicates
  std::vector<OpProfile> profile;       // by operator id

  NodeId seed = kInvalidNode;
  // The first error raised inside expression evaluation (deadline in a pattern predicate, ...);
  // loops check it together with the deadline.
  Status error;
  uint32_t ticks = 0;

  // Every 256 calls reads the clock; returns false (and sets error) once the deadline passed.
  bool Tick() {
    if ((++ticks & 255) == 0 && deadline.Expired()) {
      if (error.ok()) error = Status::DeadlineExceeded("query deadline exceeded");
    }
    return error.ok();
  }
};

// What an expression is evaluated against.
struct EvalEnv {
  ExecState* st = nullptr;
  const Slot* row = nullptr;
  const RtValue* aggs = nullptr;  // aggregate results (kAggRef)
  uint64_t source_mask = 0;       // RECOMMEND: sources that found the candidate
  const double* source_values = nullptr;  // RECOMMEND: the candidate's per-source values
};

}  // namespace pathwise::query
