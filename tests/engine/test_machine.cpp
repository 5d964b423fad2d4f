#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "engine/session/machine.h"
#include "test_support.h"

using namespace pmc;

namespace {

// A /sys and /proc of a few files, written for one test and removed after it.
struct TempRoot {
  std::filesystem::path dir = test::make_temp_dir("machine-root");
  SysRoot root{dir / "sys", dir / "proc"};
  void write(const std::string& path, const std::string& text) const {
    auto file = dir / path;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file) << text << "\n";
  }
  ~TempRoot() { std::filesystem::remove_all(dir); }
};

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("parse_cpuinfo reads the first processor block") {
    // Layout of an Intel /proc/cpuinfo (x86 show_cpuinfo in arch/x86/kernel/cpu/proc.c).
    const char* text =
        "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\n"
        "model name\t: Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz\nstepping\t: 7\n\n"
        "processor\t: 1\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\n\n";
    MachineInfo info;
    parse_cpuinfo(text, info);
    CHECK(info.vendor == "GenuineIntel");
    CHECK(info.family == 6);
    CHECK(info.model == 85);
    CHECK(info.stepping == 7);
    CHECK(info.cpu_model == "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz");
    CHECK(info.logical_cpus == 2);
  }
  TEST_CASE("parse_cpuinfo reads Arm implementer and part") {
    // arch/arm64/kernel/cpuinfo.c: Neoverse N1 is implementer 0x41, part 0xd0c.
    const char* text =
        "processor\t: 0\nBogoMIPS\t: 50.00\nCPU implementer\t: 0x41\n"
        "CPU architecture: 8\nCPU variant\t: 0x3\nCPU part\t: 0xd0c\n\n";
    MachineInfo info;
    parse_cpuinfo(text, info);
    CHECK(info.vendor == "ARM");
    CHECK(info.family == 0x41);
    CHECK(info.model == 0xd0c);
  }

  TEST_CASE("parse_cpuinfo takes POWER's cpu line where there is no model name") {
    MachineInfo power;
    parse_cpuinfo(test::read_file(std::string(PMC_TEST_DATA) + "/proc-cpuinfo/power9.cpuinfo"),
                  power);
    CHECK(power.cpu_model == "POWER9, altivec supported");
    CHECK(power.logical_cpus == 2);
    MachineInfo riscv;
    parse_cpuinfo(test::read_file(std::string(PMC_TEST_DATA) + "/proc-cpuinfo/riscv.cpuinfo"),
                  riscv);
    CHECK(riscv.cpu_model.empty());
    CHECK(riscv.logical_cpus == 2);
  }

  TEST_CASE("machine_literals: CPUs, SMT, packages and Arm's slots from sysfs") {
    SUBCASE("two packages of two CPUs with SMT on, an Armv8.4 PMU with caps/slots") {
      TempRoot t;
      t.write("sys/devices/system/cpu/smt/active", "1");
      for (int cpu : {0, 1})
        t.write(
            "sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/physical_package_id",
            "0");
      for (int cpu : {2, 3})
        t.write(
            "sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/physical_package_id",
            "1");
      t.write("sys/bus/event_source/devices/armv8_pmuv3_0/caps/slots", "0x00000008");
      MachineInfo m;
      m.logical_cpus = 4;
      m.pmus = {"software", "armv8_pmuv3_0"};
      auto literals = machine_literals(m, t.root);
      CHECK(literals.find("num_cpus") == 4.0);
      CHECK(literals.find("smt_on") == 1.0);
      CHECK(literals.find("num_packages") == 2.0);
      CHECK(literals.find("slots") == 8.0);  // caps/slots is hexadecimal, as the kernel prints it
    }
    SUBCASE("the spr-2s fixture: 128 CPUs on two packages, no SMT file, no slots") {
      SysRoot root;
      root.sys = std::string(PMC_TEST_DATA) + "/sysfs/spr-2s";
      MachineInfo m;
      m.logical_cpus = 128;
      m.pmus = {"cpu", "power"};
      auto literals = machine_literals(m, root);
      CHECK(literals.find("num_cpus") == 128.0);
      CHECK(literals.find("num_packages") == 2.0);
      CHECK_FALSE(literals.find("smt_on"));
      CHECK_FALSE(literals.find("slots"));
    }
    SUBCASE("#num_cpus is the highest present CPU plus one, offline CPUs included, as perf") {
      // perf's cpu__max_present_cpu reads devices/system/cpu/present; /proc/cpuinfo lists only
      // the 6 online processors of the cpus-offline fixture.
      SysRoot root;
      root.sys = std::string(PMC_TEST_DATA) + "/sysfs/cpus-offline";
      MachineInfo m;
      m.logical_cpus = 6;
      auto literals = machine_literals(m, root);
      CHECK(literals.find("num_cpus") == 8.0);
      CHECK(literals.find("num_cpus_online") == 6.0);
      TempRoot sparse;
      sparse.write("sys/devices/system/cpu/present", "0-3,8-11");
      CHECK(machine_literals(m, sparse.root).find("num_cpus") == 12.0);
    }
    SUBCASE("SMT off, nothing else readable") {
      TempRoot t;
      t.write("sys/devices/system/cpu/smt/active", "0");
      auto literals = machine_literals(MachineInfo{}, t.root);
      CHECK(literals.find("smt_on") == 0.0);
      CHECK_FALSE(literals.find("num_cpus"));
      CHECK_FALSE(literals.find("num_packages"));
    }
  }

  TEST_CASE("machine_literals: all of perf's literals from a sysfs tree") {
    // One package, one die, two cores of two threads (cpu0/cpu2 and cpu1/cpu3 siblings, as x86
    // numbers them), no smt/active file; CPU 3 offline; an NFIT table.
    TempRoot t;
    for (int cpu : {0, 1, 2, 3}) {
      auto dir = "sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
      t.write(dir + "physical_package_id", "0");
      t.write(dir + "die_id", "0");
      t.write(dir + "core_id", std::to_string(cpu % 2));
      t.write(dir + "thread_siblings_list", cpu % 2 == 0 ? "0,2" : "1,3");
    }
    t.write("sys/devices/system/cpu/online", "0-2");
    t.write("sys/firmware/acpi/tables/NFIT", "");
    MachineInfo m;
    m.logical_cpus = 4;
    m.vendor = "GenuineIntel";
    m.cpu_model = "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz";
    auto literals = machine_literals(m, t.root);
    CHECK(literals.find("num_cpus") == 4.0);
    CHECK(literals.find("num_cpus_online") == 3.0);
    CHECK(literals.find("smt_on") == 1.0);  // a core with two threads
    CHECK(literals.find("num_cores") == 2.0);
    CHECK(literals.find("num_dies") == 1.0);
    CHECK(literals.find("num_packages") == 1.0);
    CHECK(literals.find("system_tsc_freq") == 2.5e9);
    CHECK(literals.find("has_pmem") == 1.0);
    CHECK(literals.find("core_wide") == 0.0);  // a command: not every thread of its cores
    SUBCASE("#core_wide: system-wide, and a -C list holding whole cores or not") {
      CHECK(machine_literals(m, t.root, true).find("core_wide") == 1.0);
      CHECK(machine_literals(m, t.root, true, "0,2").find("core_wide") == 1.0);
      CHECK(machine_literals(m, t.root, true, "0-1").find("core_wide") == 0.0);
      t.write("sys/devices/system/cpu/smt/active", "0");
      CHECK(machine_literals(m, t.root, true, "0-1").find("core_wide") == 1.0);
    }
  }

  TEST_CASE("machine_runtime_params: POWER's hv_24x7 sockets and cores per chip, else 1") {
    TempRoot t;
    auto none = machine_runtime_params(t.root);
    CHECK(none.per_chip == 1);
    CHECK(none.per_core == 1);
    CHECK(none.source.empty());
    // A two-socket POWER9 as its hypervisor's 24x7 interface describes it.
    t.write("sys/devices/hv_24x7/interface/sockets", "2");
    t.write("sys/devices/hv_24x7/interface/coresperchip", "12");
    auto power = machine_runtime_params(t.root);
    CHECK(power.per_chip == 2);
    CHECK(power.per_core == 12);
    CHECK(power.source.find("hv_24x7/interface/sockets") != std::string::npos);
    // What is not a count of 1 or more is not used.
    t.write("sys/devices/hv_24x7/interface/coresperchip", "0");
    CHECK(machine_runtime_params(t.root).per_core == 1);
  }

  TEST_CASE("model_name_tsc_hz: the frequency after '@' in a model name") {
    CHECK(model_name_tsc_hz("Intel(R) Core(TM) i7-6700 CPU @ 3.40GHz") == 3.4e9);
    CHECK(model_name_tsc_hz("Some CPU @ 800MHz") == 8e8);
    CHECK_FALSE(model_name_tsc_hz("AMD EPYC 7763 64-Core Processor"));
    CHECK_FALSE(model_name_tsc_hz("Odd @ fast"));
  }

  TEST_CASE("machine_counter_model: SMT and the NMI watchdog as sysfs and procfs say") {
    MachineInfo skylake;  // Skylake-SP: 4 general counters per thread with SMT on, 8 without
    skylake.vendor = "GenuineIntel";
    skylake.family = 6;
    skylake.model = 85;
    MachineInfo zen3;  // 6 general counters; the watchdog takes one (metric_set.h)
    zen3.vendor = "AuthenticAMD";
    zen3.family = 25;
    zen3.model = 33;
    SUBCASE("nothing readable: SMT taken as on, no watchdog") {
      TempRoot t;
      auto model = machine_counter_model(skylake, t.root);
      CHECK(model.general == 4);
      CHECK(model.fixed_cycles);
      CHECK(machine_counter_model(zen3, t.root).general == 6);
    }
    SUBCASE("SMT off and the watchdog on") {
      TempRoot t;
      t.write("sys/devices/system/cpu/smt/active", "0");
      t.write("proc/sys/kernel/nmi_watchdog", "1");
      auto model = machine_counter_model(skylake, t.root);
      CHECK(model.general == 8);
      CHECK_FALSE(model.fixed_cycles);  // the watchdog's cycles hold the fixed counter
      CHECK(machine_counter_model(zen3, t.root).general == 5);
    }
    SUBCASE("a hybrid (cpu_atom among the PMUs) carries the E-cores' counters") {
      MachineInfo alderlake;
      alderlake.vendor = "GenuineIntel";
      alderlake.family = 6;
      alderlake.model = 0x97;
      alderlake.pmus = {"cpu_atom", "cpu_core", "power"};
      TempRoot t;
      auto model = machine_counter_model(alderlake, t.root);
      CHECK(model.general == 8);
      REQUIRE(model.atom);
      CHECK(model.atom->general == 6);
      CHECK(model.atom->fixed_cycles);
      t.write("proc/sys/kernel/nmi_watchdog", "1");
      auto watched = machine_counter_model(alderlake, t.root);
      REQUIRE(watched.atom);
      CHECK_FALSE(watched.fixed_cycles);
      CHECK_FALSE(watched.atom->fixed_cycles);
      CHECK_FALSE(machine_counter_model(skylake, t.root).atom);
    }
  }
}
