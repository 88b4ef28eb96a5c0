// The feedback loop's first slice on the embedded database: decisions log their impressions
// durably before answering, events carrying a recommendation_id are joined to them within the
// attribution window, and the log is read back, exported by time range and expired
// (docs/feedback-loop.md).
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <istream>
#include <mutex>
#include <streambuf>
#include <thread>

#include "decide/impression_writer.h"
#include "tests/decide/decide_fixture.h"

namespace pathwise::testing {
namespace {

using json = nlohmann::json;

constexpr int64_t kHour = 3600 * 1000;

// A recommendation_id served at ms (the random part from tail).
std::string IdAt(int64_t ms, int tail = 1) {
  char buf[33];
  std::snprintf(buf, sizeof buf, "%012llx%020d", static_cast<unsigned long long>(ms), tail);
  return buf;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

WriteSet Impression(const std::string& id, int64_t window_ms = 24 * kHour) {
  WriteSet set;
  set.ops.push_back(ImpressionWrite{
      id, json{{"surface", "row"}, {"user", "u1"}, {"items", json::array({{{"id", "i3"}}})}},
      window_ms});
  return set;
}

// An event as POST /v1/events stages it: the edge, the outcome, the dedupe key.
WriteSet Event(const std::string& event_id, const std::string& rec_id, int64_t ts) {
  WriteSet set;
  set.ops.push_back(Edge("VIEWED", {"User", "u1"}, {"Item", "i3"}, 1.0, ts));
  set.ops.push_back(OutcomeWrite{rec_id, event_id, "click", "i3", ts});
  set.unless_meta_exists = "event/" + event_id;
  return set;
}

WriteOutcome ApplyOne(Database* db, const WriteSet& set) {
  std::vector<WriteOutcome> outcomes = db->ApplyMany({set});
  REQUIRE(outcomes.size() == 1);
  return outcomes[0];
}

TEST_CASE("a decision logs its impressions, readable by its recommendation_id") {
  DecideFixture f;
  f.Define("row", DecideFixture::Surface());
  json d = f.Decide("row", {{"user", "u1"}, {"explain", true}});
  CHECK(d["impression_logged"] == true);
  auto logged = f.db->GetRecommendation(d["recommendation_id"].get<std::string>());
  REQUIRE_MESSAGE(logged.ok(), logged.status().ToString());
  const json& r = *logged;
  CHECK(r["recommendation_id"] == d["recommendation_id"]);
  CHECK(r["surface"] == "row");
  CHECK(r["variant"] == "default");
  CHECK(r["user"] == "u1");
  CHECK(r["served_by"] == d["served_by"]);
  CHECK(r["attribution_window_ms"] == 24 * kHour);
  CHECK(r["served_at_ms"].get<int64_t>() > 0);
  CHECK(r["outcomes"] == json::array());
  REQUIRE(r["items"].size() == d["items"].size());
  for (size_t i = 0; i < r["items"].size(); ++i) {
    CAPTURE(i);
    CHECK(r["items"][i]["id"] == d["items"][i]["id"]);
    CHECK(r["items"][i]["slot"] == i);
    CHECK(r["items"][i]["score"] == d["items"][i]["score"]);
    CHECK(r["items"][i]["propensity"] == 1.0);
    CHECK(r["items"][i]["explanation"] == d["items"][i]["explanation"]);
  }
  json again = f.Decide("row", {{"user", "u1"}});
  CHECK(again["recommendation_id"] != d["recommendation_id"]);
  auto plain = f.db->GetRecommendation(again["recommendation_id"].get<std::string>());
  REQUIRE(plain.ok());
  CHECK_FALSE((*plain)["items"][0].contains("explanation"));
}

TEST_CASE("a surface sampling impressions at 0 logs nothing and says so") {
  DecideFixture f;
  f.Define("row", DecideFixture::Surface({{"impressions", {{"sample_rate", 0.0}}}}));
  json d = f.Decide("row", {{"user", "u1"}});
  CHECK(d["impression_logged"] == false);
  CHECK(d["items"].size() == 5);
  auto logged = f.db->GetRecommendation(d["recommendation_id"].get<std::string>());
  CHECK(logged.status().code() == Status::Code::kNotFound);
  CHECK(f.decider->Metrics()["impressions_sampled_out"] == 1);
}

TEST_CASE("bad impression settings of a surface are rejected with a message naming the field") {
  DecideFixture f;
  const json bad[] = {
      {{"attribution_window_seconds", -1}},
      {{"attribution_window_seconds", 1.5}},
      {{"impressions", {{"sample_rate", 1.5}}}},
      {{"impressions", {{"sample_rate", "all"}}}},
      {{"impressions", {{"rate", 1}}}},
      {{"impressions", true}},
  };
  for (const json& overrides : bad) {
    std::string text = overrides.dump();
    CAPTURE(text);
    auto stored = decide::PutSurface(f.db.get(), "row", DecideFixture::Surface(overrides));
    CHECK(stored.status().code() == Status::Code::kInvalidArgument);
    std::string message = stored.status().message();
    bool named = message.find("impressions") != std::string::npos ||
                 message.find("attribution_window_seconds") != std::string::npos ||
                 message.find("rate") != std::string::npos;
    CHECK_MESSAGE(named, message);
  }
  auto stored = decide::PutSurface(f.db.get(), "row", DecideFixture::Surface());
  REQUIRE(stored.ok());
  CHECK((*stored)["impressions"]["sample_rate"] == 1.0);
  CHECK((*stored)["attribution_window_seconds"] == 86400);
}

TEST_CASE("an outcome within the attribution window is attributed, outside it is not") {
  DecideFixture f;
  const int64_t served = NowMs() - 10 * kHour;
  const std::string id = IdAt(served);
  REQUIRE(f.db->Apply(Impression(id, 2 * kHour)).ok());

  WriteOutcome inside = ApplyOne(f.db.get(), Event("e-in", id, served + kHour));
  CHECK(inside.status.ok());
  CHECK(inside.attributed == 1);
  CHECK(inside.unattributed == 0);
  WriteOutcome edge_of_window = ApplyOne(f.db.get(), Event("e-edge", id, served + 2 * kHour));
  CHECK(edge_of_window.attributed == 1);
  WriteOutcome late = ApplyOne(f.db.get(), Event("e-late", id, served + 2 * kHour + 1));
  CHECK(late.status.ok());
  CHECK(late.attributed == 0);
  CHECK(late.unattributed == 1);
  WriteOutcome early = ApplyOne(f.db.get(), Event("e-early", id, served - 1));
  CHECK(early.unattributed == 1);

  auto r = f.db->GetRecommendation(id);
  REQUIRE(r.ok());
  REQUIRE((*r)["outcomes"].size() == 2);
  CHECK((*r)["outcomes"][0]["event_id"] == "e-edge");  // in event_id order
  CHECK((*r)["outcomes"][1] == json{{"event_id", "e-in"}, {"type", "click"}, {"item", "i3"},
                                    {"ts", served + kHour}});
  // Every event was applied as an event, attributed or not.
  CHECK(f.db->GetNode("User", "u1").value()["degrees"]["VIEWED"]["out"] == 3);
  CHECK(f.db->GetMeta("event/e-late").ok());
}

TEST_CASE("an outcome for an unknown recommendation_id is still applied as an event, unattributed") {
  DecideFixture f;
  const std::string unknown = IdAt(NowMs(), 7);
  WriteOutcome o = ApplyOne(f.db.get(), Event("e1", unknown, NowMs()));
  CHECK(o.status.ok());
  CHECK(o.attributed == 0);
  CHECK(o.unattributed == 1);
  CHECK(f.db->GetMeta("event/e1").ok());
  CHECK(f.db->GetRecommendation(unknown).status().code() == Status::Code::kNotFound);
}

TEST_CASE("a duplicate event does not attribute twice") {
  DecideFixture f;
  const int64_t served = NowMs() - 1000;
  const std::string id = IdAt(served);
  REQUIRE(f.db->Apply(Impression(id)).ok());
  CHECK(ApplyOne(f.db.get(), Event("e1", id, served + 10)).attributed == 1);
  WriteOutcome again = ApplyOne(f.db.get(), Event("e1", id, served + 20));
  CHECK(again.duplicate);
  CHECK(again.attributed == 0);
  // Twice in one group commit: the second is a duplicate of the first.
  std::vector<WriteOutcome> both = f.db->ApplyMany({Event("e2", id, served + 30), Event("e2", id, served + 40)});
  CHECK(both[0].attributed == 1);
  CHECK(both[1].duplicate);
  CHECK(both[1].attributed == 0);
  CHECK(f.db->GetRecommendation(id).value()["outcomes"].size() == 2);
}

TEST_CASE("an impression and its outcome staged in one group commit are joined") {
  DecideFixture f;
  const int64_t served = NowMs();
  const std::string id = IdAt(served);
  std::vector<WriteOutcome> outcomes = f.db->ApplyMany({Impression(id), Event("e1", id, served + 5)});
  CHECK(outcomes[1].attributed == 1);
}

TEST_CASE("malformed recommendation ids and negative windows are rejected with a message") {
  DecideFixture f;
  for (const std::string& bad : std::vector<std::string>{"", "abc", std::string(32, 'g'), std::string(33, '0')}) {
    CAPTURE(bad);
    CHECK(f.db->GetRecommendation(bad).status().code() == Status::Code::kInvalidArgument);
    CHECK(f.db->Apply(Impression(bad)).code() == Status::Code::kInvalidArgument);
    WriteOutcome o = ApplyOne(f.db.get(), Event("e-bad", bad, NowMs()));
    CHECK(o.status.code() == Status::Code::kInvalidArgument);
    CHECK_FALSE(f.db->GetMeta("event/e-bad").ok());  // the set failed as a whole
  }
  Status negative = f.db->Apply(Impression(IdAt(NowMs()), -1));
  CHECK(negative.code() == Status::Code::kInvalidArgument);
  CHECK(negative.message().find("attribution_window_ms") != std::string::npos);
  // Upper-case hex names the same decision.
  std::string id = IdAt(NowMs()) ;
  id.replace(20, 12, "ABCDEF012345");
  REQUIRE(f.db->Apply(Impression(id)).ok());
  std::string lower = id;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  CHECK(f.db->GetRecommendation(lower).value()["recommendation_id"] == lower);
}

TEST_CASE("a scan returns exactly the decisions served from since up to until, and expiry deletes the older ones") {
  DecideFixture f;
  const int64_t t0 = NowMs() - 100 * kHour;
  for (int i = 0; i < 5; ++i) REQUIRE(f.db->Apply(Impression(IdAt(t0 + i * 10, i))).ok());
  REQUIRE(ApplyOne(f.db.get(), Event("e1", IdAt(t0 + 10, 1), t0 + 15)).attributed == 1);
  std::vector<json> seen;
  REQUIRE(f.db->ScanRecommendations(t0 + 10, t0 + 30, [&](const json& d) {
    seen.push_back(d);
    return true;
  }).ok());
  REQUIRE(seen.size() == 2);
  CHECK(seen[0]["served_at_ms"] == t0 + 10);
  CHECK(seen[0]["outcomes"].size() == 1);
  CHECK(seen[1]["served_at_ms"] == t0 + 20);
  CHECK(seen[1]["outcomes"].size() == 0);

  REQUIRE(f.db->ExpireImpressions(t0 + 20).ok());
  size_t left = 0;
  REQUIRE(f.db->ScanRecommendations(0, t0 + 1000, [&](const json&) { return ++left, true; }).ok());
  CHECK(left == 3);
  CHECK(f.db->GetRecommendation(IdAt(t0 + 10, 1)).status().code() == Status::Code::kNotFound);
  // An outcome for an expired decision is unattributed.
  CHECK(ApplyOne(f.db.get(), Event("e2", IdAt(t0 + 10, 1), t0 + 16)).unattributed == 1);
}

TEST_CASE("the database expires impressions older than the retention when it opens") {
  TempDir dir;
  const std::string old_id = IdAt(NowMs() - 3 * 24 * kHour);
  const std::string new_id = IdAt(NowMs() - kHour);
  {
    DatabaseOptions keep;
    keep.impression_retention_days = 0;
    auto db = OpenDb(dir.path, keep);
    REQUIRE(db->Apply(Impression(old_id)).ok());
    REQUIRE(db->Apply(Impression(new_id)).ok());
  }
  DatabaseOptions two_days;
  two_days.impression_retention_days = 2;
  auto db = OpenDb(dir.path, two_days);
  // The expirer runs at open on its own thread; wait for it.
  for (int i = 0; i < 200 && db->GetRecommendation(old_id).ok(); ++i) usleep(10000);
  CHECK(db->GetRecommendation(old_id).status().code() == Status::Code::kNotFound);
  CHECK(db->GetRecommendation(new_id).ok());
}

// A stream whose first read blocks until Release(), then ends: a bulk load reading it holds the
// writer role until then.
class BlockingStreambuf : public std::streambuf {
 public:
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  void WaitUntilRead() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return reading_; });
  }

