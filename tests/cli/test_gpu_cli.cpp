// measure with NVIDIA GPUs, against tests/engine/fake_nvml.c (a libnvidia-ml replaying a real H200
// trace), and with AMD GPUs against tests/engine/fake_amdsmi.c (an energy accumulator at a set
// power). The command itself moves the fake's clock, so what a run sees is known exactly. Then
// calibrate's GPU columns against the trace's own values, and last, a GPU power model fitted on
// the real H200 recordings of tests/data/gpu/ and judged on later ones.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.h"

using namespace pmc::test;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const json* find(const json& energy, const std::string& domain, const std::string& scope) {
  for (const auto& e : energy)
    if (e["domain"] == domain && e["scope"] == scope) return &e;
  return nullptr;
}

}  // namespace

TEST_SUITE("kernel") {
  TEST_CASE("measure: a GPU's joules are its energy counter's advance over the run") {
    fs::path dir = make_temp_dir("gpu-cli");
    fs::path clock = dir / "clock", out = dir / "m.json";
    std::ofstream(clock) << "4.5\n";
    // The command moves the trace to 10.4 s and stays long enough to be seen on the GPU.
    auto r = run_process(pmcmodel({"measure", "-q", "--json", out.string(), "--", "sh", "-c",
                                   "echo 10.4 > " + clock.string() + "; sleep 0.5"}),
                         {std::string("PMCMODEL_NVML_LIBRARY=") + PMC_FAKE_NVML,
                          "PMC_FAKE_NVML_CLOCK=" + clock.string()});
    REQUIRE(r.exit_code == 0);
    json doc = json::parse(read_file(out.string()));
    REQUIRE(doc["machine"]["gpus"].size() == 1);
    CHECK(doc["machine"]["gpus"][0]["name"] == "NVIDIA H200");
    // Rows in force: t=4.4984 (3498747 mJ) and t=10.3942 (7483951 mJ): 3985.204 J.
    auto* g = find(doc["energy"], "gpu0", "machine");
    REQUIRE(g);
    CHECK((*g)["joules"].get<double>() == doctest::Approx(3985.204));
    CHECK((*g)["method"] == "measured:nvml");
    auto* share = find(doc["energy"], "gpu0", "command");
    REQUIRE(share);
    CHECK((*share)["joules"].get<double>() == doctest::Approx(3985.204));
    fs::remove_all(dir);
  }

  TEST_CASE("measure: without NVML nothing about GPUs is said, and the exit status is 0") {
    fs::path dir = make_temp_dir("gpu-cli");
    fs::path out = dir / "m.json";
    auto r = run_process(pmcmodel({"measure", "-q", "--json", out.string(), "--", "true"}),
                         {"PMCMODEL_NVML_LIBRARY=/nonexistent/libnvidia-ml.so.1"});
    REQUIRE(r.exit_code == 0);
    json doc = json::parse(read_file(out.string()));
    CHECK_FALSE(doc["machine"].contains("gpus"));
    for (const auto& e : doc["energy"]) CHECK(e["domain"].get<std::string>().rfind("gpu", 0) != 0);
    for (const auto& n : doc["notes"])
      CHECK(n.get<std::string>().find("NVML") == std::string::npos);
    fs::remove_all(dir);
  }

  TEST_CASE("measure --gpus with an index NVML does not see stops before the run, exit 2") {
    auto r = run_process(pmcmodel({"measure", "--gpus", "3", "--", "true"}),
                         {std::string("PMCMODEL_NVML_LIBRARY=") + PMC_FAKE_NVML});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("GPU 3") != std::string::npos);
  }
  TEST_CASE("measure: an AMD GPU's joules are its accumulator's advance times its resolution") {
    fs::path dir = make_temp_dir("gpu-cli");
    fs::path clock = dir / "clock", out = dir / "m.json";
    std::ofstream(clock) << "0\n";
    // The command moves the stand-in's clock from 0 to 10 s: at 400 W and 15.625 µJ a count,
    // 256,000,000 counts, 4000 J. It stays long enough to be listed on the GPU, alone.
    auto r = run_process(pmcmodel({"measure", "-q", "--json", out.string(), "--", "sh", "-c",
                                   "echo 10 > " + clock.string() + "; sleep 0.5"}),
                         {std::string("PMCMODEL_AMDSMI_LIBRARY=") + PMC_FAKE_AMDSMI,
                          "PMCMODEL_NVML_LIBRARY=/nonexistent/libnvidia-ml.so.1",
                          "PMC_FAKE_AMDSMI_CLOCK=" + clock.string(), "PMC_FAKE_AMDSMI_WATTS=400"});
    REQUIRE(r.exit_code == 0);
    json doc = json::parse(read_file(out.string()));
    REQUIRE(doc["machine"]["gpus"].size() == 1);
    CHECK(doc["machine"]["gpus"][0]["name"] == "AMD Instinct MI300X");
    auto* g = find(doc["energy"], "gpu0", "machine");
    REQUIRE(g);
    CHECK((*g)["joules"].get<double>() == doctest::Approx(4000));
    CHECK((*g)["method"] == "measured:amdsmi");
    auto* share = find(doc["energy"], "gpu0", "command");
    REQUIRE(share);
    CHECK((*share)["joules"].get<double>() == doctest::Approx(4000));
    CHECK((*share)["method"] == "measured:amdsmi+share:sole-process");
    fs::remove_all(dir);
  }

  TEST_CASE("measure: an AMD GPU without an energy counter has its current power integrated") {
    fs::path dir = make_temp_dir("gpu-cli");
    fs::path out = dir / "m.json";
    auto r = run_process(pmcmodel({"measure", "-q", "--json", out.string(), "--", "sleep", "0.5"}),
                         {std::string("PMCMODEL_AMDSMI_LIBRARY=") + PMC_FAKE_AMDSMI,
                          "PMCMODEL_NVML_LIBRARY=/nonexistent/libnvidia-ml.so.1",
                          "PMC_FAKE_AMDSMI_NO_ENERGY=1", "PMC_FAKE_AMDSMI_WATTS=400"});
    REQUIRE(r.exit_code == 0);
    json doc = json::parse(read_file(out.string()));
    REQUIRE(doc["machine"]["gpus"].size() == 1);
    CHECK(doc["machine"]["gpus"][0]["energy_method"] == "measured:amdsmi-power");
    auto* g = find(doc["energy"], "gpu0", "machine");
    REQUIRE(g);
    CHECK((*g)["method"] == "measured:amdsmi-power");
    // A constant 400 W: the trapezoids give it back over whatever window was sampled.
    CHECK((*g)["average_watts"].get<double>() == doctest::Approx(400).epsilon(0.01));
    CHECK((*g)["uncertainty"].get<double>() >= 0.05);
    fs::remove_all(dir);
  }

  TEST_CASE("measure: without AMD SMI nothing about AMD GPUs is said, and the exit status is 0") {
    fs::path dir = make_temp_dir("gpu-cli");
    fs::path out = dir / "m.json";
    auto r = run_process(pmcmodel({"measure", "-q", "--json", out.string(), "--", "true"}),
                         {"PMCMODEL_AMDSMI_LIBRARY=/nonexistent/libamd_smi.so",
                          "PMCMODEL_NVML_LIBRARY=/nonexistent/libnvidia-ml.so.1"});
    REQUIRE(r.exit_code == 0);
    json doc = json::parse(read_file(out.string()));
    CHECK_FALSE(doc["machine"].contains("gpus"));
    for (const auto& e : doc["energy"]) CHECK(e["domain"].get<std::string>().rfind("gpu", 0) != 0);
    for (const auto& n : doc["notes"]) {
      CHECK(n.get<std::string>().find("AMD SMI") == std::string::npos);
      CHECK(n.get<std::string>().find("libamd_smi") == std::string::npos);
    }
    fs::remove_all(dir);
  }
}

