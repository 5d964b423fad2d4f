// The energy estimate's utilisation (a system-wide target's from /proc/stat, never from its
// task-clock, which counts every CPU's idle time) and power domains that exist but do not count.
// /proc/stat and energy_uj are files in a temporary folder that the test rewrites between the
// run's start and end; the expected watts are the SKU's published SPECpower curve (data/skus.csv,
// SPECpower result 0: IBM x3400 M3, 24 threads; 69.2 W idle, 133 / 140 / 155 / 170 W at 20 / 30 /
// 40 / 50 % load) interpolated by hand and scaled by this machine's 2 of its 24 threads.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "../models/sku_curve_holdout.h"
#include "engine/power/energy_accounting.h"
#include "engine/power/power_source.h"
#include "engine/power/rapl_perf.h"
#include "engine/session/doctor.h"
#include "engine/system/proc_stat.h"
#include "test_support.h"

using namespace pmc;
namespace fs = std::filesystem;

namespace {

const std::string kSku = "specpower-0-ibm-corporation-ibm-system-x3400-m3";
const fs::path kPowerTrees = fs::path(PMC_TEST_DATA) / "sysfs-power";

void write(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::trunc) << text;  // in place: an open descriptor stays valid
}

struct Rig {
  fs::path dir = pmc::test::make_temp_dir("power-estimate");
  SysRoot root;
  EnergySettings settings;
  MachineInfo machine;
  Rig() {
    root.sys = dir / "sys";
    root.proc = dir / "proc";
    fs::create_directories(root.sys);
    fs::create_directories(root.proc);
    settings.sku = kSku;
    settings.catalog = std::string(PMC_SOURCE_DIR) + "/data/skus.csv";
    settings.gpus = "none";
    machine.logical_cpus = 2;
    machine.cpu_model = "Intel(R) Xeon(R) Processor";
  }
  ~Rig() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  void stat(const std::string& cpu_line) { write(root.proc / "stat", cpu_line + "\n"); }
  // The VM's powercap psys zone that stays at 0 µJ (tests/data/sysfs-power/vm-psys-silent), and
  // /proc/stat at its start; returns the zone's energy_uj, for a test to move.
  fs::path silent_psys() {
    fs::copy(kPowerTrees / "vm-psys-silent", root.sys, fs::copy_options::recursive);
    stat("cpu  1000 0 500 8000 100 0 0 0 0 0");
    return root.sys / "class/powercap/intel-rapl:0/energy_uj";
  }
  // The recorder of a command's runs on this rig.
  EnergyRecorder command_recorder() const {
    return EnergyRecorder(settings, root, machine, /*system_wide=*/false);
  }
};

Measurement run_of(double duration_s, double task_clock_ms) {
  Measurement m;
  m.duration_s = duration_s;
  EventCount e;
  e.name = "task-clock";
  e.value = task_clock_ms;
  e.status = EventStatus::counted;
  m.events.push_back(e);
  return m;
}

const EnergyReading* find(const std::vector<EnergyReading>& energy, const std::string& domain,
                          EnergyScope scope = EnergyScope::machine) {
  for (const auto& e : energy)
    if (e.domain == domain && e.scope == scope) return &e;
  return nullptr;
}

bool has_note(const std::vector<std::string>& notes, const std::string& text) {
  for (const auto& n : notes)
    if (n.find(text) != std::string::npos) return true;
  return false;
}

// 2/24 of the SKU's wall watts.
constexpr double kShare = 2.0 / 24.0;

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("utilisation between two /proc/stat readings leaves out idle, iowait and steal") {
    // user nice system idle iowait irq softirq steal: +60 user, +10 system, +5 irq, +5 softirq,
    // +20 steal, +80 idle, +20 iowait = 200 ticks, of which the machine's own work is 80.
    auto a = parse_proc_stat("cpu  1000 0 500 8000 100 50 50 30 0 0\n", 100);
    auto b = parse_proc_stat("cpu  1060 0 510 8080 120 55 55 50 0 0\n", 100);
    REQUIRE(a);
    REQUIRE(b);
    CHECK(b->steal_s - a->steal_s == doctest::Approx(0.2));
    REQUIRE(utilisation_between(*a, *b));
    CHECK(*utilisation_between(*a, *b) == doctest::Approx(80.0 / 200.0));
    CHECK_FALSE(utilisation_between(*a, *a));  // no tick passed
    CHECK_FALSE(utilisation_between(*b, *a));  // backwards
  }

  TEST_CASE("a VM's power PMU listing energy-psys alone plans the platform domain") {
    SysRoot root;
    root.sys = kPowerTrees / "vm-psys-silent";
    auto plan = plan_power_pmu_events(root);
    REQUIRE(plan.events.size() == 1);
    CHECK(plan.events[0].domain == "psys");
    CHECK(plan.events[0].kind == "psys");
  }
}

