// Staging WriteSets (validation + storage and memory operations) and applying staged groups to
// memory. See staged_write.h for the protocol.
#include "db/staged_write.h"

#include "db/event_log.h"
#include "db/impression_log.h"

#include <algorithm>
#include <array>
#include <cfloat>
#include <cmath>
#include <set>

namespace pathwise {

namespace {

// A property value's size for the limits below (strings and string lists by bytes).
size_t ValueBytes(const Value& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return s->size();
  if (const auto* l = std::get_if<std::vector<std::string>>(&v)) {
    size_t n = 0;
    for (const auto& s : *l) n += s.size() + 1;
    return n;
  }
  return 8;
}

Status CheckId(std::string_view what, std::string_view id) {
  Status s = ValidateExternalId(id);
  if (s.ok()) return s;
  return Status::InvalidArgument(std::string(what) + ": " + s.message());
}

Status CheckPropertySizes(const Properties& props) {
  size_t total = 0;
  for (const auto& [name, value] : props) {
    size_t bytes = ValueBytes(value);
    if (bytes > kMaxPropertyValueBytes) {
      return Status::InvalidArgument("property '" + name + "' is " + std::to_string(bytes) +
                                     " bytes; the limit is " +
                                     std::to_string(kMaxPropertyValueBytes));
    }
    total += bytes + name.size();
  }
  if (total > kMaxPropertiesBytes) {
    return Status::InvalidArgument("properties are " + std::to_string(total) +
                                   " bytes; the limit is " + std::to_string(kMaxPropertiesBytes));
  }
  return Status::OK();
}

Status CheckEdgeProps(const Properties& props) {
  for (const auto& [name, value] : props) {
    if (name.empty()) return Status::InvalidArgument("edge property names must not be empty");
    if (const auto* d = std::get_if<double>(&value); d && !std::isfinite(*d)) {
      return Status::InvalidArgument("edge property '" + name + "' is not finite");
    }
  }
  return CheckPropertySizes(props);
}

// Edge weights are kept as doubles in the store and as floats in memory: both must be finite.
bool WeightInRange(double w) { return std::isfinite(w) && std::fabs(w) <= FLT_MAX; }

Properties WithoutNulls(const Properties& props) {
  Properties out;
  for (const auto& [k, v] : props) {
    if (!std::holds_alternative<std::monostate>(v)) out.emplace(k, v);
  }
  return out;
}

// Stages one set. Reads go: this set's overlay, then the group's, then the pending groups'
// (StagingView::pending, newest first), then memory and the store.
class SetStager {
 public:
  SetStager(const StagingView& view, StagedGroup* group)
      : view_(view),
        schema_(*view.schema),
        group_(*group),
        next_id_(group->next_id),
        next_seq_(group->next_event_seq),
        log_seq_(group->log_sequence) {}

  Status Stage(const WriteSet& set, bool* duplicate) {
    *duplicate = false;
    if (set.log_sequence) {
      if (*set.log_sequence == 0) return Status::InvalidArgument("log_sequence must be at least 1");
      if (*set.log_sequence <= log_seq_) {
        *duplicate = true;
        return Status::OK();
      }
    }
    if (set.unless_meta_exists) {
      if (set.unless_meta_exists->empty()) {
        return Status::InvalidArgument("unless_meta_exists key must not be empty");
      }
      PW_ASSIGN_OR_RETURN(bool exists, MetaExists(*set.unless_meta_exists));
      if (exists) {
        *duplicate = true;
        return Status::OK();
      }
    }
    for (const auto& op : set.ops) {
      Status s = std::visit([this](const auto& w) { return Op(w); }, op);
      if (!s.ok()) return s;
    }
    for (const auto& [fold, changes] : folds_) StageFoldIn(*fold.first, fold.second, changes);
    if (set.unless_meta_exists) Op(MetaWrite{*set.unless_meta_exists, std::string()});
    if (set.log_sequence) {
      // Straight into the batch: not a metadata write of the set's (Database::MetaGeneration).
      log_seq_ = *set.log_sequence;
      group_.batch.PutMeta(kLogSequenceMetaKey, std::to_string(log_seq_));
    }
    return Status::OK();
  }

