// Pathwise's embedded API: one Database handle per data directory. Everything an application,
// the HTTP server, the CLI, the demo and the benchmarks do goes through this header.
//
//   auto db = pathwise::Database::Open({}, "/var/lib/pathwise");
//   db.value()->Query("RECOMMEND (c:Item) FOR (u:User {id: $user}) ...", {{"user", "u1"}}, {});
//
// Layout of a data directory: DIR/db (RocksDB, the system of record), DIR/hnsw (index snapshots).
// Writes: one writer at a time inside (a leader batches concurrent callers into one durable
// commit: group commit); reads run concurrently and see every acknowledged write.
// Values in and out of queries are JSON (nlohmann::json): parameters, result rows, explanations.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "features/features.h"
#include "graph/graph.h"
#include "storage/schema.h"
#include "storage/status.h"
#include "query/query.h"
#include "storage/storage.h"

namespace pathwise {

struct DatabaseOptions {
  storage::StoreOptions store;
  // Fan-out cap per node per hop for RECOMMEND graph sources without MAX n PER NODE.
  size_t default_max_per_node = 100;
  // The PQL engine: plan cache size (entries and bytes), total memory of running queries.
  query::EngineOptions query_engine;
  // Save the HNSW snapshots and the topology snapshot when the database is closed (tests
  // turn it off to open as after a crash).
  bool snapshot_on_close = true;
  // Saves the snapshots of changed indexes this often in the background (0: never), so the
  // vectors replayed at open after a crash are those of at most this interval. A save holds the
  // writer role only to begin and to finish (Checkpoint).
  uint32_t checkpoint_interval_seconds = 300;
  // Impressions (decisions and their outcomes) older than this are deleted in the background:
  // at open and every hour, by one range deletion (0: kept forever). docs/feedback-loop.md.
  uint32_t impression_retention_days = 30;
  // Logged events (the event log) older than this are deleted the same way, by the time they
  // were logged (0: kept forever). Counters cannot be rebuilt beyond it: keep it at least as long
  // as the longest counter window. docs/feedback-loop.md, "The event log".
  uint32_t event_retention_days = 30;
  // ReplaceEdges and ReplaceVectors write a model of at least this many storage operations (two
  // per edge, plus one per removed edge) as sorted SST files ingested in one step
  // (storage::Store::Ingest) rather than one synced write through the memtable; smaller models
  // take the synced write. Either way the model is atomic and durable when the call returns.
  size_t model_ingest_min_ops = 100000;
};

// Size limits of written values (InvalidArgument beyond them). Ids: kMaxIdBytes (storage/schema.h).
constexpr size_t kMaxPropertyValueBytes = 1u << 20;  // one string or string list
constexpr size_t kMaxPropertiesBytes = 4u << 20;     // all properties of one node or edge

// A node named by type and external id. create_if_missing: an edge write creates the endpoint
// node (with no properties) when absent instead of failing (events for new users).
struct NodeRef {
  std::string type;
  std::string id;
  bool create_if_missing = false;
};

struct NodeWrite {
  enum class Op : uint8_t { kUpsert, kPatch, kDelete };
  Op op = Op::kUpsert;  // upsert replaces all properties; patch merges (a null value removes)
  std::string type;
  std::string id;
  Properties props;
};

struct EdgeWrite {
  enum class Op : uint8_t { kPut, kDelete };
  Op op = Op::kPut;
  std::string type;
  NodeRef from;
  NodeRef to;
  // Defaults: weight 1.0, ts = now. In accumulate mode the weight is added to the stored one,
  // the count increments and the timestamp keeps the latest; in replace mode they overwrite.
  std::optional<double> weight;
  std::optional<int64_t> ts;
  Properties props;
};

struct VectorWrite {
  enum class Op : uint8_t { kPut, kDelete };
  Op op = Op::kPut;
  std::string space;  // "Type.name"
  std::string id;     // external id of a node of that type
  std::vector<float> values;
};

struct MetaWrite {
  std::string key;
  std::optional<std::string> value;  // nullopt deletes
};

// One decision's impressions, logged under its recommendation_id (32 hex digits, the first 12
// the serving time in ms; see ValidateRecommendationId). record is what was served (surface,
// user, items with slot, score, propensity, the optional "segment", ...), stored as JSON with
// "attribution_window_ms" added; a "segment" must be an id (InvalidArgument otherwise). Writing
// the same id twice replaces the record. docs/feedback-loop.md.
struct ImpressionWrite {
  std::string recommendation_id;
  nlohmann::json record = nlohmann::json::object();
  int64_t attribution_window_ms = 24 * 3600 * 1000;  // >= 0
};

// An event's outcome for a decision. Attributed (stored next to the impression, keyed by
// event_id, in the same atomic set as the event) when the impression exists and ts is within
// [served, served + its attribution window]; otherwise nothing is stored and the outcome counts
// as unattributed (WriteOutcome). An unknown or expired id is never an error.
struct OutcomeWrite {
  std::string recommendation_id;
  std::string event_id;  // 1..kMaxIdBytes bytes
  std::string type;      // the event type
  std::string item;
  std::optional<int64_t> ts;  // default: now
};

// OK for 32 hex digits (either case); InvalidArgument naming the problem otherwise.
Status ValidateRecommendationId(std::string_view id);

// A segment (segment_item counters, docs/feedback-loop.md "Counters") as an event or a decision
// request sends it: "" (none) for null; a string of 1..kMaxIdBytes bytes of UTF-8 as it is;
// anything else InvalidArgument "<what> ...". The event log and the impression record store it.
Result<std::string> SegmentFromJson(const nlohmann::json& value, std::string_view what);

// An accepted event, appended to the event log (the `events` column family) under the next
// sequence number, which the single writer hands out in stage order (monotonic, never reused,
// recovered at open from the log's last key). Staged in the same atomic set as the event's edge
// and dedupe key: a set that fails or is a duplicate logs nothing and takes no number. Every
// logged event also feeds the declared counters (features/features.h) when it is applied. A
// segment, when not empty, is an id like the others (segment_item counters; SegmentFromJson).
struct EventWrite {
  std::string event_id;  // 1..kMaxIdBytes bytes, as are type, user and item
  std::string type;      // the event type
  std::string user;
  std::string item;
  std::optional<int64_t> ts;      // default: now
  double weight = 1.0;            // finite
  std::string recommendation_id;  // empty: none; otherwise 32 hex digits
  std::string segment;  // empty: none
};

// One entry of the event log, as read back (Database::ScanEvents).
struct LoggedEvent {
  uint64_t sequence = 0;
  std::string event_id;
  std::string type;
  std::string user;
  std::string item;
  int64_t ts = 0;         // the event's time
  int64_t logged_ms = 0;  // when the writer logged it (retention goes by this)
  double weight = 1.0;
  std::string recommendation_id;  // empty: none
  std::string segment;  // empty: none
};

// Writes applied atomically, in order: all of them are durable and visible, or none.
struct WriteSet {
  std::vector<std::variant<NodeWrite, EdgeWrite, VectorWrite, MetaWrite, ImpressionWrite,
                           OutcomeWrite, EventWrite>>
      ops;
  // If set and this meta key already exists, the whole set is skipped and reported as duplicate
  // (event dedupe); otherwise the key is written in the same atomic batch.
  std::optional<std::string> unless_meta_exists;
  // The set's number in an ordered log that drives this database (a replica applying a primary's
  // log; docs/architecture.md, "Writes"). When set, the set is applied only if the number is
  // greater than the last one applied (Database::AppliedLogSequence), and the number is recorded
  // in the same atomic batch; otherwise nothing is written and the set is reported as duplicate,
  // so entries delivered again, or replayed after a crash, change nothing. Checked before
  // unless_meta_exists. InvalidArgument for 0. A set that fails records nothing.
  std::optional<uint64_t> log_sequence;
};

// The write set of one accepted event, as POST /v1/events applies it: the event's edge, its
// outcome when event.recommendation_id is set (an OutcomeWrite with the event's id, type, item
// and ts), its event log entry, and its dedupe key "event/<event_id>" (a set whose event_id was
// applied before writes nothing).
WriteSet EventWriteSet(EdgeWrite edge, EventWrite event);

// ---- The bulk format (docs/data-format.md): one parser for every entry point --------------------

// One node, edge or vector line. The loader and POST /v1/batch both use it, so they accept and
// reject exactly the same lines. Errors (InvalidArgument) name the field: a missing or mistyped
// field, an unknown field, more than one of node/edge/vector/schema, a ts outside int64
// milliseconds. A schema line is InvalidArgument here (callers handle schema lines first).
// Checks against the schema and the data (types, ids, dimensions, norms) happen when applied.
using Record = std::variant<NodeWrite, EdgeWrite, VectorWrite>;
Result<Record> RecordFromJson(const nlohmann::json& line);

// A JSON object of properties: null, booleans, int64 integers, finite numbers, strings and lists
// of strings (a null value removes the property in a patch). null: no properties. Errors name
// the offending member as "<field>.<name>". The loader, /v1/batch and every other write endpoint
// read properties with this one function.
Result<Properties> PropertiesFromJson(const nlohmann::json& props, std::string_view field = "props");

struct WriteOptions {
  bool sync = true;  // wait for fsync before returning (the WAL is always on)
  // The most the call waits for the writer role when another write, a load, a backup or a
  // snapshot holds it (0: no bound). When it passes before a group commit took the sets, they
  // are withdrawn unwritten and fail with DeadlineExceeded; once taken, the call waits for that
  // commit (a group commit, never an exclusive task).
  int64_t max_queue_wait_ms = 0;
};

struct WriteOutcome {
  Status status;
  bool duplicate = false;
  // OutcomeWrites of the set joined to their impression, and those that were not (unknown or
  // expired id, or outside the window). Both 0 for a failed or duplicate set.
  size_t attributed = 0;
  size_t unattributed = 0;
};

struct LoadProgress {
  // "parsing" while lines are read, staged and written; "ingesting" while an ingestion load
  // writes, ingests and applies what it staged (LoadOptions::ingest); "indexing" while a load
  // that holds the writer role inserts the vectors it held into their HNSW indexes
  // (LoadOptions::max_held_vector_bytes); "finishing" while the load is flushed and the vector
  // snapshots are saved; "done" at the end.
  std::string phase = "parsing";
  size_t lines = 0;  // lines read so far
  size_t bytes = 0;  // bytes read so far (callers that know the input's size derive an ETA)
  size_t errors = 0;
  double seconds = 0;  // since the load started
  // While "indexing": vectors inserted so far, of how many.
  size_t vectors_indexed = 0;
  size_t vectors_to_index = 0;
};

struct LoadOptions {
  // Called after every few thousand lines, at each phase change and at the end, on the thread
  // that called Load (between chunks, not while a chunk holds the writer role, unless exclusive
  // or ingesting).
  std::function<void(const LoadProgress&)> progress;
  // Per-line errors kept in the report (all are counted).
  size_t max_errors_kept = 1000;
  // A longer line is reported as an error and skipped (never held in memory whole).
  size_t max_line_bytes = 16u << 20;
  // Validate every line (JSON, schema, types, references, vector dimensions and norms) against
  // the database plus the lines before it, with the same errors as a load, and write nothing.
  bool dry_run = false;
  // false (the default): the load takes the writer role one chunk at a time, each chunk sized
  // to take about 20 ms (docs/data-format.md), so events, catalog writes and decisions'
  // impression logs are committed between its chunks. true: it holds the writer role from the
  // first line to the last, so no other write interleaves with it (they wait, or time out, until
  // it ends).
  bool exclusive = false;
  // When set and true, the load stops at the next block of lines: in chunks, everything read
  // before it is applied, made durable and reported (LoadReport::cancelled), nothing after it;
  // an ingestion load writes none of the nodes, edges and vectors of the part it was staging
  // (the parts it ingested before stay; schema lines already read stay merged).
  const std::atomic<bool>* cancel = nullptr;
  // true (the default): a load into a database without nodes and edges (Stats() nodes and
  // edges both 0; checked holding the writer role) is an ingestion load (docs/data-format.md,
  // "How a load is executed"): every line is staged in memory exactly as in chunks, then the
  // result is written as sorted SST files and ingested at once (storage: Store::Ingest), atomic
  // as a whole -- all of it or, after a crash, a failure or a cancel, none of it -- when its
  // lines fit in max_ingest_bytes, else part by part, each part atomic. Memory is built beside
  // each part's ingestion, so it can run ahead of the store meanwhile, and an ingestion that
  // fails then fails the database. It holds the writer role from start to end, so other writes
  // wait for it. false: always in chunks.
  bool ingest = true;
  // An ingestion load holds everything it staged in memory until it ingests, about 3.5 times
  // the lines' bytes for nodes and edges (docs/benchmarks.md, "Bulk load"). When the lines
  // staged reach this many bytes, what was staged is ingested (atomically) as one part, and
  // staging starts again for the next part, which sees the ones before it as written.
  size_t max_ingest_bytes = size_t{512} << 20;
  // A load that holds the writer role throughout (exclusive, or ingesting) inserts its vectors
  // into their HNSW indexes at its end, in one bulk build on every core ("indexing"), unless the
  // database has fold-in models (those read item vectors while lines are staged). Until then
  // queries' NEAREST does not find them. It holds at most about this many bytes of vectors
  // (their values plus ~96 bytes each) and inserts what it holds when it reaches them. Loads in
  // chunks insert each chunk's vectors before the chunk's turn ends.
  size_t max_held_vector_bytes = size_t{2} << 30;
  // Threads that parse lines and insert vectors into HNSW indexes (0: one per core).
  int threads = 0;
};

struct LoadError {
  size_t line;
  std::string reason;
};

// Where a load's time went, in seconds. Parsing runs on worker threads beside the rest, so the
// phases can add up to more than the wall time.
struct LoadPhases {
  double parse = 0;        // JSON and record parsing, summed over the parse threads
  double parse_wait = 0;   // the loader waiting for parsed lines
  double writer_wait = 0;  // waiting for the writer role between chunks
  double stage = 0;        // validating lines against the database (StageSet)
  double write = 0;        // RocksDB writes (unsynced; logged)
  double memory = 0;       // applying to the in-memory graph
  double vectors = 0;      // HNSW inserts
  double ingest = 0;       // ingestion loads: sorting, writing SST files and ingesting them
  double finish = 0;       // the final flush (fsync) and vector snapshots
};

struct LoadReport {
  size_t lines = 0;
  size_t nodes = 0;
  size_t edges = 0;
  size_t vectors = 0;
  size_t schema_lines = 0;
  size_t errors = 0;
  std::vector<LoadError> error_list;
  double seconds = 0;
  bool dry_run = false;    // nothing was written
  bool cancelled = false;  // LoadOptions::cancel stopped it after `lines` lines
  // "chunks", "ingest" (LoadOptions::ingest), or "dry_run".
  std::string mode;
  // Chunks: writer-role turns taken (one per chunk of lines); ingestion: ingestions plus the
  // chunks after LoadOptions::max_ingest_bytes.
  size_t chunks = 0;
  // The longest writer-role turn: how long other writers waited at most (an ingestion load
  // holds the role throughout: its whole time).
  double max_chunk_seconds = 0;
  // A load in chunks: the longest turn's chunk and where its time went (its stage, write,
  // memory and vectors phases; the others stay 0).
  struct Turn {
    double began_at = 0;  // seconds after the load began
    size_t lines = 0;
    size_t edge_lines = 0;
    size_t vector_lines = 0;
    LoadPhases phases;
  } longest_turn;
  LoadPhases phases;
  nlohmann::json ToJson() const;
};

// What Database::ReplaceEdges did.
struct ReplaceEdgesReport {
  size_t edges_written = 0;
  size_t edges_removed = 0;  // edges of the type before (all of them are replaced)
  size_t edges_skipped = 0;  // given edges whose endpoint no longer exists
  double seconds = 0;        // holding the writer role, in all
  double store_seconds = 0;  // building and making durable the storage batch
  double swap_seconds = 0;   // swapping the in-memory lists (the window of docs/jobs.md)
};

// One vector space's whole new content for Database::ReplaceVectors.
struct SpaceVectors {
  std::string space;          // "Type.name", declared
  std::vector<NodeId> nodes;  // nodes of the space's node type, each at most once
  std::vector<float> values;  // nodes.size() * dim, row-major: node i's vector is row i
};

// Online fold-in of user vectors (docs/jobs.md, "svd"). While a model is set for edge_type,
// every write set that puts or deletes an edge of edge_type recomputes the source node's vector
// in user_space, in the same atomic batch as the edge:
//   user[k] = scale[k] * sum over the user's edges e of edge_type of e.weight * item(e)[k]
// with item(e) the target's vector in item_space (items without one count 0). A user left
// with no such contribution (all zero) loses their vector; a result the user space refuses
// (vector::ValidateVector) removes it too, and never fails the write. Usually computed
// incrementally, from the vector fold-in wrote last plus the changed edges' terms, within float
// rounding of the sum (docs/jobs.md, "Incremental fold-in").
struct FoldInModel {
  std::string edge_type;
  std::string item_space;  // on edge_type's target type; metric ip or l2 (read back unnormalised)
  std::string user_space;  // on edge_type's source type; the item space's dimension
  std::vector<float> scale;  // dim factors
  nlohmann::json info = nlohmann::json::object();  // stored with it, for people (job, rank, ...)
};

// What Database::ReplaceVectors did.
struct ReplaceVectorsReport {
  size_t vectors_written = 0;
  size_t vectors_removed = 0;  // vectors of the spaces not in the new content
  size_t vectors_skipped = 0;  // given vectors whose node no longer exists
  double seconds = 0;          // holding the writer role, in all
  double store_seconds = 0;    // building and making durable the storage batch
  double swap_seconds = 0;     // updating the in-memory indexes (the window of docs/jobs.md)
};

class Database {
 public:
  static Result<std::unique_ptr<Database>> Open(const DatabaseOptions& options,
                                                const std::string& dir);
  // Waits for in-flight writes, saves index snapshots, flushes.
  ~Database();

