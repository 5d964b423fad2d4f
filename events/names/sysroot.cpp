#include "events/names/sysroot.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace pmc {

SysRoot SysRoot::from_env() {
  SysRoot root;
  if (const char* s = std::getenv("PMCMODEL_SYSFS_ROOT"); s != nullptr && *s != '\0') root.sys = s;
  if (const char* p = std::getenv("PMCMODEL_PROCFS_ROOT"); p != nullptr && *p != '\0') root.proc = p;
  return root;
}

std::optional<std::string> read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return std::nullopt;
  std::string text = buf.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\t' ||
                           text.back() == '\r'))
    text.pop_back();
  return text;
}

}  // namespace pmc
