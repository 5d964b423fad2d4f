// pmcmodel fit, predict and calibrate as a user runs them: recovered coefficients, the predict
// columns and interval, refusals with FILE:LINE and no output file, a real short calibration, and
// the Kepler nx12 quality bar on a later period.
#include <doctest/doctest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

#include "engine/counting/perf_event.h"
#include "test_support.h"

using namespace pmc::test;
using json = nlohmann::json;

namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("pmc-models-" + std::to_string(getpid()) + "-" + name))
      .string();
}

void write(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

bool one_line(const std::string& s) {
  return !s.empty() && s.find('\n') == s.size() - 1;
}

std::vector<std::string> split(const std::string& line, char sep = ',') {
  std::vector<std::string> out;
  std::stringstream in(line);
  for (std::string f; std::getline(in, f, sep);) out.push_back(f);
  if (!line.empty() && line.back() == sep) out.emplace_back();
  return out;
}

struct Table {
  std::vector<std::string> header;
  std::vector<std::map<std::string, std::string>> rows;
  double num(size_t r, const std::string& c) const { return std::stod(rows[r].at(c)); }
};

Table parse_table(const std::string& text) {
  Table t;
  std::stringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    auto f = split(line);
    if (t.header.empty()) {
      t.header = f;
      continue;
    }
    REQUIRE(f.size() == t.header.size());
    std::map<std::string, std::string> row;
    for (size_t i = 0; i < f.size(); ++i) row[t.header[i]] = f[i];
    t.rows.push_back(row);
  }
  return t;
}

// y = 5 + 2a − 3b + N(0, 0.1²); c is pure noise; workload labels in four groups.
std::string known_coefficients_csv(size_t rows, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 10);
  std::normal_distribution<double> noise(0, 0.1);
  std::string out = "a,b,c,workload,y\n";
  for (size_t r = 0; r < rows; ++r) {
    double a = u(rng), b = u(rng), c = u(rng);
    out += std::to_string(a) + "," + std::to_string(b) + "," + std::to_string(c) + ",w" +
           std::to_string(r % 4) + "," + std::to_string(5 + 2 * a - 3 * b + noise(rng)) + "\n";
  }
  return out;
}

std::string fmt_row(const std::vector<std::string>& labels, const std::vector<double>& values) {
  std::string out;
  for (const auto& l : labels) out += l + ",";
  for (size_t i = 0; i < values.size(); ++i) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", values[i]);
    out += std::string(buf) + (i + 1 < values.size() ? "," : "\n");
  }
  return out;
}

