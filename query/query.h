// query/'s public header: the PQL pipeline (parse -> bind -> plan -> execute) over the serving
// structures that db/'s Database owns. Database::Query is the usual way in; Engine is the seam.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "graph/graph.h"
#include "storage/storage.h"
#include "vector/vector.h"

namespace pathwise::query {

// Explicit bounds on one query: its text, its shape, its parameters and its memory. Every limit
// is checked before the work it bounds (the text before lexing, nesting before anything
// recursive, parameters before they are converted), and its error names the limit, e.g.
//   InvalidArgument "query text is 70000 bytes, more than the limit max_query_bytes (65536)".
// Shape and size limits are InvalidArgument (HTTP 400); memory budgets are ResourceExhausted.
// docs/query-language.md ("Limits") lists them with their defaults.
struct Limits {
  // Bytes of query text. Bounds lexing and parsing time (the parser cannot be interrupted inside
  // a rule; it checks the deadline on rule entries and between stages).
  size_t max_query_bytes = 64 * 1024;
  // Brackets ( [ { nested inside each other (parenthesised expressions, lists, property maps,
  // pattern predicates inside property maps). Checked on the tokens, before parsing.
  int max_nesting_depth = 200;
  // Depth of one expression tree (unary chains, long operator chains such as a OR b OR ...) and
  // of the parser's rule nesting.
  int max_expression_depth = 1000;
  // Expression nodes in the whole statement (every literal, name, operator, call, list item).
  size_t max_expression_nodes = 20'000;
  // Elements of one list: a list literal, or a list parameter (IN lists, id lists, vectors).
  size_t max_list_elements = 10'000;
  // The request's parameter object: approximate total bytes (strings, names, 8 per number),
  // total JSON values, and nesting depth of one parameter's value (1: a scalar, 2: a list).
  // Every parameter sent counts, used or not.
  size_t max_param_bytes = 1 << 20;
  size_t max_param_elements = 100'000;
  int max_param_depth = 4;
  // Approximate bytes one execution may hold: binding tables, result rows, candidate arrays,
  // recorded paths, aggregate groups, DISTINCT sets, lists built while evaluating.
  // ResourceExhausted "query memory budget max_query_memory_bytes (...) exceeded ...".
  size_t max_query_memory_bytes = size_t{256} << 20;
};

// What a RECOMMEND query's seed and sources retrieved (QueryOptions::keep_candidates): the
// candidate nodes, which sources found each, their per-source values and path counts, the SCORE
// aggregates folded from their paths, and each source's stats. Immutable and safe to share
// between threads; opaque outside query/.
struct CandidateSet;
size_t CandidateCount(const CandidateSet& set);
// Approximate heap bytes the set holds.
size_t CandidateSetBytes(const CandidateSet& set);

}  // namespace pathwise::query

namespace pathwise {

// What a RECOMMEND explanation includes beyond its fixed parts (docs/explanations.md). MATCH
// ignores it.
struct ExplainOptions {
  static constexpr size_t kMaxPaths = 1000;
  // One page of each result's paths, strongest absolute contribution first: `paths` of them
  // from position `offset`. More than kMaxPaths is InvalidArgument.
  size_t paths = 3;
  size_t offset = 0;
  // Properties of the result node copied into its explanation (absent ones are left out).
  std::vector<std::string> properties;
  // List the WHERE conjuncts the result passed.
  bool checks = false;
  // Give each result that has no path of its own (found by NEAREST alone) a short typed path
  // from the seed, marked kind "context": orientation only, never a reason. It costs one bounded
  // graph search per query (the largest part of EXPLAIN's cost at 1M items), so it is asked for.
  bool context = false;
  // The template of each result's sentence (docs/explanations.md, "Sentences"); empty: one
  // generated from the result's strongest evidence.
  std::string sentence;
};

struct QueryOptions {
  Deadline deadline = Deadline::Never();
  bool explain = false;  // as if the query ended with EXPLAIN
  ExplainOptions explain_options;
  // RECOMMEND only: the external id of a node of the candidate type; the result's `why_not`
  // reports whether it was a candidate, what removed it and where it would have ranked.
  std::optional<std::string> why_not;
  bool profile = false;  // as if the query started with PROFILE
  size_t max_rows = 10000;  // result size limit; ResourceExhausted beyond it
  // The clock now() and decay() read, in ms since the epoch; unset: the system clock. For
  // reproducible scores (tests, replays).
  std::optional<int64_t> now_ms;
  // Bounds on this query's text, shape, parameters and memory (see query::Limits).
  query::Limits limits;

