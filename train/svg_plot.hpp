// Dependency-free SVG pictures for training reports: line charts (loss curves,
// accuracy by sentence length) and heatmaps (attention weights). Text is UTF-8
// and XML-escaped; widths are estimated from code points, not bytes. Files are
// written atomically (a temporary next to the target, then rename), so a
// reader never sees half a picture. Each writer has a *_svg twin returning the
// document as a string.
#pragma once
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace loom::train {

// Bad plot data (NaN, empty series, mismatched sizes) or an unwritable path;
// the message names the series/cell or the path.
struct PlotError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct PlotSeries {
  std::string name;                               // legend text
  std::vector<std::pair<double, double>> points;  // (x, y), drawn in this order
};

// Escapes & < > " ' for XML text and attribute values; UTF-8 passes through.
std::string xml_escape(std::string_view text);

// Axes with ticks and numbers, one coloured line (with markers when short) per
// series, and a legend. Throws PlotError for no series, a series without
// points, or a non-finite coordinate.
std::string line_chart_svg(const std::string& title, const std::string& x_label, const std::string& y_label,
                           const std::vector<PlotSeries>& series);
void line_chart(const std::string& path, const std::string& title, const std::string& x_label,
                const std::string& y_label, const std::vector<PlotSeries>& series);

// weights: (T,S), row t = target word t, column s = source word s, values in
// [0,1]. One <rect class="cell"> per weight, shaded white (0) to dark blue (1);
// source words on top (rotated), target words on the left, a colour scale on
// the right. Throws PlotError for mismatched label counts, ragged rows or
// values that are NaN or outside [0,1].
std::string heatmap_svg(const std::string& title, const std::vector<std::string>& row_labels,
                        const std::vector<std::string>& column_labels, const std::vector<std::vector<double>>& weights);
void heatmap(const std::string& path, const std::string& title, const std::vector<std::string>& row_labels,
             const std::vector<std::string>& column_labels, const std::vector<std::vector<double>>& weights);

// Writes text to path through a temporary file and a rename. Throws PlotError
// naming the path when it cannot.
void write_file_atomically(const std::string& path, const std::string& text);

}  // namespace loom::train
