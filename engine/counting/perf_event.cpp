#include "engine/counting/perf_event.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "engine/counting/scaling.h"
#include "engine/system/fd.h"
#include "engine/system/mounts.h"
#include "events/names/sysfs_pmu.h"

namespace pmc {
namespace {

constexpr uint64_t kReadFormat = PERF_FORMAT_GROUP | PERF_FORMAT_ID |
                                 PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;

int sys_perf_event_open(perf_event_attr* attr, pid_t pid, int cpu, int group_fd,
                        unsigned long flags) {
  return int(syscall(SYS_perf_event_open, attr, pid, cpu, group_fd, flags));
}

// Where one copy of a group is opened: a task (pid, cpu -1), a CPU (pid -1), or a cgroup on a CPU.
struct Placement {
  pid_t pid = -1;
  int cpu = -1;
  unsigned long flags = 0;
};

// One copy of a group opened on one placement; fds[i] belongs to events[i] of the group.
struct OpenedGroup {
  std::vector<Fd> fds;
  std::vector<uint64_t> ids;
};

struct EventSlot {
  EventSpec spec;
  EventStatus status = EventStatus::not_counted;
  std::string reason;
  bool failed = false;  // opening failed everywhere: status/reason are final
};

// A set of events opened as one kernel group on every placement it needs.
struct Group {
  std::vector<size_t> slots;        // indices into Impl::slots_, leader first
  std::vector<OpenedGroup> copies;  // one per placement that opened
};

std::string errno_name(int err) {
  switch (err) {
    case ENOENT:
      return "ENOENT";
    case EOPNOTSUPP:
      return "EOPNOTSUPP";
    case EINVAL:
      return "EINVAL";
    case EACCES:
      return "EACCES";
    case EPERM:
      return "EPERM";
    case EBUSY:
      return "EBUSY";
    case ENODEV:
      return "ENODEV";
    case EMFILE:
      return "EMFILE";
    case E2BIG:
      return "E2BIG";
    case ESRCH:
      return "ESRCH";
    default:
      return "errno " + std::to_string(err);
  }
}

class PerfEventCounters final : public Counters {
 public:
  PerfEventCounters(std::vector<EventGroup> groups, SysRoot root)
      : root_(std::move(root)), perms_(read_perf_permissions(root_)) {
    for (auto& g : groups) {
      Group group;
      for (auto& spec : g.events) {
        group.slots.push_back(slots_.size());
        slots_.push_back(EventSlot{std::move(spec), EventStatus::not_counted, {}, false});
      }
      requested_.push_back(std::move(group));
    }
  }

  void open(const Target& target) override {
    target_ = target;
    bool cpu_wide = target.kind == Target::Kind::system_wide || target.kind == Target::Kind::cgroup;
    if (perms_.must_exclude_kernel()) {
      exclude_kernel_ = true;
      notes_.push_back("kernel-mode counting is not allowed for this user (" +
                       root_.proc_path("sys/kernel/perf_event_paranoid").string() + " is " +
                       std::to_string(perms_.paranoid.value_or(2)) +
                       "): counting user space only (exclude_kernel, exclude_hv), as perf does");
    }
    if (target.kind == Target::Kind::cgroup) open_cgroup_fd();
    for (auto& group : requested_) open_group(group, cpu_wide);
    // perf's fallback (evsel__fallback): a user that looks privileged but is refused kernel-mode
    // counting (root of a user namespace, a container without CAP_PERFMON in the host's
    // namespace) counts user space only rather than nothing.
    if (!exclude_kernel_ && !cpu_wide && any_refused()) {
      opened_.clear();
      for (auto& slot : slots_) {
        slot.status = EventStatus::not_counted;
        slot.reason.clear();
        slot.failed = false;
      }
      notes_.clear();
      exclude_kernel_ = true;
      notes_.push_back(
          "kernel-mode counting was refused (EACCES) although this user looks "
          "privileged (root of a user namespace?): counting user space only "
          "(exclude_kernel, exclude_hv), as perf does");
      for (auto& group : requested_) open_group(group, cpu_wide);
    }
  }

