// The write path: a single-writer leader/follower queue (as in LevelDB's DBImpl::Write) and the
// validation and application of WriteSets.
//
// A caller queues a Writer and waits. The writer at the front is the leader: it takes every
// queued WriteSet writer behind it (up to a bound), and for each set in order validates it
// against the current in-memory state plus what earlier sets of the group wrote, applies it to
// the in-memory structures (graph, vector indexes) and appends its storage operations to the
// group's single storage::WriteBatch. A set that fails validation fails alone. Then one
// Store::Write (synced if any member asked for sync) makes the group durable, and the leader
// wakes the members. In-memory effects happen BEFORE the durable write: a concurrent reader may
// see a write a moment before it is acknowledged. If the durable write fails, memory is ahead of
// disk, so the database enters a failed state: every later write returns that error (reopen to
// recover the last durable state).
#include <chrono>
#include <cmath>

#include "db/database_impl.h"

namespace pathwise {

namespace {

constexpr size_t kMaxGroupSets = 4096;

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status CheckId(std::string_view what, std::string_view id) {
  Status s = ValidateExternalId(id);
  if (s.ok()) return s;
  return Status::InvalidArgument(std::string(what) + ": " + s.message());
}

Status CheckEdgeProps(const Properties& props) {
  for (const auto& [name, value] : props) {
    if (name.empty()) return Status::InvalidArgument("edge property names must not be empty");
    if (const auto* d = std::get_if<double>(&value); d && !std::isfinite(*d)) {
      return Status::InvalidArgument("edge property '" + name + "' is not finite");
    }
  }
  return Status::OK();
}

Properties WithoutNulls(const Properties& props) {
  Properties out;
  for (const auto& [k, v] : props) {
    if (!std::holds_alternative<std::monostate>(v)) out.emplace(k, v);
  }
  return out;
}

// The existence of nodes as seen by the ops of one set validated so far.
class NodeOverlay {
 public:
  explicit NodeOverlay(const graph::Graph& graph) : graph_(graph) {}
  bool Exists(TypeId type, const std::string& key) const { return Resolve(type, key).first; }
  // Whether the node exists as of the ops validated so far, and its id when it already exists in
  // the graph (kInvalidNode when it is only created by this set).
  std::pair<bool, NodeId> Resolve(TypeId type, const std::string& key) const {
    if (!nodes_.empty()) {
      auto it = nodes_.find({type, key});
      if (it != nodes_.end()) {
        return {it->second, it->second ? graph_.Lookup(type, key) : kInvalidNode};
      }
    }
    NodeId id = graph_.Lookup(type, key);
    return {id != kInvalidNode, id};
  }
  void Set(TypeId type, const std::string& key, bool exists) { nodes_[{type, key}] = exists; }

