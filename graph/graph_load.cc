// Graph::Load: rebuilds the serving structures from the store in two sequential scans.
#include <mutex>

#include "graph/graph.h"
#include "graph/graph_impl.h"

namespace pathwise::graph {

Result<std::unique_ptr<Graph>> Graph::Load(const storage::Store& store, const Schema& schema) {
  std::unique_ptr<Graph> graph = CreateEmpty();
  Impl& impl = *graph->impl_;

  // Nodes arrive in id order: slots are filled without locks (nobody else sees this graph yet).
  Status s = store.ScanNodes([&](const storage::NodeRecord& rec) {
    if (rec.id == kInvalidNode || rec.type == kInvalidType) return true;
    if (rec.id >= impl.id_bound.load(std::memory_order_relaxed)) {
      // Grow in chunk steps so GrowTo's loop stays amortised.
      impl.GrowTo(rec.id + 1);
    }
    NodeSlot& slot = impl.Slot(rec.id);
    if (slot.type == kInvalidType) impl.node_count.fetch_add(1, std::memory_order_relaxed);
    slot.type = rec.type;
    slot.key = rec.key;
    slot.props = impl.InternProperties(rec.props);
    if (impl.dicts.size() <= rec.type) impl.dicts.resize(static_cast<size_t>(rec.type) + 1);
    TypeDict& dict = impl.dicts[rec.type];
    dict.by_key.insert_or_assign(rec.key, rec.id);
    dict.ids.push_back(rec.id);  // ids ascend
    return true;
  });
  PW_RETURN_IF_ERROR(s);

  // Forward edges arrive sorted by (src, type, dst): out-lists are appended in order, in-lists
  // in src order. No duplicate (src, type, dst) exists, so appends skip the replace lookup.
  size_t edges = 0;
  size_t dangling = 0;
  NodeId bound = impl.id_bound.load(std::memory_order_relaxed);
  // The scan is sorted by (src, type): remember the current out-list instead of looking it up.
  NodeId last_src = kInvalidNode;
  TypeId last_type = kInvalidType;
  AdjList* out_list = nullptr;
  s = store.ScanEdges([&](const storage::EdgeRecord& rec) {
    if (rec.src >= bound || rec.dst >= bound || impl.Slot(rec.src).type == kInvalidType ||
        impl.Slot(rec.dst).type == kInvalidType || rec.type == kInvalidType) {
      ++dangling;  // an edge whose endpoint is gone: not servable, skip it
      return true;
    }
    float w = static_cast<float>(rec.weight);
    if (rec.src != last_src || rec.type != last_type) {
      out_list = &impl.Slot(rec.src).GetOrAddList(rec.type, Direction::kOut);
      last_src = rec.src;
      last_type = rec.type;
    }
    out_list->items.push_back({rec.dst, w, rec.count, rec.ts});
    impl.Slot(rec.dst).GetOrAddList(rec.type, Direction::kIn).items.push_back(
        {rec.src, w, rec.count, rec.ts});
    // Adding an in-list to the current source's slot may move its lists: drop the cached pointer.
    if (rec.dst == last_src) last_src = kInvalidNode;
    ++edges;
    return true;
  });
  PW_RETURN_IF_ERROR(s);
  impl.edge_count.store(edges, std::memory_order_relaxed);

  // Trim growth slack (push_back doubles) and index the large lists.
  for (NodeId id = 0; id < bound; ++id) {
    NodeSlot& slot = impl.Slot(id);
    for (AdjList& l : slot.lists) {
      if (l.items.capacity() > l.items.size() + l.items.size() / 4 + 4) l.items.shrink_to_fit();
      l.BuildIndexIfLarge();
    }
  }
  (void)schema;
  (void)dangling;
  return graph;
}

}  // namespace pathwise::graph
