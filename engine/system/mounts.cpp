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
    std::string type;
    if (!(tail >> type)) continue;
    mounts.push_back(Mount{decode_octal(mount_point), type});
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

}  // namespace pmc
