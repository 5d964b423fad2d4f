// InputText (engine/system/input_text.h): a regular file mapped, a file of unknown size read to
// its end, and what check_input_file refuses refused before a byte is read.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "engine/system/input_text.h"
#include "events/text/input_file.h"
#include "test_support.h"

using namespace pmc;

TEST_SUITE("pure") {
  TEST_CASE("InputText: a file's bytes, mapped or read, and the inputs it refuses") {
    auto dir = test::make_temp_dir("input-text");
    SUBCASE("a regular file is read as it is, without a trailing newline added") {
      std::ofstream(dir / "run.txt") << "1,cycles\n2,instructions";
      InputText input((dir / "run.txt").string());
      CHECK(input.text() == "1,cycles\n2,instructions");
    }
    SUBCASE("an empty file is empty text") {
      std::ofstream(dir / "empty.txt").flush();
      CHECK(InputText((dir / "empty.txt").string()).text().empty());
    }
    SUBCASE("a procfs file (size 0 in stat) is read to its end") {
      InputText input("/proc/self/status");
      CHECK(input.text().starts_with("Name:"));
      CHECK(input.text().find("\nPid:") != std::string::npos);
    }
    SUBCASE("a directory is refused, naming what it is") {
      CHECK_THROWS_WITH_AS(InputText(dir.string()), doctest::Contains("a directory"), InputError);
    }
    SUBCASE("a missing file is refused with the system's reason") {
      CHECK_THROWS_WITH_AS(InputText((dir / "absent.txt").string()),
                           doctest::Contains("No such file or directory"), InputError);
    }
    std::filesystem::remove_all(dir);
  }
}
