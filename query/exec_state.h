// Internal to query/: per-execution state shared by the MATCH and RECOMMEND executors:
// parameter values, property ids resolved against this graph, the clock, the deadline, caches of
// once-per-execution values, and the per-operator profile.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "query/memory.h"
#include "query/query.h"
#include "graph/node_map.h"
#include "query/plan.h"
#include "query/runtime_value.h"
#include "vector/vector.h"

namespace pathwise::query {

using graph::NodeIndexMap;
using graph::NodeSet;

class Reclaimer;

// A variable's binding in a row: a node (node) or an edge (node = src, dst, type, ...), or for a
// value variable (UNWIND, WITH) type == kValueSlotType and ts the index of its value in
// ExecState::slot_values. node == kInvalidNode means unbound (evaluates to null).
constexpr TypeId kValueSlotType = kInvalidType - 1;

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
  const CounterReader* counters = nullptr;  // counter(); null: none
  size_t default_max_per_node = 100;
  // The deadline Tick checks: the query's, or a RECOMMEND source's budget while that source runs
  // (QueryOptions::source_budget_ms), and the message of the error Tick raises when it passes.
  Deadline deadline = Deadline::Never();
  std::string deadline_message = "query deadline exceeded";
  int64_t now_ms = 0;
  size_t max_rows = 10000;
  bool explain = false;

  std::vector<RtValue> params;          // by Plan::params index
  // When set, Eval marks each parameter it reads (by index): RECOMMEND's retrieval records
  // what its seed and sources read (QueryOptions::keep_candidates / reuse_candidates).
  std::vector<uint8_t>* params_read = nullptr;
  std::vector<graph::PropId> props;     // by Plan::props index
  std::vector<RtValue> cache;           // by Plan::cached index
  std::vector<RtValue> slot_values;     // values of value-variable slots (Slot::ts)
  std::vector<std::unique_ptr<NodeSet>> exists_sets;  // seed-cached pattern predicates
  std::vector<OpProfile> profile;       // by operator id

  NodeId seed = kInvalidNode;
  // MATCH: a `MAX n` cap dropped edges of some relationship (stats.truncated).
  bool hops_truncated = false;
  // The first error raised inside expression evaluation (deadline in a pattern predicate, ...);
  // loops check it together with the deadline.
  Status error;
  // The execution's memory account (Limits::max_query_memory_bytes, the Engine's pool).
  QueryMemory* memory = nullptr;
  // Frees large structures off the query's thread (the Engine's; null: free them inline).
  Reclaimer* reclaimer = nullptr;

  // Units of work between two clock reads. A unit is about one row, one edge step or one list
  // element compared (tens to hundreds of nanoseconds), so the clock is read every few tens of
  // microseconds at most.
  static constexpr int32_t kWorkPerClockRead = 256;
  int32_t work_left = kWorkPerClockRead;

  // Counts `work` units (1: a row or a step; n for an n-element scan); reads the clock once
  // kWorkPerClockRead units have passed. Returns false (and sets error) once the deadline passed
  // or an error was raised.
  bool Tick(uint32_t work = 1) {
    work_left -= static_cast<int32_t>(std::min<uint32_t>(work, kWorkPerClockRead));
    if (work_left <= 0) {
      work_left = kWorkPerClockRead;
      if (error.ok() && deadline.Expired()) {
        error = Status::DeadlineExceeded(deadline_message);
      }
    }
    return error.ok();
  }

  // Charges bytes to the memory account; false (and error set: ResourceExhausted naming the
  // budget) when a budget would be passed.
  bool Charge(size_t bytes) {
    if (memory == nullptr || !error.ok()) return error.ok();
    Status s = memory->Charge(bytes);
    if (!s.ok()) error = std::move(s);
    return error.ok();
  }
  void Credit(size_t bytes) {
    if (memory != nullptr) memory->Credit(bytes);
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