TEST_SUITE("pure") {
  TEST_CASE("--gpus help names both libraries, NVIDIA's GPUs numbered first") {
    for (const char* command : {"measure", "serve"}) {
      CAPTURE(command);
      auto r = run_process(pmcmodel({command, "--help"}));
      REQUIRE(r.exit_code == 0);
      auto at = r.out.find("--gpus");
      REQUIRE(at != std::string::npos);
      auto help = r.out.substr(at, r.out.find("\n  -", at + 1) - at);
      CHECK(help.find("NVML") != std::string::npos);
      CHECK(help.find("AMD SMI") != std::string::npos);
      CHECK(help.find("NVIDIA GPUs") == std::string::npos);
    }
  }
}

namespace {

// The rows of trace 1 (tests/data/gpu/h200-trace1-samples.csv) with t_s in [from, to]: each
// column by its header name.
std::map<std::string, std::vector<double>> trace1_window(double from, double to) {
  std::ifstream in(std::string(PMC_TEST_DATA) + "/gpu/h200-trace1-samples.csv");
  std::string line;
  std::getline(in, line);
  std::vector<std::string> names;
  std::stringstream header(line);
  for (std::string cell; std::getline(header, cell, ',');) names.push_back(cell);
  std::map<std::string, std::vector<double>> out;
  while (std::getline(in, line)) {
    std::vector<double> cells;
    std::stringstream row(line);
    for (std::string cell; std::getline(row, cell, ',');) cells.push_back(std::stod(cell));
    if (cells.size() != names.size() || cells[0] < from || cells[0] > to) continue;
    for (size_t i = 0; i < names.size(); ++i) out[names[i]].push_back(cells[i]);
  }
  return out;
}

// A calibrate dataset: its header's columns and its rows, the comment lines skipped.
struct CsvTable {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
  std::vector<double> column(const std::string& name) const {
    auto at = std::find(columns.begin(), columns.end(), name);
    REQUIRE_MESSAGE(at != columns.end(), name);
    std::vector<double> out;
    for (const auto& r : rows) out.push_back(std::stod(r[size_t(at - columns.begin())]));
    return out;
  }
};
CsvTable read_dataset(const std::string& path) {
  std::ifstream in(path);
  CsvTable t;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> cells;
    std::stringstream row(line);
    for (std::string cell; std::getline(row, cell, ',');) cells.push_back(cell);
    if (t.columns.empty())
      t.columns = cells;
    else
      t.rows.push_back(cells);
  }
  return t;
}

}  // namespace

