#include "engine/fake_kernel.h"

#include <sys/ioctl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "events/names/sysfs_pmu.h"

namespace pmc::test {

// What a counter of the core PMU an event needs (arch/x86/events/intel/core.c
// FIXED_EVENT_CONSTRAINT and the topdown metric events; drivers/perf/arm_pmuv3.c's cycle
// counter).
enum class CounterKind {
  none,            // software, tracepoint, msr, RAPL: no counter to share
  general,         // any general-purpose counter
  instructions,    // fixed counter 0 if free, else general-purpose
  cycles,          // fixed counter 1 (Intel) or the cycle counter (Arm) if free, else general
  ref_cycles,      // fixed counter 2 only (0x0300 is a pseudo-encoding no GP counter takes)
  slots,           // fixed counter 3 only
  topdown_metric,  // PERF_METRICS: no counter, but only beside its slots leader
};

struct FakeKernel::Pmu {
  std::string name;
  uint32_t type = 0;
  bool core = false;      // the CPU's own PMU (cpu, cpu_core, cpu_atom, armv8_pmuv3_0)
  bool software = false;  // no counters to share: software, tracepoint, msr
  bool amd = false;
  bool arm = false;
  std::vector<int> cpus;     // `cpus`: the CPUs a hybrid or Arm core PMU covers (empty: all)
  std::vector<int> cpumask;  // `cpumask`: one CPU per package/box (RAPL, uncore)
  CounterLayout layout;
};

struct FakeKernel::Event {
  int fd = -1;
  uint64_t id = 0;
  perf_event_attr attr{};
  pid_t pid = -1;  // -1: CPU-wide
  int cpu = -1;    // after the cpumask redirection
  const Pmu* pmu = nullptr;
  CounterKind kind = CounterKind::none;
  int leader = -1;           // fd of the group leader (itself for a leader)
  std::vector<int> members;  // a leader's group, itself first
  bool enabled = false;
  double count = 0;
  uint64_t enabled_ns = 0;
  uint64_t running_ns = 0;
};

namespace {

constexpr uint64_t kTickNs = 4'000'000;  // 1000 / HZ ms at HZ=250: PERF_CPU_HRTIMER

std::vector<int> read_cpus(const std::filesystem::path& file) {
  if (auto text = read_text(file))
    if (auto cpus = parse_cpu_list(*text)) return *cpus;
  return {};
}

bool contains(const std::vector<int>& v, int x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// Counters of a core PMU, from what its sysfs directory shows. Sources: CPUID leaf 0xA as
// arch/x86/events/intel/core.c reads it (Skylake 4 GP per thread with SMT on, Ice Lake and
// Golden Cove 8, Gracemont 6; fixed counters 0-2, and 3 with perf metrics, i.e. where `slots`
// is listed), arch/x86/events/amd/core.c (6 GP, no fixed, on Zen: X86_FEATURE_PERFCTR_CORE),
// drivers/perf/arm_pmuv3.c (PMCR_EL0.N = 6 on Neoverse N2, plus the cycle counter).
CounterLayout layout_of(const FakeKernel::Pmu& pmu, const std::filesystem::path& dir) {
  CounterLayout l;
  if (pmu.arm) {
    l.general = 6;
    l.cycle_counter = true;
  } else if (pmu.amd) {
    l.general = 6;
  } else if (pmu.name == "cpu_atom") {
    l.general = 6;
    l.fixed_instructions = l.fixed_cycles = l.fixed_ref_cycles = true;
  } else {
    bool metrics = std::filesystem::exists(dir / "events/slots");
    l.general = metrics || pmu.name == "cpu_core" ? 8 : 4;
    l.fixed_instructions = l.fixed_cycles = l.fixed_ref_cycles = true;
    l.fixed_slots = metrics || pmu.name == "cpu_core";
  }
  return l;
}

struct Usage {
  std::set<CounterKind> fixed;  // fixed counters (and Arm's cycle counter) taken
  int general = 0;
};

// Places `kinds` on the counters left in `u`; false (u unchanged) when they do not all fit.
// Fixed-only events first, then fixed-preferring ones, then the rest, as the x86 scheduler's
// weight order (x86_schedule_events) does.
bool place(const CounterLayout& l, const std::vector<CounterKind>& kinds, Usage& u) {
  Usage t = u;
  auto has_fixed = [&](CounterKind k) {
    switch (k) {
      case CounterKind::instructions:
        return l.fixed_instructions;
      case CounterKind::cycles:
        return l.fixed_cycles || l.cycle_counter;
      case CounterKind::ref_cycles:
        return l.fixed_ref_cycles;
      case CounterKind::slots:
        return l.fixed_slots;
      default:
        return false;
    }
  };
  for (int pass = 0; pass < 3; ++pass) {
    for (CounterKind k : kinds) {
      if (k == CounterKind::none || k == CounterKind::topdown_metric) continue;
      bool fixed_only = k == CounterKind::ref_cycles || k == CounterKind::slots;
      bool prefers_fixed = k == CounterKind::instructions || k == CounterKind::cycles;
      int order = fixed_only ? 0 : prefers_fixed ? 1 : 2;
      if (order != pass) continue;
      if ((fixed_only || prefers_fixed) && has_fixed(k) && !t.fixed.count(k)) {
        t.fixed.insert(k);
        continue;
      }
      if (fixed_only || t.general >= l.general) return false;
      ++t.general;
    }
  }
  u = t;
  return true;
}

}  // namespace

FakeKernel::FakeKernel(const SysRoot& root) {
  online_ = read_cpus(root.sys_path("devices/system/cpu/online"));
  std::error_code ec;
  for (auto& entry :
       std::filesystem::directory_iterator(root.sys_path("bus/event_source/devices"), ec)) {
    auto pmu = std::make_unique<Pmu>();
    pmu->name = entry.path().filename().string();
    auto type = read_text(entry.path() / "type");
    if (!type) continue;
    pmu->type = uint32_t(std::stoul(*type));
    pmu->cpus = read_cpus(entry.path() / "cpus");
    pmu->cpumask = read_cpus(entry.path() / "cpumask");
    pmu->arm = pmu->name.rfind("armv8_", 0) == 0 || pmu->name.rfind("armv9_", 0) == 0;
    pmu->core =
        pmu->name == "cpu" || pmu->name == "cpu_core" || pmu->name == "cpu_atom" || pmu->arm;
    // AMD's core PMU: EventSelect[11:8] in config bits 32-35 (amd/core.c PMU_FORMAT_ATTR).
    pmu->amd = pmu->name == "cpu" &&
               read_text(entry.path() / "format/event").value_or("") == "config:0-7,32-35";
    pmu->software = pmu->name == "software" || pmu->name == "tracepoint" ||
                    pmu->name == "breakpoint" || pmu->name == "kprobe" || pmu->name == "uprobe" ||
                    pmu->name == "msr";
    if (pmu->core) {
      pmu->layout = layout_of(*pmu, entry.path());
    } else {
      // RAPL and cstate read free-running MSRs (rapl.c, cstate.c): nothing to share. An uncore
      // box has 4 general counters (Intel uncore IMC/CHA), AMD's L3 PMU 6 (amd/uncore.c).
      pmu->software |= pmu->name == "power" || pmu->name.rfind("cstate", 0) == 0;
      pmu->layout.general = pmu->name == "amd_l3" ? 6 : 4;
    }
    pmus_.push_back(std::move(pmu));
  }
  std::sort(pmus_.begin(), pmus_.end(), [](auto& a, auto& b) { return a->type < b->type; });
  if (online_.empty()) {
    for (auto& p : pmus_)
      for (int c : p->cpus) online_.push_back(c);
    std::sort(online_.begin(), online_.end());
    online_.erase(std::unique(online_.begin(), online_.end()), online_.end());
    // A fixture without `online` or core PMU `cpus` (intel-client, amd-zen) stands for an
    // 8-thread desktop, or as many CPUs as its cpumasks imply: a cpumask names one CPU per box,
    // and the last box has as many CPUs as the one before it (amd-zen's amd_l3 "0,8,16,24" is
    // four 8-thread CCXs, CPUs 0-31).
    int count = 8;
    for (auto& p : pmus_) {
      const auto& m = p->cpumask;
      if (m.size() >= 2) count = std::max(count, m.back() + (m.back() - m[m.size() - 2]));
    }
    if (online_.empty())
      for (int c = 0; c < count; ++c) online_.push_back(c);
  }
  for (int c : online_) {
    std::string cpu = "devices/system/cpu/cpu" + std::to_string(c);
    if (auto id = read_text(root.sys_path(cpu + "/topology/physical_package_id")))
      package_[c] = std::stoi(*id);
    if (auto id = read_text(root.sys_path(cpu + "/cache/index3/id"))) llc_[c] = std::stoi(*id);
  }
}

FakeKernel::~FakeKernel() = default;

void FakeKernel::set_layout(const std::string& name, const CounterLayout& layout) {
  for (auto& p : pmus_)
    if (p->name == name) p->layout = layout;
}

void FakeKernel::count_at(const std::string& pmu, uint64_t config, double user_per_ns,
                          double kernel_per_ns) {
  rates_[{pmu, config}] = {user_per_ns, kernel_per_ns};
}

// perf_init_event (kernel/events/core.c): a hardware or cache event goes to the PMU its
// extended type names (config bits 32-63), else to the PMU registered as PERF_TYPE_RAW (x86's
// cpu or cpu_core) or the first core PMU; any other type to the PMU with that type.
const FakeKernel::Pmu* FakeKernel::pmu_for(const perf_event_attr& attr) const {
  uint32_t type = attr.type;
  if (type == PERF_TYPE_HARDWARE || type == PERF_TYPE_HW_CACHE) {
    type = uint32_t(attr.config >> 32);
    if (type == 0) type = PERF_TYPE_RAW;
  }
  if (attr.type == PERF_TYPE_SOFTWARE || attr.type == PERF_TYPE_TRACEPOINT ||
      attr.type == PERF_TYPE_BREAKPOINT) {
    static const Pmu software = [] {
      Pmu p;
      p.name = "software";
      p.type = PERF_TYPE_SOFTWARE;
      p.software = true;
      return p;
    }();
    for (auto& p : pmus_)
      if (p->type == attr.type) return p.get();
    return &software;
  }
  for (auto& p : pmus_)
    if (p->type == type) return p.get();
  if (type == PERF_TYPE_RAW)
    for (auto& p : pmus_)
      if (p->core) return p.get();
  return nullptr;
}

// The box a CPU's copy of an event of `pmu` counts for: AMD's L3 PMU has one per CCX, the L3's
// sharers (amd/uncore.c amd_uncore_llc_id: get_llc_id, which sysfs shows as
// cpuN/cache/index3/id); RAPL and Intel uncore one per package.
std::optional<int> FakeKernel::box_of(const Pmu& pmu, int cpu) const {
  const auto& ids = pmu.name == "amd_l3" ? llc_ : package_;
  if (ids.empty()) return std::nullopt;
  auto it = ids.find(cpu);
  return it == ids.end() ? 0 : it->second;
}

// Intel uncore, RAPL and AMD uncore count for the box whatever CPU of it an event is opened on:
// event->cpu becomes the box's CPU in the PMU's cpumask (uncore_pmu_event_init,
// rapl_pmu_event_init, amd_uncore_event_init). Without topology files, CPUs are taken as
// numbered by box, so a CPU belongs to the mask CPU at or below it.
int FakeKernel::redirect(const Pmu& pmu, int cpu) const {
  if (box_of(pmu, cpu)) {
    for (int m : pmu.cpumask)
      if (box_of(pmu, m) == box_of(pmu, cpu)) return m;
    return cpu;
  }
  int best = pmu.cpumask.empty() ? cpu : pmu.cpumask.front();
  for (int m : pmu.cpumask)
    if (m <= cpu) best = m;
  return best;
}

namespace {

CounterKind kind_of(const FakeKernel::Pmu& pmu, const perf_event_attr& attr) {
  if (pmu.software) return CounterKind::none;
  if (!pmu.core) return CounterKind::general;
  uint64_t config = attr.config & 0xffffffffULL;
  if (attr.type == PERF_TYPE_HARDWARE) {
    switch (config) {
      case PERF_COUNT_HW_CPU_CYCLES:
        return CounterKind::cycles;
      case PERF_COUNT_HW_INSTRUCTIONS:
        return pmu.amd || pmu.arm ? CounterKind::general : CounterKind::instructions;
      case PERF_COUNT_HW_REF_CPU_CYCLES:
        return CounterKind::ref_cycles;
      default:
        return CounterKind::general;
    }
  }
  if (attr.type == PERF_TYPE_HW_CACHE) return CounterKind::general;
  if (pmu.arm) return config == 0x11 ? CounterKind::cycles : CounterKind::general;
  if (pmu.amd) return CounterKind::general;
  // Intel raw encodings: event in bits 0-7, umask 8-15; the fixed constraints match the
  // whole event+umask with no other bits set.
  if (config == 0x00c0) return CounterKind::instructions;
  if (config == 0x003c) return CounterKind::cycles;
  if (config == 0x0300) return CounterKind::ref_cycles;
  if (pmu.layout.fixed_slots && config == 0x0400) return CounterKind::slots;
  if (pmu.layout.fixed_slots && (config & 0xff) == 0 && (config & 0xff00) >= 0x8000 &&
      (config & 0xff00) <= 0x8700)
    return CounterKind::topdown_metric;
  return CounterKind::general;
}

}  // namespace

bool FakeKernel::group_fits_empty(const Event& leader, const Event* extra) const {
  const Pmu* hw = nullptr;
  std::vector<CounterKind> kinds;
  auto add = [&](const Event& e) {
    if (e.kind == CounterKind::none) return;
    hw = e.pmu;
    kinds.push_back(e.kind);
  };
  for (int fd : leader.members) add(*events_.at(fd));
  if (extra) add(*extra);
  if (!hw) return true;
  Usage u;
  return place(hw->layout, kinds, u);
}

std::vector<perf_event_attr> FakeKernel::open_attrs() const {
  std::vector<perf_event_attr> attrs;
  for (const auto& [fd, e] : events_) attrs.push_back(e->attr);
  return attrs;
}

int FakeKernel::open(const perf_event_attr& attr, pid_t pid, int cpu, int group_fd,
                     unsigned long flags) {
  bool cgroup = (flags & PERF_FLAG_PID_CGROUP) != 0;
  // kernel/events/core.c perf_event_open: perf_allow_kernel (paranoid > 1 refuses kernel
  // mode), perf_allow_cpu (paranoid > 0 refuses CPU-wide counting); Debian's level 3 refuses
  // every unprivileged perf_event_open.
  if (!privileged_) {
    if (paranoid_ > 2) return -EACCES;
    if (!attr.exclude_kernel && paranoid_ > 1) return -EACCES;
    if ((pid == -1 || cgroup) && cpu >= 0 && paranoid_ > 0) return -EACCES;
  }
  // get_unused_fd_flags: RLIMIT_NOFILE.
  if (events_.size() + 16 >= nofile_soft_) return -EMFILE;  // 16: stdio and the rest in use
  Event* leader = nullptr;
  if (group_fd != -1) {
    auto it = events_.find(group_fd);
    if (it == events_.end()) return -EBADF;
    leader = events_.at(it->second->leader).get();
  }
  if (pid != -1 && !cgroup) {
    if (auto it = task_errors_.find(pid); it != task_errors_.end()) return -it->second;
  }
  if (cgroup) {
    // perf_event_open: a cgroup event is per CPU; perf_cgroup_connect takes `pid` as the fd of
    // the cgroup's directory (css_tryget_online_from_dir: EBADF for anything else).
    if (pid < 0 || cpu < 0) return -EINVAL;
    std::error_code ec;
    auto dir = std::filesystem::read_symlink("/proc/self/fd/" + std::to_string(pid), ec);
    if (ec || !std::filesystem::is_directory(dir, ec)) return -EBADF;
    cgroup_dirs_.insert(dir.string());
  }
  if (cpu >= 0 && !contains(online_, cpu)) return -ENODEV;
  // Before extended types, x86_pmu_event_init took config as an index into the generic event
  // map and refused it past the map's end (arch/x86/events/core.c, `max_events`).
  if (!extended_types_ && (attr.type == PERF_TYPE_HARDWARE || attr.type == PERF_TYPE_HW_CACHE) &&
      (attr.config >> 32) != 0)
    return -EINVAL;
  const Pmu* pmu = pmu_for(attr);
  if (!pmu) return -ENOENT;
  auto e = std::make_unique<Event>();
  e->attr = attr;
  e->pid = cgroup ? -1 : pid;
  e->cpu = cpu;
  e->pmu = pmu;
  e->kind = kind_of(*pmu, attr);
  if (pmu->core) {
    // Events the PMU's generic map lacks (amd/core.c and arm_pmuv3.c have no ref-cycles).
    if ((pmu->amd || pmu->arm) && attr.type == PERF_TYPE_HARDWARE &&
        (attr.config & 0xffffffffULL) == PERF_COUNT_HW_REF_CPU_CYCLES)
      return -ENOENT;
    // x86_pmu_event_init (arch/x86/events/core.c) and armpmu_event_init
    // (drivers/perf/arm_pmu.c): a CPU-bound event on a CPU the PMU does not cover.
    if (cpu >= 0 && !pmu->cpus.empty() && !contains(pmu->cpus, cpu)) return -ENOENT;
  }
  if (!pmu->cpumask.empty()) {
    // rapl_pmu_event_init, uncore_pmu_event_init, amd_uncore_event_init: no task events.
    if (cpu < 0) return -EINVAL;
    e->cpu = redirect(*pmu, cpu);
  }
  if (e->kind == CounterKind::topdown_metric) {
    // intel_pmu_hw_config: "The metric events require a slots group leader".
    if (!leader || leader->kind != CounterKind::slots) return -EINVAL;
  }
  if (leader) {
    // perf_event_open: a group lives on one CPU or task, and one hardware PMU.
    if (leader->cpu != e->cpu || leader->pid != e->pid) return -EINVAL;
    for (int fd : leader->members) {
      const Event& m = *events_.at(fd);
      if (e->kind != CounterKind::none && m.kind != CounterKind::none && m.pmu != e->pmu)
        return -EINVAL;
    }
    // validate_group (arch/x86/events/core.c, drivers/perf/arm_pmu.c): the whole group must
    // fit the PMU's counters with nothing else on them.
    if (!group_fits_empty(*leader, e.get())) return -EINVAL;
  }
  ++opens_;
  e->fd = next_fd_++;
  e->id = next_id_++;
  e->enabled = !attr.disabled;
  if (leader) {
    e->leader = leader->fd;
    leader->members.push_back(e->fd);
  } else {
    e->leader = e->fd;
    e->members = {e->fd};
  }
  int fd = e->fd;
  events_[fd] = std::move(e);
  return fd;
}

int FakeKernel::ioctl(int fd, unsigned long request, uintptr_t arg) {
  auto it = events_.find(fd);
  if (it == events_.end()) return -EBADF;
  Event& e = *it->second;
  std::vector<int> targets = {fd};
  if ((arg & PERF_IOC_FLAG_GROUP) && e.leader == fd) targets = e.members;
  switch (request) {
    case PERF_EVENT_IOC_ID:
      *reinterpret_cast<uint64_t*>(arg) = e.id;
      return 0;
    case PERF_EVENT_IOC_ENABLE:
    case PERF_EVENT_IOC_DISABLE:
      for (int t : targets) events_.at(t)->enabled = request == PERF_EVENT_IOC_ENABLE;
      return 0;
    case PERF_EVENT_IOC_RESET:
      for (int t : targets) events_.at(t)->count = 0;
      return 0;
    default:
      return -ENOTTY;
  }
}

ssize_t FakeKernel::read(int fd, void* buf, size_t size) {
  auto it = events_.find(fd);
  if (it == events_.end()) return -EBADF;
  const Event& leader = *events_.at(it->second->leader);
  if (!(leader.attr.read_format & PERF_FORMAT_GROUP)) return -EINVAL;  // the engine's only form
  // perf_read_group: nr, time_enabled, time_running (the leader's), {value, id} per member.
  std::vector<uint64_t> out = {leader.members.size(), leader.enabled_ns, leader.running_ns};
  for (int m : leader.members) {
    const Event& e = *events_.at(m);
    out.push_back(uint64_t(e.count));
    out.push_back(e.id);
  }
  size_t bytes = out.size() * sizeof(uint64_t);
  if (size < bytes) return -ENOSPC;
  std::memcpy(buf, out.data(), bytes);
  return ssize_t(bytes);
}

void FakeKernel::close(int fd) {
  auto it = events_.find(fd);
  if (it == events_.end()) return;
  Event& e = *it->second;
  if (e.leader == fd) {
    // perf_group_detach: siblings of a closed leader go on as groups of their own.
    for (int m : e.members) {
      if (m == fd) continue;
      Event& s = *events_.at(m);
      s.leader = m;
      s.members = {m};
    }
  } else if (auto l = events_.find(e.leader); l != events_.end()) {
    std::erase(l->second->members, fd);
  }
  events_.erase(it);
}

std::optional<uint64_t> FakeKernel::raise_nofile_limit() {
  if (nofile_soft_ >= nofile_hard_) return std::nullopt;
  nofile_soft_ = nofile_hard_;
  return nofile_soft_;
}

PerfPermissions FakeKernel::permissions(const SysRoot&) {
  PerfPermissions p;
  p.paranoid = paranoid_;
  p.privileged = privileged_;
  return p;
}

void FakeKernel::exec(pid_t pid) {
  // perf_event_enable_on_exec: the task's events with enable_on_exec start.
  for (auto& [fd, e] : events_)
    if (e->pid == pid && e->attr.enable_on_exec) e->enabled = true;
}

void FakeKernel::advance(uint64_t ns) {
  while (ns > 0) {
    uint64_t dt = std::min(ns, kTickNs);
    tick(dt);
    ns -= dt;
  }
}

int FakeKernel::where(const Event& e) const {
  if (e.cpu >= 0) return e.cpu;
  auto it = task_cpu_.find(e.pid);
  return it == task_cpu_.end() ? 0 : it->second;
}

double FakeKernel::rate(const Event& e, int cpu) const {
  uint64_t config = e.attr.config;
  if (e.attr.type == PERF_TYPE_HARDWARE || e.attr.type == PERF_TYPE_HW_CACHE)
    config &= 0xffffffffULL;
  // cpu-clock and task-clock count time; their exclude bits only filter samples
  // (kernel/events/core.c cpu_clock_event_update, task_clock_event_update).
  if (e.attr.type == PERF_TYPE_SOFTWARE &&
      (config == PERF_COUNT_SW_CPU_CLOCK || config == PERF_COUNT_SW_TASK_CLOCK))
    return 1.0;
  auto it = rates_.find({e.pmu->name, config});
  std::pair<double, double> r{0, 0};
  if (it != rates_.end())
    r = it->second;
  else if (!e.pmu->software || e.pmu->name == "power" || e.pmu->name == "msr")
    r = {1, 0};
  double speed = 1;
  if (auto it = cpu_speed_.find(cpu); it != cpu_speed_.end() && e.pmu->core) speed = it->second;
  return speed * ((e.attr.exclude_user ? 0 : r.first) + (e.attr.exclude_kernel ? 0 : r.second));
}

// One multiplexing tick on every CPU: kernel/events/core.c ctx_sched_in, pinned groups first
// (the NMI watchdog's cycles event is pinned, kernel/watchdog_perf.c), then flexible groups in
// their rotated order; merge_sched_in stops trying hardware groups of a PMU on a CPU after the
// first that does not fit (can_add_hw), and a failed group asks for rotation
// (rotate_necessary), which moves the flexible list on by one group at the next tick
// (perf_rotate_context).
void FakeKernel::tick(uint64_t dt) {
  std::map<int, std::vector<Event*>> by_cpu;
  for (auto& [fd, e] : events_) {
    if (e->leader != fd || !e->enabled) continue;
    int c = where(*e);
    if (c < 0) continue;  // the task sleeps: its context is off, its times stand still
    for (int m : e->members) {
      Event& s = *events_.at(m);
      if (s.enabled) s.enabled_ns += dt;
    }
    by_cpu[c].push_back(e.get());
  }
  for (auto& [c, leaders] : by_cpu) {
    std::map<const Pmu*, Usage> used;
    std::set<const Pmu*> stopped;  // can_add_hw = 0
    if (nmi_watchdog_)
      for (auto& p : pmus_)
        if (p->core && (p->cpus.empty() || contains(p->cpus, c)))
          place(p->layout, {CounterKind::cycles}, used[p.get()]);
    std::vector<Event*> pinned, flexible;
    for (Event* l : leaders) (l->attr.pinned ? pinned : flexible).push_back(l);
    if (!flexible.empty()) {
      size_t r = size_t(rotation_[c] % flexible.size());
      std::rotate(flexible.begin(), flexible.begin() + long(r), flexible.end());
    }
    bool failed = false;
    auto try_group = [&](Event* l) {
      const Pmu* hw = nullptr;
      std::vector<CounterKind> kinds;
      for (int m : l->members) {
        const Event& s = *events_.at(m);
        if (!s.enabled || s.kind == CounterKind::none) continue;
        hw = s.pmu;
        kinds.push_back(s.kind);
      }
      // pmu->filter / event_filter_match: a task's event of a hybrid core PMU runs only on the
      // CPUs that PMU covers.
      if (hw && !hw->cpus.empty() && !contains(hw->cpus, c)) return;
      if (hw) {
        if (stopped.count(hw) || !place(hw->layout, kinds, used[hw])) {
          stopped.insert(hw);
          if (!l->attr.pinned) failed = true;
          return;
        }
      }
      for (int m : l->members) {
        Event& s = *events_.at(m);
        if (!s.enabled) continue;
        s.running_ns += dt;
        s.count += rate(s, c) * double(dt);
      }
    };
    for (Event* l : pinned) try_group(l);
    for (Event* l : flexible) try_group(l);
    if (failed) ++rotation_[c];
  }
}

}  // namespace pmc::test