  // ---- Schema -----------------------------------------------------------------------------
  // The schema's JSON, with "counters" (the declared counters, every default written out) when
  // any are declared.
  std::string SchemaJson() const;
  // Merges definitions (see Schema::MergeJson) and persists them atomically. A "counters" array
  // (features::ParseCounters) adds counters: a name declared before must be declared identically;
  // new counters are built from the logs (as at open) before the call returns.
  Status MergeSchema(std::string_view json);

  // ---- Writes -----------------------------------------------------------------------------
  Status Apply(const WriteSet& writes, const WriteOptions& options = {});
  // Each set is atomic on its own; all share one durable commit. Outcomes are in input order.
  std::vector<WriteOutcome> ApplyMany(const std::vector<WriteSet>& sets,
                                      const WriteOptions& options = {});
  // The greatest WriteSet::log_sequence of a set written (durable) so far; 0 when none was.
  // Recovered at open: a replica resumes its log after this number.
  uint64_t AppliedLogSequence() const;
  // Bulk NDJSON load (format in docs/data-format.md, modes in LoadOptions): lines parsed on
  // every core, staged and written in chunks of unsynced batches, a flush at the end, per-line
  // errors without losing good lines. Not atomic as a whole: a crash before the end keeps a
  // prefix of the chunks (docs/data-format.md, "Loads"). Into a database without nodes and
  // edges it ingests sorted SST files instead, atomically (LoadOptions::ingest).
  Result<LoadReport> Load(std::istream& in, const LoadOptions& options = {});

