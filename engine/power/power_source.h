#pragma once
// Where measured energy comes from: the perf `power` PMU (RAPL), powercap sysfs (RAPL), a wall
// meter's log file, or the BMC through ipmitool; and the automatic choice among them.
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "events/document/measurement.h"
#include "events/names/sysroot.h"

namespace pmc {

// One source of measured energy for the whole machine. Not thread-safe: the session calls every
// member from one thread.
class PowerSource {
 public:
  virtual ~PowerSource() = default;
  // The EnergyReading method: "measured:rapl", "measured:powercap", "measured:external",
  // "measured:ipmi", "measured:papi:<component>".
  virtual std::string method() const = 0;
  // Takes the baseline: energy is counted from here.
  virtual void start() = 0;
  // Called by the session at least every 100 ms and whenever an interval ends, so that a counter
  // that wraps (powercap energy_uj) is never missed. Cheap: no allocation, one pread per counter.
  virtual void sample() = 0;
  // Energy per domain since start(), one reading per domain in a stable order.
  virtual std::vector<EnergyReading> read_since_start() = 0;
  // Energy per domain since the previous read_interval (or start()).
  virtual std::vector<EnergyReading> read_interval() = 0;
  // What the report must say: which domains contain which, what a total covers, coverage.
  virtual std::vector<std::string> notes() const = 0;
  // Why the last sample could not read every counter (a file removed, or holding no number): a
  // source that keeps running across such reads (serve) is down while this is not empty. Not
  // for the tick: it may cost a syscall per counter.
  virtual std::string read_problem() const { return ""; }

  // For a run whose intervals are derived after it ends (nothing shows them live): ends an
  // interval at the least cost at the tick, keeping what read_interval() would return then;
  // take_marked_intervals() builds those readings afterwards, in order, and forgets them. A -I
  // tick comes after 100 ms of sleep with cold caches, so every allocation and string it avoids
  // is measurable in the measuring process's CPU time (docs/PERFORMANCE.md). Sources whose
  // read_interval is already cheap keep this default.
  virtual void mark_interval() { marked_.push_back(read_interval()); }
  virtual std::vector<std::vector<EnergyReading>> take_marked_intervals() {
    return std::exchange(marked_, {});
  }

 private:
  std::vector<std::vector<EnergyReading>> marked_;
};

struct PowerChoice {
  std::unique_ptr<PowerSource> source;  // null when no source could be used
  std::string reason_if_none;           // why, and how to get access, when source is null
  std::vector<std::string> notes;       // how the choice was made (a source skipped, and why)
};

// requested: "auto" (perf power PMU, then powercap, then none), "perf", "powercap", "papi",
// "none". power_from: "" (RAPL as requested), a meter log FILE, or "ipmi"; when given it is the
// source, whatever `requested` says. Throws std::runtime_error for an unknown `requested` or a
// malformed FILE ("FILE:LINE: …"); a source that cannot be used on this machine is a
// reason_if_none, not an exception.
PowerChoice choose_power_source(const SysRoot& root, std::string_view requested,
                                const std::string& power_from);

// Whether the source `auto` would choose counts: opened, started, read after `window_s` of
// sleep. A domain that advanced is counting; one that read exactly 0 J is present, not counting
// (a VM exposing energy-psys without the counter behind it). For doctor.
struct PowerProbe {
  std::string method;                 // the source's method; empty when none opened
  std::string reason_if_none;         // why none opened
  std::vector<std::string> counting;  // domains that advanced over the window
  std::vector<std::string> silent;    // domains that read 0 J over the window
  double window_s = 0;
};
PowerProbe probe_power_source(const SysRoot& root, double window_s);

// The report name of a RAPL domain of kind `kind` ("package", "core", "uncore", "dram", "gpu",
// "psys") on package `package` of a machine with `packages` packages: "package-<N>" always; the
// bare kind on a one-package machine (and for psys, which covers the platform); "<kind>-<N>" when
// several packages each have one.
std::string rapl_domain_name(std::string_view kind, int package, int packages);

}  // namespace pmc
