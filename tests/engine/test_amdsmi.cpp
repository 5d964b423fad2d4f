// The AMD SMI GPU source against tests/engine/fake_amdsmi.c, a libamd_smi whose energy
// accumulator advances at a set power: accumulator(t) = START + floor(t × W × 1e6 / resolution)
// (mod 2^bits), t read from a clock file this test writes. Expected joules are worked out by hand
// in the comments; the resolution 15.625 µJ is exact in a float, so they are exact. Without the
// counter, the fake's current socket power replays the H200 trace of tests/data/gpu/ in real
// time, and its integral is worked out here from the same file.
#include <dlfcn.h>
#include <doctest/doctest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "engine/power/amdsmi.h"
#include "engine/power/gpu_source.h"
#include "engine/session/doctor.h"
#include "gpu_test_support.h"

using namespace pmc;
namespace fs = std::filesystem;

namespace {

using test::FakeAmdSmi;
using test::find_reading;
using test::has_note;
using test::one_sample;

// The power the fake replays: each row's instant power (power_instant_mw, the 5th column) rounded
// to whole watts, in force from its t_s until the next row.
struct PowerStep {
  double t = 0, w = 0;
};
std::vector<PowerStep> replayed_trace() {
  std::ifstream in(std::string(PMC_TEST_DATA) + "/gpu/h200-trace1-samples.csv");
  std::string line;
  std::getline(in, line);
  std::vector<PowerStep> steps;
  while (std::getline(in, line)) {
    std::stringstream row(line);
    std::string cell;
    std::vector<double> cells;
    while (std::getline(row, cell, ',') && cells.size() < 5) cells.push_back(std::stod(cell));
    if (cells.size() == 5) steps.push_back({cells[0], std::floor(cells[4] / 1000 + 0.5)});
  }
  return steps;
}

// The exact integral of the replayed power from trace time a to b.
double replayed_joules(const std::vector<PowerStep>& steps, double a, double b) {
  double j = 0;
  for (size_t i = 0; i < steps.size(); ++i) {
    double from = std::max(a, i == 0 ? a : steps[i].t);
    double to = std::min(b, i + 1 < steps.size() ? steps[i + 1].t : b);
    if (to > from) j += steps[i].w * (to - from);
  }
  return j;
}

const Check* check_named(const std::vector<Check>& checks, const std::string& name) {
  for (const auto& c : checks)
    if (c.name == name) return &c;
  return nullptr;
}

// The temperature of the one GPU the stand-in shows, as one sample of a freshly opened source
// reads it (NaN: no reading).
double one_gpu_temperature() {
  auto choice = open_amdsmi_gpus({}, 0);
  REQUIRE(choice.source);
  auto act = one_sample(*choice.source);
  REQUIRE(act.size() == 1);
  return act[0].temperature_c.value_or(std::numeric_limits<double>::quiet_NaN());
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("the accumulator's advance: forward, a 32-bit wrap, a reset") {
    struct Row {
      uint64_t previous, now, counts;
      bool wrapped, reset;
    };
    const uint64_t k32 = uint64_t(1) << 32;
    for (const Row& r : {
             Row{10, 25, 15, false, false}, Row{7, 7, 0, false, false},
             Row{k32 - 100, 50, 150, true, false},  // 100 to 2^32, then 50
             Row{k32 - 1, 0, 1, true, false},
             Row{k32 + 5000, 40, 40, false, true},  // back from above 2^32: counted from 0
         }) {
      CAPTURE(r.previous);
      CAPTURE(r.now);
      auto a = accumulator_advance(r.previous, r.now);
      CHECK(a.counts == r.counts);
      CHECK(a.wrapped == r.wrapped);
      CHECK(a.reset == r.reset);
    }
  }
}

TEST_SUITE("kernel") {
  TEST_CASE("AMD SMI: joules are the accumulator's advance times its resolution") {
    FakeAmdSmi fake({{"PMC_FAKE_AMDSMI_WATTS", "400"}});
    auto choice = open_amdsmi_gpus({}, 0);
    REQUIRE(choice.source);
    CHECK(choice.counted);
    CHECK(choice.seen == 1);
    auto& src = *choice.source;
    REQUIRE(src.gpus().size() == 1);
    const auto& info = src.gpus()[0];
    CHECK(info.name == "AMD Instinct MI300X");
    CHECK(info.driver == "6.8.5");
    CHECK(info.power_limit_w == doctest::Approx(750));
    CHECK(info.memory_mib == doctest::Approx(192 * 1024));
    CHECK(info.energy_method == "measured:amdsmi");
    CHECK(src.method() == "measured:amdsmi");
    src.start();
    // 0 → 5 s: 5 × 400 W = 2000 J = 128,000,000 counts of 15.625 µJ.
    fake.at(5);
    src.sample();
    auto first = src.read_interval();
    REQUIRE(find_reading(first, "gpu0"));
    CHECK(find_reading(first, "gpu0")->joules == doctest::Approx(2000).epsilon(1e-12));
    fake.at(10);
    src.sample();
    auto second = src.read_interval();
    REQUIRE(find_reading(second, "gpu0"));
    CHECK(find_reading(second, "gpu0")->joules == doctest::Approx(2000).epsilon(1e-12));
    // 0 → 10 s: 256,000,000 counts × 15.625 µJ = 4000 J.
    auto run = src.read_since_start();
    auto* g = find_reading(run, "gpu0");
    REQUIRE(g);
    CHECK(g->joules == doctest::Approx(4000).epsilon(1e-12));
    CHECK(g->method == "measured:amdsmi");
    auto act = src.last_activity();
    REQUIRE(act.size() == 1);
    CHECK(act[0].util_pct == doctest::Approx(90));
    CHECK(act[0].sm_clock_mhz == doctest::Approx(2100));
    CHECK(has_note(src.notes(), "amdsmi_get_energy_count, × its resolution of 15.625 µJ"));
  }

  TEST_CASE("AMD SMI: a 32-bit accumulator that wraps during the run is unwrapped") {
    // Starts 1000 counts below 2^32 = 4294967296; 10 s at 400 W add 256,000,000 counts.
    FakeAmdSmi fake({{"PMC_FAKE_AMDSMI_WATTS", "400"},
                     {"PMC_FAKE_AMDSMI_WRAP_BITS", "32"},
                     {"PMC_FAKE_AMDSMI_START", "4294966296"}});
    auto choice = open_amdsmi_gpus({}, 0);
    REQUIRE(choice.source);
    auto& src = *choice.source;
    src.start();
    fake.at(2.5);
    src.sample();
    fake.at(10);
    auto run = src.read_since_start();
    auto* g = find_reading(run, "gpu0");
    REQUIRE(g);
    CHECK(g->joules == doctest::Approx(4000).epsilon(1e-12));
    CHECK(has_note(src.notes(), "wrapped at 32 bits 1 time"));
  }

  TEST_CASE("AMD SMI: on a dual-die part the die that reads 0 gets no reading, and a note") {
    // Two GCDs on one socket: gpu0 reports the package (500 W), gpu1 reads 0.
    FakeAmdSmi fake({{"PMC_FAKE_AMDSMI_GPUS", "2"},
                     {"PMC_FAKE_AMDSMI_DUAL_DIE", "1"},
                     {"PMC_FAKE_AMDSMI_WATTS", "500"}});
    auto choice = open_amdsmi_gpus({}, 0);
    REQUIRE(choice.source);
    auto& src = *choice.source;
    REQUIRE(src.gpus().size() == 2);
    CHECK(src.gpus()[1].name == "AMD Instinct MI250X");
    src.start();
    fake.at(4);
    src.sample();
    auto run = src.read_since_start();
    REQUIRE(find_reading(run, "gpu0"));
    CHECK(find_reading(run, "gpu0")->joules ==
          doctest::Approx(2000).epsilon(1e-12));  // 4 s × 500 W
    CHECK_FALSE(find_reading(run, "gpu1"));       // neither 0 J nor counted twice
    auto notes = src.notes();
    CHECK(has_note(notes, "gpu1 (AMD Instinct MI250X"));
    CHECK(has_note(notes,
                   "one die reports both dies' power and the other 0, so gpu0's reading "
                   "holds this die's energy too"));
    // Utilisation is per die: both are reported.
    CHECK(src.last_activity().size() == 2);

    SUBCASE("the reporting die left out by --gpus is named") {
      auto only = open_amdsmi_gpus(*parse_gpu_selection("1"), 0);
      REQUIRE(only.source);
      only.source->start();
      fake.at(6);
      auto r = only.source->read_since_start();
      CHECK(r.empty());
      CHECK(has_note(only.source->notes(), "not measured: --gpus left it out"));
    }
  }

  TEST_CASE("AMD SMI: without /dev/kfd the default library is not looked for") {
    if (::access("/dev/kfd", F_OK) == 0) return;  // a machine with the amdgpu driver
    ::unsetenv("PMCMODEL_AMDSMI_LIBRARY");
    auto choice = open_amdsmi_gpus({}, 0);
    CHECK_FALSE(choice.source);
    CHECK_FALSE(choice.library_found);
    CHECK(choice.reason_if_none.find("/dev/kfd") != std::string::npos);
  }

  TEST_CASE("AMD SMI: init failing, no energy symbol, a counter that is not supported") {
    SUBCASE("amdsmi_init fails") {
      FakeAmdSmi fake({{"PMC_FAKE_AMDSMI_INIT_FAIL", "1"}});
      auto choice = open_amdsmi_gpus({}, 0);
      CHECK_FALSE(choice.source);
      CHECK(choice.library_found);
      CHECK_FALSE(choice.counted);
      CHECK(choice.reason_if_none.find("amdsmi_init failed: AMDSMI_STATUS_INIT_ERROR") !=
            std::string::npos);
    }
    SUBCASE("the library lacks amdsmi_get_energy_count") {
      FakeAmdSmi fake({{"PMC_FAKE_AMDSMI_NO_POWER", "1"}}, PMC_FAKE_AMDSMI_NO_ENERGY);
      auto choice = open_amdsmi_gpus({}, 0);
      CHECK_FALSE(choice.source);
      CHECK(choice.library_found);
      CHECK(choice.reason_if_none == "no AMD GPU read: none answers");
      CHECK(has_note(choice.notes, "lacks amdsmi_get_energy_count"));
    }
    SUBCASE("the counter answers NOT_SUPPORTED, as in a VM guest") {
      FakeAmdSmi fake({{"PMC_FAKE_AMDSMI_NO_ENERGY", "1"}, {"PMC_FAKE_AMDSMI_NO_POWER", "1"}});
      auto choice = open_amdsmi_gpus({}, 0);
      CHECK_FALSE(choice.source);
      CHECK(has_note(choice.notes, "AMDSMI_STATUS_NOT_SUPPORTED"));
      CHECK(has_note(choice.notes, "VM guests"));
    }
  }

  TEST_CASE("AMD SMI: the temperature is the junction sensor's, else the edge's, else a note") {
    SUBCASE("the junction sensor answers") {
      FakeAmdSmi fake({{"PMC_FAKE_AMDSMI_TEMP", "61"}});
      auto choice = open_amdsmi_gpus({}, 0);
      REQUIRE(choice.source);
      CHECK_FALSE(has_note(choice.notes, "temperature"));
      auto& src = *choice.source;
      src.start();
      src.sample();
      src.mark_interval();
      src.sample();
      src.mark_interval();
      auto marked = src.take_marked_activity();
      REQUIRE(marked.size() == 2);
      for (const auto& interval : marked) {
        REQUIRE(interval.size() == 1);
        CHECK(interval[0].temperature_c == doctest::Approx(61));
        CHECK(interval[0].memory_clock_mhz == doctest::Approx(1300));
      }
      // The second interval rises from the first's last reading: the same 61 °C.
      REQUIRE(marked[1][0].temperature_rise_c_per_s);
      CHECK(*marked[1][0].temperature_rise_c_per_s == doctest::Approx(0));
    }
    SUBCASE("no junction sensor: the edge one (the fake's 10 °C below)") {
      FakeAmdSmi fake({{"PMC_FAKE_AMDSMI_TEMP", "61"}, {"PMC_FAKE_AMDSMI_NO_HOTSPOT", "1"}});
      CHECK(one_gpu_temperature() == doctest::Approx(51));
    }
    // The unit: every AMD SMI release with amdsmi_get_temp_metric returns whole °C (the fraction
    // dropped), while amdsmi.h said "millidegrees Celcius" through ROCm 6.2
    // (engine/power/amdsmi.cpp cites both). Both are read as °C.
    SUBCASE("whole degrees: 61.5 °C is written as 61") {
      FakeAmdSmi fake({{"PMC_FAKE_AMDSMI_TEMP", "61.5"}});
      CHECK(one_gpu_temperature() == doctest::Approx(61));
    }
    SUBCASE("millidegrees: 61500 is 61.5 °C, the edge's 51500 is 51.5 °C") {
      FakeAmdSmi fake({{"PMC_FAKE_AMDSMI_TEMP", "61.5"}, {"PMC_FAKE_AMDSMI_TEMP_MILLI", "1"}});
      auto choice = open_amdsmi_gpus({}, 0);
      REQUIRE(choice.source);
      CHECK_FALSE(has_note(choice.notes, "temperature"));
      auto act = one_sample(*choice.source);
      REQUIRE(act.size() == 1);
      CHECK(act[0].temperature_c == doctest::Approx(61.5));
      fake.set("PMC_FAKE_AMDSMI_NO_HOTSPOT", "1");
      CHECK(one_gpu_temperature() == doctest::Approx(51.5));
    }
    SUBCASE("a small millidegree reading: 1000 m°C is 1 °C, not 1000 °C") {
      FakeAmdSmi fake({{"PMC_FAKE_AMDSMI_TEMP", "1"}, {"PMC_FAKE_AMDSMI_TEMP_MILLI", "1"}});
      CHECK(one_gpu_temperature() == doctest::Approx(1));
    }
    SUBCASE("readings of 200 °C or more are no reading: a note, no temperature") {
      // Junction 210, edge 200 (whole °C): both out of range.
      FakeAmdSmi fake({{"PMC_FAKE_AMDSMI_TEMP", "210"}});
      auto choice = open_amdsmi_gpus({}, 0);
      REQUIRE(choice.source);
      CHECK(has_note(choice.notes,
                     "gpu0: no temperature: amdsmi_get_temp_metric answers no reading"));
      auto act = one_sample(*choice.source);
      REQUIRE(act.size() == 1);
      CHECK_FALSE(act[0].temperature_c);
    }
    SUBCASE("65535, an all-ones uint16, is no reading in either unit") {
      // The junction writes 65535 and is passed over; the edge writes 65525, millidegrees by the
      // rule: 65.525 °C (65.535 would mean the junction's placeholder had been taken).
      FakeAmdSmi fake({{"PMC_FAKE_AMDSMI_TEMP", "65535"}});
      auto choice = open_amdsmi_gpus({}, 0);
      REQUIRE(choice.source);
      auto act = one_sample(*choice.source);
      REQUIRE(act.size() == 1);
      REQUIRE(act[0].temperature_c);
      CHECK(*act[0].temperature_c == doctest::Approx(65.525).epsilon(1e-7));
    }
    SUBCASE("no sensor answers") {
      FakeAmdSmi fake({{"PMC_FAKE_AMDSMI_NO_TEMP", "1"}});
      auto choice = open_amdsmi_gpus({}, 0);
      REQUIRE(choice.source);
      CHECK(has_note(choice.notes,
                     "gpu0: no temperature: amdsmi_get_temp_metric answers "
                     "AMDSMI_STATUS_NOT_SUPPORTED"));
      auto act = one_sample(*choice.source);
      REQUIRE(act.size() == 1);
      CHECK_FALSE(act[0].temperature_c);
      CHECK(act[0].sm_clock_mhz == doctest::Approx(2100));
    }
    SUBCASE("the library has no amdsmi_get_temp_metric") {
      FakeAmdSmi fake({}, PMC_FAKE_AMDSMI_NO_TEMP);
      auto choice = open_amdsmi_gpus({}, 0);
      REQUIRE(choice.source);
      CHECK(
          has_note(choice.notes, "lacks amdsmi_get_temp_metric: no AMD GPU's temperature is read"));
      auto act = one_sample(*choice.source);
      REQUIRE(act.size() == 1);
      CHECK_FALSE(act[0].temperature_c);
      CHECK(act[0].memory_clock_mhz == doctest::Approx(1300));
    }
  }

  TEST_CASE("AMD SMI: without an energy counter the current socket power is integrated") {
    FakeAmdSmi fake({{"PMC_FAKE_AMDSMI_NO_ENERGY", "1"},
                     {"PMC_FAKE_AMDSMI_REPLAY", "1"},
                     {"PMC_FAKE_AMDSMI_TRACE_START", "3"}});
    ::unsetenv("PMC_FAKE_AMDSMI_CLOCK");  // the trace in real time
    auto choice = open_amdsmi_gpus({}, 0);
    REQUIRE(choice.source);
    auto& src = *choice.source;
    CHECK(src.gpus()[0].energy_method == "measured:amdsmi-power");
    CHECK(src.method() == "measured:amdsmi-power");
    CHECK(src.sample_ms() == 50);
    CHECK(has_note(choice.notes,
                   "no energy counter (amdsmi_get_energy_count: "
                   "AMDSMI_STATUS_NOT_SUPPORTED"));
    // The fake's own clock, the one its replay follows (the library is already loaded).
    void* lib = dlopen(PMC_FAKE_AMDSMI, RTLD_NOW | RTLD_NOLOAD);
    REQUIRE(lib);
    auto fake_now = reinterpret_cast<double (*)()>(dlsym(lib, "fake_amdsmi_now"));
    REQUIRE((fake_now != nullptr));
    // Trace 3 s to 6 s: idle, then the bf16 matmul from 4.46 s (about 120 W, then 680 W).
    src.start();
    double from = fake_now() + 3;
    while (fake_now() + 3 < 6) {
      std::this_thread::sleep_for(std::chrono::milliseconds(src.sample_ms()));
      src.sample();
    }
    auto run = src.read_since_start();
    double to = fake_now() + 3;
    dlclose(lib);
    auto* g = find_reading(run, "gpu0");
    REQUIRE(g);
    CHECK(g->method == "measured:amdsmi-power");
    double exact = replayed_joules(replayed_trace(), from, to);
    CAPTURE(exact);
    CAPTURE(g->joules);
    CHECK(exact > 1000);  // the window holds the load
    CHECK(g->uncertainty >= 0.05);
    CHECK(g->uncertainty < 0.1);
    CHECK(std::abs(g->joules - exact) <= g->uncertainty * exact);
    CHECK(has_note(src.notes(), "integrates the current socket power"));
  }

  TEST_CASE("AMD SMI: the command's share, sole user or split by GFX engine time") {
    // A child of this process: the fake lists the caller's children on GPU 0.
    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      pause();
      _exit(0);
    }
    SysRoot root = SysRoot::from_env();
    SUBCASE("the command's processes alone on GPU 0, GPU 1 unused") {
      FakeAmdSmi fake({{"PMC_FAKE_AMDSMI_WATTS", "400"}, {"PMC_FAKE_AMDSMI_GPUS", "2"}});
      auto choice = open_amdsmi_gpus({}, 0);
      REQUIRE(choice.source);
      choice.source->set_command_processes(descendants_of(root, getpid()));
      choice.source->start();
      fake.at(10);
      choice.source->sample();
      auto run = choice.source->read_since_start();
      auto* share = find_reading(run, "gpu0", EnergyScope::command);
      REQUIRE(share);
      // 10 s × 400 W, all of it the command's.
      CHECK(share->joules == doctest::Approx(4000).epsilon(1e-12));
      CHECK(share->method == "measured:amdsmi+share:sole-process");
      CHECK(share->uncertainty == doctest::Approx(find_reading(run, "gpu0")->uncertainty));
      CHECK_FALSE(find_reading(run, "gpu1", EnergyScope::command));
      CHECK(has_note(choice.source->notes(), "gpu1: no command share: AMD SMI never listed"));
    }
    SUBCASE("another process on GPU 0: split by GFX engine time, 80 to 20") {
      FakeAmdSmi fake({{"PMC_FAKE_AMDSMI_WATTS", "400"},
                       {"PMC_FAKE_AMDSMI_OTHER_PID", "1"},
                       {"PMC_FAKE_AMDSMI_CHILD_GFX", "80"}});
      fake.at(1);
      auto choice = open_amdsmi_gpus({}, 0);
      REQUIRE(choice.source);
      choice.source->set_command_processes(descendants_of(root, getpid()));
      choice.source->start();
      fake.at(11);
      choice.source->sample();
      auto interval = choice.source->read_interval();
      auto run = choice.source->read_since_start();
      for (const auto* readings : {&interval, &run}) {
        auto* machine = find_reading(*readings, "gpu0");
        auto* share = find_reading(*readings, "gpu0", EnergyScope::command);
        REQUIRE(machine);
        REQUIRE(share);
        // 1 s → 11 s: 4000 J; the child used 8 s of GFX engine time, the other process 2 s.
        CHECK(machine->joules == doctest::Approx(4000).epsilon(1e-12));
        CHECK(share->joules == doctest::Approx(3200).epsilon(1e-12));
        CHECK(share->method == "measured:amdsmi+share:gfx-time");
        CHECK(share->uncertainty == doctest::Approx(machine->uncertainty + 0.25));
      }
      CHECK(has_note(choice.source->notes(), "GFX engine time"));
    }
    SUBCASE("no command processes asked for: no share") {
      FakeAmdSmi fake({{"PMC_FAKE_AMDSMI_WATTS", "400"}});
      auto choice = open_amdsmi_gpus({}, 0);
      REQUIRE(choice.source);
      choice.source->start();
      fake.at(10);
      auto run = choice.source->read_since_start();
      CHECK(find_reading(run, "gpu0"));
      CHECK_FALSE(find_reading(run, "gpu0", EnergyScope::command));
    }
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
  }

