// The impression writer's threads (impression_writer.h).
#include "decide/impression_writer.h"

#include <algorithm>
#include <utility>

namespace pathwise::decide {

bool ImpressionWriter::Ticket::WaitUntil(std::chrono::steady_clock::time_point until,
                                         Status* status) {
  MutexLock lock(&mu_);
  for (auto now = std::chrono::steady_clock::now(); !done_ && now < until;
       now = std::chrono::steady_clock::now()) {
    cv_.WaitFor(&mu_, until - now);
  }
  if (done_) *status = status_;
  return done_;
}

void ImpressionWriter::Ticket::Finish(const Status& status) {
  MutexLock lock(&mu_);
  done_ = true;
  status_ = status;
  cv_.NotifyAll();
}

ImpressionWriter::ImpressionWriter(Database* db, Options options)
    : db_(db), options_(options) {
  size_t n = std::max<size_t>(1, options_.threads);
  for (size_t i = 0; i < n; ++i) threads_.emplace_back([this] { Run(); });
}

ImpressionWriter::~ImpressionWriter() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    cv_.NotifyAll();
  }
  for (std::thread& t : threads_) t.join();
}

Result<std::shared_ptr<ImpressionWriter::Ticket>> ImpressionWriter::Submit(WriteSet set,
                                                                           Done done) {
  auto ticket = std::make_shared<Ticket>();
  std::vector<Entry> inline_write;
  {
    MutexLock lock(&mu_);
    if (queue_.size() >= options_.max_queued) {
      return Status::ResourceExhausted(std::to_string(queue_.size()) +
                                       " impression records are waiting to be written");
    }
    if (in_flight_ > 0 || !queue_.empty()) {
      queue_.push_back(Entry{std::move(set), std::move(done), ticket});
      cv_.NotifyOne();
      return ticket;
    }
    ++in_flight_;
  }
  inline_write.push_back(Entry{std::move(set), std::move(done), ticket});
  Write(&inline_write);
  MutexLock lock(&mu_);
  --in_flight_;
  return ticket;
}

size_t ImpressionWriter::in_flight() const {
  MutexLock lock(&mu_);
  return in_flight_;
}

size_t ImpressionWriter::queued() const {
  MutexLock lock(&mu_);
  return queue_.size();
}

void ImpressionWriter::Run() {
  std::vector<Entry> batch;
  for (;;) {
    {
      MutexLock lock(&mu_);
      while (queue_.empty() && !stopping_) cv_.Wait(&mu_);
      if (queue_.empty()) return;  // stopping, and everything queued is written
      size_t n = std::min(queue_.size(), std::max<size_t>(1, options_.max_batch));
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      ++in_flight_;
    }
    Write(&batch);
    batch.clear();
    {
      MutexLock lock(&mu_);
      --in_flight_;
    }
  }
}

void ImpressionWriter::Write(std::vector<Entry>* batch) {
  std::vector<WriteSet> sets;
  sets.reserve(batch->size());
  for (Entry& e : *batch) sets.push_back(std::move(e.set));
  WriteOptions write_options;
  write_options.sync = options_.sync;
  write_options.max_queue_wait_ms = options_.max_queue_wait_ms;
  std::vector<WriteOutcome> outcomes = db_->ApplyMany(sets, write_options);
  for (size_t i = 0; i < batch->size(); ++i) {
    Entry& e = (*batch)[i];
    if (e.done) e.done(outcomes[i].status);
    e.ticket->Finish(outcomes[i].status);
  }
}

}  // namespace pathwise::decide
