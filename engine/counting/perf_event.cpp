#include "engine/counting/perf_event.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <utility>

#include "engine/counting/perf_kernel.h"
#include "engine/counting/scaling.h"
#include "engine/system/fd.h"
#include "engine/system/mounts.h"
#include "events/names/sysfs_pmu.h"

namespace pmc {
namespace {

constexpr uint64_t kReadFormat = PERF_FORMAT_GROUP | PERF_FORMAT_ID |
                                 PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;

// A counter fd, closed through the kernel interface that opened it (a fake kernel's fds are
// not the process's).
class CounterFd {
 public:
  CounterFd(PerfKernel& kernel, int fd) : kernel_(&kernel), fd_(fd) {}
  CounterFd(const CounterFd&) = delete;
  CounterFd& operator=(const CounterFd&) = delete;
  CounterFd(CounterFd&& other) noexcept
      : kernel_(other.kernel_), fd_(std::exchange(other.fd_, -1)) {}
  CounterFd& operator=(CounterFd&& other) noexcept {
    if (this != &other) {
      reset();
      kernel_ = other.kernel_;
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~CounterFd() { reset(); }
  int get() const { return fd_; }

 private:
  void reset() {
    if (fd_ >= 0) kernel_->close(fd_);
    fd_ = -1;
  }
  PerfKernel* kernel_;
  int fd_ = -1;
};

// Why perf_event_open refuses to count process `pid` for this user when its owner is the cause:
// the kernel lets a task be counted by whoever may trace it (perf_check_permission,
// ptrace_may_access with PTRACE_MODE_READ_REALCREDS: the target's real, effective and saved
// user ids all equal to the caller's real one, or CAP_SYS_PTRACE). nullopt when the ids match
// or cannot be read. The kernel's own /proc: the process is a live one.
std::optional<std::string> owner_refusal(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Uid:", 0) != 0) continue;
    std::istringstream fields(line.substr(4));
    unsigned long real = 0, effective = 0, saved = 0;
    if (!(fields >> real >> effective >> saved)) return std::nullopt;
    unsigned long me = ::getuid();
    if (real == me && effective == me && saved == me) return std::nullopt;
    std::string ids = real == effective && effective == saved
                          ? std::to_string(real)
                          : std::to_string(real) + "/" + std::to_string(effective) + "/" +
                                std::to_string(saved) + " (real/effective/saved)";
    return "process " + std::to_string(pid) + " runs as user id " + ids + ", this user is " +
           std::to_string(me) +
           ": the kernel counts a process only for a user that may trace it (ptrace_may_access); "
           "run as its user, as root, or with CAP_SYS_PTRACE";
  }
  return std::nullopt;
}

// An event that counts kernel mode only (:k): with exclude_kernel added it would open and
// count nothing, so under paranoid >= 2 it is refused instead, as perf does (evsel__fallback
// only drops kernel mode from events that also count user mode).
bool kernel_only(const perf_event_attr& attr) {
  return attr.exclude_user && !attr.exclude_kernel;
}

// Where one copy of a group is opened: a task (pid, cpu -1), a CPU (pid -1), or a cgroup on a CPU.
struct Placement {
  pid_t pid = -1;
  int cpu = -1;
  unsigned long flags = 0;
};

// One copy of a group opened on one placement; fds[i] belongs to events[i] of the group.
struct OpenedGroup {
  std::vector<CounterFd> fds;
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
  bool cpu_wide = false;            // opened per CPU (the target's kind, or a cpumask PMU)
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
  PerfEventCounters(std::vector<EventGroup> groups, SysRoot root, PerfKernel& kernel)
      : root_(std::move(root)), kernel_(kernel), perms_(kernel.permissions(root_)) {
    bool after_lone = false;
    for (auto& g : groups) {
      Group group;
      bool lone = g.events.size() == 1;
      for (auto& spec : g.events) {
        // Lone events of one name on several PMU instances (uncore_imc/cas_count_read/ on
        // uncore_imc_0..N, given in a row by the resolver) are one event: one count, summed
        // over the instances as perf's default merge does.
        bool instance = lone && after_lone && !outputs_.empty() &&
                        slots_[outputs_.back().back()].spec.name == spec.name &&
                        slots_[outputs_.back().back()].spec.pmu != spec.pmu;
        if (instance) {
          outputs_.back().push_back(slots_.size());
        } else {
          outputs_.push_back({slots_.size()});
          output_group_.push_back(int(requested_.size()));
        }
        group.slots.push_back(slots_.size());
        slots_.push_back(EventSlot{std::move(spec), EventStatus::not_counted, {}, false});
      }
      after_lone = lone;
      requested_.push_back(std::move(group));
    }
    slot_group_.assign(slots_.size(), SIZE_MAX);
    // An event in several groups (measure -m: each metric's events in one group, so an event
    // that metrics of different groups read is in each) gives its counts a group, as an import
    // of perf stat -M does, so that each metric is evaluated from its own group's.
    std::set<std::pair<std::string, std::string>> seen;
    for (const auto& members : outputs_) {
      const auto& spec = slots_[members.front()].spec;
      if (!seen.insert({spec.name, spec.pmu}).second) show_groups_ = true;
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
    if (auto text = read_text(root_.proc_path("sys/kernel/nmi_watchdog"))) {
      char* end = nullptr;
      long v = std::strtol(text->c_str(), &end, 10);
      if (end != text->c_str()) nmi_watchdog_ = int(v);
    }
    if (target.kind == Target::Kind::cgroup) open_cgroup_fd();
    for (auto& group : requested_) open_group(group, cpu_wide);
    // perf's fallback (evsel__fallback): a user that looks privileged but is refused kernel-mode
    // counting (root of a user namespace, a container without CAP_PERFMON in the host's
    // namespace) counts user space only rather than nothing.
    if (!exclude_kernel_ && !cpu_wide && any_refused()) {
      opened_.clear();
      slot_group_.assign(slots_.size(), SIZE_MAX);
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
    entries_ = 0;
    for (const Group& group : opened_) entries_ += group.copies.size() * group.slots.size();
  }

  bool any_refused() const {
    for (const auto& slot : slots_)
      if (slot.failed && slot.status == EventStatus::permission_denied &&
          slot.spec.attr.type != PERF_TYPE_TRACEPOINT)
        return true;
    return false;
  }

  // For a command, exec enables its task counters (enable_on_exec); what exec cannot enable is
  // the CPU-wide copies of events of a cpumask PMU (RAPL, uncore), enabled here.
  void enable() override {
    bool command = target_.kind == Target::Kind::command;
    ioctl_all(PERF_EVENT_IOC_ENABLE, [&](const Group& g) { return !command || g.cpu_wide; });
  }
  void disable() override {
    ioctl_all(PERF_EVENT_IOC_DISABLE, [](const Group&) { return true; });
  }

  // Called at every -I tick: the sums and the read buffer are members, so a tick allocates only
  // the result (each allocation after 100 ms of sleep touches cold memory, on a VM a page fault).
  std::vector<EventCount> read() override {
    std::vector<EventCount> out;
    read_into(out);
    return out;
  }

  void read_into(std::vector<EventCount>& out) override {
    record_.clear();
    read_raw(record_);
    counts_from_raw(record_.data(), out);
  }

  // One (value, time_enabled, time_running) per member of every opened copy, in the order of
  // opened_; a copy whose read failed gives zeros. Copies are kept apart so that each is
  // scaled on its own times, for the totals and for every interval.
  bool read_raw(std::vector<uint64_t>& out) override {
    for (const Group& group : opened_)
      for (const OpenedGroup& copy : group.copies) read_copy(copy, out);
    return true;
  }
  size_t raw_record_size() const override { return 3 * entries_; }
  void counts_from_raw(const uint64_t* record, std::vector<EventCount>& out) const override {
    sum_copies(record, nullptr, sums_);
    out.resize(outputs_.size());
    for (size_t o = 0; o < outputs_.size(); ++o) to_count(o, sums_, out[o]);
  }
  bool interval_from_raw(const uint64_t* later, const uint64_t* earlier,
                         std::vector<EventCount>& out) const override {
    sum_copies(later, nullptr, open_sums_);
    sum_copies(later, earlier, sums_);
    out.resize(outputs_.size());
    for (size_t o = 0; o < outputs_.size(); ++o) {
      EventCount& c = out[o];
      to_count(o, sums_, c);
      OutputSum d = output_sum(o, sums_);
      if (slots_[d.slot].failed || d.sum.copies == 0) continue;
      // A per-task copy's enabled time only advances while the task is on a CPU, and it counts
      // nothing while it is off: an event that was open before and whose copies neither ran
      // nor counted in this interval saw a task that did not run. That is a count of 0, not
      // an unknown (perf stat -I prints <not counted> there).
      if (d.sum.enabled == 0 && d.sum.sum.raw == 0 && output_sum(o, open_sums_).sum.enabled > 0) {
        c.status = EventStatus::counted;
        c.value = 0;
        c.unit_scale = slots_[d.slot].spec.scale;
        c.reason.clear();
      } else if (!c.counted() && d.sum.enabled > 0) {
        c.reason = "not on a counter during this interval";
      }
    }
    return true;
  }

  std::vector<std::string> notes() const override { return notes_; }

 private:
  // One output's copies over its PMU instances: `slot` the first instance that opened (else
  // the first), `failed` how many could not be opened.
  struct OutputSum {
    size_t slot = 0;
    CopySum sum;
    size_t failed = 0;
  };
  OutputSum output_sum(size_t o, const std::vector<CopySum>& sums) const {
    const auto& members = outputs_[o];
    OutputSum out;
    out.slot = members.front();
    for (size_t m : members)
      if (!slots_[m].failed) {
        out.slot = m;
        break;
      }
    out.sum = sums[out.slot];
    for (size_t m : members) {
      if (slots_[m].failed) ++out.failed;
      if (m != out.slot && !slots_[m].failed) add_copies(out.sum, sums[m]);
    }
    return out;
  }

  // Fills c in place (assigning its strings reuses their storage).
  void to_count(size_t o, const std::vector<CopySum>& sums, EventCount& c) const {
    OutputSum merged = output_sum(o, sums);
    size_t i = merged.slot;
    const auto& slot = slots_[i];
    const CopySum& s = merged.sum;
    size_t instances = outputs_[o].size();
    c.name = slot.spec.name;
    c.group = show_groups_ ? std::optional<int>(output_group_[o]) : std::nullopt;
    // The instances' PMU without its number: uncore_imc for uncore_imc_0..N.
    std::string pmu = instances > 1
                          ? slot.spec.pmu.substr(0, slot.spec.pmu.find_last_not_of("0123456789"))
                          : slot.spec.pmu;
    if (instances > 1 && !pmu.empty() && pmu.back() == '_') pmu.pop_back();
    c.pmu = pmu;
    c.unit = slot.spec.unit;
    c.value = 0;
    c.raw = s.sum.raw;
    c.time_enabled_ns = s.sum.time_enabled_ns;
    c.time_running_ns = s.sum.time_running_ns;
    c.unit_scale = 1.0;
    c.spread.reset();
    if (slot.failed || s.copies == 0) {
      c.status = slot.failed ? slot.status : EventStatus::not_counted;
      c.reason = slot.failed ? slot.reason : "no counter was opened for it";
      return;
    }
    c.status = EventStatus::counted;
    c.reason = slot.reason;
    apply_copies(c, s, slot.spec.scale);
    if (!c.counted() && s.enabled > 0) c.reason = never_ran_reason(i, sums);
    if (merged.failed > 0 && c.counted()) {
      const auto& bad = *std::find_if(outputs_[o].begin(), outputs_[o].end(),
                                      [&](size_t m) { return slots_[m].failed; });
      c.reason += std::string(c.reason.empty() ? "" : "; ") +
                  "partial: " + std::to_string(merged.failed) + " of " + std::to_string(instances) +
                  " PMU instances could not be opened (" + slots_[bad].spec.pmu + ": " +
                  slots_[bad].reason + ")";
    }
  }

  // Why an event that was enabled never got a counter, in the words that fit the case.
  std::string never_ran_reason(size_t i, const std::vector<CopySum>& sums) const {
    const auto& slot = slots_[i];
    const Group* group = slot_group_[i] < opened_.size() ? &opened_[slot_group_[i]] : nullptr;
    bool task = group && !group->cpu_wide;
    // A task's event of a hybrid core PMU runs only while the task is on that PMU's CPUs
    // (pmu->filter in kernel/events/core.c); on the other cores it is enabled but off.
    if (task && !slot.spec.cpu_wide_only && !slot.spec.cpus.empty())
      return "never ran: " + slot.spec.pmu + " counts only on CPUs " +
             cpu_list_text(slot.spec.cpus) +
             " and the task did not run there while it was counted (or found no free counter "
             "there)";
    bool whole_group = group && group->slots.size() > 1 && slot.spec.hardware;
    if (whole_group)
      for (size_t m : group->slots) whole_group = whole_group && sums[m].ran == 0;
    if (!whole_group) return "never scheduled on a counter (time_running is 0)";
    std::string why = "its group of " + std::to_string(group->slots.size()) +
                      " events never got its counters together (time_running is 0 all run): "
                      "the kernel accepted the group, but fewer counters are free than it needs";
    if (nmi_watchdog_.value_or(0) != 0)
      why += "; the NMI watchdog (" + root_.proc_path("sys/kernel/nmi_watchdog").string() + " is " +
             std::to_string(*nmi_watchdog_) +
             ") holds a counter on every CPU. Try disabling the NMI watchdog (sudo sysctl "
             "kernel.nmi_watchdog=0), or count fewer events in the group";
    else
      why += "; count fewer events in the group";
    return why;
  }

  // Per event, its copies in `later` (minus `earlier` when given, copy by copy) scaled one by
  // one and added.
  void sum_copies(const uint64_t* later, const uint64_t* earlier,
                  std::vector<CopySum>& sums) const {
    sums.assign(slots_.size(), CopySum{});
    size_t pos = 0;
    for (const Group& group : opened_)
      for (size_t c = 0; c < group.copies.size(); ++c)
        for (size_t k = 0; k < group.slots.size(); ++k, pos += 3) {
          Reading r{later[pos], later[pos + 1], later[pos + 2]};
          if (earlier) r = delta(r, Reading{earlier[pos], earlier[pos + 1], earlier[pos + 2]});
          add_copy(sums[group.slots[k]], r);
        }
  }

  void read_copy(const OpenedGroup& copy, std::vector<uint64_t>& out) const {
    // Layout from perf_event_open(2), PERF_FORMAT_GROUP: nr, time_enabled, time_running,
    // then {value, id} per member.
    auto& buf = read_buf_;
    buf.assign(3 + 2 * copy.fds.size(), 0);
    size_t at = out.size();
    out.resize(at + 3 * copy.fds.size(), 0);
    ssize_t n = kernel_.read(copy.fds[0].get(), buf.data(), buf.size() * sizeof(uint64_t));
    if (n < ssize_t(3 * sizeof(uint64_t))) return;
    uint64_t nr = std::min<uint64_t>(buf[0], copy.fds.size());
    for (uint64_t k = 0; k < nr && 4 + 2 * k < buf.size(); ++k) {
      auto it = std::find(copy.ids.begin(), copy.ids.end(), buf[4 + 2 * k]);
      if (it == copy.ids.end()) continue;
      uint64_t* entry = &out[at + 3 * size_t(it - copy.ids.begin())];
      entry[0] = buf[3 + 2 * k];
      entry[1] = buf[1];
      entry[2] = buf[2];
    }
  }

  // Where the copies of a group go. A PMU with a cpumask (RAPL, uncore) only counts CPU-wide,
  // on the CPUs it lists; a CPU-wide group goes to the CPUs every member's PMU covers (on a
  // hybrid machine, the intersection of the members' core PMUs).
  std::vector<Placement> placements_for(const std::vector<size_t>& members,
                                        bool& forced_cpu_wide) const {
    const EventSpec& spec = slots_[members[0]].spec;
    std::vector<Placement> out;
    forced_cpu_wide = false;
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
        for (pid_t tid : threads_of(target_.pid))
          if (!gone_threads_.count(tid)) out.push_back({tid, -1, 0});
        break;
      case Target::Kind::system_wide:
        for (int cpu : target_cpus(members)) out.push_back({-1, cpu, 0});
        break;
      case Target::Kind::cgroup:
        for (int cpu : target_cpus(members))
          out.push_back({cgroup_fd_.get(), cpu, PERF_FLAG_PID_CGROUP});
        break;
    }
    return out;
  }

  // CPUs to open a CPU-wide copy on: the target's (or all online), restricted to the CPUs
  // every member's PMU covers (a hybrid cpu_atom event only on the E-cores).
  std::vector<int> target_cpus(const std::vector<size_t>& members) const {
    auto cpus = target_.cpus.empty() ? online_cpus(root_) : target_.cpus;
    for (size_t m : members) {
      const auto& covered = slots_[m].spec.cpus;
      if (covered.empty()) continue;
      std::erase_if(cpus, [&](int c) {
        return std::find(covered.begin(), covered.end(), c) == covered.end();
      });
    }
    return cpus;
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
    // A relative path is under the mount of the hierarchy that has the perf_event controller,
    // as perf's -G is: cgroup2 wherever mountinfo says it is (a hybrid host has it at
    // /sys/fs/cgroup/unified), or the v1 perf_event mount where perf_event is bound to v1.
    if (p.is_relative())
      p = std::filesystem::path(
              perf_event_cgroup(root_).mount.value_or(root_.sys_path("fs/cgroup").string())) /
          p;
    cgroup_dir_ = p.string();
    cgroup_fd_.reset(::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_DIRECTORY));
    if (!cgroup_fd_)
      throw std::runtime_error("cannot open cgroup " + p.string() + ": " + std::strerror(errno));
    // A directory of another hierarchy than perf_event's is refused by the kernel with ENOENT
    // for every event, which would read as events this machine lacks: said here instead.
    std::error_code ec;
    auto dir = std::filesystem::canonical(p, ec);
    auto mountinfo = read_text(root_.proc_path("self/mountinfo"));
    auto cgroups = read_text(root_.proc_path("cgroups"));
    if (!ec && mountinfo) {
      std::string problem = cgroup_dir_problem(dir.string(), *mountinfo, cgroups.value_or(""));
      if (!problem.empty()) throw std::runtime_error("-G " + target_.cgroup_path + ": " + problem);
    }
  }

