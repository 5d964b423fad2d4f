// pmcmodel predict: a model file applied to a CSV table: every input row with the prediction,
// its 90% interval and an out-of-range flag; the errors when the table has the target column.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/model_report.h"
#include "cli/output.h"
#include "events/text/text.h"
#include "models/fit/dataset.h"
#include "models/fit/prediction_table.h"

namespace pmc::cli {
namespace {

struct PredictOptions {
  std::string model;
  std::string data;
  std::string csv;
};

// The header and data lines of a CSV file exactly as written, with the rule Dataset uses to skip
// blank and `#` lines, so that line i here is row i of the loaded dataset.
std::vector<std::string> table_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CommandError(path + ": cannot open the file");
  std::vector<std::string> lines;
  std::string line;
  for (bool first = true; std::getline(in, line); first = false) {
    if (first) line.erase(0, line.size() - without_bom(line).size());
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos || line.front() == '#') continue;
    lines.push_back(line);
  }
  return lines;
}

std::string cell(double v) {
  return fmt::format("{}", v);
}

// Which band predicted how many rows, and the rows of bands without a model that the pooled model
// predicted instead.
std::string format_band_use(const Model& model, const Prediction& p,
                            const PredictionSummary& summary) {
  if (!summary.band_use) return "note: " + p.band_note + "\n";
  const BandUse& use = *summary.band_use;
  std::string out;
  for (size_t b = 0; b < model.bands.size(); ++b) {
    if (use.by_band_model[b])
      out += fmt::format("band {} of {}: {} rows by its own model\n", b, model.band_column,
                         use.by_band_model[b]);
    if (use.by_pooled_model[b])
      out += fmt::format("band {} of {}: {} rows by the pooled model ({})\n", b, model.band_column,
                         use.by_pooled_model[b], model.bands[b].reason);
  }
  return out;
}

// The fields of a CSV line as written (quotes kept), split at the commas outside quotes.
std::vector<std::string_view> raw_fields(std::string_view line) {
  std::vector<std::string_view> out;
  bool quoted = false;
  size_t start = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '"') quoted = !quoted;
    if (line[i] == ',' && !quoted) out.push_back(line.substr(start, i - start)), start = i + 1;
  }
  out.push_back(line.substr(start));
  return out;
}

// `line` without the fields at `drop` (ascending).
std::string without_fields(std::string_view line, const std::vector<size_t>& drop) {
  if (drop.empty()) return std::string(line);
  auto fields = raw_fields(line);
  std::string out;
  bool first = true;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (std::binary_search(drop.begin(), drop.end(), i)) continue;
    if (!first) out += ',';
    out += fields[i];
    first = false;
  }
  return out;
}

// Every input line as written, followed by the prediction, its interval, the range flag and,
// for a banded model, the band. The columns of an earlier prediction of the same target (the
// input is predict's own output) are left out of the input, so that they are replaced, not
// repeated.
std::string format_predicted_rows(const std::string& path, const Model& model, const Prediction& p,
                                  const Dataset& data) {
  auto lines = table_lines(path);
  if (lines.size() != data.rows() + 1)
    throw CommandError(
        fmt::format("{}: expected {} data lines, found {}", path, data.rows(), lines.size() - 1));
  bool banded = !model.bands.empty();
  std::vector<std::string> added = {"predicted_" + model.target, "lower_" + model.target,
                                    "upper_" + model.target, "out_of_range"};
  if (banded) added.push_back("band");
  std::vector<size_t> drop;
  auto header = raw_fields(lines[0]);
  for (size_t i = 0; i < header.size(); ++i)
    if (std::find(added.begin(), added.end(), header[i]) != added.end()) drop.push_back(i);
  std::string out = without_fields(lines[0], drop) + "," + join(added, ",") + "\n";
  for (size_t r = 0; r < data.rows(); ++r) {
    out += fmt::format("{},{},{},{},{}", without_fields(lines[r + 1], drop), cell(p.value[r]),
                       cell(p.lower[r]), cell(p.upper[r]), p.out_of_range[r] ? 1 : 0);
    if (banded) out += p.band[r] >= 0 ? fmt::format(",{}", p.band[r]) : std::string(",pooled");
    out += "\n";
  }
  return out;
}

