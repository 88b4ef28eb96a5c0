// Database: write sets numbered by an ordered log (WriteSet::log_sequence), as a replica applies
// a primary's log: each number is applied once, recorded with its set, and survives a reopen.
#include <thread>

#include "tests/query/database_test_util.h"

namespace pathwise {
namespace {

using namespace pathwise::testing;

WriteSet Logged(uint64_t sequence, WriteSet set) {
  set.log_sequence = sequence;
  return set;
}

// A view of u1's item i<n>, as the log of a replica would carry it.
WriteSet ViewEntry(uint64_t sequence, int n) {
  return Logged(sequence, Set(Edge("VIEWED", {"User", "u1"}, {"Item", "i" + std::to_string(n)},
                                   1.5, 1000 + n)));
}

std::unique_ptr<Database> WithUserAndItems(const std::string& dir) {
  auto db = OpenDbWithSchema(dir);
  REQUIRE(db->Apply(Set(Node("User", "u1"), Node("Item", "i0"), Node("Item", "i1"),
                        Node("Item", "i2")))
              .ok());
  return db;
}

}  // namespace

TEST_CASE("sets with a log sequence apply once each, in increasing order, and gaps are allowed") {
  TempDir dir;
  auto db = WithUserAndItems(dir.path);
  CHECK(db->AppliedLogSequence() == 0);
  auto first = db->ApplyMany({ViewEntry(1, 0), ViewEntry(2, 1), ViewEntry(2, 2), ViewEntry(1, 2)});
  REQUIRE(first.size() == 4);
  for (const auto& o : first) CHECK(o.status.ok());
  CHECK_FALSE(first[0].duplicate);
  CHECK_FALSE(first[1].duplicate);
  CHECK(first[2].duplicate);  // 2 again, in the same group
  CHECK(first[3].duplicate);  // below the last
  CHECK(db->AppliedLogSequence() == 2);
  CHECK(db->GetNode("User", "u1").value()["degrees"]["VIEWED"]["out"] == 2);

  auto later = db->ApplyMany({ViewEntry(7, 2)});
  CHECK_FALSE(later[0].duplicate);
  CHECK(db->AppliedLogSequence() == 7);
  CHECK(db->Stats()["log_sequence"] == 7);
}

TEST_CASE("replaying a log after a reopen changes nothing, and the log resumes after its last number") {
  TempDir dir;
  std::vector<WriteSet> log;
  for (uint64_t seq = 1; seq <= 30; ++seq) log.push_back(ViewEntry(seq, static_cast<int>(seq % 3)));
  {
    auto db = WithUserAndItems(dir.path);
    for (const WriteSet& entry : log) REQUIRE(db->Apply(entry).ok());
    CHECK(db->AppliedLogSequence() == 30);
  }
  {
    auto db = OpenDb(dir.path);
    CHECK(db->AppliedLogSequence() == 30);
    // Every entry delivered again: accumulated weights would grow if any applied twice.
    for (const auto& o : db->ApplyMany(log)) {
      CHECK(o.status.ok());
      CHECK(o.duplicate);
    }
    REQUIRE(db->ApplyMany({ViewEntry(31, 0)})[0].status.ok());
    CHECK(db->AppliedLogSequence() == 31);
  }
  ClosedDb closed(dir.path);
  const NodeId u1 = closed.Id("User", "u1");
  auto i0 = closed.store->GetEdge(u1, closed.EdgeType("VIEWED"), closed.Id("Item", "i0"));
  REQUIRE(i0.ok());
  CHECK(i0->count == 11);  // sequences 3, 6, ..., 30 and 31
  CHECK(i0->weight == doctest::Approx(16.5));
  auto i1 = closed.store->GetEdge(u1, closed.EdgeType("VIEWED"), closed.Id("Item", "i1"));
  REQUIRE(i1.ok());
  CHECK(i1->count == 10);
}

TEST_CASE("a failed set records no log sequence, and sequence 0 is rejected") {
  TempDir dir;
  auto db = WithUserAndItems(dir.path);
  REQUIRE(db->Apply(ViewEntry(4, 0)).ok());
  WriteSet bad = Logged(5, Set(Edge("VIEWED", {"User", "u1"}, {"Item", "ghost"})));
  auto failed = db->ApplyMany({bad});
  CHECK(failed[0].status.code() == Status::Code::kNotFound);
  CHECK(db->AppliedLogSequence() == 4);
  auto retried = db->ApplyMany({ViewEntry(5, 1)});  // the same number, now a good set
  CHECK(retried[0].status.ok());
  CHECK_FALSE(retried[0].duplicate);
  CHECK(db->AppliedLogSequence() == 5);

  Status zero = db->Apply(ViewEntry(0, 1));
  CHECK(zero.code() == Status::Code::kInvalidArgument);
  CHECK(db->AppliedLogSequence() == 5);
}

TEST_CASE("a log sequence is no metadata write, and sets without one leave it alone") {
  TempDir dir;
  auto db = WithUserAndItems(dir.path);
  const uint64_t generation = db->MetaGeneration();
  REQUIRE(db->Apply(ViewEntry(3, 0)).ok());
  CHECK(db->MetaGeneration() == generation);
  REQUIRE(db->Apply(Set(Edge("VIEWED", {"User", "u1"}, {"Item", "i1"}))).ok());
  CHECK(db->AppliedLogSequence() == 3);
}

TEST_CASE("writers numbering sets concurrently never apply a number at or below one applied") {
  TempDir dir;
  auto db = WithUserAndItems(dir.path);
  constexpr int kThreads = 4, kPerThread = 50;
  std::atomic<int> applied{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const uint64_t seq = static_cast<uint64_t>(i * kThreads + t + 1);
        auto o = db->ApplyMany({ViewEntry(seq, 0)}, WriteOptions{false});
        REQUIRE(o[0].status.ok());
        if (!o[0].duplicate) ++applied;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(db->AppliedLogSequence() == kThreads * kPerThread);
  db.reset();
  ClosedDb closed(dir.path);
  auto edge = closed.store->GetEdge(closed.Id("User", "u1"), closed.EdgeType("VIEWED"),
                                    closed.Id("Item", "i0"));
  REQUIRE(edge.ok());
  // Every applied set and no other added one view: the numbers applied were increasing.
  CHECK(edge->count == static_cast<uint32_t>(applied.load()));
  CHECK(applied.load() >= 1);
}

}  // namespace pathwise