  TEST_CASE("NVIDIA and AMD GPUs together: NVML's first, AMD's numbered after them") {
    FakeAmdSmi fake({{"PMC_FAKE_AMDSMI_WATTS", "400"}});
    fake.set("PMCMODEL_NVML_LIBRARY", PMC_FAKE_NVML);
    auto all = open_gpu_sources({});
    REQUIRE(all.source);
    REQUIRE(all.source->gpus().size() == 2);
    CHECK(all.source->gpus()[0].name == "NVIDIA H200");
    CHECK(all.source->gpus()[1].index == 1);
    CHECK(all.source->gpus()[1].name == "AMD Instinct MI300X");
    REQUIRE(all.libraries.size() == 2);
    CHECK(all.libraries[0].name == "nvml");
    CHECK(all.libraries[0].up);
    CHECK(all.libraries[1].name == "amdsmi");
    CHECK(all.libraries[1].up);
    all.source->start();
    fake.at(10);
    auto run = all.source->read_since_start();
    REQUIRE(find_reading(run, "gpu0"));
    CHECK(find_reading(run, "gpu0")->method == "measured:nvml");
    REQUIRE(find_reading(run, "gpu1"));
    CHECK(find_reading(run, "gpu1")->method == "measured:amdsmi");
    CHECK(find_reading(run, "gpu1")->joules == doctest::Approx(4000).epsilon(1e-12));
    auto notes = all.source->notes();
    CHECK(std::count(notes.begin(), notes.end(), std::string(kGpuDomainsNote)) == 1);

    auto amd_only = open_gpu_sources(*parse_gpu_selection("1"));
    REQUIRE(amd_only.source);
    REQUIRE(amd_only.source->gpus().size() == 1);
    CHECK(amd_only.source->gpus()[0].index == 1);
    CHECK_FALSE(amd_only.libraries[0].up);
    CHECK(amd_only.libraries[0].reason == "no NVIDIA GPU read: none selected (--gpus)");
    CHECK_THROWS_WITH_AS(
        open_gpu_sources(*parse_gpu_selection("2")),
        "--gpus: GPU 2 asked for, but NVML sees GPUs 0-0 and AMD SMI sees GPUs 1-1",
        std::invalid_argument);
  }

