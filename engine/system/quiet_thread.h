#pragma once
// Threads that never take a signal. The session waits for SIGCHLD, SIGINT and SIGTERM on a
// signalfd, which only sees signals no thread has unblocked: a helper thread (a meter poller, a
// catalog reader) must start with every signal blocked, or the kernel may hand one of those
// signals to it, where SIGCHLD is dropped and SIGINT kills the process with no report.
#include <pthread.h>
#include <signal.h>

#include <utility>

namespace pmc {

// Runs `start` (which creates the thread, so it inherits the mask) with every signal blocked in
// the calling thread, then restores the caller's mask, also when `start` throws.
template <typename Start>
decltype(auto) start_without_signals(Start&& start) {
  struct Mask {
    sigset_t previous;
    Mask() {
      sigset_t all;
      sigfillset(&all);
      pthread_sigmask(SIG_BLOCK, &all, &previous);
    }
    ~Mask() { pthread_sigmask(SIG_SETMASK, &previous, nullptr); }
  } mask;
  return std::forward<Start>(start)();
}

}  // namespace pmc
