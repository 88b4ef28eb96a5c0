// Adjacency lists and node slots (see graph_impl.h).
#include <algorithm>

#include "graph/graph_impl.h"
#include "graph/relation_snapshot.h"

namespace pathwise::graph {

int64_t AdjList::Find(NodeId node) const {
  if (index) {
    uint32_t pos = index->Find(node);
    return pos == NodeIndexMap::kMissing ? -1 : static_cast<int64_t>(pos);
  }
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].node == node) return static_cast<int64_t>(i);
  }
  return -1;
}

size_t AdjList::RankOf(uint32_t pos) const {
  const Neighbor& key = items[pos];
  auto it = std::lower_bound(ranked.begin(), ranked.end(), key,
                             [&](uint32_t p, const Neighbor& k) { return RanksBefore(items[p], k); });
  return static_cast<size_t>(it - ranked.begin());
}

bool AdjList::Put(const Neighbor& n) {
  int64_t found = Find(n.node);
  if (found >= 0) {
    uint32_t pos = static_cast<uint32_t>(found);
    if (ranked.empty()) {  // a single entry: nothing to reorder
      items.MutableData()[pos] = n;
      return false;
    }
    size_t old_rank = RankOf(pos);
    items.MutableData()[pos] = n;
    auto before = [&](uint32_t p, const Neighbor& k) { return RanksBefore(items[p], k); };
    uint32_t* first = ranked.MutableData();
    uint32_t* last = first + ranked.size();
    if (old_rank > 0 && RanksBefore(n, items[first[old_rank - 1]])) {
      // Moved up: everything in [new_rank, old_rank) shifts down one rank.
      uint32_t* to = std::lower_bound(first, first + old_rank, n, before);
      std::rotate(to, first + old_rank, first + old_rank + 1);
    } else if (old_rank + 1 < ranked.size() && RanksBefore(items[first[old_rank + 1]], n)) {
      // Moved down: everything in (old_rank, new_rank] shifts up one rank.
      uint32_t* to = std::lower_bound(first + old_rank + 1, last, n, before);
      std::rotate(first + old_rank, first + old_rank + 1, to);
    }
    return false;
  }
  uint32_t pos = static_cast<uint32_t>(items.size());
  items.push_back(n);
  if (index) {
    index->Set(n.node, pos);
  } else {
    BuildIndexIfLarge();
  }
  if (items.size() == 2) {
    BuildRanked();
  } else if (items.size() > 2) {
    const uint32_t* at = std::lower_bound(
        ranked.begin(), ranked.end(), n,
        [&](uint32_t p, const Neighbor& k) { return RanksBefore(items[p], k); });
    ranked.insert(static_cast<size_t>(at - ranked.begin()), pos);
  }
  return true;
}

bool AdjList::Erase(NodeId node) {
  int64_t found = Find(node);
  if (found < 0) return false;
  uint32_t pos = static_cast<uint32_t>(found);
  if (!ranked.empty()) {
    ranked.erase(RankOf(pos));
    uint32_t* p = ranked.MutableData();
    for (size_t r = 0; r < ranked.size(); ++r) p[r] -= p[r] > pos ? 1 : 0;
  }
  items.erase(pos);
  if (items.size() < 2) {
    ranked.clear();
    ranked.shrink_to_fit();
  }
  if (index) {
    index->Erase(node);
    for (size_t i = pos; i < items.size(); ++i) index->Set(items[i].node, static_cast<uint32_t>(i));
    if (items.size() < kIndexThreshold / 2) index.reset();
  }
  return true;
}

void AdjList::BuildRanked() {
  if (items.size() < 2) {
    ranked.clear();
    ranked.shrink_to_fit();
    return;
  }
  ranked.resize(items.size());
  uint32_t* order = ranked.MutableData();
  for (uint32_t i = 0; i < ranked.size(); ++i) order[i] = i;
  std::sort(order, order + ranked.size(),
            [&](uint32_t a, uint32_t b) { return RanksBefore(items[a], items[b]); });
}

void AdjList::BuildIndexIfLarge() {
  if (index || items.size() < kIndexThreshold) return;
  index = std::make_unique<NodeIndexMap>(items.size());
  for (size_t i = 0; i < items.size(); ++i) index->Set(items[i].node, static_cast<uint32_t>(i));
}

