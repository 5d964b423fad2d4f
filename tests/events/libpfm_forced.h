#pragma once
// libpfm4 under a forced CPU table. libpfm reads LIBPFM_FORCE_PMU once, in pfm_initialize(), and
// keeps the table it detected for the host active across pfm_terminate(), so each forced
// resolution runs in a fresh process (test_support.h's child bodies), never in a fork of a test
// process that has initialised libpfm.
#include <string>
#include <vector>

#include "test_support.h"

namespace pmc::test {

// Runs the child body `body` with LIBPFM_FORCE_PMU=`forced`, or with the variable removed when
// `forced` is null (libpfm then detects the host's table).
inline std::string run_forced(const char* forced, const std::string& body,
                              const std::string& input = "") {
  std::vector<std::string> env = {forced != nullptr ? std::string("LIBPFM_FORCE_PMU=") + forced
                                                    : std::string("LIBPFM_FORCE_PMU")};
  return run_child_body(body, input, env);
}

}  // namespace pmc::test