const json* feature(const json& model, const std::string& name) {
  for (const auto& f : model["features"])
    if (f["name"] == name) return &f;
  return nullptr;
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE(
      "fit recovers known coefficients from noisy data, with standard errors and a CV report") {
    auto data = temp_path("known.csv"), model = temp_path("known.json");
    write(data, known_coefficients_csv(400, 7));
    auto r = run_process(
        pmcmodel({"fit", "--data", data, "--target", "y", "--features", "a,b", "--out", model}));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    for (const char* word : {"MAPE", "RMSE", "MedAE", "R²", "coefficient", "std error", "kfold"})
      CHECK_MESSAGE(r.out.find(word) != std::string::npos, word);
    auto m = json::parse(read_file(model));
    CHECK(m["schema"] == "pmcmodel.model/1");
    CHECK(m["target"] == "y");
    CHECK(m["cv"]["method"] == "kfold");
    CHECK(m["cv"]["folds"] == 10);
    CHECK(m["solver"]["name"] == "ols");
    REQUIRE(feature(m, "a") != nullptr);
    REQUIRE(feature(m, "b") != nullptr);
    double ca = (*feature(m, "a"))["coefficient"], cb = (*feature(m, "b"))["coefficient"];
    double se_a = (*feature(m, "a"))["standard_error"];
    CHECK(ca == doctest::Approx(2).epsilon(0.01));
    CHECK(cb == doctest::Approx(-3).epsilon(0.01));
    CHECK(m["intercept"]["value"].get<double>() == doctest::Approx(5).epsilon(0.02));
    // The standard error of a slope: σ / (sd(a) √n) = 0.1 / (10/√12 · √400) ≈ 0.0017.
    CHECK(se_a == doctest::Approx(0.1 / (10 / std::sqrt(12.0) * 20)).epsilon(0.25));
    CHECK(std::fabs(ca - 2) < 4 * se_a);
    CHECK(m["cv"]["rmse"].get<double>() == doctest::Approx(0.1).epsilon(0.2));
    std::filesystem::remove(data);
    std::filesystem::remove(model);
  }

  TEST_CASE("fit refuses options the rest of the request would leave without effect") {
    auto data = temp_path("ignored.csv"), model = temp_path("ignored.json");
    write(data, known_coefficients_csv(60, 2));
    struct Case {
      std::vector<std::string> options;
      std::string expected;
    };
    std::vector<Case> cases = {
        {{"--lambda", "0.5"}, "--lambda: --model linear has no penalty"},
        {{"--model", "nnls", "--lambda", "0.5"}, "--lambda: --model nnls has no penalty"},
        {{"--nonnegative-intercept"}, "--nonnegative-intercept: --model linear has no bounds"},
        {{"--group-by", "workload", "--cv", "kfold"},
         "--group-by workload: CV leaves one group out, so --cv kfold has no effect"},
        {{"--group-by", "workload", "--folds", "3"},
         "--group-by workload: CV leaves one group out, so --folds has no effect"},
        {{"--cv", "kfold", "--cv-gap", "2"},
         "--cv-gap: only time-ordered CV leaves a gap, and --cv kfold is not time-ordered"},
        {{"--cv-gap", "2"},
         "--cv-gap 2: only time-ordered CV leaves a gap, and this plan is "
         "k-fold (the table has no timestamp column)"},
    };
    for (const auto& c : cases) {
      CAPTURE(c.expected);
      std::vector<std::string> argv = {"fit",   "--data", data,         "--target", "y",
                                       "--out", model,    "--features", "a,b"};
      argv.insert(argv.end(), c.options.begin(), c.options.end());
      auto r = run_process(pmcmodel(argv));
      CHECK(r.exit_code == 2);
      CHECK(one_line(r.err));
      CHECK_MESSAGE(r.err.find(c.expected) != std::string::npos, r.err);
      CHECK_FALSE(std::filesystem::exists(model));
    }
    std::filesystem::remove(data);
  }

  TEST_CASE("fit --out - writes the model alone to stdout and the report to stderr") {
    auto data = temp_path("stdout.csv");
    write(data, known_coefficients_csv(60, 3));
    auto r = run_process(
        pmcmodel({"fit", "--data", data, "--target", "y", "--features", "a,b", "--out", "-"}));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    auto m = json::parse(r.out);  // throws when the report follows the model
    CHECK(m["schema"] == "pmcmodel.model/1");
    CHECK(m["target"] == "y");
    CHECK(r.err.find("cv plan:") != std::string::npos);
    CHECK(r.err.find("wrote -") == std::string::npos);
    std::filesystem::remove(data);
  }

  TEST_CASE("fit --features auto selects the informative columns, --group-by makes CV grouped") {
    auto data = temp_path("auto.csv"), model = temp_path("auto.json");
    write(data, known_coefficients_csv(300, 11));
    for (std::string solver : {"linear", "ridge", "nnls", "elastic"}) {
      CAPTURE(solver);
      auto r = run_process(pmcmodel({"fit", "--data", data, "--target", "y", "--features", "auto",
                                     "--model", solver, "--group-by", "workload", "--out", model}));
      REQUIRE_MESSAGE(r.exit_code == 0, r.err);
      CHECK(r.out.find("forward selection") != std::string::npos);
      auto m = json::parse(read_file(model));
      std::set<std::string> names;
      for (const auto& f : m["features"]) names.insert(f["name"]);
      CHECK(names.count("a") == 1);
      if (solver == "nnls") {
        // y falls with b (−3): a non-negative coefficient cannot use it, so selection leaves it
        // out.
        CHECK(names.count("b") == 0);
        for (const auto& f : m["features"]) CHECK(f["coefficient"].get<double>() >= 0);
      } else {
        CHECK(names.count("b") == 1);
      }
      CHECK(m["cv"]["method"] == "grouped");
      CHECK(m["cv"]["folds"] == 4);
    }
    std::filesystem::remove(data);
    std::filesystem::remove(model);
  }

  TEST_CASE(
      "fit --features auto fits by relative error and writes a relative interval that predict "
      "scales with each prediction") {
    auto data = temp_path("rel.csv"), model = temp_path("rel.json"), out = temp_path("rel-p.csv");
    std::mt19937_64 rng(5);
    // watts = (5 + 20·√x)·(1 + ε), ε ~ N(0, 0.05): concave, so the selection (√x) beats the
    // linear baseline and is the model.
    std::uniform_real_distribution<double> u(0.1, 100);
    std::normal_distribution<double> noise(0, 0.05);
    std::ostringstream csv;
    csv << "x,watts\n";
    for (size_t i = 0; i < 300; ++i) {
      double x = u(rng);
      csv << x << ',' << (5 + 20 * std::sqrt(x)) * (1 + noise(rng)) << '\n';
    }
    write(data, csv.str());
    auto r = run_process(pmcmodel({"fit", "--data", data, "--target", "watts", "--out", model}));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    CHECK(r.out.find("fitted by relative error") != std::string::npos);
    CHECK_MESSAGE(r.out.find("-> the selection is kept") != std::string::npos, r.out);
    CHECK_MESSAGE(r.out.find("held-out relative residual quantiles") != std::string::npos, r.out);
    auto m = json::parse(read_file(model));
    CHECK(m["interval"]["method"] == "cv_relative_residual_quantiles");
    double lo = m["interval"]["residual_lower"], hi = m["interval"]["residual_upper"];
    // Fractions of the prediction: about ∓1.645 × 5%.
    CHECK(lo == doctest::Approx(-0.082).epsilon(0.3));
    CHECK(hi == doctest::Approx(0.082).epsilon(0.3));
    auto q = run_process(pmcmodel({"predict", "--model", model, "--data", data, "--csv", out}));
    REQUIRE_MESSAGE(q.exit_code == 0, q.err);
    auto t = parse_table(read_file(out));
    REQUIRE(t.rows.size() == 300);
    for (size_t i = 0; i < t.rows.size(); ++i) {
      double v = t.num(i, "predicted_watts");
      CHECK(t.num(i, "lower_watts") == doctest::Approx(v * (1 + lo)).epsilon(1e-5));
      CHECK(t.num(i, "upper_watts") == doctest::Approx(v * (1 + hi)).epsilon(1e-5));
    }
    for (const auto& p : {data, model, out}) std::filesystem::remove(p);
  }

  TEST_CASE("predict writes the input columns, the prediction, its interval and the range flag") {
    auto data = temp_path("train.csv"), model = temp_path("pm.json"),
         fresh = temp_path("fresh.csv"), out = temp_path("pred.csv");
    write(data, known_coefficients_csv(300, 3));
    REQUIRE(run_process(pmcmodel({"fit", "--data", data, "--target", "y", "--features", "a,b",
                                  "--out", model}))
                .exit_code == 0);
    auto m = json::parse(read_file(model));
    // Three rows: two inside the training range, one with a = 20 (trained on 0…10).
    write(fresh,
          "# a comment line\na,b,c,workload,y\n1,2,0,w0,3.0\n4,1,0,w1,10.0\n20,1,0,w2,42.0\n");
    auto r = run_process(pmcmodel({"predict", "--model", model, "--data", fresh, "--csv", out}));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    auto t = parse_table(read_file(out));
    CHECK(t.header == std::vector<std::string>{"a", "b", "c", "workload", "y", "predicted_y",
                                               "lower_y", "upper_y", "out_of_range"});
    REQUIRE(t.rows.size() == 3);
    CHECK(t.rows[0].at("workload") == "w0");  // input cells are copied as written
    double b0 = m["intercept"]["value"], ba = (*feature(m, "a"))["coefficient"],
           bb = (*feature(m, "b"))["coefficient"];
    double lo = m["interval"]["residual_lower"], hi = m["interval"]["residual_upper"];
    const double a[] = {1, 4, 20}, b[] = {2, 1, 1};
    for (size_t i = 0; i < 3; ++i) {
      double expected = b0 + ba * a[i] + bb * b[i];
      CHECK(t.num(i, "predicted_y") == doctest::Approx(expected).epsilon(1e-9));
      CHECK(t.num(i, "lower_y") == doctest::Approx(expected + lo).epsilon(1e-9));
      CHECK(t.num(i, "upper_y") == doctest::Approx(expected + hi).epsilon(1e-9));
      CHECK(t.num(i, "lower_y") < t.num(i, "predicted_y"));
      CHECK(t.num(i, "upper_y") > t.num(i, "predicted_y"));
    }
    CHECK(lo == doctest::Approx(-0.1645).epsilon(0.3));  // the 5% quantile of N(0, 0.1²)
    CHECK(t.rows[0].at("out_of_range") == "0");
    CHECK(t.rows[2].at("out_of_range") == "1");
    CHECK(r.err.find("warning: 1 of 3 rows are outside the training range") != std::string::npos);
    // The target is present: errors on these rows (y = 5 + 2a − 3b exactly for rows 1 and 2: 3, 10,
    // 42).
    CHECK(r.err.find("MAPE") != std::string::npos);
    CHECK(r.err.find("RMSE") != std::string::npos);
    CHECK(r.err.find("R²") != std::string::npos);
    // Coverage (docs/formats.md, "Predictions"): row 0 is 2 off the law (y 3, law 1), far outside
    // an interval of about ±0.16; rows 1 and 2 are on it. Row 2 (a = 20) is outside the training
    // range, rows 0 and 1 inside it.
    CHECK_MESSAGE(
        r.err.find("90% interval covers 2 of 3 rows (66.7%); 1 of 2 rows in the "
                   "training range (50.0%), 1 of 1 outside it (100.0%)\n") != std::string::npos,
        r.err);

    // Without --csv the rows go to stdout.
    auto s = run_process(pmcmodel({"predict", "--model", model, "--data", fresh}));
    CHECK(s.exit_code == 0);
    CHECK(parse_table(s.out).rows.size() == 3);
    for (const auto& p : {data, model, fresh, out}) std::filesystem::remove(p);
  }

  TEST_CASE("predict on its own output replaces the prediction columns instead of repeating them") {
    auto data = temp_path("again.csv"), model = temp_path("again.json"),
         first = temp_path("again1.csv"), second = temp_path("again2.csv");
    write(data, known_coefficients_csv(40, 4));
    REQUIRE(run_process(pmcmodel({"fit", "--data", data, "--target", "y", "--features", "a,b",
                                  "--out", model}))
                .exit_code == 0);
    REQUIRE(run_process(pmcmodel({"predict", "--model", model, "--data", data, "--csv", first}))
                .exit_code == 0);
    auto r = run_process(pmcmodel({"predict", "--model", model, "--data", first, "--csv", second}));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    auto a = parse_table(read_file(first)), b = parse_table(read_file(second));
    CHECK(b.header == std::vector<std::string>{"a", "b", "c", "workload", "y", "predicted_y",
                                               "lower_y", "upper_y", "out_of_range"});
    REQUIRE(b.rows.size() == 40);
    for (size_t i = 0; i < 40; ++i) CHECK(b.rows[i] == a.rows[i]);  // same model, same rows
    for (const auto& f : {data, model, first, second}) std::filesystem::remove(f);
  }

  TEST_CASE("fit and predict refuse malformed data with FILE:LINE, exit 2 and no output file") {
    auto model = temp_path("refused.json"), data = temp_path("bad.csv");
    struct Case {
      const char* what;
      std::string csv;
      std::string features;
      std::string expected;  // part of the one-line message
    };
    std::vector<Case> cases = {
        {"non-numeric cell", "a,b,y\n1,2,3\n2,x,4\n3,1,5\n4,2,6\n5,1,7\n", "a,b",
         ":3: expected a finite number in column 'b', found 'x'"},
        {"missing target", "a,b\n1,2\n2,1\n", "a,b", ":1: expected a column 'y'"},
        {"constant column", "a,b,y\n1,2,3\n2,2,4\n3,2,5\n4,2,6\n5,2,7\n", "a,b", ":1: "},
        {"fewer rows than features", "a,b,c,y\n1,2,3,4\n2,1,5,6\n", "a,b,c", ":3: "},
        {"ragged row", "a,b,y\n1,2,3\n2,1\n", "a,b",
         ":3: expected 3 fields as in the header, found 2"},
        {"unknown feature column", "a,b,y\n1,2,3\n2,1,4\n", "a,nope",
         ":1: expected a column 'nope'"},
    };
    for (const auto& c : cases) {
      CAPTURE(c.what);
      write(data, c.csv);
      std::filesystem::remove(model);
      auto r = run_process(pmcmodel(
          {"fit", "--data", data, "--target", "y", "--features", c.features, "--out", model}));
      CHECK(r.exit_code == 2);
      CHECK(one_line(r.err));
      CHECK_MESSAGE(r.err.find(data + c.expected) != std::string::npos, r.err);
      CHECK_FALSE(std::filesystem::exists(model));
    }
    // The constant column is named.
    write(data, cases[2].csv);
    auto r = run_process(
        pmcmodel({"fit", "--data", data, "--target", "y", "--features", "a,b", "--out", model}));
    CHECK(r.err.find("constant") != std::string::npos);

    // predict: a table without the model's inputs, and a malformed model file.
    auto good = temp_path("good.csv"), out = temp_path("refused-pred.csv");
    write(good, known_coefficients_csv(50, 5));
    REQUIRE(run_process(pmcmodel({"fit", "--data", good, "--target", "y", "--features", "a,b",
                                  "--out", model}))
                .exit_code == 0);
    write(data, "a,c\n1,2\n");
    auto p = run_process(pmcmodel({"predict", "--model", model, "--data", data, "--csv", out}));
    CHECK(p.exit_code == 2);
    CHECK(p.err.find(data + ":1: expected a column 'b'") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(out));
    write(model, "{\"schema\": \"pmcmodel.model/1\",\n \"target\": 3}\n");
    p = run_process(pmcmodel({"predict", "--model", model, "--data", good, "--csv", out}));
    CHECK(p.exit_code == 2);
    CHECK(p.err.find(model + ":") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(out));
    for (const auto& f : {model, data, good}) std::filesystem::remove(f);
  }

  TEST_CASE(
      "the model file round trip: fit writes it, predict and a second fit read the same model") {
    auto data = temp_path("rt.csv"), m1 = temp_path("rt1.json"), pred = temp_path("rt.pred.csv");
    write(data, known_coefficients_csv(120, 9));
    REQUIRE(run_process(pmcmodel({"fit", "--data", data, "--target", "y", "--features",
                                  "a,square(b),hinge(c,5)", "--model", "ridge", "--out", m1}))
                .exit_code == 0);
    auto m = json::parse(read_file(m1));
    CHECK(m["solver"]["name"] == "ridge");
    CHECK((*feature(m, "square(b)"))["op"] == "square");
    CHECK((*feature(m, "hinge(c,5)"))["knot"] == 5.0);
    CHECK(m["machine"]["dataset"] == data);
    auto r = run_process(pmcmodel({"predict", "--model", m1, "--data", data, "--csv", pred}));
    REQUIRE(r.exit_code == 0);
    auto t = parse_table(read_file(pred));
    REQUIRE(t.rows.size() == 120);
    // Every training row is inside the training range.
    for (const auto& row : t.rows) CHECK(row.at("out_of_range") == "0");
    for (const auto& p : {data, m1, pred}) std::filesystem::remove(p);
  }
}