  // ---- RECOMMEND sources (ignored by MATCH); docs/query-execution.md, "Per-source budgets" ----
  // A source is one FROM of a RECOMMEND query, named by its AS name, else graph1, graph2, ...,
  // nearest1, nearest2, ..., walk1, pagerank1, rp3beta1, ... in order. A WALK, PAGERANK or
  // RP3BETA source past its budget keeps its algorithm's partial result instead of failing.
  //
  // Each source runs under its own budget: it must finish within min(deadline, the source's
  // start + budget), checked while it runs exactly as `deadline` is (same work granularity, the
  // vector search included); later operators check `deadline` again. A source that completes
  // its work is kept even if its budget passed during its last clock interval. A source past its
  // budget fails with DeadlineExceeded "source '<name>' exceeded its budget of <n> ms".
  // 0: no per-source budget (only `deadline`). Negative: InvalidArgument.
  int64_t source_budget_ms = 0;
  // Per-source override of source_budget_ms by source name (0: no budget for that source).
  // Names that are not sources of the query are ignored. Negative: InvalidArgument.
  std::map<std::string, int64_t> source_budgets_ms;
  // When set, called at the start of each RECOMMEND source, before it does any work, with the
  // source's name and its budget deadline, min(deadline, start + budget). Not called
  // when no source runs (the FOR node was not found or the query-wide WHERE conjuncts fail).
  // A non-OK status makes that source fail without running: DeadlineExceeded counts as a timeout,
  // anything else as an error (see drop_failed_sources). The hook may block (e.g. sleep until
  // `budget` passes, for fault injection); a source whose budget passed when the hook returns OK
  // times out. Called on the query's thread; must be safe to call from concurrent queries if the
  // same options are shared.
  std::function<Status(std::string_view source, Deadline budget)> source_hook;
  // false: a source that times out (its budget) or fails fails the whole query with its status.
  // true: such a source is dropped: the candidates only it found are removed and all it
  // contributed (its mask bit, source value and path count, its paths in SCORE aggregates, its
  // recorded EXPLAIN paths) is discarded; the query answers from the remaining sources and lists
  // the dropped one in stats.dropped_sources. Always fatal, whatever this says: input errors
  // (InvalidArgument, SyntaxError), the query's own memory budgets (ResourceExhausted) and the
  // query's own `deadline` passing (DeadlineExceeded).
  bool drop_failed_sources = false;
  // true: a RECOMMEND with two or more sources runs them in parallel, each in a private state:
  // the last on the query's thread, the others on the Engine's source threads
  // (EngineOptions::source_threads) when one is idle and starts them before the query's thread
  // is free to, else on the query's thread (never queued); the query waits for all of them. Their results are merged in source order, so rows, scores,
  // sources, explanations and stats (other than timings) are exactly those of the sequential run,
  // and budgets, the hook and drop_failed_sources apply per source as above. Sources run
  // sequentially anyway when two or more graph sources feed a SCORE aggregate over all graph
  // sources' paths (its floating-point sum would be added in another order), or when no source
  // thread is idle. stats.parallel_sources says whether they ran in parallel. false: always
  // sequentially (docs/query-execution.md, "Sources in parallel").
  bool parallel_sources = true;

  // ---- Reusing RECOMMEND's retrieval: the Graph -> Score seam (docs/decisions.md, "Caches") ----
  // keep_candidates: QueryResult::candidates receives what the seed and sources retrieved, as a
  // snapshot taken after the sources and before any filter, exclusion or scoring. Nothing is
  // kept when a source was dropped (a partial set), when explaining or asking why not (the
  // explanation needs paths the set does not hold), or when reuse_candidates was used (then
  // candidates is that set). MATCH ignores both fields.
  bool keep_candidates = false;
  // reuse_candidates: a set kept by an earlier run. The query runs its prelude and its Seed as
  // usual, then continues from the set instead of running its sources: the candidate filters
  // and exclusions (re-evaluated for every candidate), SCORE, TopK, DIVERSIFY and LIMIT run on
  // the current graph, parameters and clock. The set is used only when it fits: the same query
  // text and schema version, the same seed node and query-wide WHERE outcome, and every
  // parameter the set's seed and sources read has the same value now (a parameter read only
  // after retrieval, such as LIMIT's, may differ). What the sources computed stays as of the
  // retrieval: source values, path counts, and SCORE aggregates over paths (including any now()
  // or decay() inside them). When it does not fit, or with explain or why_not, the set is
  // ignored and the sources run. stats.candidates_reused says which happened.
  std::shared_ptr<const query::CandidateSet> reuse_candidates;
};

// The result of one query; the JSON shapes are documented in docs/query-language.md.
struct QueryResult {
  nlohmann::json columns = nlohmann::json::array();       // ["c.id", "score", ...]
  nlohmann::json rows = nlohmann::json::array();          // [[...], ...]
  nlohmann::json explanations = nlohmann::json::array();  // one per row when EXPLAIN
  nlohmann::json stats = nlohmann::json::object();        // stage times, candidates, flags
  nlohmann::json profile = nlohmann::json::array();       // per-operator rows when PROFILE
  nlohmann::json why_not;  // QueryOptions::why_not's report; null when not asked
  // QueryOptions::keep_candidates: the retrieved set; null when not kept.
  std::shared_ptr<const query::CandidateSet> candidates;
  nlohmann::json ToJson() const;
};

}  // namespace pathwise

