#include "decide/lists.h"

namespace pathwise::decide {

PopularLists::PopularLists() : thread_([this] { Loop(); }) {}

PopularLists::~PopularLists() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  work_cv_.NotifyAll();
  thread_.join();
}

void PopularLists::Enqueue(const std::string& key, Entry* entry, const Compute& compute) {
  entry->computing = true;
  jobs_.push_back({key, entry->generation, compute});
  ++counts_.computations;
  work_cv_.NotifyOne();
}

std::shared_ptr<const ItemList> PopularLists::Get(const std::string& key, int64_t refresh_seconds,
                                                  const Compute& compute,
                                                  Clock::time_point until) {
  MutexLock lock(&mu_);
  Entry& entry = entries_[key];
  if (entry.list != nullptr) {
    if (Clock::now() - entry.computed_at < std::chrono::seconds(refresh_seconds)) {
      ++counts_.hits;
    } else {
      ++counts_.stale;
      if (!entry.computing) Enqueue(key, &entry, compute);
    }
    return entry.list;
  }
  if (entry.computing) {
    ++counts_.coalesced;
  } else {
    ++counts_.misses;
    Enqueue(key, &entry, compute);
  }
  WaitForList(key, until);
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : it->second.list;
}

void PopularLists::WaitForList(const std::string& key, Clock::time_point until) {
  for (auto now = Clock::now(); now < until; now = Clock::now()) {
    auto it = entries_.find(key);
    if (it == entries_.end() || it->second.list != nullptr || !it->second.computing) return;
    done_cv_.WaitFor(&mu_, until - now);
  }
}

void PopularLists::Forget(const std::string& key) {
  MutexLock lock(&mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  uint64_t generation = it->second.generation + 1;
  entries_.erase(it);
  entries_[key].generation = generation;
}

void PopularLists::Prefetch(const std::string& key, const Compute& compute) {
  MutexLock lock(&mu_);
  Entry& entry = entries_[key];
  if (entry.list == nullptr && !entry.computing) Enqueue(key, &entry, compute);
}

PopularLists::Counts PopularLists::counts() const {
  MutexLock lock(&mu_);
  return counts_;
}

void PopularLists::Loop() {
  for (;;) {
    Job job;
    {
      MutexLock lock(&mu_);
      while (!stopping_ && jobs_.empty()) work_cv_.Wait(&mu_);
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    Result<ItemList> list = job.compute();
    MutexLock lock(&mu_);
    auto it = entries_.find(job.key);
    if (it == entries_.end() || it->second.generation != job.generation) continue;
    it->second.computing = false;
    if (list.ok()) {
      it->second.list = std::make_shared<const ItemList>(std::move(list).value());
      it->second.computed_at = Clock::now();
    } else {
      ++counts_.failures;
    }
    done_cv_.NotifyAll();
  }
}

void LastServed::Put(const std::string& surface, const std::string& user, const ItemList& items) {
  if (capacity_ == 0 || items.empty()) return;
  Key key = surface + '\0' + user;
  std::vector<std::pair<std::string, std::string>> ids;
  ids.reserve(items.size());
  for (const Item& item : items) ids.emplace_back(item.id, item.type);
  MutexLock lock(&mu_);
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    lru_.erase(it->second.lru);
    entries_.erase(it);
  }
  lru_.push_front(key);
  entries_.emplace(key, Entry{std::move(ids), lru_.begin()});
  while (entries_.size() > capacity_) {
    entries_.erase(lru_.back());
    lru_.pop_back();
  }
}

ItemList LastServed::Get(const std::string& surface, const std::string& user) const {
  MutexLock lock(&mu_);
  ItemList out;
  auto it = entries_.find(surface + '\0' + user);
  if (it == entries_.end()) return out;
  for (const auto& [id, type] : it->second.items) {
    Item item;
    item.id = id;
    item.type = type;
    item.served_by = "last_served";
    out.push_back(std::move(item));
  }
  return out;
}

void LastServed::ForgetSurface(const std::string& surface) {
  MutexLock lock(&mu_);
  std::string prefix = surface + '\0';
  for (auto it = lru_.begin(); it != lru_.end();) {
    if (it->compare(0, prefix.size(), prefix) == 0) {
      entries_.erase(*it);
      it = lru_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace pathwise::decide