TEST_SUITE("pure") {
  TEST_CASE(
      "fit of a CPI stack compares it with the stall counters, per workload and in the file") {
    // cycles = 0.5·ins + 12·L1 misses + 200·LLC misses (hand-made). STALLS_L1D_MISS counts every
    // miss's cycles (it includes L2 and L3 misses); STALLS_L3_MISS reads 250 cycles per LLC miss,
    // 1.25× what the penalties give, so the model is 20% short beyond L3 and exact beyond L1.
    std::mt19937_64 rng(3);
    std::uniform_real_distribution<double> u(0, 1);
    std::string csv =
        "workload,instructions_per_s,cpi,l1_dcache_load_misses_per_s,llc_load_misses_per_s,"
        "cycle_activity_stalls_l1d_miss_per_s,cycle_activity_stalls_l2_miss_per_s,"
        "cycle_activity_stalls_l3_miss_per_s\n";
    for (int r = 0; r < 60; ++r) {
      double ins = 1e9 * (0.5 + u(rng)), l1 = ins * 0.02 * u(rng), llc = l1 * 0.5 * u(rng);
      double cycles = 0.5 * ins + 12 * l1 + 200 * llc;
      csv += fmt_row({r % 2 ? std::string("chase-llc") : std::string("int")},
                     {ins, cycles / ins, l1, llc, 12 * l1 + 200 * llc, 100 * llc, 250 * llc});
    }
    auto data = temp_path("stalls.csv"), model = temp_path("stalls.json");
    write(data, csv);
    auto r = run_process(pmcmodel(
        {"fit", "--data", data, "--target", "cpi", "--features",
         "ratio(l1_dcache_load_misses_per_s,instructions_per_s),ratio(llc_load_misses_per_s,"
         "instructions_per_s)",
         "--model", "nnls", "--nonnegative-intercept", "--group-by", "workload", "--out", model}));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    CHECK_MESSAGE(r.out.find("against the stall counters") != std::string::npos, r.out);
    CHECK_MESSAGE(
        r.out.find("cycle_activity_stalls_l2_miss_per_s: not compared") != std::string::npos,
        r.out);
    auto m = json::parse(read_file(model));
    REQUIRE(m.contains("stall_counters"));
    const auto& groups = m["stall_counters"]["groups"];
    REQUIRE(groups.size() == 3);
    CHECK(groups[0]["group"] == "int");
    CHECK(groups[1]["group"] == "chase-llc");
    CHECK(groups[2]["group"] == "all");
    for (const auto& g : groups) {
      REQUIRE(g["levels"].size() == 2);
      CHECK(g["levels"][0]["counter"] == "cycle_activity_stalls_l1d_miss_per_s");
      CHECK(std::fabs(g["levels"][0]["relative_error_percent"].get<double>()) < 1e-3);
      CHECK(g["levels"][1]["counter"] == "cycle_activity_stalls_l3_miss_per_s");
      CHECK(g["levels"][1]["relative_error_percent"].get<double>() ==
            doctest::Approx(-20).epsilon(1e-4));
    }
    std::filesystem::remove(data);
    std::filesystem::remove(model);
  }
}

