#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "models/fit/dataset.h"
#include "models/fit/feature_transforms.h"

using namespace pmc;

namespace {

const std::string kDir = std::string(PMC_TEST_DATA) + "/models/";

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  FAIL("expected a std::runtime_error");
  return {};
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("dataset: numeric and text columns from a CSV with a header") {
    auto ds = Dataset::load_csv(kDir + "small.csv", {{"workload"}, {"watts"}});
    CHECK(ds.rows() == 8);
    CHECK(ds.names() == std::vector<std::string>{"time_s", "cycles", "instructions", "watts"});
    CHECK(ds.column("cycles")[2] == 3e9);
    CHECK(ds.column("watts").back() == 26);
    CHECK(ds.labels("workload")[2] == "cpu, heavy");  // quoted, with a comma inside
    CHECK(ds.where(0) == kDir + "small.csv:3");        // the comment line is skipped but counted
    CHECK(ds.where_header() == kDir + "small.csv:1");
    std::vector<std::string> names;
    auto ids = ds.group_ids("workload", &names);
    CHECK(names == std::vector<std::string>{"cpu", "cpu, heavy", "stream", "idle"});
    CHECK(ids == std::vector<uint32_t>{0, 0, 1, 2, 2, 2, 3, 3});
  }

  TEST_CASE("dataset: a UTF-8 byte order mark before the header is not part of the first name") {
    // What a spreadsheet's "CSV UTF-8" export writes: EF BB BF, then the header.
    const std::string text = "\xEF\xBB\xBFx,y\n1,2.1\n2,4\n";
    auto ds = Dataset::parse_csv(text, "bom.csv", {{}, {"x", "y"}});
    CHECK(ds.names() == std::vector<std::string>{"x", "y"});
    CHECK(ds.column("x") == std::vector<double>{1, 2});
    auto file = std::filesystem::temp_directory_path() / "pmc-dataset-bom.csv";
    std::ofstream(file, std::ios::binary) << text;
    auto preview = Dataset::preview_csv(file);
    CHECK(preview.names == std::vector<std::string>{"x", "y"});
    CHECK(preview.numeric_in_first_row == std::vector<bool>{true, true});
    // A mark before a comment line leaves the comment a comment.
    std::ofstream(file, std::ios::binary) << "\xEF\xBB\xBF# machine.cpu=x\nx,y\n1,2\n";
    preview = Dataset::preview_csv(file);
    CHECK(preview.comments == std::vector<std::string>{"machine.cpu=x"});
    CHECK(preview.names == std::vector<std::string>{"x", "y"});
    std::filesystem::remove(file);
  }

  TEST_CASE("dataset: selecting, slicing and sorting rows keeps their source lines") {
    auto ds = Dataset::parse_csv("t,v\n3,30\n1,10\n2,20\n", "mem.csv");
    auto sorted = ds.sorted_by("t");
    CHECK(sorted.column("v") == std::vector<double>{10, 20, 30});
    CHECK(sorted.where(0) == "mem.csv:3");
    auto picked = ds.select_rows({2, 0});
    CHECK(picked.column("t") == std::vector<double>{2, 3});
    CHECK(ds.slice(1, 3).column("v") == std::vector<double>{10, 20});
    CHECK_THROWS_AS(ds.select_rows({5}), std::out_of_range);
  }

  TEST_CASE("dataset: columns added in memory must match the row count") {
    Dataset ds;
    ds.add_column("a", {1, 2, 3});
    ds.add_labels("g", {"x", "y", "x"});
    CHECK(ds.rows() == 3);
    CHECK_THROWS_AS(ds.add_column("b", {1, 2}), std::runtime_error);
    ds.add_column("a", {4, 5, 6});  // replaces
    CHECK(ds.column("a")[0] == 4);
  }

  TEST_CASE("dataset: malformed files are refused with FILE:LINE and what was expected") {
    SUBCASE("a word in a numeric column names the column") {
      auto e = error_of([] { Dataset::load_csv(kDir + "nonnumeric.csv"); });
      CHECK(contains(e, "nonnumeric.csv:4:"));
      CHECK(contains(e, "column 'b'"));
      CHECK(contains(e, "'three'"));
    }
    SUBCASE("a ragged row") {
      auto e = error_of([] { Dataset::load_csv(kDir + "ragged.csv"); });
      CHECK(contains(e, "ragged.csv:3: expected 3 fields"));
    }
    SUBCASE("an empty file") {
      CHECK(contains(error_of([] { Dataset::load_csv(kDir + "empty.csv"); }), "empty.csv:1: expected a CSV header"));
    }
    SUBCASE("a header without rows") {
      CHECK(contains(error_of([] { Dataset::load_csv(kDir + "header_only.csv"); }), "header_only.csv:1: expected data rows"));
    }
    SUBCASE("a missing target column") {
      auto e = error_of([] { Dataset::load_csv(kDir + "small.csv", {{"workload"}, {"package_power"}}); });
      CHECK(contains(e, "small.csv:1: expected a column 'package_power'"));
      // The header as written, text columns too.
      auto f = error_of([] {
        Dataset::parse_csv("a,note,b\n1,x,2\n", "m.csv", {{"note"}, {"y"}});
      });
      CHECK(f == "m.csv:1: expected a column 'y' (header has: a, note, b)");
    }
    SUBCASE("an undeclared text column is a non-numeric cell") {
      auto e = error_of([] { Dataset::load_csv(kDir + "small.csv"); });
      CHECK(contains(e, "small.csv:3: expected a finite number in column 'workload'"));
    }
    SUBCASE("empty cells, NaN and duplicate names") {
      CHECK(contains(error_of([] { Dataset::parse_csv("a,b\n1,\n", "m.csv"); }), "m.csv:2:"));
      CHECK(contains(error_of([] { Dataset::parse_csv("a,b\n1,nan\n", "m.csv"); }), "column 'b'"));
      CHECK(contains(error_of([] { Dataset::parse_csv("a,a\n1,2\n", "m.csv"); }), "m.csv:1: duplicate column 'a'"));
    }
    SUBCASE("an absent file") {
      CHECK(contains(error_of([] { Dataset::load_csv(kDir + "absent.csv"); }), "cannot open"));
    }
  }