 protected:
  int_type underflow() override {
    std::unique_lock<std::mutex> lock(mu_);
    reading_ = true;
    cv_.notify_all();
    cv_.wait(lock, [this] { return released_; });
    return traits_type::eof();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool reading_ = false;
  bool released_ = false;
};

// Holds the writer role with an exclusive load reading a BlockingStreambuf until Release().
class HeldWriter {
 public:
  explicit HeldWriter(Database* db) : in_(&buf_) {
    LoadOptions exclusive;
    exclusive.exclusive = true;
    loader_ = std::thread([this, db, exclusive] { (void)db->Load(in_, exclusive); });
    buf_.WaitUntilRead();
  }
  ~HeldWriter() { Release(); }
  void Release() {
    buf_.Release();
    if (loader_.joinable()) loader_.join();
  }

 private:
  BlockingStreambuf buf_;
  std::istream in_;
  std::thread loader_;
};

TEST_CASE("a decision whose log cannot be written in time still answers, with impression_log_failed") {
  DecideFixture f;
  f.Define("row", DecideFixture::Surface());
  decide::DeciderOptions options;
  options.impression_max_queue_wait_ms = 20;
  f.MakeDecider(options);
  auto held = std::make_unique<HeldWriter>(f.db.get());  // an exclusive load
  auto t0 = std::chrono::steady_clock::now();
  json d = f.Decide("row", {{"user", "u1"}});
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  held.reset();
  CHECK(d["items"].size() == 5);
  CHECK(d["impression_logged"] == false);
  CHECK(DecideFixture::HasReason(d, "impression_log_failed"));
  CHECK(ms < 1000);
  CHECK(f.decider->Metrics()["impression_log_failures"] == 1);
  CHECK(f.db->GetRecommendation(d["recommendation_id"].get<std::string>()).status().code() ==
        Status::Code::kNotFound);
  // The writer is free again: the next decision is logged, and the database took no harm.
  json next = f.Decide("row", {{"user", "u1"}});
  CHECK(next["impression_logged"] == true);
  CHECK(f.db->Health().ok());
}

// Waits until cond() holds (up to 60 s).
template <typename Cond>
bool Eventually(Cond cond) {
  for (int i = 0; i < 6000; ++i) {
    if (cond()) return true;
    usleep(10000);
  }
  return cond();
}

TEST_CASE("a decision whose queued impression write is still going at its deadline answers on "
          "time, impression_log_late, and the record is written after") {
  DecideFixture f;
  f.Define("row", DecideFixture::Surface());
  decide::DeciderOptions options;
  options.impression_max_queue_wait_ms = 0;  // writes wait for the writer role unbounded
  f.MakeDecider(options, /*wait_for_impressions=*/false);
  HeldWriter held(f.db.get());
  // The first decision writes its own record (no other write runs) and waits with it.
  json first;
  std::thread writer([&] {
    auto r = f.decider->Decide("row", {{"user", "kid"}});
    if (r.ok()) first = *r;
  });
  REQUIRE(Eventually([&] { return f.decider->Metrics()["impression_writes_in_flight"] == 1; }));
  // The second one's record is queued behind it: it answers at its deadline.
  auto t0 = std::chrono::steady_clock::now();
  json d = f.Decide("row", {{"user", "u1"}, {"deadline_ms", 200}});
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - t0)
                .count();
  CHECK(d["items"].size() == 5);
  CHECK(d["served_by"] == "primary");
  CHECK(d["impression_logged"] == false);
  CHECK(DecideFixture::HasReason(d, "impression_log_late"));
  CHECK_FALSE(DecideFixture::HasReason(d, "impression_log_failed"));
  CHECK(d["degraded"] == false);  // the list is the primary one; only its record is late
  CHECK(ms < 5000);  // answered while the writer role is still held
  std::string id = d["recommendation_id"];
  CHECK(f.db->GetRecommendation(id).status().code() == Status::Code::kNotFound);
  CHECK(f.decider->Metrics()["reason:impression_log_late"] == 1);
  held.Release();
  writer.join();
  CHECK(first["impression_logged"] == true);
  // The write goes on after the answer: the record appears once the writer role is free.
  CHECK(Eventually([&] { return f.db->GetRecommendation(id).ok(); }));
  auto logged = f.db->GetRecommendation(id);
  REQUIRE_MESSAGE(logged.ok(), logged.status().ToString());
  CHECK((*logged)["items"].size() == 5);
  CHECK(Eventually([&] { return f.decider->Metrics()["impressions_logged"] == 2; }));
  CHECK(f.decider->Metrics()["impression_writes_in_flight"] == 0);
  CHECK(f.db->Health().ok());
}

