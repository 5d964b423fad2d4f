#pragma once
// Processes as /proc shows them: the parent of one, and a process with every process under it.
#include <sys/types.h>

#include <optional>
#include <vector>

#include "events/names/sysroot.h"

namespace pmc {

// The parent field of /proc/PID/stat (proc(5), field 4); nullopt when the process is gone or
// the line cannot be read.
std::optional<pid_t> parent_of(const SysRoot& root, pid_t pid);

// `top` and every process under it, parents before children, from the parent fields of every
// /proc/N/stat. A process that forks while the list is made may be missed.
std::vector<pid_t> process_tree(const SysRoot& root, pid_t top);

}  // namespace pmc
