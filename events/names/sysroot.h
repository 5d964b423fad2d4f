#pragma once
// Where machine-facing files are read from. Tests and users point these at fixture trees with
// PMCMODEL_SYSFS_ROOT (stands for /sys) and PMCMODEL_PROCFS_ROOT (stands for /proc).
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace pmc {

struct SysRoot {
  std::filesystem::path sys = "/sys";
  std::filesystem::path proc = "/proc";

  // Reads PMCMODEL_SYSFS_ROOT and PMCMODEL_PROCFS_ROOT; unset or empty keeps the real roots.
  static SysRoot from_env();

  // `rel` is relative to the root, e.g. "bus/event_source/devices".
  std::filesystem::path sys_path(std::string_view rel) const { return sys / rel; }
  std::filesystem::path proc_path(std::string_view rel) const { return proc / rel; }
};

// Whole file with trailing whitespace trimmed; nullopt when it cannot be read.
std::optional<std::string> read_text(const std::filesystem::path& path);

}  // namespace pmc