  // ---- Write observers (caches of derived data, e.g. decide/'s candidate cache) ----------------
  // The nodes a write touched: the external ids of every node written (node and vector writes,
  // both ends of edge writes), of any type. all: anything may have changed (a Load).
  struct WrittenNodes {
    std::vector<std::string> ids;
    bool all = false;
  };
  using WriteObserver = std::function<void(const WrittenNodes&)>;
  // observer is called on the writing thread after each Apply/ApplyMany set that wrote nodes,
  // edges or vectors is applied (visible to reads) and before that call returns, so a reader
  // that starts after the write returned sees the observer's effect; and once with all = true
  // after each Load (not a dry run) and each model swap (ReplaceEdges, ReplaceVectors). Sets that only log impressions, outcomes or metadata are
  // not reported. It must be quick and must not write. Returns an id for RemoveWriteObserver;
  // an observer is never called after RemoveWriteObserver returned.
  uint64_t AddWriteObserver(WriteObserver observer);
  void RemoveWriteObserver(uint64_t id);

  // ---- Reads ------------------------------------------------------------------------------
  // {"type","id","properties":{...},"vectors":{"embedding":true},
  //  "degrees":{"VIEWED":{"out":3,"in":0}}}; NotFound if absent.
  Result<nlohmann::json> GetNode(std::string_view type, std::string_view id) const;
  // The node's outgoing edges summed over every declared edge type (GetNode's "out" degrees,
  // without building the node's JSON); NotFound if absent, InvalidArgument for an unknown type.
  Result<uint64_t> OutDegree(std::string_view type, std::string_view id) const;
  // Runs PQL. params: a JSON object of $name -> scalar, list or vector (array of numbers).
  Result<QueryResult> Query(std::string_view text, const nlohmann::json& params,
                            const QueryOptions& options = {});