  // Moves what the set staged into the group (after Stage succeeded).
  void Commit() {
    group_.overlay.MergeFrom(std::move(own_));
    group_.next_id = next_id_;
    group_.next_event_seq = next_seq_;
    group_.log_sequence = log_seq_;
    for (auto& e : events_) group_.events.push_back(std::move(e));
    for (auto& i : impressions_) group_.impressions.push_back(std::move(i));
    for (const auto& [key, entry] : ledger_) view_.fold_ledger->Set(key.first, key.second, entry);
    ++group_.sets;
  }

  size_t attributed() const { return attributed_; }
  size_t unattributed() const { return unattributed_; }

 private:
  // ---- Reads through the overlays ------------------------------------------------------------
  // The overlays staged writes are read from, the oldest first: the pending groups' (null when
  // there is none), the group's, this set's.
  std::array<const Overlay*, 4> OldestFirst() const {
    return {view_.pending[0], view_.pending[1], &group_.overlay, &own_};
  }

  // The newest staged entry for key in the overlays' map `member`; null when none has one.
  template <typename Map, typename Key>
  const typename Map::mapped_type* Staged(Map Overlay::*member, const Key& key) const {
    const auto overlays = OldestFirst();
    for (auto o = overlays.rbegin(); o != overlays.rend(); ++o) {
      if (*o == nullptr) continue;
      auto it = ((*o)->*member).find(key);
      if (it != ((*o)->*member).end()) return &it->second;
    }
    return nullptr;
  }

  NodeId FindNode(TypeId type, const std::string& key) const {
    if (const NodeId* id = Staged(&Overlay::nodes, std::pair<TypeId, std::string>{type, key})) {
      return *id;
    }
    return view_.graph->Lookup(type, key);
  }

  Properties CurrentProps(NodeId id) const {
    if (const Properties* p = Staged(&Overlay::props, id)) return *p;
    return view_.graph->GetProperties(id);
  }

  bool HasVector(SpaceId space, NodeId node) const {
    if (const bool* b = Staged(&Overlay::vectors, std::pair<SpaceId, NodeId>{space, node})) return *b;
    const vector::VectorIndex* index = view_.vectors->Get(space);
    return index != nullptr && index->Contains(node);
  }

  Result<bool> MetaExists(const std::string& key) const {
    if (const bool* b = Staged(&Overlay::meta, key)) return *b;
    auto value = view_.store->GetMeta(key);
    if (value.ok()) return true;
    if (value.status().code() == Status::Code::kNotFound) return false;
    return value.status();
  }

  // The attribution window of a logged decision; nullopt when it was never logged (or expired).
  Result<std::optional<int64_t>> ImpressionWindow(const std::string& key) const {
    if (const int64_t* w = Staged(&Overlay::impressions, key)) return std::optional<int64_t>(*w);
    auto stored = impression_log::StoredWindow(*view_.store, key);
    if (stored.ok()) return std::optional<int64_t>(*stored);
    if (stored.status().code() == Status::Code::kNotFound) return std::optional<int64_t>();
    return stored.status();
  }

  // The edge as stored after the writes staged so far; nullopt if absent.
  Result<std::optional<storage::EdgeRecord>> CurrentEdge(NodeId src, TypeId type, NodeId dst) {
    if (auto* e = Staged(&Overlay::edges, std::tuple<NodeId, TypeId, NodeId>{src, type, dst})) {
      return *e;
    }
    graph::Neighbor nb;
    if (src >= view_.graph->IdBound() || !view_.graph->FindEdge(src, type, dst, &nb)) {
      return std::optional<storage::EdgeRecord>();
    }
    auto stored = view_.store->GetEdge(src, type, dst);
    if (stored.ok()) return std::optional<storage::EdgeRecord>(std::move(stored).value());
    if (stored.status().code() != Status::Code::kNotFound) return stored.status();
    return std::optional<storage::EdgeRecord>(
        storage::EdgeRecord{src, type, dst, nb.weight, nb.ts, nb.count, {}});
  }