// The errors on rows that have the target, and how many of them the interval covers, inside and
// outside the training range.
std::string format_errors(const Model& model, const PredictionCheck& c) {
  const auto& e = c.errors;
  std::string report = fmt::format(
      "errors on these rows: MAPE {:.2f}%  RMSE {:.4g}  R² {:.4f}  (MedAE {:.4g}, {} rows)\n",
      e.mape_percent, e.rmse, e.r2, e.medae, e.n);
  report += fmt::format("{:g}% interval covers {} of {} rows ({:.1f}%)", model.interval.level * 100,
                        c.covered, c.rows, 100.0 * double(c.covered) / double(c.rows));
  if (c.out_of_range > 0 && c.out_of_range < c.rows)
    report += fmt::format(
        "; {} of {} rows in the training range ({:.1f}%), {} of {} outside it "
        "({:.1f}%{})",
        c.covered - c.out_of_range_covered, c.rows - c.out_of_range,
        100.0 * double(c.covered - c.out_of_range_covered) / double(c.rows - c.out_of_range),
        c.out_of_range_covered, c.out_of_range,
        100.0 * double(c.out_of_range_covered) / double(c.out_of_range),
        model.clip_out_of_range ? ", clipped, interval widened" : "");
  if (c.without_target > 0)
    report += fmt::format("; {} rows without a {} value (an empty cell) are predicted and left out",
                          c.without_target, model.target);
  return report + "\n";
}

// The warning for rows outside the training range, with how many each feature put there; empty
// when none is.
std::string format_range_warning(const Model& model, const Prediction& p, size_t flagged,
                                 size_t rows) {
  if (flagged == 0) return "";
  std::string report = fmt::format(
      "warning: {} of {} rows are outside the training range (column out_of_range = 1):", flagged,
      rows);
  for (size_t i = 0; i < model.terms.size(); ++i)
    if (p.out_of_range_by_term[i] > 0)
      report += fmt::format(" {} {}", model.terms[i].spec.name, p.out_of_range_by_term[i]);
  std::string inputs;
  for (size_t i = 0; i < model.inputs.size() && i < p.out_of_range_by_input.size(); ++i)
    if (p.out_of_range_by_input[i] > 0)
      inputs += fmt::format(" {} {}", model.inputs[i].column, p.out_of_range_by_input[i]);
  if (!inputs.empty()) report += "; input columns:" + inputs;
  if (model.clip_out_of_range)
    report +=
        "; those features were clipped to the training range and the interval widened by "
        "what the unclipped values would have added and by how far clipping the inputs moves "
        "the prediction";
  return report + "\n";
}

int run_predict(const PredictOptions& o) {
  Model model = read_model(o.model);
  auto columns = prediction_columns(model, Dataset::preview_csv(o.data));
  Dataset data = Dataset::load_csv(o.data, columns.csv);
  Prediction p = predict(model, data);
  std::string out = format_predicted_rows(o.data, model, p, data);
  PredictionSummary summary = summarize_prediction(model, p, data, columns.has_target);

  std::string report =
      fmt::format("predict: {} rows of {} with {} ({} {}, CV MAPE {:.2f}%)\n", data.rows(), o.data,
                  o.model, model.target, model.solver, model.cv.errors.mape_percent);
  if (summary.check) report += format_errors(model, *summary.check);
  if (!model.bands.empty()) report += format_band_use(model, p, summary);
  report += format_range_warning(model, p, summary.out_of_range_rows, data.rows());
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

Runner add_predict(CLI::App& app) {
  auto o = std::make_shared<PredictOptions>();
  auto* cmd = app.add_subcommand(
      "predict", "Apply a model file to a CSV table: prediction, 90% interval, range flag");
  cmd->add_option("--model", o->model, "Model file (pmcmodel.model/1) from fit or calibrate")
      ->required();
  cmd->add_option("--data", o->data, "CSV table with the model's input columns")->required();
  cmd->add_option("--csv", o->csv, "Write the rows here (default: stdout)");
  cmd->footer(
      "Output: the input columns, then predicted_<target>, lower_<target>, upper_<target> (90%\n"
      "prediction interval from held-out residuals) and out_of_range (1 when a feature is outside\n"
      "its training range). With the target column present, MAPE, RMSE and R² go to stderr.\n"
      "Example:\n"
      "  pmcmodel predict --model pkg.json --data later.csv --csv predicted.csv");
  return [o] {
    try {
      return run_predict(*o);
    } catch (const CommandError&) {
      throw;
    } catch (const std::runtime_error& e) {
      throw CommandError(e.what());
    }
  };
}

}  // namespace pmc::cli
