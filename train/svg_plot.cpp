// SVG line charts and heatmaps (see svg_plot.hpp). Layout works in pixels with
// y growing downwards, as SVG does; text widths are estimated at 0.6 em per
// code point, which is generous for sans-serif and keeps labels inside the
// picture. Numbers are printed with std::to_chars, so the locale never turns
// a decimal point into a comma.
#include "train/svg_plot.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace loom::train {

namespace {

// ---- text and numbers ----

int64_t code_points(std::string_view text) {
  // Counts every byte that does not continue a UTF-8 sequence (10xxxxxx).
  return std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
}

double text_width(std::string_view text, double font_size) { return 0.6 * font_size * double(code_points(text)); }

std::string fixed(double value, int decimals) {
  if (std::abs(value) < 0.5 * std::pow(10.0, -decimals)) value = 0;  // no "-0.0" tick labels
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed, decimals);
  return std::string(buf, end);
}

// Pixel coordinates with one decimal keep files small and lines crisp enough.
std::string px(double value) { return fixed(value, 1); }

std::string text_element(double x, double y, std::string_view text, double font_size, const char* anchor,
                         const std::string& extra = "") {
  return "<text x=\"" + px(x) + "\" y=\"" + px(y) + "\" font-size=\"" + px(font_size) + "\" text-anchor=\"" + anchor +
         "\"" + extra + ">" + xml_escape(text) + "</text>\n";
}

std::string svg_open(double width, double height) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
         "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + px(width) + "\" height=\"" + px(height) +
         "\" viewBox=\"0 0 " + px(width) + " " + px(height) + "\" font-family=\"DejaVu Sans, Arial, sans-serif\">\n"
         "<rect class=\"background\" x=\"0\" y=\"0\" width=\"" + px(width) + "\" height=\"" + px(height) +
         "\" fill=\"white\"/>\n";
}

// ---- axes ----

struct Ticks {
  double low = 0, high = 1, step = 1;
  int decimals = 0;
  std::vector<double> values;
};

// About `target` round ticks (1, 2 or 5 times a power of ten) covering [low, high].
Ticks nice_ticks(double low, double high, int target) {
  if (high - low <= 1e-12 * std::max(1.0, std::abs(low))) {
    double pad = low == 0 ? 1.0 : std::abs(low) * 0.5;
    low -= pad;
    high += pad;
  }
  double raw = (high - low) / target;
  double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double residual = raw / magnitude;
  double step = (residual < 1.5 ? 1 : residual < 3 ? 2 : residual < 7 ? 5 : 10) * magnitude;
  Ticks t;
  t.step = step;
  t.low = std::floor(low / step + 1e-9) * step;
  t.high = std::ceil(high / step - 1e-9) * step;
  t.decimals = std::max(0, int(-std::floor(std::log10(step) + 1e-9)));
  for (int64_t i = 0; t.low + double(i) * step <= t.high + step * 1e-6; ++i) t.values.push_back(t.low + double(i) * step);
  return t;
}

// Tableau-like palette: distinct hues that stay readable on white.
const char* series_colour(size_t i) {
  static const char* kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                   "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  return kColours[i % std::size(kColours)];
}

void check_series(const std::vector<PlotSeries>& series) {
  if (series.empty()) throw PlotError("line chart: no series to draw");
  for (const PlotSeries& s : series) {
    if (s.points.empty()) throw PlotError("line chart: series '" + s.name + "' has no points");
    for (size_t i = 0; i < s.points.size(); ++i) {
      auto [x, y] = s.points[i];
      if (!std::isfinite(x) || !std::isfinite(y))
        throw PlotError("line chart: series '" + s.name + "' point " + std::to_string(i) + " is (" +
                        std::to_string(x) + ", " + std::to_string(y) + "); coordinates must be finite");
    }
  }
}

// The plot area in pixels and the data ranges mapped onto it.
struct Frame {
  double left, top, width, height;
  Ticks x, y;
  double map_x(double v) const { return left + (v - x.low) / (x.high - x.low) * width; }
  double map_y(double v) const { return top + height - (v - y.low) / (y.high - y.low) * height; }
};