  // Every edge of node (both directions) as of the writes staged so far.
  std::vector<std::tuple<NodeId, TypeId, NodeId>> EdgesOf(NodeId node) const {
    std::map<std::tuple<NodeId, TypeId, NodeId>, bool> present;
    if (node < view_.graph->IdBound()) {
      for (const auto& d : view_.graph->Degrees(node)) {
        view_.graph->ForEachNeighbor(node, d.edge_type, d.dir, [&](const graph::Neighbor& nb) {
          bool out = d.dir == storage::Direction::kOut;
          present[{out ? node : nb.node, d.edge_type, out ? nb.node : node}] = true;
          return true;
        });
      }
    }
    for (const Overlay* o : OldestFirst()) {
      if (o == nullptr) continue;
      for (const auto& [k, rec] : o->edges) {
        if (std::get<0>(k) == node || std::get<2>(k) == node) present[k] = rec.has_value();
      }
    }
    std::vector<std::tuple<NodeId, TypeId, NodeId>> out;
    for (const auto& [k, live] : present) {
      if (live) out.push_back(k);
    }
    return out;
  }

  // ---- Operations ------------------------------------------------------------------------------
  NodeId CreateNode(const NodeTypeDef& type, const std::string& key, Properties props) {
    NodeId id = next_id_++;
    group_.batch.PutNode({id, type.id, key, props});
    own_.nodes[{type.id, key}] = id;
    own_.props[id] = props;
    MemOp m(MemOp::Kind::kAddNode);
    m.node = id;
    m.type = type.id;
    m.payload = std::make_unique<MemOp::Payload>(MemOp::Payload{key, std::move(props), {}});
    group_.mem.push_back(std::move(m));
    return id;
  }

