// mountinfo lines (proc(5)) as a hybrid systemd host and a container write them.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "engine/system/mounts.h"
#include "test_support.h"

using namespace pmc;

TEST_SUITE("pure") {
  TEST_CASE("mountinfo: mount points and types, octal escapes decoded, cgroup2 wherever it is") {
    // A hybrid layout: v1 controllers under /sys/fs/cgroup, cgroup2 at /sys/fs/cgroup/unified.
    std::string text =
        "22 27 0:20 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
        "25 22 0:23 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n"
        "26 25 0:24 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 "
        "cgroup2 rw,nsdelegate\n"
        "27 25 0:25 / /sys/fs/cgroup/cpu rw,relatime shared:11 - cgroup cgroup rw,cpu\n"
        "40 22 0:30 / /mnt/with\\040space rw - ext4 /dev/sda1 rw\n"
        "a line without the separator\n";
    auto mounts = parse_mountinfo(text);
    REQUIRE(mounts.size() == 5);
    CHECK(mounts[2].mount_point == "/sys/fs/cgroup/unified");
    CHECK(mounts[2].fs_type == "cgroup2");
    CHECK(mounts[3].fs_type == "cgroup");
    CHECK(mounts[4].mount_point == "/mnt/with space");

    test::ReachableDir dir("mountinfo");
    std::filesystem::create_directories(dir.path / "self");
    SysRoot root;
    root.proc = dir.path;
    bool readable = true;
    CHECK_FALSE(cgroup2_mount_point(root, &readable));
    CHECK_FALSE(readable);
    std::ofstream(dir.path / "self/mountinfo") << text;
    CHECK(cgroup2_mount_point(root, &readable) == "/sys/fs/cgroup/unified");
    CHECK(readable);
  }

  TEST_CASE("perf_event's cgroup: on cgroup2 unless /proc/cgroups binds it to a v1 hierarchy") {
    // The mounts of a hybrid host (this project's test VM) where perf_event went to v1.
    std::string mountinfo =
        "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
        "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
        "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
    std::string v2 =
        "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t1\t1\t1\n"
        "perf_event\t0\t1\t1\n";
    std::string v1 =
        "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t1\t1\t1\n"
        "perf_event\t10\t1\t1\n";
    auto on_v2 = perf_event_cgroup(mountinfo, v2);
    CHECK_FALSE(on_v2.v1);
    CHECK(on_v2.mount == "/sys/fs/cgroup/unified");
    CHECK(cgroup_dir_problem("/sys/fs/cgroup/unified/app.slice", mountinfo, v2).empty());
    // A v1 directory of another controller: the kernel has no perf_event css there (ENOENT).
    CHECK(cgroup_dir_problem("/sys/fs/cgroup/cpu/app.slice", mountinfo, v2)
              .find("a directory of the cgroup v1 hierarchy of rw,cpu") != std::string::npos);
    CHECK(cgroup_dir_problem("/sys/fs/cgroup", mountinfo, v2)
              .find("is not a cgroup the kernel can count (tmpfs at /sys/fs/cgroup)") !=
          std::string::npos);
    // perf_event on hierarchy 10, not mounted here.
    auto on_v1 = perf_event_cgroup(mountinfo, v1);
    CHECK(on_v1.v1);
    CHECK_FALSE(on_v1.mount);
    auto problem = cgroup_dir_problem("/sys/fs/cgroup/unified/app.slice", mountinfo, v1);
    CHECK(problem.find("is a cgroup2 directory") != std::string::npos);
    CHECK(problem.find("not mounted here (mount -t cgroup -o perf_event") != std::string::npos);
    // Mounted: its directories count, and the longest mount point wins over /sys/fs/cgroup.
    std::string with = mountinfo +
                       "45 31 0:40 / /sys/fs/cgroup/perf_event rw,relatime - cgroup cgroup "
                       "rw,perf_event\n";
    CHECK(perf_event_cgroup(with, v1).mount == "/sys/fs/cgroup/perf_event");
    CHECK(cgroup_dir_problem("/sys/fs/cgroup/perf_event/job", with, v1).empty());
    // "/sys/fs/cgroup/perf_eventX" is not under "/sys/fs/cgroup/perf_event".
    CHECK_FALSE(cgroup_dir_problem("/sys/fs/cgroup/perf_eventX", with, v1).empty());
    // No mountinfo line holds the directory: nothing can be told.
    CHECK(cgroup_dir_problem("/elsewhere", "", v1).empty());
  }
}