 private:
  const graph::Graph& graph_;
  std::map<std::pair<TypeId, std::string>, bool> nodes_;
};

}  // namespace

Result<bool> Database::Impl::MetaExists(const std::string& key, const PendingBatch& pending) const {
  auto it = pending.meta.find(key);
  if (it != pending.meta.end()) return it->second;
  auto value = store->GetMeta(key);
  if (value.ok()) return true;
  if (value.status().code() == Status::Code::kNotFound) return false;
  return value.status();
}

Status Database::Impl::ValidateSet(const Schema& schema, const WriteSet& set,
                                   const PendingBatch& pending, std::vector<NodeId>* resolved) {
  NodeOverlay overlay(*graph);
  if (resolved != nullptr) resolved->assign(set.ops.size() * 2, kInvalidNode);
  bool deletes_nodes = false;
  for (size_t op_index = 0; op_index < set.ops.size(); ++op_index) {
    const auto& op = set.ops[op_index];
    if (const auto* n = std::get_if<NodeWrite>(&op)) {
      const NodeTypeDef* type = schema.FindNodeType(n->type);
      if (type == nullptr) return Status::InvalidArgument("unknown node type '" + n->type + "'");
      PW_RETURN_IF_ERROR(CheckId("node id", n->id));
      if (n->op == NodeWrite::Op::kDelete) {
        overlay.Set(type->id, n->id, false);
        deletes_nodes = true;
      } else {
        PW_RETURN_IF_ERROR(schema.CheckProperties(*type, n->props));
        overlay.Set(type->id, n->id, true);
      }
    } else if (const auto* e = std::get_if<EdgeWrite>(&op)) {
      const EdgeTypeDef* type = schema.FindEdgeType(e->type);
      if (type == nullptr) return Status::InvalidArgument("unknown edge type '" + e->type + "'");
      for (const NodeRef* end : {&e->from, &e->to}) {
        const char* side = end == &e->from ? "from" : "to";
        const NodeTypeDef* node_type = schema.FindNodeType(end->type);
        if (node_type == nullptr) {
          return Status::InvalidArgument("unknown node type '" + end->type + "' in edge " +
                                         e->type + " " + side);
        }
        PW_RETURN_IF_ERROR(CheckId(std::string("edge ") + side + " id", end->id));
        if (e->op == EdgeWrite::Op::kDelete) continue;
        const std::string& want = end == &e->from ? type->from_type : type->to_type;
        if (!want.empty() && want != end->type) {
          return Status::InvalidArgument("edge type '" + e->type + "' requires " + side +
                                         " node type '" + want + "', got '" + end->type + "'");
        }
        auto [exists, id] = overlay.Resolve(node_type->id, end->id);
        if (resolved != nullptr) (*resolved)[op_index * 2 + (end == &e->from ? 0 : 1)] = id;
        if (!exists) {
          if (!end->create_if_missing) {
            return Status::NotFound("edge " + e->type + " " + side + " node " + end->type + " '" +
                                    end->id + "' does not exist");
          }
          overlay.Set(node_type->id, end->id, true);
        }
      }
      if (e->op == EdgeWrite::Op::kPut) {
        if (e->weight && !std::isfinite(*e->weight)) {
          return Status::InvalidArgument("edge weight must be finite");
        }
        PW_RETURN_IF_ERROR(CheckEdgeProps(e->props));
      }
    } else if (const auto* v = std::get_if<VectorWrite>(&op)) {
      const VectorSpaceDef* space = schema.FindSpace(v->space);
      if (space == nullptr) {
        return Status::InvalidArgument("unknown vector space '" + v->space + "'");
      }
      PW_RETURN_IF_ERROR(CheckId("vector node id", v->id));
      if (v->op == VectorWrite::Op::kDelete) continue;
      if (v->values.size() != space->dim) {
        return Status::InvalidArgument("vector for '" + v->space + "' has dimension " +
                                       std::to_string(v->values.size()) + "; expected " +
                                       std::to_string(space->dim));
      }
      for (float x : v->values) {
        if (!std::isfinite(x)) {
          return Status::InvalidArgument("vector for '" + v->space +
                                         "' has a NaN or infinite value");
        }
      }
      const NodeTypeDef* node_type = schema.FindNodeType(space->node_type);
      if (node_type == nullptr || !overlay.Exists(node_type->id, v->id)) {
        return Status::NotFound("vector node " + space->node_type + " '" + v->id +
                                "' does not exist");
      }
    } else if (const auto* m = std::get_if<MetaWrite>(&op)) {
      if (m->key.empty() || m->key.size() > 1024) {
        return Status::InvalidArgument("meta keys must be 1..1024 bytes");
      }
    }
  }
  // A node deleted by this set would leave a resolved id dangling: look everything up again.
  if (resolved != nullptr && deletes_nodes) resolved->assign(resolved->size(), kInvalidNode);
  (void)pending;
  return Status::OK();
}

namespace {

// Applies one validated set. Every failure here is an invariant violation.
class SetApplier {
 public:
  struct Parts {
    graph::Graph* graph;
    vector::VectorSet* vectors;
    const storage::Store* store;
  };
  SetApplier(Parts parts, const Schema& schema, PendingBatch* pending)
      : db_(parts), schema_(schema), pending_(*pending) {}

  Status Node(const NodeWrite& n) {
    const NodeTypeDef& type = *schema_.FindNodeType(n.type);
    NodeId id = db_.graph->Lookup(type.id, n.id);
    if (n.op == NodeWrite::Op::kDelete) {
      if (id == kInvalidNode) return Status::OK();
      for (const auto& e : db_.graph->RemoveNode(id)) {
        pending_.batch.DeleteEdge(e.src, e.type, e.dst);
        pending_.edges[{e.src, e.type, e.dst}] = std::nullopt;
      }
      for (const auto& space : schema_.spaces()) {
        if (space.node_type != type.name) continue;
        vector::VectorIndex* index = db_.vectors->Get(space.id);
        if (index != nullptr && index->Contains(id)) {
          PW_RETURN_IF_ERROR(index->Remove(id));
          pending_.batch.DeleteVector(space.id, id);
        }
      }
      pending_.batch.DeleteNode(id, type.id, n.id);
      return Status::OK();
    }
    Properties props;
    if (n.op == NodeWrite::Op::kPatch && id != kInvalidNode) {
      props = db_.graph->GetProperties(id);
      for (const auto& [k, v] : n.props) {
        if (std::holds_alternative<std::monostate>(v)) {
          props.erase(k);
        } else {
          props.insert_or_assign(k, v);
        }
      }
    } else {
      props = WithoutNulls(n.props);
    }
    if (id == kInvalidNode) {
      id = db_.graph->AddNode(type.id, n.id, props);
    } else {
      db_.graph->SetProperties(id, props);
    }
    pending_.batch.PutNode({id, type.id, n.id, std::move(props)});
    return Status::OK();
  }