TEST_SUITE("pure") {
  TEST_CASE(
      "fit --band-by: one model per frequency band recovers each band's law, predict picks it") {
    // Two linear laws (hand-made): at 1000 MHz y = 5 + 2a, at 3000 MHz y = 20 + 6a, noise
    // N(0, 0.1²); three rows at 5000 MHz (y = 50 + 10a) are too few for a band of their own.
    std::mt19937_64 rng(21);
    std::uniform_real_distribution<double> u(0, 10);
    std::normal_distribution<double> noise(0, 0.1);
    std::string csv = "workload,frequency_mhz,a,y\n";
    for (int r = 0; r < 200; ++r) {
      double f = r % 2 ? 3000 : 1000, a = u(rng);
      double y = (f == 1000 ? 5 + 2 * a : 20 + 6 * a) + noise(rng);
      csv += fmt_row({"w" + std::to_string(r % 4)}, {f, a, y});
    }
    for (double a : {2.0, 5.0, 8.0}) csv += fmt_row({"w0"}, {5000, a, 50 + 10 * a});
    auto data = temp_path("bands.csv"), model = temp_path("bands.json"),
         out = temp_path("bands-pred.csv");
    write(data, csv);
    auto r = run_process(pmcmodel({"fit", "--data", data, "--target", "y", "--features", "a",
                                   "--band-by", "frequency_mhz", "--out", model}));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    CHECK_MESSAGE(r.out.find("bands by frequency_mhz") != std::string::npos, r.out);
    auto m = json::parse(read_file(model));
    REQUIRE(m.contains("bands"));
    const auto& bands = m["bands"];
    CHECK(bands["column"] == "frequency_mhz");
    // Three distinct values → edges midway: 2000 and 4000.
    CHECK(bands["edges"] == json::array({2000.0, 4000.0}));
    REQUIRE(bands["list"].size() == 3);
    const auto& low = bands["list"][0]["model"];
    const auto& high = bands["list"][1]["model"];
    CHECK(low["intercept"]["value"].get<double>() == doctest::Approx(5).epsilon(0.02));
    CHECK(low["features"][0]["coefficient"].get<double>() == doctest::Approx(2).epsilon(0.01));
    CHECK(high["intercept"]["value"].get<double>() == doctest::Approx(20).epsilon(0.02));
    CHECK(high["features"][0]["coefficient"].get<double>() == doctest::Approx(6).epsilon(0.01));
    CHECK(bands["list"][0]["rows"] == 100);
    CHECK(bands["list"][2]["rows"] == 3);
    CHECK_FALSE(bands["list"][2].contains("model"));
    CHECK(bands["list"][2]["fallback"].get<std::string>().find("fewer than 10") !=
          std::string::npos);
    // Each band's held-out RMSE is the noise (0.1); the pooled line through both laws cannot do
    // better than the spread between them (the laws differ by 15 + 4a, several units).
    double band_rmse = bands["cv"]["rmse"], pooled_rmse = m["cv"]["rmse"];
    CHECK(band_rmse == doctest::Approx(0.1).epsilon(0.3));
    CHECK(low["cv"]["rmse"].get<double>() == doctest::Approx(0.1).epsilon(0.3));
    CHECK(pooled_rmse > 20 * band_rmse);

    // predict: each row by its band's model; the 5000 MHz rows by the pooled model, saying so.
    write(data + ".new", "frequency_mhz,a\n1000,1\n3000,1\n5000,1\n");
    auto p =
        run_process(pmcmodel({"predict", "--model", model, "--data", data + ".new", "--csv", out}));
    REQUIRE_MESSAGE(p.exit_code == 0, p.err);
    CHECK_MESSAGE(p.err.find("by the pooled model") != std::string::npos, p.err);
    auto t = parse_table(read_file(out));
    REQUIRE(t.rows.size() == 3);
    CHECK(t.num(0, "predicted_y") == doctest::Approx(7).epsilon(0.02));
    CHECK(t.num(1, "predicted_y") == doctest::Approx(26).epsilon(0.02));
    double pooled =
        m["intercept"]["value"].get<double>() + m["features"][0]["coefficient"].get<double>() * 1;
    CHECK(t.num(2, "predicted_y") == doctest::Approx(pooled).epsilon(1e-9));
    CHECK(t.rows[0].at("band") == "0");
    CHECK(t.rows[1].at("band") == "1");
    CHECK(t.rows[2].at("band") == "pooled");

    // --band-edges given: one band below 2000 and one above; bad edges are refused.
    r = run_process(
        pmcmodel({"fit", "--data", data, "--target", "y", "--features", "a", "--band-by",
                  "frequency_mhz", "--band-edges", "2000", "--out", model}));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    CHECK(json::parse(read_file(model))["bands"]["list"].size() == 2);
    r = run_process(
        pmcmodel({"fit", "--data", data, "--target", "y", "--features", "a", "--band-by",
                  "frequency_mhz", "--band-edges", "3000,2000", "--out", model}));
    CHECK(r.exit_code == 2);
    CHECK(one_line(r.err));
    for (const auto& f : {data, data + ".new", model, out}) std::filesystem::remove(f);
  }
}