  // `legacy`: the event's encoding without the extended hardware type (its PMU's own type),
  // for kernels that have none.
  perf_event_attr attr_for(const EventSpec& spec, bool leader, bool cpu_wide,
                           bool legacy = false) const {
    perf_event_attr attr =
        legacy && spec.without_extended_type ? *spec.without_extended_type : spec.attr;
    attr.size = sizeof(attr);
    attr.read_format = kReadFormat;
    attr.disabled = leader ? 1 : 0;
    bool on_command = target_.kind == Target::Kind::command && !cpu_wide;
    // Inherit so threads and forked children of the task are counted; counts of exited children
    // are folded into ours by the kernel. Per-CPU events cannot inherit.
    attr.inherit = (!cpu_wide && target_.kind != Target::Kind::system_wide) ? 1 : 0;
    // A command's task counters start at its exec; its CPU-wide ones (cpumask PMUs) have no
    // exec to wait for and are enabled by enable() when the command is released.
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
                                     bool cpu_wide, OpenedGroup& out) {
    for (size_t k = 0; k < slots.size(); ++k) {
      const EventSpec& spec = slots_[slots[k]].spec;
      perf_event_attr attr = attr_for(spec, k == 0, cpu_wide);
      // A tracepoint fires in kernel mode, a :k event counts only there: with exclude_kernel
      // either would open and count nothing.
      if (exclude_kernel_ && (attr.type == PERF_TYPE_TRACEPOINT || kernel_only(spec.attr)))
        return OpenError{k, EACCES};
      int group_fd = k == 0 ? -1 : out.fds[0].get();
      bool legacy = legacy_types_ && spec.without_extended_type;
      if (legacy) attr = attr_for(spec, k == 0, cpu_wide, true);
      int fd = open_retrying(attr, where, group_fd);
      if (fd < 0 && !legacy && spec.without_extended_type && (fd == -EINVAL || fd == -ENOENT)) {
        // A kernel without extended hardware types (before Linux 5.18 on x86, 6.1 on arm64)
        // refuses a PMU type in config bits 32-63: the event in its PMU's own type, as perf
        // falls back (parse-events.c, the legacy hybrid encoding).
        perf_event_attr plain = attr_for(spec, k == 0, cpu_wide, true);
        if (int again = open_retrying(plain, where, group_fd); again >= 0) {
          fd = again;
          legacy_types_ = true;
          notes_.push_back(
              "this kernel has no extended hardware types (Linux before 5.18 on x86, 6.1 on "
              "arm64): each core PMU's generic events were opened in that PMU's own type");
        }
      }
      if (fd < 0) return OpenError{k, -fd};
      out.fds.emplace_back(kernel_, fd);
      uint64_t id = 0;
      if (int e = kernel_.ioctl(fd, PERF_EVENT_IOC_ID, reinterpret_cast<uintptr_t>(&id)); e != 0)
        return OpenError{k, -e};
      out.ids.push_back(id);
    }
    return std::nullopt;
  }

