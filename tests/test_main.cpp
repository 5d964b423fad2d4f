// doctest main, plus child behaviours: a test re-executes its own binary with PMC_TEST_CHILD set
// to get a counted process that does one precise thing (touch N pages, spin, fork, exit, raise),
// or to run a body a test registered (body:NAME, test_support.h) in a fresh process.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "test_support.h"

namespace {

volatile unsigned long sink;

void spin(double seconds) {
  // CPU time of this thread, not wall time, so a loaded machine does not shorten the work.
  timespec start{}, now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start);
  unsigned long x = 1;
  do {
    for (int i = 0; i < 100000; ++i) x = x * 6364136223846793005ul + 1442695040888963407ul;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  } while (double(now.tv_sec - start.tv_sec) + double(now.tv_nsec - start.tv_nsec) * 1e-9 <
           seconds);
  sink = x;
}

// PMC_TEST_CHILD=<what>:<arg>
int child_main(const std::string& spec) {
  if (spec.rfind("body:", 0) == 0) return pmc::test::child_body_main(spec.substr(5));
  auto colon = spec.find(':');
  std::string what = spec.substr(0, colon);
  std::string arg = colon == std::string::npos ? "" : spec.substr(colon + 1);
  if (what == "touch") {
    long pages = std::atol(arg.c_str());
    long page = sysconf(_SC_PAGESIZE);
    auto* p = static_cast<char*>(mmap(nullptr, size_t(pages * page), PROT_READ | PROT_WRITE,
                                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (p == MAP_FAILED) return 3;
    for (long i = 0; i < pages; ++i) p[i * page] = 1;
    return 0;
  }
  if (what == "spin") {
    spin(std::atof(arg.c_str()));
    return 0;
  }
  if (what == "spinsleep") {
    // Spins in 5 ms pieces with a 1 ms sleep between them, so the task is switched out and back
    // in often: the kernel starts a cgroup event's clock only when the cgroup is next scheduled
    // in on a CPU, which a task spinning alone on an idle CPU may not be for a long time.
    double total = std::atof(arg.c_str());
    for (double done = 0; done < total; done += 0.005) {
      spin(0.005);
      usleep(1000);
    }
    return 0;
  }
  if (what == "spin2threads") {
    std::thread t([&] { spin(std::atof(arg.c_str())); });
    spin(std::atof(arg.c_str()));
    t.join();
    return 0;
  }
  if (what == "forkspin") {  // a forked child and the parent spin at the same time
    pid_t pid = fork();
    spin(std::atof(arg.c_str()));
    if (pid == 0) _exit(0);
    int st;
    waitpid(pid, &st, 0);
    return 0;
  }
  if (what == "exit") return std::atoi(arg.c_str());
  if (what == "raise") {
    signal(std::atoi(arg.c_str()), SIG_DFL);
    raise(std::atoi(arg.c_str()));
    return 99;
  }
  if (what == "sleep") {
    std::this_thread::sleep_for(std::chrono::duration<double>(std::atof(arg.c_str())));
    return 0;
  }
  if (what == "getppid") {  // exactly N getppid system calls, for the syscalls tracepoints
    long n = std::atol(arg.c_str());
    for (long i = 0; i < n; ++i) syscall(SYS_getppid);
    return 0;
  }
  if (what == "ignoreterm") {  // sleeps, deaf to SIGTERM: only SIGKILL ends it early
    signal(SIGTERM, SIG_IGN);
    std::this_thread::sleep_for(std::chrono::duration<double>(std::atof(arg.c_str())));
    return 0;
  }
  return 98;
}

// CPU time of the whole process so far: across exec, so it includes what the process spent
// before it exec'd this binary (a measuring parent's code between fork and exec).
double process_cpu_now_s() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
}

}  // namespace

int main(int argc, char** argv) {
  if (const char* spec = std::getenv("PMC_TEST_CHILD")) {
    // PMC_TEST_CHILD_CPU_FILE: the child appends the CPU time it had used when main began, an
    // upper bound of what a counter enabled at exec can have missed.
    double before_main_s = process_cpu_now_s();
    int rc = child_main(spec);
    if (const char* file = std::getenv("PMC_TEST_CHILD_CPU_FILE"))
      std::ofstream(file, std::ios::app) << before_main_s << "\n";
    return rc;
  }
  doctest::Context context(argc, argv);
  return context.run();
}