TEST_SUITE("kernel") {
  TEST_CASE(
      "calibrate --seconds 3 writes real intervals and says which models could not be fitted") {
    auto data = temp_path("calib.csv"), model = temp_path("calib.json");
    auto start = std::chrono::system_clock::now();
    auto r =
        run_process(pmcmodel({"calibrate", "--seconds", "3", "--out-data", data, "--out", model}));
    double took = std::chrono::duration<double>(std::chrono::system_clock::now() - start).count();
    double t0 = std::chrono::duration<double>(start.time_since_epoch()).count();
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    CHECK(took < 6);  // --seconds bounds the run (plus process start and the fits)
    auto t = parse_table(read_file(data));
    REQUIRE(t.rows.size() >= 5);
    for (const char* col :
         {"timestamp", "workload", "threads", "frequency_mhz", "interval_s", "task_clock_per_s"})
      CHECK_MESSAGE(std::find(t.header.begin(), t.header.end(), col) != t.header.end(), col);
    std::set<std::string> workloads;
    double previous = 0;
    for (size_t i = 0; i < t.rows.size(); ++i) {
      double ts = t.num(i, "timestamp");
      CHECK(ts >= t0);
      CHECK(ts <= t0 + took + 1);
      CHECK(ts >= previous);
      previous = ts;
      CHECK(t.num(i, "interval_s") >= 0.05);
      CHECK(t.num(i, "interval_s") <= 0.2);
      int threads = int(t.num(i, "threads"));
      CHECK(threads >= 1);
      CHECK(threads <= int(sysconf(_SC_NPROCESSORS_ONLN)));
      // task-clock in msec per second: at most 1000 per thread (plus rounding at interval edges).
      CHECK(t.num(i, "task_clock_per_s") <= 1000.0 * threads * 1.2 + 50);
      workloads.insert(t.rows[i].at("workload"));
    }
    CHECK(workloads.size() >= 2);
    // A busy kernel counts about a CPU per thread; idle almost nothing.
    for (size_t i = 0; i < t.rows.size(); ++i)
      if (t.rows[i].at("workload") == "idle") CHECK(t.num(i, "task_clock_per_s") < 100);
    CHECK(r.out.find("wrote " + data) != std::string::npos);
    CHECK(r.out.find("frequency not varied") != std::string::npos);
    if (pmc::probe_hardware_counters() != 0) {
      CHECK(r.out.find("models not fitted") != std::string::npos);
      CHECK(r.out.find("IPC: needs cycles and instructions") != std::string::npos);
      CHECK(r.out.find("CPI stack (cache stalls): needs cycles") != std::string::npos);
    }
    bool has_watts = false;
    for (const auto& h : t.header)
      has_watts |= h.size() > 6 && h.compare(h.size() - 6, 6, "_watts") == 0;
    if (!has_watts) CHECK(r.out.find("watts need RAPL") != std::string::npos);
    std::filesystem::remove(data);
  }
}

