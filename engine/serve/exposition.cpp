#include "engine/serve/exposition.h"

#include <cmath>
#include <cstdio>

#include <fmt/format.h>

namespace pmc::serve {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = char(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = char(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// The q parameter of one media range ("application/openmetrics-text;version=1.0.0;q=0.5"); 1
// when absent or unreadable.
double quality(std::string_view params) {
  while (!params.empty()) {
    size_t semi = params.find(';');
    std::string_view p = trim(params.substr(0, semi));
    params = semi == std::string_view::npos ? std::string_view{} : params.substr(semi + 1);
    if (p.size() > 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
      std::string text(p.substr(2));
      char* end = nullptr;
      double q = std::strtod(text.c_str(), &end);
      if (end != text.c_str()) return q;
    }
  }
  return 1;
}

void write_help(std::string& out, std::string_view name, std::string_view help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  for (char c : help) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  out += '\n';
}

void write_sample(std::string& out, std::string_view name, const Sample& s) {
  out += name;
  if (!s.labels.empty()) {
    out += '{';
    for (size_t i = 0; i < s.labels.size(); ++i) {
      if (i > 0) out += ',';
      out += s.labels[i].first;
      out += "=\"";
      out += escape_label_value(s.labels[i].second);
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  out += format_value(s.value);
  out += '\n';
}

}  // namespace

ExpositionFormat negotiate_format(std::string_view accept) {
  while (!accept.empty()) {
    size_t comma = accept.find(',');
    std::string_view range = trim(accept.substr(0, comma));
    accept = comma == std::string_view::npos ? std::string_view{} : accept.substr(comma + 1);
    size_t semi = range.find(';');
    std::string_view type = trim(range.substr(0, semi));
    std::string_view params =
        semi == std::string_view::npos ? std::string_view{} : range.substr(semi + 1);
    if (iequals(type, "application/openmetrics-text") && quality(params) > 0)
      return ExpositionFormat::openmetrics_1_0_0;
  }
  return ExpositionFormat::text_0_0_4;
}

const char* content_type(ExpositionFormat format) {
  return format == ExpositionFormat::openmetrics_1_0_0
             ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
             : "text/plain; version=0.0.4; charset=utf-8";
}

namespace {

// The length of the well-formed UTF-8 sequence at the start of `s` (RFC 3629: no overlong form,
// no surrogate, nothing above U+10FFFF), or 0 when it is not one.
size_t utf8_sequence(std::string_view s) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char b0 = byte(0);
  if (b0 < 0x80) return 1;
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the second byte's range
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    if (b0 == 0xE0) lo = 0xA0;  // overlong
    if (b0 == 0xED) hi = 0x9F;  // surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    if (b0 == 0xF0) lo = 0x90;  // overlong
    if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (s.size() < n || byte(1) < lo || byte(1) > hi) return 0;
  for (size_t i = 2; i < n; ++i)
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  return n;
}

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  while (!value.empty()) {
    char c = value.front();
    size_t n = utf8_sequence(value);
    if (n == 0) {
      // Not UTF-8, which both formats require of a label value (Prometheus refuses the whole
      // scrape): the byte as the text \xHH, as systemd escapes a unit name.
      out += fmt::format("\\\\x{:02x}", static_cast<unsigned char>(c));
      n = 1;
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.append(value.substr(0, n));
    }
    value.remove_prefix(n);
  }
  return out;
}

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

std::string format_metrics(const std::vector<MetricFamily>& families, ExpositionFormat format) {
  const bool om = format == ExpositionFormat::openmetrics_1_0_0;
  std::string out;
  out.reserve(256 * families.size());
  for (const auto& f : families) {
    const bool counter = f.type == MetricType::counter;
    const std::string sample_name = counter ? f.name + "_total" : f.name;
    // The text format names a counter family by its samples' name; OpenMetrics by the name
    // without _total.
    const std::string& family_name = om ? f.name : sample_name;
    write_help(out, family_name, f.help);
    out += "# TYPE ";
    out += family_name;
    out += counter ? " counter\n" : " gauge\n";
    if (om && !f.unit.empty()) {
      out += "# UNIT ";
      out += family_name;
      out += ' ';
      out += f.unit;
      out += '\n';
    }
    for (const auto& s : f.samples) write_sample(out, sample_name, s);
  }
  if (om) out += "# EOF\n";
  return out;
}

}  // namespace pmc::serve
