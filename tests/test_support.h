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
ProcessResult run_process(const std::vector<std::string>& argv, const std::vector<std::string>& env = {},
                          double send_sigint_after_s = -1);

// argv for the pmcmodel binary under test with `args`.
std::vector<std::string> pmcmodel(std::vector<std::string> args);

std::string read_file(const std::string& path);

}  // namespace pmc::test
