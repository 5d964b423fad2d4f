#pragma once
// A measured GPU job projected onto other GPUs and cloud GPU instances (data/gpus.csv,
// data/gpu_instances.csv): time, energy, cost and CO2 on each, ranked, with the cheapest and the
// lowest-energy choice as recommendations. docs/compare.md gives the method and its uncertainty.
//
// Boundness, from what NVML measured (gpu_util u, mean watts P per GPU, SM clock f):
//   P_busy = I + (P − I) / u      the draw while a kernel ran, the rest of the time at idle I
//   φ      = (P_busy − I) / (L − I), clamped to [0, 1]   (L: the power limit, else the TDP)
//   c      = 1 when f < 0.95 × the catalog's boost clock and φ ≥ 0.75 (the clock held down near
//            the power limit: compute-bound), else clamp((φ − 0.5) / 0.4, 0, 1)
// The anchors are the H200 of tests/data/gpu/: a 4 GiB device copy (memory-bound, SM clock at its
// maximum) drew φ ≈ 0.51, bf16 and fp32 matmuls drew φ ≥ 0.95, the bf16 one with the SM clock held
// at 76 % of its maximum by the 700 W limit. The clock alone does not tell them apart.
// Time on a target: T' = T × ((1 − u) + u × (c × F/F' + (1 − c) × B/B')), F the tensor
// FP16/BF16 peak (FP32 where either side lacks it), B the memory bandwidth; the time no kernel ran
// is assumed not to depend on the GPU. Power: P' = TDP' × min(1, P / L). Energy: P' × T' per GPU.
// Cost: an instance's price × T' × (GPUs of the job / GPUs of the instance). Pure computation.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/document/measurement.h"
#include "models/fleet/comparison.h"
#include "models/fleet/recommendations.h"

namespace pmc {

struct GpuSpec {
  std::string id, name, vendor;
  std::optional<double> tensor_tflops, fp32_tflops, memory_gb;
  double mem_bw_gbs = 0;
  double tdp_w = 0;
  double idle_w = 0;
  std::optional<double> boost_mhz;
  std::string release_date, source;
};

struct GpuInstance {
  std::string instance, gpu_id;
  int gpu_count = 1;
  std::optional<double> price_per_hour_usd;
  std::string price_source, region, source;
};

class GpuCatalog {
 public:
  // Throws std::runtime_error "FILE:LINE: what was expected" for a bad row: wrong header, text in
  // a number column, a TDP, bandwidth or FLOP/s figure not positive, no FLOP/s figure, a duplicate
  // id, an instance whose GPU is not a row, a GPU count below 1, a negative price.
  static GpuCatalog parse(std::string_view gpus_csv, const std::string& gpus_origin,
                          std::string_view instances_csv, const std::string& instances_origin);

  const std::string& origin() const { return origin_; }
  const std::vector<GpuSpec>& gpus() const { return gpus_; }
  const std::vector<GpuInstance>& instances() const { return instances_; }
  const GpuSpec* find(std::string_view id) const;
  // The row NVML's name ("NVIDIA H100 80GB HBM3", "Tesla T4") stands for: rows whose model word
  // (the first word with a digit, vendor and family words dropped) is the same; among several,
  // the most shared words, then the memory and the power limit nearest. nullptr when none.
  const GpuSpec* match(std::string_view nvml_name, std::optional<double> memory_mib,
                       std::optional<double> power_limit_w) const;

 private:
  std::string origin_;
  std::vector<GpuSpec> gpus_;
  std::vector<GpuInstance> instances_;
};

// What a run's document says of its GPUs: the GPUs with a `gpuN` energy domain (those with a
// command share when there are any), their mean figures per GPU.
struct GpuRun {
  std::string workload;
  std::string source;    // the run's file, for messages
  std::string gpu_name;  // machine.gpus[] name of the first GPU
  int gpus = 0;          // GPUs the job ran on
  double duration_s = 0;
  double watts_per_gpu = 0;  // mean over the run and the GPUs
  // Where the job's energy is its share of GPUs others used too: the GPUs' own draw (scope
  // machine), which their utilisation and clock describe and its compute share is judged on.
  std::optional<double> draw_watts_per_gpu;
  double joules = 0;  // all the GPUs
  double energy_uncertainty = 0;
  std::string energy_method;
  std::optional<double> util;  // gpu_util: fraction of time a kernel ran
  std::optional<double> sm_clock_mhz;
  std::optional<double> power_limit_w;
  std::optional<double> memory_mib;
};
// nullopt when the document has no GPU energy.
std::optional<GpuRun> gpu_run(const Measurement& m, std::string source, std::string workload);

struct GpuBoundness {
  double compute_share = 0;        // c
  double busy_power_fraction = 0;  // φ
  std::optional<double> clock_ratio;
  bool power_capped = false;
  std::string rule;  // the sentence that says how c was decided
};
GpuBoundness classify_gpu_job(const GpuRun& run, const GpuSpec& source);

// Relative half-widths (judgement, docs/compare.md).
struct GpuUncertainty {
  double peak_ratio = 0.15;     // datasheet peaks are reached in different proportions
  double fp32_fallback = 0.10;  // a FLOP/s ratio not of tensor figures on both sides
  double power = 0.20;          // TDP × the measured fraction of the limit
};

struct GpuProjection {
  std::string target;  // a GPU id, or an instance type
  std::string kind;    // "measured", "gpu" or "instance"
  std::string gpu_id;
  int instance_gpus = 0;
  double duration_s = 0;
  double watts_per_gpu = 0;
  double joules = 0;
  std::optional<double> cost_usd, co2_g;
  double duration_uncertainty = 0;  // relative; of cost too
  double uncertainty = 0;           // of joules and CO2
  std::string method, price_source;
  std::optional<int> rank;
};

struct GpuRanking {
  GpuRun run;
  const GpuSpec* source = nullptr;  // into the catalog; null: not identified, no rows
  GpuBoundness boundness;
  Objective objective = Objective::cost;
  std::vector<GpuProjection> rows;  // ranked rows first, by rank
  std::vector<std::string> notes;
};

// One target GPU for `run` measured on `source`, boundness `b`.
GpuProjection project_gpu(const GpuRun& run, const GpuSpec& source, const GpuBoundness& b,
                          const GpuSpec& target, std::optional<double> g_per_kwh,
                          const GpuUncertainty& u = {});

// The measured GPU, every catalog GPU and every instance, ranked by options.objective; prices
// from the instances (options.price_per_hour by instance type beats them), CO2 from
// options.grid_g_per_kwh. `measured_gpu` names the catalog row of the measured GPU, else it is
// matched by name.
GpuRanking rank_gpus(const GpuRun& run, const GpuCatalog& catalog, const CompareOptions& options,
                     std::string_view measured_gpu = {}, const GpuUncertainty& u = {});

// The ranking's rows as comparison rows of the run's workload (docs/formats.md), in rank order
// with the ratio to the best: kind gpu-measured, gpu-projected or gpu-instance, projected_from the
// measured GPU, throughput from options.work_units. Empty when the measured GPU was not found.
std::vector<ComparisonRow> gpu_comparison_rows(const GpuRanking& ranking,
                                               const CompareOptions& options);

// The cheapest instance and the lowest-energy GPU of the ranking, numbered after `rank_after`.
std::vector<Recommendation> recommend_gpus(const GpuRanking& ranking, double runs_per_month,
                                           int rank_after);

}  // namespace pmc
