// The candidate cache's part in a recipe run (decide/candidates.h, docs/decisions.md "Caches"):
// which cached set a run reuses, what it stores, and the background refresh of stale entries.
#include <algorithm>

#include "decide/decider_impl.h"

namespace pathwise::decide {
namespace {

using Kind = CandidateCache::Lookup::Kind;

// The most a background refresh may take (the surface's deadline when longer).
constexpr int64_t kRefreshDeadlineMs = 1000;

std::string CandidateKey(const Surface& s, const std::string& recipe) {
  return s.name + '\x1f' + s.variant + '\x1f' + recipe;
}

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kHit: return "hit";
    case Kind::kStale: return "stale";
    case Kind::kMiss: return "miss";
    case Kind::kCoalesced: return "coalesced";
  }
  return "";
}

}  // namespace

Decider::Impl::CandidateUse Decider::Impl::LookupCandidates(
    const std::shared_ptr<const Surface>& s, const std::string& recipe, const Request& req,
    Clock::time_point until, uint64_t refresh_token) {
  CandidateUse use;
  // An explanation needs the paths the sources found, which a cached set does not hold.
  if (options.candidate_cache_entries == 0 || s->candidate_ttl_seconds == 0 || req.explain) {
    return use;
  }
  use.cached = true;
  use.key = CandidateKey(*s, recipe);
  if (refresh_token != 0) {
    use.lookup.token = refresh_token;  // kMiss with a token: compute and store
    return use;
  }
  use.lookup = candidates.Get(req.user, use.key, s->candidate_ttl_seconds * 1000, until);
  return use;
}

void Decider::Impl::FinishCandidates(const std::shared_ptr<const Surface>& s,
                                     const std::string& recipe, const Request& req,
                                     const CandidateUse& use, const Result<QueryResult>& result,
                                     RecipeRun* run) {
  if (!use.cached) return;
  const CandidateCache::Set& offered = use.lookup.set;
  const bool reused = result.ok() && result->stats.value("candidates_reused", false);
  CandidateCache::Set retrieved = result.ok() && !reused ? result->candidates : nullptr;
  run->candidates = KindName(use.lookup.kind);
  if (offered != nullptr && !reused && result.ok()) {
    // The set did not fit this request (a parameter its sources read differs): the run
    // retrieved again, and its set replaces the entry.
    candidates.CountMismatch();
    candidates.Replace(req.user, use.key, offered, retrieved);
    run->candidates = "mismatch";
  }
  if (use.lookup.kind == Kind::kMiss) {
    candidates.Store(req.user, use.key, use.lookup.token, retrieved);
  } else if (use.lookup.kind == Kind::kStale && use.lookup.token != 0) {
    RefreshCandidates(s, recipe, req, use.lookup.token);
  }
}

void Decider::Impl::RefreshCandidates(const std::shared_ptr<const Surface>& s,
                                      const std::string& recipe, const Request& req,
                                      uint64_t token) {
  auto until = Clock::now() + std::chrono::milliseconds(std::max(s->deadline_ms, kRefreshDeadlineMs));
  auto work = [this, s, recipe, req, until, token] {
    RunRecipe(s, recipe, req, until, token);
    // A run that ended before retrieving (no recipe, an injected failure) ends the refresh
    // (a no-op when the run stored its set).
    candidates.Store(req.user, CandidateKey(*s, recipe), token, nullptr);
  };
  if (!pool.TrySubmit(std::move(work), {}, until)) {
    candidates.Store(req.user, CandidateKey(*s, recipe), token, nullptr);
  }
}

}  // namespace pathwise::decide