  // perf_event_open; on EMFILE the open-file soft limit is raised to the hard limit once and
  // the open retried, as perf does (evsel__open_cpu, rlimit__increase_nofile): (events x CPUs)
  // descriptors pass 1024 with ten events on a 103-CPU server.
  int open_retrying(perf_event_attr& attr, const Placement& where, int group_fd) {
    for (;;) {
      int fd =
          kernel_.open(attr, where.pid, where.cpu, group_fd, where.flags | PERF_FLAG_FD_CLOEXEC);
      if (fd != -EMFILE || nofile_raised_) return fd;
      nofile_raised_ = true;
      auto limit = kernel_.raise_nofile_limit();
      if (!limit) return fd;
      notes_.push_back(
          "too many open files for one counter per event and CPU: the open-file "
          "limit (ulimit -n) was raised to its hard limit " +
          std::to_string(*limit) + ", as perf does");
    }
  }

  void open_group(const Group& requested, bool target_cpu_wide) {
    bool forced_cpu_wide = false;
    auto placements = placements_for(requested.slots, forced_cpu_wide);
    bool cpu_wide = target_cpu_wide || forced_cpu_wide;
    Group group{requested.slots, {}, cpu_wide};
    std::optional<OpenError> failure;
    Placement failed_at;
    for (const auto& where : placements) {
      OpenedGroup copy;
      failure = open_copy(group.slots, where, cpu_wide, copy);
      // A thread of a -p process that exited between the listing of /proc/PID/task and its
      // open is left out, as perf does (evsel__ignore_missing_thread), not the whole event.
      if (failure && failure->err == ESRCH && target_.kind == Target::Kind::pid &&
          placements.size() > 1) {
        if (gone_threads_.insert(where.pid).second)
          notes_.push_back("thread " + std::to_string(where.pid) + " of process " +
                           std::to_string(target_.pid) +
                           " exited before its counters were opened (ESRCH): left out, as perf "
                           "does");
        failure.reset();
        continue;
      }
      if (failure) {
        failed_at = where;
        break;
      }
      group.copies.push_back(std::move(copy));
    }
    // The kernel takes a cgroup's fd only from a directory of a cgroup hierarchy that has the
    // perf_event controller (perf_cgroup_connect, css_tryget_online_from_dir): anything else
    // is EBADF for every event, a wrong -G, not an event this machine lacks.
    if (failure && failure->err == EBADF && target_.kind == Target::Kind::cgroup)
      throw std::runtime_error(
          "-G " + target_.cgroup_path + ": " + cgroup_dir_ +
          " is not a cgroup the kernel can count (perf_event_open: EBADF): give a directory of "
          "the hierarchy that has the perf_event controller, mounted at " +
          perf_event_cgroup(root_).mount.value_or(root_.sys_path("fs/cgroup").string()) +
          ", as a path under it or relative to it");
    if (!failure && group.copies.empty() && !placements.empty()) failure = OpenError{0, ESRCH};
    if (!failure && !group.copies.empty() && probe_group(group.slots) == Probe::never_together) {
      // Accepted by the kernel, yet it would never run: opened with nothing else on the PMU it
      // fits, but the counters free while it is counted (the NMI watchdog's pinned cycles holds
      // one on every CPU) are fewer than it needs. Counted as separate groups instead, before
      // the run starts, so the run is not lost to a group that never runs.
      group.copies.clear();
      std::string why = "its group of " + std::to_string(group.slots.size()) +
                        " events never got its counters together (" + held_counters_text() + ")";
      notes_.push_back("group {" + group_names(group.slots) +
                       "} was split into separate groups: " + why);
      split_group(group, target_cpu_wide, "split: " + why);
      return;
    }
    if (!failure) {
      if (forced_cpu_wide)
        notes_.push_back(slots_[group.slots[0]].spec.name +
                         " is counted CPU-wide (its PMU has a cpumask): it includes other tasks");
      for (size_t s : group.slots) slot_group_[s] = opened_.size();
      opened_.push_back(std::move(group));
      return;
    }
    size_t opened_copies = group.copies.size();
    group.copies.clear();  // an event is counted on all its CPUs or threads, or not at all
    if (group.slots.size() > 1 && failure->err != EMFILE) {
      // The kernel refused the group as a whole (EINVAL from group validation when the members
      // do not fit the counters together, or one member it cannot count): count each alone.
      const auto& bad = slots_[group.slots[failure->index]].spec;
      notes_.push_back("group {" + group_names(group.slots) + "} could not be opened together (" +
                       bad.name + ": " + errno_name(failure->err) +
                       "); its events were split into separate groups");
      split_group(group, target_cpu_wide, "split from its group");
      return;
    }
    for (size_t k = 0; k < group.slots.size(); ++k) {
      auto& slot = slots_[group.slots[k]];
      // A group that failed on EMFILE fails as a whole: its other members name the one that hit
      // the limit.
      size_t culprit = group.slots.size() > 1 ? failure->index : k;
      auto f = classify_open_error(failure->err, slots_[group.slots[culprit]].spec, cpu_wide, root_,
                                   perms_);
      if (failure->err == EACCES && exclude_kernel_ && kernel_only(slot.spec.attr))
        f = {EventStatus::permission_denied, kernel_only_reason()};
      else if (failure->err == EACCES && target_.kind == Target::Kind::pid)
        if (auto why = owner_refusal(target_.pid))
          f = {EventStatus::permission_denied,
               "perf_event_open: " + std::string(std::strerror(EACCES)) + " (EACCES): " + *why};
      if (opened_copies > 0)
        f.reason += " (it failed on " + placement_text(failed_at) + " after opening on " +
                    std::to_string(opened_copies) + " of " + std::to_string(placements.size()) +
                    (cpu_wide ? " CPUs" : " threads") +
                    "; an event is counted everywhere or not at all, so those were closed)";
      slot.failed = true;
      slot.status = f.status;
      slot.reason = f.reason;
    }
  }

