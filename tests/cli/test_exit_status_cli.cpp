// Exit statuses (docs/security.md, "Exit status"): 2 for bad usage or input found before anything
// runs, with one line on stderr; the output paths of the slow commands are checked first.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "test_support.h"

using namespace pmc::test;
namespace fs = std::filesystem;

namespace {

size_t lines(const std::string& text) {
  size_t n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("exit status 2: an unknown command, an unknown help topic, an unknown option") {
    for (const auto& argv :
         {std::vector<std::string>{"frobnicate"}, std::vector<std::string>{"help", "frobnicate"},
          std::vector<std::string>{"measure", "--no-such-option"}}) {
      auto r = run_process(pmcmodel(argv));
      CHECK_MESSAGE(r.exit_code == 2, argv.back());
      CHECK(lines(r.err) == 1);
      CHECK(r.out.empty());
    }
  }

  TEST_CASE("a duration that is not a finite number > 0 is refused with what was expected") {
    for (std::string value : {"nan", "inf", "-inf", "0", "-1", "abc"}) {
      CAPTURE(value);
      for (const auto& argv :
           {std::vector<std::string>{"workload", "int", "--seconds", value},
            std::vector<std::string>{"measure", "--duration", value, "--", "/bin/true"}}) {
        auto r = run_process(pmcmodel(argv));
        CHECK(r.exit_code == 2);
        CHECK(lines(r.err) == 1);
        CHECK_MESSAGE(
            r.err.find("expected a finite number > 0, found '" + value + "'") != std::string::npos,
            r.err);
        // The bound is said in words, not as DBL_MAX's 309 digits.
        CHECK(r.err.size() < 200);
      }
    }
    auto ok = run_process(pmcmodel({"workload", "int", "--seconds", "0.05"}));
    CHECK(ok.exit_code == 0);
    auto nan_lambda = run_process(pmcmodel({"fit", "--data", "/nonexistent.csv", "--target", "y",
                                            "--lambda", "nan", "--out", "/tmp/unused.json"}));
    CHECK(nan_lambda.exit_code == 2);
    CHECK(nan_lambda.err.find("expected a finite number ≥ 0, found 'nan'") != std::string::npos);
  }

  TEST_CASE("calibrate refuses an output folder that does not exist before its suite runs") {
    // A 600 s suite would run before the dataset is written: the path is refused first, with
    // nothing on stdout (the report starts only after the run).
    auto dir = make_temp_dir("exit-calibrate");
    auto missing = (dir / "no-such-folder" / "calib.csv").string();
    auto r = run_process(pmcmodel({"calibrate", "--seconds", "600", "--out-data", missing}));
    CHECK(r.exit_code == 2);
    CHECK(lines(r.err) == 1);
    CHECK(r.err.find("no-such-folder") != std::string::npos);
    CHECK(r.out.empty());
    CHECK_FALSE(fs::exists(dir / "no-such-folder"));
    fs::remove_all(dir);
  }

  TEST_CASE("fit refuses its output path before it reads or fits anything") {
    auto dir = make_temp_dir("exit-fit");
    auto missing = (dir / "absent" / "model.json").string();
    auto data = std::string(PMC_TEST_DATA) + "/models/small.csv";
    auto r = run_process(pmcmodel(
        {"fit", "--data", data, "--target", "watts", "--features", "cycles", "--out", missing}));
    CHECK(r.exit_code == 2);
    CHECK(lines(r.err) == 1);
    CHECK(r.err.find(missing.substr(0, missing.size() - 11)) != std::string::npos);
    CHECK_FALSE(fs::exists(dir / "absent"));
    fs::remove_all(dir);
  }
}
