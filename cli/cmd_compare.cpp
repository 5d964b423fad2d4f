// pmcmodel compare: runs of one workload on different machines side by side (measured mode) and
// projected onto catalog SKUs (--skus), ranked by cost, time, energy or CO2, with recommendations.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/compare_svg.h"
#include "cli/option_checks.h"
#include "cli/output.h"
#include "engine/system/data_dir.h"
#include "events/document/measurement_io.h"
#include "events/metrics/derived_metrics.h"
#include "events/perfstat/import_perfstat.h"
#include "events/perfstat/run_file.h"
#include "events/text/catalog_csv.h"
#include "events/text/input_file.h"
#include "events/text/json_guard.h"
#include "events/text/text.h"
#include "models/fleet/compare_runs.h"
#include "models/fleet/comparison.h"
#include "models/fleet/comparison_document.h"
#include "models/fleet/gpu_projection.h"
#include "models/fleet/grid.h"
#include "models/fleet/projection.h"
#include "models/fleet/recommendations.h"
#include "models/fleet/sku_catalog.h"
#include "models/shipped/shipped_tables.h"
#include "pmcmodel_version.h"

namespace pmc::cli {
namespace {

using json = nlohmann::ordered_json;

// Rows of projected SKUs the table shows per workload when --top is not given.
constexpr size_t kTableProjectedRows = 20;

struct CompareCliOptions {
  std::vector<std::string> files;
  std::string skus_path;
  std::vector<std::string> sku_ids;
  std::string objective = "cost";
  double work = 0;
  std::vector<std::string> prices;
  std::optional<double> grid_intensity;
  std::string region;
  std::string label;
  std::string json_path, csv_path, svg_path;
  std::string rules_path = data_file("recommendations.json");
  std::optional<double> runs_per_month;
  size_t top = 0;
  std::optional<double> min_memory_gb;
  std::string gpu_catalog_path = data_file("gpus.csv");
  std::string measured_gpu;
  bool allow_failed = false;
};

// Refuses a directory, FIFO or device before reading, and a file over the input limit.
std::string read_whole(const std::string& path) {
  return read_input_file(path);
}

using LoadedRun = RunFile;

// A measurement document, or else a perf stat recording imported on the fly (read_run_file).
LoadedRun load_run(const std::string& path) {
  try {
    return read_run_file(read_whole(path), path);
  } catch (const RunFileError& e) {
    throw CommandError(e.what());
  }
}

// The request the options make.
CompareRequest compare_request(const CompareCliOptions& o) {
  CompareRequest r;
  r.objective = o.objective;
  r.work = o.work;
  r.prices = o.prices;
  r.grid_intensity = o.grid_intensity;
  r.region = o.region;
  r.sku_ids = o.sku_ids;
  r.projected = !o.skus_path.empty() || !o.sku_ids.empty();
  r.top = o.top;
  r.min_memory_gb = o.min_memory_gb;
  r.runs_per_month = o.runs_per_month;
  r.measured_gpu = o.measured_gpu;
  r.allow_failed = o.allow_failed;
  return r;
}

GridTable load_grid() {
  try {
    return GridTable::load(data_file("grid.csv"));
  } catch (const std::runtime_error& e) {
    throw CommandError(e.what());
  }
}

using Report = CompareReport;

std::string cell(const std::optional<double>& v, const char* spec) {
  return v ? fmt::format(fmt::runtime(spec), *v) : "-";
}

std::string to_table(const Report& r, size_t projected_limit) {
  std::string out;
  std::string current;
  size_t projected_shown = 0, projected_hidden = 0;
  auto flush_hidden = [&] {
    if (projected_hidden)
      out += fmt::format("  … {} more projected rows in --json/--csv (or --top N)\n",
                         projected_hidden);
    projected_hidden = 0;
  };
  for (const auto& row : r.comparison.rows) {
    if (row.workload != current) {
      flush_hidden();
      current = row.workload;
      projected_shown = 0;
      out += fmt::format("\nworkload: {}   objective: {}\n", current,
                         to_string(r.comparison.objective));
      out += fmt::format(
          "{:>4} {:<34} {:>10} {:>6} {:>9} {:>8} {:>17} {:>11} {:>9} {:>7} {:>5} {:>23} {:>5}  "
          "{}\n",
          "rank", "machine", "seconds", "±", "watts", "joules", "cost", "co2_g", "x_best", "ipc",
          "util", "ret/bad/fe/be %", "llc", "method");
    }
    if (row.kind == "projected" && projected_limit && projected_shown >= projected_limit) {
      ++projected_hidden;
      continue;
    }
    if (row.kind == "projected") ++projected_shown;
    std::string td = "-";
    if (row.tma_retiring && row.tma_bad_speculation && row.tma_frontend_bound &&
        row.tma_backend_bound)
      td = fmt::format("{:.0f}/{:.0f}/{:.0f}/{:.0f}", *row.tma_retiring * 100,
                       *row.tma_bad_speculation * 100, *row.tma_frontend_bound * 100,
                       *row.tma_backend_bound * 100);
    std::string name = row.machine.size() > 34 ? row.machine.substr(0, 33) + "~" : row.machine;
    out += fmt::format(
        "{:>4} {:<34} {:>10.4g} {:>5.0f}% {:>9} {:>8} {:>17} {:>11} {:>9} {:>7} {:>5} {:>23} {:>5} "
        " {}\n",
        row.rank ? std::to_string(*row.rank) : "-", name, row.duration_s,
        std::max(row.duration_uncertainty, row.uncertainty) * 100,
        cell(row.average_watts, "{:.4g}"), cell(row.joules, "{:.4g}"),
        row.cost_usd ? human_cost_usd(*row.cost_usd) : "-", cell(row.co2_g, "{:.4g}"),
        cell(row.ratio_to_best, "{:.3f}x"), cell(row.ipc, "{:.2f}"),
        row.utilisation ? fmt::format("{:.0f}%", *row.utilisation * 100) : "-", td,
        cell(row.llc_mpki, "{:.2f}"), row.method.empty() ? "-" : row.method);
    if (row.throughput_per_s)
      out += fmt::format("{:>4} {:<34} throughput {:.6g} units/s\n", "", "", *row.throughput_per_s);
    for (const auto& f : row.failed) out += fmt::format("{:>4} {:<34} FAILED RUN: {}\n", "", "", f);
    for (const auto& m : row.missing_inputs)
      out += fmt::format("{:>4} {:<34} missing: {}\n", "", "", m);
  }
  flush_hidden();
  if (!r.recommendations.empty()) {
    out += fmt::format("\nrecommendations (savings per month at {:g} runs/month):\n",
                       r.runs_per_month);
    for (const auto& rec : r.recommendations) {
      out += fmt::format("  {}. [{}] {}\n", rec.rank, rec.workload, rec.text);
      for (const auto& e : rec.evidence)
        out += e.op.empty()
                   ? fmt::format("       evidence: {} = {:.4g} ({})\n", e.metric, e.value, e.source)
                   : fmt::format("       evidence: {} = {:.4g} {} {:g} ({})\n", e.metric, e.value,
                                 e.op, e.threshold, e.source);
    }
  }
  for (const auto& n : r.comparison.notes) out += "note: " + n + "\n";
  return out;
}

SkuCatalog load_catalog(const std::string& path) {
  try {
    // A row without a published curve takes the shipped sku-curve model's.
    return load_sku_catalog(path, find_data_dir().path);
  } catch (const std::runtime_error& e) {
    throw CommandError(e.what());
  }
}

RecommendationRules load_rules(const std::string& path) {
  try {
    return RecommendationRules::load(path);
  } catch (const std::runtime_error& e) {
    throw CommandError(e.what());
  }
}

// Every run read and checked, with its workload assigned, as a profile to compare.
std::vector<RunProfile> load_profiles(const CompareCliOptions& o, std::vector<GpuRun>& gpu_runs) {
  std::vector<LoadedRun> loaded;
  std::vector<WorkloadClaim> claims;
  for (const auto& f : o.files) {
    loaded.push_back(load_run(f));
    claims.push_back({f, loaded.back().workload, join(loaded.back().measurement.command, " ")});
  }
  std::vector<std::string> workloads;
  try {
    workloads = assign_workloads(claims, o.label.empty() ? std::nullopt : std::optional(o.label));
  } catch (const ComparisonError& e) {
    throw CommandError(e.what());
  }
  std::vector<RunProfile> runs;
  for (size_t i = 0; i < loaded.size(); ++i) {
    runs.push_back(profile_run(loaded[i].measurement, o.files[i], workloads[i]));
    if (runs.back().machine == o.files[i])
      runs.back().machine = std::filesystem::path(o.files[i]).stem().string();
    if (loaded[i].measurement.duration_s <= 0)
      throw CommandError(o.files[i] + ": duration_s is not positive: nothing to compare");
    if (auto g = gpu_run(loaded[i].measurement, o.files[i], workloads[i]))
      gpu_runs.push_back(std::move(*g));
  }
  return runs;
}

// The GPU catalog: gpus.csv and gpu_instances.csv beside it; `measured_gpu` (--measured-gpu),
// when given, must be one of its rows.
GpuCatalog load_gpu_catalog(const std::string& path, const std::string& measured_gpu) {
  auto instances = (std::filesystem::path(path).parent_path() / "gpu_instances.csv").string();
  try {
    // The GPUs first: a --gpu-catalog that cannot be read is what the error names, not the
    // instances file looked for beside it.
    std::string gpus = read_catalog_file(path);
    std::string instance_rows;
    try {
      instance_rows = read_catalog_file(instances);
    } catch (const std::runtime_error& e) {
      throw std::runtime_error(fmt::format(
          "{} (the GPU instances, read from the folder of the GPU catalog {})", e.what(), path));
    }
    GpuCatalog catalog = GpuCatalog::parse(gpus, path, instance_rows, instances);
    if (!measured_gpu.empty() && !catalog.find(measured_gpu))
      throw std::runtime_error(
          fmt::format("--measured-gpu {}: no row of {} has that id (its first column, such as {})",
                      measured_gpu, path, catalog.gpus().front().id));
    return catalog;
  } catch (const std::runtime_error& e) {
    throw CommandError(e.what());
  }
}

std::string gpu_table(const std::vector<GpuRanking>& rankings, size_t limit) {
  std::string out;
  for (const auto& r : rankings) {
    if (r.rows.empty()) continue;
    out +=
        fmt::format("\nGPU ranking: {}   objective: {}   ({} GPU{} of {})\n", r.run.workload,
                    to_string(r.objective), r.run.gpus, r.run.gpus == 1 ? "" : "s", r.source->id);
    out += fmt::format("{:>4} {:<30} {:<8} {:>10} {:>6} {:>9} {:>10} {:>17} {:>9}  {}\n", "rank",
                       "gpu / instance", "kind", "seconds", "±", "W/gpu", "joules", "cost", "co2_g",
                       "method");
    size_t shown = 0;
    for (const auto& p : r.rows) {
      if (limit && shown++ >= limit) break;
      out += fmt::format(
          "{:>4} {:<30} {:<8} {:>10.4g} {:>5.0f}% {:>9.4g} {:>10.4g} {:>17} {:>9}  {}\n",
          p.rank ? std::to_string(*p.rank) : "-", p.target, p.kind, p.duration_s,
          p.duration_uncertainty * 100, p.watts_per_gpu, p.joules,
          p.cost_usd ? human_cost_usd(*p.cost_usd) : "-", cell(p.co2_g, "{:.4g}"), p.method);
    }
    if (limit && r.rows.size() > limit)
      out += fmt::format("  … {} more GPU rows (--top N)\n", r.rows.size() - limit);
  }
  return out;
}

// Renders everything first and writes the files all or none, so a failure leaves no output file;
// the table goes to stdout unless a file does.
void write_compare_outputs(const CompareCliOptions& o, const Report& report) {
  std::vector<std::pair<std::string, std::string>> texts;
  if (!o.json_path.empty()) texts.emplace_back(o.json_path, comparison_json(report));
  if (!o.csv_path.empty()) texts.emplace_back(o.csv_path, comparison_csv(report));
  if (!o.svg_path.empty())
    texts.emplace_back(o.svg_path,
                       comparison_svg(report.comparison.rows, report.options.objective));
  std::vector<OutputFile> files;
  for (const auto& [path, text] : texts)
    files.push_back({path, [&text](const FileAppender& append) { append(text); }});
  write_files_atomically(files);
  if (o.json_path != "-" && o.csv_path != "-" && o.svg_path != "-")
    std::fputs((to_table(report, o.top > 0 ? 0 : kTableProjectedRows) +
                gpu_table(report.gpus, o.top > 0 ? o.top : kTableProjectedRows))
                   .c_str(),
               stdout);
}

int run_compare(const CompareCliOptions& o) {
  CompareRequest request = compare_request(o);
  try {
    CompareOptions options = compare_options(request, load_grid);
    SkuCatalog catalog = load_catalog(o.skus_path.empty() ? data_file("skus.csv") : o.skus_path);
    SkuChoice skus = choose_skus(request, catalog);
    RecommendationRules rules = load_rules(o.rules_path);
    // Every input is read and checked before anything is computed or written.
    std::vector<GpuRun> gpu_runs;
    std::vector<RunProfile> runs = load_profiles(o, gpu_runs);
    std::optional<GpuCatalog> gpu_catalog;
    if (!gpu_runs.empty()) gpu_catalog = load_gpu_catalog(o.gpu_catalog_path, o.measured_gpu);
    Report report = compare_runs(runs, catalog, skus, rules, options, request,
                                 {gpu_runs, gpu_catalog ? &*gpu_catalog : nullptr});
    write_compare_outputs(o, report);
  } catch (const ComparisonError& e) {
    throw CommandError(e.what());
  }
  return 0;
}

}  // namespace

Runner add_compare(CLI::App& app) {
  auto o = std::make_shared<CompareCliOptions>();
  auto* cmd = app.add_subcommand(
      "compare", "Compare runs of a workload across machines and project them onto catalog SKUs");
  cmd->add_option("runs", o->files, "Measurement documents (or perf stat recordings)")->required();
  cmd->add_option("--skus", o->skus_path,
                  "Projected mode: project onto this catalog (data/skus.csv)");
  // One value per occurrence: a vector option otherwise takes every word up to the next option,
  // run files included (`--price a=1 run.json` read run.json as a price).
  cmd->add_option("--sku", o->sku_ids, "Restrict projection to these SKU ids (ID[,ID], repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--objective", o->objective, "Rank by time, energy, cost (default) or co2")
      ->check(CLI::IsMember({"time", "energy", "cost", "co2"}));
  cmd->add_option("--work", o->work, "Units of work per run: prints throughput")
      ->check(positive_number());
  cmd->add_option("--price", o->prices,
                  "MACHINE=USD_PER_HOUR (machine name, SKU id or GPU instance; repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--grid-intensity", o->grid_intensity, "Grams CO2e per kWh")
      ->check(CLI::Range(0.0, 2000.0));
  cmd->add_option("--region", o->region, "Grid region of data/grid.csv (us-east-1, FRA…)");
  cmd->add_option("--label", o->label, "Workload name for all runs (groups runs of one workload)");
  cmd->add_option("--json", o->json_path, "Write pmcmodel.comparison/1 JSON (- = stdout)");
  cmd->add_option("--csv", o->csv_path, "Write the rows as CSV (- = stdout)");
  cmd->add_option("--svg", o->svg_path, "Write an SVG chart: cost and energy per run, sorted");
  cmd->add_option("--runs-per-month", o->runs_per_month,
                  "Run rate for monthly savings (default 720: hourly; data/recommendations.json)")
      ->check(positive_number());
  cmd->add_option("--rules", o->rules_path,
                  "Recommendation rules (default data/recommendations.json)");
  cmd->add_option("--min-memory-gb", o->min_memory_gb,
                  "Project only onto SKUs with at least this much memory (GB); SKUs whose memory "
                  "the catalog does not give are left out too")
      ->check(positive_number());
  cmd->add_option(
      "--gpu-catalog", o->gpu_catalog_path,
      "GPU catalog for runs with GPU energy (data/gpus.csv; gpu_instances.csv beside it)");
  cmd->add_option("--measured-gpu", o->measured_gpu,
                  "The GPU catalog row of the measured GPU, when its NVML name does not match one");
  cmd->add_flag("--allow-failed", o->allow_failed,
                "Compare runs whose command failed or was killed (refused otherwise), with a note");
  cmd->add_option("--top", o->top, "Keep the best N projected SKUs per workload (default: all)");
  cmd->footer(
      "Examples:\n"
      "  pmcmodel compare a.json b.json                      measured runs ranked by cost\n"
      "  pmcmodel compare --objective energy --price hostA=1.2 --price hostB=0.8 a.json b.json\n"
      "  pmcmodel compare --label build --work 1 --region us-east-1 a.json b.json\n"
      "  pmcmodel compare --skus data/skus.csv --top 10 --svg cmp.svg run.json   projected\n"
      "  pmcmodel compare --sku aws-c5.large,aws-m5.large --json cmp.json run.json\n"
      "Exit status 2: runs of different workloads without --label, a SKU not in the catalog,\n"
      "malformed catalog rows (FILE:LINE), unreadable runs, a run whose command failed (without\n"
      "--allow-failed), an output that cannot be written; no output file is written then.");
  return [o] { return run_compare(*o); };
}

}  // namespace pmc::cli
