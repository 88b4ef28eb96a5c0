// graph/: the in-memory serving structures of the graph: the node dictionary (type, external id)
// <-> dense NodeId, node properties, and the topology (per node, per edge type and direction, the
// neighbours with weight, count and timestamp in contiguous memory).
//
// Built from storage::Store at open and kept identical to it by the single writer (query's
// Database), which calls the mutators below after (or together with) each durable write.
//
// Concurrency: any number of readers run concurrently with the single writer. Per-node state is
// guarded by striped reader/writer spin locks; a writer holds a stripe only to change one node's
// list (O(1) amortised, O(degree) for an in-place update), so a reader waits microseconds at most.
// A reader sees each node's list atomically; a multi-node write may be observed half-applied by a
// concurrent reader (read-committed per node), never torn within one list.
//
// Boost.Graph: graph/ adapts this topology to BGL's graph_traits internally (no copy) and exposes
// algorithms (explanation paths, later walks and PageRank) through functions below; no BGL type
// appears here.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "storage/storage.h"

namespace pathwise::graph {

using storage::Direction;

struct Neighbor {
  NodeId node;
  float weight;
  uint32_t count;
  int64_t ts;
};

// A property name interned to a small integer for fast in-memory access.
using PropId = uint32_t;
constexpr PropId kNoProp = UINT32_MAX;

class Graph {
 public:
  // Rebuilds the serving structures from the store (nodes, then forward edges; reverse lists are
  // derived in memory). Cost is one sequential scan of each column family.
  static Result<std::unique_ptr<Graph>> Load(const storage::Store& store, const Schema& schema);
  // An empty graph (tests, new databases).
  static std::unique_ptr<Graph> CreateEmpty();

  // ---- Topology snapshot (docs/architecture-serving.md, "Topology snapshot") ---------------
  // The file format version SaveSnapshot writes and LoadSnapshot accepts.
  static constexpr uint64_t kSnapshotFormat = 2;
  // Writes the serving structures (node types, keys, properties, every adjacency list with its
  // weights, counts, timestamps and rank order) to path + ".tmp", fsyncs it and renames it over
  // path, stamped with `marker` (the store's sequence number this graph equals). Lists are
  // written in the order Load builds them (ascending neighbour id), so a graph loaded from the
  // snapshot equals one rebuilt from the store. Returns the file's size, or IOError (no file is
  // left at path's temporary name). REQUIRES: no concurrent mutator (readers may run).
  // Cost: one pass over every slot and list; lists changed since Load are sorted on the way.
  Result<uint64_t> SaveSnapshot(const std::string& path, uint64_t marker) const;
  // Loads a snapshot written by SaveSnapshot: the file is read into one block of memory on huge
  // pages (graph/huge_pages.h) and checksummed (CRC32C); every adjacency list is used where it
  // lies in that block, which the graph keeps: no allocation per list, and a list moves to memory
  // of its own only on its first change. The file is not used after this returns. NotFound when path does not exist;
  // Corruption naming the reason when it is of another format version, damaged or truncated
  // (checksum, or any count, offset or node id out of range), or stamped with a marker other
  // than `expected_marker` (stale: the store changed after it was written).
  static Result<std::unique_ptr<Graph>> LoadSnapshot(const std::string& path,
                                                     uint64_t expected_marker);
  ~Graph();

  // ---- Node dictionary -------------------------------------------------------------------
  NodeId Lookup(TypeId type, std::string_view key) const;  // kInvalidNode if absent
  // Lookup of every key (a query's `id IN [...]`): out[i] = Lookup(type, keys[i]). One read of
  // the dictionary's lock for all of them, so the look-ups' cache misses overlap instead of
  // each waiting behind the lock of the next. REQUIRES: out holds keys.size() ids.
  void LookupMany(TypeId type, std::span<const std::string_view> keys, NodeId* out) const;
  bool Exists(NodeId id) const;
  TypeId TypeOf(NodeId id) const;     // kInvalidType if absent
  std::string KeyOf(NodeId id) const;  // "" if absent
  // Upper bound (exclusive) of ids ever allocated; size bitsets with it.
  NodeId IdBound() const;
  // Live nodes of one type, in id order (copy).
  std::vector<NodeId> NodesOfType(TypeId type) const;
  size_t NodeCount() const;  // live nodes
  size_t EdgeCount() const;  // live edges (each counted once)

