// pmcmodel import: perf stat recordings (text, -x CSV, -j JSON, -I intervals) into measurement
// documents, with pmcmodel's derived metrics beside the ones perf printed.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "commands.h"
#include "derived_metrics.h"
#include "import_perfstat.h"
#include "measure_metrics.h"
#include "measurement_io.h"
#include "output.h"

namespace pmc::cli {
namespace {

struct ImportCliOptions {
  std::vector<std::string> files;
  std::string json_path;
  std::string format = "auto";
  bool lenient = false;
  std::string cpu_model;  // --cpu: the metric file for the recording's CPU
};

// The metric engine's files: generic.json (perf stat's own ratios, top-down from topdown-*
// events) and the --cpu file. Without --cpu a missing data directory falls back to
// derive_metrics rather than refusing the import.
std::optional<LoadedMetrics> import_metrics(const ImportCliOptions& o) {
  try {
    return load_metrics(o.cpu_model, MachineInfo{});
  } catch (const CommandError&) {
    if (!o.cpu_model.empty()) throw;
    return std::nullopt;
  }
}

PerfStatFormat parse_format(const std::string& f) {
  if (f == "text") return PerfStatFormat::text;
  if (f == "csv") return PerfStatFormat::csv;
  if (f == "json") return PerfStatFormat::json;
  return PerfStatFormat::automatic;
}

std::string read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CommandError(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Measurement import_one(const std::string& path, const ImportCliOptions& o,
                       const std::optional<LoadedMetrics>& metrics) {
  ImportOptions options;
  options.format = parse_format(o.format);
  options.lenient = o.lenient;
  ImportResult r;
  try {
    r = import_perf_stat(read_whole(path), path, options);
  } catch (const ImportError& e) {
    throw CommandError(e.what());
  }
  for (const auto& s : r.skipped) std::fprintf(stderr, "pmcmodel import: skipped %s\n", s.c_str());
  Measurement& m = r.measurement;
  if (metrics) {
    apply_metric_engine(m, metrics->set, available_selection(metrics->set, import_metric_groups()));
  } else {
    m.metrics = derive_metrics(m.events, m.duration_s);
    for (auto& iv : m.intervals) iv.metrics = derive_metrics(iv.events, iv.duration_s);
    m.notes.push_back("metric files not found under " + metrics_dir().string() +
                      ": only perf stat's generic ratios were derived");
  }
  return std::move(m);
}

int run_import(const ImportCliOptions& o) {
  // Every input is read and checked before anything is written.
  std::vector<Measurement> docs;
  auto metrics = import_metrics(o);
  for (const auto& f : o.files) docs.push_back(import_one(f, o, metrics));
  if (o.json_path.empty()) {
    for (const auto& m : docs) std::fputs(format_table(m).c_str(), stdout);
    return 0;
  }
  if (docs.size() == 1) {
    write_file_atomically(o.json_path, measurement_to_json(docs[0]));
    return 0;
  }
  // Several inputs: --json names a directory that receives <input name>.json for each.
  std::error_code ec;
  std::filesystem::create_directories(o.json_path, ec);
  if (!std::filesystem::is_directory(o.json_path))
    throw CommandError(o.json_path + ": with several inputs, --json must name a directory");
  for (size_t i = 0; i < docs.size(); ++i) {
    auto name = std::filesystem::path(o.files[i]).filename().string() + ".json";
    write_file_atomically((std::filesystem::path(o.json_path) / name).string(),
                          measurement_to_json(docs[i]));
  }
  return 0;
}

}  // namespace

Runner add_import(CLI::App& app) {
  auto o = std::make_shared<ImportCliOptions>();
  auto* cmd =
      app.add_subcommand("import", "Import perf stat recordings (text, CSV, JSON, intervals)");
  cmd->add_option("files", o->files, "perf stat outputs")->required();
  cmd->add_option("--json", o->json_path,
                  "Write the measurement document (- = stdout); a directory for several inputs");
  cmd->add_option("--format", o->format, "auto (default), text, csv (-x SEP) or json (-j)")
      ->check(CLI::IsMember({"auto", "text", "csv", "json"}));
  cmd->add_flag("--lenient", o->lenient,
                "Import the good part of a damaged file, listing what was skipped");
  cmd->add_option("--cpu", o->cpu_model,
                  "CPU the recording was made on (skylake, icelake, spr, zen4, neoverse-n2…): "
                  "derive its metric file's metrics too (docs/metrics.md)");
  cmd->footer(
      "Examples:\n"
      "  perf stat -o run.txt -- ./app && pmcmodel import run.txt --json run.json\n"
      "  pmcmodel import -- fleet/*.csv --json imported/      one document per file\n"
      "  pmcmodel import --format csv --lenient damaged.txt   the readable part, skips listed\n"
      "Exit status: 2 with 'FILE:LINE: what was expected' for input that is not a perf stat "
      "recording.");
  return [o] { return run_import(*o); };
}

}  // namespace pmc::cli