  // ---- Models built inside the database (jobs/, docs/jobs.md) -------------------------------
  // Runs fn with read access to the in-memory graph and the current schema. Writes continue
  // meanwhile; fn sees each adjacency list atomically (graph/graph.h) and must not change the
  // graph (it is const). Returns fn's status. fold_in_point, if given, gets the fold-in read
  // point for ReplaceVectors, taken before fn runs (holding the writer role for an instant, so
  // fn sees every write before it).
  Status ReadGraph(const std::function<Status(const graph::Graph&, const Schema&)>& fn,
                   uint64_t* fold_in_point = nullptr) const;
  // Replaces every edge of edge_type by edges, holding the writer role: one storage batch
  // deletes the type's old edges and writes the new ones (weight, ts, count 1), made durable
  // in one step (a synced write, or SST files ingested at once for a large model:
  // DatabaseOptions::model_ingest_min_ops), so after a crash the type holds the old or the
  // new edges, never a mix. Memory is then swapped list by list (Graph::ReplaceEdgesOfType): a
  // query sees each node's list old or new; a query reading several lists during the swap
  // (swap_seconds, see docs/jobs.md) may see some old and some new. Edges whose endpoints were deleted meanwhile
  // are skipped. InvalidArgument for an undeclared type, an endpoint of the wrong node type or a
  // weight that is not finite; nothing is written then. The batch holds about 100 bytes per old
  // and new edge in memory.
  Result<ReplaceEdgesReport> ReplaceEdges(std::string_view edge_type,
                                          std::vector<graph::Graph::NewEdge> edges);

