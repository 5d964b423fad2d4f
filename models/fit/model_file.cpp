#include "models/fit/model_file.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "events/text/input_file.h"
#include "events/text/json_guard.h"
#include "pmcmodel_version.h"

namespace pmc {
namespace {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;  // the writer keeps "schema" first

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr const char* kIntervalMethod = "cv_residual_quantiles";
// Residuals as fractions of the prediction, (actual − predicted) / |predicted| (relative-error
// fits).
constexpr const char* kRelativeIntervalMethod = "cv_relative_residual_quantiles";

bool needs_b(FeatureOp op) {
  return op == FeatureOp::rate || op == FeatureOp::ratio || op == FeatureOp::product;
}

ordered_json term_to_json(const ModelTerm& t) {
  ordered_json j = {{"name", t.spec.name}, {"op", to_string(t.spec.op)}, {"a", t.spec.a}};
  if (needs_b(t.spec.op)) j["b"] = t.spec.b;
  if (t.spec.op == FeatureOp::hinge) j["knot"] = t.spec.knot;
  if (t.spec.scale != 1) j["scale"] = t.spec.scale;
  j["coefficient"] = t.coefficient;
  j["standard_error"] = t.standard_error;  // NaN is written as null
  j["train_min"] = t.train_min;
  j["train_max"] = t.train_max;
  return j;
}

ordered_json stall_check_to_json(const StallComparison& s) {
  ordered_json groups = ordered_json::array();
  for (const auto& g : s.groups) {
    ordered_json levels = ordered_json::array();
    for (const auto& l : g.levels)
      levels.push_back({{"level", l.level},
                        {"counter", l.counter},
                        {"model_levels", l.model_levels},
                        {"model_share", l.model_share},
                        {"measured_share", l.measured_share},
                        {"difference", l.difference},
                        {"relative_error_percent", l.relative_error_percent}});
    groups.push_back({{"group", g.group},
                      {"rows", g.rows},
                      {"levels", levels},
                      {"reference_share", g.reference_share}});
  }
  return {{"reference", s.reference}, {"notes", s.notes}, {"groups", groups}};
}

// Reads a parsed document; a missing or mistyped field names its path and the line it is on
// (found by searching the text, since the JSON parser keeps no positions).
struct Reader {
  std::string_view text;
  const std::string& file;
  size_t from = 0;  // where keys are searched from: the start of a band's model object

  size_t line_at(size_t byte) const {
    size_t line = 1;
    for (size_t i = 0; i < byte && i < text.size(); ++i) line += text[i] == '\n';
    return line;
  }
  // Byte offset of the `index`-th object of the "features" array, or of "key", or 0.
  size_t locate(const std::string& key, long index = -1) const {
    size_t at = text.find("\"" + key + "\"", from);
    if (at == std::string_view::npos) return 0;
    if (index < 0) return at;
    for (long i = 0; i <= index; ++i) {
      size_t next = text.find('{', at + 1);
      if (next == std::string_view::npos) return at;
      at = next;
    }
    return at;
  }
  [[noreturn]] void fail(const std::string& what, size_t byte = 0) const {
    throw std::runtime_error(fmt::format("{}:{}: {}", file, line_at(byte), what));
  }

