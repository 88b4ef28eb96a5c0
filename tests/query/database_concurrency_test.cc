// Database: concurrent writers and atomicity across a crash (SIGKILL of a writing process).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

#include "tests/query/database_test_util.h"

namespace pathwise {
namespace {

using namespace pathwise::testing;
using Json = nlohmann::json;

TEST_CASE("concurrent ApplyMany from 8 threads applies every set exactly once") {
  TempDir dir;
  constexpr int kThreads = 8, kCalls = 40, kSetsPerCall = 4;
  {
    auto db = OpenDbWithSchema(dir.path);
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int c = 0; c < kCalls; ++c) {
          std::vector<WriteSet> sets;
          for (int s = 0; s < kSetsPerCall; ++s) {
            std::string tag = std::to_string(t) + "_" + std::to_string(c) + "_" + std::to_string(s);
            sets.push_back(Set(Node("Item", "item" + tag),
                               Edge("VIEWED", {"User", "u" + std::to_string(t), true},
                                    {"Item", "shared", true}, 1.0, c),
                               Edge("VIEWED", {"User", "u" + std::to_string(t), true},
                                    {"Item", "item" + tag}, 1.0, c)));
          }
          WriteOptions options;
          options.sync = (c % 2 == 0);
          for (const auto& outcome : db->ApplyMany(sets, options)) {
            if (!outcome.status.ok() || outcome.duplicate) ++failures;
          }
        }
      });
    }
    for (auto& th : threads) th.join();
    CHECK(failures == 0);
    const int kSets = kThreads * kCalls * kSetsPerCall;
    CHECK(db->Stats()["nodes"] == kSets + kThreads + 1);
    CHECK(db->Stats()["edges"] == kSets + kThreads);
    CHECK(db->GetNode("Item", "shared").value()["degrees"]["VIEWED"]["in"] == kThreads);
  }
  ClosedDb closed(dir.path);
  NodeId shared = closed.Id("Item", "shared");
  for (int t = 0; t < kThreads; ++t) {
    auto edge = closed.store->GetEdge(closed.Id("User", "u" + std::to_string(t)),
                                      closed.EdgeType("VIEWED"), shared);
    REQUIRE(edge.ok());
    CHECK(edge->count == kCalls * kSetsPerCall);
    CHECK(edge->weight == kCalls * kSetsPerCall);
    CHECK(edge->ts == kCalls - 1);
  }
}

constexpr int kEdgesPerSet = 8;

// The child half of the crash test: started by the parent (fork + exec of this binary) with
// PW_CRASH_DIR and PW_CRASH_FD set; applies synced multi-op sets forever and reports each
// acknowledged set number on the pipe. Skipped in normal runs.
TEST_CASE("crash child writer" * doctest::skip()) {
  const char* dir = std::getenv("PW_CRASH_DIR");
  const char* fd_text = std::getenv("PW_CRASH_FD");
  REQUIRE(dir != nullptr);
  REQUIRE(fd_text != nullptr);
  int fd = std::atoi(fd_text);
  auto db = OpenDb(dir);
  for (uint32_t i = 0;; ++i) {
    std::string tag = "t" + std::to_string(i);
    WriteSet set;
    set.ops.push_back(Node("Tag", tag, {{"n", int64_t{kEdgesPerSet}}}));
    for (int k = 0; k < kEdgesPerSet; ++k) {
      set.ops.push_back(Edge("TAGGED", {"Tag", tag},
                             {"Item", "i" + std::to_string((i + k) % 50), true}, 1.0 + k));
    }
    set.ops.push_back(MetaWrite{"set/" + tag, std::string("done")});
    REQUIRE(db->Apply(set, {.sync = true}).ok());
    REQUIRE(write(fd, &i, sizeof(i)) == sizeof(i));
  }
}

TEST_CASE("a crash mid-write leaves every write set all-or-nothing and keeps acknowledged sets") {
  TempDir dir;
  { OpenDbWithSchema(dir.path); }
  std::mt19937 rng(std::random_device{}());
  for (int round = 0; round < 3; ++round) {
    CAPTURE(round);
    int pipefd[2];
    REQUIRE(pipe(pipefd) == 0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      close(pipefd[0]);
      setenv("PW_CRASH_DIR", dir.path.c_str(), 1);
      setenv("PW_CRASH_FD", std::to_string(pipefd[1]).c_str(), 1);
      execl("/proc/self/exe", "test_query", "--test-case=crash child writer", "--no-skip",
            "--no-colors", static_cast<char*>(nullptr));
      _exit(127);
    }
    close(pipefd[1]);
    // Let the child acknowledge a random number of sets, then kill it at once.
    const int64_t kill_after = std::uniform_int_distribution<int>(5, 60)(rng);
    int64_t acked = -1;
    bool killed = false;
    while (true) {
      pollfd p{pipefd[0], POLLIN, 0};
      int ready = poll(&p, 1, 60000);
      REQUIRE_MESSAGE(ready > 0, "the child writer made no progress for 60 s");
      uint32_t i;
      ssize_t n = read(pipefd[0], &i, sizeof(i));
      if (n != sizeof(i)) break;  // the child is gone
      acked = i;
      if (!killed && acked >= kill_after) {
        usleep(std::uniform_int_distribution<int>(0, 3000)(rng));
        kill(pid, SIGKILL);
        killed = true;
      }
    }
    int wstatus = 0;
    waitpid(pid, &wstatus, 0);
    close(pipefd[0]);
    REQUIRE(killed);
    CHECK(WIFSIGNALED(wstatus));

    auto db = OpenDb(dir.path);
    size_t present = 0;
    for (uint32_t i = 0; i < static_cast<uint32_t>(acked) + 200; ++i) {
      std::string tag = "t" + std::to_string(i);
      auto node = db->GetNode("Tag", tag);
      bool meta = db->GetMeta("set/" + tag).ok();
      CAPTURE(tag);
      if (node.ok()) {
        ++present;
        CHECK(meta);
        CHECK(node.value()["properties"]["n"] == kEdgesPerSet);
        CHECK(node.value()["degrees"]["TAGGED"]["out"] == kEdgesPerSet);
      } else {
        CHECK(!meta);
        CHECK(i > static_cast<uint32_t>(acked));  // every acknowledged set survived
      }
    }
    CHECK(present >= static_cast<size_t>(acked) + 1);
    CHECK(db->Stats()["edges"] == present * kEdgesPerSet);
    // Clean up for the next round: the next child starts again at t0, so remove the tags.
    std::vector<WriteSet> cleanup;
    for (uint32_t i = 0; i < present; ++i) {
      NodeWrite del = Node("Tag", "t" + std::to_string(i));
      del.op = NodeWrite::Op::kDelete;
      cleanup.push_back(Set(del, MetaWrite{"set/t" + std::to_string(i), std::nullopt}));
    }
    for (const auto& o : db->ApplyMany(cleanup)) REQUIRE(o.status.ok());
    CHECK(db->Stats()["edges"] == 0);
  }
}

}  // namespace
}  // namespace pathwise
