#include "query/plan_cache.h"

namespace pathwise::query {

std::string PlanCache::Key(std::string_view text, uint64_t schema_version) {
  std::string key = std::to_string(schema_version);
  key.push_back('\0');
  key.append(text);
  return key;
}

size_t PlanCache::EntryBytes(size_t key_bytes, const Plan& plan) {
  // The key is stored once (the index holds a view of it); list and hash nodes ~ 96 bytes.
  return key_bytes + plan.approx_bytes + 96;
}

std::shared_ptr<const Plan> PlanCache::Get(std::string_view text, uint64_t schema_version) {
  if (max_entries_ == 0 || max_bytes_ == 0) return nullptr;
  std::string key = Key(text, schema_version);
  MutexLock lock(&mu_);
  auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->plan;
}

void PlanCache::Put(std::string_view text, uint64_t schema_version,
                    std::shared_ptr<const Plan> plan) {
  if (max_entries_ == 0 || max_bytes_ == 0 || plan == nullptr) return;
  std::string key = Key(text, schema_version);
  const size_t bytes = EntryBytes(key.size(), *plan);
  if (bytes > max_bytes_) return;
  MutexLock lock(&mu_);
  auto it = index_.find(key);
  if (it != index_.end()) {
    Entry& entry = *it->second;
    bytes_ = bytes_ - entry.bytes + bytes;
    entry.plan = std::move(plan);
    entry.bytes = bytes;
    lru_.splice(lru_.begin(), lru_, it->second);
  } else {
    lru_.push_front(Entry{std::move(key), std::move(plan), bytes});
    index_.emplace(std::string_view(lru_.front().key), lru_.begin());
    bytes_ += bytes;
  }
  EvictLocked();
}

void PlanCache::EvictLocked() {
  while (!lru_.empty() && (lru_.size() > max_entries_ || bytes_ > max_bytes_)) {
    bytes_ -= lru_.back().bytes;
    index_.erase(std::string_view(lru_.back().key));
    lru_.pop_back();
  }
}

size_t PlanCache::size() const {
  MutexLock lock(&mu_);
  return lru_.size();
}

size_t PlanCache::bytes() const {
  MutexLock lock(&mu_);
  return bytes_;
}

}  // namespace pathwise::query