  // known: the id validation resolved (kInvalidNode: look it up, the node may be new).
  NodeId Endpoint(const NodeRef& ref, NodeId known) {
    if (known != kInvalidNode) return known;
    TypeId type = schema_.FindNodeType(ref.type)->id;
    NodeId id = db_.graph->Lookup(type, ref.id);
    if (id == kInvalidNode && ref.create_if_missing) {
      id = db_.graph->AddNode(type, ref.id, {});
      pending_.batch.PutNode({id, type, ref.id, {}});
    }
    return id;
  }

  Status Edge(const EdgeWrite& e, NodeId known_from = kInvalidNode, NodeId known_to = kInvalidNode) {
    const EdgeTypeDef& type = *schema_.FindEdgeType(e.type);
    if (e.op == EdgeWrite::Op::kDelete) {
      NodeId src = db_.graph->Lookup(schema_.FindNodeType(e.from.type)->id, e.from.id);
      NodeId dst = db_.graph->Lookup(schema_.FindNodeType(e.to.type)->id, e.to.id);
      if (src == kInvalidNode || dst == kInvalidNode) return Status::OK();
      if (db_.graph->RemoveEdge(src, type.id, dst)) {
        pending_.batch.DeleteEdge(src, type.id, dst);
        pending_.edges[{src, type.id, dst}] = std::nullopt;
      }
      return Status::OK();
    }
    NodeId src = Endpoint(e.from, known_from);
    NodeId dst = Endpoint(e.to, known_to);
    if (src == kInvalidNode || dst == kInvalidNode) {
      return Status::Internal("validated edge endpoint vanished");
    }
    std::tuple<NodeId, TypeId, NodeId> key{src, type.id, dst};
    std::optional<storage::EdgeRecord> old;
    if (auto it = pending_.edges.find(key); it != pending_.edges.end()) {
      old = it->second;
    } else if (graph::Neighbor nb; db_.graph->FindEdge(src, type.id, dst, &nb)) {
      auto stored = db_.store->GetEdge(src, type.id, dst);
      if (stored.ok()) {
        old = std::move(stored).value();
      } else {
        old = storage::EdgeRecord{src, type.id, dst, nb.weight, nb.ts, nb.count, {}};
      }
    }
    double weight = e.weight.value_or(1.0);
    int64_t ts = e.ts.value_or(NowMillis());
    storage::EdgeRecord rec;
    if (type.mode == EdgeMode::kAccumulate && old) {
      rec = std::move(*old);
      rec.weight += weight;
      rec.count += 1;
      rec.ts = std::max(rec.ts, ts);
      for (const auto& [k, v] : e.props) rec.props.insert_or_assign(k, v);
    } else {
      rec = storage::EdgeRecord{src, type.id, dst, weight, ts, 1, e.props};
    }
    db_.graph->PutEdge(src, type.id, dst, static_cast<float>(rec.weight), rec.count, rec.ts);
    pending_.batch.PutEdge(rec);
    pending_.edges[key] = std::move(rec);
    return Status::OK();
  }

  Status Vector(const VectorWrite& v) {
    const VectorSpaceDef& space = *schema_.FindSpace(v.space);
    NodeId id = db_.graph->Lookup(schema_.FindNodeType(space.node_type)->id, v.id);
    vector::VectorIndex* index = db_.vectors->Get(space.id);
    if (index == nullptr) return Status::Internal("no index for space " + v.space);
    if (v.op == VectorWrite::Op::kDelete) {
      if (id == kInvalidNode) return Status::OK();
      PW_RETURN_IF_ERROR(index->Remove(id));
      pending_.batch.DeleteVector(space.id, id);
      return Status::OK();
    }
    if (id == kInvalidNode) return Status::Internal("validated vector node vanished");
    PW_RETURN_IF_ERROR(index->Upsert(id, v.values));
    pending_.batch.PutVector(space.id, id, v.values);
    return Status::OK();
  }

  Status Meta(const MetaWrite& m) {
    if (m.value) {
      pending_.batch.PutMeta(m.key, *m.value);
    } else {
      pending_.batch.DeleteMeta(m.key);
    }
    pending_.meta.insert_or_assign(m.key, m.value.has_value());
    return Status::OK();
  }

