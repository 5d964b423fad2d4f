#pragma once
// Kernel tracepoints in perf's syntax: "sched:sched_switch", globs such as "syscalls:sys_enter_*"
// or "sched:*". Each is a PERF_TYPE_TRACEPOINT event whose config is the id in tracefs
// (<tracefs>/events/<subsystem>/<event>/id). tracefs is read under the sysfs root, at
// kernel/tracing (its own mount, Linux >= 4.1) or kernel/debug/tracing (through debugfs).
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "events/names/sysroot.h"

namespace pmc {

// Whether `name` (modifiers already split off) is written as a tracepoint: "subsystem:event", one
// colon, the subsystem lower-case letters, digits, '_' or '-', either side may hold glob
// characters (* ? [ ]). Native libpfm4 names ("INST_RETIRED:ANY_P") and "perf::X" are not.
bool looks_like_tracepoint(std::string_view name);

struct Tracepoint {
  std::string name;  // "sched:sched_switch"
  uint64_t id = 0;   // the tracefs id: perf_event_attr.config
};

// The tracepoints that `name` ("subsystem:event", globs allowed) stands for, sorted by name, or
// why there are none. `problem` is set when tracefs cannot be read at all (not mounted, or
// readable by root only) or nothing matches; then `matches` is empty.
struct TracepointLookup {
  std::vector<Tracepoint> matches;
  std::string problem;
  bool subsystem_found = false;  // some subsystem folder matched the subsystem part
  std::vector<std::string>
      close;  // for a plain name that matched nothing: near names, closest first
};
TracepointLookup find_tracepoints(const SysRoot& root, std::string_view name);

// Where tracefs's events folder is under `root`, and whether it can be read: `events` is empty
// when neither place has one; `problem` says why it cannot be used (not mounted, root-only).
struct TracefsEvents {
  std::filesystem::path events;
  std::string problem;
};
TracefsEvents locate_tracefs_events(const SysRoot& root);

// Every tracepoint under tracefs with its id, sorted by name; empty when tracefs cannot be read
// (locate_tracefs_events says why).
std::vector<Tracepoint> all_tracepoints(const SysRoot& root);

}  // namespace pmc