std::string draw_axes(const Frame& f, const std::string& x_label, const std::string& y_label) {
  std::string out = "<g class=\"axes\" stroke-width=\"1\">\n";
  const double bottom = f.top + f.height;
  for (double v : f.y.values) {
    double y = f.map_y(v);
    out += "<line x1=\"" + px(f.left) + "\" y1=\"" + px(y) + "\" x2=\"" + px(f.left + f.width) + "\" y2=\"" + px(y) +
           "\" stroke=\"#e5e5e5\"/>\n";
    out += "<line x1=\"" + px(f.left - 5) + "\" y1=\"" + px(y) + "\" x2=\"" + px(f.left) + "\" y2=\"" + px(y) +
           "\" stroke=\"black\"/>\n";
    out += text_element(f.left - 8, y + 4, fixed(v, f.y.decimals), 11, "end");
  }
  for (double v : f.x.values) {
    double x = f.map_x(v);
    out += "<line x1=\"" + px(x) + "\" y1=\"" + px(f.top) + "\" x2=\"" + px(x) + "\" y2=\"" + px(bottom) +
           "\" stroke=\"#e5e5e5\"/>\n";
    out += "<line x1=\"" + px(x) + "\" y1=\"" + px(bottom) + "\" x2=\"" + px(x) + "\" y2=\"" + px(bottom + 5) +
           "\" stroke=\"black\"/>\n";
    out += text_element(x, bottom + 18, fixed(v, f.x.decimals), 11, "middle");
  }
  out += "<rect x=\"" + px(f.left) + "\" y=\"" + px(f.top) + "\" width=\"" + px(f.width) + "\" height=\"" +
         px(f.height) + "\" fill=\"none\" stroke=\"black\"/>\n";
  out += text_element(f.left + f.width / 2, bottom + 40, x_label, 13, "middle");
  double yc = f.top + f.height / 2;
  out += text_element(18, yc, y_label, 13, "middle", " transform=\"rotate(-90 18 " + px(yc) + ")\"");
  return out + "</g>\n";
}

std::string draw_series(const Frame& f, const PlotSeries& s, const char* colour) {
  std::string points;
  for (auto [x, y] : s.points) points += px(f.map_x(x)) + "," + px(f.map_y(y)) + " ";
  std::string out = "<g class=\"series\">\n<polyline fill=\"none\" stroke=\"" + std::string(colour) +
                    "\" stroke-width=\"2\" stroke-linejoin=\"round\" points=\"" + points + "\"/>\n";
  // Markers make short series (and single points) visible; long ones stay clean.
  if (s.points.size() <= 40)
    for (auto [x, y] : s.points)
      out += "<circle cx=\"" + px(f.map_x(x)) + "\" cy=\"" + px(f.map_y(y)) + "\" r=\"3\" fill=\"" + colour + "\"/>\n";
  return out + "</g>\n";
}

std::string draw_legend(const std::vector<PlotSeries>& series, double x, double y) {
  std::string out = "<g class=\"legend\">\n";
  for (size_t i = 0; i < series.size(); ++i) {
    double row = y + 20.0 * double(i);
    out += "<line x1=\"" + px(x) + "\" y1=\"" + px(row) + "\" x2=\"" + px(x + 22) + "\" y2=\"" + px(row) +
           "\" stroke=\"" + series_colour(i) + "\" stroke-width=\"3\"/>\n";
    out += text_element(x + 28, row + 4, series[i].name, 12, "start");
  }
  return out + "</g>\n";
}

// ---- heatmap colours ----

// White -> light blue -> dark blue, linear in sRGB between three stops; the
// colour bar's linearGradient uses the same stops, so it matches the cells.
struct Rgb {
  double r, g, b;
};
const Rgb kStops[3] = {{247, 251, 255}, {107, 174, 214}, {8, 48, 107}};

std::string hex_colour(const Rgb& c) {
  char buf[8];
  auto byte = [](double v) { return static_cast<unsigned>(std::lround(std::clamp(v, 0.0, 255.0))); };
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", byte(c.r), byte(c.g), byte(c.b));
  return buf;
}

