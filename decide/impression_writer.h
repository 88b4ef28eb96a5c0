// Internal to decide/: writes decisions' impression records through the database's write path,
// on threads of its own whenever another record is being written, so that a decision can stop
// waiting for its record at its deadline while the write goes on (docs/feedback-loop.md,
// "Impressions").
//
// A record submitted while no other is being written or queued is written on the caller's
// thread (no hand-off: the common case on a server that is not saturated), and Submit returns
// once it is written. Otherwise it is queued, and records queued while writes run go out
// together: each writer thread takes what is queued (up to max_batch records) as one
// Database::ApplyMany, one group commit and one fsync. A record's outcome is known to its `Done`
// callback, run once the write finished, and then to whoever waits on its Ticket. The destructor
// writes what is queued.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "db/database.h"
#include "storage/mutex.h"
#include "storage/status.h"

namespace pathwise::decide {

class ImpressionWriter {
 public:
  struct Options {
    bool sync = true;               // WriteOptions::sync of every write
    int64_t max_queue_wait_ms = 0;  // WriteOptions::max_queue_wait_ms of every write
    size_t threads = 2;             // two writes in flight: one staged while the other syncs
    size_t max_queued = 65'536;     // records waiting for a thread; more are refused
    size_t max_batch = 1'024;       // records in one write
  };

  // What a queued record's caller waits on.
  class Ticket {
   public:
    // Waits until the record's write finished or `until` passed. true (and *status set to the
    // write's outcome) when it finished.
    bool WaitUntil(std::chrono::steady_clock::time_point until, Status* status);
    void Finish(const Status& status);

   private:
    Mutex mu_;
    CondVar cv_;
    bool done_ PW_GUARDED_BY(mu_) = false;
    Status status_ PW_GUARDED_BY(mu_);
  };

  // Runs with the record's outcome on the thread that wrote it (the caller's or a writer
  // thread), before its Ticket is finished.
  using Done = std::function<void(const Status&)>;

  // Does not own db, which must outlive the writer.
  ImpressionWriter(Database* db, Options options);
  ~ImpressionWriter();  // writes every queued record, then joins the threads
  ImpressionWriter(const ImpressionWriter&) = delete;
  ImpressionWriter& operator=(const ImpressionWriter&) = delete;

  // Writes one record's write set on this thread when no write runs and none is queued (the
  // ticket is then finished on return), else queues it. ResourceExhausted when max_queued
  // records already wait (nothing is queued and done is not called).
  Result<std::shared_ptr<Ticket>> Submit(WriteSet set, Done done);

  // Writes running (on the callers' threads or the writer's) and records queued, for metrics.
  size_t in_flight() const;
  size_t queued() const;

 private:
  struct Entry {
    WriteSet set;
    Done done;
    std::shared_ptr<Ticket> ticket;
  };
  void Run();
  void Write(std::vector<Entry>* batch);

  Database* const db_;
  const Options options_;
  mutable Mutex mu_;
  CondVar cv_;
  std::deque<Entry> queue_ PW_GUARDED_BY(mu_);
  size_t in_flight_ PW_GUARDED_BY(mu_) = 0;  // writes running
  bool stopping_ PW_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace pathwise::decide