TEST_SUITE("kernel") {
  TEST_CASE("calibrate: a GPU's columns carry what NVML read, its watts from the energy counter") {
    fs::path dir = make_temp_dir("gpu-calibrate");
    auto data = (dir / "calib.csv").string();
    // The stand-in starts 5 s into trace 1, in its 8192² bf16 matmul (4.46-10.46 s), and replays
    // it in real time.
    const double start = 5;
    auto began = std::chrono::steady_clock::now();
    auto r = run_process(
        pmcmodel({"calibrate", "--seconds", "2", "--workloads", "idle", "--threads", "1",
                  "--interval-ms", "500", "--power-source", "none", "--out-data", data}),
        {std::string("PMCMODEL_NVML_LIBRARY=") + PMC_FAKE_NVML,
         "PMC_FAKE_NVML_START=" + std::to_string(start)});
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    CHECK(r.out.find("gpus: gpu0_watts, gpu0_util_pct, gpu0_memory_util_pct, "
                     "gpu0_sm_clock_mhz, gpu0_memory_clock_mhz, gpu0_temperature_c, "
                     "gpu0_temperature_rise_c_per_s") != std::string::npos);
    CsvTable t = read_dataset(data);
    REQUIRE(t.rows.size() >= 2);
    // Every value the run could have read lies in the trace between the start and the run's end.
    auto trace = trace1_window(start, start + wall);
    REQUIRE(trace["t_s"].size() > 10);
    auto within = [&](const std::string& column, const std::string& trace_column) {
      auto [lo, hi] = std::minmax_element(trace[trace_column].begin(), trace[trace_column].end());
      for (double v : t.column(column)) {
        CHECK(v >= *lo);
        CHECK(v <= *hi);
      }
    };
    within("gpu0_util_pct", "util_gpu_pct");
    within("gpu0_memory_util_pct", "util_mem_pct");
    within("gpu0_sm_clock_mhz", "sm_mhz");
    within("gpu0_memory_clock_mhz", "mem_mhz");
    within("gpu0_temperature_c", "temp_c");
    // Watts: the counter's advance over each 500 ms row. The counter steps about every 100 ms, so
    // a row may be off by one step (±20 %) from the trace's mean rate over the window.
    auto& mj = trace["energy_mj"];
    auto& ts = trace["t_s"];
    double rate = (mj.back() - mj.front()) / 1e3 / (ts.back() - ts.front());
    CHECK(rate > 600);  // the matmul, not the idle 120 W
    double sum = 0;
    for (double w : t.column("gpu0_watts")) {
      CHECK(w == doctest::Approx(rate).epsilon(0.25));
      sum += w;
    }
    CHECK(sum / double(t.rows.size()) == doctest::Approx(rate).epsilon(0.1));
    fs::remove_all(dir);
  }

  TEST_CASE(
      "calibrate: without a GPU library, or with --gpus none, the dataset has no GPU column") {
    fs::path dir = make_temp_dir("gpu-calibrate");
    auto data = (dir / "calib.csv").string();
    const std::vector<std::string> args = {"calibrate", "--seconds",     "1",   "--workloads",
                                           "idle",      "--threads",     "1",   "--power-source",
                                           "none",      "--interval-ms", "200", "--out-data",
                                           data};
    SUBCASE("no library") {
      auto r =
          run_process(pmcmodel(args), {"PMCMODEL_NVML_LIBRARY=/nonexistent/libnvidia-ml.so.1"});
      REQUIRE_MESSAGE(r.exit_code == 0, r.err);
      CHECK(r.out.find("gpus:") == std::string::npos);
    }
    SUBCASE("--gpus none, though NVML is there") {
      auto none = args;
      none.insert(none.end(), {"--gpus", "none"});
      auto r = run_process(pmcmodel(none), {std::string("PMCMODEL_NVML_LIBRARY=") + PMC_FAKE_NVML});
      REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    }
    for (const auto& c : read_dataset(data).columns) CHECK(c.find("gpu") == std::string::npos);
    fs::remove_all(dir);
  }
}

