#pragma once
// A resolved event: everything the engine needs to open it, and what the report shows about it.
#include <linux/perf_event.h>

#include <string>
#include <vector>

namespace pmc {

struct EventSpec {
  std::string name;         // as shown in reports, e.g. "cycles", "msr/tsc/", "INST_RETIRED:ANY_P"
  std::string pmu;          // PMU that counts it: "cpu", "software", "msr", "power", "cpu_core", …
  perf_event_attr attr{};   // type, config, config1, config2 and exclude_* bits; engine sets the rest
  double scale = 1.0;       // multiply the count by this (sysfs `<event>.scale`)
  std::string unit;         // sysfs `<event>.unit` or a known unit ("msec" for clocks)
  std::string source;       // how it was resolved: "generic", "sysfs", "libpfm4"
  std::vector<int> cpus;    // CPUs the PMU covers (sysfs cpumask, or cpus of a hybrid core PMU)
  bool cpu_wide_only = false;  // cpumask PMU (RAPL, uncore): opened CPU-wide on `cpus` only
  bool hardware = false;    // needs a hardware counter (not a software/tracepoint event)
};

// Events opened together as one perf group (leader first). `explicit_group` is true for `{a,b}`
// that the user wrote; ungrouped events are groups of one.
struct EventGroup {
  std::vector<EventSpec> events;
  bool explicit_group = false;
};

}  // namespace pmc