TEST_SUITE("pure") {
  // The quality bar of issue 5 on real data (tests/data/kepler): fit on the earlier 70% of the
  // file, predict the later 30%, with the commands.
  TEST_CASE("Kepler nx12: NNLS on the documented pool beats plain OLS on the later period") {
    auto all = read_file(std::string(PMC_TEST_DATA) + "/kepler/kepler-nx12-train.csv");
    std::vector<std::string> lines;
    std::stringstream in(all);
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    REQUIRE(lines.size() == 1542);
    size_t rows = lines.size() - 1,
           cut = rows - size_t(std::llround(double(rows) * 0.3));  // 1079 earlier rows
    std::string earlier = lines[0] + "\n", later = lines[0] + "\n";
    for (size_t i = 1; i <= rows; ++i) (i <= cut ? earlier : later) += lines[i] + "\n";
    auto e = temp_path("kepler-earlier.csv"), l = temp_path("kepler-later.csv"),
         m = temp_path("kepler.json"), p = temp_path("kepler-pred.csv");
    write(e, earlier);
    write(l, later);
    auto later_mape = [&](const std::vector<std::string>& fit_args) {
      std::vector<std::string> args = {"fit", "--data", e, "--target", "package_power", "--out", m};
      args.insert(args.end(), fit_args.begin(), fit_args.end());
      auto f = run_process(pmcmodel(args));
      REQUIRE_MESSAGE(f.exit_code == 0, f.err);
      REQUIRE(run_process(pmcmodel({"predict", "--model", m, "--data", l, "--csv", p})).exit_code ==
              0);
      auto t = parse_table(read_file(p));
      REQUIRE(t.rows.size() == rows - cut);
      double sum = 0;
      for (size_t i = 0; i < t.rows.size(); ++i)
        sum += std::fabs(t.num(i, "package_power") - t.num(i, "predicted_package_power")) /
               t.num(i, "package_power");
      return 100 * sum / double(t.rows.size());
    };
    double baseline = later_mape({"--features", "cpu_cycles,cpu_instructions,cache_miss"});
    double nnls = later_mape(
        {"--model", "nnls", "--features",
         "cpu_cycles,cpu_instructions,bpf_cpu_time_us,log1p(cpu_cycles),log1p(cpu_instructions),"
         "log1p(cache_miss),log1p(bpf_cpu_time_us),hinge(bpf_cpu_time_us,1000),"
         "hinge(bpf_cpu_time_us,10000),hinge(bpf_cpu_time_us,20000),square(cpu_cycles),"
         "product(bpf_cpu_time_us,cpu_cycles),product(bpf_cpu_time_us,cpu_instructions),"
         "ratio(cpu_instructions,cpu_cycles),ratio(cache_miss,cpu_instructions),"
         "ratio(cpu_cycles,bpf_cpu_time_us)"});
    MESSAGE("later-period package_power MAPE: OLS baseline " << baseline << "%, NNLS " << nnls
                                                             << "%");
    CHECK(nnls < 10.5);      // the ~11% the issue quotes for the baseline would fail this
    CHECK(baseline > 10.5);  // and the baseline does fail it on the later period

    // The "about 11%": the baseline with shuffled 10-fold CV over the whole file.
    auto whole = std::string(PMC_TEST_DATA) + "/kepler/kepler-nx12-train.csv";
    auto f = run_process(pmcmodel({"fit", "--data", whole, "--target", "package_power",
                                   "--features", "cpu_cycles,cpu_instructions,cache_miss", "--cv",
                                   "kfold", "--folds", "10", "--out", m}));
    REQUIRE(f.exit_code == 0);
    CHECK(json::parse(read_file(m))["cv"]["mape_percent"].get<double>() ==
          doctest::Approx(11.0).epsilon(0.1));
    for (const auto& x : {e, l, m, p}) std::filesystem::remove(x);
  }
}

