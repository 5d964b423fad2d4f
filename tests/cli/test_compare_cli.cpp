// pmcmodel compare as a user runs it, on measurement documents built here from the real perf stat
// recordings tests/data/perfstat/013.txt (Xeon Platinum 8358) and 014.txt (EPYC 7J13) — the same
// `pf-test --sz 64g --huge 1` run on two machines — with energy figures and prices set here.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "../models/sku_curve_holdout.h"
#include "events/document/measurement_io.h"
#include "events/metrics/derived_metrics.h"
#include "events/perfstat/import_perfstat.h"
#include "models/fleet/power_curve.h"
#include "pmcmodel_version.h"
#include "test_support.h"

using namespace pmc::test;
using json = nlohmann::json;

namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("pmc-compare-" + std::to_string(getpid()) + "-" + name))
      .string();
}

std::string perfstat(const std::string& name) {
  return std::string(PMC_TEST_DATA) + "/perfstat/" + name;
}

bool one_line(const std::string& s) {
  return !s.empty() && s.find('\n') == s.size() - 1;
}

// A measurement document of a recording with a host name, package energy and (optionally) a
// workload field and a different CPU model.
std::string document(const std::string& recording, const std::string& host, double joules,
                     const std::string& workload = "", const std::string& cpu_model = "",
                     int logical_cpus = 0) {
  auto m = pmc::import_perf_stat(read_file(perfstat(recording)), recording).measurement;
  m.metrics = pmc::derive_metrics(m.events, m.duration_s);
  m.machine.hostname = host;
  m.machine.cpu_model = cpu_model;
  m.machine.logical_cpus = logical_cpus;
  if (joules > 0)
    m.energy.push_back({"package-0", joules, joules / m.duration_s, "measured:rapl", 0.02,
                        pmc::EnergyScope::machine});
  auto doc = json::parse(pmc::measurement_to_json(m));
  if (!workload.empty()) doc["workload"] = workload;
  auto path = temp_path(host + ".json");
  std::ofstream(path) << doc.dump(2);
  return path;
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("compare ranks measured machines by cost and writes json, csv and svg") {
    auto icx = document("013.txt", "icx", 1200);
    auto milan = document("014.txt", "milan", 800);
    auto out = temp_path("cmp.json"), csv = temp_path("cmp.csv"), svg = temp_path("cmp.svg");
    auto r = run_process(pmcmodel({"compare", icx, milan, "--price", "icx=2.0", "--price",
                                   "milan=3.6", "--grid-intensity", "400", "--work", "64", "--json",
                                   out, "--csv", csv, "--svg", svg}));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    auto doc = json::parse(read_file(out));
    CHECK(doc["schema"] == "pmcmodel.comparison/1");
    CHECK(doc["objective"] == "cost");
    REQUIRE(doc["rows"].size() == 2);
    const auto& best = doc["rows"][0];
    // icx: 2.0 $/h × 7.31681 s / 3600 = 0.0040649 $ beats milan: 3.6 × 5.23915 / 3600 = 0.0052392
    // $.
    CHECK(best["machine"] == "icx");
    CHECK(best["rank"] == 1);
    CHECK(best["cost_usd"].get<double>() == doctest::Approx(2.0 * 7.31681 / 3600));
    CHECK(best["duration_s"].get<double>() == doctest::Approx(7.31681));
    CHECK(best["joules"].get<double>() == doctest::Approx(1200));
    // 1200 J = 1/3000 kWh at 400 g/kWh = 0.13333 g.
    CHECK(best["co2_g"].get<double>() == doctest::Approx(1200 / 3.6e6 * 400));
    CHECK(best["method"] == "measured:rapl");
    for (const char* key : {"machine", "workload", "duration_s", "average_watts", "joules",
                            "cost_usd", "co2_g", "rank", "method", "uncertainty"})
      CHECK_MESSAGE(best.contains(key), key);
    // (3.6 × 5.23915) / (2.0 × 7.31681) = 1.28888.
    CHECK(doc["rows"][1]["ratio_to_best"].get<double>() == doctest::Approx(1.28888).epsilon(1e-4));
    CHECK(doc["rows"][1]["throughput_per_s"].get<double>() == doctest::Approx(64 / 5.23915));
    CHECK(doc["recommendations"].is_array());
    for (const auto& rec : doc["recommendations"]) {
      CHECK(rec["text"].is_string());
      CHECK(rec["evidence"].size() >= 1);
    }
    auto csv_text = read_file(csv);
    CHECK(csv_text.starts_with("workload,machine,kind,rank,"));
    CHECK(csv_text.find(",icx,measured,1,") != std::string::npos);
    auto svg_text = read_file(svg);
    CHECK(svg_text.starts_with("<?xml"));
    CHECK(svg_text.find("<svg xmlns=\"http://www.w3.org/2000/svg\"") != std::string::npos);
    CHECK(svg_text.find("icx") < svg_text.find("milan"));  // sorted by rank
    CHECK(svg_text.find("</svg>") != std::string::npos);
    CHECK(r.out.find("icx") != std::string::npos);
    for (const auto& p : {icx, milan, out, csv, svg}) std::filesystem::remove(p);
  }

  TEST_CASE("compare: the objective changes the order") {
    auto icx = document("013.txt", "icx", 1200);
    auto milan = document("014.txt", "milan", 800);
    auto out = temp_path("energy.json");
    auto r = run_process(pmcmodel({"compare", icx, milan, "--objective", "energy", "--json", out}));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    auto doc = json::parse(read_file(out));
    CHECK(doc["rows"][0]["machine"] == "milan");
    CHECK(doc["rows"][1]["ratio_to_best"].get<double>() == doctest::Approx(1.5));  // 1200 / 800 J
    for (const auto& p : {icx, milan, out}) std::filesystem::remove(p);
  }

  TEST_CASE("compare refuses mixed workloads without labels, and --label groups them") {
    auto icx = document("013.txt", "icx", 1200);
    auto other = document("001.txt", "spr", 5000);  // a system-wide run, another workload
    auto out = temp_path("mixed.json");
    auto r = run_process(pmcmodel({"compare", icx, other, "--json", out}));
    CHECK(r.exit_code == 2);
    CHECK(one_line(r.err));
    CHECK(r.err.find("--label") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(out));
    r = run_process(pmcmodel({"compare", icx, other, "--label", "mixed", "--json", out}));
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    CHECK(json::parse(read_file(out))["rows"][0]["workload"] == "mixed");
    // Workload fields group by themselves: two workloads, each ranked on its own.
    auto a = document("013.txt", "a", 100, "alpha");
    auto b = document("014.txt", "b", 100, "beta");
    r = run_process(pmcmodel({"compare", a, b, "--objective", "time", "--json", out}));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    auto doc = json::parse(read_file(out));
    CHECK(doc["rows"][0]["rank"] == 1);
    CHECK(doc["rows"][1]["rank"] == 1);
    for (const auto& p : {icx, other, out, a, b}) std::filesystem::remove(p);
  }

  TEST_CASE("compare: a SKU missing from the catalog and malformed catalog rows exit 2, no file") {
    auto icx = document("013.txt", "icx", 1200);
    auto out = temp_path("bad.json");
    auto r =
        run_process(pmcmodel({"compare", icx, "--sku", "aws-c5.large,no-such-sku", "--json", out}));
    CHECK(r.exit_code == 2);
    CHECK(one_line(r.err));
    CHECK(r.err.find("no-such-sku") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(out));
    // A --price for a machine that is not there is a typo, not a silent no-op.
    r = run_process(pmcmodel({"compare", icx, "--price", "icy=2.0", "--json", out}));
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("'icy'") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(out));

    // The shipped catalog's header and first row, then a row whose cores are text.
    auto catalog = read_file(std::string(PMCMODEL_DATA_DIR) + "/skus.csv");
    std::stringstream lines(catalog);
    std::string header, first;
    std::getline(lines, header);
    std::getline(lines, first);
    auto bad = temp_path("bad-skus.csv");
    std::ofstream(bad) << header << "\n"
                       << first << "\n"
                       << "broken,V,Intel Xeon X1,1,many,2,2.0,3.0,95,50,60,70,80,90,100,110,120,"
                          "130,140,150,8,,12,,,spec-power-ssj2008\n";
    r = run_process(pmcmodel({"compare", icx, "--skus", bad, "--json", out}));
    CHECK(r.exit_code == 2);
    CHECK(one_line(r.err));
    CHECK(r.err.find(bad + ":3:") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(out));

    // A run that lasted no time has no rate to compare: refused in one line naming its file.
    auto doc = json::parse(read_file(icx));
    doc["duration_s"] = 0;
    auto still = temp_path("no-duration.json");
    std::ofstream(still) << doc.dump(2);
    r = run_process(pmcmodel({"compare", still, "--json", out}));
    CHECK(r.exit_code == 2);
    CHECK(one_line(r.err));
    CHECK_MESSAGE(r.err.find(still) != std::string::npos, r.err);
    CHECK_FALSE(std::filesystem::exists(out));
    for (const auto& p : {icx, bad, still}) std::filesystem::remove(p);
  }

  TEST_CASE("compare: a run without energy is estimated from the catalog curve and labelled") {
    auto epyc = document("014.txt", "epyc", 0, "", "AMD EPYC 7763 64-Core Processor", 128);
    auto out = temp_path("noenergy.json");
    auto r = run_process(pmcmodel({"compare", epyc, "--json", out}));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    auto row = json::parse(read_file(out))["rows"][0];
    CHECK(row["method"] ==
          "estimated:sku-curve:specpower-12-hewlett-packard-enterprise-proliant-dl325-gen10-plus");
    // (5.24176 s task-clock / 5.23915 s) / 128 CPUs = 0.0078164 load: 56.8 + 43.2 × 0.078164 W.
    double watts = 56.8 + (100 - 56.8) * (5.24176 / 5.23915) / 128 * 10;
    CHECK(row["joules"].get<double>() == doctest::Approx(watts * 5.23915).epsilon(1e-4));
    for (const auto& p : {epyc, out}) std::filesystem::remove(p);
  }

  TEST_CASE("compare --skus projects onto catalog SKUs, each row with its method") {
    auto icx = document("013.txt", "icx", 1200);
    auto out = temp_path("proj.json");
    auto r = run_process(
        pmcmodel({"compare", icx, "--skus", std::string(PMCMODEL_DATA_DIR) + "/skus.csv", "--sku",
                  "aws-c5.large,aws-m5.large", "--json", out}));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    auto doc = json::parse(read_file(out));
    int projected = 0;
    for (const auto& row : doc["rows"])
      if (row["kind"] == "projected") {
        ++projected;
        CHECK(row["method"].get<std::string>().starts_with("projected:cpi-stack:aws-"));
        CHECK(row["uncertainty"].get<double>() > 0);
        CHECK(row["cost_usd"].is_number());
        CHECK(row["missing_inputs"].size() >= 1);  // the 8358 has no catalog row
      }
    CHECK(projected == 2);
    for (const auto& p : {icx, out}) std::filesystem::remove(p);
  }

  TEST_CASE("compare --skus: a SKU without a published curve is ranked on the sku-curve model's") {
    // The shipped catalog's header and its specpower-12 row (EPYC 7763, 1 socket, published
    // curve), then a 2-socket EPYC 7763 server with the curve left empty.
    auto shipped = read_file(std::string(PMCMODEL_DATA_DIR) + "/skus.csv");
    std::stringstream lines(shipped);
    std::string header, line, published;
    std::getline(lines, header);
    while (std::getline(lines, line))
      if (line.starts_with("specpower-12-")) published = line;
    REQUIRE(!published.empty());
    auto skus = temp_path("model-skus.csv");
    std::ofstream(skus) << header << "\n"
                        << published << "\n"
                        << "model-7763,Any,AMD EPYC 7763,2,128,256,2.45,3.5,280,,,,,,,,,,,,256,"
                           "204.8,256,,,none\n";
    auto icx = document("013.txt", "icx", 1200);
    auto out = temp_path("model-proj.json");
    auto r = run_process(
        pmcmodel({"compare", icx, "--skus", skus, "--objective", "energy", "--json", out}));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    auto half = pmc::test::holdout_half_widths(PMCMODEL_DATA_DIR);
    bool seen = false;
    auto doc = json::parse(read_file(out));
    for (const auto& row : doc["rows"]) {
      if (row["machine"] != "model-7763") continue;
      seen = true;
      CHECK(row["rank"].is_number());
      CHECK(row["method"].get<std::string>().ends_with(
          ":model-7763+estimated:sku-curve:model:epyc7763"));
      // The power term is the model's held-out half-width at the projected load.
      double load = row["utilisation"].get<double>();
      CHECK(row["uncertainty"].get<double>() ==
            doctest::Approx(row["duration_uncertainty"].get<double>() +
                            pmc::watts_at_load(half, load))
                .epsilon(1e-6));
    }
    CHECK(seen);
    for (const auto& p : {skus, icx, out}) std::filesystem::remove(p);
  }

  TEST_CASE("compare --min-memory-gb leaves out SKUs with less memory, and says so") {
    // AWS sizes the three with 4, 8 and 16 GiB (data/skus.csv memory_gb, from the instance table).
    auto icx = document("013.txt", "icx-mem", 1200);
    auto out = temp_path("mem.json");
    auto r = run_process(pmcmodel(
        {"compare", icx, "--skus", std::string(PMCMODEL_DATA_DIR) + "/skus.csv", "--sku",
         "aws-c5.large,aws-m5.large,aws-r5.large", "--min-memory-gb", "8", "--json", out}));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    auto doc = json::parse(read_file(out));
    std::vector<std::string> projected;
    for (const auto& row : doc["rows"])
      if (row["kind"] == "projected") projected.push_back(row["sku"].get<std::string>());
    std::sort(projected.begin(), projected.end());
    CHECK(projected == std::vector<std::string>{"aws-m5.large", "aws-r5.large"});
    bool noted = false;
    for (const auto& n : doc["notes"])
      noted = noted || n.get<std::string>().find("--min-memory-gb 8: 1 SKU with less memory") !=
                           std::string::npos;
    CHECK(noted);
    // Nothing left: one line, exit 2, no file.
    std::filesystem::remove(out);
    r = run_process(
        pmcmodel({"compare", icx, "--skus", std::string(PMCMODEL_DATA_DIR) + "/skus.csv", "--sku",
                  "aws-c5.large", "--min-memory-gb", "64", "--json", out}));
    CHECK(r.exit_code == 2);
    CHECK(one_line(r.err));
    CHECK(r.err.find("--min-memory-gb 64") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(out));
    std::filesystem::remove(icx);
  }

  TEST_CASE("compare reads perf stat recordings directly, --help shows examples") {
    auto r = run_process(pmcmodel({"compare", perfstat("013.txt"), perfstat("014.txt"), "--price",
                                   "013=2", "--price", "014=3.6"}));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    CHECK(r.out.find("013") != std::string::npos);
    r = run_process(pmcmodel({"compare", "--help"}));
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("Examples") != std::string::npos);
    r = run_process(pmcmodel({"compare", perfstat("013.txt"), "--objective", "co2"}));
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("--grid-intensity") != std::string::npos);
    auto junk = temp_path("junk.txt");
    std::ofstream(junk) << "hello\n";
    r = run_process(pmcmodel({"compare", junk}));
    CHECK(r.exit_code == 2);
    CHECK(one_line(r.err));
    std::filesystem::remove(junk);
  }
}

