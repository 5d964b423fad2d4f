#pragma once
// What the kernel lets this user count: perf_event_paranoid and capabilities.
#include <optional>
#include <string>

#include "events/names/sysroot.h"

namespace pmc {

struct PerfPermissions {
  std::optional<int> paranoid;  // /proc/sys/kernel/perf_event_paranoid; nullopt if unreadable
  bool privileged = false;      // root, CAP_PERFMON or CAP_SYS_ADMIN
  // Kernel-mode counting is refused for this user (paranoid >= 2 and not privileged).
  bool must_exclude_kernel() const { return !privileged && paranoid.value_or(2) >= 2; }
  // CPU-wide (-a, cgroup) counting is refused (paranoid >= 1 and not privileged).
  bool cpu_wide_denied() const { return !privileged && paranoid.value_or(2) >= 1; }
};

PerfPermissions read_perf_permissions(const SysRoot& root);

// One sentence for an EACCES/EPERM: names the paranoid file, its value, and the fix for `what`
// ("per-task", "system-wide", "kernel").
std::string permission_reason(const SysRoot& root, const PerfPermissions& perms, bool cpu_wide);

}  // namespace pmc
