#pragma once
// A resolved event: everything the engine needs to open it, and what the report shows about it.
#include <linux/perf_event.h>

#include <optional>
#include <string>
#include <vector>

namespace pmc {

struct EventSpec {
  // As shown in reports, e.g. "cycles", "msr/tsc/", "INST_RETIRED:ANY_P". Specs that share a name
  // but not a pmu are one event counted by several PMU instances ("uncore_imc/cas_count_read/" on
  // uncore_imc_0..N): perf sums them into one row (its default aggregation, `--no-merge` off).
  std::string name;
  std::string pmu;  // PMU that counts it: "cpu", "software", "msr", "power", "cpu_core", …
  perf_event_attr
      attr{};             // type, config, config1, config2 and exclude_* bits; engine sets the rest
  double scale = 1.0;     // multiply the count by this (sysfs `<event>.scale`)
  std::string unit;       // sysfs `<event>.unit` or a known unit ("msec" for clocks)
  std::string source;     // how it was resolved: "generic", "sysfs", "libpfm4"
  std::vector<int> cpus;  // CPUs the PMU covers (sysfs cpumask, or cpus of a hybrid core PMU)
  bool cpu_wide_only = false;  // cpumask PMU (RAPL, uncore): opened CPU-wide on `cpus` only
  bool hardware = false;       // needs a hardware counter (not a software/tracepoint event)
  // A generic event on a hybrid machine carries its PMU's type in config bits 32-63 (extended
  // hardware types: Linux 5.18 on x86, 6.1 on arm64); older kernels refuse that with EINVAL or
  // ENOENT. This is the same event in the PMU's own type and its sysfs alias
  // (cpu_core/cpu-cycles/), to open instead there, on `cpus` only. Absent when not needed.
  std::optional<perf_event_attr> without_extended_type;
};

// Events opened together as one perf group (leader first). `explicit_group` is true for `{a,b}`
// that the user wrote; ungrouped events are groups of one.
struct EventGroup {
  std::vector<EventSpec> events;
  bool explicit_group = false;
};

}  // namespace pmc
