// curves.svg: training loss per step and validation accuracy per evaluation, drawn by hand
// (plain SVG 1.1 elements, no library), with axes, ticks and labels; opens in any browser.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace ag::apps {

struct Series {
  std::string label;
  std::vector<std::pair<double, double>> points;  // (x, y)
  std::string color = "#1f77b4";
  bool markers = false;  // dots at every point (few points, e.g. one per epoch)
};

struct Panel {
  std::string title, x_label, y_label;
  std::vector<Series> series;
};

// The SVG text of panels stacked vertically.
std::string render_svg(const std::vector<Panel>& panels, const std::string& title);

// curves.svg for a run: `losses[i]` is the training loss of step i + 1; `evals` holds
// (epoch, validation accuracy) points.
void write_training_curves(const std::string& path, const std::vector<float>& losses,
                           const std::vector<std::pair<double, double>>& evals,
                           const std::string& title);

}  // namespace ag::apps
