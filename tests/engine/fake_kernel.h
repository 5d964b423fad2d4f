#pragma once
// A perf_event kernel for tests, on a machine described by a sysfs fixture tree: it opens,
// schedules, multiplexes and reads counters by the rules of the real one, so the engine's one
// counting path runs against PMUs this machine does not have. Rules and their kernel sources
// are listed in docs/testing.md ("The fake kernel"); each is also named where it is applied.
//
// Time is the test's: advance(ns) runs the machine in multiplexing ticks of 4 ms (the hrtimer
// interval of kernel/events/core.c, perf_event_mux_interval_ms). Every CPU is busy all the
// time; a task runs on the CPU the test puts it on (run_task), else on CPU 0. Without an
// `online` file or core PMU `cpus`, the machine has CPUs 0-7, or more where a cpumask names
// more boxes. Events count at a rate per nanosecond the test sets (count_at), 1 by default for
// hardware and clock events; a PMU with a cpumask counts for the whole box (package, or CCX
// for amd_l3), once per copy.
#include <linux/perf_event.h>
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/counting/perf_kernel.h"
#include "events/names/sysroot.h"

namespace pmc::test {

// The counters of one core PMU on one CPU (arch/x86/events/intel/core.c intel_pmu_init and
// CPUID leaf 0xA for Intel, amd/core.c for AMD, drivers/perf/arm_pmuv3.c for Arm).
struct CounterLayout {
  int general = 4;                  // general-purpose counters per logical CPU
  bool fixed_instructions = false;  // Intel fixed counter 0 (INST_RETIRED.ANY, 0x00c0)
  bool fixed_cycles = false;        // Intel fixed counter 1 (CPU_CLK_UNHALTED.CORE, 0x003c)
  bool fixed_ref_cycles = false;    // Intel fixed counter 2 (ref-cycles, pseudo-encoding 0x0300)
  bool fixed_slots = false;         // Intel fixed counter 3 (TOPDOWN.SLOTS 0x0400, perf metrics)
  bool cycle_counter = false;       // Arm PMCCNTR_EL0 (CPU_CYCLES, event 0x11)
};

class FakeKernel final : public PerfKernel {
 public:
  // The PMUs under <sys>/bus/event_source/devices (type, cpus, cpumask), the online CPUs and,
  // where present, devices/system/cpu/cpuN/topology/physical_package_id.
  explicit FakeKernel(const SysRoot& root);
  ~FakeKernel() override;

  // Machine and process settings.
  void set_paranoid(int level) { paranoid_ = level; }
  void set_privileged(bool privileged) { privileged_ = privileged; }
  void set_nmi_watchdog(bool on) { nmi_watchdog_ = on; }
  // false: a kernel before extended hardware types (x86 before 5.18), which refuses a PMU type
  // in config bits 32-63 of a hardware or cache event.
  void set_extended_types(bool on) { extended_types_ = on; }
  void set_nofile_limit(uint64_t soft, uint64_t hard) {
    nofile_soft_ = soft;
    nofile_hard_ = hard;
  }
  void set_layout(const std::string& pmu, const CounterLayout& layout);
  // perf_event_open on `tid` fails with `err` (ESRCH: the thread exited).
  void fail_task(pid_t tid, int err) { task_errors_[tid] = err; }
  // Counts per nanosecond of an event of `pmu` ("cpu", "cpu_atom", "power", "software"…) with
  // this config (hardware events: PERF_COUNT_HW_*), in user and in kernel mode.
  void count_at(const std::string& pmu, uint64_t config, double user_per_ns,
                double kernel_per_ns = 0);
  // Events of core PMUs count `factor` times their rate on this CPU (a busier CPU).
  void set_cpu_speed(int cpu, double factor) { cpu_speed_[cpu] = factor; }
  // Where a task runs from now on (-1: nowhere, it sleeps).
  void run_task(pid_t pid, int cpu) { task_cpu_[pid] = cpu; }
  // The task execs: its enable_on_exec events start.
  void exec(pid_t pid);
  // Runs the machine for `ns` (in 4 ms ticks; a remainder is a shorter last tick).
  void advance(uint64_t ns);

  // What the test may look at.
  size_t open_fds() const { return events_.size(); }
  size_t opens() const { return opens_; }  // perf_event_open calls that gave an fd
  uint64_t nofile_soft() const { return nofile_soft_; }
  std::vector<int> online_cpus() const { return online_; }
  // The attrs of the events open now, in fd order: what the engine asked the kernel for.
  std::vector<perf_event_attr> open_attrs() const;
  // The directories of the cgroups that events were opened in (PERF_FLAG_PID_CGROUP).
  const std::set<std::string>& cgroup_dirs() const { return cgroup_dirs_; }

  // PerfKernel
  int open(const perf_event_attr& attr, pid_t pid, int cpu, int group_fd,
           unsigned long flags) override;
  int ioctl(int fd, unsigned long request, uintptr_t arg) override;
  ssize_t read(int fd, void* buf, size_t size) override;
  void close(int fd) override;
  std::optional<uint64_t> raise_nofile_limit() override;
  PerfPermissions permissions(const SysRoot& root) override;
  // The calling thread (pid 0) runs on its CPU (run_task(0, cpu), else CPU 0): the machine
  // advances by `ns`.
  void busy_wait(uint64_t ns) override { advance(ns); }

  struct Pmu;
  struct Event;

 private:
  const Pmu* pmu_for(const perf_event_attr& attr) const;
  std::optional<int> box_of(const Pmu& pmu, int cpu) const;
  int redirect(const Pmu& pmu, int cpu) const;
  bool group_fits_empty(const Event& leader, const Event* extra) const;
  void tick(uint64_t dt);
  double rate(const Event& e, int cpu) const;
  int where(const Event& e) const;

  std::vector<std::unique_ptr<Pmu>> pmus_;
  std::vector<int> online_;
  std::map<int, int> package_;                    // cpu -> package, from topology files
  std::map<int, int> llc_;                        // cpu -> L3 (CCX), from cache/index3/id
  std::map<int, std::unique_ptr<Event>> events_;  // by fd
  std::map<std::pair<std::string, uint64_t>, std::pair<double, double>> rates_;
  std::map<pid_t, int> task_cpu_;
  std::map<int, double> cpu_speed_;
  std::map<pid_t, int> task_errors_;
  std::set<std::string> cgroup_dirs_;
  std::map<int, uint64_t> rotation_;  // per CPU: flexible groups rotated so far
  int paranoid_ = 2;
  bool privileged_ = false;
  bool nmi_watchdog_ = false;
  bool extended_types_ = true;
  uint64_t nofile_soft_ = 1024;
  uint64_t nofile_hard_ = 524288;
  int next_fd_ = 1000;
  size_t opens_ = 0;
  uint64_t next_id_ = 1;
};

}  // namespace pmc::test
