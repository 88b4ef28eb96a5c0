#include "query/plan_cache.h"

namespace pathwise::query {

std::string PlanCache::Key(std::string_view text, uint64_t schema_version) {
  std::string key = std::to_string(schema_version);
  key.push_back('\0');
  key.append(text);
  return key;
}

std::shared_ptr<const Plan> PlanCache::Get(std::string_view text, uint64_t schema_version) {
  if (capacity_ == 0) return nullptr;
  std::string key = Key(text, schema_version);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->plan;
}

void PlanCache::Put(std::string_view text, uint64_t schema_version,
                    std::shared_ptr<const Plan> plan) {
  if (capacity_ == 0) return;
  std::string key = Key(text, schema_version);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = index_.find(key);
  if (it != index_.end()) {
    it->second->plan = std::move(plan);
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  lru_.push_front(Entry{key, std::move(plan)});
  index_.emplace(std::move(key), lru_.begin());
  while (lru_.size() > capacity_) {
    index_.erase(lru_.back().key);
    lru_.pop_back();
  }
}

size_t PlanCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lru_.size();
}

}  // namespace pathwise::query
