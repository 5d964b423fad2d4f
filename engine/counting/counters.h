#pragma once
// What a counting backend does, whatever the kernel interface (perf_event or PAPI) behind it.
#include <sys/types.h>

#include <string>
#include <vector>

#include "events/document/measurement.h"

namespace pmc {

struct Target {
  enum class Kind { command, pid, system_wide, cgroup };
  Kind kind = Kind::command;
  pid_t pid = -1;           // the command's child or the -p process
  std::string cgroup_path;  // -G: relative to the cgroup2 mount or absolute
  std::vector<int> cpus;    // system-wide/cgroup: CPUs to open on; empty = all online
};

class Counters {
 public:
  virtual ~Counters() = default;
  // Opens every event on the target. For Kind::command the child is stopped before exec and
  // counting starts at exec (enable_on_exec); other targets start with enable().
  // Failure of one event is recorded in its status, never thrown.
  virtual void open(const Target& target) = 0;
  // Starts counting. The session calls it for every target, for a command just before releasing
  // it: then it starts only what exec does not (CPU-wide counters of cpumask PMUs).
  virtual void enable() = 0;
  virtual void disable() = 0;
  // Cumulative counts so far, one per requested event in request order, each with its status.
  virtual std::vector<EventCount> read() = 0;
  // The same into `out`, reusing its storage: a -I tick reads into the buffer of the tick before
  // the last, so it allocates nothing (an allocation after 100 ms of sleep touches cold memory).
  virtual void read_into(std::vector<EventCount>& out) { out = read(); }
  // For a run whose intervals are built after it ends: appends to `out` the kernel's numbers of
  // every event (raw_record_size() values), nothing else; counts_from_raw() turns one such record
  // into what read() would have returned then. False (and nothing appended) when the backend
  // cannot: the session then calls read() at each tick.
  virtual bool read_raw(std::vector<uint64_t>& out) {
    (void)out;
    return false;
  }
  virtual size_t raw_record_size() const { return 0; }
  virtual void counts_from_raw(const uint64_t* record, std::vector<EventCount>& out) const {
    (void)record;
    out.clear();
  }
  // The events of the interval between two such records (`earlier` null: since counting
  // began), each copy of an event (CPU, thread) taken as a delta and scaled on its own times
  // before the copies are added, as perf stat -I does since 6.2. False when the backend cannot
  // (raw_record_size() is 0): the session then takes delta_count of two reads.
  virtual bool interval_from_raw(const uint64_t* later, const uint64_t* earlier,
                                 std::vector<EventCount>& out) const {
    (void)later;
    (void)earlier;
    out.clear();
    return false;
  }
  // What the report must say about how events were opened (split groups, exclude_kernel…).
  virtual std::vector<std::string> notes() const = 0;
};

}  // namespace pmc
