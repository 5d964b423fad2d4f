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
}
