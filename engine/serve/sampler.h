#pragma once
// What `pmcmodel serve` exports, sampled on its own thread: every --interval the sampler reads
// the machine's energy (powercap, with its wraparound handling), the machine's busy CPU time
// (/proc/stat), each followed cgroup's CPU time (cpu.stat usage_usec) and, where the PMU exists,
// its instructions, cycles and cache misses (perf_event in cgroup mode), and builds a complete
// Snapshot of metric families. A scrape takes the last snapshot (a shared pointer copied under a
// mutex) and formats it: it never reads the kernel, never waits for a sample, and never changes
// what is counted. docs/serve.md lists the metrics.
//
// A cgroup's energy over an interval is each domain's energy times the cgroup's share of the
// machine's busy CPU time in that interval (c / B, at most 1): the machine's whole draw, idle
// included, is split among what ran. Labelled "<method>+share:busy-cpu".
//
// GPUs (NVML and AMD SMI, engine/power/gpu_source.h; each library is a source of its own, "nvml"
// and "amdsmi"): each GPU's energy is its own domain ("gpu0"…, never split by CPU time); a GPU's
// interval energy goes to the cgroups whose processes its library lists on it, by measure's rule
// (command_share, with the cgroup's processes as the command): a cgroup whose processes are the
// only compute processes on the GPU is given all of it ("<method>+share:sole-process"); when
// others compute there too, its share of the use the library recorded per process over the
// interval: NVML's SM utilisation samples ("<method>+share:sm-util"), AMD SMI's GFX engine time
// ("<method>+share:gfx-time"); none when nothing splits it.
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/power/gpu_source.h"
#include "engine/serve/cgroups.h"
#include "engine/serve/exposition.h"
#include "events/document/measurement.h"
#include "events/names/sysroot.h"

namespace pmc::serve {

// An energy estimate from one interval: `interval` holds the interval's duration, the
// machine-wide deltas of the events the estimator asked for (SamplerSettings::machine_events) and
// the measured energy; the result is one reading per domain (method "model:<name>"), or none and
// the reason (an input the machine does not count). Called on the sampler's thread only.
struct Estimate {
  std::vector<EnergyReading> energy;
  std::string reason_if_none;
};
using EnergyEstimator = std::function<Estimate(const Measurement& interval)>;

struct NamedEstimator {
  std::string name;  // the source name, "model:<name>"
  EnergyEstimator estimate;
};

struct SamplerSettings {
  double interval_s = 1;
  CgroupSelection cgroups;
  bool cgroup_counters = true;              // instructions, cycles, cache misses per cgroup
  std::vector<std::string> machine_events;  // counted machine-wide for the estimators
  std::vector<NamedEstimator> estimators;
  GpuSelection gpus;    // every GPU the libraries see, by default
  std::string version;  // pmcmodel_build_info{version}
  // One line per change of a source's state ("powercap: up", "perf: down: …"). May be empty.
  std::function<void(const std::string&)> log;
};

struct Snapshot {
  std::vector<MetricFamily> families;
  uint64_t samples = 0;  // samples taken so far
};

class Sampler {
 public:
  // Opens the sources (a source that cannot be used is down, with its reason logged); takes no
  // sample yet. Throws std::invalid_argument when settings.gpus names a GPU no GPU library sees.
  Sampler(SysRoot root, SamplerSettings settings);
  ~Sampler();  // stops the thread
  Sampler(const Sampler&) = delete;
  Sampler& operator=(const Sampler&) = delete;

  // Takes the baseline (a first snapshot with every counter at its start) and starts sampling
  // every interval_s on a thread of its own.
  void start();
  // Stops the thread; the last snapshot stays readable. Idempotent.
  void stop();
  // The last complete snapshot (never null after the constructor).
  std::shared_ptr<const Snapshot> snapshot() const;
  // One sample on the caller's thread (the thread calls this; tests call it directly).
  void sample_once();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace pmc::serve
