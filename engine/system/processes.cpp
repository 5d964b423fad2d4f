#include "engine/system/processes.h"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>

namespace pmc {

std::optional<pid_t> parent_of(const SysRoot& root, pid_t pid) {
  std::ifstream in(root.proc_path(std::to_string(pid) + "/stat"));
  std::string text;
  if (!std::getline(in, text)) return std::nullopt;
  // "pid (comm) state ppid …": comm may hold spaces and parentheses, so the fields after it are
  // found from its last ')'.
  auto close = text.rfind(')');
  if (close == std::string::npos || close + 4 >= text.size()) return std::nullopt;
  pid_t ppid = 0;
  const char* first = text.data() + close + 4;
  if (std::from_chars(first, text.data() + text.size(), ppid).ec != std::errc())
    return std::nullopt;
  return ppid;
}

std::vector<pid_t> process_tree(const SysRoot& root, pid_t top) {
  std::vector<std::pair<pid_t, pid_t>> parents;  // (pid, ppid)
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(root.proc, ec)) {
    pid_t pid = 0;
    auto name = entry.path().filename().string();
    auto [end, err] = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (err != std::errc() || end != name.data() + name.size()) continue;
    if (auto ppid = parent_of(root, pid)) parents.emplace_back(pid, *ppid);
  }
  std::vector<pid_t> tree = {top};
  for (size_t i = 0; i < tree.size(); ++i)
    for (auto [pid, ppid] : parents)
      if (ppid == tree[i] && pid != top) tree.push_back(pid);
  return tree;
}

}  // namespace pmc
