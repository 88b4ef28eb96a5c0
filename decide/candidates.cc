#include "decide/candidates.h"

namespace pathwise::decide {

CandidateCache::Lookup CandidateCache::Get(const std::string& user, const std::string& key,
                                           int64_t ttl_ms, Clock::time_point until) {
  MutexLock lock(&mu_);
  Key k = user + '\0' + key;
  auto it = entries_.find(k);
  Lookup out;
  if (it == entries_.end()) {
    lru_.push_front(k);
    it = entries_.emplace(k, Entry{}).first;
    it->second.lru = lru_.begin();
    it->second.token = next_token_++;
    ++counts_.misses;
    ++counts_.computations;
    out.token = it->second.token;
    Evict();
    return out;
  }
  Entry& e = it->second;
  lru_.splice(lru_.begin(), lru_, e.lru);
  if (e.set != nullptr) {
    out.set = e.set;
    if (Clock::now() - e.computed_at < std::chrono::milliseconds(ttl_ms)) {
      out.kind = Lookup::Kind::kHit;
      ++counts_.hits;
      return out;
    }
    out.kind = Lookup::Kind::kStale;
    ++counts_.stale;
    if (e.token == 0) {
      e.token = out.token = next_token_++;
      ++counts_.computations;
    }
    return out;
  }
  // Computing, never computed yet: wait for that computation.
  out.kind = Lookup::Kind::kCoalesced;
  ++counts_.coalesced;
  WaitFor(k, until);
  it = entries_.find(k);
  if (it != entries_.end()) out.set = it->second.set;
  return out;
}

void CandidateCache::WaitFor(const Key& k, Clock::time_point until) {
  for (auto now = Clock::now(); now < until; now = Clock::now()) {
    auto it = entries_.find(k);
    if (it == entries_.end() || it->second.set != nullptr || it->second.token == 0) return;
    done_cv_.WaitFor(&mu_, until - now);
  }
}

void CandidateCache::Store(const std::string& user, const std::string& key, uint64_t token,
                           Set set) {
  MutexLock lock(&mu_);
  auto it = entries_.find(user + '\0' + key);
  if (it == entries_.end() || it->second.token != token) return;
  Entry& e = it->second;
  e.token = 0;
  if (set != nullptr) {
    SetOf(&e, std::move(set));
    Evict();
  } else {
    ++counts_.failures;
    if (e.set == nullptr) Erase(it);
  }
  done_cv_.NotifyAll();
}

void CandidateCache::Replace(const std::string& user, const std::string& key, const Set& old,
                             Set set) {
  MutexLock lock(&mu_);
  auto it = entries_.find(user + '\0' + key);
  if (it == entries_.end() || it->second.set != old || set == nullptr) return;
  SetOf(&it->second, std::move(set));
  Evict();
}

void CandidateCache::SetOf(Entry* e, Set set) {
  bytes_ -= e->bytes;
  e->bytes = query::CandidateSetBytes(*set);
  bytes_ += e->bytes;
  e->set = std::move(set);
  e->computed_at = Clock::now();
}

CandidateCache::Map::iterator CandidateCache::Erase(Map::iterator it) {
  lru_.erase(it->second.lru);
  bytes_ -= it->second.bytes;
  return entries_.erase(it);
}

void CandidateCache::Evict() {
  // An evicted entry's running computation is dropped by Store.
  while ((entries_.size() > max_entries_ || bytes_ > max_bytes_) && !lru_.empty()) {
    Erase(entries_.find(lru_.back()));
    ++counts_.evictions;
  }
  done_cv_.NotifyAll();
}

void CandidateCache::InvalidateUser(const std::string& user) {
  MutexLock lock(&mu_);
  std::string prefix = user + '\0';
  bool any = false;
  for (auto it = entries_.lower_bound(prefix);
       it != entries_.end() && it->first.compare(0, prefix.size(), prefix) == 0;) {
    it = Erase(it);
    ++counts_.invalidations;
    any = true;
  }
  if (any) done_cv_.NotifyAll();
}

void CandidateCache::InvalidateAll() {
  MutexLock lock(&mu_);
  counts_.invalidations += entries_.size();
  entries_.clear();
  lru_.clear();
  bytes_ = 0;
  done_cv_.NotifyAll();
}

void CandidateCache::ForgetKeys(const std::string& prefix) {
  MutexLock lock(&mu_);
  for (auto it = entries_.begin(); it != entries_.end();) {
    size_t at = it->first.find('\0');
    if (it->first.compare(at + 1, prefix.size(), prefix) == 0) {
      it = Erase(it);
    } else {
      ++it;
    }
  }
  done_cv_.NotifyAll();
}

void CandidateCache::CountMismatch() {
  MutexLock lock(&mu_);
  ++counts_.mismatches;
}

CandidateCache::Counts CandidateCache::counts() const {
  MutexLock lock(&mu_);
  Counts c = counts_;
  c.entries = entries_.size();
  c.bytes = bytes_;
  return c;
}

}  // namespace pathwise::decide
