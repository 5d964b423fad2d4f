#include "cli/compare_svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

namespace pmc::cli {
namespace {

constexpr int kWidth = 1200;  // room for the value printed after the longest energy bar
constexpr int kLabelWidth = 300;
constexpr int kChartWidth = 340;
constexpr int kGap = 60;
constexpr int kRowHeight = 18;
constexpr int kHeader = 46;

std::string escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// One bar chart column: bars scaled to the largest value, the value printed after each bar.
void bars(std::string& svg, const std::vector<const ComparisonRow*>& rows, int x0, int y0,
          const char* title, const char* colour, std::optional<double> ComparisonRow::*field,
          const char* unit) {
  double top = 0;
  for (const auto* r : rows)
    if (r->*field) top = std::max(top, *(r->*field));
  svg += fmt::format(R"(<text x="{}" y="{}" class="h">{}</text>)"
                     "\n",
                     x0, y0 - 8, title);
  for (size_t i = 0; i < rows.size(); ++i) {
    int y = y0 + int(i) * kRowHeight;
    const auto& v = rows[i]->*field;
    if (!v) {
      svg += fmt::format(R"(<text x="{}" y="{}" class="v">no figure</text>)"
                         "\n",
                         x0 + 4, y + 13);
      continue;
    }
    double w = top > 0 ? *v / top * kChartWidth : 0;
    svg += fmt::format(
        R"(<rect x="{}" y="{}" width="{:.1f}" height="{}" fill="{}"><title>{:.6g} {}</title></rect>)"
        "\n",
        x0, y + 2, w, kRowHeight - 4, colour, *v, unit);
    svg += fmt::format(R"(<text x="{:.1f}" y="{}" class="v">{:.4g} {}</text>)"
                       "\n",
                       x0 + w + 4, y + 13, *v, unit);
  }
}

}  // namespace

std::string comparison_svg(std::span<const ComparisonRow> rows, Objective objective,
                           size_t max_rows) {
  std::vector<std::string> workloads;
  for (const auto& r : rows)
    if (std::find(workloads.begin(), workloads.end(), r.workload) == workloads.end())
      workloads.push_back(r.workload);
  std::vector<std::vector<const ComparisonRow*>> sections;
  int height = 10;
  for (const auto& w : workloads) {
    std::vector<const ComparisonRow*> s;
    for (const auto& r : rows)
      if (r.workload == w && s.size() < max_rows) s.push_back(&r);
    height += kHeader + int(s.size()) * kRowHeight + 30;
    sections.push_back(std::move(s));
  }
  std::string svg = fmt::format(
      R"(<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{0}" height="{1}" viewBox="0 0 {0} {1}">
<style>text{{font-family:sans-serif;font-size:12px;fill:#222}} .h{{font-weight:bold}} .t{{font-size:14px;font-weight:bold}} .v{{font-size:11px;fill:#444}}</style>
<rect width="100%" height="100%" fill="#fff"/>
)",
      kWidth, height);
  int y = 10;
  for (size_t i = 0; i < sections.size(); ++i) {
    svg += fmt::format(R"(<text x="10" y="{}" class="t">{} — per run, sorted by {}</text>)"
                       "\n",
                       y + 14, escape(workloads[i]), to_string(objective));
    int top = y + kHeader;
    for (size_t k = 0; k < sections[i].size(); ++k) {
      const auto& r = *sections[i][k];
      std::string label = (r.rank ? fmt::format("{}. ", *r.rank) : std::string("–  ")) + r.machine;
      if (label.size() > 46) label = label.substr(0, 45) + "…";
      svg += fmt::format(R"(<text x="10" y="{}">{}<title>{}</title></text>)"
                         "\n",
                         top + int(k) * kRowHeight + 13, escape(label), escape(r.method));
    }
    bars(svg, sections[i], kLabelWidth, top, "cost per run (USD)", "#3a7bd5",
         &ComparisonRow::cost_usd, "USD");
    bars(svg, sections[i], kLabelWidth + kChartWidth + kGap + 40, top, "energy per run (J)",
         "#e07b39", &ComparisonRow::joules, "J");
    y = top + int(sections[i].size()) * kRowHeight + 30;
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace pmc::cli
