#include "decide/frequency.h"

namespace pathwise::decide {

void FrequencyIndex::DropBefore(Entry* entry, int64_t ms) {
  for (auto it = entry->decisions.begin(); it != entry->decisions.end();) {
    if (it->second.served_ms < ms) {
      it = entry->decisions.erase(it);
      --decisions_;
    } else {
      ++it;
    }
  }
}

void FrequencyIndex::EraseEntry(std::unordered_map<Key, Entry>::iterator it) {
  decisions_ -= it->second.decisions.size();
  lru_.erase(it->second.lru);
  entries_.erase(it);
}

std::optional<int64_t> FrequencyIndex::Track(const std::string& surface, int64_t horizon_ms) {
  MutexLock lock(&mu_);
  Tracked& t = tracked_[surface];
  t.horizon_ms = horizon_ms;
  return t.covered_since;
}

void FrequencyIndex::SetCoveredSince(const std::string& surface, int64_t ms) {
  MutexLock lock(&mu_);
  auto it = tracked_.find(surface);
  if (it != tracked_.end()) it->second.covered_since = ms;
}

void FrequencyIndex::Forget(const std::string& surface) {
  std::string prefix = surface + '\0';
  MutexLock lock(&mu_);
  if (tracked_.erase(surface) == 0) return;
  for (auto it = lru_.begin(); it != lru_.end();) {
    auto next = std::next(it);
    if (it->compare(0, prefix.size(), prefix) == 0) EraseEntry(entries_.find(*it));
    it = next;
  }
}

void FrequencyIndex::Record(const std::string& surface, const std::string& user,
                            const std::string& id, int64_t served_ms,
                            std::vector<std::string> items) {
  if (max_decisions_ == 0) return;
  Key key = surface + '\0' + user;
  MutexLock lock(&mu_);
  auto tracked = tracked_.find(surface);
  if (tracked == tracked_.end()) return;
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    lru_.push_front(key);
    it = entries_.emplace(key, Entry{{}, lru_.begin()}).first;
  } else {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
  }
  Entry& entry = it->second;
  if (entry.decisions.emplace(id, Decision{served_ms, std::move(items)}).second) ++decisions_;
  DropBefore(&entry, served_ms - tracked->second.horizon_ms);
  while (decisions_ > max_decisions_ && lru_.size() > 1) {
    EraseEntry(entries_.find(lru_.back()));
    ++evicted_users_;
  }
}

std::unordered_map<std::string, std::vector<int64_t>> FrequencyIndex::Since(
    const std::string& surface, const std::string& user, int64_t since_ms) const {
  std::unordered_map<std::string, std::vector<int64_t>> out;
  MutexLock lock(&mu_);
  auto it = entries_.find(surface + '\0' + user);
  if (it == entries_.end()) return out;
  for (const auto& [id, decision] : it->second.decisions) {
    if (decision.served_ms < since_ms) continue;
    for (const std::string& item : decision.items) out[item].push_back(decision.served_ms);
  }
  return out;
}

size_t FrequencyIndex::decisions() const {
  MutexLock lock(&mu_);
  return decisions_;
}

uint64_t FrequencyIndex::evicted_users() const {
  MutexLock lock(&mu_);
  return evicted_users_;
}

}  // namespace pathwise::decide
