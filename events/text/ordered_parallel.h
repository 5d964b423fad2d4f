#pragma once
// Work done on several threads and handed on in order: items 0, 1, 2… are produced by `threads`
// worker threads, in any order and at once, and consumed one at a time, strictly in index order,
// on the thread that submits them. At most `window` items are submitted and not yet consumed, so
// what they hold is bounded by the window, whatever the number of items.
//
// Each item lives in a slot (a value of `Slot`, owned here and reused by the item `window`
// after it: buffers keep their capacity):
//   submit(fill)       the calling thread waits for room in the window (consuming the items
//                      before, as they become ready), then fill(slot) gives the item its input;
//   produce(i, s, w)   on worker w (0 ≤ w < threads), any order, several at once;
//   consume(i, s)      on the calling thread, in index order; returning false stops the work
//                      (no item after it is consumed, stopped() turns true).
// The first exception thrown by produce or consume stops everything: no item is taken or consumed
// after it, and once every worker has returned (joined) it is rethrown to the calling thread by
// submit() or finish(). With threads ≤ 1 no thread is started: submit() produces and consumes the
// item itself. Workers are started as items arrive, never more than were submitted.
// caller_helps() (before the first submit): threads − 1 workers are started, and the calling
// thread, when it waits for the next item in order and items are left untaken, produces one
// itself as worker threads − 1; so `threads` threads in all do the work, not threads + 1.
#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace pmc {

template <class Slot>
class OrderedParallel {
 public:
  using Produce = std::function<void(size_t index, Slot& slot, unsigned worker)>;
  using Consume = std::function<bool(size_t index, Slot& slot)>;

  // `consume` may return bool (false: stop) or nothing.
  template <class P, class C>
  OrderedParallel(unsigned threads, size_t window, P&& produce, C&& consume)
      : produce_(std::forward<P>(produce)),
        consume_(as_bool(std::forward<C>(consume))),
        threads_(threads <= 1 ? 0 : threads),
        slots_(threads_ == 0 ? 1 : std::max<size_t>(window, 1)),
        ready_(slots_.size(), 0) {}
  OrderedParallel(const OrderedParallel&) = delete;
  OrderedParallel& operator=(const OrderedParallel&) = delete;
  // Without finish() (an exception on the calling thread): the workers stop and are joined, and
  // what was produced is not consumed.
  ~OrderedParallel() { join(true); }

  // The next item (index: the number submitted before it). Nothing is done once stopped.
  template <class Fill>
  void submit(Fill&& fill) {
    if (threads_ == 0) {
      if (!stopped_) run_inline(std::forward<Fill>(fill));
      return;
    }
    std::unique_lock lock(mutex_);
    size_t room_at = submitted_ + 1 > slots_.size() ? submitted_ + 1 - slots_.size() : 0;
    consume_ready(lock, room_at);
    if (stopped_) {
      lock.unlock();
      finish();  // rethrows a failure; returns when consume stopped the work
      return;
    }
    // The slot is free: its last item was consumed, and no worker takes it before submitted_ grows.
    size_t index = submitted_;
    lock.unlock();
    fill(slots_[index % slots_.size()]);
    lock.lock();
    ++submitted_;
    if (workers_.size() < threads_ - (caller_helps_ ? 1 : 0)) {
      unsigned worker = unsigned(workers_.size());
      workers_.emplace_back([this, worker] { work(worker); });
    }
    lock.unlock();
    changed_.notify_all();
  }
  void caller_helps() { caller_helps_ = threads_ > 1; }

  // Consumes every item submitted, in order, then joins the workers; rethrows the first failure.
  void finish() {
    if (threads_ != 0) {
      std::unique_lock lock(mutex_);
      consume_ready(lock, submitted_);
    }
    join(false);
    if (failure_) std::rethrow_exception(std::exchange(failure_, nullptr));
  }
  // consume returned false, or something failed.
  bool stopped() const {
    std::lock_guard lock(mutex_);
    return stopped_;
  }

 private:
  template <class C>
  static Consume as_bool(C&& consume) {
    if constexpr (std::is_void_v<std::invoke_result_t<C&, size_t, Slot&>>) {
      return [c = std::forward<C>(consume)](size_t i, Slot& s) mutable {
        c(i, s);
        return true;
      };
    } else {
      return Consume(std::forward<C>(consume));
    }
  }