  const json& object(const json& parent, const char* key, const std::string& where,
                     size_t byte) const {
    if (!parent.contains(key)) fail(fmt::format("expected field '{}' in {}", key, where), byte);
    const json& j = parent.at(key);
    if (!j.is_object())
      fail(fmt::format("expected '{}' in {} to be an object", key, where), locate(key));
    return j;
  }
  std::string string(const json& obj, const char* key, const std::string& where, size_t byte,
                     bool required = true) const {
    if (!obj.contains(key) || obj.at(key).is_null()) {
      if (required) fail(fmt::format("expected field '{}' in {}", key, where), byte);
      return {};
    }
    if (!obj.at(key).is_string())
      fail(fmt::format("expected '{}' in {} to be a string", key, where), byte);
    return obj.at(key).get<std::string>();
  }
  // A number; null reads as NaN where `nullable`.
  double number(const json& obj, const char* key, const std::string& where, size_t byte,
                bool required = true, bool nullable = false, double fallback = 0) const {
    if (!obj.contains(key)) {
      if (required) fail(fmt::format("expected field '{}' in {}", key, where), byte);
      return fallback;
    }
    const json& j = obj.at(key);
    if (j.is_null() && nullable) return kNaN;
    if (!j.is_number()) fail(fmt::format("expected '{}' in {} to be a number", key, where), byte);
    double v = j.get<double>();
    if (!std::isfinite(v)) fail(fmt::format("expected '{}' in {} to be finite", key, where), byte);
    return v;
  }
  size_t count(const json& obj, const char* key, const std::string& where, size_t byte) const {
    if (!obj.contains(key) || !obj.at(key).is_number_unsigned())
      fail(fmt::format("expected field '{}' in {} to be a non-negative integer", key, where), byte);
    return obj.at(key).get<size_t>();
  }

  ModelTerm term(const json& j, size_t index) const {
    std::string where = fmt::format("features[{}]", index);
    size_t byte = locate("features", long(index));
    if (!j.is_object()) fail("expected " + where + " to be an object", byte);
    ModelTerm t;
    t.spec.name = string(j, "name", where, byte);
    std::string op = string(j, "op", where, byte);
    auto parsed = parse_feature_op(op);
    if (!parsed)
      fail(fmt::format("expected 'op' in {} to be one of raw, rate, ratio, product, square, hinge, "
                       "log1p, sqrt, "
                       "found '{}'",
                       where, op),
           byte);
    t.spec.op = *parsed;
    t.spec.a = string(j, "a", where, byte);
    if (t.spec.a.empty()) fail("expected a column name in 'a' of " + where, byte);
    if (needs_b(t.spec.op)) {
      t.spec.b = string(j, "b", where, byte);
      if (t.spec.b.empty()) fail("expected a column name in 'b' of " + where, byte);
    }
    if (t.spec.op == FeatureOp::hinge) t.spec.knot = number(j, "knot", where, byte);
    t.spec.scale = number(j, "scale", where, byte, false, false, 1);
    t.coefficient = number(j, "coefficient", where, byte);
    t.standard_error = number(j, "standard_error", where, byte, false, true, kNaN);
    t.train_min = number(j, "train_min", where, byte);
    t.train_max = number(j, "train_max", where, byte);
    if (t.train_min > t.train_max) fail("expected train_min ≤ train_max in " + where, byte);
    return t;
  }

  Model model(const json& doc) const {
    if (!doc.is_object()) fail("expected a JSON object");
    Model m;
    std::string schema = string(doc, "schema", "the document", 0);
    if (schema != kModelSchema)
      fail(fmt::format("expected schema '{}', found '{}'", kModelSchema, schema), locate("schema"));
    m.target = string(doc, "target", "the document", 0);
    if (m.target.empty()) fail("expected a non-empty 'target'", locate("target"));
    m.pmcmodel_version = string(doc, "pmcmodel_version", "the document", 0, false);
    m.created_at = string(doc, "created_at", "the document", 0, false);
    if (doc.contains("machine")) m.machine = object(doc, "machine", "the document", 0);
    body(doc, m, "the document");
    if (doc.contains("stall_counters"))
      m.stall_check = stall_check(object(doc, "stall_counters", "the document", 0));
    if (doc.contains("bands")) bands(object(doc, "bands", "the document", 0), m);
    return m;
  }

