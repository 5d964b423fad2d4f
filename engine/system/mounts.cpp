#include "engine/system/mounts.h"

#include <sstream>

namespace pmc {
namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo (fs/proc_namespace.c, show_path).
std::string decode_octal(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
        s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
      out += char((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::vector<Mount> parse_mountinfo(std::string_view text) {
  // "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue": the fifth
  // field is the mount point; after the " - " separator come the type and the source.
  std::vector<Mount> mounts;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream head(line.substr(0, dash));
    std::string id, parent, dev, root, mount_point;
    if (!(head >> id >> parent >> dev >> root >> mount_point)) continue;
    std::istringstream tail(line.substr(dash + 3));
    std::string type, source, options;
    if (!(tail >> type)) continue;
    tail >> source >> options;
    mounts.push_back(Mount{decode_octal(mount_point), type, options});
  }
  return mounts;
}

std::optional<std::string> cgroup2_mount_point(const SysRoot& root, bool* readable) {
  auto text = read_text(root.proc_path("self/mountinfo"));
  if (readable != nullptr) *readable = text.has_value();
  if (!text) return std::nullopt;
  for (const Mount& m : parse_mountinfo(*text))
    if (m.fs_type == "cgroup2") return m.mount_point;
  return std::nullopt;
}

namespace {

bool has_option(const std::string& options, std::string_view name) {
  std::istringstream in(options);
  std::string o;
  while (std::getline(in, o, ','))
    if (o == name) return true;
  return false;
}

// perf_event's hierarchy id in /proc/cgroups ("perf_event 10 1 1"); 0 (cgroup2) when the line
// is missing.
int perf_event_hierarchy(std::string_view proc_cgroups) {
  std::istringstream in{std::string(proc_cgroups)};
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string name;
    int hierarchy = 0;
    if (fields >> name >> hierarchy && name == "perf_event") return hierarchy;
  }
  return 0;
}

// The mount whose point is the longest prefix of `dir` (path-wise).
const Mount* holding_mount(const std::vector<Mount>& mounts, const std::string& dir) {
  const Mount* best = nullptr;
  for (const Mount& m : mounts) {
    const std::string& p = m.mount_point;
    bool under = dir == p || (dir.starts_with(p) && (p == "/" || dir[p.size()] == '/'));
    if (under && (best == nullptr || p.size() >= best->mount_point.size())) best = &m;
  }
  return best;
}

}  // namespace

PerfEventCgroup perf_event_cgroup(std::string_view mountinfo, std::string_view proc_cgroups) {
  PerfEventCgroup out;
  out.v1 = perf_event_hierarchy(proc_cgroups) != 0;
  for (const Mount& m : parse_mountinfo(mountinfo)) {
    bool match = out.v1 ? m.fs_type == "cgroup" && has_option(m.options, "perf_event")
                        : m.fs_type == "cgroup2";
    if (match) {
      out.mount = m.mount_point;
      break;
    }
  }
  return out;
}

PerfEventCgroup perf_event_cgroup(const SysRoot& root) {
  auto mountinfo = read_text(root.proc_path("self/mountinfo"));
  auto cgroups = read_text(root.proc_path("cgroups"));
  return perf_event_cgroup(mountinfo.value_or(""), cgroups.value_or(""));
}

std::string cgroup_dir_problem(const std::string& dir, std::string_view mountinfo,
                               std::string_view proc_cgroups) {
  auto mounts = parse_mountinfo(mountinfo);
  const Mount* m = holding_mount(mounts, dir);
  if (m == nullptr) return {};
  PerfEventCgroup perf = perf_event_cgroup(mountinfo, proc_cgroups);
  bool counts = perf.v1 ? m->fs_type == "cgroup" && has_option(m->options, "perf_event")
                        : m->fs_type == "cgroup2";
  if (counts) return {};
  std::string where =
      perf.v1
          ? "the perf_event controller is on a cgroup v1 hierarchy (/proc/cgroups), " +
                (perf.mount ? "mounted at " + *perf.mount
                            : std::string("not mounted here (mount -t cgroup -o perf_event "
                                          "none /sys/fs/cgroup/perf_event)"))
          : "the perf_event controller is on cgroup2" +
                (perf.mount ? ", mounted at " + *perf.mount : std::string(", not mounted here"));
  if (m->fs_type != "cgroup2" && m->fs_type != "cgroup")
    return dir + " is not a cgroup the kernel can count (" + m->fs_type + " at " + m->mount_point +
           "): " + where + "; -G takes a directory of that hierarchy";
  std::string what = m->fs_type == "cgroup2"
                         ? "a cgroup2 directory"
                         : "a directory of the cgroup v1 hierarchy of " +
                               (m->options.empty() ? std::string("?") : m->options);
  return dir + " is " + what + ", but " + where +
         ": the kernel counts only a cgroup of that hierarchy";
}

}  // namespace pmc
