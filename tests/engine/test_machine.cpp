#include <doctest/doctest.h>

#include "engine/session/machine.h"

using namespace pmc;

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
    const char* text = "processor\t: 0\nBogoMIPS\t: 50.00\nCPU implementer\t: 0x41\n"
                       "CPU architecture: 8\nCPU variant\t: 0x3\nCPU part\t: 0xd0c\n\n";
    MachineInfo info;
    parse_cpuinfo(text, info);
    CHECK(info.vendor == "ARM");
    CHECK(info.family == 0x41);
    CHECK(info.model == 0xd0c);
  }
}
