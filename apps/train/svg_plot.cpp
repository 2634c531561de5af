#include "apps/train/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "core/io/atomic_file.h"

namespace ag::apps {
namespace {

constexpr double kWidth = 760, kPanelHeight = 300, kLeft = 70, kRight = 20, kTop = 50, kBottom = 50;

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else if (c == '"')
      out += "&quot;";
    else
      out += c;
  }
  return out;
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

// "Nice" tick positions covering [lo, hi]: steps of 1, 2 or 5 times a power of ten.
std::vector<double> ticks(double lo, double hi) {
  const double span = hi - lo, raw = span / 5.0;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double step = raw / mag < 1.5   ? mag
                      : raw / mag < 3.5 ? 2 * mag
                      : raw / mag < 7.5 ? 5 * mag
                                        : 10 * mag;
  std::vector<double> t;
  for (double v = std::ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step)
    t.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
  return t;
}

void x_range_of(const Panel& p, double& x0, double& x1) {
  x0 = INFINITY, x1 = -INFINITY;
  for (auto& s : p.series)
    for (auto [x, y] : s.points)
      if (std::isfinite(x) && std::isfinite(y)) x0 = std::min(x0, x), x1 = std::max(x1, x);
  for (auto& m : p.x_marks) x0 = std::min(x0, m.value), x1 = std::max(x1, m.value);
  if (!std::isfinite(x0)) x0 = 0, x1 = 1;
  if (x1 - x0 < 1e-12) {  // one point: from 0 (steps and epochs start there) to it
    if (x0 > 0)
      x0 = 0;
    else
      x0 -= 0.5, x1 += 0.5;
  }
}

void draw_panel(std::ostringstream& svg, const Panel& p, double top) {
  double x0, x1;
  x_range_of(p, x0, x1);
  const auto [y0, y1] = y_range(p);
  const double w = kWidth - kLeft - kRight, h = kPanelHeight - kTop - kBottom;
  const double ox = kLeft, oy = top + kTop;
  auto X = [&](double x) { return ox + (x - x0) / (x1 - x0) * w; };
  auto Y = [&](double y) { return oy + h - (y - y0) / (y1 - y0) * h; };
  svg << "<text x=\"" << ox + w / 2 << "\" y=\"" << top + 30
      << "\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">" << escape(p.title)
      << "</text>\n";
  svg << "<rect x=\"" << ox << "\" y=\"" << oy << "\" width=\"" << w << "\" height=\"" << h
      << "\" fill=\"white\" stroke=\"#333\"/>\n";
  for (double t : ticks(x0, x1)) {
    svg << "<line x1=\"" << X(t) << "\" y1=\"" << oy << "\" x2=\"" << X(t) << "\" y2=\"" << oy + h
        << "\" stroke=\"#e5e5e5\"/>\n";
    svg << "<text x=\"" << X(t) << "\" y=\"" << oy + h + 16
        << "\" text-anchor=\"middle\" font-size=\"11\">" << num(t) << "</text>\n";
  }
  for (double t : ticks(y0, y1)) {
    svg << "<line x1=\"" << ox << "\" y1=\"" << Y(t) << "\" x2=\"" << ox + w << "\" y2=\"" << Y(t)
        << "\" stroke=\"#e5e5e5\"/>\n";
    svg << "<text x=\"" << ox - 6 << "\" y=\"" << Y(t) + 4
        << "\" text-anchor=\"end\" font-size=\"11\">" << num(t) << "</text>\n";
  }
  svg << "<text x=\"" << ox + w / 2 << "\" y=\"" << oy + h + 38
      << "\" text-anchor=\"middle\" font-size=\"12\">" << escape(p.x_label) << "</text>\n";
  svg << "<text transform=\"translate(" << ox - 48 << "," << oy + h / 2
      << ") rotate(-90)\" text-anchor=\"middle\" font-size=\"12\">" << escape(p.y_label)
      << "</text>\n";
  // Dashed vertical line, its label at the bottom (the legend is at the top), on the line's
  // left when the line is near the right edge.
  for (auto& m : p.x_marks) {
    const bool near_right = X(m.value) > ox + 0.7 * w;
    svg << "<line class=\"mark\" x1=\"" << num(X(m.value)) << "\" y1=\"" << oy << "\" x2=\""
        << num(X(m.value)) << "\" y2=\"" << oy + h << "\" stroke=\"" << m.color
        << "\" stroke-dasharray=\"5,3\"/>\n";
    svg << "<text x=\"" << num(X(m.value) + (near_right ? -4 : 4)) << "\" y=\"" << oy + h - 6
        << "\" text-anchor=\"" << (near_right ? "end" : "start") << "\" font-size=\"11\" fill=\""
        << m.color << "\">" << escape(m.label) << "</text>\n";
  }
  for (auto& m : p.y_marks) {  // dashed horizontal line, its label above it on the left
    svg << "<line class=\"mark\" x1=\"" << ox << "\" y1=\"" << num(Y(m.value)) << "\" x2=\""
        << ox + w << "\" y2=\"" << num(Y(m.value)) << "\" stroke=\"" << m.color
        << "\" stroke-dasharray=\"2,2\"/>\n";
    svg << "<text x=\"" << ox + 6 << "\" y=\"" << num(Y(m.value) - 4)
        << "\" font-size=\"11\" fill=\"" << m.color << "\">" << escape(m.label) << "</text>\n";
  }
  double legend_y = oy + 16;
  for (auto& s : p.series) {
    if (s.points.empty()) continue;
    svg << "<polyline fill=\"none\" stroke=\"" << s.color << "\" stroke-width=\"1.5\" points=\"";
    for (auto [x, y] : s.points)
      if (std::isfinite(y)) svg << num(X(x)) << "," << num(Y(y)) << " ";
    svg << "\"/>\n";
    if (s.markers)
      for (auto [x, y] : s.points)
        if (std::isfinite(y))
          svg << "<circle cx=\"" << num(X(x)) << "\" cy=\"" << num(Y(y)) << "\" r=\"3.5\" fill=\""
              << s.color << "\"><title>" << num(x) << ": " << num(y) << "</title></circle>\n";
    svg << "<line x1=\"" << ox + w - 150 << "\" y1=\"" << legend_y - 4 << "\" x2=\"" << ox + w - 130
        << "\" y2=\"" << legend_y - 4 << "\" stroke=\"" << s.color << "\" stroke-width=\"2\"/>\n";
    svg << "<text x=\"" << ox + w - 125 << "\" y=\"" << legend_y << "\" font-size=\"11\">"
        << escape(s.label) << "</text>\n";
    legend_y += 16;
  }
}

}  // namespace

