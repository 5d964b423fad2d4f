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
