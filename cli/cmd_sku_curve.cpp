// pmcmodel sku-curve: a server's wall power at active idle and 10 %, …, 100 % load from the
// columns of SPEC's result table, by the model shipped in data/sku_curve.json.
#include <cstdio>
#include <cstdlib>
#include <memory>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/output.h"
#include "events/text/catalog_csv.h"
#include "models/fleet/sku_curve.h"
#include "models/shipped/shipped_tables.h"
#include "pmcmodel_version.h"

namespace pmc::cli {
namespace {

struct SkuCurveOptions {
  std::string specs;
  std::string csv;
  std::string model;
  std::string cpus;
  bool holdout = false;
};

std::string data_dir() {
  if (const char* dir = std::getenv("PMCMODEL_DATA_DIR"); dir != nullptr && *dir != '\0')
    return dir;
  return PMCMODEL_DATA_DIR;
}

// A field written back: quoted when it holds a comma, a quote or a line break.
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string watts(double w) {
  return fmt::format("{:.1f}", w);
}

int run_sku_curve(const SkuCurveOptions& o) {
  std::string dir = data_dir();
  SkuCurveModel model = SkuCurveModel::load(o.model.empty() ? dir + "/sku_curve.json" : o.model);
  if (o.holdout) model = model.holdout_model();
  CpuFactsTable cpus = load_cpu_facts(o.cpus.empty() ? dir + "/cpu_facts.csv" : o.cpus);
  SpecsTable table = read_specs_csv(read_catalog_file(o.specs), o.specs);

  std::string out;
  for (size_t c = 0; c < table.columns.size(); ++c)
    out += (c ? "," : "") + csv_field(table.columns[c]);
  out += ",idle_watts";
  for (int p = 10; p <= 100; p += 10) out += fmt::format(",watts_{}", p);
  out += ",idle_lower,idle_upper,watts_100_lower,watts_100_upper,method\n";

  std::string report;
  size_t unusable = 0, by_tdp = 0, by_cores = 0;
  for (const auto& row : table.rows) {
    for (size_t c = 0; c < row.fields.size(); ++c) out += (c ? "," : "") + csv_field(row.fields[c]);
    std::string reason = row.reason;
    if (row.specs) {
      try {
        auto e = model.estimate(*row.specs, cpus);
        for (double w : e.watts) out += "," + watts(w);
        out += fmt::format(",{},{},{},{},{}\n", watts(e.idle_lower), watts(e.idle_upper),
                           watts(e.watts_100_lower), watts(e.watts_100_upper), csv_field(e.method));
        (e.method_name == "tdp" ? by_tdp : by_cores)++;
        continue;
      } catch (const std::invalid_argument& e) {
        reason = e.what();
      }
    }
    ++unusable;
    out += std::string(kPowerCurvePoints + 4, ',') + csv_field("unusable: " + reason) + "\n";
    report += fmt::format("{}:{}: not estimated: {}\n", o.specs, row.line, reason);
  }
  report += fmt::format(
      "sku-curve: {} rows: {} by TDP, {} by cores (CPU, or a fact the TDP method needs, not in "
      "the CPU facts table), {} unusable; "
      "model fitted on SPECpower results published {} to {}{}\n",
      table.rows.size(), by_tdp, by_cores, unusable, model.trained_from(), model.trained_to(),
      o.holdout ? " (hold-out coefficients: fitted before the hold-out date only)" : "");
  if (o.csv.empty() || o.csv == "-") {
    std::fputs(out.c_str(), stdout);
  } else {
    write_file_atomically(o.csv, out);
    report += fmt::format("wrote {}\n", o.csv);
  }
  std::fputs(report.c_str(), stderr);
  return 0;
}

}  // namespace

Runner add_sku_curve(CLI::App& app) {
  auto o = std::make_shared<SkuCurveOptions>();
  auto* cmd = app.add_subcommand(
      "sku-curve", "A server's wall power at idle, 10%..100% load from its specifications");
  cmd->add_option("--specs", o->specs,
                  "CSV with SPEC's result-table columns: CPU Description, Chips, # Cores, # Cores "
                  "Per Chip, # Threads Per Core, Processor MHz, Total Memory (GB) (others kept)")
      ->required();
  cmd->add_option("--csv", o->csv, "Write the rows here (default: stdout)");
  cmd->add_option("--model", o->model, "The model (default: the shipped data/sku_curve.json)");
  cmd->add_option("--cpus", o->cpus, "CPU facts table (default: the shipped data/cpu_facts.csv)");
  cmd->add_flag("--holdout", o->holdout,
                "Use the coefficients fitted before the hold-out date (to check the documented "
                "held-out error)");
  cmd->footer(
      "Output: the input columns, then idle_watts, watts_10 ... watts_100, idle_lower, "
      "idle_upper,\n"
      "watts_100_lower, watts_100_upper (90% of held-out SPECpower results fell in these bounds)\n"
      "and method. A row that cannot be estimated keeps empty figures and method 'unusable: why'.\n"
      "Example:\n"
      "  pmcmodel sku-curve --specs servers.csv --csv curves.csv");
  return [o] {
    try {
      return run_sku_curve(*o);
    } catch (const CommandError&) {
      throw;
    } catch (const std::runtime_error& e) {
      throw CommandError(e.what());
    }
  };
}

}  // namespace pmc::cli
