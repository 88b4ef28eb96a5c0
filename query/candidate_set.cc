#include "query/candidate_set.h"

#include <memory>

namespace pathwise::query {
namespace {

bool SameValue(const RtValue& a, const RtValue& b) {
  if (a.IsNull() || b.IsNull()) return a.IsNull() && b.IsNull();
  return Compare(a, b) == Cmp::kEqual;
}

// Whether set was retrieved by this query with what its seed now says (Seed has run).
bool Fits(const CandidateSet& set, const RetrievalKey& key, const RecState& st) {
  if (set.text != key.text || set.schema_version != key.schema_version) return false;
  if (set.seed != st.seed || set.global_pass != st.global_pass) return false;
  if (set.source_stats.size() != st.num_sources()) return false;
  for (const auto& [index, value] : set.params_read) {
    if (index >= st.params.size() || !SameValue(st.params[index], value)) return false;
  }
  return true;
}

Status Install(const CandidateSet& set, RecState* st) {
  const size_t n = set.nodes.size();
  if (!st->Charge(n * st->CandidateBytes())) return st->error;
  st->nodes = set.nodes;
  st->masks = set.masks;
  st->source_values = set.source_values;
  st->path_counts = set.path_counts;
  st->accs = set.accs;
  st->source_stats = set.source_stats;
  // Nothing counts as checked: the filters run again on every candidate, with this request's
  // parameters and the current graph.
  st->prechecked.assign(n, 0);
  return Status::OK();
}

std::shared_ptr<const CandidateSet> Snapshot(const RetrievalKey& key,
                                             const std::vector<uint8_t>& read,
                                             const RecState& st) {
  for (const SourceStats& s : st.source_stats) {
    if (s.dropped != nullptr) return nullptr;  // a partial set
  }
  auto set = std::make_shared<CandidateSet>();
  set->text = std::string(key.text);
  set->schema_version = key.schema_version;
  set->seed = st.seed;
  set->global_pass = st.global_pass;
  for (size_t i = 0; i < read.size(); ++i) {
    if (read[i]) set->params_read.emplace_back(i, st.params[i]);
  }
  set->nodes = st.nodes;
  set->masks = st.masks;
  set->source_values = st.source_values;
  set->path_counts = st.path_counts;
  set->accs = st.accs;
  set->source_stats = st.source_stats;
  return set;
}

}  // namespace

size_t CandidateCount(const CandidateSet& set) { return set.nodes.size(); }

size_t CandidateSetBytes(const CandidateSet& set) {
  return sizeof(CandidateSet) + set.text.size() +
         set.params_read.size() * (sizeof(RtValue) + 16) +
         set.nodes.size() * (sizeof(NodeId) + sizeof(uint64_t)) +
         set.source_values.size() * sizeof(double) + set.path_counts.size() * sizeof(uint32_t) +
         set.accs.size() * sizeof(NumAcc) + set.source_stats.size() * sizeof(SourceStats);
}

Status RunRetrieval(const RecommendPlan& rec, const QueryOptions& options, const RetrievalKey& key,
                    RecState* st, QueryResult* out) {
  const bool plain = !st->explain && !options.why_not;
  const CandidateSet* offered = plain ? options.reuse_candidates.get() : nullptr;
  const bool keep = plain && options.keep_candidates;
  std::vector<uint8_t> read(st->params.size(), 0);
  if (offered != nullptr || keep) st->params_read = &read;
  if (st->deadline.Expired()) return Status::DeadlineExceeded("query deadline exceeded");
  Status status = rec.ops[0]->Run(st);  // Seed
  const bool reuse = status.ok() && offered != nullptr && Fits(*offered, key, *st);
  if (status.ok()) status = reuse ? Install(*offered, st) : RunSources(rec, st);
  st->params_read = nullptr;
  PW_RETURN_IF_ERROR(status);
  if (options.reuse_candidates != nullptr) out->stats["candidates_reused"] = reuse;
  if (reuse && options.keep_candidates) out->candidates = options.reuse_candidates;
  if (!reuse && keep) out->candidates = Snapshot(key, read, *st);
  return Status::OK();
}

}  // namespace pathwise::query