  std::string group_names(const std::vector<size_t>& slots) const {
    std::string names;
    for (size_t s : slots) names += (names.empty() ? "" : ",") + slots_[s].spec.name;
    return names;
  }

  // Each event of `group` opened as a group of its own; `reason` is kept by those that open.
  void split_group(const Group& group, bool target_cpu_wide, const std::string& reason) {
    for (size_t s : group.slots) {
      Group single{{s}, {}, false};
      open_group(single, target_cpu_wide);
      if (!slots_[s].failed) slots_[s].reason = reason;
    }
  }

  // Who holds the counters a group lacks, as far as this machine tells.
  std::string held_counters_text() const {
    if (nmi_watchdog_.value_or(0) != 0)
      return "the NMI watchdog holds one: " + root_.proc_path("sys/kernel/nmi_watchdog").string() +
             " is " + std::to_string(*nmi_watchdog_) +
             "; sudo sysctl kernel.nmi_watchdog=0 frees it";
    return "fewer counters are free than it needs";
  }

  // Whether a group of core-PMU hardware events gets its counters together, found with a copy
  // of it on this thread enabled for a moment (kProbeNs): the kernel schedules an enabled
  // group of the running task at once (kernel/events/core.c, __perf_event_enable and
  // ctx_resched), after the pinned events already on the CPU (the NMI watchdog's). Enabled
  // time without running time says it did not fit; the group is then called never_together
  // only if one of its hardware members alone does run, so that a PMU this thread's CPU lacks
  // (a hybrid's other core type) or a probe that cannot be opened tells nothing (unknown).
  // Groups without a core hardware event are not probed: no start-up cost without a PMU.
  enum class Probe { runs, never_together, unknown };
  static constexpr uint64_t kProbeNs = 50'000;

