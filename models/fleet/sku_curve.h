#pragma once
// A server's wall power at active idle and 10 %, …, 100 % SPECpower_ssj2008 load from its
// specifications alone (`pmcmodel sku-curve`, and the curve of a SKU that has none). The model
// (data/sku_curve.json, fitted by scripts/build-sku-curve) is, per load level,
//   ln W = intercept + Σ coefficient · feature
// with the features of its method: "tdp" (ln(chips × TDP per chip), ln memory GB, ln base GHz; a
// level may give one coefficient 0) when the CPU is in the CPU facts table (data/cpu_facts.csv)
// with every fact those need, else "cores" (ln cores, ln chips, ln memory GB).
// Its uncertainty is the spread of the log errors on SPECpower results published after the data
// it was fitted on (the "holdout" of each method).
#include <array>
#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "models/fleet/sku_catalog.h"

namespace pmc {

// One CPU model's published facts, keyed by cpu_model_key.
struct CpuFacts {
  std::string key;
  std::string name;
  double tdp_w = 0;  // one package
  std::optional<int> cores;
  std::optional<double> base_ghz;
  std::optional<double> turbo_ghz;
  std::optional<int> launch_year;
  std::string source;           // intel-ark, amd-epyc, cpu-specs
  std::optional<double> l3_mb;  // the package's total L3 (Intel ARK's cache, AMD's table)

  bool operator==(const CpuFacts&) const = default;
};

class CpuFactsTable {
 public:
  // Throws std::runtime_error "FILE:LINE: what was expected" (header, a TDP that is not positive,
  // a duplicate key).
  static CpuFactsTable load(const std::filesystem::path& file);
  static CpuFactsTable parse(std::string_view text, const std::string& origin);
  // Rows that parse() has already checked (models/shipped: the build's parse of
  // data/cpu_facts.csv).
  static CpuFactsTable from_checked(std::vector<CpuFacts> facts);

  // The CPU whose cpu_model_key equals that of `cpu_name`; else that of its text before a comma
  // without [...] remarks; else, for a key ending in a digit and M or L (Xeon 8276M), the plain
  // model's; nullptr when none does.
  const CpuFacts* find(std::string_view cpu_name) const;
  size_t size() const { return facts_.size(); }
  const std::vector<CpuFacts>& all() const { return facts_; }

 private:
  std::vector<CpuFacts> facts_;
  TextMap<size_t> by_key_;
};

// What the model reads of a server (SPEC's result-table columns).
struct ServerSpecs {
  std::string cpu;  // "CPU Description"
  int chips = 0;
  int cores = 0;  // all chips together
  double memory_gb = 0;
};

struct SkuCurveEstimate {
  std::array<double, kPowerCurvePoints> watts{};  // idle, 10 %, …, 100 %; never falling
  double idle_lower = 0, idle_upper = 0;          // 90 % interval from the held-out errors
  double watts_100_lower = 0, watts_100_upper = 0;
  // Half the 90 % interval over the estimate at each load point: (e^q95 − e^q05) / 2 of the
  // method's held-out log errors (SkuCurveModel::Holdout::relative_half_width).
  std::array<double, kPowerCurvePoints> relative_half_width{};
  std::string method;  // "sku-curve:tdp (intel-ark, 270 W)" or "sku-curve:cores (CPU not in …)"
  std::string method_name;  // "tdp" or "cores"
  double tdp_w = 0;         // per chip, when method_name is "tdp"
};

class SkuCurveModel {
 public:
  struct Level {
    double intercept = 0;
    std::vector<double> coefficients;
  };
  struct Holdout {
    std::string trained_before;  // ISO date: fitted on results published before it
    size_t train_rows = 0, test_rows = 0;
    std::array<Level, kPowerCurvePoints> levels;
    std::array<double, kPowerCurvePoints> mape_percent{};
    std::array<double, kPowerCurvePoints> log_residual_q05{};
    std::array<double, kPowerCurvePoints> log_residual_q95{};
    // (e^q95 − e^q05) / 2 at `point`: the relative half-width of the 90 % interval of the
    // published watts of servers the hold-out fit had not seen, around the estimate.
    double relative_half_width(size_t point) const;
  };
  struct Method {
    std::string name;  // "tdp" | "cores"
    std::vector<std::string> features;
    std::array<Level, kPowerCurvePoints> levels;
    Holdout holdout;
  };

  // Throws std::runtime_error "FILE: what was expected" for a file that is not the model.
  static SkuCurveModel load(const std::filesystem::path& file);
  static SkuCurveModel parse(std::string_view text, const std::string& origin);

  // The same model with each method's hold-out coefficients (fitted only on results published
  // before the hold-out date): what the documented held-out errors were measured with.
  SkuCurveModel holdout_model() const;

  // The curve of `specs`; throws std::invalid_argument with the reason a server cannot be
  // estimated (chips, cores or memory not positive).
  SkuCurveEstimate estimate(const ServerSpecs& specs, const CpuFactsTable& cpus) const;

  const std::vector<Method>& methods() const { return methods_; }
  const std::string& trained_from() const { return trained_from_; }
  const std::string& trained_to() const { return trained_to_; }

 private:
  std::vector<Method> methods_;
  std::string trained_from_, trained_to_;
};

// The specs of a catalog SKU (a whole server: sockets, cores, memory and its CPU model), for the
// curve of a SKU that has none; nullopt for a cloud instance (no socket count) or without memory.
std::optional<ServerSpecs> server_specs(const Sku& sku);

// `catalog` with every row that publishes no power curve given the model's curve of its
// server_specs: watts from estimate(), modelled_uncertainty its relative_half_width and
// power_source "sku-curve:model:<cpu key>" (the row's id when its CPU has no key). Throws
// std::invalid_argument "<id>: why" for a row the model cannot estimate.
SkuCatalog with_model_curves(const SkuCatalog& catalog, const SkuCurveModel& model,
                             const CpuFactsTable& cpus);

// One row of a --specs table: the fields as read, its line, and the specs or why it is unusable.
struct SpecsRow {
  size_t line = 0;
  std::vector<std::string> fields;
  std::optional<ServerSpecs> specs;
  std::string reason;  // non-empty when specs is absent
};

struct SpecsTable {
  std::string origin;
  std::vector<std::string> columns;
  std::vector<SpecsRow> rows;
};

// The columns `pmcmodel sku-curve --specs` requires, as SPEC's result table names them.
extern const std::array<std::string_view, 7> kSpecsColumns;

// Reads a CSV of SPEC result-table columns (any order, other columns kept and ignored). Throws
// std::runtime_error "FILE:LINE: what was expected" for a missing required column, a ragged row
// or an unterminated quote; a row whose values cannot be used (text where a number belongs, cores
// ≠ chips × cores per chip, …) is kept with its reason.
SpecsTable read_specs_csv(std::string_view text, const std::string& origin);

}  // namespace pmc
