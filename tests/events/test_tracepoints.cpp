// Tracepoint names (perf's subsystem:event syntax and globs) resolved against tracefs trees made
// here: the ids are the ones written into each tree's events/<subsystem>/<event>/id files.
#include <doctest/doctest.h>
#include <grp.h>
#include <linux/perf_event.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "events/names/resolver.h"
#include "events/names/tracepoints.h"
#include "test_support.h"

using namespace pmc;
namespace fs = std::filesystem;

namespace {

// A sysfs root holding a tracefs events folder at `mount` (kernel/tracing or
// kernel/debug/tracing), as the kernel lays it out: subsystem folders with an enable file
// beside the event folders, each event with its id.
struct TracefsTree {
  test::ReachableDir dir{"tracefs"};
  fs::path sys;
  explicit TracefsTree(const std::string& mount = "kernel/tracing") {
    REQUIRE_MESSAGE(!dir.path.empty(), dir.why);
    sys = dir.path / "sys";
    fs::path events = sys / mount / "events";
    add(events, "sched", "sched_switch", 316);
    add(events, "sched", "sched_wakeup", 318);
    add(events, "syscalls", "sys_enter_read", 700);
    add(events, "syscalls", "sys_enter_readv", 701);
    add(events, "syscalls", "sys_enter_write", 702);
    std::ofstream(events / "enable") << "0\n";
    std::ofstream(events / "header_page") << "field: u64 timestamp;\n";
  }
  static void add(const fs::path& events, const std::string& sub, const std::string& ev, int id) {
    fs::create_directories(events / sub / ev);
    std::ofstream(events / sub / "enable") << "0\n";
    std::ofstream(events / sub / ev / "id") << id << "\n";
    std::ofstream(events / sub / ev / "format") << "name: " << ev << "\n";
  }
  SysRoot root() const {
    SysRoot r;
    r.sys = sys;
    return r;
  }
};

std::string resolve_error(const EventResolver& resolver, const std::string& list) {
  try {
    resolver.resolve_list(list);
  } catch (const ResolveError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("perf's tracepoint syntax is told from native and PMU names") {
    CHECK(looks_like_tracepoint("sched:sched_switch"));
    CHECK(looks_like_tracepoint("syscalls:sys_enter_*"));
    CHECK(looks_like_tracepoint("sched:*"));
    CHECK(looks_like_tracepoint("xhci-hcd:xhci_urb_enqueue"));
    CHECK_FALSE(looks_like_tracepoint("INST_RETIRED:ANY_P"));  // libpfm4 native
    CHECK_FALSE(looks_like_tracepoint("perf::TASK-CLOCK"));
    CHECK_FALSE(looks_like_tracepoint("cycles"));
    CHECK_FALSE(looks_like_tracepoint("sched:"));
    CHECK_FALSE(looks_like_tracepoint(":sched_switch"));
  }

  TEST_CASE("a tracepoint resolves to PERF_TYPE_TRACEPOINT with its tracefs id") {
    TracefsTree tree;
    EventResolver resolver(tree.root());
    auto groups = resolver.resolve_list("sched:sched_switch");
    REQUIRE(groups.size() == 1);
    const EventSpec& spec = groups[0].events.at(0);
    CHECK(spec.name == "sched:sched_switch");
    CHECK(spec.pmu == "tracepoint");
    CHECK(spec.source == "tracefs");
    CHECK(spec.attr.type == PERF_TYPE_TRACEPOINT);
    CHECK(spec.attr.config == 316);
    CHECK_FALSE(spec.hardware);
    SUBCASE("with a modifier") {
      auto user = resolver.resolve("sched:sched_switch:k");
      CHECK(user.attr.config == 316);
      CHECK(int(user.attr.exclude_user) == 1);
      CHECK(user.name == "sched:sched_switch:k");
    }
    SUBCASE("in a group with a software event") {
      auto g = resolver.resolve_list("{task-clock,sched:sched_wakeup}");
      REQUIRE(g.size() == 1);
      REQUIRE(g[0].events.size() == 2);
      CHECK(g[0].events[1].attr.config == 318);
    }
  }

  TEST_CASE("globs stand for every matching tracepoint, in name order") {
    TracefsTree tree;
    EventResolver resolver(tree.root());
    auto read = resolver.resolve_list("syscalls:sys_enter_read*");
    REQUIRE(read.size() == 2);
    CHECK(read[0].events[0].name == "syscalls:sys_enter_read");
    CHECK(read[0].events[0].attr.config == 700);
    CHECK(read[1].events[0].name == "syscalls:sys_enter_readv");
    CHECK(read[1].events[0].attr.config == 701);
    auto sched = resolver.resolve_list("sched:*");
    REQUIRE(sched.size() == 2);
    CHECK(sched[0].events[0].name == "sched:sched_switch");
    CHECK(sched[1].events[0].name == "sched:sched_wakeup");
    CHECK(resolver.resolve_list("*:sys_enter_write").at(0).events[0].attr.config == 702);
    CHECK(all_tracepoints(tree.root()).size() == 5);
  }

  TEST_CASE("tracefs through debugfs (kernel/debug/tracing) when kernel/tracing has none") {
    TracefsTree tree("kernel/debug/tracing");
    fs::create_directories(tree.sys / "kernel/tracing");  // the empty mount point
    EventResolver resolver(tree.root());
    CHECK(resolver.resolve("sched:sched_switch").attr.config == 316);
  }

  TEST_CASE("a misspelt or unmatched tracepoint, and tracefs not mounted, say so") {
    TracefsTree tree;
    EventResolver resolver(tree.root());
    auto misspelt = resolve_error(resolver, "sched:sched_swich");
    CHECK(misspelt.find("unknown tracepoint 'sched:sched_swich'") != std::string::npos);
    CHECK(misspelt.find("did you mean: sched:sched_switch") != std::string::npos);
    auto glob = resolve_error(resolver, "sched:nothing_*");
    CHECK(glob.find("no tracepoint matches 'sched:nothing_*'") != std::string::npos);
    auto subsystem = resolve_error(resolver, "nosuch:event");
    CHECK(subsystem.find("no tracepoint subsystem matches 'nosuch'") != std::string::npos);

    test::ReachableDir empty("no-tracefs");
    fs::create_directories(empty.path / "kernel/tracing");
    SysRoot bare;
    bare.sys = empty.path;
    auto unmounted = resolve_error(EventResolver(bare), "sched:sched_switch");
    CHECK(unmounted.find("tracefs is not mounted") != std::string::npos);
    CHECK(unmounted.find("mount -t tracefs nodev") != std::string::npos);
  }

  TEST_CASE("tracefs readable by root only: the reason names the folder and the safe fix") {
    // tracefs is mounted mode 0700 by default. Root reads any folder, so as root the lookup
    // runs in a forked child that drops to nobody; as another user the folder is closed to
    // its owner too (mode 0000).
    TracefsTree tree;
    bool root = ::geteuid() == 0;
    fs::path mount = tree.sys / "kernel/tracing";
    for (const auto& entry : fs::recursive_directory_iterator(tree.dir.path))
      fs::permissions(entry.path(), entry.is_directory() ? fs::perms(0755) : fs::perms(0444));
    fs::permissions(mount, root ? fs::perms(0700) : fs::perms::none);
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(fds[0]);
      if (root && (::setgroups(0, nullptr) != 0 || ::setgid(test::kNobody) != 0 ||
                   ::setuid(test::kNobody) != 0))
        ::_exit(77);
      std::string message;
      try {
        EventResolver(tree.root()).resolve("sched:sched_switch");
      } catch (const ResolveError& e) {
        message = e.what();
      }
      (void)!::write(fds[1], message.data(), message.size());
      ::_exit(0);
    }
    ::close(fds[1]);
    std::string message;
    char buf[512];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) message.append(buf, size_t(n));
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    fs::permissions(mount, fs::perms(0755));
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    CAPTURE(message);
    CHECK(message.find("unknown event 'sched:sched_switch'") != std::string::npos);
    CHECK(message.find(mount.string() + " is readable by root only") != std::string::npos);
    CHECK(message.find("sudo mount -o remount,mode=755 " + mount.string()) != std::string::npos);
    CHECK(message.find("perf_event_paranoid <= 1 or CAP_PERFMON") != std::string::npos);
  }
}