  Status Op(const NodeWrite& n) {
    const NodeTypeDef* type = schema_.FindNodeType(n.type);
    if (type == nullptr) return Status::InvalidArgument("unknown node type '" + n.type + "'");
    PW_RETURN_IF_ERROR(CheckId("node id", n.id));
    NodeId id = FindNode(type->id, n.id);
    if (n.op == NodeWrite::Op::kDelete) return DeleteNode(*type, n.id, id);
    PW_RETURN_IF_ERROR(schema_.CheckProperties(*type, n.props));
    Properties props;
    if (n.op == NodeWrite::Op::kPatch && id != kInvalidNode) {
      props = CurrentProps(id);
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
    PW_RETURN_IF_ERROR(CheckPropertySizes(props));
    if (id == kInvalidNode) {
      CreateNode(*type, n.id, std::move(props));
      return Status::OK();
    }
    group_.batch.PutNode({id, type->id, n.id, props});
    own_.props[id] = props;
    MemOp m(MemOp::Kind::kSetProperties);
    m.node = id;
    m.payload = std::make_unique<MemOp::Payload>(MemOp::Payload{{}, std::move(props), {}});
    group_.mem.push_back(std::move(m));
    return Status::OK();
  }

  Status DeleteNode(const NodeTypeDef& type, const std::string& key, NodeId id) {
    if (id == kInvalidNode) return Status::OK();
    for (const auto& [src, edge_type, dst] : EdgesOf(id)) {
      group_.batch.DeleteEdge(src, edge_type, dst);
      own_.edges[{src, edge_type, dst}] = std::nullopt;
      if (dst == id) ForgetFoldIn(edge_type, src);  // the item's term stays in src's vector
    }
    for (const auto& space : schema_.spaces()) {
      if (space.node_type == type.name) StageRemoveVector(space.id, id);
    }
    std::erase_if(folds_, [id](const auto& fold) { return fold.first.second == id; });
    group_.batch.DeleteNode(id, type.id, key);
    own_.nodes[{type.id, key}] = kInvalidNode;
    own_.props.erase(id);
    MemOp m(MemOp::Kind::kRemoveNode);
    m.node = id;
    group_.mem.push_back(std::move(m));
    return Status::OK();
  }

  // Resolves (and with create_if_missing, creates) one endpoint of an edge write.
  Result<NodeId> Endpoint(const EdgeWrite& e, const EdgeTypeDef& type, bool from) {
    const NodeRef& end = from ? e.from : e.to;
    const char* side = from ? "from" : "to";
    const NodeTypeDef* node_type = schema_.FindNodeType(end.type);
    if (node_type == nullptr) {
      return Status::InvalidArgument("unknown node type '" + end.type + "' in edge " + e.type +
                                     " " + side);
    }
    PW_RETURN_IF_ERROR(CheckId(std::string("edge ") + side + " id", end.id));
    if (e.op == EdgeWrite::Op::kDelete) return FindNode(node_type->id, end.id);
    const std::string& want = from ? type.from_type : type.to_type;
    if (!want.empty() && want != end.type) {
      return Status::InvalidArgument("edge type '" + e.type + "' requires " + side +
                                     " node type '" + want + "', got '" + end.type + "'");
    }
    NodeId id = FindNode(node_type->id, end.id);
    if (id != kInvalidNode) return id;
    if (!end.create_if_missing) {
      return Status::NotFound("edge " + e.type + " " + side + " node " + end.type + " '" + end.id +
                              "' does not exist");
    }
    return CreateNode(*node_type, end.id, {});
  }

  Status Op(const EdgeWrite& e) {
    const EdgeTypeDef* type = schema_.FindEdgeType(e.type);
    if (type == nullptr) return Status::InvalidArgument("unknown edge type '" + e.type + "'");
    if (e.op == EdgeWrite::Op::kPut) {
      if (e.weight && !WeightInRange(*e.weight)) {
        return Status::InvalidArgument("edge weight must be finite and at most 3.4e38 in size");
      }
      PW_RETURN_IF_ERROR(CheckEdgeProps(e.props));
    }
    PW_ASSIGN_OR_RETURN(NodeId src, Endpoint(e, *type, true));
    PW_ASSIGN_OR_RETURN(NodeId dst, Endpoint(e, *type, false));
    if (e.op == EdgeWrite::Op::kDelete) {
      if (src == kInvalidNode || dst == kInvalidNode) return Status::OK();
      PW_ASSIGN_OR_RETURN(auto old, CurrentEdge(src, type->id, dst));
      if (!old) return Status::OK();
      group_.batch.DeleteEdge(src, type->id, dst);
      own_.edges[{src, type->id, dst}] = std::nullopt;
      group_.mem.push_back(EdgeMemOp(MemOp::Kind::kRemoveEdge, src, type->id, dst));
      NoteFoldIn(type->id, src, dst, -static_cast<double>(static_cast<float>(old->weight)));
      return Status::OK();
    }
    PW_ASSIGN_OR_RETURN(auto old, CurrentEdge(src, type->id, dst));
    // The weights as the graph keeps them (floats), which the full sum reads.
    const double old_weight = old ? static_cast<float>(old->weight) : 0.0;
    double weight = e.weight.value_or(1.0);
    int64_t ts = e.ts.value_or(view_.now_ms);
    storage::EdgeRecord rec;
    if (type->mode == EdgeMode::kAccumulate && old) {
      rec = std::move(*old);
      rec.weight += weight;
      if (!WeightInRange(rec.weight)) {
        return Status::InvalidArgument("accumulated weight of edge " + e.type +
                                       " would not be finite (or exceed 3.4e38)");
      }
      rec.count += 1;
      rec.ts = std::max(rec.ts, ts);
      for (const auto& [k, v] : e.props) rec.props.insert_or_assign(k, v);
    } else {
      rec = storage::EdgeRecord{src, type->id, dst, weight, ts, 1, e.props};
    }
    MemOp m = EdgeMemOp(MemOp::Kind::kPutEdge, src, type->id, dst);
    m.weight = static_cast<float>(rec.weight);
    m.count = rec.count;
    m.ts = rec.ts;
    group_.mem.push_back(std::move(m));
    group_.batch.PutEdge(rec);
    const double new_weight = static_cast<float>(rec.weight);
    own_.edges[{src, type->id, dst}] = std::move(rec);
    NoteFoldIn(type->id, src, dst, new_weight - old_weight);
    return Status::OK();
  }

  // ---- Online fold-in (db/fold_in.h) -------------------------------------------------------
  // Remembers that user's edge of edge_type to item changed by delta (new weight - old), when
  // a fold-in model covers the type.
  void NoteFoldIn(TypeId edge_type, NodeId user, NodeId item, double delta) {
    if (!view_.fold_ins) return;
    for (const FoldIn& model : *view_.fold_ins) {
      if (model.edge_type != edge_type) continue;
      folds_[{&model, user}].emplace_back(item, delta);
    }
  }

  // user's ledger entry in space as of the writes staged so far; nullopt without a ledger.
  std::optional<FoldInLedger::Entry> LedgerEntry(SpaceId space, NodeId user) const {
    if (view_.fold_ledger == nullptr) return std::nullopt;
    if (auto it = ledger_.find({space, user}); it != ledger_.end()) return it->second;
    return view_.fold_ledger->Find(space, user);
  }

  // Drops user's ledger entries in the user spaces of edge_type's models: the vector no longer
  // follows from the user's edges and the item vectors (an item lost, or its vector changed).
  void ForgetFoldIn(TypeId edge_type, NodeId user) {
    if (!view_.fold_ins || view_.fold_ledger == nullptr) return;
    for (const FoldIn& model : *view_.fold_ins) {
      if (model.edge_type == edge_type) ledger_[{model.user_space, user}] = std::nullopt;
    }
  }

  // item's vector in space changes: the users whose vectors hold its old one lose their entries.
  void ForgetRatersOf(SpaceId space, NodeId item) {
    if (!view_.fold_ins || view_.fold_ledger == nullptr) return;
    for (const FoldIn& model : *view_.fold_ins) {
      if (model.item_space != space) continue;
      for (const auto& [src, edge_type, dst] : EdgesOf(item)) {
        if (dst == item && edge_type == model.edge_type) ForgetFoldIn(edge_type, src);
      }
    }
  }

  // The user's vector in space as of the writes staged so far: the newest values fold-in
  // staged, else the index's. REQUIRES: the ledger's entry says fold-in wrote it last.
  bool CurrentFoldIn(SpaceId space, NodeId user, std::vector<float>* out) const {
    if (const auto* staged = Staged(&Overlay::folded, std::pair<SpaceId, NodeId>{space, user})) {
      *out = *staged;
      return true;
    }
    const vector::VectorIndex* index = view_.vectors->Get(space);
    out->resize(schema_.Space(space)->dim);
    return index != nullptr && index->CopyTo(user, *out);
  }

  // user's out-edges of type as (item, weight) in item order, as of the writes staged so far:
  // the graph's list with the pending groups', the group's and then this set's staged edges
  // merged over it in item order (O(d log d + staged) for d edges, not a search of the list per
  // staged edge).
  std::vector<std::pair<NodeId, double>> OutEdges(NodeId user, TypeId type) const {
    std::vector<std::pair<NodeId, double>> out;
    if (user < view_.graph->IdBound()) {
      view_.graph->ForEachNeighbor(user, type, storage::Direction::kOut,
                                   [&](const graph::Neighbor& nb) {
                                     out.emplace_back(nb.node, nb.weight);
                                     return true;
                                   });
    }
    std::sort(out.begin(), out.end());
    for (const Overlay* overlay : OldestFirst()) {
      if (overlay == nullptr) continue;
      const auto* edges = &overlay->edges;
      auto it = edges->lower_bound({user, type, 0});
      auto staged = [&] {
        return it != edges->end() && std::get<0>(it->first) == user &&
               std::get<1>(it->first) == type;
      };
      if (!staged()) continue;
      std::vector<std::pair<NodeId, double>> merged;
      merged.reserve(out.size() + 8);
      auto o = out.begin();
      for (; staged(); ++it) {  // staged edges come in item order, like out
        const NodeId item = std::get<2>(it->first);
        for (; o != out.end() && o->first < item; ++o) merged.push_back(*o);
        if (o != out.end() && o->first == item) ++o;  // replaced or removed
        if (it->second) merged.emplace_back(item, static_cast<float>(it->second->weight));
      }
      merged.insert(merged.end(), o, out.end());
      out = std::move(merged);
    }
    return out;
  }

  // Stages user's new vector in the model's user space (or its removal when the user has
  // none): incrementally from the vector fold-in wrote last while the ledger allows it
  // (FoldInIncrement; every kFoldInFullEvery-th change in full), else recomputed in full from
  // every edge (ComputeFoldIn). Never fails the set: a vector the space refuses is removed.
  void StageFoldIn(const FoldIn& model, NodeId user,
                   const std::vector<std::pair<NodeId, double>>& changes) {
    const vector::VectorIndex* items = view_.vectors->Get(model.item_space);
    const VectorSpaceDef* space = schema_.Space(model.user_space);
    if (items == nullptr || space == nullptr) return;
    std::vector<float> values;
    std::optional<FoldInLedger::Entry> entry = LedgerEntry(space->id, user);
    if (entry && entry->edge_type == model.edge_type &&
        entry->increments + 1 < kFoldInFullEvery && CurrentFoldIn(space->id, user, &values) &&
        FoldInIncrement(model, *items, changes, &values) &&
        vector::ValidateVector(*space, values).ok()) {
      StagePutFoldIn(*space, model.edge_type, user, std::move(values), entry->increments + 1);
      return;
    }
    bool any = ComputeFoldIn(model, *items, OutEdges(user, model.edge_type), &values);
    if (any && vector::ValidateVector(*space, values).ok()) {
      StagePutFoldIn(*space, model.edge_type, user, std::move(values), 0);
    } else {
      StageRemoveVector(space->id, user);
    }
  }

  // Stages fold-in's vector for user and its ledger entry. A cosine space stores the vector
  // normalised, so it gets no entry (every fold-in into it is in full).
  void StagePutFoldIn(const VectorSpaceDef& space, TypeId edge_type, NodeId user,
                      std::vector<float> values, uint32_t increments) {
    if (view_.fold_ledger != nullptr) view_.fold_ledger->CountFoldIn(increments > 0);
    const bool ledgered = view_.fold_ledger != nullptr && space.metric != Metric::kCosine;
    if (ledgered) own_.folded[{space.id, user}] = values;
    StagePutVector(space.id, user, std::move(values));
    if (ledgered) ledger_[{space.id, user}] = FoldInLedger::Entry{edge_type, increments};
  }

  static MemOp EdgeMemOp(MemOp::Kind kind, NodeId src, TypeId type, NodeId dst) {
    MemOp m{kind};
    m.node = src;
    m.type = type;
    m.dst = dst;
    return m;
  }

  Status Op(const VectorWrite& v) {
    const VectorSpaceDef* space = schema_.FindSpace(v.space);
    if (space == nullptr) return Status::InvalidArgument("unknown vector space '" + v.space + "'");
    PW_RETURN_IF_ERROR(CheckId("vector node id", v.id));
    const NodeTypeDef* node_type = schema_.FindNodeType(space->node_type);
    NodeId id = node_type == nullptr ? kInvalidNode : FindNode(node_type->id, v.id);
    if (v.op == VectorWrite::Op::kDelete) {
      if (id != kInvalidNode) {
        ForgetRatersOf(space->id, id);
        StageRemoveVector(space->id, id);
      }
      return Status::OK();
    }
    PW_RETURN_IF_ERROR(vector::ValidateVector(*space, v.values));
    if (id == kInvalidNode) {
      return Status::NotFound("vector node " + space->node_type + " '" + v.id + "' does not exist");
    }
    ForgetRatersOf(space->id, id);
    StagePutVector(space->id, id, v.values);
    return Status::OK();
  }

  // REQUIRES: values passed vector::ValidateVector for the space.
  // Drops the node's ledger entry in space (StagePutFoldIn sets it again).
  void StagePutVector(SpaceId space, NodeId node, std::vector<float> values) {
    if (view_.fold_ledger != nullptr) ledger_[{space, node}] = std::nullopt;
    group_.batch.PutVector(space, node, values);
    own_.vectors[{space, node}] = true;
    MemOp m(MemOp::Kind::kPutVector);
    m.space = space;
    m.node = node;
    m.payload = std::make_unique<MemOp::Payload>(MemOp::Payload{{}, {}, std::move(values)});
    group_.mem.push_back(std::move(m));
  }

  void StageRemoveVector(SpaceId space, NodeId node) {
    if (view_.fold_ledger != nullptr) ledger_[{space, node}] = std::nullopt;
    if (!HasVector(space, node)) return;
    group_.batch.DeleteVector(space, node);
    own_.vectors[{space, node}] = false;
    MemOp m(MemOp::Kind::kRemoveVector);
    m.space = space;
    m.node = node;
    group_.mem.push_back(std::move(m));
  }

  Status Op(const ImpressionWrite& w) {
    PW_ASSIGN_OR_RETURN(std::string key, impression_log::DecisionKey(w.recommendation_id));
    if (w.attribution_window_ms < 0) {
      return Status::InvalidArgument("attribution_window_ms must not be negative");
    }
    if (!w.record.is_object()) return Status::InvalidArgument("an impression record is an object");
    if (auto segment = w.record.find("segment"); segment != w.record.end()) {
      if (!segment->is_string()) {
        return Status::InvalidArgument("an impression's segment must be a string");
      }
      PW_RETURN_IF_ERROR(CheckId("impression segment", segment->get<std::string>()));
    }
    nlohmann::json record = w.record;
    record["recommendation_id"] = impression_log::IdOfKey(key);
    record["served_at_ms"] = impression_log::ServedMillis(key);
    record["attribution_window_ms"] = w.attribution_window_ms;
    group_.batch.PutImpressionLog(
        key, record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    own_.impressions.insert_or_assign(key, w.attribution_window_ms);
    impressions_.push_back(event_log::ImpressionOf(record));
    return Status::OK();
  }

  Status Op(const EventWrite& e) {
    PW_RETURN_IF_ERROR(CheckId("event_id", e.event_id));
    PW_RETURN_IF_ERROR(CheckId("event type", e.type));
    PW_RETURN_IF_ERROR(CheckId("event user", e.user));
    PW_RETURN_IF_ERROR(CheckId("event item", e.item));
    if (!std::isfinite(e.weight)) return Status::InvalidArgument("event weight is not finite");
    if (!e.recommendation_id.empty()) PW_RETURN_IF_ERROR(ValidateRecommendationId(e.recommendation_id));
    if (!e.segment.empty()) PW_RETURN_IF_ERROR(CheckId("event segment", e.segment));
    LoggedEvent logged{next_seq_++, e.event_id, e.type, e.user, e.item, e.ts.value_or(view_.now_ms),
                       view_.now_ms, e.weight, e.recommendation_id, e.segment};
    group_.batch.PutEventLog(event_log::Key(logged.sequence), event_log::Encode(logged));
    events_.push_back(event_log::EventOf(logged));
    return Status::OK();
  }

  Status Op(const OutcomeWrite& w) {
    PW_ASSIGN_OR_RETURN(std::string key, impression_log::DecisionKey(w.recommendation_id));
    PW_RETURN_IF_ERROR(CheckId("event_id", w.event_id));
    int64_t ts = w.ts.value_or(view_.now_ms);
    PW_ASSIGN_OR_RETURN(std::optional<int64_t> window, ImpressionWindow(key));
    int64_t served = impression_log::ServedMillis(key);
    if (!window || ts < served || ts - served > *window) {
      ++unattributed_;
      return Status::OK();
    }
    nlohmann::json outcome = {{"event_id", w.event_id}, {"type", w.type}, {"item", w.item},
                              {"ts", ts}};
    group_.batch.PutImpressionLog(
        impression_log::OutcomeKey(key, w.event_id),
        outcome.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    ++attributed_;
    return Status::OK();
  }

  Status Op(const MetaWrite& m) {
    if (m.key.empty() || m.key.size() > 1024) {
      return Status::InvalidArgument("meta keys must be 1..1024 bytes");
    }
    if (m.value) {
      group_.batch.PutMeta(m.key, *m.value);
    } else {
      group_.batch.DeleteMeta(m.key);
    }
    own_.meta.insert_or_assign(m.key, m.value.has_value());
    return Status::OK();
  }

  const StagingView& view_;
  const Schema& schema_;
  StagedGroup& group_;
  NodeId next_id_;
  uint64_t next_seq_;  // the sequence number of the next event this set logs
  uint64_t log_seq_;   // the greatest log sequence staged before this set, or this set's
  std::vector<features::Event> events_;            // observations of the events it logs
  std::vector<features::Impression> impressions_;  // and of the decisions
  Overlay own_;
  // Users whose vectors to recompute, with their changed edges as (item, weight delta).
  std::map<std::pair<const FoldIn*, NodeId>, std::vector<std::pair<NodeId, double>>> folds_;
  // Changes to view_.fold_ledger, made at Commit (nullopt: the entry is dropped).
  std::map<std::pair<SpaceId, NodeId>, std::optional<FoldInLedger::Entry>> ledger_;
  size_t attributed_ = 0;    // OutcomeWrites joined to their decision
  size_t unattributed_ = 0;  // and those that were not
};

}  // namespace

namespace {

// Moves newer's entries into *into, newer's value winning for a key both have. The entries *into
// lacks move over as they are (their map nodes are relinked, not copied).
template <typename Map>
void TakeNewer(Map* into, Map* newer) {
  into->merge(*newer);  // leaves in newer only the keys *into has
  for (auto& [k, v] : *newer) into->find(k)->second = std::move(v);
}

}  // namespace

void Overlay::MergeFrom(Overlay&& newer) {
  TakeNewer(&nodes, &newer.nodes);
  TakeNewer(&props, &newer.props);
  TakeNewer(&edges, &newer.edges);
  TakeNewer(&vectors, &newer.vectors);
  TakeNewer(&folded, &newer.folded);
  TakeNewer(&meta, &newer.meta);
  TakeNewer(&impressions, &newer.impressions);
}

void StagedGroup::Reset(NodeId next, uint64_t next_seq, uint64_t log_seq) {
  batch.Clear();
  mem.clear();
  overlay = Overlay();
  next_id = next;
  sets = 0;
  next_event_seq = next_seq;
  log_sequence = log_seq;
  events.clear();
  impressions.clear();
}

Status StageSet(const StagingView& view, const WriteSet& set, StagedGroup* group,
                WriteOutcome* outcome) {
  const size_t mark = group->batch.Mark();
  const size_t mem_mark = group->mem.size();  // the set's MemOps go straight into the group
  SetStager stager(view, group);
  outcome->attributed = outcome->unattributed = 0;
  Status s = stager.Stage(set, &outcome->duplicate);
  if (!s.ok()) {
    group->batch.RollbackTo(mark);
    group->mem.erase(group->mem.begin() + static_cast<std::ptrdiff_t>(mem_mark), group->mem.end());
    outcome->duplicate = false;
    return s;
  }
  if (!outcome->duplicate) {
    stager.Commit();
    outcome->attributed = stager.attributed();
    outcome->unattributed = stager.unattributed();
  }
  return Status::OK();
}

Status ApplyToMemory(const StagedGroup& group, graph::Graph* graph, vector::VectorSet* vectors,
                     const VectorSink& vector_sink) {
  Status first_error;
  for (const MemOp& m : group.mem) {
    Status s;
    switch (m.kind) {
      case MemOp::Kind::kAddNode:
        graph->RestoreNode(m.node, m.type, m.key(), m.props());
        break;
      case MemOp::Kind::kSetProperties:
        graph->SetProperties(m.node, m.props());
        break;
      case MemOp::Kind::kRemoveNode:
        graph->RemoveNode(m.node);
        break;
      case MemOp::Kind::kPutEdge:
        graph->PutEdge(m.node, m.type, m.dst, m.weight, m.count, m.ts);
        break;
      case MemOp::Kind::kRemoveEdge:
        graph->RemoveEdge(m.node, m.type, m.dst);
        break;
      case MemOp::Kind::kPutVector:
        if (vector_sink) {
          s = vector_sink(m);
        } else if (vector::VectorIndex* index = vectors->Get(m.space)) {
          s = index->Upsert(m.node, m.values());
        } else {
          s = Status::Internal("no index for vector space " + std::to_string(m.space));
        }
        break;
      case MemOp::Kind::kRemoveVector:
        if (vector_sink) {
          s = vector_sink(m);
        } else if (vector::VectorIndex* index = vectors->Get(m.space)) {
          s = index->Remove(m.node);
        }
        break;
    }
    // Keep applying: every later op is independent of a vector that failed to go in.
    if (!s.ok() && first_error.ok()) {
      first_error = Status::Internal("applying a durable write to memory failed: " + s.ToString());
    }
  }
  return first_error;
}

}  // namespace pathwise