  // ---- Properties (in-memory mirror of every node's properties) ---------------------------
  PropId FindProperty(std::string_view name) const;  // kNoProp if no node ever had it
  // Copies the property into *out and returns true, or returns false (absent / no node).
  bool GetProperty(NodeId id, PropId prop, Value* out) const;
  // A hint, no effect on results: starts loading the slots, property arrays (up to 512 bytes
  // each) and adjacency list headers of ids into the CPU caches, so that a following pass of
  // reads over many random nodes (a filter over a few hundred ANN hits) overlaps its cache
  // misses instead of taking them one after another.
  void Prefetch(std::span<const NodeId> ids) const;
  Properties GetProperties(NodeId id) const;

  // ---- Topology ---------------------------------------------------------------------------
  // Visits the neighbours of id over edges of edge_type in direction dir, in the list's order
  // (insertion order; after Load, dst order for out-lists and src order for in-lists; see
  // TopNeighbors for ranked access). fn returns false to stop.
  // Holds id's stripe in shared mode while visiting: keep fn short (no I/O, no other locks).
  void ForEachNeighbor(NodeId id, TypeId edge_type, Direction dir,
                       const std::function<bool(const Neighbor&)>& fn) const;
  // Copies up to limit neighbours with the largest weight (ties: most recent first, then the
  // smallest node id; NaN weights rank last) into *out, in that order. Returns the full degree,
  // so callers can tell when the cap truncated the list. O(min(limit, degree)): every list keeps
  // its rank order up to date on each write, so the result is a prefix of it.
  size_t TopNeighbors(NodeId id, TypeId edge_type, Direction dir, size_t limit,
                      std::vector<Neighbor>* out) const;
  size_t Degree(NodeId id, TypeId edge_type, Direction dir) const;
  // The edge src -[type]-> dst, if present.
  bool FindEdge(NodeId src, TypeId edge_type, NodeId dst, Neighbor* out) const;
  struct DegreeEntry {
    TypeId edge_type;
    Direction dir;
    size_t degree;
  };
  std::vector<DegreeEntry> Degrees(NodeId id) const;

  // ---- Mutators: REQUIRES the caller is the single writer ---------------------------------
  // Creates a node with the next dense id. REQUIRES: (type, key) absent.
  NodeId AddNode(TypeId type, std::string_view key, const Properties& props);
  // Re-creates a node with a known id (used when replaying storage). Grows the id space.
  void RestoreNode(NodeId id, TypeId type, std::string_view key, const Properties& props);
  void SetProperties(NodeId id, const Properties& props);  // replaces all properties
  // Removes the node and all its edges (both directions). Returns the removed edges as
  // (src, type, dst) so the caller can delete them from storage in the same batch.
  struct EdgeKey {
    NodeId src;
    TypeId type;
    NodeId dst;
  };
  std::vector<EdgeKey> RemoveNode(NodeId id);
  // Inserts or overwrites src -[type]-> dst (both directions' lists) with absolute values.
  // O(log degree) plus moving the entry's rank position (4 bytes per entry it passes), so a new
  // edge on a 100k-degree hub can cost tens of microseconds.
  void PutEdge(NodeId src, TypeId edge_type, NodeId dst, float weight, uint32_t count, int64_t ts);
  // Returns false if the edge did not exist. O(degree) in both lists.
  bool RemoveEdge(NodeId src, TypeId edge_type, NodeId dst);
  // Replaces every edge of edge_type by `edges` (a model's output: the similarity job). Edges
  // whose endpoints do not exist are skipped; for a repeated (src, dst) the last one counts.
  // Each node's list of that type (either direction) is built aside and swapped in under its
  // stripe in one step, so a reader sees any one list entirely old or entirely new; the lists of
  // different nodes are swapped one after another, in id order within each of `threads`
  // contiguous id ranges, which are swapped at once. Returns the edges installed. Cost: a pass
  // over the node ids plus O(n) over the new edges when they come sorted by (src, dst), O(n log
  // n) otherwise; memory 8 bytes per edge beside them. REQUIRES: fewer than 2^32 edges.
  using NewEdge = storage::ModelEdge;
  size_t ReplaceEdgesOfType(TypeId edge_type, std::vector<NewEdge> edges, size_t threads = 1);
  // (src, dst) order of new edges, and sorting into it keeping the last of a repeated pair (what
  // ReplaceEdgesOfType does first; a no-op sort for sorted input).
  static bool NewEdgeBefore(const NewEdge& a, const NewEdge& b);
  static void SortUniqueEdges(std::vector<NewEdge>* edges);