TEST_SUITE("kernel") {
  TEST_CASE("calibrate --power-from a meter log adds each interval's watts to the dataset") {
    // A wall meter that reads a constant 150 W every 50 ms over the next 15 s: every interval's
    // average must be 150 W.
    auto meter = temp_path("meter.csv"), data = temp_path("calib-meter.csv");
    double now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    std::string log = "timestamp,watts\n";
    for (int i = -40; i < 300; ++i) log += std::to_string(now + 0.05 * i) + ",150\n";
    write(meter, log);
    auto r = run_process(pmcmodel({"calibrate", "--seconds", "2", "--workloads", "int,idle",
                                   "--threads", "1", "--power-from", meter, "--out-data", data}));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    auto t = parse_table(read_file(data));
    REQUIRE(t.rows.size() >= 4);
    REQUIRE(std::find(t.header.begin(), t.header.end(), "wall_watts") != t.header.end());
    for (size_t i = 0; i < t.rows.size(); ++i)
      CHECK(t.num(i, "wall_watts") == doctest::Approx(150).epsilon(0.001));
    // Fitted or refused, the watts model is reported.
    CHECK_MESSAGE(r.out.find("watts of wall") != std::string::npos, r.out);
    std::filesystem::remove(meter);
    std::filesystem::remove(data);
  }
}

