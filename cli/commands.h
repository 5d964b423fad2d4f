#pragma once
// Each subcommand registers itself on the root app and returns the function that runs it.
#include <CLI/CLI.hpp>

#include <functional>
#include <stdexcept>

namespace pmc::cli {

using Runner = std::function<int()>;

// pmcmodel's exit statuses, in one place (docs/formats.md, "Exit status"). A command that runs
// another program (measure -- CMD) exits with that program's status instead, 128+N when a signal
// N ended it, and 126/127 when it could not be started (as a shell does).
enum class ExitStatus : int {
  ok = 0,
  // The environment failed: a counter, file or port the machine refused, a write that failed,
  // nothing could be counted, a workload that could not run.
  environment = 1,
  // Bad usage or input, found before anything runs where it can be: an unknown option, event or
  // metric, a malformed input file (FILE:LINE), an output folder that does not exist.
  usage = 2,
};

// An error that stops a command: one line on stderr and its exit status.
struct CommandError : std::runtime_error {
  CommandError(const std::string& what, ExitStatus status = ExitStatus::usage)
      : std::runtime_error(what), exit_code(int(status)) {}
  // A status that is not pmcmodel's own (a command's 126/127).
  CommandError(const std::string& what, int code) : std::runtime_error(what), exit_code(code) {}
  int exit_code;
};

// Checks of a number option that say what they expect in words: CLI11's PositiveNumber and
// NonNegativeNumber are ranges whose message prints their upper bound, DBL_MAX, in 309 digits.
// The text must be a whole finite number ("1e3" allowed, "3x" and "nan" not).
CLI::Validator positive_number();
CLI::Validator non_negative_number();

Runner add_measure(CLI::App& app);
Runner add_list(CLI::App& app);
Runner add_doctor(CLI::App& app);
Runner add_workload(CLI::App& app);
Runner add_report(CLI::App& app);
Runner add_import(CLI::App& app);
// Calibrated models: calibrate, fit, predict.
Runner add_calibrate(CLI::App& app);
Runner add_fit(CLI::App& app);
Runner add_predict(CLI::App& app);
// Machine and SKU comparison with recommendations.
Runner add_compare(CLI::App& app);
// A server's power curve from its specifications (SPEC result-table columns).
Runner add_sku_curve(CLI::App& app);
// A Prometheus exporter of energy and per-cgroup attribution.
Runner add_serve(CLI::App& app);

}  // namespace pmc::cli
