#include "cli/compare_svg.h"

#include "models/fleet/recommendations.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace pmc::cli {
namespace {

constexpr int kWidth = 1200;  // room for the value printed after the longest energy bar
constexpr int kLabelWidth = 300;
constexpr int kChartWidth = 340;
constexpr int kGap = 60;
constexpr int kRowHeight = 18;
constexpr int kHeader = 60;

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

// One bar chart column: bars scaled to the largest upper end of an interval, each with its
// interval as an error bar (value × (1 ± relative half-width)) and the value printed after it.
// Projected rows are lighter with a dashed outline.
struct Column {
  const char* title;
  const char* colour;
  std::optional<double> ComparisonRow::*field;
  double ComparisonRow::*spread;  // relative half-width of the field
  std::string (*text)(double);
};

std::string joules_text(double j) {
  return fmt::format("{:.4g} J", j);
}

void bars(std::string& svg, const std::vector<const ComparisonRow*>& rows, int x0, int y0,
          const Column& c) {
  double top = 0;
  for (const auto* r : rows)
    if (r->*c.field) top = std::max(top, *(r->*c.field) * (1 + std::max(0.0, r->*c.spread)));
  svg += fmt::format(R"(<text x="{}" y="{}" class="h">{}</text>)"
                     "\n",
                     x0, y0 - 8, c.title);
  for (size_t i = 0; i < rows.size(); ++i) {
    int y = y0 + int(i) * kRowHeight;
    const auto& v = rows[i]->*c.field;
    if (!v) {
      svg += fmt::format(R"(<text x="{}" y="{}" class="v">no figure</text>)"
                         "\n",
                         x0 + 4, y + 13);
      continue;
    }
    double u = std::max(0.0, rows[i]->*c.spread);
    auto at = [&](double value) { return x0 + (top > 0 ? value / top * kChartWidth : 0); };
    bool projected = rows[i]->kind == "projected";
    std::string label = c.text(*v) + (u > 0 ? fmt::format(" ±{:.0f}%", u * 100) : "");
    svg += fmt::format(
        R"(<rect x="{}" y="{}" width="{:.1f}" height="{}" fill="{}"{}><title>{}{}</title></rect>)"
        "\n",
        x0, y + 2, at(*v) - x0, kRowHeight - 4, c.colour,
        projected ? R"( fill-opacity="0.45" stroke="#555" stroke-dasharray="3,2")" : "",
        escape(label), projected ? " (projected)" : " (measured)");
    if (u > 0) {
      double lo = at(std::max(0.0, *v * (1 - u))), hi = at(*v * (1 + u));
      int mid = y + kRowHeight / 2;
      svg += fmt::format(
          R"(<path d="M{0:.1f} {1}H{2:.1f}M{0:.1f} {3}V{4}M{2:.1f} {3}V{4}" class="e"/>)"
          "\n",
          lo, mid, hi, mid - 4, mid + 4);
    }
    svg += fmt::format(R"(<text x="{:.1f}" y="{}" class="v">{}</text>)"
                       "\n",
                       std::max(at(*v), at(*v * (1 + u))) + 4, y + 13, escape(label));
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
<style>text{{font-family:sans-serif;font-size:12px;fill:#222}} .h{{font-weight:bold}} .t{{font-size:14px;font-weight:bold}} .v{{font-size:11px;fill:#444}} .p{{font-style:italic;fill:#777}} .e{{stroke:#222;stroke-width:1;fill:none}}</style>
<rect width="100%" height="100%" fill="#fff"/>
)",
      kWidth, height);
  int y = 10;
  for (size_t i = 0; i < sections.size(); ++i) {
    svg += fmt::format(R"(<text x="10" y="{}" class="t">{} — per run, sorted by {}</text>)"
                       "\n",
                       y + 14, escape(workloads[i]), to_string(objective));
    svg += fmt::format(
        R"(<text x="10" y="{}" class="v">bars: measured (solid) or projected (light, dashed); )"
        R"(whiskers: the interval (± relative half-width)</text>)"
        "\n",
        y + 30);
    int top = y + kHeader;
    for (size_t k = 0; k < sections[i].size(); ++k) {
      const auto& r = *sections[i][k];
      std::string label = (r.rank ? fmt::format("{}. ", *r.rank) : std::string("–  ")) + r.machine;
      bool projected = r.kind == "projected";
      size_t room = projected ? 34 : 46;
      if (label.size() > room) label = label.substr(0, room - 1) + "…";
      svg +=
          fmt::format(R"(<text x="10" y="{}">{}{}<title>{}</title></text>)"
                      "\n",
                      top + int(k) * kRowHeight + 13, escape(label),
                      projected ? R"( <tspan class="p">projected</tspan>)" : "", escape(r.method));
    }
    bars(svg, sections[i], kLabelWidth, top,
         {"cost per run", "#3a7bd5", &ComparisonRow::cost_usd, &ComparisonRow::duration_uncertainty,
          human_cost_usd});
    bars(svg, sections[i], kLabelWidth + kChartWidth + kGap + 40, top,
         {"energy per run", "#e07b39", &ComparisonRow::joules, &ComparisonRow::uncertainty,
          joules_text});
    y = top + int(sections[i].size()) * kRowHeight + 30;
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace pmc::cli