namespace pathwise::query {

// What PQL's counter() reads: the online value of a declared counter (docs/feedback-loop.md,
// "Counters"). db/ implements it over the counters its write path feeds. Safe to call from
// concurrent queries.
class CounterReader {
 public:
  virtual ~CounterReader() = default;
  // The value of counter `name` at at_ms for the key given as external ids in the order of the
  // counter's key fields ({item}, {user}, {user, item}, {item, surface}, {segment, item}).
  // InvalidArgument, with a message for the query's author, for an unknown counter or a key of
  // the wrong shape.
  virtual Result<double> Value(std::string_view name, const std::vector<std::string>& key,
                               int64_t at_ms) const = 0;
};

// What one query execution reads. The schema is an immutable copy (a writer that changes the
// schema publishes a new one); graph and vectors are safe for concurrent reads.
struct Catalog {
  std::shared_ptr<const Schema> schema;
  const graph::Graph* graph = nullptr;
  const vector::VectorSet* vectors = nullptr;
  const storage::Store* store = nullptr;
  // counter()'s source; null: no counters (counter() fails with InvalidArgument).
  const CounterReader* counters = nullptr;
  size_t default_max_per_node = 100;
};

struct EngineOptions {
  // The plan cache: at most this many plans, and at most this many approximate bytes (query
  // text + bound plan); least recently used plans are evicted first. 0 disables caching.
  size_t plan_cache_entries = 1024;
  size_t plan_cache_bytes = size_t{64} << 20;
  // Approximate bytes all concurrently running queries may hold together (the sum of their
  // per-query accounts, see Limits::max_query_memory_bytes). A query whose growth would pass it
  // fails with ResourceExhausted naming max_total_query_memory_bytes. 0: unbounded.
  size_t max_total_query_memory_bytes = size_t{1} << 30;
  // Threads that run RECOMMEND sources beside the queries' own threads
  // (QueryOptions::parallel_sources), shared by all queries of the Engine; a source finding none
  // idle runs on its query's thread. Each is idle but for the sources it runs. 0: every query
  // runs its sources one after another.
  size_t source_threads = 2;
  // A query offers its sources to those threads only while at most this many queries (itself
  // included) are executing on the Engine. Beyond that every core is busy with a query anyway,
  // so a hand-off would buy no overlap and cost a wake-up and context switches (at saturation
  // on 2 cores: 3.9 against 2.5 context switches per query, docs/benchmarks.md, "Sources in
  // parallel only on idle cores"). 0: the machine's hardware threads minus one, at least 1.
  size_t parallel_sources_max_queries = 0;
};

class Engine {
 public:
  explicit Engine(EngineOptions options = {});
  ~Engine();
  // Parses (or takes from the plan cache, keyed by text and schema version), binds, plans and
  // executes one statement. Errors: SyntaxError (line/column), InvalidArgument (binding, naming
  // the unknown thing; a Limits shape limit, naming it), DeadlineExceeded (checked in every
  // stage: parse, bind, plan, parameter conversion, every operator loop), ResourceExhausted
  // (max_rows, a memory budget, naming it).
  Result<QueryResult> Execute(const Catalog& catalog, std::string_view text,
                              const nlohmann::json& params, const QueryOptions& options);

  // Plan cache occupancy (for tests and /metrics).
  size_t plan_cache_entries() const;
  size_t plan_cache_bytes() const;
  // Approximate bytes currently held by running queries.
  size_t query_memory_bytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pathwise::query
