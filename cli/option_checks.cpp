#include "cli/option_checks.h"

#include <cmath>
#include <string>

namespace pmc::cli {
namespace {

CLI::Validator finite_number(bool zero_allowed) {
  const char* expected = zero_allowed ? "a finite number ≥ 0" : "a finite number > 0";
  return CLI::Validator(
      [zero_allowed, expected](std::string& text) -> std::string {
        double v = 0;
        if (!CLI::detail::lexical_cast(text, v) || !std::isfinite(v) || v < 0 ||
            (v == 0 && !zero_allowed))
          return std::string("expected ") + expected + ", found '" + text + "'";
        return {};
      },
      zero_allowed ? "NUMBER ≥ 0" : "NUMBER > 0");
}

}  // namespace

CLI::Validator positive_number() {
  return finite_number(false);
}

CLI::Validator non_negative_number() {
  return finite_number(true);
}

CLI::Validator not_empty(std::string expected) {
  return CLI::Validator(
      [expected](std::string& text) -> std::string {
        return text.empty() ? "expected " + expected + ", found an empty value" : "";
      },
      "");
}

}  // namespace pmc::cli
