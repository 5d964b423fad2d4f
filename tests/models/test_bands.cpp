// Banded models (one sub-model per band of a column, as SmartWatts fits one per frequency): band
// edges, the band a value falls in, the model file round trip and predict's choice of band with
// its fallback to the pooled model.
#include <doctest/doctest.h>

#include <cmath>

#include "models/fit/model_file.h"

using namespace pmc;

namespace {

// y = intercept + slope·a, exactly, valid for a in [0, 10].
std::shared_ptr<Model> line(double intercept, double slope) {
  auto m = std::make_shared<Model>();
  m->target = "y";
  m->solver = "ols";
  m->intercept = intercept;
  ModelTerm t;
  t.spec = raw_feature("a");
  t.coefficient = slope;
  t.train_min = 0;
  t.train_max = 10;
  m->terms.push_back(t);
  m->interval = {0.9, -1, 1};
  return m;
}

// Pooled y = 10 + 4a; band < 2000: 5 + 2a; band [2000, 4000): 20 + 6a; band ≥ 4000: no model.
Model banded() {
  Model m = *line(10, 4);
  m.cv.method = "kfold";
  m.band_column = "frequency_mhz";
  m.band_edges = {2000, 4000};
  m.band_min_rows = 10;
  m.bands.resize(3);
  m.bands[0].rows = 100;
  m.bands[0].model = line(5, 2);
  m.bands[1].rows = 100;
  m.bands[1].model = line(20, 6);
  m.bands[2].rows = 3;
  m.bands[2].reason = "3 training rows, fewer than 10: the pooled model predicts it";
  return m;
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("bands: a value's band is the number of edges at or below it") {
    std::vector<double> edges = {2000, 4000};
    CHECK(band_index(edges, 1000) == 0);
    CHECK(band_index(edges, 1999.9) == 0);
    CHECK(band_index(edges, 2000) == 1);
    CHECK(band_index(edges, 3999) == 1);
    CHECK(band_index(edges, 4000) == 2);
    CHECK(band_index(edges, 1e9) == 2);
    CHECK(band_index({}, 5) == 0);
  }

  TEST_CASE("bands: default edges, one band per value up to 8 values, else 4 quantile bands") {
    CHECK(default_band_edges({1200, 2400, 1200, 3000, 2400}) == std::vector<double>{1800, 2700});
    CHECK(default_band_edges({7, 7, 7}).empty());
    // 1 … 9 (nine values): type-7 quantiles at 25/50/75% are 3, 5, 7.
    CHECK(default_band_edges({9, 1, 2, 3, 4, 5, 6, 7, 8}) == std::vector<double>{3, 5, 7});
    // 0 … 99: h = 99·q, so 24.75, 49.5, 74.25.
    std::vector<double> hundred;
    for (int i = 0; i < 100; ++i) hundred.push_back(i);
    auto e = default_band_edges(hundred);
    REQUIRE(e.size() == 3);
    CHECK(e[0] == doctest::Approx(24.75));
    CHECK(e[1] == doctest::Approx(49.5));
    CHECK(e[2] == doctest::Approx(74.25));
  }

  TEST_CASE("bands: predict chooses each row's band and falls back to the pooled model") {
    Dataset d;
    d.add_column("frequency_mhz", {1000, 3000, 5000, 2000});
    d.add_column("a", {1, 1, 1, 2});
    auto p = predict(banded(), d);
    REQUIRE(p.band.size() == 4);
    CHECK(p.band == std::vector<int>{0, 1, -1, 1});
    CHECK(p.value[0] == doctest::Approx(7));   // 5 + 2·1
    CHECK(p.value[1] == doctest::Approx(26));  // 20 + 6·1
    CHECK(p.value[2] == doctest::Approx(14));  // pooled 10 + 4·1
    CHECK(p.value[3] == doctest::Approx(32));  // 20 + 6·2 (2000 is in the second band)
    CHECK(p.lower[1] == doctest::Approx(25));
    CHECK(p.band_note.empty());

    Dataset no_band;
    no_band.add_column("a", {1});
    auto q = predict(banded(), no_band);
    CHECK(q.value[0] == doctest::Approx(14));
    CHECK(q.band == std::vector<int>{-1});
    CHECK(q.band_note.find("no column 'frequency_mhz'") == 0);
  }

  TEST_CASE("bands: the model file keeps every band, and a file without bands is unbanded") {
    Model m = banded();
    m.band_cv = {200, 0.5, 0.1, 0.07, 0.99};
    std::string text = model_to_json(m);
    Model back = model_from_json(text, "banded.json");
    CHECK(back.band_column == "frequency_mhz");
    CHECK(back.band_edges == m.band_edges);
    CHECK(back.band_min_rows == 10);
    CHECK(back.band_cv.n == 200);
    REQUIRE(back.bands.size() == 3);
    CHECK(std::isinf(back.bands[0].lower));
    CHECK(back.bands[0].upper == 2000);
    CHECK(back.bands[1].lower == 2000);
    CHECK(back.bands[2].lower == 4000);
    REQUIRE(back.bands[1].model != nullptr);
    CHECK(back.bands[1].model->intercept == 20);
    CHECK(back.bands[1].model->terms.at(0).coefficient == 6);
    CHECK(back.bands[2].model == nullptr);
    CHECK(back.bands[2].reason == m.bands[2].reason);
    Dataset d;
    d.add_column("frequency_mhz", {1000, 3000, 5000});
    d.add_column("a", {3, 3, 3});
    CHECK(predict(back, d).value == predict(m, d).value);

    Model plain = *line(1, 1);
    CHECK(model_from_json(model_to_json(plain), "plain.json").bands.empty());
    CHECK(model_to_json(plain).find("\"bands\"") == std::string::npos);
  }

  TEST_CASE("bands: malformed band sections are refused with FILE:LINE") {
    std::string text = model_to_json(banded());
    auto refused = [&](const std::string& from, const std::string& to, const std::string& what) {
      std::string bad = text;
      auto at = bad.find(from);
      REQUIRE(at != std::string::npos);
      bad.replace(at, from.size(), to);
      try {
        model_from_json(bad, "m.json");
        FAIL("accepted: " << what);
      } catch (const std::runtime_error& e) {
        std::string msg = e.what();
        CHECK_MESSAGE(msg.rfind("m.json:", 0) == 0, msg);
        CHECK_MESSAGE(msg.find(what) != std::string::npos, msg);
      }
    };
    refused("\"edges\": [\n      2000.0,\n      4000.0\n    ]", "\"edges\": [4000.0, 2000.0]",
            "increasing");
    refused("\"fallback\"", "\"nothing\"", "expected 'model' or 'fallback'");
  }
}
