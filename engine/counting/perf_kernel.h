#pragma once
// What the counting engine asks of the kernel about counters: the three system calls it makes
// (perf_event_open, ioctl on a counter, read of a group), closing a counter, raising the
// open-file limit when perf_event_open runs out of descriptors, and what this user may count.
// The engine calls nothing else on counters, so a test can put a fake kernel in its place and
// the same code path (groups, reads, scaling) runs against it.
#include <linux/perf_event.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>

#include "engine/system/permissions.h"
#include "events/names/sysroot.h"

namespace pmc {

class PerfKernel {
 public:
  virtual ~PerfKernel() = default;
  // perf_event_open(2): a new counter fd, or -errno.
  virtual int open(const perf_event_attr& attr, pid_t pid, int cpu, int group_fd,
                   unsigned long flags) = 0;
  // ioctl(2) on a counter fd (arg is a flag or a pointer, as the request says): 0 or -errno.
  virtual int ioctl(int fd, unsigned long request, uintptr_t arg) = 0;
  // read(2) of a counter fd: bytes read, or -errno.
  virtual ssize_t read(int fd, void* buf, size_t size) = 0;
  virtual void close(int fd) = 0;
  // RLIMIT_NOFILE's soft limit raised to its hard limit, as perf does on EMFILE
  // (tools/perf/util/rlimit.c, rlimit__increase_nofile): the new limit, or nullopt when the
  // soft limit already was the hard one (a retry would fail the same way).
  virtual std::optional<uint64_t> raise_nofile_limit() = 0;
  // perf_event_paranoid and this process's capabilities.
  virtual PerfPermissions permissions(const SysRoot& root) = 0;
  // Keeps the calling thread busy on its CPU for about `ns`, so that counters opened on it
  // (pid 0) are scheduled and their enabled and running times move: a probe of whether a group
  // gets its counters together.
  virtual void busy_wait(uint64_t ns) = 0;
};

// The running kernel (stateless, shared by every caller).
PerfKernel& real_perf_kernel();

}  // namespace pmc
