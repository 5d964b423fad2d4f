#pragma once
// Event names → EventSpec: perf generic names, sysfs PMU events and terms, libpfm4 native names.
// Never opens a counter: it reads sysfs text under a SysRoot and asks libpfm4 for encodings.
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "events/names/event_spec.h"
#include "events/names/sysroot.h"

namespace pmc {

// Bad event name or list. what() is one line, e.g.
// "unknown event 'cycels' (did you mean: cycles, cpu-cycles, ref-cycles?)".
struct ResolveError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// An alias with a `term=?` (arm_cmn's nodeid) named without that term: `term` says which, so
// that a listing can show the event as perf list does ("arm_cmn_0/hnf_cache_miss_by_node,
// nodeid=?/") rather than as one this machine cannot count.
struct MissingTermError : ResolveError {
  MissingTermError(const std::string& what, std::string missing)
      : ResolveError(what), term(std::move(missing)) {}
  std::string term;
};

class NativeEncoder;  // events/names/libpfm_encoder.h

struct PmuInfo {
  std::string name;                 // sysfs directory name, e.g. "cpu", "power", "cpu_core", "msr"
  int type = -1;                    // perf_event_attr.type from sysfs `type`
  std::vector<std::string> events;  // names under events/ (without .scale/.unit files)
  std::vector<int> cpus;            // cpumask/cpus file, empty when absent
  // A `cpumask` PMU (RAPL power, uncore, amd_l3) counts CPU-wide only; a core PMU's `cpus`
  // (cpu_core, cpu_atom, armv8_pmuv3_0) only says which CPUs it covers.
  bool cpu_wide_only = false;
};

class EventResolver {
 public:
  explicit EventResolver(SysRoot root);
  // With native names encoded by `native` instead of libpfm4 (tests: a CPU this machine is not).
  EventResolver(SysRoot root, std::unique_ptr<NativeEncoder> native);
  ~EventResolver();
  EventResolver(const EventResolver&) = delete;
  EventResolver& operator=(const EventResolver&) = delete;

  // "a,b:u,{c,d},pmu/config=0x1,umask=2/k" → groups in order. Throws ResolveError. A name that
  // stands for several events (hybrid) gives one group each; a {group} holding such a name is split
  // into one group per core PMU, since the kernel cannot group events of different PMUs.
  std::vector<EventGroup> resolve_list(std::string_view list) const;
  // One event name with optional modifiers. Throws ResolveError. On a hybrid machine a generic
  // hardware name stands for one event per core PMU; this returns the first (see resolve_all).
  EventSpec resolve(std::string_view name) const;
  // Every event one name stands for: "cycles" on a hybrid machine (cpu_core and cpu_atom PMUs)
  // gives "cpu_core/cycles/" and "cpu_atom/cycles/" with the PMU type in config bits 32-63
  // (PERF_PMU_TYPE_SHIFT); one event otherwise. Throws ResolveError, whose message suggests close
  // names unless `suggest` is false (a caller that drops the message: comparing the name with a
  // catalog of hundreds is most of what a failed lookup costs).
  std::vector<EventSpec> resolve_all(std::string_view name, bool suggest = true) const;

  // Dynamic PMUs found under <sys>/bus/event_source/devices (empty for a root without it).
  const std::vector<PmuInfo>& pmus() const;
  // Every name resolve() accepts without a PMU-specific term, for listing and suggestions.
  std::vector<std::string> known_names() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The default event names for `measure` with no -e: hardware events for IPC, branches and caches
// when `hardware_available`, always the software events.
std::vector<std::string> default_event_names(bool hardware_available);

}  // namespace pmc
