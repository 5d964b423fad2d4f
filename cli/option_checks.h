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

}  // namespace pmc::cli
