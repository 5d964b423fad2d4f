// The NVML GPU source against tests/engine/fake_nvml.c, a libnvidia-ml that replays a real H200
// trace (tests/data/gpu/h200-trace1-samples.csv) by the time since nvmlInit, or by a clock file
// this test writes. Expected joules are worked out by hand from the trace's rows in the comments.
#include <doctest/doctest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/power/energy_accounting.h"
#include "engine/power/nvml.h"
#include "gpu_test_support.h"

using namespace pmc;
namespace fs = std::filesystem;

namespace {

using test::FakeNvml;
using test::find_reading;
using test::has_note;
using test::one_sample;

// Samples `source` every 20 ms for `seconds`.
void sample_for(GpuSource& source, double seconds) {
  auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    source.sample();
  }
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("--gpus takes all, none, indices and ranges") {
    auto all = parse_gpu_selection("all");
    REQUIRE(all);
    CHECK(all->kind == GpuSelection::Kind::all);
    CHECK(parse_gpu_selection("none")->kind == GpuSelection::Kind::none);
    auto list = parse_gpu_selection("3,0-1,1");
    REQUIRE(list);
    CHECK(list->kind == GpuSelection::Kind::list);
    CHECK(list->indices == std::vector<unsigned>{0, 1, 3});
    CHECK_FALSE(parse_gpu_selection(""));
    CHECK_FALSE(parse_gpu_selection("gpu0"));
    CHECK_FALSE(parse_gpu_selection("2-1"));
    CHECK_FALSE(parse_gpu_selection("0,,1"));
  }

  TEST_CASE("the basis of a run adds the GPU cards to the widest CPU domain, except to wall") {
    std::vector<EnergyReading> e = {
        {"package", 100, 10, "measured:powercap", 0.0, EnergyScope::machine},
        {"core", 60, 6, "measured:powercap", 0.0, EnergyScope::machine},
        {"gpu0", 300, 30, "measured:nvml", 0.01, EnergyScope::machine},
        {"gpu", 5, 0.5, "measured:powercap", 0.0, EnergyScope::machine},  // RAPL's integrated GPU
    };
    auto b = energy_basis(e);
    REQUIRE(b);
    CHECK(b->scope == EnergyScope::machine);
    CHECK(b->joules == doctest::Approx(400));  // package 100 + gpu0 300
    CHECK(b->average_watts == doctest::Approx(40));
    CHECK(b->uncertainty == doctest::Approx(300 * 0.01 / 400));
    REQUIRE(b->parts.size() == 2);
    CHECK(b->parts[0].domain == "package");

    e.push_back({"wall", 500, 50, "measured:external", 0.02, EnergyScope::machine});
    b = energy_basis(e);
    REQUIRE(b);
    CHECK(b->joules == doctest::Approx(500));  // a wall meter contains the GPU card
    CHECK(b->parts.size() == 1);

    std::vector<EnergyReading> command = {
        {"package", 100, 10, "measured:powercap", 0.0, EnergyScope::machine},
        {"gpu0", 300, 30, "measured:nvml", 0.0, EnergyScope::machine},
        {"package", 20, 2, "measured:powercap+share:cpu-time", 0.1, EnergyScope::command},
        {"gpu0", 240, 24, "measured:nvml+share:sm-util", 0.25, EnergyScope::command},
    };
    b = energy_basis(command);
    REQUIRE(b);
    CHECK(b->scope == EnergyScope::command);
    CHECK(b->joules == doctest::Approx(260));
    CHECK(b->uncertainty == doctest::Approx((20 * 0.1 + 240 * 0.25) / 260));

    std::vector<EnergyReading> gpus_only = {
        {"gpu0", 10, 1, "measured:nvml", 0, EnergyScope::machine},
        {"gpu1", 30, 3, "measured:nvml", 0, EnergyScope::machine}};
    b = energy_basis(gpus_only);
    REQUIRE(b);
    CHECK(b->joules == doctest::Approx(40));
    CHECK(is_gpu_card_domain("gpu12"));
    CHECK_FALSE(is_gpu_card_domain("gpu"));
    CHECK_FALSE(is_gpu_card_domain("gpu-1"));
  }
}

