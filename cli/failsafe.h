#pragma once
// What pmcmodel does when it cannot go on normally: out of memory in any thread, a terminating
// signal while an output's temporary file exists. Both end with one line on stderr (for memory)
// or the signal's default action, after removing the temporary files being written, so that
// nothing is left half-written and nothing aborts silently.
#include <string_view>

namespace pmc::cli {

// Installs the new-handler (out of memory: "pmcmodel COMMAND: out of memory while ACTIVITY",
// exit 1), a terminate handler that says the same for a std::bad_alloc escaping a thread, and
// handlers for SIGTERM, SIGHUP and SIGINT that remove registered temporary files, then die of the
// signal. `command` names the subcommand in the messages ("measure").
void install_failsafe(std::string_view command);

// The out-of-memory line, temporary files removed, exit 1. For allocators that report failure
// their own way (mimalloc's error handler) instead of through the new-handler.
[[noreturn]] void exit_out_of_memory();

// What the command is doing, for the out-of-memory line ("reading run.json"); kept until the
// scope ends. Copied into a fixed buffer: the handler must not allocate.
class Activity {
 public:
  explicit Activity(std::string_view what);
  ~Activity();
  Activity(const Activity&) = delete;
  Activity& operator=(const Activity&) = delete;

 private:
  char previous_[256];
};

// A signal that ended a run with no command of its own (`measure -a`, `-p PID`, `-G` ended by ^C
// or kill): the outputs are written first, then die_of_deferred_signal() ends pmcmodel by that
// signal, as perf stat does (its sig_atexit re-raises), so that the shell that sent it sees a
// process killed by SIGINT (a script's loop stops) rather than a success.
void defer_signal(int sig);

// Dies of the signal given to defer_signal(), with its default action, even when it was ignored
// when pmcmodel started (a shell's background job ignores SIGINT), as perf stat's re-raise does:
// the signal was taken, and it ended the run. Returns when none was given.
void die_of_deferred_signal();

// A temporary file being written: removed by the signal and memory handlers while registered.
// At most a few exist at once (one per output being written); beyond the registry's slots a file
// is simply not removed on a signal (the next run's stale-file sweep removes it).
class TempFileGuard {
 public:
  explicit TempFileGuard(std::string_view path);
  ~TempFileGuard();  // unregisters; does not remove the file
  TempFileGuard(const TempFileGuard&) = delete;
  TempFileGuard& operator=(const TempFileGuard&) = delete;

 private:
  int slot_ = -1;
};

}  // namespace pmc::cli