TEST_CASE("the impression writer writes a record on the caller's thread when no other write runs") {
  DecideFixture f;
  decide::ImpressionWriter writer(f.db.get(), {});
  std::string id = IdAt(NowMs(), 7);
  std::thread::id ran_on;
  auto ticket = writer.Submit(Impression(id), [&ran_on](const Status&) {
    ran_on = std::this_thread::get_id();
  });
  REQUIRE(ticket.ok());
  Status status;
  CHECK((*ticket)->WaitUntil(std::chrono::steady_clock::now(), &status));  // already written
  CHECK(status.ok());
  CHECK(ran_on == std::this_thread::get_id());
  CHECK(f.db->GetRecommendation(id).ok());
}

// Occupies an impression writer with one record written on a thread of its own, held back by
// the writer role that `held` holds, so that records submitted meanwhile are queued.
class BusyImpressionWriter {
 public:
  BusyImpressionWriter(decide::ImpressionWriter* writer, int64_t ms)
      : thread_([writer, ms] { (void)writer->Submit(Impression(IdAt(ms, 99)), nullptr); }) {
    REQUIRE(Eventually([writer] { return writer->in_flight() == 1; }));
  }
  ~BusyImpressionWriter() { thread_.join(); }  // after the HeldWriter is released

 private:
  std::thread thread_;
};

