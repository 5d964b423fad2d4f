#pragma once
// How busy the whole machine's CPUs were: the aggregate "cpu" line of /proc/stat (Linux
// Documentation/filesystems/proc.rst, "1.8 Miscellaneous kernel statistics in /proc/stat").
// Used to split a machine-wide energy reading between a command and everything else.
#include <optional>
#include <string>
#include <string_view>

#include "fd.h"

namespace pmc {

struct CpuTimes {
  double busy_s = 0;   // user + nice + system + irq + softirq + steal, summed over CPUs
  double total_s = 0;  // busy + idle + iowait
};

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

}  // namespace pmc
