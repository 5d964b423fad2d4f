// measure with NVIDIA GPUs, against tests/engine/fake_nvml.c (a libnvidia-ml replaying a real H200
// trace), and with AMD GPUs against tests/engine/fake_amdsmi.c (an energy accumulator at a set
// power). The command itself moves the fake's clock, so what a run sees is known exactly.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

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
    auto r = run_process(
        pmcmodel({"measure", "-q", "--json", out.string(), "--", "sh", "-c",
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
    auto r = run_process(
        pmcmodel({"measure", "-q", "--json", out.string(), "--", "sleep", "0.5"}),
        {std::string("PMCMODEL_AMDSMI_LIBRARY=") + PMC_FAKE_AMDSMI,
         "PMCMODEL_NVML_LIBRARY=/nonexistent/libnvidia-ml.so.1", "PMC_FAKE_AMDSMI_NO_ENERGY=1",
         "PMC_FAKE_AMDSMI_WATTS=400"});
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