  bool any_refused() const {
    for (const auto& slot : slots_)
      if (slot.failed && slot.status == EventStatus::permission_denied &&
          slot.spec.attr.type != PERF_TYPE_TRACEPOINT)
        return true;
    return false;
  }

  void enable() override { ioctl_all(PERF_EVENT_IOC_ENABLE); }
  void disable() override { ioctl_all(PERF_EVENT_IOC_DISABLE); }

  // Called at every -I tick: the sums and the read buffer are members, so a tick allocates only
  // the result (each allocation after 100 ms of sleep touches cold memory, on a VM a page fault).
  std::vector<EventCount> read() override {
    std::vector<EventCount> out;
    read_into(out);
    return out;
  }

  void read_into(std::vector<EventCount>& out) override {
    read_sums();
    out.resize(slots_.size());
    for (size_t i = 0; i < slots_.size(); ++i) to_count(i, sums_[i], seen_[i] != 0, out[i]);
  }

  // Per event: raw, time_enabled, time_running, seen.
  bool read_raw(std::vector<uint64_t>& out) override {
    read_sums();
    for (size_t i = 0; i < slots_.size(); ++i)
      out.insert(out.end(), {sums_[i].raw, sums_[i].time_enabled_ns, sums_[i].time_running_ns,
                             uint64_t(seen_[i])});
    return true;
  }
  size_t raw_record_size() const override { return 4 * slots_.size(); }
  void counts_from_raw(const uint64_t* record, std::vector<EventCount>& out) const override {
    out.resize(slots_.size());
    for (size_t i = 0; i < slots_.size(); ++i) {
      const uint64_t* r = record + 4 * i;
      to_count(i, Reading{r[0], r[1], r[2]}, r[3] != 0, out[i]);
    }
  }

  std::vector<std::string> notes() const override { return notes_; }

 private:
  // Fills c in place (assigning its strings reuses their storage).
  void to_count(size_t i, const Reading& r, bool seen, EventCount& c) const {
    const auto& slot = slots_[i];
    c.name = slot.spec.name;
    c.pmu = slot.spec.pmu;
    c.unit = slot.spec.unit;
    c.value = 0;
    c.raw = r.raw;
    c.time_enabled_ns = r.time_enabled_ns;
    c.time_running_ns = r.time_running_ns;
    c.unit_scale = 1.0;
    c.stddev.reset();
    if (slot.failed || !seen) {
      c.status = slot.failed ? slot.status : EventStatus::not_counted;
      c.reason = slot.failed ? slot.reason : "no counter was opened for it";
      return;
    }
    c.status = EventStatus::counted;
    c.reason = slot.reason;
    apply_scale(c, slot.spec.scale);
  }

  void read_sums() {
    sums_.assign(slots_.size(), Reading{});
    seen_.assign(slots_.size(), 0);
    for (auto& group : opened_) {
      for (auto& copy : group.copies) read_copy(group, copy);
    }
  }

  void read_copy(const Group& group, const OpenedGroup& copy) {
    // Layout from perf_event_open(2), PERF_FORMAT_GROUP: nr, time_enabled, time_running,
    // then {value, id} per member.
    auto& buf = read_buf_;
    buf.resize(3 + 2 * copy.fds.size());
    auto& sums = sums_;
    auto& seen = seen_;
    ssize_t n = ::read(copy.fds[0].get(), buf.data(), buf.size() * sizeof(uint64_t));
    if (n < ssize_t(3 * sizeof(uint64_t))) return;
    uint64_t nr = std::min<uint64_t>(buf[0], copy.fds.size());
    for (uint64_t k = 0; k < nr && 4 + 2 * k < buf.size(); ++k) {
      uint64_t value = buf[3 + 2 * k];
      uint64_t id = buf[4 + 2 * k];
      auto it = std::find(copy.ids.begin(), copy.ids.end(), id);
      if (it == copy.ids.end()) continue;
      size_t slot = group.slots[size_t(it - copy.ids.begin())];
      Reading r{value, buf[1], buf[2]};
      sums[slot] = add_readings(sums[slot], r);
      seen[slot] = 1;
    }
  }

