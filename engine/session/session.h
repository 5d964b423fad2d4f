#pragma once
// Running a target under counters: fork/exec with enable_on_exec, signal forwarding, interval
// reads, and the command's exit status and CPU times.
#include <sys/types.h>

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/counting/counters.h"
#include "events/document/measurement.h"

namespace pmc {

struct RunOptions {
  Target target;                  // kind, pid, cgroup, cpus (pid is filled for a command)
  std::vector<std::string> argv;  // the command; optional for pid/system-wide/cgroup targets
  int interval_ms = 0;            // > 0: read deltas every interval_ms
  // > 0: stop after this long. Without a command the run ends; a command is sent SIGTERM, and
  // SIGKILL 2 s later if it still runs (as timeout(1) with -k 2 does).
  double duration_s = 0;
  int sample_ms = 0;  // > 0: call on_sample at least this often (power sources)
  // After the first signal forwarded to the command, SIGKILL if it still runs this much later
  // (0: never); measure --kill-after.
  double kill_after_s = 10;
  // The command is started with PR_SET_PDEATHSIG = SIGKILL, so it dies with pmcmodel;
  // measure --no-kill-on-exit leaves it running.
  bool kill_on_exit = true;
  // Also called at the start (where on_start is not set) and at the end; not at an interval's
  // end, where the interval sink reads (and so samples) the power source itself.
  std::function<void()> on_sample;
  // Called once each at the run's edges: on_start (in place of the first on_sample) after the
  // counters are opened and the command forked, just before the clock starts and the command may
  // exec; on_stop just after the clock stops (and a target not counted from exec is disabled),
  // before the counters are read. What measures the run beside the counters (the power sources, the
  // machine's CPU time) reads its baseline and its end there, so that its window is the run's
  // duration_s and not also the counters' opening and the fork (2 to 20 ms on a 2-CPU VM:
  // more than a short command's whole run).
  std::function<void()> on_start;
  std::function<void()> on_stop;
  // When set, nothing needs an interval before the run ends: a tick keeps only the counters' raw
  // numbers (Counters::read_raw) and calls on_tick, and the intervals are built from them after
  // the run, each passed to the interval sink then. on_tick is called once per interval in
  // every case (at its tick, or for the last, partial one at the end), also by a backend that
  // cannot read raw numbers (its intervals are then built at the ticks). A tick after 100 ms of
  // sleep runs with cold caches, so every structure it builds costs the measuring process
  // (docs/PERFORMANCE.md).
  std::function<void()> on_tick;
  // With on_tick: every this many ticks (0: never) the intervals of the ticks so far are built
  // and passed to the sink, then on_batch is called, so that a long run holds at most a batch of
  // raw records (a day at -I 10 is 8.6 million ticks).
  size_t ticks_per_batch = 0;
  std::function<void()> on_batch;
  // false: the intervals are passed to the sink only, and RunResult::intervals stays empty, so
  // that memory does not grow with the run's length (measure -I streams them to its outputs).
  bool keep_intervals = true;
};

struct RunResult {
  std::optional<int> exit_status;     // the command's exit code, or 128+N when killed by signal N
  std::optional<int> term_signal;     // N when the command was killed by a signal
  std::optional<int> interrupted_by;  // a signal that pmcmodel received and forwarded
  std::optional<double> killed_after_s;  // SIGKILL sent this long after the first signal
  bool stopped_at_duration = false;      // the command was sent SIGTERM at RunOptions::duration_s
  bool target_ended = false;             // the -p process (no command) exited, which ended the run
  std::string start_time;                // ISO 8601 UTC
  double duration_s = 0;
  double user_s = 0;
  double sys_s = 0;
  std::vector<EventCount> events;  // cumulative
  std::vector<Interval> intervals;
};

// The command could not be executed: exit_code is 127 (not found) or 126 (not executable).
struct ExecError : std::runtime_error {
  ExecError(const std::string& what, int code) : std::runtime_error(what), exit_code(code) {}
  int exit_code;
};

// Receives each interval as it is taken; it may complete it (metrics, energy) before the session
// keeps it in RunResult::intervals.
using IntervalSink = std::function<void(Interval&)>;

// Opens `counters` on the target, runs it, and reads the counts. SIGINT, SIGTERM and SIGHUP
// sent to pmcmodel are forwarded to the command (or end a command-less run) and the counts so
// far are returned. A -p target without a command ends the run when the process exits (seen
// within 50 ms), as perf stat -p does.
RunResult run_counted(Counters& counters, RunOptions options, const IntervalSink& on_interval);

// "SIGSEGV" for 11; "signal N" when unknown.
std::string signal_name(int sig);

// Whether a process `pid` exists (kill with signal 0: false only for ESRCH, so a process of
// another user, which refuses the signal with EPERM, exists).
bool process_exists(int pid);

}  // namespace pmc