AdjList* NodeSlot::FindList(TypeId t, Direction d) {
  for (AdjList& l : lists) {
    if (l.type == t && l.dir == d) return &l;
  }
  return nullptr;
}

const AdjList* NodeSlot::FindList(TypeId t, Direction d) const {
  for (const AdjList& l : lists) {
    if (l.type == t && l.dir == d) return &l;
  }
  return nullptr;
}

AdjList& NodeSlot::GetOrAddList(TypeId t, Direction d) {
  if (AdjList* l = FindList(t, d)) return *l;
  AdjList& l = lists.emplace_back();
  l.type = t;
  l.dir = d;
  return l;
}

Graph::Impl::Impl()
    : chunks(new std::atomic<NodeSlot*>[kMaxChunks]),
      stripes(new RwSpinLock[kStripes]),
      snapshots(std::make_unique<RelationSnapshots>()) {
  for (size_t i = 0; i < kMaxChunks; ++i) chunks[i].store(nullptr, std::memory_order_relaxed);
}

Graph::Impl::~Impl() {
  snapshots.reset();  // waits for a snapshot build, which reads the nodes freed below
  for (size_t i = 0; i < kMaxChunks; ++i) delete[] chunks[i].load(std::memory_order_relaxed);
}

void Graph::Impl::MarkChanged(NodeSlot& slot, TypeId type) {
  uint64_t version = topo_version.fetch_add(1) + 1;
  slot.lists_changed.store(version, std::memory_order_release);
  type_changed[type % kTypeBuckets].store(version, std::memory_order_release);
  type_changes[type % kTypeBuckets].fetch_add(1, std::memory_order_release);
}

void Graph::Impl::GrowTo(NodeId bound) {
  NodeId cur = id_bound.load(std::memory_order_relaxed);
  if (bound <= cur) return;
  size_t last_chunk = (static_cast<size_t>(bound) - 1) >> kChunkBits;
  for (size_t c = cur == 0 ? 0 : (cur - 1) >> kChunkBits; c <= last_chunk; ++c) {
    if (chunks[c].load(std::memory_order_relaxed) == nullptr) {
      chunks[c].store(new NodeSlot[kChunkSize], std::memory_order_release);
    }
  }
  id_bound.store(bound, std::memory_order_release);
}

PropId Graph::Impl::InternProperty(std::string_view name) {
  {
    std::shared_lock lock(prop_mu);
    auto it = prop_ids.find(name);
    if (it != prop_ids.end()) return it->second;
  }
  std::unique_lock lock(prop_mu);
  auto it = prop_ids.find(name);
  if (it != prop_ids.end()) return it->second;
  PropId id = static_cast<PropId>(prop_names.size());
  prop_names.emplace_back(name);
  prop_ids.emplace(std::string(name), id);
  return id;
}

std::vector<std::pair<PropId, Value>> Graph::Impl::InternProperties(const Properties& props) {
  std::vector<std::pair<PropId, Value>> out;
  out.reserve(props.size());
  for (const auto& [name, value] : props) out.emplace_back(InternProperty(name), value);
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

void Graph::Impl::DictInsert(TypeId type, std::string_view key, NodeId id) {
  std::unique_lock lock(dict_mu);
  if (dicts.size() <= type) dicts.resize(static_cast<size_t>(type) + 1);
  TypeDict& d = dicts[type];
  d.by_key.insert_or_assign(std::string(key), id);
  if (d.ids.empty() || d.ids.back() < id) {
    d.ids.push_back(id);
  } else {
    auto it = std::lower_bound(d.ids.begin(), d.ids.end(), id);
    if (it == d.ids.end() || *it != id) d.ids.insert(it, id);
  }
}

void Graph::Impl::DictErase(TypeId type, std::string_view key, NodeId id) {
  std::unique_lock lock(dict_mu);
  if (dicts.size() <= type) return;
  TypeDict& d = dicts[type];
  auto it = d.by_key.find(key);
  if (it != d.by_key.end() && it->second == id) d.by_key.erase(it);
  auto pos = std::lower_bound(d.ids.begin(), d.ids.end(), id);
  if (pos != d.ids.end() && *pos == id) d.ids.erase(pos);
}

}  // namespace pathwise::graph