  // The fields a band's model has as well as the whole document's.
  void body(const json& doc, Model& m, const std::string& where) const {
    const json& solver = object(doc, "solver", where, from);
    size_t sb = locate("solver");
    m.solver = string(solver, "name", "solver", sb);
    if (!parse_solver(m.solver))
      fail(
          fmt::format("expected solver name ols, ridge, nnls or elastic_net, found '{}'", m.solver),
          sb);
    m.lambda = number(solver, "lambda", "solver", sb, false);
    m.alpha = number(solver, "alpha", "solver", sb, false);
    if (solver.contains("nonnegative_intercept")) {
      if (!solver["nonnegative_intercept"].is_boolean())
        fail("expected solver.nonnegative_intercept to be a boolean", sb);
      m.nonnegative_intercept = solver["nonnegative_intercept"].get<bool>();
    }

    const json& intercept = object(doc, "intercept", where, from);
    size_t ib = locate("intercept");
    m.intercept = number(intercept, "value", "intercept", ib);
    m.intercept_se = number(intercept, "standard_error", "intercept", ib, false, true, kNaN);
    if (doc.contains("extrapolation")) {
      std::string how = string(doc, "extrapolation", where, from);
      if (how != "clip" && how != "linear")
        fail(fmt::format("expected 'extrapolation' to be clip or linear, found '{}'", how),
             locate("extrapolation"));
      m.clip_out_of_range = how == "clip";
    }

    if (!doc.contains("features") || !doc["features"].is_array())
      fail("expected an array 'features'", locate("features"));
    const json& features = doc["features"];
    for (size_t i = 0; i < features.size(); ++i) {
      m.terms.push_back(term(features[i], i));
      for (size_t k = 0; k < i; ++k)
        if (m.terms[k].spec.name == m.terms[i].spec.name)
          fail(fmt::format("duplicate feature name '{}'", m.terms[i].spec.name),
               locate("features", long(i)));
    }

    if (doc.contains("inputs")) m.inputs = inputs(doc["inputs"]);

    const json& training = object(doc, "training", where, from);
    size_t tb = locate("training");
    m.training_rows = count(training, "rows", "training", tb);
    m.target_min = number(training, "target_min", "training", tb);
    m.target_max = number(training, "target_max", "training", tb);

    const json& cv = object(doc, "cv", where, from);
    size_t cb = locate("cv");
    m.cv.method = string(cv, "method", "cv", cb);
    m.cv.folds = count(cv, "folds", "cv", cb);
    m.cv.errors.n = count(cv, "rows", "cv", cb);
    m.cv.errors.mape_percent = number(cv, "mape_percent", "cv", cb, true, true);
    m.cv.errors.rmse = number(cv, "rmse", "cv", cb);
    m.cv.errors.medae = number(cv, "medae", "cv", cb);
    m.cv.errors.r2 = number(cv, "r2", "cv", cb, true, true);

    const json& iv = object(doc, "interval", where, from);
    size_t vb = locate("interval");
    std::string method = string(iv, "method", "interval", vb);
    if (method != kIntervalMethod && method != kRelativeIntervalMethod)
      fail(fmt::format("expected interval method '{}' or '{}', found '{}'", kIntervalMethod,
                       kRelativeIntervalMethod, method),
           vb);
    m.interval.relative = method == kRelativeIntervalMethod;
    m.interval.level = number(iv, "level", "interval", vb);
    m.interval.lower = number(iv, "residual_lower", "interval", vb);
    m.interval.upper = number(iv, "residual_upper", "interval", vb);
    if (!(m.interval.level > 0 && m.interval.level < 1))
      fail("expected interval.level in (0, 1)", vb);
    if (m.interval.lower > m.interval.upper)
      fail("expected interval.residual_lower ≤ residual_upper", vb);
  }

  std::vector<InputRange> inputs(const json& j) const {
    size_t byte = locate("inputs");
    if (!j.is_array()) fail("expected an array 'inputs'", byte);
    std::vector<InputRange> out;
    for (size_t i = 0; i < j.size(); ++i) {
      std::string where = fmt::format("inputs[{}]", i);
      if (!j[i].is_object()) fail("expected " + where + " to be an object", byte);
      InputRange in;
      in.column = string(j[i], "column", where, byte);
      if (in.column.empty()) fail("expected a column name in 'column' of " + where, byte);
      in.train_min = number(j[i], "train_min", where, byte);
      in.train_max = number(j[i], "train_max", where, byte);
      if (in.train_min > in.train_max) fail("expected train_min ≤ train_max in " + where, byte);
      for (const auto& seen : out)
        if (seen.column == in.column)
          fail(fmt::format("duplicate input column '{}'", in.column), byte);
      out.push_back(std::move(in));
    }
    return out;
  }

