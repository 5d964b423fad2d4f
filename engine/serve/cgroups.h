#pragma once
// Which cgroups `serve` follows: --cgroups takes a comma-separated list of cgroup v2 paths and
// globs relative to the cgroup2 mount (fnmatch(3) patterns per path component:
// "system.slice/*.service"), or `auto`: the service, container and pod levels as systemd,
// Docker, libvirt and Kubernetes lay them out (kubelet with either cgroup driver). The list is
// expanded again at every sample, so cgroups that appear are picked up and vanished ones dropped.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pmc::serve {

struct CgroupSelection {
  std::vector<std::string> patterns;  // relative to the cgroup2 mount, no leading '/'
};

// "auto" → the layouts below; "" → none; otherwise each comma-separated item, a leading '/'
// dropped. nullopt (with `error` set) for an item with ".." or an empty component.
std::optional<CgroupSelection> parse_cgroup_selection(std::string_view text, std::string* error);

// The patterns `auto` stands for.
const std::vector<std::string>& auto_cgroup_patterns();

// The cgroup2 hierarchy under a /sys root: <sys>/fs/cgroup, or <sys>/fs/cgroup/unified on a
// hybrid (v1 + v2) layout; nullopt when neither has cgroup.controllers.
std::optional<std::filesystem::path> find_cgroup2_root(const std::filesystem::path& sys);

// The cgroups that exist now and match any pattern, as "/a/b" paths relative to `root`, sorted,
// distinct. Directories only; a pattern component without wildcards is looked up directly.
std::vector<std::string> expand_cgroups(const std::filesystem::path& root,
                                        const CgroupSelection& selection);

}  // namespace pmc::serve
