#include "engine/serve/cgroups.h"

#include <fnmatch.h>

#include <algorithm>

namespace pmc::serve {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    parts.emplace_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

bool has_wildcard(const std::string& s) {
  return s.find_first_of("*?[") != std::string::npos;
}

void expand(const fs::path& dir, const std::string& rel, const std::vector<std::string>& parts,
            size_t i, std::vector<std::string>& out) {
  if (i == parts.size()) {
    out.push_back(rel.empty() ? "/" : rel);
    return;
  }
  std::error_code ec;
  if (!has_wildcard(parts[i])) {
    fs::path next = dir / parts[i];
    if (fs::is_directory(next, ec)) expand(next, rel + "/" + parts[i], parts, i + 1, out);
    return;
  }
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_directory(ec)) continue;
    std::string name = it->path().filename().string();
    if (fnmatch(parts[i].c_str(), name.c_str(), FNM_PERIOD) == 0)
      expand(it->path(), rel + "/" + name, parts, i + 1, out);
  }
}

}  // namespace

const std::vector<std::string>& auto_cgroup_patterns() {
  // systemd: services, and each user's slice (systemd.special(7)); containers: Docker and podman
  // scopes, libvirt machines; Kubernetes pods: the systemd cgroup driver (kubepods.slice, one
  // slice per QoS class but Guaranteed) and the cgroupfs driver (kubepods/<qos>/pod<uid>).
  static const std::vector<std::string> patterns = {
      "system.slice/*.service",
      "user.slice/user-*.slice",
      "system.slice/docker-*.scope",
      "machine.slice/*",
      "kubepods.slice/kubepods-pod*.slice",
      "kubepods.slice/kubepods-*.slice/kubepods-*-pod*.slice",
      "kubepods/pod*",
      "kubepods/*/pod*",
  };
  return patterns;
}

std::optional<CgroupSelection> parse_cgroup_selection(std::string_view text, std::string* error) {
  CgroupSelection sel;
  if (text == "auto") {
    sel.patterns = auto_cgroup_patterns();
    return sel;
  }
  size_t start = 0;
  while (start < text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view item = text.substr(start, comma - start);
    start = comma + 1;
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item == "auto") {
      for (const auto& p : auto_cgroup_patterns()) sel.patterns.push_back(p);
      continue;
    }
    while (!item.empty() && item.front() == '/') item.remove_prefix(1);
    while (!item.empty() && item.back() == '/') item.remove_suffix(1);
    if (item.empty()) {
      if (error) *error = "an empty cgroup path (the root cgroup is the machine itself)";
      return std::nullopt;
    }
    for (const auto& part : split_path(item)) {
      if (part.empty() || part == "." || part == "..") {
        if (error)
          *error = "cgroup path '" + std::string(item) +
                   "' has an empty, '.' or '..' component (expected a path under the cgroup2 "
                   "mount, e.g. system.slice/nginx.service)";
        return std::nullopt;
      }
    }
    sel.patterns.emplace_back(item);
  }
  return sel;
}

std::optional<fs::path> find_cgroup2_root(const fs::path& sys) {
  std::error_code ec;
  for (const char* rel : {"fs/cgroup", "fs/cgroup/unified"}) {
    fs::path dir = sys / rel;
    if (fs::exists(dir / "cgroup.controllers", ec)) return dir;
  }
  return std::nullopt;
}

std::vector<std::string> expand_cgroups(const fs::path& root, const CgroupSelection& selection) {
  std::vector<std::string> out;
  for (const auto& pattern : selection.patterns) expand(root, "", split_path(pattern), 0, out);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace pmc::serve
