#pragma once
// Checks of numeric options that say what was expected. CLI::PositiveNumber and
// CLI::NonNegativeNumber let nan and inf through (nan compares false with their bounds) and print
// their upper bound, DBL_MAX, as a 309-digit number when they refuse a value.
#include <CLI/CLI.hpp>

namespace pmc::cli {

// A finite number > 0.
CLI::Validator positive_number();
// A finite number ≥ 0.
CLI::Validator non_negative_number();

// A value that is not empty: an empty one reads as the option not given (no cgroup, every CPU,
// no file), so `--json "$OUT"` with OUT unset would write nothing and exit 0, and `-G ""` would
// count the default workload. `expected` names what was expected ("a file name").
CLI::Validator not_empty(std::string expected);

}  // namespace pmc::cli
