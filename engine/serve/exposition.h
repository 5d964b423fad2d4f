#pragma once
// The Prometheus exposition formats a scrape is answered in: the text format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/) and OpenMetrics 1.0.0
// (https://github.com/OpenObservability/OpenMetrics/blob/main/specification/OpenMetrics.md),
// chosen from the scraper's Accept header. Pure formatting: no I/O, no clock.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pmc::serve {

enum class MetricType { counter, gauge };

struct Sample {
  std::vector<std::pair<std::string, std::string>> labels;  // name, value (unescaped)
  double value = 0;
};

// One metric family. `name` is the family's name without the counter suffix: a counter
// "pmcmodel_energy_joules" is exposed as pmcmodel_energy_joules_total; `unit` ("joules",
// "seconds", "watts", "hertz", "ratio" or empty) must be the name's last word, as OpenMetrics
// requires.
struct MetricFamily {
  std::string name;
  MetricType type = MetricType::gauge;
  std::string unit;
  std::string help;
  std::vector<Sample> samples;
};

enum class ExpositionFormat { text_0_0_4, openmetrics_1_0_0 };

// OpenMetrics when the Accept header lists application/openmetrics-text (with a q above 0),
// the text format otherwise (no header, */*, text/plain), as Prometheus negotiates it.
ExpositionFormat negotiate_format(std::string_view accept);

// The Content-Type header of a response in `format`.
const char* content_type(ExpositionFormat format);

// Every family with its HELP and TYPE lines (and UNIT in OpenMetrics), samples in the given order;
// OpenMetrics ends with "# EOF". A family without samples is written with its metadata only.
std::string format_metrics(const std::vector<MetricFamily>& families, ExpositionFormat format);

// A label value escaped for either format: backslash, double quote and line feed.
std::string escape_label_value(std::string_view value);

// A sample value: shortest text that reads back to the same double; NaN, +Inf, -Inf.
std::string format_value(double value);

}  // namespace pmc::serve