  // Replaces the whole content of each given vector space (its vectors not given are removed)
  // and, when fold_in is set, the fold-in model of its edge type, holding the writer role: one
  // storage batch made durable in one step (as ReplaceEdges), so after a crash every space and the fold-in model are all old or all
  // new. Memory is then updated vector by vector (VectorIndex::UpsertBatch on every core): a
  // query that reads several vectors during the update (swap_seconds) may see some old and some
  // new, and an existing vector is overwritten in place, so a read at that instant may see it
  // part old, part new (docs/jobs.md, "svd"). Events applied after it use the new model.
  // Vectors of nodes deleted meanwhile are skipped. InvalidArgument (nothing written) for an
  // undeclared space, a node of another type, a vector the space refuses, or a fold-in model
  // whose types, spaces, metric or scale do not fit. The batch holds the vectors in memory.
  // fold_in_point (from the ReadGraph that read the edges the model's user vectors fold): the
  // users whose fold-in did not change since then have exactly the model's fold-in, so their
  // next change adds to it (docs/jobs.md, "Incremental fold-in"); without it, or for the others,
  // the next change recomputes in full.
  Result<ReplaceVectorsReport> ReplaceVectors(std::vector<SpaceVectors> spaces,
                                              std::optional<FoldInModel> fold_in = std::nullopt,
                                              std::optional<uint64_t> fold_in_point = std::nullopt);
  // The fold-in model set for edge_type; NotFound when none.
  Result<FoldInModel> GetFoldIn(std::string_view edge_type) const;
  // The stored vector of node (type, id) in space "Type.name" (normalised in cosine spaces).
  // InvalidArgument for an unknown space; NotFound when the node or its vector is absent.
  Result<std::vector<float>> GetVector(std::string_view space, std::string_view id) const;

