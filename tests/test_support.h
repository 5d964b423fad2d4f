#pragma once
// Helpers shared by tests: the test binary as a child command, running pmcmodel.
#include <string>
#include <vector>

namespace pmc::test {

// argv that re-executes this test binary doing `spec` (see test_main.cpp), via env.
std::vector<std::string> child_command(const std::string& spec);

struct ProcessResult {
  int exit_code = -1;  // 128+N when killed by signal N
  std::string out;
  std::string err;
};

// Runs argv with extra environment entries ("NAME=value"), capturing stdout and stderr.
ProcessResult run_process(const std::vector<std::string>& argv,
                          const std::vector<std::string>& env = {},
                          double send_sigint_after_s = -1);

// argv for the pmcmodel binary under test with `args`.
std::vector<std::string> pmcmodel(std::vector<std::string> args);

std::string read_file(const std::string& path);

// Steal time of the whole machine so far, in seconds: the "steal" field of /proc/stat's cpu line
// (0 when unreadable). On a VM, perf's task-clock counts the time the hypervisor took from a
// running task (it reads the task's clock, local_clock), while the kernel's rusage does not (with
// steal accounting, sum_exec_runtime runs on the rq's clock_task, which excludes steal): tests
// that compare the two allow the steal that happened during the run.
double machine_steal_s();

}  // namespace pmc::test
