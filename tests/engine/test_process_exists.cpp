// process_exists (engine/session/session.h), which `measure -p PID` asks before it counts.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/session/session.h"

using namespace pmc;

TEST_SUITE("kernel") {
  TEST_CASE("process_exists: this process and init exist, a reaped child does not") {
    CHECK(process_exists(int(getpid())));
    CHECK(process_exists(1));  // init: another user's process when not root (EPERM), still there
    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) _exit(0);
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    CHECK_FALSE(process_exists(int(child)));
  }
}