  // ---- Metadata (recipes, keys, settings) --------------------------------------------------
  Result<std::string> GetMeta(std::string_view key) const;
  Status ScanMeta(std::string_view prefix,
                  const std::function<bool(std::string_view, std::string_view)>& fn) const;
  // A counter that grows after every Apply/ApplyMany set that wrote or deleted a metadata key
  // (a MetaWrite among its ops) is applied, before that call returns. Caches of parsed metadata
  // (decide/'s surfaces and recipes) read it before GetMeta and keep what they read while it
  // is unchanged: a metadata write that returned is seen by every read that starts after it.
  // Starts at 0 for each open; a read of it is one atomic load.
  uint64_t MetaGeneration() const;
  // The event-type table (PUT /v1/admin/event-types, docs/server.md) is metadata under this
  // key; writers store it with a MetaWrite, readers use GetEventTypes.
  static constexpr std::string_view kEventTypesMetaKey = "config/event_types";
  // The stored event-type table as its JSON object ({} when none was stored). Corruption when
  // the stored value is not a JSON object.
  Result<nlohmann::json> GetEventTypes() const;

  // ---- Impressions (docs/feedback-loop.md) ---------------------------------------------------
  // The logged decision {recommendation_id, surface, items, ..., "outcomes": [{event_id, type,
  // item, ts}, ...]} (outcomes in event_id order). InvalidArgument for a malformed id, NotFound
  // when it was never logged or has expired.
  Result<nlohmann::json> GetRecommendation(std::string_view id) const;
  // Visits the logged decisions served in [since_ms, until_ms), in time order, each with its
  // outcomes as above; fn returns false to stop. Corruption for an unreadable record.
  Status ScanRecommendations(int64_t since_ms, int64_t until_ms,
                             const std::function<bool(const nlohmann::json&)>& fn) const;
  // Deletes every decision served before before_ms, with its outcomes (one range deletion).
  Status ExpireImpressions(int64_t before_ms);

