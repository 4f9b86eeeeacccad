// SVG writers: documents are well nested, labels are escaped and UTF-8 is kept,
// the heatmap has one cell per weight, bad data and bad paths give clear errors.
// Checks read the SVG text only; no renderer is needed.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "tests/support/checkpoint_files.hpp"
#include "train/svg_plot.hpp"

using namespace loom::io;
using namespace loom::train;

namespace {

// Walks the tags: every opened element must be closed in order. Declarations
// (<?...?>) and self-closing tags (<.../>) stand alone. Returns "" or a reason.
std::string check_balanced(const std::string& xml) {
  std::vector<std::string> open;
  size_t pos = 0;
  int elements = 0;
  while ((pos = xml.find('<', pos)) != std::string::npos) {
    size_t end = xml.find('>', pos);
    if (end == std::string::npos) return "unterminated tag at " + std::to_string(pos);
    std::string tag = xml.substr(pos + 1, end - pos - 1);
    pos = end + 1;
    if (tag.empty()) return "empty tag";
    if (tag[0] == '?') continue;
    if (tag.find('<') != std::string::npos) return "'<' inside tag: " + tag;
    if (tag[0] == '/') {
      std::string name = tag.substr(1);
      if (open.empty() || open.back() != name) return "unexpected </" + name + ">";
      open.pop_back();
      continue;
    }
    ++elements;
    if (tag.back() == '/') continue;
    open.push_back(tag.substr(0, tag.find_first_of(" \n\t")));
  }
  if (!open.empty()) return "<" + open.back() + "> never closed";
  if (elements == 0) return "no elements";
  return "";
}

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) ++n;
  return n;
}

using loom::test::read_bytes;

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("loom_test_svg_" + name)).string();
}

// Runs f, expects a PlotError whose message contains needle.
template <class F>
void expect_plot_error(F f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no PlotError thrown";
  } catch (const PlotError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

const double kNaN = std::numeric_limits<double>::quiet_NaN();

std::vector<PlotSeries> loss_curves() {
  return {{"train", {{0, 4.6}, {100, 3.9}, {200, 3.1}, {300, 2.7}}}, {"valid <dev>", {{100, 4.0}, {300, 3.0}}}};
}

}  // namespace

TEST(SvgPlot, XmlEscape) {
  EXPECT_EQ(xml_escape("<unk> & \"a\" 'b'"), "&lt;unk&gt; &amp; &quot;a&quot; &apos;b&apos;");
  EXPECT_EQ(xml_escape("señor"), "señor");
}

TEST(SvgPlot, LineChartIsBalancedWithLabelsAndLegend) {
  std::string svg = line_chart_svg("Loss & perplexity", "step", "loss <nats>", loss_curves());
  EXPECT_EQ(check_balanced(svg), "");
  EXPECT_NE(svg.find("Loss &amp; perplexity"), std::string::npos);
  EXPECT_NE(svg.find("loss &lt;nats&gt;"), std::string::npos);
  EXPECT_NE(svg.find(">train<"), std::string::npos);
  EXPECT_NE(svg.find(">valid &lt;dev&gt;<"), std::string::npos);
  EXPECT_EQ(count(svg, "<polyline"), 2u);
  EXPECT_EQ(count(svg, "<circle"), 6u);  // short series get a marker per point
  // Round tick numbers on both axes: x ticks 0..300 by 50, y ticks include 3.0.
  EXPECT_NE(svg.find(">300<"), std::string::npos);
  EXPECT_NE(svg.find(">3.0<"), std::string::npos);
  EXPECT_EQ(svg.find("<unk>"), std::string::npos);
}

TEST(SvgPlot, LineChartSinglePointAndFlatSeries) {
  std::string svg = line_chart_svg("one", "x", "y", {{"only", {{5, 2}}}, {"flat", {{5, 2}, {6, 2}}}});
  EXPECT_EQ(check_balanced(svg), "");
  EXPECT_EQ(svg.find("nan"), std::string::npos);
  EXPECT_EQ(svg.find("inf"), std::string::npos);
}

