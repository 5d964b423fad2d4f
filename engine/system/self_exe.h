#pragma once
// The running executable's path, for re-running pmcmodel itself (built-in workloads, calibration
// steps) and for finding files installed beside it.
#include <filesystem>
#include <string>

namespace pmc {

// /proc/self/exe resolved; empty when it cannot be read (no procfs).
std::filesystem::path self_executable();
// The same as a string, or `fallback` (a name for PATH to find) when it cannot be read.
std::string self_executable_or(std::string fallback);

}  // namespace pmc