  // ---- The event log and counters (docs/feedback-loop.md, "The event log", "Counters") ------
  // Visits the logged events with since_ms <= ts < until_ms in sequence order (a scan of the
  // whole log: event times need not follow the log's order); fn returns false to stop.
  // Corruption for an unreadable entry.
  Status ScanEvents(int64_t since_ms, int64_t until_ms,
                    const std::function<bool(const LoggedEvent&)>& fn) const;
  // Deletes the log's entries from its start up to the first one logged at or after before_ms
  // (one range deletion; logging times follow the log's order up to wall-clock steps back).
  Status ExpireEvents(int64_t before_ms);
  // The online value of a declared counter for key at at_ms (features::CounterSet::Value).
  // InvalidArgument for an undeclared counter.
  Result<double> CounterValue(std::string_view counter, const features::KeyFields& key,
                              int64_t at_ms) const;
  // Visits the online value of every (counter, key) counted at at_ms
  // (features::CounterSet::ForEach), holding the counters' lock: fn must not write.
  void ForEachCounterValue(
      int64_t at_ms,
      const std::function<void(const features::CounterDef&, const features::KeyFields&, double)>&
          fn) const;
  // Offline: fresh counters of the declared definitions, folded from the stored logs with only
  // the events and impressions with ts <= as_of_ms (point in time), by the same code that
  // maintains them online. Equal to the online values at as_of_ms when as_of_ms is at or after
  // every logged ts and the logs still hold the counters' windows.
  Result<features::CounterSet> FoldCounters(int64_t as_of_ms) const;

  // ---- Administration -----------------------------------------------------------------------
  // Online backup into dir (must not exist): a RocksDB checkpoint plus the index snapshots and
  // the topology snapshot.
  Status Backup(const std::string& dir);
  // Replaces the data directory with a backup, durably (every file copied is synced before this
  // returns OK). REQUIRES: no Database open on dir.
  static Status Restore(const std::string& backup_dir, const std::string& dir);
  // Saves the snapshots of the vector indexes that changed, now (also done periodically, on
  // close and after loads). The writer role is held only to begin and to finish: while the
  // files are written, writes that change a vector in a space being saved wait for its file;
  // every other write, event and query goes on.
  Status Checkpoint();
  // {"nodes","edges","vectors":{space:n},"disk_bytes","memory_bytes":{...},"sequence",
  //  "log_sequence" (AppliedLogSequence),
  //  "topology_loaded_from": "snapshot" | "store" (where the open took the graph from),
  //  "counters":{...} (features::CounterSet::Stats)}
  nlohmann::json Stats() const;
  // OK while writes are accepted; otherwise the storage fault that stopped them (the server's
  // /ready reports it and answers 503).
  Status Health() const;

 private:
  Database();
  Result<LoadReport> LoadLines(std::istream& in, const LoadOptions& options);  // Load's work
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pathwise