std::pair<double, double> y_range(const Panel& p) {
  double y0 = INFINITY, y1 = -INFINITY;
  for (auto& s : p.series)
    for (auto [x, y] : s.points)
      if (std::isfinite(x) && std::isfinite(y)) y0 = std::min(y0, y), y1 = std::max(y1, y);
  for (auto& m : p.y_marks) y0 = std::min(y0, m.value), y1 = std::max(y1, m.value);
  if (!std::isfinite(y0)) y0 = 0, y1 = 1;
  const double span = std::max({y1 - y0, p.min_y_span, 1e-12});
  if (y1 - y0 < span) {  // widen around the middle, then slide back inside the limits
    const double mid = 0.5 * (y0 + y1);
    y0 = mid - 0.5 * span, y1 = mid + 0.5 * span;
    if (y0 < p.y_lowest) y1 += p.y_lowest - y0, y0 = p.y_lowest;
    if (y1 > p.y_highest) y0 -= y1 - p.y_highest, y1 = p.y_highest;
  }
  const double pad = 0.05 * (y1 - y0);
  return {y0 - pad, y1 + pad};
}

std::string render_svg(const std::vector<Panel>& panels, const std::vector<std::string>& title) {
  const double title_height = 10 + 20 * double(title.size());
  const double height = title_height + kPanelHeight * double(panels.size());
  std::ostringstream svg;
  svg << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kWidth << "\" height=\"" << height
      << "\" viewBox=\"0 0 " << kWidth << " " << height << "\" font-family=\"sans-serif\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"#fafafa\"/>\n";
  for (size_t i = 0; i < title.size(); ++i)
    svg << "<text x=\"" << kWidth / 2 << "\" y=\"" << 22 + 20 * i
        << "\" text-anchor=\"middle\" font-size=\"" << (i == 0 ? 16 : 13) << "\">"
        << escape(title[i]) << "</text>\n";
  for (size_t i = 0; i < panels.size(); ++i)
    draw_panel(svg, panels[i], title_height + kPanelHeight * double(i));
  svg << "</svg>\n";
  return svg.str();
}

std::vector<Panel> training_panels(const TrainingCurves& c) {
  Panel loss;
  loss.title = "Loss", loss.x_label = "step", loss.y_label = c.loss_name;
  Series raw{"training loss per step", {}, "#9ecae1"};
  Series smooth{"training, moving average", {}, "#08519c"};
  const size_t window = std::max<size_t>(1, c.losses.size() / 25);
  double sum = 0;
  for (size_t i = 0; i < c.losses.size(); ++i) {
    raw.points.emplace_back(double(i + 1), c.losses[i]);
    sum += c.losses[i];
    if (i >= window) sum -= c.losses[i - window];
    smooth.points.emplace_back(double(i + 1), sum / double(std::min(i + 1, window)));
  }
  loss.series = {raw, smooth, {"validation loss", c.val_loss, "#ff7f0e", true}};

  // The metric in percent (as GLUE reports them), on an axis of at least 10 points inside
  // [0, 100], or [-100, 100] for a correlation (Matthews, Pearson, Spearman).
  const bool correlation = c.metric != "accuracy" && c.metric != "f1";
  Panel acc;
  acc.title = "Validation " + c.metric, acc.x_label = "epoch", acc.y_label = c.metric + " (%)";
  Series val{"validation " + c.metric, {}, "#d62728", true};
  for (auto [epoch, a] : c.val_metric) val.points.emplace_back(epoch, 100 * a);
  acc.series = {val};
  acc.min_y_span = 10, acc.y_lowest = correlation ? -100 : 0, acc.y_highest = 100;
  if (c.best) {
    char label[64];
    std::snprintf(label, sizeof label, "restored best, epoch %.3g", c.best->second);
    acc.x_marks.push_back({c.best->second, label, "#2ca02c"});
    loss.x_marks.push_back({c.best->first, "restored best", "#2ca02c"});
  }
  if (c.test_metric) {
    char label[64];
    std::snprintf(label, sizeof label, "test %s %.2f%%", c.metric.c_str(), 100 * *c.test_metric);
    acc.y_marks.push_back({100 * *c.test_metric, label, "#9467bd"});
  }
  return {loss, acc};
}

void write_training_curves(const std::string& path, const TrainingCurves& curves) {
  write_text_file_atomically(path, render_svg(training_panels(curves), curves.title));
}

}  // namespace ag::apps
