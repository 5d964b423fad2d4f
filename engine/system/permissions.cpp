#include "engine/system/permissions.h"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>

namespace pmc {
namespace {

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif

bool has_capability(int cap) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  return (data[cap / 32].effective & (1u << (cap % 32))) != 0;
}

}  // namespace

PerfPermissions read_perf_permissions(const SysRoot& root) {
  PerfPermissions perms;
  if (auto text = read_text(root.proc_path("sys/kernel/perf_event_paranoid"))) {
    char* end = nullptr;
    long v = std::strtol(text->c_str(), &end, 10);
    if (end != text->c_str()) perms.paranoid = int(v);
  }
  perms.privileged = geteuid() == 0 || has_capability(CAP_PERFMON) || has_capability(CAP_SYS_ADMIN);
  return perms;
}

std::string permission_reason(const SysRoot& root, const PerfPermissions& perms, bool cpu_wide) {
  std::string file = root.proc_path("sys/kernel/perf_event_paranoid").string();
  std::string level = perms.paranoid ? std::to_string(*perms.paranoid) : "unreadable";
  // Levels from the kernel's Documentation/admin-guide/perf-security.rst; Debian adds 3 (no
  // perf_event_open for unprivileged users at all).
  int need = cpu_wide ? 0 : 2;
  if (perms.paranoid && *perms.paranoid <= need) {
    // The level allows it: something else refused (a user namespace's root has no capability
    // in the host's namespace; SELinux, AppArmor or kernel lockdown can forbid perf_event_open).
    return file + " is " + level + ", which allows it" +
           (perms.privileged ? " (this user looks privileged: root of a user namespace?)" : "") +
           "; a security module (SELinux, AppArmor, lockdown) or a container's seccomp profile "
           "may refuse perf_event_open: run on the host or grant CAP_PERFMON there";
  }
  return file + " is " + level + "; run as root, grant CAP_PERFMON (setcap cap_perfmon+ep " +
         "on the binary), or allow it with 'sysctl kernel.perf_event_paranoid=" +
         std::to_string(need) + "'";
}

}  // namespace pmc