TEST_SUITE("kernel") {
  TEST_CASE(
      "measure --model adds the model's watts to energy[] and metrics, labelled model:<file>") {
    // package_watts = 10 + 0.02 × task_clock_per_s ± 0.01 (hand-made; task-clock in msec/s).
    auto table = temp_path("watts.csv"), model = temp_path("watts.json"),
         doc = temp_path("watts-doc.json");
    std::string csv = "task_clock_per_s,package_watts\n";
    for (int r = 0; r <= 40; ++r)
      csv += std::to_string(50 * r) + "," +
             std::to_string(10 + 0.02 * 50 * r + (r % 2 ? 0.01 : -0.01)) + "\n";
    write(table, csv);
    REQUIRE(run_process(pmcmodel({"fit", "--data", table, "--target", "package_watts", "--features",
                                  "task_clock_per_s", "--out", model}))
                .exit_code == 0);
    auto m = json::parse(read_file(model));
    double b0 = m["intercept"]["value"], b1 = m["features"][0]["coefficient"];
    CHECK(b0 == doctest::Approx(10).epsilon(0.01));
    CHECK(b1 == doctest::Approx(0.02).epsilon(0.01));

    // A second model needs cycles, which -e task-clock does not count: it is not applied.
    auto cyc_table = temp_path("cyc.csv"), cyc_model = temp_path("cyc.json");
    write(cyc_table,
          "cycles_per_s,package_watts\n1e9,20\n2e9,31\n3e9,39\n4e9,52\n5e9,60\n6e9,71\n");
    REQUIRE(
        run_process(pmcmodel({"fit", "--data", cyc_table, "--target", "package_watts", "--features",
                              "cycles_per_s", "--cv", "kfold", "--folds", "3", "--out", cyc_model}))
            .exit_code == 0);

    auto child = child_command("spin:0.3");
    std::vector<std::string> args = {"measure", "-e",      "task-clock", "--model", model,
                                     "--model", cyc_model, "--json",     doc,       "--"};
    args.insert(args.end(), child.begin(), child.end());
    auto r = run_process(pmcmodel(args));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    auto d = json::parse(read_file(doc));
    double task_clock_ms = 0;
    for (const auto& e : d["events"])
      if (e["name"] == "task-clock") task_clock_ms = e["value"];
    double duration = d["duration_s"];
    double expected = b0 + b1 * task_clock_ms / duration;
    const json* estimate = nullptr;
    for (const auto& e : d["energy"])
      if (e["method"] == "model:" + model) estimate = &e;
    REQUIRE(estimate != nullptr);
    CHECK((*estimate)["domain"] == "package");
    CHECK((*estimate)["average_watts"].get<double>() == doctest::Approx(expected).epsilon(1e-9));
    CHECK((*estimate)["joules"].get<double>() ==
          doctest::Approx(expected * duration).epsilon(1e-9));
    bool metric = false, noted = false;
    for (const auto& x : d["metrics"])
      metric |= x["name"] == "model:" + model + ":package_watts" &&
                std::fabs(x["value"].get<double>() - expected) < 1e-9;
    for (const auto& n : d["notes"])
      noted |=
          n.get<std::string>().find("model:" + cyc_model +
                                    ": not applied: it needs cycles_per_s") != std::string::npos;
    CHECK(metric);
    CHECK(noted);
    for (const auto& e : d["energy"]) CHECK(e["method"] != "model:" + cyc_model);

    // A model file that is not one: exit 2 before anything runs.
    write(cyc_model, "not json\n");
    auto bad = run_process(
        pmcmodel({"measure", "-e", "task-clock", "--model", cyc_model, "--", "/bin/true"}));
    CHECK(bad.exit_code == 2);
    CHECK(one_line(bad.err));
    for (const auto& p : {table, model, doc, cyc_table, cyc_model}) std::filesystem::remove(p);
  }

  TEST_CASE("measure -I --model adds the model's estimate to every interval from its own deltas") {
    // package_watts = 10 + 0.02 × task_clock_per_s, exactly (hand-made; task-clock in msec/s, so
    // one busy CPU is 1000 and 30 W).
    auto table = temp_path("iv-watts.csv"), model = temp_path("iv-watts.json"),
         doc = temp_path("iv-doc.json"), stream = temp_path("iv-stream.jsonl");
    write(table, "task_clock_per_s,package_watts\n0,10\n250,15\n500,20\n750,25\n1000,30\n100,12\n");
    REQUIRE(
        run_process(pmcmodel({"fit", "--data", table, "--target", "package_watts", "--features",
                              "task_clock_per_s", "--cv", "kfold", "--folds", "3", "--out", model}))
            .exit_code == 0);
    auto child = child_command("spin:0.45");
    std::vector<std::string> args = {"measure", "-I",  "100",    "-e", "task-clock",
                                     "--model", model, "--json", doc,  "--interval-out",
                                     stream,    "--"};
    args.insert(args.end(), child.begin(), child.end());
    auto r = run_process(pmcmodel(args));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    auto d = json::parse(read_file(doc));
    REQUIRE(d["intervals"].size() >= 3);
    const std::string label = "model:" + model;
    auto check_interval = [&](const json& iv) {
      double ms = -1;
      for (const auto& e : iv["events"])
        if (e["name"] == "task-clock") ms = e["value"];
      REQUIRE(ms >= 0);
      double duration = iv["duration_s"];
      double expected = 10 + 0.02 * ms / duration;
      const json* metric = nullptr;
      for (const auto& x : iv["metrics"])
        if (x["name"] == label + ":package_watts") metric = &x;
      REQUIRE(metric != nullptr);
      CHECK((*metric)["value"].get<double>() == doctest::Approx(expected).epsilon(1e-6));
      const json* energy = nullptr;
      for (const auto& e : iv["energy"])
        if (e["method"] == label) energy = &e;
      REQUIRE(energy != nullptr);
      CHECK((*energy)["average_watts"].get<double>() == doctest::Approx(expected).epsilon(1e-6));
      CHECK((*energy)["joules"].get<double>() ==
            doctest::Approx(expected * duration).epsilon(1e-6));
    };
    for (const auto& iv : d["intervals"]) check_interval(iv);
    // The spinner's busiest interval has at least its mean CPU share over the run (wait4's CPU
    // time over the wall time: near one CPU on an idle machine, less when the machine is busy)
    // and at most one CPU, so its estimate lies between 10 + 0.02 × 1000 × share and 30 W: the
    // estimate follows the interval, not the run's mean.
    double share =
        (d["user_s"].get<double>() + d["sys_s"].get<double>()) / d["duration_s"].get<double>();
    double busiest = 0;
    for (const auto& iv : d["intervals"])
      for (const auto& x : iv["metrics"])
        if (x["name"] == label + ":package_watts")
          busiest = std::max(busiest, x["value"].get<double>());
    CAPTURE(share);
    CHECK(busiest > 10 + 0.02 * 1000 * share * 0.95);
    CHECK(busiest < 31);
    // The streamed intervals carry the same entries.
    std::stringstream lines(read_file(stream));
    size_t streamed = 0;
    for (std::string line; std::getline(lines, line);)
      if (!line.empty()) {
        check_interval(json::parse(line));
        ++streamed;
      }
    CHECK(streamed == d["intervals"].size());
    for (const auto& p : {table, model, doc, stream}) std::filesystem::remove(p);
  }
}
