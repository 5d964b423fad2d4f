// pmcmodel report: the human table of a stored measurement document.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include "cli/commands.h"
#include "cli/output.h"
#include "events/document/measurement_io.h"
#include "events/text/input_file.h"

namespace pmc::cli {

Runner add_report(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("report", "Print the table of a measurement document (JSON)");
  cmd->add_option("file", *path, "Measurement document written by measure --json or import")
      ->required();
  cmd->footer("Examples:\n  pmcmodel measure --json run.json -- ./app && pmcmodel report run.json");
  return [path] {
    // Refuses a directory, FIFO or device before reading, and a file over the input limit.
    std::string text = read_input_file(*path);
    try {
      auto m = measurement_from_json(text, *path);
      std::fputs(format_table(m).c_str(), stdout);
    } catch (const FormatError& e) {
      throw CommandError(e.what());
    }
    return 0;
  };
}

}  // namespace pmc::cli