TEST_SUITE("kernel") {
  TEST_CASE("without NVML there is no GPU source, and the reason says why") {
    ::setenv("PMCMODEL_NVML_LIBRARY", "/nonexistent/libnvidia-ml.so.1", 1);
    auto choice = open_nvml_source({});
    ::unsetenv("PMCMODEL_NVML_LIBRARY");
    CHECK_FALSE(choice.source);
    CHECK_FALSE(choice.library_found);
    CHECK(choice.reason_if_none.find("/nonexistent/libnvidia-ml.so.1") != std::string::npos);
    auto none = open_nvml_source(*parse_gpu_selection("none"));
    CHECK_FALSE(none.source);
  }

  TEST_CASE("without an NVIDIA driver device the default library is not looked for") {
    // NVML answers only through /dev/nvidiactl (/dev/dxg under WSL 2); on a machine with neither
    // the loader's search for libnvidia-ml.so.1 is skipped and the reason names the device.
    if (::access("/dev/nvidiactl", F_OK) == 0 || ::access("/dev/dxg", F_OK) == 0) return;
    ::unsetenv("PMCMODEL_NVML_LIBRARY");
    auto choice = open_nvml_source({});
    CHECK_FALSE(choice.source);
    CHECK_FALSE(choice.library_found);
    CHECK(choice.reason_if_none.find("/dev/nvidiactl") != std::string::npos);
  }

  TEST_CASE("nvmlInit failing leaves no source, with NVML's error") {
    FakeNvml fake({{"PMC_FAKE_NVML_INIT_FAIL", "1"}});
    auto choice = open_nvml_source({});
    CHECK_FALSE(choice.source);
    CHECK(choice.library_found);
    CHECK(choice.reason_if_none.find("Driver Not Loaded") != std::string::npos);
    auto st = nvml_status();
    CHECK_FALSE(st.problem.empty());
  }

  TEST_CASE("the energy counter: joules are its advance over the window") {
    FakeNvml fake;
    auto choice = fake.open_at(4.5);
    REQUIRE(choice.source);
    auto& src = *choice.source;
    REQUIRE(src.gpus().size() == 1);
    CHECK(src.gpus()[0].name == "NVIDIA H200");
    CHECK(src.gpus()[0].driver == "580.159.04");
    CHECK(src.gpus()[0].power_limit_w == doctest::Approx(700));
    CHECK(src.gpus()[0].energy_method == "measured:nvml");
    CHECK(src.method() == "measured:nvml");
    CHECK(src.sample_ms() == 100);
    src.start();
    // The row in force at 4.5 s is t=4.4984 (energy_mj 3498747); at 10.4 s t=10.3942 (7483951):
    // 7483951 - 3498747 = 3985204 mJ.
    fake.at(10.4);
    src.sample();
    auto run = src.read_since_start();
    auto* g = find_reading(run, "gpu0");
    REQUIRE(g);
    CHECK(g->joules == doctest::Approx(3985.204).epsilon(1e-9));
    CHECK(g->method == "measured:nvml");
    // No command filter was set: no share.
    CHECK_FALSE(find_reading(run, "gpu0", EnergyScope::command));
    // The activity of the sample taken at 10.4 s: utilisation 99 %, SM clock 1455 MHz.
    auto act = src.last_activity();
    REQUIRE(act.size() == 1);
    CHECK(act[0].util_pct == doctest::Approx(99));
    CHECK(act[0].sm_clock_mhz == doctest::Approx(1455));
  }

  TEST_CASE("intervals: each one's counter advance, and they add up to the run") {
    FakeNvml fake;
    auto& src = fake.started_at(4.5);
    // 4.5 → 10.4: 3985204 mJ (above); then a second interval in which the clock stands still.
    fake.at(10.4);
    src.mark_interval();
    fake.at(10.4);
    src.mark_interval();  // nothing moved: 0 J
    auto marked = src.take_marked_intervals();
    REQUIRE(marked.size() == 2);
    CHECK(find_reading(marked[0], "gpu0")->joules == doctest::Approx(3985.204));
    CHECK(find_reading(marked[1], "gpu0")->joules == doctest::Approx(0));
    CHECK(src.take_marked_activity().size() == 2);
    auto run = src.read_since_start();
    CHECK(find_reading(run, "gpu0")->joules == doctest::Approx(3985.204));
  }

  TEST_CASE("intervals: each one's memory clock and temperature are the trace's readings") {
    FakeNvml fake;
    auto& src = fake.started_at(3.0);
    // Trace rows in force: at 3.0 s t=2.9985 (idle: SM 1980 MHz, memory 3201 MHz, 37 °C); at
    // 10.4 s t=10.3942 (the bf16 matmul: SM 1455 MHz, memory 3201 MHz, 57 °C).
    src.sample();
    src.mark_interval();
    fake.at(10.4);
    src.sample();
    src.sample();
    src.mark_interval();
    auto marked = src.take_marked_activity();
    REQUIRE(marked.size() == 2);
    REQUIRE(marked[0].size() == 1);
    REQUIRE(marked[1].size() == 1);
    CHECK(marked[0][0].sm_clock_mhz == doctest::Approx(1980));
    CHECK(marked[0][0].memory_clock_mhz == doctest::Approx(3201));
    CHECK(marked[0][0].temperature_c == doctest::Approx(37));
    CHECK(marked[1][0].sm_clock_mhz == doctest::Approx(1455));
    CHECK(marked[1][0].memory_clock_mhz == doctest::Approx(3201));
    CHECK(marked[1][0].temperature_c == doctest::Approx(57));
    // The second interval's rise starts at the first one's last reading, 37 °C: it rose.
    REQUIRE(marked[1][0].temperature_rise_c_per_s);
    CHECK(*marked[1][0].temperature_rise_c_per_s > 0);
  }

  TEST_CASE("a memory clock or temperature that is not supported is left out, with a note") {
    SUBCASE("the memory clock answers NOT_SUPPORTED") {
      FakeNvml fake({{"PMC_FAKE_NVML_NO_MEM_CLOCK", "1"}});
      auto choice = open_nvml_source({});
      REQUIRE(choice.source);
      CHECK(has_note(choice.notes,
                     "gpu0: no memory clock: nvmlDeviceGetClockInfo(NVML_CLOCK_MEM) answers Not "
                     "Supported"));
      CHECK_FALSE(has_note(choice.notes, "no temperature"));
      auto act = one_sample(*choice.source);
      REQUIRE(act.size() == 1);
      CHECK_FALSE(act[0].memory_clock_mhz);
      CHECK(act[0].sm_clock_mhz);  // the SM clock is the same call's other reading: still read
      CHECK(act[0].temperature_c);
    }
    SUBCASE("the temperature answers NOT_SUPPORTED") {
      FakeNvml fake({{"PMC_FAKE_NVML_NO_TEMPERATURE", "1"}});
      auto choice = open_nvml_source({});
      REQUIRE(choice.source);
      CHECK(has_note(choice.notes, "gpu0: no temperature: nvmlDeviceGetTemperature"));
      auto act = one_sample(*choice.source);
      REQUIRE(act.size() == 1);
      CHECK_FALSE(act[0].temperature_c);
      CHECK_FALSE(act[0].temperature_rise_c_per_s);
      CHECK(act[0].memory_clock_mhz);
    }
    SUBCASE("the library has no nvmlDeviceGetTemperature") {
      FakeNvml fake({}, PMC_FAKE_NVML_NO_TEMPERATURE);
      auto choice = open_nvml_source({});
      REQUIRE(choice.source);
      CHECK(has_note(choice.notes, "lacks nvmlDeviceGetTemperature: no GPU's temperature is read"));
      auto act = one_sample(*choice.source);
      REQUIRE(act.size() == 1);
      CHECK_FALSE(act[0].temperature_c);
      CHECK(act[0].memory_clock_mhz == doctest::Approx(3201));
    }
  }

  TEST_CASE("no energy counter: the instant field at >= 10 Hz is not inflated after a load") {
    // Trace 23.6 s on: the 4 GiB copy (≈ 410 W) ended at 23.486 s. The counter advanced
    // 15139755 - 15028051 = 111704 mJ from t=23.6345 to t=24.5468, 122.4 W; the instant field
    // reads 123-125 W there, the 1 s average 374 W falling to 124 W.
    SUBCASE("instant field") {
      FakeNvml fake({{"PMC_FAKE_NVML_NO_ENERGY", "1"}, {"PMC_FAKE_NVML_START", "23.6"}});
      auto choice = open_nvml_source({});
      REQUIRE(choice.source);
      auto& src = *choice.source;
      CHECK(src.gpus()[0].energy_method == "measured:nvml-power");
      CHECK(src.sample_ms() == 50);
      CHECK(has_note(choice.notes, "Not Supported"));
      src.start();
      sample_for(src, 0.8);
      auto run = src.read_since_start();
      auto* g = find_reading(run, "gpu0");
      REQUIRE(g);
      CHECK(g->method == "measured:nvml-power");
      CHECK(g->average_watts > 115);
      CHECK(g->average_watts < 135);
      CHECK(g->uncertainty >= 0.05);
    }
    SUBCASE("neither counter nor field: the 1 s average, said to be one") {
      FakeNvml fake({{"PMC_FAKE_NVML_NO_ENERGY", "1"},
                     {"PMC_FAKE_NVML_NO_FIELDS", "1"},
                     {"PMC_FAKE_NVML_START", "23.6"}});
      auto choice = open_nvml_source({});
      REQUIRE(choice.source);
      auto& src = *choice.source;
      CHECK(src.gpus()[0].energy_method == "measured:nvml-average");
      src.start();
      sample_for(src, 0.8);
      auto run = src.read_since_start();
      auto* g = find_reading(run, "gpu0");
      REQUIRE(g);
      // What the averaged reading gives in the same window: far above the 122 W drawn.
      CHECK(g->average_watts > 180);
      CHECK(g->uncertainty >= 0.15);
      CHECK(has_note(src.notes(), "1 s moving average"));
    }
  }

  TEST_CASE("two GPUs, a selection, and an index NVML does not see") {
    FakeNvml fake({{"PMC_FAKE_NVML_GPUS", "2"}});
    auto both = open_nvml_source({});
    REQUIRE(both.source);
    CHECK(both.source->gpus().size() == 2);
    both.source.reset();
    auto one = open_nvml_source(*parse_gpu_selection("1"));
    REQUIRE(one.source);
    REQUIRE(one.source->gpus().size() == 1);
    CHECK(one.source->gpus()[0].index == 1);
    one.source->start();
    auto run = one.source->read_since_start();
    CHECK(find_reading(run, "gpu1"));
    CHECK_FALSE(find_reading(run, "gpu0"));
    one.source.reset();
    CHECK_THROWS_WITH_AS(open_nvml_source(*parse_gpu_selection("2")),
                         "--gpus: GPU 2 asked for, but NVML sees GPUs 0-1", std::invalid_argument);
  }

  TEST_CASE("the command's share: sole user, shared by SM time, or none") {
    // A child of this process: the fake lists the caller's children as GPU 0's compute processes.
    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      pause();
      _exit(0);
    }
    auto reap = [child] {
      kill(child, SIGKILL);
      waitpid(child, nullptr, 0);
    };
    SysRoot root = SysRoot::from_env();
    SUBCASE("the command's processes alone on GPU 0; GPU 1 unused") {
      FakeNvml fake({{"PMC_FAKE_NVML_GPUS", "2"}});
      auto choice = fake.open_at(4.5);
      REQUIRE(choice.source);
      choice.source->set_command_processes(descendants_of(root, getpid()));
      choice.source->start();
      fake.at(10.4);
      choice.source->sample();
      auto run = choice.source->read_since_start();
      auto* share = find_reading(run, "gpu0", EnergyScope::command);
      REQUIRE(share);
      CHECK(share->joules == doctest::Approx(3985.204));
      CHECK(share->method == "measured:nvml+share:sole-process");
      CHECK_FALSE(find_reading(run, "gpu1", EnergyScope::command));
      CHECK(has_note(choice.source->notes(), "gpu1: no command share"));
    }
    SUBCASE("another process on GPU 0: split by SM utilisation, 80 to 20") {
      FakeNvml fake({{"PMC_FAKE_NVML_OTHER_PID", "1"}, {"PMC_FAKE_NVML_CHILD_SM", "80"}});
      auto choice = fake.open_at(4.5);
      REQUIRE(choice.source);
      choice.source->set_command_processes(descendants_of(root, getpid()));
      choice.source->start();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      fake.at(10.4);
      choice.source->sample();
      auto run = choice.source->read_since_start();
      auto* machine = find_reading(run, "gpu0");
      auto* share = find_reading(run, "gpu0", EnergyScope::command);
      REQUIRE(share);
      // 3985.204 J × 80 / (80 + 20).
      CHECK(share->joules == doctest::Approx(3188.1632));
      CHECK(share->method == "measured:nvml+share:sm-util");
      CHECK(share->uncertainty == doctest::Approx(machine->uncertainty + 0.25));
      CHECK(has_note(choice.source->notes(), "SM utilisation"));
    }
    reap();
  }
}
