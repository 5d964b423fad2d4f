#include <doctest/doctest.h>

#include "events/text/text.h"

using namespace pmc;

TEST_SUITE("pure") {
  TEST_CASE("trim_any removes only the characters of its set, from both ends") {
    CHECK(trim_any("  a b  ", " ") == "a b");
    CHECK(trim_any("\ta b\t", " ") == "\ta b\t");
    CHECK(trim_any(" \t\r\na\n", " \t\n\r") == "a");
    CHECK(trim_any("\va\f", " \t\n\r") == "\va\f");
    CHECK(trim_any("   ", " ").empty());
    CHECK(trim_any("", " ").empty());
    CHECK(trim_any("x", " ") == "x");
  }

  TEST_CASE("trim keeps a leading CR and removes a trailing one, join puts the separator between") {
    CHECK(trim(" \ta\r") == "a");
    CHECK(trim("\ra") == "\ra");
    CHECK(join({"a", "b", "c"}) == "a, b, c");
    CHECK(join({"a"}, "; ") == "a");
    CHECK(join({}).empty());
  }
}
