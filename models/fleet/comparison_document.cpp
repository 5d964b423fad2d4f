#include "models/fleet/comparison_document.h"

#include <string_view>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace pmc {
namespace {

using json = nlohmann::ordered_json;

json opt(const std::optional<double>& v) {
  return v ? json(*v) : json(nullptr);
}

json row_json(const ComparisonRow& r) {
  return {{"machine", r.machine},
          {"workload", r.workload},
          {"kind", r.kind},
          {"sku", r.sku_id.empty() ? json(nullptr) : json(r.sku_id)},
          {"projected_from", r.projected_from.empty() ? json(nullptr) : json(r.projected_from)},
          {"runs", r.runs},
          {"duration_s", r.duration_s},
          {"duration_uncertainty", r.duration_uncertainty},
          {"throughput_per_s", opt(r.throughput_per_s)},
          {"average_watts", opt(r.average_watts)},
          {"joules", opt(r.joules)},
          {"cost_usd", opt(r.cost_usd)},
          {"co2_g", opt(r.co2_g)},
          {"rank", r.rank ? json(*r.rank) : json(nullptr)},
          {"ratio_to_best", opt(r.ratio_to_best)},
          {"method", r.method.empty() ? json(nullptr) : json(r.method)},
          {"price_source", r.price_source.empty() ? json(nullptr) : json(r.price_source)},
          {"uncertainty", r.uncertainty},
          {"utilisation", opt(r.utilisation)},
          {"ipc", opt(r.ipc)},
          {"tma_retiring", opt(r.tma_retiring)},
          {"tma_bad_speculation", opt(r.tma_bad_speculation)},
          {"tma_frontend_bound", opt(r.tma_frontend_bound)},
          {"tma_backend_bound", opt(r.tma_backend_bound)},
          {"llc_mpki", opt(r.llc_mpki)},
          {"missing_inputs", r.missing_inputs},
          {"failed", r.failed},
          {"gpu", r.gpu_id.empty() ? json(nullptr) : json(r.gpu_id)},
          {"gpus", r.gpus ? json(*r.gpus) : json(nullptr)},
          {"instance_gpus", r.instance_gpus ? json(*r.instance_gpus) : json(nullptr)},
          {"watts_per_gpu", opt(r.watts_per_gpu)}};
}

json recommendation_json(const Recommendation& r) {
  json evidence = json::array();
  for (const auto& e : r.evidence)
    evidence.push_back({{"metric", e.metric},
                        {"value", e.value},
                        {"op", e.op.empty() ? json(nullptr) : json(e.op)},
                        {"threshold", e.op.empty() ? json(nullptr) : json(e.threshold)},
                        {"source", e.source}});
  return {{"workload", r.workload},
          {"rank", r.rank},
          {"rule", r.rule},
          {"text", r.text},
          {"baseline", r.baseline},
          {"sku", r.sku.empty() ? json(nullptr) : json(r.sku)},
          {"saving_usd_per_run", opt(r.saving_usd_per_run)},
          {"saving_usd_per_month", opt(r.saving_usd_per_month)},
          {"projected_gain", opt(r.projected_gain)},
          {"method", r.method.empty() ? json(nullptr) : json(r.method)},
          {"uncertainty", r.uncertainty},
          {"evidence", evidence}};
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string csv_number(const std::optional<double>& v) {
  return v ? fmt::format("{:.10g}", *v) : "";
}

std::string csv_int(const std::optional<int>& v) {
  return v ? std::to_string(*v) : "";
}

}  // namespace

std::vector<ComparisonRow> document_rows(const CompareReport& report) {
  std::vector<ComparisonRow> rows;
  std::vector<bool> placed(report.gpus.size(), false);
  auto add_gpu_rows = [&](std::string_view workload) {
    for (size_t i = 0; i < report.gpus.size(); ++i) {
      if (placed[i] || report.gpus[i].run.workload != workload) continue;
      placed[i] = true;
      for (auto& row : gpu_comparison_rows(report.gpus[i], report.options))
        rows.push_back(std::move(row));
    }
  };
  const auto& measured = report.comparison.rows;
  for (size_t i = 0; i < measured.size(); ++i) {
    rows.push_back(measured[i]);
    if (i + 1 == measured.size() || measured[i + 1].workload != measured[i].workload)
      add_gpu_rows(measured[i].workload);
  }
  for (size_t i = 0; i < report.gpus.size(); ++i)
    if (!placed[i]) add_gpu_rows(report.gpus[i].run.workload);
  return rows;
}

std::string comparison_json(const CompareReport& report) {
  const CompareOptions& options = report.options;
  json rows = json::array(), recs = json::array();
  for (const auto& row : document_rows(report)) rows.push_back(row_json(row));
  for (const auto& rec : report.recommendations) recs.push_back(recommendation_json(rec));
  json doc = {
      {"schema", "pmcmodel.comparison/1"},
      {"objective", to_string(report.comparison.objective)},
      {"work_units", opt(options.work_units)},
      {"grid_g_per_kwh", opt(options.grid_g_per_kwh)},
      {"grid_source", options.grid_source.empty() ? json(nullptr) : json(options.grid_source)},
      {"catalog", report.catalog_origin},
      {"runs_per_month", report.runs_per_month},
      {"rows", rows},
      {"recommendations", recs},
      {"notes", report.comparison.notes}};
  return doc.dump(2) + "\n";
}

std::string comparison_csv(const CompareReport& report) {
  std::string out =
      "workload,machine,kind,rank,ratio_to_best,duration_s,duration_uncertainty,throughput_per_s,"
      "average_watts,joules,cost_usd,co2_g,method,uncertainty,price_source,utilisation,ipc,"
      "tma_retiring,tma_bad_speculation,tma_frontend_bound,tma_backend_bound,llc_mpki,"
      "projected_from,gpu,gpus,instance_gpus,watts_per_gpu\n";
  for (const auto& r : document_rows(report))
    out += fmt::format(
        "{},{},{},{},{},{:.10g},{:.4g},{},{},{},{},{},{},{:.4g},{},{},{},{},{},{},{},{},{},{},{},{}"
        ","
        "{}\n",
        csv_field(r.workload), csv_field(r.machine), r.kind, r.rank ? std::to_string(*r.rank) : "",
        csv_number(r.ratio_to_best), r.duration_s, r.duration_uncertainty,
        csv_number(r.throughput_per_s), csv_number(r.average_watts), csv_number(r.joules),
        csv_number(r.cost_usd), csv_number(r.co2_g), csv_field(r.method), r.uncertainty,
        csv_field(r.price_source), csv_number(r.utilisation), csv_number(r.ipc),
        csv_number(r.tma_retiring), csv_number(r.tma_bad_speculation),
        csv_number(r.tma_frontend_bound), csv_number(r.tma_backend_bound), csv_number(r.llc_mpki),
        csv_field(r.projected_from), csv_field(r.gpu_id), csv_int(r.gpus), csv_int(r.instance_gpus),
        csv_number(r.watts_per_gpu));
  return out;
}

}  // namespace pmc