TEST(SvgPlot, LineChartRejectsBadData) {
  expect_plot_error([] { line_chart_svg("t", "x", "y", {}); }, "no series");
  expect_plot_error([] { line_chart_svg("t", "x", "y", {{"valid", {}}}); }, "'valid' has no points");
  expect_plot_error([] { line_chart_svg("t", "x", "y", {{"train", {{0, 1}, {1, kNaN}}}}); }, "'train' point 1");
}

TEST(SvgPlot, HeatmapHasOneCellPerWeightAndEscapedWords) {
  std::vector<std::string> target{"the", "gentleman", "<unk>", "<eos>"};
  std::vector<std::string> source{"el", "señor", "&", "habla", "<eos>"};
  std::vector<std::vector<double>> w(target.size(), std::vector<double>(source.size(), 0.2));
  w[1][1] = 1.0;
  w[2][0] = 0.0;
  std::string svg = heatmap_svg("Attention: señor", target, source, w);
  EXPECT_EQ(check_balanced(svg), "");
  EXPECT_EQ(count(svg, "class=\"cell\""), target.size() * source.size());
  EXPECT_NE(svg.find(">&lt;unk&gt;<"), std::string::npos);
  EXPECT_NE(svg.find(">señor<"), std::string::npos);
  EXPECT_NE(svg.find(">&amp;<"), std::string::npos);
  EXPECT_NE(svg.find("rotate(-45"), std::string::npos);  // column words turned
  EXPECT_NE(svg.find("url(#scale)"), std::string::npos); // the colour scale
  // Weight 1 is the darkest colour, weight 0 white-ish.
  EXPECT_NE(svg.find("fill=\"#08306b\""), std::string::npos);
  EXPECT_NE(svg.find("fill=\"#f7fbff\""), std::string::npos);
  EXPECT_EQ(svg.find("<unk>"), std::string::npos);
}

TEST(SvgPlot, HeatmapRejectsBadData) {
  expect_plot_error([] { heatmap_svg("t", {"a"}, {"x", "y"}, {{0.5, kNaN}}); }, "[0][1]");
  expect_plot_error([] { heatmap_svg("t", {"a"}, {"x"}, {{1.5}}); }, "not in [0,1]");
  expect_plot_error([] { heatmap_svg("t", {"a", "b"}, {"x"}, {{0.5}}); }, "1 weight rows for 2 row labels");
  expect_plot_error([] { heatmap_svg("t", {"a"}, {"x", "y"}, {{0.5}}); }, "row 0 has 1 values for 2");
  expect_plot_error([] { heatmap_svg("t", {}, {}, {}); }, "at least one row");
  // Rounding a hair outside [0,1] is accepted.
  EXPECT_NO_THROW(heatmap_svg("t", {"a"}, {"x", "y"}, {{1.0000001, -0.0000001}}));
}

TEST(SvgPlot, WritesFilesAndNamesUnwritablePaths) {
  std::string chart = temp_path("loss.svg"), map = temp_path("attention.svg");
  line_chart(chart, "loss", "step", "loss", loss_curves());
  heatmap(map, "attention", {"a", "b"}, {"x", "y"}, {{0.9, 0.1}, {0.3, 0.7}});
  EXPECT_EQ(read_bytes(chart), line_chart_svg("loss", "step", "loss", loss_curves()));
  EXPECT_EQ(check_balanced(read_bytes(map)), "");
  EXPECT_FALSE(std::filesystem::exists(chart + ".tmp"));
  std::filesystem::remove(chart);
  std::filesystem::remove(map);

  std::string bad = temp_path("no_such_dir/loss.svg");
  expect_plot_error([&] { line_chart(bad, "loss", "step", "loss", loss_curves()); }, bad);
  // A directory in the way of the rename: the error names the path, no temp file is left.
  std::string dir = temp_path("a_directory.svg");
  std::filesystem::create_directories(dir / std::filesystem::path("inside"));
  expect_plot_error([&] { heatmap(dir, "t", {"a"}, {"x"}, {{0.5}}); }, dir);
  EXPECT_FALSE(std::filesystem::exists(dir + ".tmp"));
  std::filesystem::remove_all(dir);
}
