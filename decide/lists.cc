#include "decide/lists.h"

namespace pathwise::decide {

PopularLists::PopularLists() : thread_([this] { Loop(); }) {}

PopularLists::~PopularLists() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  thread_.join();
}

void PopularLists::Enqueue(const std::string& key, Entry* entry, const Compute& compute) {
  entry->computing = true;
  jobs_.push_back({key, entry->generation, compute});
  ++counts_.computations;
  work_cv_.notify_one();
}

std::shared_ptr<const ItemList> PopularLists::Get(const std::string& key, int64_t refresh_seconds,
                                                  const Compute& compute,
                                                  Clock::time_point until) {
  std::unique_lock<std::mutex> lock(mu_);
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
  done_cv_.wait_until(lock, until, [&] {
    auto it = entries_.find(key);
    return it == entries_.end() || it->second.list != nullptr || !it->second.computing;
  });
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : it->second.list;
}

void PopularLists::Forget(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  uint64_t generation = it->second.generation + 1;
  entries_.erase(it);
  entries_[key].generation = generation;
}

void PopularLists::Prefetch(const std::string& key, const Compute& compute) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry& entry = entries_[key];
  if (entry.list == nullptr && !entry.computing) Enqueue(key, &entry, compute);
}

PopularLists::Counts PopularLists::counts() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counts_;
}

void PopularLists::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
    if (stopping_) return;
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    Result<ItemList> list = job.compute();
    lock.lock();
    auto it = entries_.find(job.key);
    if (it == entries_.end() || it->second.generation != job.generation) continue;
    it->second.computing = false;
    if (list.ok()) {
      it->second.list = std::make_shared<const ItemList>(std::move(list).value());
      it->second.computed_at = Clock::now();
    } else {
      ++counts_.failures;
    }
    done_cv_.notify_all();
  }
}

void LastServed::Put(const std::string& surface, const std::string& user, const ItemList& items) {
  if (capacity_ == 0 || items.empty()) return;
  Key key = surface + '\0' + user;
  std::vector<std::pair<std::string, std::string>> ids;
  ids.reserve(items.size());
  for (const Item& item : items) ids.emplace_back(item.id, item.type);
  std::lock_guard<std::mutex> lock(mu_);
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
  std::lock_guard<std::mutex> lock(mu_);
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
  std::lock_guard<std::mutex> lock(mu_);
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
