// pmcmodel: count a workload's hardware events and power, and model them.
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/failsafe.h"
#include "cli/option_checks.h"
#include "cli/output.h"
#include "events/text/input_file.h"
#include "pmcmodel_version.h"

// mimalloc (when the executable is linked with it) aborts on a failed `new` without asking the
// new-handler from its shared library; its error callback is told first, so out of memory is
// reported there. A weak reference: null when glibc's malloc is the allocator.
extern "C" void mi_register_error(void (*fun)(int err, void* arg), void* arg) __attribute__((weak));

namespace {

void on_allocator_error(int err, void*) {
  if (err == ENOMEM) pmc::cli::exit_out_of_memory();
}

std::string one_line(std::string text) {
  for (auto& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

// Every command on `app`, with the function that runs each.
std::map<CLI::App*, pmc::cli::Runner> register_commands(CLI::App& app) {
  std::map<CLI::App*, pmc::cli::Runner> runners;
  auto reg = [&](pmc::cli::Runner (*add)(CLI::App&)) {
    size_t before = app.get_subcommands({}).size();
    auto run = add(app);
    runners[app.get_subcommands({})[before]] = std::move(run);
  };
  reg(pmc::cli::add_measure);
  reg(pmc::cli::add_list);
  reg(pmc::cli::add_doctor);
  reg(pmc::cli::add_workload);
  reg(pmc::cli::add_report);
  reg(pmc::cli::add_import);
  reg(pmc::cli::add_calibrate);
  reg(pmc::cli::add_fit);
  reg(pmc::cli::add_predict);
  reg(pmc::cli::add_compare);
  reg(pmc::cli::add_sku_curve);
  reg(pmc::cli::add_serve);
  return runners;
}

// Parses argv. Returns the exit status when parsing ends the program (help, version, a usage
// error), nullopt when a command is to run.
std::optional<int> parse(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    std::fputs(app.help("", CLI::AppFormatMode::All).c_str(), stdout);
    return 0;
  } catch (const CLI::CallForVersion& e) {
    std::puts(e.what());
    return 0;
  } catch (const CLI::ParseError& e) {
    // Help of a subcommand (`measure --help`) also arrives here, as CallForHelp on that app.
    if (e.get_exit_code() == 0) {
      for (auto* sub : app.get_subcommands({}))
        if (sub->parsed()) {
          std::fputs(sub->help().c_str(), stdout);
          return 0;
        }
      std::fputs(app.help().c_str(), stdout);
      return 0;
    }
    std::fprintf(stderr, "pmcmodel: %s (see 'pmcmodel help')\n", one_line(e.what()).c_str());
    return int(pmc::cli::ExitStatus::usage);
  }
  return std::nullopt;
}

// `pmcmodel help [COMMAND]`.
int run_help(CLI::App& app, const std::string& topic) {
  if (topic.empty()) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  }
  for (auto* sub : app.get_subcommands({}))
    if (sub->get_name() == topic) {
      std::fputs(sub->help(app.get_name()).c_str(), stdout);
      return 0;
    }
  std::fprintf(stderr, "pmcmodel: unknown command '%s' (see 'pmcmodel help')\n", topic.c_str());
  return int(pmc::cli::ExitStatus::usage);
}

// Runs one command: its errors become one line on stderr and their exit status
// (pmc::cli::ExitStatus).
int run_command(const std::string& name, const pmc::cli::Runner& run) {
  pmc::cli::install_failsafe(name);
  if (mi_register_error != nullptr) mi_register_error(on_allocator_error, nullptr);
  try {
    int status = run();
    pmc::cli::finish_standard_output();
    pmc::cli::die_of_deferred_signal();
    return status;
  } catch (const pmc::cli::CommandError& e) {
    std::fprintf(stderr, "pmcmodel %s: %s\n", name.c_str(), one_line(e.what()).c_str());
    return e.exit_code;
  } catch (const pmc::InputError& e) {
    std::fprintf(stderr, "pmcmodel %s: %s\n", name.c_str(), one_line(e.what()).c_str());
    return int(pmc::cli::ExitStatus::usage);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pmcmodel %s: %s\n", name.c_str(), one_line(e.what()).c_str());
    return int(pmc::cli::ExitStatus::environment);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"pmcmodel: hardware performance counters, power and cost of a workload", "pmcmodel"};
  app.set_version_flag("--version", std::string("pmcmodel ") + PMCMODEL_VERSION);
  app.require_subcommand(0, 1);
  app.footer(
      "Examples:\n"
      "  pmcmodel measure                      count the embedded default workload\n"
      "  pmcmodel measure -- make -j2          count a command (threads and children included)\n"
      "  pmcmodel measure -e cycles,instructions -I 500 --json run.json -- ./app\n"
      "  pmcmodel list                         PMUs and events of this machine\n"
      "  pmcmodel doctor                       what can be counted here, and the fixes\n"
      "  pmcmodel help measure                 help of one command");
  auto runners = register_commands(app);
  // An option of every command (given before or after the command's name): the readers' input
  // limit (docs/security.md).
  uint64_t max_input_bytes = pmc::kDefaultMaxInputBytes;
  app.add_option("--max-input-bytes", max_input_bytes,
                 "Refuse input files larger than this (default 1 GiB)")
      ->check(pmc::cli::positive_number());
  for (auto* sub : app.get_subcommands({})) sub->fallthrough();
  auto* help = app.add_subcommand("help", "Show help for pmcmodel or one of its commands");
  std::string help_topic;
  help->add_option("command", help_topic, "Command to describe");

  if (auto status = parse(app, argc, argv)) return *status;
  if (help->parsed()) return run_help(app, help_topic);
  for (auto& [sub, run] : runners)
    if (sub->parsed()) {
      pmc::set_max_input_bytes(max_input_bytes);
      return run_command(sub->get_name(), run);
    }
  std::fputs(app.help().c_str(), stdout);
  return 0;
}
