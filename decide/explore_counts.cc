#include "decide/explore_counts.h"

namespace pathwise::decide {
namespace {

std::string KeyOf(const std::string& surface, const std::string& bucket, const std::string& item) {
  std::string key = surface;
  key.push_back('\0');
  key += bucket;
  key.push_back('\0');
  key += item;
  return key;
}

}  // namespace

ExploreCounts::Entry* ExploreCounts::Touch(const Key& key, bool create) {
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    return &it->second;
  }
  if (!create || max_keys_ == 0) return nullptr;
  while (entries_.size() >= max_keys_ && !lru_.empty()) {
    entries_.erase(lru_.back());
    lru_.pop_back();
    ++evicted_;
  }
  lru_.push_front(key);
  Entry& e = entries_[key];
  e.lru = lru_.begin();
  return &e;
}

std::vector<Arm> ExploreCounts::Get(const std::string& surface, const std::string& bucket,
                                    const std::vector<std::string>& items) {
  std::vector<Arm> out;
  out.reserve(items.size());
  MutexLock lock(&mu_);
  for (const std::string& item : items) {
    Entry* e = Touch(KeyOf(surface, bucket, item), /*create=*/false);
    out.push_back(e == nullptr ? Arm{} : e->arm);
  }
  return out;
}

void ExploreCounts::AddImpressions(const std::string& surface, const std::string& bucket,
                                   const std::vector<std::string>& items) {
  MutexLock lock(&mu_);
  for (const std::string& item : items) {
    Entry* e = Touch(KeyOf(surface, bucket, item), /*create=*/true);
    if (e != nullptr) ++e->arm.impressions;
  }
}

void ExploreCounts::AddClick(const std::string& surface, const std::string& bucket,
                             const std::string& item) {
  MutexLock lock(&mu_);
  Entry* e = Touch(KeyOf(surface, bucket, item), /*create=*/true);
  if (e != nullptr) ++e->arm.clicks;
}

bool ExploreCounts::StartLoad(const std::string& surface) {
  MutexLock lock(&mu_);
  return loaded_.insert(surface).second;
}

void ExploreCounts::Forget(const std::string& surface) {
  MutexLock lock(&mu_);
  loaded_.erase(surface);
  std::string prefix = surface;
  prefix.push_back('\0');
  for (auto it = lru_.begin(); it != lru_.end();) {
    if (it->compare(0, prefix.size(), prefix) == 0) {
      entries_.erase(*it);
      it = lru_.erase(it);
    } else {
      ++it;
    }
  }
}

size_t ExploreCounts::keys() const {
  MutexLock lock(&mu_);
  return entries_.size();
}

uint64_t ExploreCounts::evicted() const {
  MutexLock lock(&mu_);
  return evicted_;
}

}  // namespace pathwise::decide