  void bands(const json& j, Model& m) const {
    size_t bb = locate("bands");
    m.band_column = string(j, "column", "bands", bb);
    if (m.band_column.empty()) fail("expected a column name in bands.column", bb);
    if (!j.contains("edges") || !j["edges"].is_array())
      fail("expected an array 'edges' in bands", bb);
    for (const auto& e : j["edges"]) {
      if (!e.is_number()) fail("expected bands.edges to be numbers", bb);
      m.band_edges.push_back(e.get<double>());
    }
    if (!std::is_sorted(m.band_edges.begin(), m.band_edges.end()) ||
        std::adjacent_find(m.band_edges.begin(), m.band_edges.end()) != m.band_edges.end())
      fail("expected bands.edges in increasing order", bb);
    m.band_min_rows = count(j, "min_rows", "bands", bb);
    if (j.contains("cv")) {
      const json& cv = object(j, "cv", "bands", bb);
      m.band_cv.n = count(cv, "rows", "bands.cv", bb);
      m.band_cv.mape_percent = number(cv, "mape_percent", "bands.cv", bb, true, true);
      m.band_cv.rmse = number(cv, "rmse", "bands.cv", bb, true, true);
      m.band_cv.medae = number(cv, "medae", "bands.cv", bb, true, true);
      m.band_cv.r2 = number(cv, "r2", "bands.cv", bb, true, true);
    }
    if (!j.contains("list") || !j["list"].is_array() || j["list"].size() != m.band_edges.size() + 1)
      fail(fmt::format("expected an array 'list' of {} bands in bands (edges + 1)",
                       m.band_edges.size() + 1),
           bb);
    for (size_t i = 0; i < j["list"].size(); ++i) {
      const json& b = j["list"][i];
      std::string where = fmt::format("bands.list[{}]", i);
      if (!b.is_object()) fail("expected " + where + " to be an object", bb);
      ModelBand band;
      band.lower = i == 0 ? -std::numeric_limits<double>::infinity() : m.band_edges[i - 1];
      band.upper =
          i == m.band_edges.size() ? std::numeric_limits<double>::infinity() : m.band_edges[i];
      band.rows = count(b, "rows", where, bb);
      band.reason = string(b, "fallback", where, bb, false);
      if (b.contains("model")) {
        Reader inner = *this;
        inner.from = text.find("\"model\"", locate("list", long(i)));
        if (inner.from == std::string_view::npos) inner.from = bb;
        auto sub = std::make_shared<Model>();
        sub->target = m.target;
        inner.body(inner.object(b, "model", where, inner.from), *sub, where + ".model");
        band.model = std::move(sub);
      } else if (band.reason.empty()) {
        fail("expected 'model' or 'fallback' in " + where, bb);
      }
      m.bands.push_back(std::move(band));
    }
  }

  std::vector<std::string> strings(const json& obj, const char* key, const std::string& where,
                                   size_t byte) const {
    std::vector<std::string> out;
    if (!obj.contains(key)) return out;
    if (!obj.at(key).is_array())
      fail(fmt::format("expected '{}' in {} to be an array of strings", key, where), byte);
    for (const auto& v : obj.at(key)) {
      if (!v.is_string())
        fail(fmt::format("expected '{}' in {} to be an array of strings", key, where), byte);
      out.push_back(v.get<std::string>());
    }
    return out;
  }

