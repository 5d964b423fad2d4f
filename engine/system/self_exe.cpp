#include "engine/system/self_exe.h"

#include <system_error>

namespace pmc {

std::filesystem::path self_executable() {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path() : p;
}

std::string self_executable_or(std::string fallback) {
  std::filesystem::path p = self_executable();
  return p.empty() ? fallback : p.string();
}

}  // namespace pmc