namespace {

// 013.txt's run given one H200 at its 700 W limit, written as a measurement document at `path`.
void write_h200_run(const std::string& path) {
  auto m = pmc::import_perf_stat(read_file(perfstat("013.txt")), "013.txt").measurement;
  m.machine.hostname = "h200";
  pmc::GpuInfo gpu;
  gpu.name = "NVIDIA H200";
  gpu.power_limit_w = 700;
  m.machine.gpus.push_back(gpu);
  m.energy.push_back(
      {"gpu0", 700 * m.duration_s, 700, "measured:nvml", 0.01, pmc::EnergyScope::machine});
  std::ofstream(path) << pmc::measurement_to_json(m);
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE(
      "compare: a GPU catalog or --measured-gpu that is not there stops with the file named") {
    auto path = temp_path("h200-bad.json");
    write_h200_run(path);
    SUBCASE("--gpu-catalog names no file: that file is named, not gpu_instances.csv") {
      auto r = run_process(pmcmodel({"compare", path, "--gpu-catalog", "/nonexistent/gpus.csv"}));
      CHECK(r.exit_code == 2);
      CHECK(one_line(r.err));
      CHECK(r.err.find("/nonexistent/gpus.csv") != std::string::npos);
    }
    SUBCASE("--measured-gpu names no row of the catalog") {
      auto r = run_process(pmcmodel({"compare", path, "--measured-gpu", "nvidia-h999"}));
      CHECK(r.exit_code == 2);
      CHECK(one_line(r.err));
      CHECK(r.err.find("--measured-gpu nvidia-h999") != std::string::npos);
      CHECK(r.out.empty());
    }
    std::filesystem::remove(path);
  }

  TEST_CASE("compare ranks a GPU run on the GPU catalog and recommends an instance and a GPU") {
    // 013.txt's run (7.31681 s) given one H200 at its 700 W limit, busy all the time: φ = 1,
    // compute-bound, so time scales with the tensor (else FP32) peak.
    auto m = pmc::import_perf_stat(read_file(perfstat("013.txt")), "013.txt").measurement;
    m.machine.hostname = "h200";
    pmc::GpuInfo gpu;
    gpu.name = "NVIDIA H200";
    gpu.power_limit_w = 700;
    gpu.memory_mib = 143771;
    m.machine.gpus.push_back(gpu);
    m.energy.push_back(
        {"gpu0", 700 * m.duration_s, 700, "measured:nvml", 0.01, pmc::EnergyScope::machine});
    m.metrics.push_back({"gpu_util.gpu0", 1.0, "ratio"});
    m.metrics.push_back({"gpu_sm_clock_mhz.gpu0", 1980, "MHz"});
    auto path = temp_path("h200.json"), out = temp_path("gpu.json");
    std::ofstream(path) << pmc::measurement_to_json(m);
    auto r = run_process(pmcmodel({"compare", path, "--json", out, "--price", "h200=0"}));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    auto doc = json::parse(read_file(out));
    const json* cheapest = nullptr;
    const json* lowest = nullptr;
    for (const auto& rec : doc["recommendations"]) {
      if (rec["rule"] == "gpu-cheapest") cheapest = &rec;
      if (rec["rule"] == "gpu-lowest-energy") lowest = &rec;
    }
    REQUIRE(cheapest);
    REQUIRE(lowest);
    // Price per GPU-hour × time factor: g5.xlarge 1.006 × FP32 66.91/31.5 = 2.14 beats g4dn.xlarge
    // 0.526 × 66.91/8.141 = 4.32, p4d 32.7726/8 × 989.5/312 = 13.0, p5 98.32/8 = 12.3.
    CHECK((*cheapest)["sku"] == "g5.xlarge");
    // Energy factor TDP' × peak ratio: A10G 150 × FP32 66.91/31.5 = 319 beats A10 PCIe
    // 150 × 66.91/31.24 = 321, B100 700 × 989.5/1750 = 396, B200 1000 × 989.5/2250 = 440 and
    // the H200's own 700; the GPU is named, not one of its instances.
    CHECK((*lowest)["sku"] == "nvidia-a10g");
    CHECK((*lowest)["text"].get<std::string>().find("100% compute-bound") != std::string::npos);
    auto table = run_process(pmcmodel({"compare", path, "--objective", "time"}));
    REQUIRE_MESSAGE(table.exit_code == 0, table.err);
    CHECK(table.out.find("GPU ranking") != std::string::npos);
    CHECK(table.out.find("nvidia-h200-sxm") != std::string::npos);

    SUBCASE("the GPU rows are in --json's rows and --csv, and --price names a GPU instance") {
      auto csv = temp_path("gpu.csv");
      auto priced = run_process(
          pmcmodel({"compare", path, "--json", out, "--csv", csv, "--price", "g5.xlarge=0.5"}));
      REQUIRE_MESSAGE(priced.exit_code == 0, priced.err);
      auto d = json::parse(read_file(out));
      size_t measured_gpu = 0, instances = 0, machines = 0;
      const json* g5 = nullptr;
      const json* l40s = nullptr;
      const json* g6e48 = nullptr;
      for (const auto& row : d["rows"]) {
        machines += row["kind"] == "measured";
        measured_gpu += row["kind"] == "gpu-measured";
        instances += row["kind"] == "gpu-instance";
        if (row["machine"] == "g5.xlarge") g5 = &row;
        if (row["machine"] == "nvidia-l40s") l40s = &row;
        if (row["machine"] == "g6e.48xlarge") g6e48 = &row;
      }
      CHECK(machines == 1);
      CHECK(measured_gpu == 1);
      // data/gpu_instances.csv has 38 instances: 30 of the 2023-11 table and Boavizta's g6/g6e
      // lists, and g6e's 8 sizes since the L40S row (NVIDIA's datasheet) joined gpus.csv.
      CHECK(instances == 38);
      // The run ranked on the L40S (NVIDIA's datasheet row) and on a g6e instance: compute-bound,
      // so by the tensor peaks, H200 989.5 over L40S 362.05 TFLOPS, busy all the time.
      REQUIRE(l40s);
      CHECK((*l40s)["kind"] == "gpu-projected");
      CHECK((*l40s)["projected_from"] == "nvidia-h200-sxm");
      CHECK((*l40s)["method"] == "projected:gpu:100%-tensor+0%-bandwidth:nvidia-l40s");
      CHECK((*l40s)["duration_s"].get<double>() == doctest::Approx(m.duration_s * 989.5 / 362.05));
      CHECK((*l40s)["duration_uncertainty"].get<double>() == doctest::Approx(0.15));
      CHECK((*l40s)["uncertainty"].get<double>() > 0.15);
      REQUIRE(g6e48);
      CHECK((*g6e48)["kind"] == "gpu-instance");
      CHECK((*g6e48)["gpu"] == "nvidia-l40s");
      CHECK((*g6e48)["instance_gpus"] == 8);
      CHECK((*g6e48)["duration_s"].get<double>() ==
            doctest::Approx((*l40s)["duration_s"].get<double>()));
      CHECK((*g6e48)["method"] == (*l40s)["method"]);
      CHECK((*g6e48)["cost_usd"].is_null());  // no cited us-east-1 price
      REQUIRE(g5);
      CHECK((*g5)["price_source"] == "--price");
      CHECK((*g5)["gpu"] == "nvidia-a10g");
      CHECK((*g5)["instance_gpus"] == 1);
      CHECK((*g5)["projected_from"] == "nvidia-h200-sxm");
      // 0.5 USD/h for the projected time.
      CHECK((*g5)["cost_usd"].get<double>() ==
            doctest::Approx(0.5 * (*g5)["duration_s"].get<double>() / 3600));
      auto text = read_file(csv);
      CHECK(text.find(",gpu,gpus,instance_gpus,watts_per_gpu\n") != std::string::npos);
      CHECK(text.find(",g5.xlarge,gpu-instance,") != std::string::npos);
      CHECK(size_t(std::count(text.begin(), text.end(), '\n')) == d["rows"].size() + 1);
      std::filesystem::remove(csv);
    }
    SUBCASE("a price for an instance the catalog lacks is still refused") {
      auto refused = run_process(pmcmodel({"compare", path, "--price", "nothing.xlarge=1"}));
      CHECK(refused.exit_code == 2);
      CHECK(one_line(refused.err));
    }
    for (const auto& p : {path, out}) std::filesystem::remove(p);
  }

  TEST_CASE("compare: --price and --sku take one value each, so run files may follow them") {
    // The help's own example: every word after --price was taken as a price before.
    auto icx = document("013.txt", "icx", 1200);
    auto milan = document("014.txt", "milan", 800);
    auto out = temp_path("one-value.json");
    auto r = run_process(pmcmodel({"compare", "--objective", "energy", "--price", "icx=1.2",
                                   "--price", "milan=0.8", icx, milan, "--json", out}));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    auto doc = json::parse(read_file(out));
    REQUIRE(doc["rows"].size() == 2);
    CHECK(doc["rows"][0]["machine"] == "milan");  // 800 J < 1200 J
    CHECK(doc["rows"][0]["cost_usd"].get<double>() == doctest::Approx(0.8 * 5.23915 / 3600));
    CHECK(doc["rows"][1]["cost_usd"].get<double>() == doctest::Approx(1.2 * 7.31681 / 3600));
    r = run_process(pmcmodel({"compare", "--sku", "aws-c5.large", icx, "--json", out}));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    doc = json::parse(read_file(out));
    CHECK(doc["rows"].size() == 2);  // the measured run and its projection onto aws-c5.large
    for (const auto& p : {icx, milan, out}) std::filesystem::remove(p);
  }

  TEST_CASE("compare prices a VM by its share of the catalog instance its CPU matches") {
    // A 2-vCPU Xeon Platinum 8124M matches aws-c5.18xlarge (72 threads, 3.06 USD/h in
    // data/skus.csv), the instance with the most threads of that CPU; the VM pays 2/72 of it,
    // 0.085 USD/h (aws-c5.large's list price), as its energy is 2/72 of that instance's curve.
    auto vm =
        document("013.txt", "c5vm", 0, "", "Intel(R) Xeon(R) Platinum 8124M CPU @ 3.00GHz", 2);
    auto out = temp_path("vm.json");
    auto r = run_process(pmcmodel({"compare", vm, "--json", out}));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    auto row = json::parse(read_file(out))["rows"][0];
    CHECK(row["sku"] == "aws-c5.18xlarge");
    CHECK(row["cost_usd"].get<double>() == doctest::Approx(3.06 * 2 / 72 * 7.31681 / 3600));
    CHECK(row["price_source"].get<std::string>().find("2/72") != std::string::npos);
    for (const auto& p : {vm, out}) std::filesystem::remove(p);
  }

  TEST_CASE("compare: a best cost of 0 leaves every ratio empty with a note, no saving <= 0") {
    auto icx = document("013.txt", "icx", 1200);
    auto milan = document("014.txt", "milan", 800);
    auto out = temp_path("zero.json"), csv = temp_path("zero.csv");
    auto r = run_process(pmcmodel({"compare", icx, milan, "--price", "icx=0", "--price", "milan=1",
                                   "--json", out, "--csv", csv}));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    auto doc = json::parse(read_file(out));
    for (const auto& row : doc["rows"]) CHECK(row["ratio_to_best"].is_null());
    CHECK(doc["rows"][0]["rank"] == 1);
    bool noted = false;
    for (const auto& n : doc["notes"])
      noted = noted || n.get<std::string>().find("best cost is 0") != std::string::npos;
    CHECK(noted);
    // workload,machine,kind,rank,ratio_to_best,…: the ratio's field is empty, never inf.
    auto text = read_file(csv);
    CHECK(text.find("inf") == std::string::npos);
    CHECK(text.find(",icx,measured,1,,") != std::string::npos);
    // A machine priced at almost nothing: every catalog SKU costs more, so no recommendation
    // may claim a saving of 0 or less unless it projects a faster run.
    r = run_process(pmcmodel({"compare", icx, "--price", "icx=0.0001", "--json", out}));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    // Kept in a variable: a range-for over a member of the temporary json would read it freed.
    const auto cheap = json::parse(read_file(out));
    for (const auto& rec : cheap["recommendations"]) {
      INFO(rec.dump());
      if (rec["saving_usd_per_run"].is_number() && rec["saving_usd_per_run"].get<double>() <= 0) {
        REQUIRE(rec["projected_gain"].is_number());
        CHECK(rec["projected_gain"].get<double>() > 0);
        CHECK(rec["text"].get<std::string>().find("saves") == std::string::npos);
      }
    }
    for (const auto& p : {icx, milan, out, csv}) std::filesystem::remove(p);
  }

  TEST_CASE("compare writes all of its outputs or none") {
    auto icx = document("013.txt", "icx", 1200);
    auto out = temp_path("all-or-none.json");
    std::filesystem::remove(out);
    for (const char* bad : {"/nonexistent/x.csv", "/proc/nope.csv"}) {
      INFO(bad);
      auto r = run_process(pmcmodel({"compare", icx, "--json", out, "--csv", bad}));
      CHECK(r.exit_code == 2);
      CHECK(one_line(r.err));
      CHECK_FALSE(std::filesystem::exists(out));
    }
    auto r = run_process(pmcmodel({"compare", icx, "--json", out, "--svg", "/proc/nope.svg"}));
    CHECK(r.exit_code == 2);
    CHECK_FALSE(std::filesystem::exists(out));
    // No temporary file is left beside the good path either.
    for (const auto& entry :
         std::filesystem::directory_iterator(std::filesystem::path(out).parent_path()))
      CHECK(entry.path().filename().string().find(std::filesystem::path(out).filename().string() +
                                                  ".pmcmodel-tmp") == std::string::npos);
    std::filesystem::remove(icx);
  }

  TEST_CASE("compare refuses a run whose command failed unless --allow-failed, then flags it") {
    auto icx = document("013.txt", "icx", 1200);
    auto crashed = document("014.txt", "milan", 800);
    auto doc = json::parse(read_file(crashed));
    doc["exit_status"] = 139;
    doc["signal"] = "SIGSEGV";
    std::ofstream(crashed) << doc.dump(2);
    auto out = temp_path("failed.json");
    std::filesystem::remove(out);
    auto r = run_process(pmcmodel({"compare", icx, crashed, "--json", out}));
    CHECK(r.exit_code == 2);
    CHECK(one_line(r.err));
    CHECK(r.err.find(crashed) != std::string::npos);
    CHECK(r.err.find("SIGSEGV") != std::string::npos);
    CHECK(r.err.find("--allow-failed") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(out));
    r = run_process(pmcmodel({"compare", icx, crashed, "--allow-failed", "--json", out}));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    CHECK(r.out.find("FAILED RUN") != std::string::npos);
    auto cmp = json::parse(read_file(out));
    for (const auto& row : cmp["rows"]) {
      if (row["machine"] == "milan") {
        REQUIRE(row["failed"].size() == 1);
        CHECK(row["failed"][0] == crashed + ": killed by SIGSEGV (exit status 139)");
      } else {
        CHECK(row["failed"].empty());
      }
    }
    bool noted = false;
    for (const auto& n : cmp["notes"])
      noted = noted || (n.get<std::string>().find(crashed) != std::string::npos &&
                        n.get<std::string>().find("SIGSEGV") != std::string::npos);
    CHECK(noted);
    // An exit status alone is a failure too.
    doc.erase("signal");
    doc["exit_status"] = 3;
    std::ofstream(crashed) << doc.dump(2);
    r = run_process(pmcmodel({"compare", icx, crashed, "--json", out}));
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("exit status 3") != std::string::npos);
    for (const auto& p : {icx, crashed, out}) std::filesystem::remove(p);
  }

  TEST_CASE("compare: a number option out of range says what it expects in a short line") {
    auto icx = document("013.txt", "icx", 1200);
    for (const char* option : {"--runs-per-month", "--work", "--min-memory-gb"}) {
      INFO(option);
      auto r = run_process(pmcmodel({"compare", icx, option, "0"}));
      CHECK(r.exit_code == 2);
      CHECK(r.err.find("expected a finite number > 0, found '0'") != std::string::npos);
      CHECK(r.err.size() < 200);  // not DBL_MAX in 309 digits
    }
    std::filesystem::remove(icx);
  }
}