 private:
  Parts db_;
  const Schema& schema_;
  PendingBatch& pending_;
};

}  // namespace

Status Database::Impl::ApplySet(const Schema& schema, const WriteSet& set, PendingBatch* pending,
                                bool* duplicate) {
  *duplicate = false;
  if (set.unless_meta_exists) {
    if (set.unless_meta_exists->empty()) {
      return Status::InvalidArgument("unless_meta_exists key must not be empty");
    }
    PW_ASSIGN_OR_RETURN(bool exists, MetaExists(*set.unless_meta_exists, *pending));
    if (exists) {
      *duplicate = true;
      return Status::OK();
    }
  }
  std::vector<NodeId> resolved;
  PW_RETURN_IF_ERROR(ValidateSet(schema, set, *pending, &resolved));
  SetApplier applier({graph.get(), vectors.get(), store.get()}, schema, pending);
  for (size_t i = 0; i < set.ops.size(); ++i) {
    const auto& op = set.ops[i];
    Status s;
    if (const auto* n = std::get_if<NodeWrite>(&op)) {
      s = applier.Node(*n);
    } else if (const auto* e = std::get_if<EdgeWrite>(&op)) {
      s = applier.Edge(*e, resolved[i * 2], resolved[i * 2 + 1]);
    } else if (const auto* v = std::get_if<VectorWrite>(&op)) {
      s = applier.Vector(*v);
    } else {
      s = applier.Meta(std::get<MetaWrite>(op));
    }
    if (!s.ok()) return Status::Internal("applying a validated write failed: " + s.ToString());
  }
  if (set.unless_meta_exists) {
    applier.Meta(MetaWrite{*set.unless_meta_exists, std::string()});
  }
  return Status::OK();
}

Status Database::Impl::RunWriter(Writer* w) {
  std::unique_lock<std::mutex> lock(mu);
  if (!failed.ok() && !w->run_when_failed) return failed;
  writers.push_back(w);
  while (!w->done && w != writers.front()) w->cv.wait(lock);
  if (w->done) return w->status;

  if (w->exclusive) {
    Status s = failed;
    lock.unlock();
    if (s.ok() || w->run_when_failed) s = w->exclusive();
    lock.lock();
    writers.pop_front();
    if (!writers.empty()) writers.front()->cv.notify_one();
    return s;
  }

  // Leader of a group of WriteSet writers.
  std::vector<Writer*> group;
  size_t set_count = 0;
  bool sync = false;
  for (Writer* x : writers) {
    if (x->exclusive) break;
    if (!group.empty() && set_count + x->sets->size() > kMaxGroupSets) break;
    group.push_back(x);
    set_count += x->sets->size();
    sync |= x->sync;
  }
  Status status = failed;
  lock.unlock();

  if (status.ok()) {
    PendingBatch pending;
    std::shared_ptr<const Schema> current = CurrentSchema();
    for (Writer* x : group) {
      for (size_t i = 0; i < x->sets->size(); ++i) {
        WriteOutcome& outcome = (*x->outcomes)[i];
        outcome.status = ApplySet(*current, (*x->sets)[i], &pending, &outcome.duplicate);
        if (outcome.status.code() == Status::Code::kInternal) status = outcome.status;
      }
    }
    Status written = store->Write(&pending.batch, sync);
    if (status.ok()) status = written;
  }

  lock.lock();
  if (!status.ok()) {
    if (failed.ok()) failed = status;
    for (Writer* x : group) {
      for (auto& outcome : *x->outcomes) {
        if (outcome.status.ok()) outcome.status = status;
      }
    }
  }
  for (Writer* x : group) {
    writers.pop_front();
    x->status = status;
    x->done = true;
    if (x != w) x->cv.notify_one();
  }
  if (!writers.empty()) writers.front()->cv.notify_one();
  return status;
}

Status Database::Impl::RunExclusive(std::function<Status()> fn, bool run_when_failed) {
  Writer w;
  w.exclusive = std::move(fn);
  w.run_when_failed = run_when_failed;
  return RunWriter(&w);
}

Status Database::Apply(const WriteSet& writes, const WriteOptions& options) {
  std::vector<WriteSet> sets;
  sets.push_back(writes);
  std::vector<WriteOutcome> outcomes = ApplyMany(sets, options);
  return outcomes[0].status;
}

std::vector<WriteOutcome> Database::ApplyMany(const std::vector<WriteSet>& sets,
                                              const WriteOptions& options) {
  std::vector<WriteOutcome> outcomes(sets.size());
  if (sets.empty()) return outcomes;
  Impl::Writer w;
  w.sets = &sets;
  w.outcomes = &outcomes;
  w.sync = options.sync;
  Status s = impl_->RunWriter(&w);
  if (!s.ok()) {
    for (auto& outcome : outcomes) {
      if (outcome.status.ok()) outcome.status = s;
    }
  }
  return outcomes;
}

}  // namespace pathwise