  TEST_CASE("without AMD SMI there is no AMD source, and the reason names the library") {
    FakeAmdSmi fake({}, "/nonexistent/libamd_smi.so");
    auto choice = open_amdsmi_gpus({}, 0);
    CHECK_FALSE(choice.source);
    CHECK_FALSE(choice.library_found);
    CHECK(choice.reason_if_none.find("/nonexistent/libamd_smi.so") != std::string::npos);
    auto all = open_gpu_sources({});
    CHECK_FALSE(all.source);
    CHECK_FALSE(all.library_found);
  }

  TEST_CASE("doctor's AMD GPU line: each GPU and its counter, or the library missing and the fix") {
    SysRoot root;
    fs::path empty = test::make_temp_dir("amdsmi-sys");
    root.sys = empty;  // no /sys/module/amdgpu: a machine without the driver
    {
      FakeAmdSmi fake({{"PMC_FAKE_AMDSMI_GPUS", "2"}, {"PMC_FAKE_AMDSMI_DUAL_DIE", "1"}});
      auto checks = run_checks(root);
      auto* c = check_named(checks, "GPU (AMD SMI)");
      REQUIRE(c);
      CHECK(c->ok);
      CHECK(c->detail.find("gpu0 AMD Instinct MI250X: energy measured:amdsmi;") !=
            std::string::npos);
      CHECK(c->detail.find("gpu1 AMD Instinct MI250X: energy measured:amdsmi on gpu0 (dual-die") !=
            std::string::npos);
    }
    {
      FakeAmdSmi fake({}, "/nonexistent/libamd_smi.so");
      auto checks = run_checks(root);
      auto* c = check_named(checks, "GPU (AMD SMI)");
      REQUIRE(c);
      CHECK(c->ok);  // no driver: nothing to measure
      CHECK(c->detail.find("/nonexistent/libamd_smi.so") != std::string::npos);
      CHECK(c->fix.find("PMCMODEL_AMDSMI_LIBRARY") != std::string::npos);
      fs::create_directories(empty / "module/amdgpu");
      auto with_driver = run_checks(root);
      CHECK_FALSE(check_named(with_driver, "GPU (AMD SMI)")->ok);
    }
    fs::remove_all(empty);
  }
}
