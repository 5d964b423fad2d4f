#pragma once
// How busy the whole machine's CPUs were: the aggregate "cpu" line of /proc/stat (Linux
// Documentation/filesystems/proc.rst, "1.8 Miscellaneous kernel statistics in /proc/stat").
// Used to split a machine-wide energy reading between a command and everything else.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/system/fd.h"

namespace pmc {

struct CpuTimes {
  double busy_s = 0;   // user + nice + system + irq + softirq + steal, summed over CPUs
  double total_s = 0;  // busy + idle + iowait
  double steal_s = 0;  // steal alone: a hypervisor ran something else on this VM's vCPUs
};

// The share of the machine's CPU time spent running its own tasks between two readings:
// (Δbusy − Δsteal) / Δtotal. Idle and iowait count as idle; steal is left out of the numerator
// because the vCPU was not running this machine's work then (the host's CPU was drawing power
// for another guest). nullopt when the total did not advance (a window shorter than one tick of
// USER_HZ on every CPU) or went backwards.
std::optional<double> utilisation_between(const CpuTimes& before, const CpuTimes& after);

// Parses the "cpu " line of /proc/stat text; `ticks_per_s` is USER_HZ (sysconf(_SC_CLK_TCK)).
// nullopt when the line is missing or has fewer than the 8 fields every kernel since 2.6.11 has.
std::optional<CpuTimes> parse_proc_stat(std::string_view text, double ticks_per_s);

// <proc>/stat as a sampler reads it at every interval: the file is opened once and read again from
// offset 0 (the kernel regenerates /proc/stat on each read), so an interval costs one pread instead
// of a path lookup, an open and a close, about half the cost on a VM.
class ProcStatReader {
 public:
  explicit ProcStatReader(std::string path);
  // nullopt when the file cannot be opened, read or parsed (opening is tried again next time).
  std::optional<CpuTimes> read();

 private:
  std::string path_;
  Fd fd_;
  double ticks_per_s_;
};

// The CPU time all tasks of the machine have used, from the root cgroup's counter: cgroup v2
// cpu.stat `usage_usec` (user + nice + system + irq + softirq, microseconds; at <sys>/fs/cgroup or,
// on a hybrid layout, <sys>/fs/cgroup/unified), else cgroup v1 cpuacct.usage (task run time,
// nanoseconds). Its kernel side is a sum over the CPUs, where generating /proc/stat also walks
// every interrupt on every CPU: ~5 µs against ~30 µs here with cold caches after a 100 ms sleep,
// and on a server with thousands of interrupts and a hundred CPUs /proc/stat costs a millisecond.
// A -I tick reads this one; the run's busy time still comes from /proc/stat (see apportion_busy).
class TaskCpuReader {
 public:
  // Finds the first candidate that exists under `sys` (the /sys root); none: available() false.
  explicit TaskCpuReader(const std::string& sys);
  bool available() const { return !path_.empty(); }
  const std::string& path() const { return path_; }
  // Seconds since boot (or since the cgroup was made); nullopt when unreadable or unparsable.
  std::optional<double> read();

 private:
  std::string path_;
  bool usec_ = false;  // cpu.stat usage_usec (µs) rather than cpuacct.usage (ns)
  Fd fd_;
};

// Parses cgroup v2 cpu.stat text for usage_usec, in seconds.
std::optional<double> parse_cgroup_usage_usec(std::string_view text);

// Each interval's busy CPU seconds of the machine: `deltas` (what a cheap counter such as
// TaskCpuReader advanced in each interval) scaled so that they add up to `run_busy_s`, the run's
// busy time from /proc/stat; when the counter did not advance at all, `run_busy_s` is spread in
// proportion to the intervals' durations.
std::vector<double> apportion_busy(const std::vector<double>& deltas,
                                   const std::vector<double>& durations, double run_busy_s);

}  // namespace pmc
