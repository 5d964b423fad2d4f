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
};

// Every mount listed in mountinfo text; lines that do not parse are skipped.
std::vector<Mount> parse_mountinfo(std::string_view text);

// The first cgroup2 mount point in <proc>/self/mountinfo; nullopt when there is none, or the file
// cannot be read (then `readable` is false).
std::optional<std::string> cgroup2_mount_point(const SysRoot& root, bool* readable = nullptr);

}  // namespace pmc
