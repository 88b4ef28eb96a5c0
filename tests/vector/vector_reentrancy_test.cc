// VectorIndex: a search's filter may read the same index (similarity(...) in a NEAREST filter)
// while the writer grows the index's capacity.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <random>
#include <thread>

#include "vector/vector.h"

using namespace pathwise;
using vector::SearchOptions;
using vector::VectorIndex;

namespace {

constexpr uint32_t kDim = 8;

std::unique_ptr<VectorIndex> MakeIndex() {
  VectorSpaceDef def;
  def.node_type = "Item";
  def.name = "embedding";
  def.dim = kDim;
  def.metric = Metric::kCosine;
  def.m = 8;
  def.ef_construction = 32;  // cheap inserts: the test is about locking, not recall
  auto r = VectorIndex::Create(def);
  REQUIRE(r.ok());
  return std::move(r).value();
}

std::vector<float> RandomVector(std::mt19937* rng) {
  std::normal_distribution<float> g(0, 1);
  std::vector<float> v(kDim);
  for (float& x : v) x = g(*rng);
  return v;
}

// Fails the test when `progress` stops moving for `stall` while `done` is false (a deadlock),
// instead of letting the test hang. Returns true when the work finished.
bool WaitWithWatchdog(const std::atomic<long>& progress, const std::atomic<bool>& done,
                      std::chrono::seconds stall) {
  long last = progress.load();
  auto last_change = std::chrono::steady_clock::now();
  while (!done.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    long now = progress.load();
    if (now != last) {
      last = now;
      last_change = std::chrono::steady_clock::now();
    } else if (std::chrono::steady_clock::now() - last_change > stall) {
      return false;
    }
  }
  return true;
}

}  // namespace

TEST_CASE("a search whose filter calls SimilarityTo on the same index survives capacity growth") {
  // Everything the threads touch lives in one heap object: on a deadlock it is leaked to the
  // stuck threads (they can never be joined) instead of being destroyed under them.
  struct Shared {
    std::unique_ptr<VectorIndex> idx = MakeIndex();
    std::vector<float> taste;
    std::atomic<long> progress{0};
    std::atomic<bool> stop{false};
    std::atomic<bool> done{false};
    std::atomic<long> failures{0};
    std::atomic<long> filter_calls{0};
    std::function<bool(NodeId)> similar;
    std::thread s1, s2, w;
  };
  auto* st = new Shared();
  VectorIndex* idx = st->idx.get();
  std::mt19937 rng(5);
  // Start just below the initial capacity so growth happens several times during the test.
  for (NodeId n = 0; n < 1000; ++n) REQUIRE(idx->Upsert(n, RandomVector(&rng)).ok());
  st->taste = RandomVector(&rng);
  // The filter reads the index it is filtering, as `NEAREST ... WHERE similarity(c.embedding,
  // $taste) > 0` does: each call reads the index again from inside the search.
  st->similar = [st](NodeId n) {
    st->filter_calls.fetch_add(1, std::memory_order_relaxed);
    auto s = st->idx->SimilarityTo(n, st->taste);
    if (!s.ok()) return false;
    auto v = st->idx->Get(n);  // and Get, the other re-entrant read
    return v.ok() && *s > -0.2f;
  };
  auto searcher = [st](uint32_t seed) {
    std::mt19937 local(seed);
    while (!st->stop.load()) {
      auto r = st->idx->Search(RandomVector(&local),
                               SearchOptions{.k = 10, .filter = &st->similar});
      if (!r.ok()) st->failures.fetch_add(1);
      st->progress.fetch_add(1);
    }
  };
  st->s1 = std::thread(searcher, 1);
  st->s2 = std::thread(searcher, 2);
  st->w = std::thread([st] {
    std::mt19937 local(11);
    // 1000 -> 9000 points: capacity grows 1024 -> 2048 -> 4096 -> 8192 -> 16384.
    for (NodeId n = 1000; n < 9000; ++n) {
      if (!st->idx->Upsert(n, RandomVector(&local)).ok()) st->failures.fetch_add(1);
      st->progress.fetch_add(1);
    }
    st->stop = true;
    st->s1.join();
    st->s2.join();
    st->done = true;
  });
  // No timing is asserted: only a complete stop of progress (searches and upserts) for 30 s.
  if (!WaitWithWatchdog(st->progress, st->done, std::chrono::seconds(30))) {
    FAIL_CHECK("deadlock: no search or upsert finished for 30 s");
    st->w.detach();  // s1 and s2 are joined by w, should it ever wake
    return;          // st is leaked on purpose
  }
  st->w.join();
  CHECK(st->failures.load() == 0);
  CHECK(st->filter_calls.load() > 0);
  CHECK(idx->Size() == 9000);
  delete st;
}

TEST_CASE("an upsert that must grow the index from inside its own search's filter is refused") {
  auto idx = MakeIndex();
  std::mt19937 rng(3);
  for (NodeId n = 0; n < 1024; ++n) REQUIRE(idx->Upsert(n, RandomVector(&rng)).ok());
  Status inner;
  std::function<bool(NodeId)> writes = [&](NodeId) {
    if (inner.ok()) inner = idx->Upsert(5000, RandomVector(&rng));
    return true;
  };
  auto r = idx->Search(RandomVector(&rng), SearchOptions{.k = 3, .filter = &writes});
  REQUIRE(r.ok());
  // Growing would wait for this thread's own read: an error, not a self-deadlock.
  CHECK(inner.code() == Status::Code::kInternal);
  CHECK_FALSE(idx->Contains(5000));
  CHECK(idx->Upsert(5000, RandomVector(&rng)).ok());  // outside the search it grows
  CHECK(idx->Contains(5000));
}
