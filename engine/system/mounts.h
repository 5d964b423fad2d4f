#pragma once
// Where file systems are mounted, from <proc>/self/mountinfo (proc(5)): cgroup2 may live at
// /sys/fs/cgroup (unified), /sys/fs/cgroup/unified (systemd's hybrid layout) or anywhere else.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/names/sysroot.h"

namespace pmc {

struct Mount {
  std::string mount_point;  // octal escapes (\040 for a space) decoded
  std::string fs_type;      // "cgroup2", "tracefs", …
  std::string options;      // the super block's options, after the source: "rw,cpu,cpuacct"
};

// Every mount listed in mountinfo text; lines that do not parse are skipped.
std::vector<Mount> parse_mountinfo(std::string_view text);

// The first cgroup2 mount point in <proc>/self/mountinfo; nullopt when there is none, or the file
// cannot be read (then `readable` is false).
std::optional<std::string> cgroup2_mount_point(const SysRoot& root, bool* readable = nullptr);

// Where the kernel's perf_event cgroup controller is, which `measure -G` needs: the kernel takes a
// cgroup only from a directory of the hierarchy that has it (perf_cgroup_connect,
// css_tryget_online_from_dir: ENOENT for a directory of another hierarchy, EBADF for one that is
// no cgroup at all). Bound to a cgroup v1 hierarchy when <proc>/cgroups gives perf_event a
// hierarchy id other than 0 (an older host, or a hybrid one where it was mounted as v1), else
// on cgroup2.
struct PerfEventCgroup {
  bool v1 = false;
  std::optional<std::string> mount;  // its mount point: a v1 mount with "perf_event" in its
                                     // options, or the cgroup2 mount; nullopt when not mounted
};
PerfEventCgroup perf_event_cgroup(std::string_view mountinfo, std::string_view proc_cgroups);
PerfEventCgroup perf_event_cgroup(const SysRoot& root);

// Why the cgroup directory `dir` (absolute, links resolved) cannot be counted by perf_event_open,
// from the mount that holds it; empty when it can, or when that cannot be told (no mountinfo).
std::string cgroup_dir_problem(const std::string& dir, std::string_view mountinfo,
                               std::string_view proc_cgroups);

}  // namespace pmc
