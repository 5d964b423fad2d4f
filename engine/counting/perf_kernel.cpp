#include "engine/counting/perf_kernel.h"

#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

namespace pmc {
namespace {

class RealPerfKernel final : public PerfKernel {
 public:
  int open(const perf_event_attr& attr, pid_t pid, int cpu, int group_fd,
           unsigned long flags) override {
    perf_event_attr copy = attr;  // the kernel may write attr.size back on E2BIG
    int fd = int(syscall(SYS_perf_event_open, &copy, pid, cpu, group_fd, flags));
    return fd >= 0 ? fd : -errno;
  }
  int ioctl(int fd, unsigned long request, uintptr_t arg) override {
    return ::ioctl(fd, request, arg) == 0 ? 0 : -errno;
  }
  ssize_t read(int fd, void* buf, size_t size) override {
    ssize_t n = ::read(fd, buf, size);
    return n >= 0 ? n : -errno;
  }
  void close(int fd) override { ::close(fd); }
  std::optional<uint64_t> raise_nofile_limit() override {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max)
      return std::nullopt;
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) return std::nullopt;
    return uint64_t(limit.rlim_cur);
  }
  PerfPermissions permissions(const SysRoot& root) override { return read_perf_permissions(root); }
  void busy_wait(uint64_t ns) override {
    auto now_ns = [] {
      timespec t{};
      clock_gettime(CLOCK_MONOTONIC, &t);
      return uint64_t(t.tv_sec) * 1'000'000'000ULL + uint64_t(t.tv_nsec);
    };
    uint64_t start = now_ns();
    while (now_ns() - start < ns) {
    }
  }
};

}  // namespace

PerfKernel& real_perf_kernel() {
  static RealPerfKernel kernel;
  return kernel;
}

}  // namespace pmc
