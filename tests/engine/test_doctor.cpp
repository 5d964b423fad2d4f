// doctor's perf_event_paranoid line (engine/session/doctor.h) for each level and user, against the
// kernel's Documentation/admin-guide/perf-security.rst (-1 and 0 allow everything, 1 refuses
// CPU-wide counting, 2 kernel counting, to unprivileged users) and Debian's patch, which makes
// 3 refuse every perf_event_open of an unprivileged user (Ubuntu's does so at 4; mainline treats
// both as 2).
#include <doctest/doctest.h>

#include <cerrno>
#include <string>

#include "engine/session/doctor.h"
#include "engine/system/permissions.h"

namespace {

pmc::PerfPermissions user(int paranoid, bool privileged = false) {
  pmc::PerfPermissions p;
  p.paranoid = paranoid;
  p.privileged = privileged;
  return p;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("doctor's paranoid line says what each level lets an unprivileged user count") {
    for (int level : {-1, 0}) {
      CAPTURE(level);
      auto c = pmc::paranoid_check(user(level), true);
      CHECK(c.ok);
      CHECK(contains(c.detail, "system-wide counting allowed"));
    }
    auto one = pmc::paranoid_check(user(1), true);
    CHECK(one.ok);
    CHECK(contains(one.fix, "perf_event_paranoid=0"));
    auto two = pmc::paranoid_check(user(2), true);
    CHECK_FALSE(two.ok);
    CHECK(contains(two.detail, "user-space per-task counting only"));
    CHECK(contains(two.fix, "perf_event_paranoid=1"));
  }

  TEST_CASE("doctor at paranoid 3 or 4 says what this kernel did, not what mainline would") {
    SUBCASE("a kernel that refused the user-space task-clock: Debian's 3, Ubuntu's 4") {
      for (int level : {3, 4}) {
        CAPTURE(level);
        auto c = pmc::paranoid_check(user(level), false);
        CHECK_FALSE(c.ok);
        CHECK_FALSE(contains(c.detail, "user-space per-task counting only"));
        CHECK(contains(c.detail, "refuse every perf_event_open"));
        CHECK(contains(c.fix, "perf_event_paranoid=2"));
      }
    }
    SUBCASE("a mainline kernel, which counts user space per task above 2 as at 2") {
      auto c = pmc::paranoid_check(user(3), true);
      CHECK_FALSE(c.ok);
      CHECK(contains(c.detail, "user-space per-task counting only"));
    }
    SUBCASE("root is allowed everything at any level") {
      auto c = pmc::paranoid_check(user(4, true), true);
      CHECK(c.ok);
      CHECK(c.fix.empty());
    }
  }

  TEST_CASE("doctor's hardware PMU line gives a refused user the permission fix, not the VM's") {
    pmc::SysRoot root;
    root.proc = std::string(PMC_TEST_DATA) + "/sysfs/no-such-proc";
    SUBCASE("EACCES: Debian's paranoid 3 refuses even user-space cycles, VM or not") {
      for (bool vm : {true, false}) {
        CAPTURE(vm);
        auto c = pmc::hardware_pmu_check(EACCES, vm, root, user(3));
        CHECK_FALSE(c.ok);
        CHECK_FALSE(contains(c.detail, "without a virtual PMU"));
        CHECK_FALSE(contains(c.fix, "virtual PMU"));
        CHECK_FALSE(contains(c.fix, "dmesg"));
        CHECK(contains(c.fix, "perf_event_paranoid"));
        CHECK(contains(c.fix, "CAP_PERFMON"));
      }
    }
    SUBCASE("ENOENT on a VM: no virtual PMU, as on this project's test VMs") {
      auto c = pmc::hardware_pmu_check(ENOENT, true, root, user(2));
      CHECK(contains(c.detail, "without a virtual PMU"));
      CHECK(contains(c.fix, "pmu=on"));
    }
    SUBCASE("opened") {
      auto c = pmc::hardware_pmu_check(0, false, root, user(2));
      CHECK(c.ok);
      CHECK(c.fix.empty());
    }
  }
}