std::string weight_colour(double w) {
  const Rgb& a = w < 0.5 ? kStops[0] : kStops[1];
  const Rgb& b = w < 0.5 ? kStops[1] : kStops[2];
  double t = w < 0.5 ? w * 2 : (w - 0.5) * 2;
  return hex_colour({a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t});
}

// Validated copy of the weights: tiny rounding outside [0,1] is clamped.
std::vector<std::vector<double>> checked_weights(const std::vector<std::string>& rows,
                                                 const std::vector<std::string>& columns,
                                                 const std::vector<std::vector<double>>& weights) {
  if (rows.empty() || columns.empty()) throw PlotError("heatmap: needs at least one row and one column label");
  if (weights.size() != rows.size())
    throw PlotError("heatmap: " + std::to_string(weights.size()) + " weight rows for " + std::to_string(rows.size()) +
                    " row labels");
  std::vector<std::vector<double>> out = weights;
  for (size_t t = 0; t < out.size(); ++t) {
    if (out[t].size() != columns.size())
      throw PlotError("heatmap: weight row " + std::to_string(t) + " has " + std::to_string(out[t].size()) +
                      " values for " + std::to_string(columns.size()) + " column labels");
    for (size_t s = 0; s < out[t].size(); ++s) {
      double w = out[t][s];
      if (!(w >= -1e-4 && w <= 1 + 1e-4))
        throw PlotError("heatmap: weight [" + std::to_string(t) + "][" + std::to_string(s) + "] = " +
                        std::to_string(w) + " is not in [0,1]");
      out[t][s] = std::clamp(w, 0.0, 1.0);
    }
  }
  return out;
}

double max_text_width(const std::vector<std::string>& labels, double font_size) {
  double widest = 0;
  for (const std::string& l : labels) widest = std::max(widest, text_width(l, font_size));
  return widest;
}

}  // namespace

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

// ---- line chart ----

std::string line_chart_svg(const std::string& title, const std::string& x_label, const std::string& y_label,
                           const std::vector<PlotSeries>& series) {
  check_series(series);
  double x_min = series[0].points[0].first, x_max = x_min, y_min = series[0].points[0].second, y_max = y_min;
  for (const PlotSeries& s : series)
    for (auto [x, y] : s.points) {
      x_min = std::min(x_min, x), x_max = std::max(x_max, x);
      y_min = std::min(y_min, y), y_max = std::max(y_max, y);
    }
  Frame f{0, 48, 0, 340, nice_ticks(x_min, x_max, 6), nice_ticks(y_min, y_max, 6)};
  double y_number_width = 0;
  for (double v : f.y.values) y_number_width = std::max(y_number_width, text_width(fixed(v, f.y.decimals), 11));
  f.left = 36 + y_number_width + 12;
  f.width = 520;
  double legend_width = 28;
  for (const PlotSeries& s : series) legend_width = std::max(legend_width, 28 + text_width(s.name, 12));
  double width = f.left + f.width + 24 + legend_width + 16;
  double height = f.top + f.height + 56;

  std::string out = svg_open(width, height);
  out += text_element(width / 2, 28, title, 16, "middle", " font-weight=\"bold\"");
  out += draw_axes(f, x_label, y_label);
  for (size_t i = 0; i < series.size(); ++i) out += draw_series(f, series[i], series_colour(i));
  out += draw_legend(series, f.left + f.width + 24, f.top + 10);
  return out + "</svg>\n";
}

void line_chart(const std::string& path, const std::string& title, const std::string& x_label,
                const std::string& y_label, const std::vector<PlotSeries>& series) {
  write_file_atomically(path, line_chart_svg(title, x_label, y_label, series));
}

// ---- heatmap ----

