// GPU projection: a small catalog written here (figures chosen for easy arithmetic) and the
// shipped data/gpus.csv. Expected figures follow the formulas of models/fleet/gpu_projection.h,
// worked by hand in the comments.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "events/text/catalog_csv.h"
#include "models/fleet/gpu_projection.h"
#include "pmcmodel_version.h"

using namespace pmc;

namespace {

const std::string kGpuHeader =
    "id,name,vendor,tensor_tflops,fp32_tflops,memory_gb,mem_bw_gbs,tdp_w,idle_w,boost_mhz,"
    "release_date,source\n";
// src: the measured GPU. fast: twice its tensor peak, the same bandwidth, 1000 W. wide: the same
// peak, twice the bandwidth. nofp: no tensor figure, half the FP32 peak and half the bandwidth.
const std::string kGpus = kGpuHeader +
                          "src,NVIDIA H100 SXM5 80GB,NVIDIA,1000,50,80,3000,700,100,2000,2022,t\n"
                          "pcie,NVIDIA H100 PCIe,NVIDIA,800,40,80,2000,350,50,1750,2022,t\n"
                          "fast,NVIDIA X200,NVIDIA,2000,100,80,3000,1000,150,2000,2024,t\n"
                          "wide,NVIDIA W100,NVIDIA,1000,50,80,6000,700,100,2000,2024,t\n"
                          "nofp,NVIDIA Tesla T9,NVIDIA,,25,16,1500,350,50,1500,2018,t\n";
const std::string kInstanceHeader =
    "instance,gpu_id,gpu_count,price_per_hour_usd,price_source,region,source\n";
const std::string kInstances = kInstanceHeader +
                               "fast1,fast,1,4.0,list,r,t\n"
                               "fast8,fast,8,24.0,list,r,t\n"
                               "src1,src,1,3.0,list,r,t\n"
                               "wide1,wide,1,,,r,t\n";

GpuCatalog catalog() {
  return GpuCatalog::parse(kGpus, "gpus.csv", kInstances, "gpu_instances.csv");
}

// One GPU, 100 s, at `watts` with the 700 W limit of src.
GpuRun run_at(double watts, double util, std::optional<double> clock = 2000) {
  GpuRun r;
  r.workload = "w";
  r.gpu_name = "NVIDIA H100 80GB HBM3";
  r.gpus = 1;
  r.duration_s = 100;
  r.watts_per_gpu = watts;
  r.joules = watts * 100;
  r.util = util;
  r.sm_clock_mhz = clock;
  r.power_limit_w = 700;
  r.energy_method = "measured:nvml";
  return r;
}

bool has(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

const GpuProjection& row(const GpuRanking& r, const std::string& target) {
  for (const auto& p : r.rows)
    if (p.target == target) return p;
  FAIL("no row " << target);
  return r.rows.front();
}

GpuCatalog shipped_catalog() {
  auto dir = std::string(PMCMODEL_DATA_DIR);
  return GpuCatalog::parse(read_catalog_file(dir + "/gpus.csv"), "gpus.csv",
                           read_catalog_file(dir + "/gpu_instances.csv"), "gpu_instances.csv");
}

// The bf16 matmul phase of the real H200 trace (tests/data/gpu/h200-trace1-*.csv: mm_bf16_8192,
// 4.4634 s to 10.4640 s) as the GpuRun `compare` makes of a measurement: the energy counter's
// advance between the phase's first and last rows over their time apart, the mean utilisation
// and SM clock of those rows, the 700 W limit and the memory NVML reports for an H200.
GpuRun h200_bf16_phase() {
  std::ifstream in(std::string(PMC_TEST_DATA) + "/gpu/h200-trace1-samples.csv");
  REQUIRE(in);
  std::string line;
  std::getline(in, line);
  std::vector<std::string> names;
  std::stringstream header(line);
  for (std::string cell; std::getline(header, cell, ',');) names.push_back(cell);
  auto column = [&](const std::string& name) {
    for (size_t i = 0; i < names.size(); ++i)
      if (names[i] == name) return i;
    FAIL("no column " << name);
    return size_t(0);
  };
  size_t t_col = column("t_s"), e_col = column("energy_mj"), u_col = column("util_gpu_pct"),
         f_col = column("sm_mhz");
  double t0 = -1, t1 = 0, e0 = 0, e1 = 0, util = 0, clock = 0;
  int rows = 0;
  while (std::getline(in, line)) {
    std::vector<double> cells;
    std::stringstream row(line);
    for (std::string cell; std::getline(row, cell, ',');) cells.push_back(std::stod(cell));
    if (cells.size() != names.size() || cells[t_col] < 4.4634 || cells[t_col] > 10.4640) continue;
    if (t0 < 0) t0 = cells[t_col], e0 = cells[e_col];
    t1 = cells[t_col], e1 = cells[e_col];
    util += cells[u_col] / 100, clock += cells[f_col], ++rows;
  }
  REQUIRE(rows > 100);
  GpuRun r;
  r.workload = "mm_bf16_8192";
  r.gpu_name = "NVIDIA H200";
  r.gpus = 1;
  r.duration_s = t1 - t0;
  r.joules = (e1 - e0) / 1000;
  r.watts_per_gpu = r.joules / r.duration_s;
  r.energy_uncertainty = 0.01;
  r.energy_method = "measured:nvml";
  r.util = util / rows;
  r.sm_clock_mhz = clock / rows;
  r.power_limit_w = 700;
  r.memory_mib = 143771;
  return r;
}

}  // namespace

TEST_CASE("the shipped catalog has the L40S of NVIDIA's datasheet and the g6e instances") {
  auto c = shipped_catalog();
  const GpuSpec* l40s = c.find("nvidia-l40s");
  REQUIRE(l40s);
  // NVIDIA's L40S datasheet ("NVIDIA L40S: Unparalleled AI and graphics performance for the data
  // center"; its table as reproduced at https://www.mullet.se/product.html?product_id=355414):
  // 48 GB GDDR6, 864 GB/s, FP32 91.6 TFLOPS, BFLOAT16/FP16 Tensor Core 362.05 TFLOPS dense (733
  // with sparsity), max power consumption 350 W. Boost clock 2520 MHz: TechPowerUp's figure
  // (https://www.itcreations.com/nvidia-gpu/nvidia-l40s-gpu-accelerator). data/SOURCES.md.
  CHECK(l40s->name == "NVIDIA L40S");
  CHECK(l40s->vendor == "NVIDIA");
  REQUIRE(l40s->tensor_tflops);
  CHECK(*l40s->tensor_tflops == doctest::Approx(362.05));
  REQUIRE(l40s->fp32_tflops);
  CHECK(*l40s->fp32_tflops == doctest::Approx(91.6));
  REQUIRE(l40s->memory_gb);
  CHECK(*l40s->memory_gb == doctest::Approx(48));
  CHECK(l40s->mem_bw_gbs == doctest::Approx(864));
  CHECK(l40s->tdp_w == doctest::Approx(350));
  REQUIRE(l40s->boost_mhz);
  CHECK(*l40s->boost_mhz == doctest::Approx(2520));
  // The documented idle rule, 0.175 × TDP = 61.25 W, rounded to 0.1 W.
  CHECK(std::abs(l40s->idle_w - 0.175 * 350) <= 0.05 + 1e-9);
  CHECK(has(l40s->source, "nvidia-l40s-datasheet"));
  CHECK(has(l40s->source, "https://www.mullet.se/product.html?product_id=355414"));
  CHECK_FALSE(has(l40s->source, "epoch-ai-ml-hardware"));
  // NVML names the card "NVIDIA L40S" (46068 MiB); not the L40 of Epoch AI's data.
  const GpuSpec* by_name = c.match("NVIDIA L40S", 46068, 350);
  REQUIRE(by_name);
  CHECK(by_name->id == "nvidia-l40s");
  const GpuSpec* l40 = c.match("NVIDIA L40", 46068, 300);
  REQUIRE(l40);
  CHECK(l40->id == "nvidia-l40");
  // AWS's g6e page (aws.amazon.com/ec2/instance-types/g6e/, via Boavizta's platform table) and
  // torchx's g6e resources (github.com/meta-pytorch/torchx/pull/969): one L40S up to 16xlarge,
  // four in 12xlarge and 24xlarge, eight in 48xlarge. No us-east-1 price is cited for any.
  const std::map<std::string, int> g6e = {
      {"g6e.xlarge", 1},   {"g6e.2xlarge", 1},  {"g6e.4xlarge", 1},  {"g6e.8xlarge", 1},
      {"g6e.16xlarge", 1}, {"g6e.12xlarge", 4}, {"g6e.24xlarge", 4}, {"g6e.48xlarge", 8}};
  std::set<std::string> seen;
  for (const auto& i : c.instances()) {
    if (i.instance.rfind("g6e.", 0) != 0) continue;
    CAPTURE(i.instance);
    seen.insert(i.instance);
    REQUIRE(g6e.count(i.instance));
    CHECK(i.gpu_count == g6e.at(i.instance));
    CHECK(i.gpu_id == "nvidia-l40s");
    CHECK_FALSE(i.price_per_hour_usd);
    CHECK(i.region == "us-east-1");
    CHECK(has(i.source, "aws.amazon.com/ec2/instance-types/g6e/"));
  }
  CHECK(seen.size() == g6e.size());
}

TEST_CASE("a measured H200 bf16 matmul is ranked on the L40S and its g6e instances") {
  auto c = shipped_catalog();
  GpuRun run = h200_bf16_phase();
  CompareOptions options;
  options.objective = Objective::energy;
  options.grid_g_per_kwh = 400;
  options.price_per_hour["g6e.xlarge"] = 2.0;  // a test price: the catalog has none
  auto r = rank_gpus(run, c, options);
  REQUIRE(r.source == c.find("nvidia-h200-sxm"));
  // The phase drew ~677 W at ~93 % utilisation: busy 122.5 + (P − 122.5) / u > 700 W, so φ = 1
  // and the job is compute-bound (c = 1).
  CHECK(r.boundness.busy_power_fraction == doctest::Approx(1.0));
  REQUIRE(r.boundness.compute_share == doctest::Approx(1.0));
  double u = *run.util;
  // T' = T × ((1 − u) + u × F/F'), F the tensor peaks: the H200's 989.5 (Epoch AI) over the
  // L40S's 362.05 (NVIDIA). P' = 350 W × P / 700 W.
  double t = run.duration_s * ((1 - u) + u * 989.5 / 362.05);
  double w = 350 * run.watts_per_gpu / 700;
  const auto& l40s = row(r, "nvidia-l40s");
  CHECK(l40s.kind == "gpu");
  CHECK(l40s.duration_s == doctest::Approx(t));
  CHECK(l40s.watts_per_gpu == doctest::Approx(w));
  CHECK(l40s.joules == doctest::Approx(w * t));
  CHECK(*l40s.co2_g == doctest::Approx(w * t / 3.6e6 * 400));
  CHECK(l40s.method == "projected:gpu:100%-tensor+0%-bandwidth:nvidia-l40s");
  // Decided (c = 1), tensor figures on both sides: the peak ratio's 15 %; energy adds the
  // power's 20 % and the counter's 1 %.
  CHECK(l40s.duration_uncertainty == doctest::Approx(0.15));
  CHECK(l40s.uncertainty == doctest::Approx(0.15 + 0.20 + 0.01));
  REQUIRE(l40s.rank);
  for (const char* name : {"g6e.xlarge", "g6e.12xlarge", "g6e.48xlarge"}) {
    CAPTURE(name);
    const auto& inst = row(r, name);
    CHECK(inst.kind == "instance");
    CHECK(inst.gpu_id == "nvidia-l40s");
    CHECK(inst.duration_s == doctest::Approx(t));
    CHECK(inst.joules == doctest::Approx(w * t));
    CHECK(inst.method == l40s.method);
    CHECK(inst.duration_uncertainty == doctest::Approx(0.15));
    REQUIRE(inst.rank);  // ranked by energy, which needs no price
  }
  CHECK(row(r, "g6e.12xlarge").instance_gpus == 4);
  CHECK(row(r, "g6e.48xlarge").instance_gpus == 8);
  // One GPU of the job on a one-GPU instance at the --price: 2 USD/h × T'.
  REQUIRE(row(r, "g6e.xlarge").cost_usd);
  CHECK(*row(r, "g6e.xlarge").cost_usd == doctest::Approx(2.0 * t / 3600));
  CHECK(row(r, "g6e.xlarge").price_source == "--price");
  CHECK_FALSE(row(r, "g6e.48xlarge").cost_usd);
  // By cost, only priced rows rank: the g6e.xlarge does, the g6e.48xlarge does not.
  options.objective = Objective::cost;
  auto by_cost = rank_gpus(run, c, options);
  CHECK(row(by_cost, "g6e.xlarge").rank);
  CHECK_FALSE(row(by_cost, "g6e.48xlarge").rank);
}

TEST_CASE("a GPU job's compute share comes from its busy power fraction and its clock") {
  auto c = catalog();
  const GpuSpec& src = *c.find("src");
  SUBCASE("at the power limit all the time: compute-bound") {
    // busy = 100 + (700 − 100) / 1 = 700 W, φ = 600 / 600 = 1 → c = 1.
    auto b = classify_gpu_job(run_at(700, 1.0), src);
    CHECK(b.busy_power_fraction == doctest::Approx(1.0));
    CHECK(b.compute_share == doctest::Approx(1.0));
  }
  SUBCASE("half the range: memory-bound") {
    // φ = (400 − 100) / 600 = 0.5 → c = (0.5 − 0.5) / 0.4 = 0.
    auto b = classify_gpu_job(run_at(400, 1.0), src);
    CHECK(b.busy_power_fraction == doctest::Approx(0.5));
    CHECK(b.compute_share == doctest::Approx(0.0));
  }
  SUBCASE("idle half the time: the busy half's draw decides") {
    // busy = 100 + (400 − 100) / 0.5 = 700 W → φ = 1 → c = 1.
    CHECK(classify_gpu_job(run_at(400, 0.5), src).compute_share == doctest::Approx(1.0));
  }
  SUBCASE("in between: a linear share") {
    // φ = (520 − 100) / 600 = 0.7 → c = 0.2 / 0.4 = 0.5.
    CHECK(classify_gpu_job(run_at(520, 1.0), src).compute_share == doctest::Approx(0.5));
  }
  SUBCASE("the clock held below its maximum near the limit makes it compute-bound") {
    // φ = 480 / 600 = 0.8 → 0.75 by power alone; 1500 / 2000 MHz = 0.75 < 0.95 → 1.
    CHECK(classify_gpu_job(run_at(580, 1.0, 2000), src).compute_share == doctest::Approx(0.75));
    auto b = classify_gpu_job(run_at(580, 1.0, 1500), src);
    CHECK(b.power_capped);
    CHECK(b.compute_share == doctest::Approx(1.0));
  }
}

TEST_CASE("a job's share of a GPU shared with others is judged on the GPU's own draw") {
  // 100 s on src at its 700 W limit (φ = 1, compute-bound), the job's share half of it.
  Measurement m;
  m.duration_s = 100;
  GpuInfo gpu;
  gpu.name = "NVIDIA H100 80GB HBM3";
  gpu.power_limit_w = 700;
  m.machine.gpus.push_back(gpu);
  m.energy.push_back({"gpu0", 70000, 700, "measured:nvml", 0.01, EnergyScope::machine});
  m.energy.push_back(
      {"gpu0", 35000, 350, "measured:nvml+share:sm-util", 0.26, EnergyScope::command});
  m.metrics.push_back({"gpu_util.gpu0", 1.0, "ratio"});
  m.metrics.push_back({"gpu_sm_clock_mhz.gpu0", 2000, "MHz"});
  auto run = gpu_run(m, "m.json", "w");
  REQUIRE(run);
  // The job's energy and watts are its share.
  CHECK(run->joules == doctest::Approx(35000));
  CHECK(run->watts_per_gpu == doctest::Approx(350));
  // φ from the GPU's 700 W: (700 − 100) / 600 = 1, c = 1; its 350 W share would give
  // (350 − 100) / 600 = 0.42 and c = 0 (memory-bound).
  auto c = catalog();
  auto b = classify_gpu_job(*run, *c.find("src"));
  CHECK(b.busy_power_fraction == doctest::Approx(1.0));
  CHECK(b.compute_share == doctest::Approx(1.0));
}

TEST_CASE("a compute-bound job scales with peak FLOP/s, a memory-bound one with bandwidth") {
  auto c = catalog();
  CompareOptions options;
  options.objective = Objective::time;
  options.grid_g_per_kwh = 360;
  SUBCASE("compute-bound") {
    auto r = rank_gpus(run_at(700, 1.0), c, options);
    REQUIRE(r.source == c.find("src"));
    // Twice the tensor peak: half the time; 1000 W × 700/700 = 1000 W → 50 kJ.
    CHECK(row(r, "fast").duration_s == doctest::Approx(50));
    CHECK(row(r, "fast").watts_per_gpu == doctest::Approx(1000));
    CHECK(row(r, "fast").joules == doctest::Approx(50000));
    // 50 kJ = 1/72 kWh × 360 g/kWh = 5 g.
    CHECK(*row(r, "fast").co2_g == doctest::Approx(5));
    CHECK(row(r, "wide").duration_s == doctest::Approx(100));
    // No tensor figure on nofp: FP32 50 / 25 → twice the time, with the wider uncertainty.
    CHECK(row(r, "nofp").duration_s == doctest::Approx(200));
    CHECK(row(r, "nofp").duration_uncertainty == doctest::Approx(0.25));
    CHECK(row(r, "fast").duration_uncertainty == doctest::Approx(0.15));
    CHECK(row(r, "src").kind == "measured");
    CHECK(row(r, "src").joules == doctest::Approx(70000));
    CHECK(r.rows.front().target == "fast");
    CHECK(r.rows.front().rank == 1);
  }
  SUBCASE("memory-bound") {
    auto r = rank_gpus(run_at(400, 1.0), c, options);
    // Twice the bandwidth: half the time; 700 W × 400/700 = 400 W.
    CHECK(row(r, "wide").duration_s == doctest::Approx(50));
    CHECK(row(r, "wide").watts_per_gpu == doctest::Approx(400));
    CHECK(row(r, "fast").duration_s == doctest::Approx(100));
    CHECK(row(r, "nofp").duration_s == doctest::Approx(200));
  }
  SUBCASE("the time no kernel ran does not scale") {
    // u = 0.5, c = 1: 100 × (0.5 + 0.5 × 1000/2000) = 75 s.
    CHECK(row(rank_gpus(run_at(400, 0.5), c, options), "fast").duration_s == doctest::Approx(75));
  }
  SUBCASE("an undecided job is as uncertain as its two projections are apart") {
    // c = 0.5 on fast: 100 × (0.5 × 0.5 + 0.5 × 1) = 75 s; compute-only 50 s, bandwidth-only
    // 100 s; u = 0.15 + 1 × 50 / (2 × 75).
    auto p = row(rank_gpus(run_at(520, 1.0), c, options), "fast");
    CHECK(p.duration_s == doctest::Approx(75));
    CHECK(p.duration_uncertainty == doctest::Approx(0.15 + 50.0 / 150));
  }
}

TEST_CASE("an instance costs its price for the job's share of its GPUs and time") {
  auto c = catalog();
  CompareOptions options;  // objective cost
  auto r = rank_gpus(run_at(700, 1.0), c, options);
  // fast1: 4 USD/h × 50 s; fast8: 24 USD/h × 50 s × 1/8 GPUs; src1: 3 USD/h × 100 s.
  CHECK(*row(r, "fast1").cost_usd == doctest::Approx(4.0 * 50 / 3600));
  CHECK(*row(r, "fast8").cost_usd == doctest::Approx(24.0 * 50 / 3600 / 8));
  CHECK(*row(r, "src1").cost_usd == doctest::Approx(3.0 * 100 / 3600));
  CHECK_FALSE(row(r, "wide1").cost_usd);
  CHECK_FALSE(row(r, "wide1").rank);
  CHECK(r.rows.front().target == "fast8");
  SUBCASE("--price beats the catalog's") {
    options.price_per_hour["fast1"] = 0.36;  // 0.36 USD/h × 50 s = 0.005 USD
    auto priced = rank_gpus(run_at(700, 1.0), c, options);
    CHECK(*row(priced, "fast1").cost_usd == doctest::Approx(0.005));
    CHECK(row(priced, "fast1").price_source == "--price");
    CHECK(priced.rows.front().target == "fast1");
  }
  SUBCASE("recommendations: the least cost × time, and the least energy") {
    auto recs = recommend_gpus(r, 100, 2);
    REQUIRE(recs.size() == 2);
    CHECK(recs[0].rule == "gpu-cheapest");
    CHECK(recs[0].sku == "fast8");
    CHECK(recs[0].rank == 3);
    // Against src1, the measured GPU's own instance: 3/36 − 24·50/3600/8 USD per run.
    CHECK(*recs[0].saving_usd_per_run == doctest::Approx(3.0 / 36 - 24.0 * 50 / 3600 / 8));
    CHECK(*recs[0].saving_usd_per_month == doctest::Approx(100 * (3.0 / 36 - 24.0 / 576)));
    CHECK(has(recs[0].text, "fast8"));
    CHECK(has(recs[0].text, "100% compute-bound"));
    CHECK(recs[1].rule == "gpu-lowest-energy");
    // fast: 50 kJ; wide and src 70 kJ; nofp 350 W × 200 s = 70 kJ; pcie 350 W × 125 s = 43.75 kJ.
    CHECK(recs[1].sku == "pcie");
    CHECK(*recs[1].projected_gain == doctest::Approx(1 - 43750.0 / 70000));
  }
}

TEST_CASE("the measured GPU is found by its NVML name, memory and power limit") {
  auto c = catalog();
  CHECK(c.match("NVIDIA H100 80GB HBM3", 81559, 700) == c.find("src"));
  CHECK(c.match("NVIDIA H100 PCIe", 81559, 350) == c.find("pcie"));
  CHECK(c.match("Tesla T9", std::nullopt, std::nullopt) == c.find("nofp"));
  CHECK(c.match("NVIDIA Z900", std::nullopt, std::nullopt) == nullptr);
  SUBCASE("a GPU not in the catalog gives no rows and a note") {
    auto run = run_at(700, 1.0);
    run.gpu_name = "NVIDIA Z900";
    auto r = rank_gpus(run, c, CompareOptions{});
    CHECK(r.rows.empty());
    REQUIRE(r.notes.size() == 1);
    CHECK(has(r.notes[0], "Z900"));
    CHECK(recommend_gpus(r, 1, 0).empty());
  }
  SUBCASE("in the shipped catalog") {
    auto shipped = shipped_catalog();
    CHECK(shipped.match("NVIDIA H200", 143771, 700)->id == "nvidia-h200-sxm");
    CHECK(shipped.match("NVIDIA A100-SXM4-80GB", 81920, 400)->id == "nvidia-a100-sxm4-80-gb");
    CHECK(shipped.match("NVIDIA H100 80GB HBM3", 81559, 700)->id == "nvidia-h100-sxm5-80gb");
    CHECK(shipped.match("Tesla T4", 15360, 70)->id == "nvidia-tesla-t4");
    CHECK(shipped.match("NVIDIA L4", 23034, 72)->id == "nvidia-l4");
  }
}

TEST_CASE("GPU catalog rows are checked") {
  auto bad = [](const std::string& gpu_row, const std::string& instance_row = "") {
    return GpuCatalog::parse(kGpuHeader + gpu_row, "g.csv", kInstanceHeader + instance_row,
                             "i.csv");
  };
  const std::string good = "a,A 1,V,1,1,1,1,100,10,,d,s\n";
  CHECK_NOTHROW(bad(good));
  CHECK_THROWS_WITH_AS(bad("a,A 1,V,,,1,1,100,10,,d,s\n"),
                       "g.csv:2: expected tensor_tflops or fp32_tflops", std::runtime_error);
  CHECK_THROWS_AS(bad("a,A 1,V,1,1,1,0,100,10,,d,s\n"), std::runtime_error);
  CHECK_THROWS_AS(bad(good + good), std::runtime_error);
  CHECK_THROWS_WITH_AS(bad(good, "x,b,1,1,p,r,s\n"), "i.csv:2: gpu_id 'b' is not a GPU row",
                       std::runtime_error);
  CHECK_THROWS_AS(bad(good, "x,a,0,1,p,r,s\n"), std::runtime_error);
}

TEST_CASE("a GPU ranking becomes comparison rows in rank order with the ratio to the best") {
  auto c = catalog();
  CompareOptions options;
  options.objective = Objective::energy;
  options.work_units = 10;
  auto rows = gpu_comparison_rows(rank_gpus(run_at(700, 1.0), c, options), options);
  // Five GPUs and four instances.
  REQUIRE(rows.size() == 9);
  auto find = [&](const std::string& machine) -> const ComparisonRow& {
    for (const auto& r : rows)
      if (r.machine == machine) return r;
    FAIL("no row " << machine);
    return rows.front();
  };
  // Energy, compute-bound at the limit: pcie 350 W × 125 s = 43.75 kJ, fast 1000 W × 50 s =
  // 50 kJ (and its two instances), src (measured), wide and nofp 70 kJ.
  CHECK(rows.front().machine == "pcie");
  CHECK(*rows.front().rank == 1);
  CHECK(*rows.front().ratio_to_best == doctest::Approx(1.0));
  CHECK(*find("fast8").ratio_to_best == doctest::Approx(50000.0 / 43750));
  CHECK(*find("src").ratio_to_best == doctest::Approx(70000.0 / 43750));
  for (size_t i = 1; i < rows.size(); ++i) CHECK(*rows[i - 1].rank < *rows[i].rank);
  const auto& measured = find("src");
  CHECK(measured.kind == "gpu-measured");
  CHECK(measured.projected_from.empty());
  CHECK(measured.method == "measured:nvml");
  CHECK(*measured.average_watts == doctest::Approx(700));
  CHECK(*measured.throughput_per_s == doctest::Approx(10.0 / 100));
  const auto& pcie = find("pcie");
  CHECK(pcie.kind == "gpu-projected");
  CHECK(pcie.projected_from == "src");
  CHECK(pcie.gpu_id == "pcie");
  CHECK(*pcie.watts_per_gpu == doctest::Approx(350));
  CHECK_FALSE(pcie.instance_gpus);
  const auto& fast8 = find("fast8");
  CHECK(fast8.kind == "gpu-instance");
  CHECK(fast8.gpu_id == "fast");
  CHECK(*fast8.gpus == 1);
  CHECK(*fast8.instance_gpus == 8);
  CHECK(*fast8.cost_usd == doctest::Approx(24.0 * 50 / 3600 / 8));
  CHECK(fast8.price_source == "list (r)");
  for (const auto& r : rows) CHECK(r.workload == "w");
  SUBCASE("no rows when the measured GPU is not in the catalog") {
    auto unknown = run_at(700, 1.0);
    unknown.gpu_name = "Unknown Accelerator";
    CHECK(gpu_comparison_rows(rank_gpus(unknown, c, options), options).empty());
  }
}
