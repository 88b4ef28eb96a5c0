// Graph: node dictionary, properties and topology reads/writes (layout in graph_impl.h).
#include "graph/graph.h"

#include <algorithm>
#include <mutex>
#include <shared_mutex>

#include "graph/graph_impl.h"

namespace pathwise::graph {

Graph::Graph() : impl_(std::make_unique<Impl>()) {}
Graph::~Graph() = default;

std::unique_ptr<Graph> Graph::CreateEmpty() { return std::unique_ptr<Graph>(new Graph()); }

// ---- Node dictionary ----------------------------------------------------------------------

NodeId Graph::Lookup(TypeId type, std::string_view key) const {
  std::shared_lock lock(impl_->dict_mu);
  if (type >= impl_->dicts.size()) return kInvalidNode;
  const auto& by_key = impl_->dicts[type].by_key;
  auto it = by_key.find(key);
  return it == by_key.end() ? kInvalidNode : it->second;
}

void Graph::LookupMany(TypeId type, std::span<const std::string_view> keys, NodeId* out) const {
  std::shared_lock lock(impl_->dict_mu);
  if (type >= impl_->dicts.size()) {
    std::fill(out, out + keys.size(), kInvalidNode);
    return;
  }
  const auto& by_key = impl_->dicts[type].by_key;
  for (size_t i = 0; i < keys.size(); ++i) {
    auto it = by_key.find(keys[i]);
    out[i] = it == by_key.end() ? kInvalidNode : it->second;
  }
}

bool Graph::Exists(NodeId id) const { return TypeOf(id) != kInvalidType; }

TypeId Graph::TypeOf(NodeId id) const {
  if (!impl_->Valid(id)) return kInvalidType;
  std::shared_lock lock(impl_->Stripe(id));
  return impl_->Slot(id).type;
}

std::string Graph::KeyOf(NodeId id) const {
  if (!impl_->Valid(id)) return "";
  std::shared_lock lock(impl_->Stripe(id));
  return impl_->Slot(id).key;
}

NodeId Graph::IdBound() const { return impl_->id_bound.load(std::memory_order_acquire); }

std::vector<NodeId> Graph::NodesOfType(TypeId type) const {
  std::shared_lock lock(impl_->dict_mu);
  if (type >= impl_->dicts.size()) return {};
  return impl_->dicts[type].ids;
}

size_t Graph::NodeCount() const { return impl_->node_count.load(std::memory_order_relaxed); }
size_t Graph::EdgeCount() const { return impl_->edge_count.load(std::memory_order_relaxed); }

// ---- Properties ---------------------------------------------------------------------------

PropId Graph::FindProperty(std::string_view name) const {
  std::shared_lock lock(impl_->prop_mu);
  auto it = impl_->prop_ids.find(name);
  return it == impl_->prop_ids.end() ? kNoProp : it->second;
}

bool Graph::GetProperty(NodeId id, PropId prop, Value* out) const {
  if (!impl_->Valid(id) || prop == kNoProp) return false;
  std::shared_lock lock(impl_->Stripe(id));
  const auto& props = impl_->Slot(id).props;
  auto it = std::lower_bound(props.begin(), props.end(), prop,
                             [](const auto& p, PropId want) { return p.first < want; });
  if (it == props.end() || it->first != prop) return false;
  *out = it->second;
  return true;
}

void Graph::Prefetch(std::span<const NodeId> ids) const {
  const NodeId bound = impl_->id_bound.load(std::memory_order_acquire);
  // Pass 1: the slots themselves (their addresses need no lock).
  for (NodeId id : ids) {
    if (id < bound) __builtin_prefetch(&impl_->Slot(id));
  }
  // Pass 2: what the slots point to; reading the pointers needs the node's stripe. The whole
  // property array (a filter's property may sit anywhere in it), up to kMaxPropLines lines.
  constexpr size_t kMaxPropLines = 8;
  for (NodeId id : ids) {
    if (id >= bound) continue;
    const char* props;
    size_t prop_bytes;
    const void* lists;
    {
      std::shared_lock lock(impl_->Stripe(id));
      const NodeSlot& slot = impl_->Slot(id);
      props = reinterpret_cast<const char*>(slot.props.data());
      prop_bytes = slot.props.size() * sizeof(slot.props[0]);
      lists = slot.lists.data();
    }
    if (props != nullptr) {
      const size_t end = std::min(prop_bytes, kMaxPropLines * 64);
      for (size_t at = 0; at < end; at += 64) __builtin_prefetch(props + at);
    }
    if (lists != nullptr) __builtin_prefetch(lists);
  }
}

Properties Graph::GetProperties(NodeId id) const {
  Properties out;
  if (!impl_->Valid(id)) return out;
  std::vector<std::pair<PropId, Value>> copy;
  {
    std::shared_lock lock(impl_->Stripe(id));
    copy = impl_->Slot(id).props;
  }
  std::shared_lock lock(impl_->prop_mu);
  for (auto& [pid, value] : copy) out.emplace(impl_->prop_names[pid], std::move(value));
  return out;
}

// ---- Topology reads -----------------------------------------------------------------------

void Graph::ForEachNeighbor(NodeId id, TypeId edge_type, Direction dir,
                            const std::function<bool(const Neighbor&)>& fn) const {
  if (!impl_->Valid(id)) return;
  std::shared_lock lock(impl_->Stripe(id));
  const AdjList* list = impl_->Slot(id).FindList(edge_type, dir);
  if (list == nullptr) return;
  for (const Neighbor& n : list->items) {
    if (!fn(n)) return;
  }
}

size_t Graph::TopNeighbors(NodeId id, TypeId edge_type, Direction dir, size_t limit,
                           std::vector<Neighbor>* out) const {
  out->clear();
  if (!impl_->Valid(id)) return 0;
  std::shared_lock lock(impl_->Stripe(id));
  const AdjList* list = impl_->Slot(id).FindList(edge_type, dir);
  if (list == nullptr) return 0;
  // The list keeps its rank order (AdjList::ranked), so the top `limit` is a prefix: O(limit).
  const size_t degree = list->items.size();
  const size_t n = std::min(limit, degree);
  out->resize(n);
  const Neighbor* items = list->items.data();
  Neighbor* dst = out->data();
  if (list->ranked.empty()) {
    if (n > 0) dst[0] = items[0];
  } else {
    const uint32_t* order = list->ranked.data();
    for (size_t r = 0; r < n; ++r) dst[r] = items[order[r]];
  }
  return degree;
}

size_t Graph::Degree(NodeId id, TypeId edge_type, Direction dir) const {
  if (!impl_->Valid(id)) return 0;
  std::shared_lock lock(impl_->Stripe(id));
  const AdjList* list = impl_->Slot(id).FindList(edge_type, dir);
  return list == nullptr ? 0 : list->items.size();
}

bool Graph::FindEdge(NodeId src, TypeId edge_type, NodeId dst, Neighbor* out) const {
  if (!impl_->Valid(src)) return false;
  std::shared_lock lock(impl_->Stripe(src));
  const AdjList* list = impl_->Slot(src).FindList(edge_type, Direction::kOut);
  if (list == nullptr) return false;
  int64_t pos = list->Find(dst);
  if (pos < 0) return false;
  if (out != nullptr) *out = list->items[pos];
  return true;
}

std::vector<Graph::DegreeEntry> Graph::Degrees(NodeId id) const {
  std::vector<DegreeEntry> out;
  if (!impl_->Valid(id)) return out;
  std::shared_lock lock(impl_->Stripe(id));
  for (const AdjList& l : impl_->Slot(id).lists) {
    if (!l.items.empty()) out.push_back({l.type, l.dir, l.items.size()});
  }
  return out;
}

// ---- Mutators -----------------------------------------------------------------------------

NodeId Graph::AddNode(TypeId type, std::string_view key, const Properties& props) {
  NodeId id = IdBound();
  RestoreNode(id, type, key, props);
  return id;
}

void Graph::RestoreNode(NodeId id, TypeId type, std::string_view key, const Properties& props) {
  if (id == kInvalidNode || type == kInvalidType) return;
  auto interned = impl_->InternProperties(props);
  if (id >= IdBound()) impl_->GrowTo(id + 1);
  bool created = false;
  {
    std::unique_lock lock(impl_->Stripe(id));
    NodeSlot& slot = impl_->Slot(id);
    created = slot.type == kInvalidType;
    if (!created && (slot.type != type || slot.key != key)) {
      // Replaying a different node into a used id: drop the old dictionary entry.
      impl_->DictErase(slot.type, slot.key, id);
      if (slot.type != type) {  // snapshots copied the old type
        for (const AdjList& l : slot.lists) impl_->MarkChanged(slot, l.type);
      }
    }
    slot.type = type;
    slot.key.assign(key);
    slot.props = std::move(interned);
  }
  impl_->DictInsert(type, key, id);
  if (created) impl_->node_count.fetch_add(1, std::memory_order_relaxed);
}

void Graph::SetProperties(NodeId id, const Properties& props) {
  if (!impl_->Valid(id)) return;
  auto interned = impl_->InternProperties(props);
  std::unique_lock lock(impl_->Stripe(id));
  NodeSlot& slot = impl_->Slot(id);
  if (slot.type == kInvalidType) return;
  slot.props = std::move(interned);
}

std::vector<Graph::EdgeKey> Graph::RemoveNode(NodeId id) {
  std::vector<EdgeKey> removed;
  if (!impl_->Valid(id)) return removed;
  std::vector<AdjList> lists;
  TypeId type;
  std::string key;
  {
    std::unique_lock lock(impl_->Stripe(id));
    NodeSlot& slot = impl_->Slot(id);
    if (slot.type == kInvalidType) return removed;
    type = slot.type;
    key = std::move(slot.key);
    for (const AdjList& l : slot.lists) impl_->MarkChanged(slot, l.type);
    lists = std::move(slot.lists);
    slot.lists.clear();
    slot.props.clear();
    slot.key.clear();
    slot.type = kInvalidType;
  }
  impl_->DictErase(type, key, id);
  impl_->node_count.fetch_sub(1, std::memory_order_relaxed);
  for (const AdjList& list : lists) {
    Direction other_dir = list.dir == Direction::kOut ? Direction::kIn : Direction::kOut;
    for (const Neighbor& n : list.items) {
      if (n.node == id) {
        // A self-loop sits in both of this node's lists; report it once (from the out list).
        if (list.dir == Direction::kOut) removed.push_back({id, list.type, id});
        continue;
      }
      {
        std::unique_lock lock(impl_->Stripe(n.node));
        NodeSlot& other_slot = impl_->Slot(n.node);
        if (AdjList* other = other_slot.FindList(list.type, other_dir)) other->Erase(id);
        impl_->MarkChanged(other_slot, list.type);
      }
      if (list.dir == Direction::kOut) {
        removed.push_back({id, list.type, n.node});
      } else {
        removed.push_back({n.node, list.type, id});
      }
    }
  }
  impl_->edge_count.fetch_sub(removed.size(), std::memory_order_relaxed);
  return removed;
}

void Graph::PutEdge(NodeId src, TypeId edge_type, NodeId dst, float weight, uint32_t count,
                    int64_t ts) {
  if (!Exists(src) || !Exists(dst) || edge_type == kInvalidType) return;
  bool added;
  {
    std::unique_lock lock(impl_->Stripe(src));
    NodeSlot& slot = impl_->Slot(src);
    added = slot.GetOrAddList(edge_type, Direction::kOut).Put({dst, weight, count, ts});
    impl_->MarkChanged(slot, edge_type);
  }
  {
    std::unique_lock lock(impl_->Stripe(dst));
    NodeSlot& slot = impl_->Slot(dst);
    slot.GetOrAddList(edge_type, Direction::kIn).Put({src, weight, count, ts});
    impl_->MarkChanged(slot, edge_type);
  }
  if (added) impl_->edge_count.fetch_add(1, std::memory_order_relaxed);
}

bool Graph::RemoveEdge(NodeId src, TypeId edge_type, NodeId dst) {
  if (!impl_->Valid(src) || !impl_->Valid(dst)) return false;
  bool existed = false;
  {
    std::unique_lock lock(impl_->Stripe(src));
    NodeSlot& slot = impl_->Slot(src);
    if (AdjList* l = slot.FindList(edge_type, Direction::kOut)) existed = l->Erase(dst);
    if (existed) impl_->MarkChanged(slot, edge_type);
  }
  if (!existed) return false;
  {
    std::unique_lock lock(impl_->Stripe(dst));
    NodeSlot& slot = impl_->Slot(dst);
    if (AdjList* l = slot.FindList(edge_type, Direction::kIn)) l->Erase(src);
    impl_->MarkChanged(slot, edge_type);
  }
  impl_->edge_count.fetch_sub(1, std::memory_order_relaxed);
  return true;
}

size_t Graph::MemoryBytes() const {
  size_t bytes = Impl::kMaxChunks * sizeof(void*) + Impl::kStripes * sizeof(RwSpinLock);
  NodeId bound = IdBound();
  size_t chunks = (static_cast<size_t>(bound) + Impl::kChunkSize - 1) / Impl::kChunkSize;
  bytes += chunks * Impl::kChunkSize * sizeof(NodeSlot);
  for (NodeId id = 0; id < bound; ++id) {
    std::shared_lock lock(impl_->Stripe(id));
    const NodeSlot& slot = impl_->Slot(id);
    if (slot.type == kInvalidType) continue;
    bytes += slot.key.capacity() > 15 ? slot.key.capacity() : 0;
    bytes += slot.props.capacity() * sizeof(slot.props[0]);
    bytes += slot.lists.capacity() * sizeof(AdjList);
    for (const AdjList& l : slot.lists) {
      bytes += l.items.capacity() * sizeof(Neighbor) + l.ranked.capacity() * sizeof(uint32_t);
      if (l.index) bytes += sizeof(NodeIndexMap) + l.index->MemoryBytes();
    }
  }
  bytes += impl_->image_bytes;  // the block loaded lists borrow from (their capacity is 0)
  std::shared_lock lock(impl_->dict_mu);
  for (const TypeDict& d : impl_->dicts) {
    bytes += d.by_key.size() * 64 + d.ids.capacity() * sizeof(NodeId);
  }
  return bytes;
}

}  // namespace pathwise::graph