  TEST_CASE("dataset: the Kepler nx12 power table loads") {
    auto ds = Dataset::load_csv(std::string(PMC_SHARED_DIR) + "/data/power/kepler-nx12-train.csv",
                                {{}, {"package_power", "cpu_cycles"}});
    CHECK(ds.rows() == 1541);
    CHECK(ds.names().size() == 9);
  }

  TEST_CASE("features: every transform on a hand-made table") {
    Dataset ds;
    ds.add_column("a", {2, 6, 0});
    ds.add_column("b", {4, 3, 0});
    ds.add_column("dur", {2, 2, 4});
    auto eval = [&](const std::string& text) { return evaluate_feature(parse_feature_spec(text), ds); };
    CHECK(eval("a") == std::vector<double>{2, 6, 0});
    CHECK(eval("rate(a,dur)") == std::vector<double>{1, 3, 0});
    CHECK(eval("ratio(a,b)") == std::vector<double>{0.5, 2, 0});  // 0 where b is 0
    CHECK(eval("product(a,b)") == std::vector<double>{8, 18, 0});
    CHECK(eval("square(a)") == std::vector<double>{4, 36, 0});
    CHECK(eval("hinge(a,3)") == std::vector<double>{0, 3, 0});
    CHECK(eval("log1p(b)")[0] == doctest::Approx(std::log(5.0)));
    CHECK(eval("a*0.5") == std::vector<double>{1, 3, 0});
  }

  TEST_CASE("features: the compact spelling round-trips and names the feature") {
    auto spec = parse_feature_spec("ipc = ratio(cpu_instructions, cpu_cycles)");
    CHECK(spec.name == "ipc");
    CHECK(spec.op == FeatureOp::ratio);
    CHECK(spec.a == "cpu_instructions");
    CHECK(spec.b == "cpu_cycles");
    CHECK(to_string(spec) == "ratio(cpu_instructions,cpu_cycles)");
    auto hinge = parse_feature_spec("hinge(util,0.75)");
    CHECK(hinge.name == "hinge(util,0.75)");
    CHECK(hinge.knot == 0.75);
    CHECK(parse_feature_spec(to_string(hinge)) == hinge);
    CHECK(parse_feature_spec("rate(cycles,dur)*1e-9").scale == 1e-9);
    CHECK_THROWS_AS(parse_feature_spec("cube(a)"), std::runtime_error);
    CHECK_THROWS_AS(parse_feature_spec("ratio(a)"), std::runtime_error);
    CHECK_THROWS_AS(parse_feature_spec("hinge(a,knee)"), std::runtime_error);
    CHECK_THROWS_AS(parse_feature_spec("log1p(a,b)"), std::runtime_error);
  }

  TEST_CASE("features: values that cannot be computed, constant columns and too few rows are refused") {
    auto ds = Dataset::parse_csv("a,k,dur,y\n1,5,1,3\n-2,5,0,5\n3,5,1,7\n4,5,1,9\n", "t.csv");
    CHECK(contains(error_of([&] { design_matrix(ds, {parse_feature_spec("rate(a,dur)")}); }), "t.csv:3: feature 'rate(a,dur)'"));
    CHECK(contains(error_of([&] { design_matrix(ds, {parse_feature_spec("log1p(a)")}); }), "t.csv:3:"));
    CHECK(contains(error_of([&] { design_matrix(ds, {raw_feature("a"), raw_feature("k")}); }),
                   "t.csv:1: feature 'k' is constant"));
    CHECK(contains(error_of([&] { design_matrix(ds, {raw_feature("nope")}); }), "t.csv:1: expected a column 'nope'"));
    auto few = Dataset::parse_csv("a,b,y\n1,2,3\n2,1,5\n3,5,7\n", "few.csv");
    CHECK(contains(error_of([&] { design_matrix(few, {raw_feature("a"), raw_feature("b")}); }),
                   "few.csv:4: expected more rows than features"));
    auto constant = Dataset::load_csv(kDir + "constant.csv");
    CHECK(contains(error_of([&] { design_matrix(constant, {raw_feature("a"), raw_feature("k")}); }),
                   "constant.csv:1: feature 'k' is constant"));
  }
}