std::string heatmap_svg(const std::string& title, const std::vector<std::string>& row_labels,
                        const std::vector<std::string>& column_labels, const std::vector<std::vector<double>>& weights) {
  std::vector<std::vector<double>> w = checked_weights(row_labels, column_labels, weights);
  const double rows = double(row_labels.size()), cols = double(column_labels.size());
  const double cell = std::clamp(560.0 / std::max(rows, cols), 12.0, 36.0);
  const double font = std::clamp(cell * 0.42, 9.0, 13.0);
  const double diag = 0.7071;  // column labels are turned 45 degrees
  const double col_text = max_text_width(column_labels, font) * diag;
  const double left = 16 + max_text_width(row_labels, font) + 8;
  const double top = 44 + col_text + 12;
  const double grid_w = cols * cell, grid_h = rows * cell;
  const double bar_x = left + grid_w + 24, bar_h = std::max(grid_h, 80.0);
  const double width = std::max({bar_x + 14 + 40, left + grid_w - cell / 2 + col_text + 16, 24 + text_width(title, 16)});
  const double height = top + bar_h + 20;

  std::string out = svg_open(width, height);
  out += "<defs><linearGradient id=\"scale\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">"
         "<stop offset=\"0\" stop-color=\"" + hex_colour(kStops[0]) + "\"/><stop offset=\"0.5\" stop-color=\"" +
         hex_colour(kStops[1]) + "\"/><stop offset=\"1\" stop-color=\"" + hex_colour(kStops[2]) +
         "\"/></linearGradient></defs>\n";
  out += text_element(width / 2, 26, title, 16, "middle", " font-weight=\"bold\"");
  out += "<g class=\"cells\" stroke=\"white\" stroke-width=\"0.5\">\n";
  for (size_t t = 0; t < w.size(); ++t)
    for (size_t s = 0; s < w[t].size(); ++s) {
      // The <title> shows "target / source: weight" when hovering in a browser.
      std::string hover = row_labels[t] + " / " + column_labels[s] + ": " + fixed(w[t][s], 3);
      out += "<rect class=\"cell\" x=\"" + px(left + double(s) * cell) + "\" y=\"" + px(top + double(t) * cell) +
             "\" width=\"" + px(cell) + "\" height=\"" + px(cell) + "\" fill=\"" + weight_colour(w[t][s]) +
             "\"><title>" + xml_escape(hover) + "</title></rect>\n";
    }
  out += "<rect x=\"" + px(left) + "\" y=\"" + px(top) + "\" width=\"" + px(grid_w) + "\" height=\"" + px(grid_h) +
         "\" fill=\"none\" stroke=\"#888888\"/>\n</g>\n<g class=\"labels\">\n";
  for (size_t t = 0; t < row_labels.size(); ++t)
    out += text_element(left - 6, top + (double(t) + 0.5) * cell + font * 0.35, row_labels[t], font, "end");
  for (size_t s = 0; s < column_labels.size(); ++s) {
    double x = left + (double(s) + 0.5) * cell, y = top - 6;
    out += text_element(x, y, column_labels[s], font, "start",
                        " transform=\"rotate(-45 " + px(x) + " " + px(y) + ")\"");
  }
  out += "</g>\n<g class=\"colour-scale\">\n<rect x=\"" + px(bar_x) + "\" y=\"" + px(top) + "\" width=\"14\" height=\"" +
         px(bar_h) + "\" fill=\"url(#scale)\" stroke=\"#888888\"/>\n";
  for (double v : {0.0, 0.5, 1.0})
    out += text_element(bar_x + 18, top + (1 - v) * bar_h + 4, fixed(v, 1), 11, "start");
  return out + "</g>\n</svg>\n";
}

void heatmap(const std::string& path, const std::string& title, const std::vector<std::string>& row_labels,
             const std::vector<std::string>& column_labels, const std::vector<std::vector<double>>& weights) {
  write_file_atomically(path, heatmap_svg(title, row_labels, column_labels, weights));
}

// ---- files ----

void write_file_atomically(const std::string& path, const std::string& text) {
  const std::string temp = path + ".tmp." + std::to_string(::getpid());  // two runs never share one
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) throw PlotError("cannot write '" + path + "': " + std::strerror(errno));
    out << text;
    out.flush();
    if (!out) {
      std::error_code ignored;
      std::filesystem::remove(temp, ignored);
      throw PlotError("cannot write '" + path + "': write failed");
    }
  }
  std::error_code ec;
  std::filesystem::rename(temp, path, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(temp, ignored);
    throw PlotError("cannot write '" + path + "': " + ec.message());
  }
}

}  // namespace loom::train