  // Approximate bytes held by the serving structures.
  size_t MemoryBytes() const;

 private:
  Graph();
  struct Impl;
  std::unique_ptr<Impl> impl_;
  friend struct GraphAccess;  // the BGL adapter inside graph/
};

// ---- Algorithms (Boost.Graph over the serving topology) -------------------------------------

struct PathStep {
  NodeId from;
  TypeId edge_type;
  Direction dir;  // kOut: from -[type]-> to ; kIn: from <-[type]- to
  NodeId to;
  float weight;
  int64_t ts;
  uint32_t count = 0;
};
using Path = std::vector<PathStep>;

struct PathSearchOptions {
  size_t max_hops = 3;
  // Edge types that may be used; empty means all.
  std::vector<TypeId> edge_types;
  // Bound on nodes expanded, so a search around a hub stays within a few milliseconds.
  size_t max_expanded = 20000;
  // At most this many edges per (node, edge type, direction) are followed, the strongest first
  // (TopNeighbors' order); 0 follows all. Edges straight to a target are always seen.
  size_t max_neighbors_per_list = 0;
  Deadline deadline = Deadline::Never();
};

// The best (strongest) short path from source to target: Dijkstra (BGL) over edge cost
// 1 / (1 + weight) per hop, restricted to max_hops. Returns NotFound if none exists within the
// bounds, DeadlineExceeded if the deadline passed.
Result<Path> BestPath(const Graph& graph, NodeId source, NodeId target,
                      const PathSearchOptions& options);

// The same for several targets in ONE search (EXPLAIN asks for the paths of all its results at
// once): element i is the best path to targets[i], or empty when none was found within the
// bounds (or targets[i] == source). The search ends when every target was reached or a bound
// was hit. Errors: NotFound if source does not exist, DeadlineExceeded.
Result<std::vector<Path>> BestPaths(const Graph& graph, NodeId source,
                                    const std::vector<NodeId>& targets,
                                    const PathSearchOptions& options);

struct ShortestPathOptions {
  size_t max_hops = 10;            // longer paths are not looked for
  std::vector<TypeId> edge_types;  // edge types that may be used; empty: all
  bool follow_out = true;          // steps from -[type]-> to
  bool follow_in = true;           // steps from <-[type]- to
  bool all = false;                // every shortest path (allShortestPaths), else one
  size_t max_paths = 1000;         // with all: at most this many paths are returned
  // At most this many edges per (node, edge type, direction) are followed, the strongest first
  // (TopNeighbors' order); 0 follows all. Edges straight to the target are always seen.
  size_t max_neighbors_per_list = 0;
  size_t max_expanded = 1'000'000;  // nodes expanded before the search gives up
  Deadline deadline = Deadline::Never();
};

// The shortest paths (fewest edges) from source to target: a breadth-first search (BGL) that
// stops after the level where target is first reached. One path (the first found), or with
// options.all every path of that length (up to max_paths, in discovery order). Empty when there
// is none within max_hops; one empty path when source == target. Errors: NotFound if source
// or target does not exist, ResourceExhausted past max_expanded, DeadlineExceeded (checked every
// 256 nodes expanded).
Result<std::vector<Path>> ShortestPaths(const Graph& graph, NodeId source, NodeId target,
                                        const ShortestPathOptions& options);

}  // namespace pathwise::graph