TEST_CASE("the impression writer refuses records beyond its queue bound and writes every "
          "accepted one") {
  DecideFixture f;
  decide::ImpressionWriter::Options options;
  options.threads = 1;
  options.max_queued = 2;
  options.max_batch = 1;  // the thread takes one record, whenever it wakes
  decide::ImpressionWriter writer(f.db.get(), options);
  auto held = std::make_unique<HeldWriter>(f.db.get());
  auto busy = std::make_unique<BusyImpressionWriter>(&writer, NowMs());
  std::vector<std::string> accepted;
  std::vector<std::shared_ptr<decide::ImpressionWriter::Ticket>> tickets;
  std::atomic<int> written{0};
  Status refused;
  // The thread may take one queued record (and wait for the writer role); two more queue.
  for (int i = 0; i < 5 && refused.ok(); ++i) {
    std::string id = IdAt(NowMs(), 100 + i);
    auto ticket = writer.Submit(Impression(id), [&written](const Status& s) {
      if (s.ok()) ++written;
    });
    if (!ticket.ok()) {
      refused = ticket.status();
    } else {
      accepted.push_back(id);
      tickets.push_back(*ticket);
    }
  }
  CHECK(refused.code() == Status::Code::kResourceExhausted);
  CHECK(accepted.size() >= 2);
  CHECK(accepted.size() <= 3);
  Status status;
  CHECK_FALSE(tickets[0]->WaitUntil(std::chrono::steady_clock::now(), &status));
  held.reset();
  busy.reset();
  for (auto& ticket : tickets) {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    REQUIRE(ticket->WaitUntil(until, &status));
    CHECK(status.ok());
  }
  CHECK(written.load() == static_cast<int>(accepted.size()));
  for (const std::string& id : accepted) CHECK(f.db->GetRecommendation(id).ok());
}