  Probe probe_group(const std::vector<size_t>& slots) {
    if (slots.size() < 2) return Probe::unknown;
    auto hw = std::find_if(slots.begin(), slots.end(), [&](size_t s) {
      return slots_[s].spec.hardware && !slots_[s].spec.cpu_wide_only;
    });
    if (hw == slots.end()) return Probe::unknown;
    std::optional<bool> together = probe_runs(slots);
    if (!together) return Probe::unknown;
    if (*together) return Probe::runs;
    std::optional<bool> alone = probe_runs({*hw});
    return alone.value_or(false) ? Probe::never_together : Probe::unknown;
  }

  // Opens `slots` as one group on this thread, enables it for kProbeNs and reads it: whether it
  // ran, nullopt when it could not be opened or no time passed.
  std::optional<bool> probe_runs(const std::vector<size_t>& slots) {
    OpenedGroup copy;
    for (size_t k = 0; k < slots.size(); ++k) {
      const EventSpec& spec = slots_[slots[k]].spec;
      perf_event_attr attr =
          attr_for(spec, k == 0, false, legacy_types_ && spec.without_extended_type);
      attr.inherit = 0;
      attr.enable_on_exec = 0;
      int group_fd = k == 0 ? -1 : copy.fds[0].get();
      int fd = kernel_.open(attr, 0, -1, group_fd, PERF_FLAG_FD_CLOEXEC);
      if (fd < 0) return std::nullopt;
      copy.fds.emplace_back(kernel_, fd);
      uint64_t id = 0;
      if (kernel_.ioctl(fd, PERF_EVENT_IOC_ID, reinterpret_cast<uintptr_t>(&id)) != 0)
        return std::nullopt;
      copy.ids.push_back(id);
    }
    int leader = copy.fds[0].get();
    if (kernel_.ioctl(leader, PERF_EVENT_IOC_ENABLE, PERF_IOC_FLAG_GROUP) != 0) return std::nullopt;
    kernel_.busy_wait(kProbeNs);
    kernel_.ioctl(leader, PERF_EVENT_IOC_DISABLE, PERF_IOC_FLAG_GROUP);
    std::vector<uint64_t> raw;
    read_copy(copy, raw);
    if (raw.size() < 3 || raw[1] == 0) return std::nullopt;
    return raw[2] > 0;
  }

