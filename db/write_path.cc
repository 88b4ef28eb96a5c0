// The write path: a single-writer leader/follower queue (as in LevelDB's DBImpl::Write) and the
// group commit of WriteSets, in a three-stage pipeline.
//
// A caller queues a Writer and waits. The writer at the front is the leader: it takes every
// queued WriteSet writer behind it (up to a bound) as its group and
//   1. stages each set in order (staged_write.h): validated against memory plus the sets staged
//      before it; a set that fails fails alone and leaves nothing behind; then prepares the
//      group's batch for the store (Store::Prepare: RocksDB's form, sorted);
// then, once no other group is being written and at most one written group waits to be
// applied, pops its group off the queue (the next writer at the front becomes leader and stages
// the next group meanwhile) and
//   2. writes the group's one storage::WriteBatch (synced if any member asked for sync);
// then, once every group staged before it is applied,
//   3. applies the group's effects to the in-memory graph and vector indexes, in order;
// then wakes the members. So at most three groups are in flight: one being applied, the next
// being written, and the next being staged against memory plus the overlays of the two before
// it (StagingView::pending), since memory may show neither yet. Groups are staged, written and
// applied in the same order; one staging, one write and one apply run at a time.
//
// Memory changes only after the batch is durable, so a concurrent query never sees a write that
// could still be lost or rejected; it may see a durable write a moment before its caller is
// told (and, as the graph is read-committed per node, one node of a group before another). A
// failed storage write leaves memory untouched, fails the group's sets and, being a storage
// fault, stops later writes (the group staged behind it included) until the database is
// reopened (Health() says why); bad input never does. A group written after one that then
// fails to apply to memory is durable but reported failed, like the failed group itself. An
// exclusive writer waits at the front until no group is in flight, so it runs alone.
#include <algorithm>
#include <chrono>

#include "db/database_impl.h"