  // Copies of one event (CPUs, threads) add raw counts and times, then scale once, as perf
  // stat aggregates (tools/perf/util/stat.c, process_counter_values).
  static Reading add_readings(const Reading& a, const Reading& b) {
    return {a.raw + b.raw, a.time_enabled_ns + b.time_enabled_ns,
            a.time_running_ns + b.time_running_ns};
  }

  std::vector<Placement> placements_for(const EventSpec& spec, bool& forced_cpu_wide) const {
    std::vector<Placement> out;
    forced_cpu_wide = false;
    // A PMU with a cpumask (RAPL, uncore) only counts CPU-wide, on the CPUs it lists.
    if (spec.cpu_wide_only && !spec.cpus.empty() && target_.kind != Target::Kind::cgroup) {
      forced_cpu_wide = target_.kind != Target::Kind::system_wide;
      for (int cpu : spec.cpus) out.push_back({-1, cpu, 0});
      return out;
    }
    switch (target_.kind) {
      case Target::Kind::command:
        out.push_back({target_.pid, -1, 0});
        break;
      case Target::Kind::pid:
        for (pid_t tid : threads_of(target_.pid)) out.push_back({tid, -1, 0});
        break;
      case Target::Kind::system_wide:
        for (int cpu : target_cpus(spec)) out.push_back({-1, cpu, 0});
        break;
      case Target::Kind::cgroup:
        for (int cpu : target_cpus(spec))
          out.push_back({cgroup_fd_.get(), cpu, PERF_FLAG_PID_CGROUP});
        break;
    }
    return out;
  }

  // CPUs to open a CPU-wide copy on: the target's (or all online), restricted to the CPUs the
  // event's PMU covers (a hybrid cpu_atom event only on the E-cores).
  std::vector<int> target_cpus(const EventSpec& spec) const {
    auto cpus = target_.cpus.empty() ? online_cpus(root_) : target_.cpus;
    if (spec.cpus.empty()) return cpus;
    std::vector<int> out;
    for (int c : cpus)
      if (std::find(spec.cpus.begin(), spec.cpus.end(), c) != spec.cpus.end()) out.push_back(c);
    return out;
  }

  std::vector<pid_t> threads_of(pid_t pid) const {
    std::vector<pid_t> tids;
    std::error_code ec;
    // The kernel's own /proc, not the fixture root: these are live threads of a live process.
    for (auto& e :
         std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
      pid_t tid = 0;
      auto name = e.path().filename().string();
      if (std::from_chars(name.data(), name.data() + name.size(), tid).ec == std::errc())
        tids.push_back(tid);
    }
    if (tids.empty()) tids.push_back(pid);
    std::sort(tids.begin(), tids.end());
    return tids;
  }

  void open_cgroup_fd() {
    std::filesystem::path p = target_.cgroup_path;
    // A relative path is under the cgroup2 mount, wherever mountinfo says it is (a hybrid host
    // has it at /sys/fs/cgroup/unified).
    if (p.is_relative())
      p = std::filesystem::path(
              cgroup2_mount_point(root_).value_or(root_.sys_path("fs/cgroup").string())) /
          p;
    cgroup_fd_.reset(::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_DIRECTORY));
    if (!cgroup_fd_)
      throw std::runtime_error("cannot open cgroup " + p.string() + ": " + std::strerror(errno));
  }

  perf_event_attr attr_for(const EventSpec& spec, bool leader, bool cpu_wide) const {
    perf_event_attr attr = spec.attr;
    attr.size = sizeof(attr);
    attr.read_format = kReadFormat;
    attr.disabled = leader ? 1 : 0;
    bool on_command = target_.kind == Target::Kind::command && !cpu_wide;
    // Inherit so threads and forked children of the task are counted; counts of exited children
    // are folded into ours by the kernel. Per-CPU events cannot inherit.
    attr.inherit = (!cpu_wide && target_.kind != Target::Kind::system_wide) ? 1 : 0;
    attr.enable_on_exec = (leader && on_command) ? 1 : 0;
    if (exclude_kernel_) {
      attr.exclude_kernel = 1;
      attr.exclude_hv = 1;
    }
    return attr;
  }