  StallComparison stall_check(const json& j) const {
    StallComparison s;
    size_t sb = locate("stall_counters");
    s.reference = strings(j, "reference", "stall_counters", sb);
    s.notes = strings(j, "notes", "stall_counters", sb);
    if (!j.contains("groups") || !j["groups"].is_array())
      fail("expected an array 'groups' in stall_counters", sb);
    for (size_t i = 0; i < j["groups"].size(); ++i) {
      const json& g = j["groups"][i];
      std::string where = fmt::format("stall_counters.groups[{}]", i);
      if (!g.is_object()) fail("expected " + where + " to be an object", sb);
      GroupStallComparison gc;
      gc.group = string(g, "group", where, sb);
      gc.rows = count(g, "rows", where, sb);
      if (!g.contains("levels") || !g["levels"].is_array())
        fail("expected an array 'levels' in " + where, sb);
      for (const auto& l : g["levels"]) {
        if (!l.is_object()) fail("expected the levels of " + where + " to be objects", sb);
        LevelComparison lc;
        lc.level = int(count(l, "level", where, sb));
        lc.counter = string(l, "counter", where, sb);
        lc.model_levels = strings(l, "model_levels", where, sb);
        lc.model_share = number(l, "model_share", where, sb, true, true);
        lc.measured_share = number(l, "measured_share", where, sb, true, true);
        lc.difference = number(l, "difference", where, sb, true, true);
        lc.relative_error_percent = number(l, "relative_error_percent", where, sb, true, true);
        gc.levels.push_back(std::move(lc));
      }
      if (g.contains("reference_share")) {
        if (!g["reference_share"].is_array())
          fail("expected 'reference_share' in " + where + " to be an array", sb);
        for (const auto& v : g["reference_share"])
          gc.reference_share.push_back(v.is_number() ? v.get<double>() : kNaN);
      }
      s.groups.push_back(std::move(gc));
    }
    return s;
  }
};

}  // namespace

std::vector<InputRange> input_ranges(const Dataset& data,
                                     const std::vector<FeatureSpec>& features) {
  std::vector<InputRange> out;
  for (const auto& f : features)
    for (const auto& c : input_columns(f)) {
      if (std::any_of(out.begin(), out.end(), [&](const InputRange& i) { return i.column == c; }))
        continue;
      const auto& v = data.column(c);
      if (v.empty()) continue;
      auto [lo, hi] = std::minmax_element(v.begin(), v.end());
      out.push_back({c, *lo, *hi});
    }
  return out;
}

Model make_model(const Dataset& data, const std::string& target,
                 const std::vector<FeatureSpec>& features, const DesignMatrix& x,
                 const std::vector<double>& y, const Fit& fit, const CvResult& cv, size_t cv_splits,
                 const ModelIdentity& identity) {
  Model m;
  m.target = target;
  m.machine = identity.machine.is_null() ? json::object() : identity.machine;
  m.created_at = identity.created_at;
  m.pmcmodel_version = PMCMODEL_VERSION;
  m.solver = fit.solver;
  m.lambda = fit.lambda;
  m.alpha = fit.alpha;
  m.intercept = fit.intercept;
  m.intercept_se = fit.intercept_se;
  for (size_t c = 0; c < features.size(); ++c) {
    ModelTerm t;
    t.spec = features[c];
    t.coefficient = fit.coefficients.at(c);
    t.standard_error = fit.standard_errors.at(c);
    auto [lo, hi] = std::minmax_element(x.column(c), x.column(c) + x.rows);
    t.train_min = *lo;
    t.train_max = *hi;
    m.terms.push_back(std::move(t));
  }
  m.inputs = input_ranges(data, features);
  m.training_rows = y.size();
  auto [lo, hi] = std::minmax_element(y.begin(), y.end());
  m.target_min = *lo;
  m.target_max = *hi;
  m.cv.method = to_string(cv.method);
  m.cv.folds = cv_splits;
  m.cv.errors = cv.pooled;
  m.interval = residual_interval(cv.residuals, 0.9);
  return m;
}

Model fit_model(const Dataset& data, const std::string& target,
                const std::vector<FeatureSpec>& features, const SolverOptions& solver,
                const CvPlan& plan, const ModelIdentity& identity) {
  const auto& y = data.column(target);
  DesignMatrix x = design_matrix(data, features);
  Fit fit = fit_with(x, y, solver);
  CvResult cv = cross_validate(x, y, plan, fold_predictor(solver));
  Model m = make_model(data, target, features, x, y, fit, cv, cv.folds.size(), identity);
  m.nonnegative_intercept = solver.kind == SolverKind::nnls && solver.nnls.nonnegative_intercept;
  return m;
}

namespace {

ordered_json errors_json(const ErrorMetrics& e) {
  return {{"rows", e.n},
          {"mape_percent", e.mape_percent},
          {"rmse", e.rmse},
          {"medae", e.medae},
          {"r2", e.r2}};
}

// The banded CV's errors; null over no rows (no band has a model), not 0, which would read as a
// perfect fit.
ordered_json band_errors_json(const ErrorMetrics& e) {
  ordered_json out = errors_json(e);
  if (e.n == 0)
    for (const char* key : {"mape_percent", "rmse", "medae", "r2"}) out[key] = nullptr;
  return out;
}

// solver … interval: what a band's model has as well as the document.
ordered_json body_json(const Model& m) {
  ordered_json features = ordered_json::array();
  for (const auto& t : m.terms) features.push_back(term_to_json(t));
  ordered_json solver = {{"name", m.solver}, {"lambda", m.lambda}, {"alpha", m.alpha}};
  if (m.solver == "nnls") solver["nonnegative_intercept"] = m.nonnegative_intercept;
  ordered_json cv = {{"method", m.cv.method}, {"folds", m.cv.folds}};
  ordered_json errors = errors_json(m.cv.errors);
  for (auto& [k, v] : errors.items()) cv[k] = v;
  ordered_json out = {
      {"solver", solver},
      {"intercept", {{"value", m.intercept}, {"standard_error", m.intercept_se}}},
      {"features", features},
  };
  if (!m.inputs.empty()) {
    ordered_json inputs = ordered_json::array();
    for (const auto& in : m.inputs)
      inputs.push_back(
          {{"column", in.column}, {"train_min", in.train_min}, {"train_max", in.train_max}});
    out["inputs"] = inputs;
  }
  ordered_json rest = {
      {"training",
       {{"rows", m.training_rows}, {"target_min", m.target_min}, {"target_max", m.target_max}}},
      {"cv", cv},
      {"interval",
       {{"method", m.interval.relative ? kRelativeIntervalMethod : kIntervalMethod},
        {"level", m.interval.level},
        {"residual_lower", m.interval.lower},
        {"residual_upper", m.interval.upper}}},
  };
  for (auto& [k, v] : rest.items()) out[k] = v;
  if (m.clip_out_of_range) out["extrapolation"] = "clip";
  return out;
}

ordered_json bands_json(const Model& m) {
  ordered_json list = ordered_json::array();
  for (const auto& b : m.bands) {
    ordered_json j = {{"lower", b.lower}, {"upper", b.upper}, {"rows", b.rows}};
    if (b.model)
      j["model"] = body_json(*b.model);
    else
      j["fallback"] = b.reason;
    list.push_back(j);
  }
  return {{"column", m.band_column},
          {"edges", m.band_edges},
          {"min_rows", m.band_min_rows},
          {"cv", band_errors_json(m.band_cv)},
          {"list", list}};
}

}  // namespace

std::string model_to_json(const Model& m) {
  ordered_json doc = {
      {"schema", kModelSchema},
      {"pmcmodel_version", m.pmcmodel_version},
      {"created_at", m.created_at},
      {"target", m.target},
      {"machine", ordered_json::parse(m.machine.dump())},
  };
  ordered_json body = body_json(m);
  for (auto& [k, v] : body.items()) doc[k] = v;
  if (!m.stall_check.empty()) doc["stall_counters"] = stall_check_to_json(m.stall_check);
  if (!m.bands.empty()) doc["bands"] = bands_json(m);
  return doc.dump(2) + "\n";
}

Model model_from_json(std::string_view text, const std::string& file) {
  Reader reader{text, file};
  // Nesting, duplicate keys (a second "target" would relabel the model) and numbers outside a
  // double are refused before the parser sees them (docs/security.md).
  if (auto problem = find_json_problem(text))
    throw std::runtime_error(fmt::format("{}:{}: {}", file, problem->line, problem->what));
  json doc;
  try {
    doc = json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    reader.fail(fmt::format("expected valid JSON ({})", e.what()), e.byte ? e.byte - 1 : 0);
  }
  return reader.model(doc);
}

Model read_model(const std::filesystem::path& file) {
  // Refuses a directory, FIFO or device before reading, and a file over the input limit.
  return model_from_json(read_input_file(file.string()), file.string());
}

size_t band_index(const std::vector<double>& edges, double value) {
  return size_t(std::upper_bound(edges.begin(), edges.end(), value) - edges.begin());
}

std::vector<double> default_band_edges(std::vector<double> values, size_t max_distinct,
                                       size_t quantile_bands) {
  std::sort(values.begin(), values.end());
  std::vector<double> distinct = values;
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  std::vector<double> edges;
  if (distinct.size() <= max_distinct) {
    // Midway between neighbouring values, so each value is its own band.
    for (size_t i = 1; i < distinct.size(); ++i)
      edges.push_back(distinct[i - 1] + (distinct[i] - distinct[i - 1]) / 2);
    return edges;
  }
  for (size_t q = 1; q < quantile_bands; ++q) {
    // Hyndman–Fan type 7, as the residual quantiles.
    double h = double(values.size() - 1) * double(q) / double(quantile_bands);
    size_t lo = size_t(std::floor(h));
    double e =
        values[lo] + (h - double(lo)) * (values[std::min(lo + 1, values.size() - 1)] - values[lo]);
    if (edges.empty() || e > edges.back()) edges.push_back(e);
  }
  return edges;
}

namespace {

Prediction predict_pooled(const Model& model, const Dataset& data);

}  // namespace

Prediction predict(const Model& model, const Dataset& data) {
  Prediction p = predict_pooled(model, data);
  if (model.bands.empty()) return p;
  p.band.assign(data.rows(), -1);
  if (!data.has_column(model.band_column)) {
    p.band_note =
        fmt::format("no column '{}' to choose a band by: the pooled model predicts every row",
                    model.band_column);
    return p;
  }
  const auto& v = data.column(model.band_column);
  std::vector<std::vector<size_t>> rows(model.bands.size());
  for (size_t r = 0; r < data.rows(); ++r) rows[band_index(model.band_edges, v[r])].push_back(r);
  for (size_t b = 0; b < model.bands.size(); ++b) {
    if (!model.bands[b].model || rows[b].empty()) continue;
    Prediction q = predict_pooled(*model.bands[b].model, data.select_rows(rows[b]));
    for (size_t i = 0; i < rows[b].size(); ++i) {
      size_t r = rows[b][i];
      p.value[r] = q.value[i];
      p.lower[r] = q.lower[i];
      p.upper[r] = q.upper[i];
      p.out_of_range[r] = q.out_of_range[i];
      p.band[r] = int(b);
    }
  }
  // Per-term and per-input counts: those of the pooled model, counted on the rows it still
  // predicts.
  std::fill(p.out_of_range_by_term.begin(), p.out_of_range_by_term.end(), 0);
  std::fill(p.out_of_range_by_input.begin(), p.out_of_range_by_input.end(), 0);
  std::vector<size_t> pooled_rows;
  for (size_t r = 0; r < data.rows(); ++r)
    if (p.band[r] < 0) pooled_rows.push_back(r);
  if (!pooled_rows.empty()) {
    Prediction q = predict_pooled(model, data.select_rows(pooled_rows));
    p.out_of_range_by_term = std::move(q.out_of_range_by_term);
    p.out_of_range_by_input = std::move(q.out_of_range_by_input);
  }
  return p;
}

namespace {

// A relative slack of 1e-9 keeps a round trip through decimal JSON inside a range.
bool outside(double v, double lo, double hi) {
  double slack = 1e-9 * std::max(std::abs(lo), std::abs(hi));
  return v < lo - slack || v > hi + slack;
}

// The model's value on each row of `x`, each feature clipped to its training range where the
// model clips; `beyond` gets what the unclipped features would have added, and `p` (when given)
// the rows and terms outside their ranges.
std::vector<double> term_values(const Model& model, const DesignMatrix& x,
                                std::vector<double>& beyond, Prediction* p) {
  std::vector<double> value(x.rows, model.intercept);
  beyond.assign(x.rows, 0.0);
  for (size_t c = 0; c < model.terms.size(); ++c) {
    const auto& t = model.terms[c];
    const double* v = x.column(c);
    for (size_t r = 0; r < x.rows; ++r) {
      double used = v[r];
      if (outside(v[r], t.train_min, t.train_max)) {
        if (p) p->out_of_range[r] = 1, ++p->out_of_range_by_term[c];
        if (model.clip_out_of_range) {
          used = std::clamp(v[r], t.train_min, t.train_max);
          beyond[r] += t.coefficient * (v[r] - used);
        }
      }
      value[r] += t.coefficient * used;
    }
  }
  return value;
}

// Flags the rows with an input outside its training range in `p`; returns the terms' input
// columns with those inputs clipped to their ranges, or nothing when no input is outside.
std::optional<Dataset> clip_inputs(const Model& model, const Dataset& data, Prediction& p) {
  Dataset clipped;
  bool any = false;
  for (size_t i = 0; i < model.inputs.size(); ++i) {
    const auto& in = model.inputs[i];
    if (!data.has_column(in.column)) continue;  // not read by any term: a hand-edited file
    std::vector<double> v = data.column(in.column);
    for (size_t r = 0; r < v.size(); ++r)
      if (outside(v[r], in.train_min, in.train_max)) {
        p.out_of_range[r] = 1;
        ++p.out_of_range_by_input[i];
        v[r] = std::clamp(v[r], in.train_min, in.train_max);
        any = true;
      }
    clipped.add_column(in.column, std::move(v));
  }
  if (!any) return std::nullopt;
  for (const auto& t : model.terms)
    for (const auto& c : input_columns(t.spec))
      if (!clipped.has_column(c)) clipped.add_column(c, data.column(c));
  return clipped;
}

Prediction predict_pooled(const Model& model, const Dataset& data) {
  std::vector<FeatureSpec> specs;
  for (const auto& t : model.terms) specs.push_back(t.spec);
  DesignMatrix x = evaluate_features(data, specs);
  Prediction p;
  p.out_of_range.assign(x.rows, 0);
  p.out_of_range_by_term.assign(model.terms.size(), 0);
  p.out_of_range_by_input.assign(model.inputs.size(), 0);
  // With clipping: what the unclipped features would have added, per row (widens the interval).
  std::vector<double> beyond;
  p.value = term_values(model, x, beyond, &p);
  // With clipping: how far the prediction moves when the inputs outside their ranges are clipped
  // to them (widens the interval too; 0 where no feature depends on those inputs there).
  std::vector<double> moved(x.rows, 0.0);
  auto clipped = clip_inputs(model, data, p);
  if (clipped && model.clip_out_of_range) {
    std::vector<double> unused;
    auto at_edge = term_values(model, evaluate_features(*clipped, specs), unused, nullptr);
    for (size_t r = 0; r < x.rows; ++r) moved[r] = std::abs(p.value[r] - at_edge[r]);
  }
  p.lower.resize(x.rows);
  p.upper.resize(x.rows);
  for (size_t r = 0; r < x.rows; ++r) {
    double widen = std::abs(beyond[r]) + moved[r];
    p.lower[r] = interval_lower(model.interval, p.value[r]) - widen;
    p.upper[r] = interval_upper(model.interval, p.value[r]) + widen;
  }
  return p;
}

}  // namespace

}  // namespace pmc