TEST_CASE("the impression writer writes what is queued before it stops") {
  DecideFixture f;
  std::vector<std::string> ids;
  {
    decide::ImpressionWriter::Options options;
    options.threads = 2;
    options.max_batch = 10;  // the threads take at most 20 records before the writer role frees
    decide::ImpressionWriter writer(f.db.get(), options);
    auto held = std::make_unique<HeldWriter>(f.db.get());
    auto busy = std::make_unique<BusyImpressionWriter>(&writer, NowMs());
    for (int i = 0; i < 200; ++i) {
      ids.push_back(IdAt(NowMs(), 1000 + i));
      auto ticket = writer.Submit(Impression(ids.back()), nullptr);
      REQUIRE(ticket.ok());
    }
    CHECK(writer.queued() > 0);
    held.reset();
    busy.reset();
  }  // the destructor writes what is still queued
  for (const std::string& id : ids) CHECK(f.db->GetRecommendation(id).ok());
}

TEST_CASE("impressions of decisions made concurrently by many threads are each written once") {
  DecideFixture f;
  f.Define("row", DecideFixture::Surface());
  decide::DeciderOptions options;
  options.impression_max_queue_wait_ms = 0;  // however slow the disk, no write is given up
  f.MakeDecider(options);
  constexpr int kThreads = 8, kEach = 25;
  std::vector<std::vector<std::string>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&f, &ids, t] {
      const char* users[] = {"u1", "kid", "new"};
      for (int i = 0; i < kEach; ++i) {
        auto d = f.decider->Decide("row", {{"user", users[(t + i) % 3]}});
        if (d.ok() && (*d)["impression_logged"] == true) {
          ids[t].push_back((*d)["recommendation_id"]);
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  size_t logged = 0;
  for (const auto& list : ids) {
    logged += list.size();
    for (const std::string& id : list) CHECK(f.db->GetRecommendation(id).ok());
  }
  CHECK(logged == kThreads * kEach);
  CHECK(f.decider->Metrics()["impressions_logged"] == kThreads * kEach);
}

// The child half of the durability test: started by the parent (fork + exec of this binary)
// with PW_IMPRESSION_DIR and PW_IMPRESSION_FD set; decides forever and reports each answered
// recommendation_id on the pipe. Skipped in normal runs.
TEST_CASE("impression child decider" * doctest::skip()) {
  const char* dir = std::getenv("PW_IMPRESSION_DIR");
  const char* fd_text = std::getenv("PW_IMPRESSION_FD");
  REQUIRE(dir != nullptr);
  REQUIRE(fd_text != nullptr);
  int fd = std::atoi(fd_text);
  auto db = OpenDb(dir);
  decide::DeciderOptions options;
  options.impression_wait_past_deadline_ms = 600'000;
  decide::Decider decider(db.get(), options);
  while (true) {
    auto d = decider.Decide("row", {{"user", "u1"}});
    REQUIRE(d.ok());
    if ((*d)["impression_logged"] != true) continue;  // only those it says are durable
    std::string id = (*d)["recommendation_id"].get<std::string>();
    REQUIRE(write(fd, id.data(), id.size()) == static_cast<ssize_t>(id.size()));
  }
}

TEST_CASE("a decision's impressions are durable before it answers: kill -9 after the answer loses none") {
  DecideFixture f;
  f.Define("row", DecideFixture::Surface());
  f.decider.reset();
  f.db.reset();
  int pipefd[2];
  REQUIRE(pipe(pipefd) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(pipefd[0]);
    setenv("PW_IMPRESSION_DIR", f.dir.path.c_str(), 1);
    setenv("PW_IMPRESSION_FD", std::to_string(pipefd[1]).c_str(), 1);
    execl("/proc/self/exe", "test_decide", "--test-case=impression child decider", "--no-skip",
          "--no-colors", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(pipefd[1]);
  std::vector<std::string> answered;
  std::string pending;
  bool killed = false;
  while (true) {
    pollfd p{pipefd[0], POLLIN, 0};
    int ready = poll(&p, 1, 60000);
    REQUIRE_MESSAGE(ready > 0, "the child decider made no progress for 60 s");
    char buf[256];
    ssize_t n = read(pipefd[0], buf, sizeof buf);
    if (n <= 0) break;  // the child is gone
    pending.append(buf, static_cast<size_t>(n));
    while (pending.size() >= 32) {
      answered.push_back(pending.substr(0, 32));
      pending.erase(0, 32);
    }
    if (!killed && answered.size() >= 20) {
      kill(pid, SIGKILL);
      killed = true;
    }
  }
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  close(pipefd[0]);
  REQUIRE(killed);
  CHECK(WIFSIGNALED(wstatus));
  f.db = OpenDb(f.dir.path);
  for (const std::string& id : answered) {
    CAPTURE(id);
    auto logged = f.db->GetRecommendation(id);
    CHECK_MESSAGE(logged.ok(), logged.status().ToString());
  }
}

}  // namespace
}  // namespace pathwise::testing