  // Opens every event of `slots` as one kernel group on `where`. On failure returns the index
  // (into slots) of the failing event and its errno.
  struct OpenError {
    size_t index;
    int err;
  };
  std::optional<OpenError> open_copy(const std::vector<size_t>& slots, const Placement& where,
                                     bool cpu_wide, OpenedGroup& out) const {
    for (size_t k = 0; k < slots.size(); ++k) {
      perf_event_attr attr = attr_for(slots_[slots[k]].spec, k == 0, cpu_wide);
      // A tracepoint fires in kernel mode: with exclude_kernel it would open and count nothing.
      if (attr.type == PERF_TYPE_TRACEPOINT && exclude_kernel_) return OpenError{k, EACCES};
      int group_fd = k == 0 ? -1 : out.fds[0].get();
      int fd = sys_perf_event_open(&attr, where.pid, where.cpu, group_fd,
                                   where.flags | PERF_FLAG_FD_CLOEXEC);
      if (fd < 0) return OpenError{k, errno};
      out.fds.emplace_back(fd);
      uint64_t id = 0;
      if (ioctl(fd, PERF_EVENT_IOC_ID, &id) != 0) return OpenError{k, errno};
      out.ids.push_back(id);
    }
    return std::nullopt;
  }

  void open_group(const Group& requested, bool target_cpu_wide) {
    bool forced_cpu_wide = false;
    auto placements = placements_for(slots_[requested.slots[0]].spec, forced_cpu_wide);
    bool cpu_wide = target_cpu_wide || forced_cpu_wide;
    Group group{requested.slots, {}};
    std::optional<OpenError> failure;
    for (const auto& where : placements) {
      OpenedGroup copy;
      failure = open_copy(group.slots, where, cpu_wide, copy);
      if (failure) break;
      group.copies.push_back(std::move(copy));
    }
    if (!failure) {
      if (forced_cpu_wide)
        notes_.push_back(slots_[group.slots[0]].spec.name +
                         " is counted CPU-wide (its PMU has a cpumask): it includes other tasks");
      opened_.push_back(std::move(group));
      return;
    }
    if (group.slots.size() > 1) {
      // The kernel refused the group as a whole (EINVAL from group validation when the members
      // do not fit the counters together, or one member it cannot count): count each alone.
      const auto& bad = slots_[group.slots[failure->index]].spec;
      std::string names;
      for (size_t s : group.slots) names += (names.empty() ? "" : ",") + slots_[s].spec.name;
      notes_.push_back("group {" + names + "} could not be opened together (" + bad.name + ": " +
                       errno_name(failure->err) + "); its events were split into separate groups");
      for (size_t s : group.slots) {
        Group single{{s}, {}};
        open_group(single, target_cpu_wide);
        if (!slots_[s].failed) slots_[s].reason = "split from its group";
      }
      return;
    }
    auto f =
        classify_open_error(failure->err, slots_[group.slots[0]].spec, cpu_wide, root_, perms_);
    auto& slot = slots_[group.slots[0]];
    slot.failed = true;
    slot.status = f.status;
    slot.reason = f.reason;
  }

  void ioctl_all(unsigned long request) {
    for (auto& group : opened_)
      for (auto& copy : group.copies) ioctl(copy.fds[0].get(), request, PERF_IOC_FLAG_GROUP);
  }

  SysRoot root_;
  PerfPermissions perms_;
  Target target_;
  Fd cgroup_fd_;
  bool exclude_kernel_ = false;
  std::vector<EventSlot> slots_;
  std::vector<Group> requested_;
  std::vector<Group> opened_;
  std::vector<std::string> notes_;
  // Scratch of read(), kept between ticks.
  std::vector<Reading> sums_;
  std::vector<char> seen_;
  std::vector<uint64_t> read_buf_;
};

}  // namespace

std::unique_ptr<Counters> make_perf_event_counters(std::vector<EventGroup> groups,
                                                   const SysRoot& root) {
  return std::make_unique<PerfEventCounters>(std::move(groups), root);
}