  template <class Fill>
  void run_inline(Fill&& fill) {
    size_t index = submitted_++;
    try {
      fill(slots_[0]);
      produce_(index, slots_[0], 0);
      bool go_on = consume_(index, slots_[0]);
      ++consumed_;
      stopped_ = !go_on;
    } catch (...) {
      stopped_ = true;
      throw;
    }
  }

  void work(unsigned worker) {
    std::unique_lock lock(mutex_);
    while (true) {
      changed_.wait(lock, [&] { return stopped_ || closing_ || taken_ < submitted_; });
      if (stopped_ || taken_ == submitted_) return;  // stopped, or closing with nothing left
      if (!produce_next(lock, worker)) return;
    }
  }

  // On the calling thread: consumes in order every item that is ready, waiting for those before
  // `until`, unless it stops.
  void consume_ready(std::unique_lock<std::mutex>& lock, size_t until) {
    while (!stopped_ && consumed_ < submitted_) {
      size_t index = consumed_;
      size_t at = index % slots_.size();
      if (index >= until && ready_[at] == 0) return;
      // Only this thread submits, so no item becomes untaken while it waits here.
      while (!stopped_ && ready_[at] == 0) {
        if (caller_helps_ && taken_ < submitted_) {
          produce_next(lock, threads_ - 1);
        } else {
          changed_.wait(lock);
        }
      }
      if (stopped_) return;
      lock.unlock();
      bool go_on = true;
      try {
        go_on = consume_(index, slots_[at]);
      } catch (...) {
        lock.lock();
        fail(std::current_exception());
        return;
      }
      lock.lock();
      ready_[at] = 0;
      consumed_ = index + 1;
      if (!go_on) {
        stopped_ = true;
        changed_.notify_all();
      }
    }
  }

  // The next untaken item, produced on this thread as `worker` (a worker thread, or the calling
  // thread as worker threads_ − 1); false when it failed (the work is stopped).
  bool produce_next(std::unique_lock<std::mutex>& lock, unsigned worker) {
    size_t index = taken_++;
    Slot& slot = slots_[index % slots_.size()];
    lock.unlock();
    try {
      produce_(index, slot, worker);
    } catch (...) {
      lock.lock();
      fail(std::current_exception());
      return false;
    }
    lock.lock();
    ready_[index % slots_.size()] = 1;
    if (index == consumed_) changed_.notify_all();
    return true;
  }

  void fail(std::exception_ptr e) {
    if (!failure_) failure_ = std::move(e);
    stopped_ = true;
    changed_.notify_all();
  }

  // `stop`: the items not yet taken are left.
  void join(bool stop) {
    {
      std::lock_guard lock(mutex_);
      closing_ = true;
      if (stop) stopped_ = true;
    }
    changed_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  Produce produce_;
  Consume consume_;
  const unsigned threads_;  // 0: everything on the calling thread
  std::vector<Slot> slots_;
  std::vector<char> ready_;  // per slot: its item is produced and not consumed
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::thread> workers_;
  size_t submitted_ = 0, taken_ = 0, consumed_ = 0;
  bool stopped_ = false;       // no item is taken or consumed any more
  bool closing_ = false;       // workers return once every submitted item is taken
  bool caller_helps_ = false;  // the calling thread produces too (caller_helps())
  std::exception_ptr failure_;
};

// Items 0…count-1 through an OrderedParallel: produce(i, slot, worker) on the workers,
// consume(i, slot) on the calling thread in order (false: stop), which also produces with
// `caller_helps`. True when every item was consumed.
template <class Slot, class P, class C>
bool ordered_parallel(size_t count, unsigned threads, size_t window, P&& produce, C&& consume,
                      bool caller_helps = false) {
  OrderedParallel<Slot> work(threads, window, std::forward<P>(produce), std::forward<C>(consume));
  if (caller_helps) work.caller_helps();
  for (size_t i = 0; i < count && !work.stopped(); ++i) work.submit([](Slot&) {});
  work.finish();
  return !work.stopped();
}

// [0, size) cut into `count` shares for as many threads: size / count bytes each, the last one
// taking the remainder, and count the largest that gives shares of `min_share` bytes at least,
// `max_shares` at most (1 when the size is below one share).
struct EvenShares {
  size_t size, count;
  EvenShares(size_t size_, size_t min_share, size_t max_shares)
      : size(size_),
        count(std::max<size_t>(1, std::min(max_shares, size_ / std::max<size_t>(min_share, 1)))) {}
  size_t begin(size_t i) const { return size / count * i; }
  size_t end(size_t i) const { return i + 1 == count ? size : begin(i + 1); }
};

}  // namespace pmc
