#pragma once
// Each subcommand registers itself on the root app and returns the function that runs it.
#include <CLI/CLI.hpp>

#include <functional>
#include <stdexcept>

namespace pmc::cli {

using Runner = std::function<int()>;

// An error that stops a command: one line on stderr and this exit code (2 = bad input/usage).
struct CommandError : std::runtime_error {
  CommandError(const std::string& what, int code = 2) : std::runtime_error(what), exit_code(code) {}
  int exit_code;
};

Runner add_measure(CLI::App& app);
Runner add_list(CLI::App& app);
Runner add_doctor(CLI::App& app);
Runner add_workload(CLI::App& app);
Runner add_report(CLI::App& app);
Runner add_import(CLI::App& app);
// Calibrated models (issue 5): calibrate, fit, predict.
Runner add_calibrate(CLI::App& app);
Runner add_fit(CLI::App& app);
Runner add_predict(CLI::App& app);
// Machine and SKU comparison with recommendations (issue 6).
Runner add_compare(CLI::App& app);
// A server's power curve from its specifications (SPEC result-table columns).
Runner add_sku_curve(CLI::App& app);
// A Prometheus exporter of energy and per-cgroup attribution.
Runner add_serve(CLI::App& app);

}  // namespace pmc::cli