TEST_SUITE("kernel") {
  TEST_CASE("a system-wide estimate takes utilisation from /proc/stat, not task-clock") {
    Rig rig;
    // 1000 + 500 busy, 8100 idle at the start.
    rig.stat("cpu  1000 0 500 8000 100 0 0 0 0 0");
    EnergyRecorder recorder(rig.settings, rig.root, rig.machine, /*system_wide=*/true);
    recorder.begin_run();
    SUBCASE("the run: busy 80 + 10 ticks, steal 10, idle 100 of 200 → U = 90/200 = 45%") {
      rig.stat("cpu  1080 0 510 8100 100 0 0 10 0 0");
      // System-wide task-clock is every CPU's whole window, idle included: 2 CPUs × 1 s.
      auto m = run_of(1.0, 2000);
      recorder.complete_run(m);
      const EnergyReading* wall = find(m.energy, "wall");
      REQUIRE(wall != nullptr);
      CHECK(wall->method == "estimated:sku-curve:" + kSku);
      // 45%: halfway between 155 W (40%) and 170 W (50%).
      CHECK(wall->average_watts == doctest::Approx(162.5 * kShare));
      CHECK(wall->joules == doctest::Approx(162.5 * kShare * 1.0));
      CHECK(has_note(m.notes, "/proc/stat's cpu line = 45.0%"));
      CHECK_FALSE(find(m.energy, "wall", EnergyScope::command));  // nothing to share with
    }
    SUBCASE("each interval from its own /proc/stat advance, live or marked") {
      for (bool live : {true, false}) {
        CAPTURE(live);
        recorder.begin_run();
        rig.stat("cpu  1000 0 540 8160 100 0 0 0 0 0");  // 40 of 200: 20%, 133 W
        Interval iv;
        iv.duration_s = 1.0;
        iv.events = run_of(1.0, 2000).events;
        std::vector<Interval> ivs{iv};
        if (live) {
          recorder.complete_interval(ivs[0]);
        } else {
          recorder.mark_interval();
          std::vector<std::string> notes;
          recorder.finish_intervals(ivs, notes);
        }
        const EnergyReading* wall = find(ivs[0].energy, "wall");
        REQUIRE(wall != nullptr);
        CHECK(wall->average_watts == doctest::Approx(133 * kShare));
        rig.stat("cpu  1000 0 500 8000 100 0 0 0 0 0");
      }
    }
  }

  TEST_CASE("a command's estimate without task-clock takes its rusage CPU time, and says so") {
    // PAPI refusing task-clock, say: the run has user 0.2 s + system 0.05 s over 1 s on 2 CPUs,
    // U = 12.5%: 119 W (10%) + (133 − 119)·0.25 = 122.5 W of the x3400 M3's curve.
    Rig rig;
    rig.stat("cpu  1000 0 500 8000 100 0 0 0 0 0");
    EnergyRecorder recorder = rig.command_recorder();
    recorder.begin_run();
    Measurement m;
    m.duration_s = 1.0;
    m.user_s = 0.2;
    m.sys_s = 0.05;
    EventCount refused;
    refused.name = "task-clock";
    refused.status = EventStatus::not_supported;
    m.events.push_back(refused);
    recorder.complete_run(m);
    const EnergyReading* wall = find(m.energy, "wall");
    REQUIRE(wall != nullptr);
    CHECK(wall->average_watts == doctest::Approx(122.5 * kShare));
    CHECK(has_note(m.notes,
                   "U = the command's user + system CPU time (rusage; task-clock was not counted) "
                   "/ (duration × 2 logical CPUs) = 12.5%"));
    CHECK_FALSE(has_note(m.notes, "U = task-clock"));
    // With task-clock counted, it is the one used (0.5 s: 25%, 136.5 W), named so.
    auto counted = run_of(1.0, 500);
    counted.user_s = 0.2;
    recorder.begin_run();
    recorder.complete_run(counted);
    REQUIRE(find(counted.energy, "wall") != nullptr);
    CHECK(find(counted.energy, "wall")->average_watts == doctest::Approx(136.5 * kShare));
    CHECK(has_note(counted.notes, "U = task-clock / (duration × 2 logical CPUs) = 25.0%"));
  }

  TEST_CASE("without a /proc/stat tick, a system-wide estimate uses the root cgroup's CPU time") {
    Rig rig;
    rig.stat("cpu  1000 0 500 8000 100 0 0 0 0 0");
    write(rig.root.sys / "fs/cgroup/cpu.stat", "usage_usec 7000000\nuser_usec 5000000\n");
    EnergyRecorder recorder(rig.settings, rig.root, rig.machine, /*system_wide=*/true);
    recorder.begin_run();
    // 0.5 s of CPU time over 2 CPUs × 1 s: 25%, halfway between 133 W (20%) and 140 W (30%).
    write(rig.root.sys / "fs/cgroup/cpu.stat", "usage_usec 7500000\nuser_usec 5400000\n");
    auto m = run_of(1.0, 2000);
    recorder.complete_run(m);
    const EnergyReading* wall = find(m.energy, "wall");
    REQUIRE(wall != nullptr);
    CHECK(wall->average_watts == doctest::Approx(136.5 * kShare));
    CHECK(has_note(m.notes, "fs/cgroup/cpu.stat"));
  }

  TEST_CASE(
      "a power domain reading 0 J over the run is present, not counting: the estimate "
      "takes over") {
    Rig rig;
    fs::path energy_uj = rig.silent_psys();
    EnergyRecorder recorder(rig.settings, rig.root, rig.machine, /*system_wide=*/false);
    recorder.begin_run();
    rig.stat("cpu  1040 0 500 8160 100 0 0 0 0 0");
    // The command ran 0.25 s on 2 CPUs over 1 s: U = 12.5%, between 69.2 W (idle) and 119 W
    // (10%) … and 133 W (20%): 119 + (133 − 119)·0.25 = 122.5 W.
    auto m = run_of(1.0, 250);
    SUBCASE("psys stays at 0 µJ") {
      recorder.complete_run(m);
      const EnergyReading* wall = find(m.energy, "wall");
      REQUIRE(wall != nullptr);
      CHECK(wall->method == "estimated:sku-curve:" + kSku);
      CHECK(wall->average_watts == doctest::Approx(122.5 * kShare));
      CHECK_FALSE(find(m.energy, "psys"));
      CHECK(has_note(m.notes,
                     "power domain psys (measured:powercap) present, not counting: 0 J "
                     "over 1.000 s"));
      CHECK(has_note(m.notes, "energy is an ESTIMATE (estimated:sku-curve:" + kSku +
                                  ", ±30.0%): power domain psys"));
    }
    SUBCASE("psys advances 5 J: it is the machine's energy") {
      write(energy_uj, "000005000000\n");
      recorder.complete_run(m);
      const EnergyReading* psys = find(m.energy, "psys");
      REQUIRE(psys != nullptr);
      CHECK(psys->method == "measured:powercap");
      CHECK(psys->joules == doctest::Approx(5.0));
      auto basis = energy_basis(m.energy);
      REQUIRE(basis);
      CHECK(basis->parts.front().domain == "psys");
      CHECK_FALSE(has_note(m.notes, "not counting"));
    }
  }

  TEST_CASE(
      "the intervals of a run whose power domain does not count carry the run's estimate, live "
      "or marked") {
    Rig rig;
    fs::path energy_uj = rig.silent_psys();
    auto recorder = rig.command_recorder();
    // A run of two intervals of 0.5 s, the command 0.125 s on CPU in each, on 2 CPUs: U = 12.5%
    // in each and over the run, 122.5 W (as above). psys reads `second_uj` from the second
    // interval on. The intervals are built at their ticks (live) or after the run (marked).
    struct Run {
      std::vector<Interval> intervals;
      Measurement m;
    };
    auto run_with = [&](bool live, const std::string& second_uj) {
      write(energy_uj, "000000000000\n");
      recorder.begin_run();
      Run run{std::vector<Interval>(2), run_of(1.0, 250)};
      for (size_t k = 0; k < run.intervals.size(); ++k) {
        auto& iv = run.intervals[k];
        iv.duration_s = 0.5;
        iv.time_s = 0.5 * double(k + 1);
        iv.events = run_of(0.5, 125).events;
        if (k == 1) write(energy_uj, second_uj);
        if (live)
          recorder.complete_interval(iv);
        else
          recorder.mark_interval();
      }
      std::vector<std::string> notes;
      if (!live) recorder.finish_intervals(run.intervals, notes);
      recorder.complete_run(run.m);
      return run;
    };
    SUBCASE("psys stays at 0 µJ: every interval is the estimate, as the run") {
      for (bool live : {true, false}) {
        CAPTURE(live);
        auto [ivs, m] = run_with(live, "000000000000\n");
        const EnergyReading* run_wall = find(m.energy, "wall");
        REQUIRE(run_wall != nullptr);
        double joules = 0, share = 0;
        for (const auto& iv : ivs) {
          CHECK_FALSE(find(iv.energy, "psys"));
          const EnergyReading* wall = find(iv.energy, "wall");
          REQUIRE(wall != nullptr);
          CHECK(wall->method == run_wall->method);
          CHECK(wall->method == "estimated:sku-curve:" + kSku);
          CHECK(wall->average_watts == doctest::Approx(122.5 * kShare));
          CHECK(wall->uncertainty == run_wall->uncertainty);
          const EnergyReading* part = find(iv.energy, "wall", EnergyScope::command);
          REQUIRE(part != nullptr);
          CHECK(part->method == "estimated:sku-curve:" + kSku + "+share:cpu-time");
          joules += wall->joules;
          share += part->joules;
        }
        CHECK(joules == doctest::Approx(run_wall->joules));
        REQUIRE(find(m.energy, "wall", EnergyScope::command));
        CHECK(share == doctest::Approx(find(m.energy, "wall", EnergyScope::command)->joules));
        CHECK_FALSE(has_note(m.notes, "the estimate stands for the intervals"));
      }
    }
    SUBCASE("psys counts from the second interval: that one and the run are measured") {
      for (bool live : {true, false}) {
        CAPTURE(live);
        auto [ivs, m] = run_with(live, "000005000000\n");
        CHECK(find(ivs[0].energy, "wall"));
        CHECK_FALSE(find(ivs[0].energy, "psys"));
        const EnergyReading* psys = find(ivs[1].energy, "psys");
        REQUIRE(psys != nullptr);
        CHECK(psys->method == "measured:powercap");
        CHECK(psys->joules == doctest::Approx(5.0));
        CHECK_FALSE(find(ivs[1].energy, "wall"));
        REQUIRE(find(m.energy, "psys"));
        CHECK(find(m.energy, "psys")->joules == doctest::Approx(5.0));
        CHECK(has_note(m.notes,
                       "the estimate stands for the intervals until 0.500 s into the run (1 of "
                       "them): power domain psys had read 0 J since the run began"));
      }
    }
  }

  TEST_CASE("a masked VM CPU without a SKU: the identified host's curve, and how it was found") {
    Rig rig;
    rig.settings.sku.clear();
    rig.settings.catalog.clear();
    rig.settings.data_dir = std::string(PMC_SOURCE_DIR) + "/data";
    rig.machine.logical_cpus = 4;
    fs::copy_file(fs::path(PMC_TEST_DATA) / "proc-cpuinfo/emr-vm-masked.cpuinfo",
                  rig.root.proc / "cpuinfo");
    rig.stat("cpu  1000 0 500 8000 100 0 0 0 0 0");
    EnergyRecorder recorder(rig.settings, rig.root, rig.machine, /*system_wide=*/false);
    recorder.begin_run();
    auto m = run_of(1.0, 0);
    recorder.complete_run(m);
    const EnergyReading* wall = find(m.energy, "wall");
    REQUIRE(wall != nullptr);
    CHECK(wall->method == "estimated:sku-curve:model:platinum8571n");
    // No task-clock: utilisation 0, so the model's held-out half-width at idle (recomputed from
    // the held-out results), plus 0.1 for the medium-confidence identification.
    auto half = test::holdout_half_widths(std::string(PMC_SOURCE_DIR) + "/data");
    CHECK(wall->uncertainty == doctest::Approx(half[0] + 0.1).epsilon(1e-6));
    CHECK(has_note(m.notes,
                   "host CPU identified as Intel Xeon Platinum 8571N Processor (medium "
                   "confidence): GenuineIntel family 6 model 207 stepping 2 is Emerald "
                   "Rapids"));
    CHECK(has_note(m.notes, "scaled by this machine's 4 of its 208 threads"));
    CHECK_FALSE(has_note(m.notes, "give one with --sku"));
  }

  TEST_CASE("the CPU facts are read only for a CPU that has a name or a known generation") {
    // A data folder whose cpu_facts.csv is broken: reading it is a problem the estimate's note
    // names, so the note tells whether identification read the table.
    auto run_with = [](const std::string& cpuinfo) {
      Rig rig;
      rig.settings.sku.clear();
      rig.settings.catalog.clear();
      fs::path data = rig.dir / "data";
      fs::copy(fs::path(PMC_SOURCE_DIR) / "data", data, fs::copy_options::recursive);
      write(data / "cpu_facts.csv", "not,the,header\n");
      rig.settings.data_dir = data.string();
      write(rig.root.proc / "cpuinfo", cpuinfo);
      rig.stat("cpu  1000 0 500 8000 100 0 0 0 0 0");
      EnergyRecorder recorder(rig.settings, rig.root, rig.machine, /*system_wide=*/false);
      recorder.begin_run();
      auto m = run_of(1.0, 0);
      recorder.complete_run(m);
      return m.notes;
    };
    std::string masked =
        pmc::test::read_file(fs::path(PMC_TEST_DATA) / "proc-cpuinfo/emr-vm-masked.cpuinfo");
    // Emerald Rapids (family 6 model 207) is a known generation: its facts are read.
    CHECK(has_note(run_with(masked), "cpu_facts.csv"));
    // The same VM on a model the generations table lacks, under a name with no model number.
    std::string unknown = masked;
    for (size_t at = 0; (at = unknown.find("model\t\t: 207", at)) != std::string::npos;)
      unknown.replace(at, 12, "model\t\t: 167");
    auto notes = run_with(unknown);
    CHECK_FALSE(has_note(notes, "cpu_facts.csv"));
    CHECK(has_note(notes, "its vendor, family and model are not in"));
    // A CPU named by its model number is looked up by name, whatever its generation.
    std::string named = unknown;
    for (size_t at = 0; (at = named.find("Intel(R) Xeon(R) Processor", at)) != std::string::npos;)
      named.replace(at, 26, "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz");
    CHECK(has_note(run_with(named), "cpu_facts.csv"));
  }

  TEST_CASE("doctor tells a power domain that is present from one that counts") {
    SysRoot root;
    root.sys = kPowerTrees / "vm-psys-silent";
    root.proc = "/proc";
    auto probe = probe_power_source(root, 0.05);
    CHECK(probe.method == "measured:powercap");
    CHECK(probe.counting.empty());
    REQUIRE(probe.silent.size() == 1);
    CHECK(probe.silent[0] == "psys");
    for (const auto& c : run_checks(root)) {
      if (c.name != "energy (RAPL)") continue;
      CHECK_FALSE(c.ok);
      CHECK(c.detail.find("measured:powercap: psys present, not counting (0 J over 0.1 s)") !=
            std::string::npos);
      CHECK(c.detail.find("present and counting") == std::string::npos);
      CHECK(c.fix.find("do not count") != std::string::npos);
    }
  }
}