  static std::string placement_text(const Placement& where) {
    return where.cpu >= 0 ? "CPU " + std::to_string(where.cpu)
                          : "thread " + std::to_string(where.pid);
  }

  std::string kernel_only_reason() const {
    return "it counts kernel mode only (:k), and kernel-mode counting is not allowed for this "
           "user (" +
           root_.proc_path("sys/kernel/perf_event_paranoid").string() + " is " +
           std::to_string(perms_.paranoid.value_or(2)) +
           "): with exclude_kernel it would count nothing. sudo sysctl "
           "kernel.perf_event_paranoid=1, or run as root or with CAP_PERFMON";
  }

  template <class Pick>
  void ioctl_all(unsigned long request, Pick pick) {
    for (auto& group : opened_) {
      if (!pick(group)) continue;
      for (auto& copy : group.copies)
        kernel_.ioctl(copy.fds[0].get(), request, PERF_IOC_FLAG_GROUP);
    }
  }

  SysRoot root_;
  PerfKernel& kernel_;
  PerfPermissions perms_;
  Target target_;
  Fd cgroup_fd_;
  std::string cgroup_dir_;  // the directory cgroup_fd_ is open on
  bool exclude_kernel_ = false;
  bool nofile_raised_ = false;
  bool legacy_types_ = false;        // the kernel refused extended hardware types once
  std::set<pid_t> gone_threads_;     // -p threads that had exited when their counters were opened
  std::optional<int> nmi_watchdog_;  // /proc/sys/kernel/nmi_watchdog, when readable
  std::vector<EventSlot> slots_;
  std::vector<Group> requested_;
  std::vector<Group> opened_;
  std::vector<size_t> slot_group_;  // index into opened_ of each slot's group (SIZE_MAX: none)
  std::vector<std::vector<size_t>> outputs_;  // the slots of each count read() gives
  std::vector<int> output_group_;             // the index into the requested groups of each output
  bool show_groups_ = false;  // an event is in several groups: counts carry their group
  std::vector<std::string> notes_;
  // Scratch of read(), kept between ticks.
  size_t entries_ = 0;  // (copy, member) pairs over the opened groups: a raw record's length / 3
  mutable std::vector<CopySum> sums_;
  mutable std::vector<CopySum> open_sums_;
  mutable std::vector<uint64_t> read_buf_;
  std::vector<uint64_t> record_;
};

}  // namespace

std::unique_ptr<Counters> make_perf_event_counters(std::vector<EventGroup> groups,
                                                   const SysRoot& root, PerfKernel& kernel) {
  return std::make_unique<PerfEventCounters>(std::move(groups), root, kernel);
}

int probe_hardware_counters() {
  perf_event_attr attr{};
  attr.size = sizeof(attr);
  attr.type = PERF_TYPE_HARDWARE;
  attr.config = PERF_COUNT_HW_CPU_CYCLES;
  attr.disabled = 1;
  attr.exclude_kernel = 1;
  attr.exclude_hv = 1;
  PerfKernel& kernel = real_perf_kernel();
  int fd = kernel.open(attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
  if (fd < 0) return -fd;
  kernel.close(fd);
  return 0;
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
    if (kernel_only(attr))
      return OpenFailure{EventStatus::permission_denied,
                         "it counts kernel mode only (:k), and kernel-mode counting is not "
                         "allowed for this user (" +
                             root.proc_path("sys/kernel/perf_event_paranoid").string() + " is " +
                             std::to_string(perms.paranoid.value_or(2)) + ")"};
    attr.exclude_kernel = 1;
    attr.exclude_hv = 1;
  }
  bool cpu_wide = spec.cpu_wide_only && !spec.cpus.empty();
  PerfKernel& kernel = real_perf_kernel();
  int fd = kernel.open(attr, cpu_wide ? -1 : 0, cpu_wide ? spec.cpus.front() : -1, -1,
                       PERF_FLAG_FD_CLOEXEC);
  if (fd >= 0) {
    kernel.close(fd);
    return std::nullopt;
  }
  return classify_open_error(-fd, spec, cpu_wide, root, perms);
}

std::string cpu_list_text(const std::vector<int>& cpus) {
  std::string out;
  for (size_t i = 0; i < cpus.size();) {
    size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    out += (out.empty() ? "" : ",") + std::to_string(cpus[i]);
    if (j > i) out += "-" + std::to_string(cpus[j]);
    i = j + 1;
  }
  return out;
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