namespace {

// The H200 recordings of tests/data/gpu/ as one table in recording order (trace 3 was recorded
// after trace 1; its clock is shifted past trace 1's end): timestamp, the instant power in watts,
// utilisation, memory-controller activity, the SM and memory clocks, the temperature and its rise
// over the last second (°C/s, from the row about 1 s earlier; 0 until a second has passed).
std::vector<std::string> h200_rows() {
  std::vector<std::string> rows;
  double offset = 0;
  for (const char* trace : {"h200-trace1-samples.csv", "h200-trace3-samples.csv"}) {
    std::ifstream in(std::string(PMC_TEST_DATA) + "/gpu/" + trace);
    std::string line;
    std::getline(in, line);
    double last = 0;
    std::vector<std::pair<double, double>> temps;  // this trace's (t, °C) so far
    size_t back = 0;                               // the first of them within the last second
    while (std::getline(in, line)) {
      std::vector<std::string> cells;
      std::stringstream row(line);
      for (std::string cell; std::getline(row, cell, ',');) cells.push_back(cell);
      if (cells.size() < 10) continue;
      last = std::stod(cells[0]) + offset;
      double temp = std::stod(cells[9]);
      temps.emplace_back(last, temp);
      while (temps[back].first < last - 1.0) ++back;
      double span = last - temps[back].first;
      double rise = span > 0.5 ? (temp - temps[back].second) / span : 0;
      // t_s, power_mw, energy_mj, power_avg_mw, power_instant_mw, sm_mhz, mem_mhz, util_gpu_pct,
      // util_mem_pct, temp_c, …
      rows.push_back(std::to_string(last) + "," + std::to_string(std::stod(cells[4]) / 1000) + "," +
                     cells[7] + "," + cells[8] + "," + cells[5] + "," + cells[6] + "," + cells[9] +
                     "," + std::to_string(rise));
    }
    offset = last + 60;
  }
  return rows;
}

double percent_after(const std::string& text, const std::string& label) {
  auto at = text.find(label);
  REQUIRE_MESSAGE(at != std::string::npos, text);
  return std::stod(text.substr(at + label.size()));
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("a GPU power model from NVML readings is judged on later recordings than its fit") {
    fs::path dir = make_temp_dir("gpu-model");
    auto rows = h200_rows();
    REQUIRE(rows.size() == 2361 + 2744);
    size_t earlier = rows.size() * 7 / 10;
    const std::string header =
        "timestamp,watts,util_gpu_pct,util_mem_pct,sm_mhz,mem_mhz,temp_c,temp_rise_c_per_s\n";
    std::ofstream fit_rows(dir / "earlier.csv"), later_rows(dir / "later.csv");
    fit_rows << header;
    later_rows << header;
    for (size_t i = 0; i < rows.size(); ++i)
      (i < earlier ? fit_rows : later_rows) << rows[i] << "\n";
    fit_rows.close();
    later_rows.close();
    struct Judged {
      double cv_mape = 0, later_mape = 0;
    };
    auto judge = [&](const std::string& features) {
      auto model = (dir / "model.json").string();
      auto fit = run_process(pmcmodel({"fit", "--data", (dir / "earlier.csv").string(), "--target",
                                       "watts", "--features", features, "--out", model}));
      REQUIRE_MESSAGE(fit.exit_code == 0, fit.err);
      // The timestamp column makes the cross-validation time-ordered: each block is predicted by
      // a fit to the blocks before it.
      CHECK(fit.out.find("time-ordered") != std::string::npos);
      auto predict = run_process(
          pmcmodel({"predict", "--model", model, "--data", (dir / "later.csv").string()}));
      REQUIRE_MESSAGE(predict.exit_code == 0, predict.err);
      return Judged{percent_after(fit.out + fit.err, "held-out MAPE "),
                    percent_after(predict.out + predict.err, "errors on these rows: MAPE ")};
    };
    Judged util = judge("util_gpu_pct");
    Judged clocks = judge("util_gpu_pct,util_mem_pct,sm_mhz");
    // Within the kernels the earlier rows hold, memory-controller activity and the SM clock (held
    // down at the 700 W limit) explain what utilisation does not.
    CHECK(clocks.cv_mape < util.cv_mape);
    // The later rows are kernels the fit never saw (PCIe copies at 94 % utilisation drawing
    // ~134 W, a reduction, a convolution, a gather): every such model is far worse there than its
    // cross-validation said (docs/MODELS.md).
    CHECK(util.later_mape > 2 * util.cv_mape);
    CHECK(clocks.later_mape > 2 * clocks.cv_mape);
    // The GPU's temperature and its rise (a thermal RC: P = (T - T0)/R + C dT/dt) carry to the
    // later kernels, PCIe copies included, which utilisation takes for compute: a least-squares
    // fit outside pmcmodel on these rows gives 28.6 % on the later rows (docs/MODELS.md).
    Judged thermal = judge("temp_c,temp_rise_c_per_s");
    CHECK(thermal.later_mape < 32);
    CHECK(thermal.later_mape < util.later_mape / 3);
    Judged both = judge("util_gpu_pct,util_mem_pct,sm_mhz,temp_c,temp_rise_c_per_s");
    CHECK(both.later_mape < 27);
    fs::remove_all(dir);
  }
}
