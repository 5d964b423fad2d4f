// The number checks of options (commands.h): a message a person reads, not a range to DBL_MAX.
#include <cmath>
#include <optional>
#include <string>

#include "cli/commands.h"

namespace pmc::cli {
namespace {

// The value of `text` when all of it is one finite number.
std::optional<double> whole_number(const std::string& text) {
  size_t used = 0;
  double v = NAN;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (used != text.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

}  // namespace

CLI::Validator positive_number() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        auto v = whole_number(text);
        return v && *v > 0 ? "" : "expected a positive number, got '" + text + "'";
      },
      "POSITIVE", "positive number");
}

CLI::Validator non_negative_number() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        auto v = whole_number(text);
        return v && *v >= 0 ? "" : "expected a number ≥ 0, got '" + text + "'";
      },
      "NONNEGATIVE", "non-negative number");
}

}  // namespace pmc::cli