namespace pathwise {

namespace {

constexpr size_t kMaxGroupSets = 4096;

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

StagingView Database::Impl::View(const Schema& current) const {
  return StagingView{&current, graph.get(), vectors.get(), store.get(), NowMillis(),
                     CurrentFoldIns(), fold_ledger.get()};
}

void Database::Impl::Fail(const Status& fault) {
  MutexLock lock(&mu);
  if (failed.ok()) failed = fault;
}

void Database::Impl::StageGroup(const std::vector<Writer*>& group,
                                const std::vector<std::shared_ptr<StagedGroup>>& before,
                                StagedGroup* staged) {
  std::shared_ptr<const Schema> current = CurrentSchema();
  StagingView view = View(*current);
  for (size_t i = 0; i < before.size() && i < view.pending.size(); ++i) {
    view.pending[i] = &before[i]->overlay;
  }
  for (Writer* x : group) {
    for (size_t i = 0; i < x->sets->size(); ++i) {
      WriteOutcome& outcome = (*x->outcomes)[i];
      outcome.status = StageSet(view, (*x->sets)[i], staged, &outcome);
    }
  }
  // Also ahead of the write: the batch's RocksDB form (a failure shows again in the write).
  (void)store->Prepare(&staged->batch);
}

Status Database::Impl::ApplyStaged(const StagedGroup& staged) {
  if (staged.batch.Count() == 0) return Status::OK();
  Status applied = ApplyToMemory(staged, graph.get(), vectors.get());
  FeedCounters(staged);
  return applied;
}

bool Database::Impl::AtFront(const Writer* w) const {
  return !writers.empty() && writers.front() == w;
}

Status Database::Impl::WaitForTurn(Writer* w) {
  if (!failed.ok() && !w->run_when_failed) return failed;
  writers.push_back(w);
  if (w->max_queue_wait_ms > 0) {
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(w->max_queue_wait_ms);
    for (auto now = std::chrono::steady_clock::now(); !w->done && !w->taken && !AtFront(w);
         now = std::chrono::steady_clock::now()) {
      if (now >= until) {
        writers.erase(std::find(writers.begin(), writers.end(), w));
        return Status::DeadlineExceeded("the writer was busy for more than " +
                                        std::to_string(w->max_queue_wait_ms) + " ms");
      }
      w->cv.WaitFor(&mu, until - now);
    }
  }
  while (!w->done && !AtFront(w)) w->cv.Wait(&mu);
  return Status::OK();
}

std::vector<Database::Impl::Writer*> Database::Impl::TakeGroup(bool* sync) {
  std::vector<Writer*> group;
  size_t set_count = 0;
  *sync = false;
  for (Writer* x : writers) {
    if (x->exclusive) break;
    if (!group.empty() && set_count + x->sets->size() > kMaxGroupSets) break;
    group.push_back(x);
    x->taken = true;
    set_count += x->sets->size();
    *sync |= x->sync;
  }
  return group;
}

void Database::Impl::PopGroup(const std::vector<Writer*>& group) {
  for (size_t i = 0; i < group.size(); ++i) writers.pop_front();
  if (!writers.empty()) writers.front()->cv.NotifyOne();
}

void Database::Impl::CompleteGroup(const std::vector<Writer*>& group, Writer* leader,
                                   const Status& status) {
  for (Writer* x : group) {
    x->status = status;
    x->done = true;
    if (x != leader) x->cv.NotifyOne();
  }
}

void Database::Impl::WaitForCommitted() {
  while (!in_flight.empty()) pipeline_cv.Wait(&mu);
}

Status Database::Impl::RunExclusiveTurn(Writer* w) {
  WaitForCommitted();
  Status s = failed;
  mu.Unlock();
  if (s.ok() || w->run_when_failed) s = w->exclusive();
  mu.Lock();
  PopGroup({w});
  CompleteGroup({w}, w, s);
  return s;
}

Status Database::Impl::RunWriter(Writer* w) {
  MutexLock lock(&mu);
  PW_RETURN_IF_ERROR(WaitForTurn(w));
  if (w->done) return w->status;
  if (w->exclusive) return RunExclusiveTurn(w);

  // Leader of a group of WriteSet writers: stage (step 1), beside the write of the group before
  // and the apply of the one before that.
  bool sync = false;
  std::vector<Writer*> group = TakeGroup(&sync);
  std::vector<std::shared_ptr<StagedGroup>> before(in_flight.begin(), in_flight.end());
  const StagedGroup* newest = before.empty() ? nullptr : before.back().get();
  auto staged = std::make_shared<StagedGroup>();
  staged->Reset(newest ? newest->next_id : graph->IdBound(),
                newest ? newest->next_event_seq : next_event_seq,
                newest ? newest->log_sequence : log_sequence.load());
  Status status = failed;
  mu.Unlock();
  if (status.ok()) StageGroup(group, before, staged.get());
  before.clear();
  mu.Lock();

  // Write (step 2) once no group is being written and at most one written group is not yet
  // applied; the next leader stages meanwhile.
  while (writing || in_flight.size() > 1) pipeline_cv.Wait(&mu);
  in_flight.push_back(staged);
  writing = true;
  PopGroup(group);
  status = failed;
  mu.Unlock();
  if (status.ok() && staged->batch.Count() > 0) status = store->Write(&staged->batch, sync);
  mu.Lock();
  writing = false;
  if (status.ok()) {
    next_event_seq = staged->next_event_seq;
    log_sequence = staged->log_sequence;
  }
  if (!status.ok() && failed.ok()) failed = status;
  pipeline_cv.NotifyAll();

  // Apply (step 3) once every group staged before it is applied.
  while (in_flight.front() != staged) pipeline_cv.Wait(&mu);
  if (status.ok()) status = failed;  // a group before it failed to apply: memory is behind
  mu.Unlock();
  if (status.ok()) status = ApplyStaged(*staged);
  mu.Lock();
  in_flight.pop_front();
  pipeline_cv.NotifyAll();
  if (!status.ok()) {
    if (failed.ok()) failed = status;
    for (Writer* x : group) {
      for (auto& outcome : *x->outcomes) {
        if (outcome.status.ok() && !outcome.duplicate) {
          outcome.status = status;
          outcome.attributed = outcome.unattributed = 0;
        }
      }
    }
  }
  CompleteGroup(group, w, status);
  return status;
}

Status Database::Impl::RunExclusive(std::function<Status()> fn, bool run_when_failed) {
  Writer w;
  w.exclusive = std::move(fn);
  w.run_when_failed = run_when_failed;
  return RunWriter(&w);
}

namespace {

// The external ids of the nodes one set writes (WrittenNodes).
void AddWrittenNodes(const WriteSet& set, Database::WrittenNodes* out) {
  for (const auto& op : set.ops) {
    if (const auto* n = std::get_if<NodeWrite>(&op)) {
      out->ids.push_back(n->id);
    } else if (const auto* e = std::get_if<EdgeWrite>(&op)) {
      out->ids.push_back(e->from.id);
      out->ids.push_back(e->to.id);
    } else if (const auto* v = std::get_if<VectorWrite>(&op)) {
      out->ids.push_back(v->id);
    }
  }
}

bool WritesMeta(const WriteSet& set) {
  return std::any_of(set.ops.begin(), set.ops.end(),
                     [](const auto& op) { return std::holds_alternative<MetaWrite>(op); });
}

}  // namespace

Status Database::Apply(const WriteSet& writes, const WriteOptions& options) {
  std::vector<WriteSet> sets;
  sets.push_back(writes);
  std::vector<WriteOutcome> outcomes = ApplyMany(sets, options);
  return outcomes[0].status;
}

std::vector<WriteOutcome> Database::ApplyMany(const std::vector<WriteSet>& sets,
                                              const WriteOptions& options) {
  std::vector<WriteOutcome> outcomes(sets.size());
  if (sets.empty()) return outcomes;
  Impl::Writer w;
  w.sets = &sets;
  w.outcomes = &outcomes;
  w.sync = options.sync;
  w.max_queue_wait_ms = std::max<int64_t>(0, options.max_queue_wait_ms);
  Status s = impl_->RunWriter(&w);
  if (!s.ok()) {
    for (auto& outcome : outcomes) {
      if (outcome.status.ok()) outcome.status = s;
    }
  }
  WrittenNodes written;
  bool wrote_meta = false;
  for (size_t i = 0; i < sets.size(); ++i) {
    if (outcomes[i].status.ok() && !outcomes[i].duplicate) {
      AddWrittenNodes(sets[i], &written);
      wrote_meta = wrote_meta || WritesMeta(sets[i]);
    }
  }
  if (wrote_meta) impl_->meta_generation.fetch_add(1, std::memory_order_acq_rel);
  if (!written.ids.empty()) impl_->NotifyObservers(written);
  return outcomes;
}

uint64_t Database::AppliedLogSequence() const {
  return impl_->log_sequence.load(std::memory_order_acquire);
}

uint64_t Database::MetaGeneration() const {
  return impl_->meta_generation.load(std::memory_order_acquire);
}

uint64_t Database::AddWriteObserver(WriteObserver observer) {
  MutexLock lock(&impl_->observers_mu);
  uint64_t id = impl_->next_observer++;
  impl_->observers.emplace(id, std::move(observer));
  return id;
}

void Database::RemoveWriteObserver(uint64_t id) {
  MutexLock lock(&impl_->observers_mu);
  impl_->observers.erase(id);
}

void Database::Impl::NotifyObservers(const WrittenNodes& written) {
  MutexLock lock(&observers_mu);
  for (const auto& [id, observer] : observers) observer(written);
}

}  // namespace pathwise
