// Tracepoints counted for real: every kernel has them, VM or not. The child calls getppid(2) an
// exact number of times, so syscalls:sys_enter_getppid must count exactly that many.
#include <doctest/doctest.h>

#include <string>

#include "engine/counting/perf_event.h"
#include "engine/session/session.h"
#include "events/names/resolver.h"
#include "test_support.h"

using namespace pmc;

TEST_SUITE("kernel") {
  TEST_CASE("tracepoints count what the command did: exact getppid calls, its exec") {
    if (auto why = test::tracefs_unavailable(); !why.empty()) {
      MESSAGE("skipped: " << why);
      return;
    }
    SysRoot root;
    EventResolver resolver(root);
    std::vector<EventGroup> groups;
    try {
      groups =
          resolver.resolve_list("syscalls:sys_enter_getppid,sched:sched_process_exec,task-clock");
    } catch (const ResolveError& e) {
      MESSAGE("skipped: " << e.what() << " (a kernel without syscall tracepoints?)");
      return;
    }
    auto counters = make_perf_event_counters(std::move(groups), root);
    RunOptions o;
    o.argv = test::child_command("getppid:1234");
    // Under ASan, LeakSanitizer's exit-time check calls getppid twice in the child (its tracer
    // thread checks the parent): not the command's work, so it is switched off for this count.
    o.argv.insert(o.argv.begin() + 1, "ASAN_OPTIONS=detect_leaks=0");
    auto r = run_counted(*counters, o, nullptr);
    REQUIRE(r.exit_status == 0);
    REQUIRE(r.events.size() == 3);
    INFO(r.events[0].reason);
    REQUIRE(r.events[0].counted());
    CHECK(r.events[0].name == "syscalls:sys_enter_getppid");
    CHECK(r.events[0].raw == 1234);
    // /usr/bin/env execs the test binary: at least that exec (and env's own, when the
    // tracepoint fires after enable_on_exec has enabled the counter).
    REQUIRE(r.events[1].counted());
    CHECK(r.events[1].raw >= 1);
    CHECK(r.events[1].raw <= 2);
  }
}