int probe_hardware_counters() {
  perf_event_attr attr{};
  attr.size = sizeof(attr);
  attr.type = PERF_TYPE_HARDWARE;
  attr.config = PERF_COUNT_HW_CPU_CYCLES;
  attr.disabled = 1;
  attr.exclude_kernel = 1;
  attr.exclude_hv = 1;
  Fd fd(sys_perf_event_open(&attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC));
  return fd.valid() ? 0 : errno;
}

OpenFailure classify_open_error(int err, const EventSpec& spec, bool cpu_wide, const SysRoot& root,
                                const PerfPermissions& perms) {
  std::string what =
      "perf_event_open: " + std::string(std::strerror(err)) + " (" + errno_name(err) + ")";
  switch (err) {
    case EACCES:
    case EPERM:
      if (spec.attr.type == PERF_TYPE_TRACEPOINT && perms.must_exclude_kernel())
        return {EventStatus::permission_denied,
                "a tracepoint fires in the kernel, and kernel-mode counting is not allowed for "
                "this user (" +
                    root.proc_path("sys/kernel/perf_event_paranoid").string() + " is " +
                    std::to_string(perms.paranoid.value_or(2)) +
                    "): sudo sysctl kernel.perf_event_paranoid=1, or run as root or with "
                    "CAP_PERFMON"};
      return {EventStatus::permission_denied,
              what + ": " + permission_reason(root, perms, cpu_wide || spec.cpu_wide_only)};
    case ENOENT:
      if (spec.hardware &&
          (spec.attr.type == PERF_TYPE_HARDWARE || spec.attr.type == PERF_TYPE_HW_CACHE))
        return {EventStatus::not_supported,
                what +
                    ": this CPU exposes no hardware counter for it (a VM without a virtual "
                    "PMU has none)"};
      return {EventStatus::not_supported, what + ": the PMU does not know this event"};
    case EOPNOTSUPP:
      return {EventStatus::not_supported,
              what + (!spec.cpu_wide_only ? ": the PMU cannot count it for a task"
                                          : ": the PMU refused this mode")};
    case EINVAL:
      return {EventStatus::not_supported,
              what + ": the PMU rejected its encoding or modifiers for this target"};
    case ENODEV:
      return {EventStatus::not_supported, what + ": no such PMU on this machine"};
    case EBUSY:
      return {EventStatus::not_supported,
              what + ": the counter is held by someone else (NMI watchdog or another tool)"};
    case EMFILE:
      return {EventStatus::not_counted, what + ": too many open files (raise ulimit -n)"};
    default:
      return {EventStatus::not_supported, what};
  }
}

std::optional<OpenFailure> probe_event(const EventSpec& spec, const SysRoot& root,
                                       const PerfPermissions& perms) {
  perf_event_attr attr = spec.attr;
  attr.size = sizeof(attr);
  attr.disabled = 1;
  if (perms.must_exclude_kernel()) {
    if (attr.type == PERF_TYPE_TRACEPOINT)
      return classify_open_error(EACCES, spec, false, root, perms);
    attr.exclude_kernel = 1;
    attr.exclude_hv = 1;
  }
  bool cpu_wide = spec.cpu_wide_only && !spec.cpus.empty();
  Fd fd(sys_perf_event_open(&attr, cpu_wide ? -1 : 0, cpu_wide ? spec.cpus.front() : -1, -1,
                            PERF_FLAG_FD_CLOEXEC));
  if (fd.valid()) return std::nullopt;
  return classify_open_error(errno, spec, cpu_wide, root, perms);
}

std::vector<int> online_cpus(const SysRoot& root) {
  if (auto text = read_text(root.sys_path("devices/system/cpu/online"))) {
    auto cpus = parse_cpu_list(*text);
    if (cpus && !cpus->empty()) return *cpus;
  }
  std::vector<int> cpus;
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  for (long i = 0; i < std::max(1L, n); ++i) cpus.push_back(int(i));
  return cpus;
}

}  // namespace pmc
