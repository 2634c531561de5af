// curves.svg: training and validation loss per step, validation accuracy per evaluation, the
// restored best evaluation and the test result, drawn by hand (plain SVG 1.1 elements, no
// library), with axes, ticks and labels; opens in any browser.
#pragma once

#include <limits>
#include <optional>
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

// A labelled line across a panel: vertical at x = value, or horizontal at y = value.
struct Mark {
  double value = 0;
  std::string label;
  std::string color = "#555";
};

struct Panel {
  std::string title, x_label, y_label;
  std::vector<Series> series;
  std::vector<Mark> x_marks, y_marks;
  // The y axis spans at least this much (centred on the data, kept inside the limits below),
  // so that a change of 1.5 points of accuracy is not drawn as the panel's full height.
  double min_y_span = 0;
  double y_lowest = -std::numeric_limits<double>::infinity();
  double y_highest = std::numeric_limits<double>::infinity();
};

// The y range a panel draws: its data and marks, widened to min_y_span (moved inside
// [y_lowest, y_highest]), plus 5% on each side.
std::pair<double, double> y_range(const Panel& panel);

// The SVG text of panels stacked vertically, under a title of one or more lines.
std::string render_svg(const std::vector<Panel>& panels, const std::vector<std::string>& title);

struct TrainingCurves {
  std::vector<float> losses;                          // training loss of step i + 1
  std::vector<std::pair<double, double>> val_loss;    // (step, validation loss)
  std::string metric = "accuracy";                    // the metric that picks the best evaluation
  std::string loss_name = "cross-entropy";            // MSE for a regression
  std::vector<std::pair<double, double>> val_metric;  // (epoch, validation metric in [-1, 1])
  std::optional<std::pair<double, double>> best;      // (step, epoch) of the restored evaluation
  std::optional<double> test_metric;                  // with the restored weights
  std::vector<std::string> title;                     // e.g. the data, then the recipe
};

// The panels of curves.svg: loss (per step: training, its moving average, validation) and
// the validation metric in percent (per epoch; accuracy unless the task says otherwise), the best
// evaluation and the test result marked.
std::vector<Panel> training_panels(const TrainingCurves& curves);

// Writes curves.svg (atomically).
void write_training_curves(const std::string& path, const TrainingCurves& curves);

}  // namespace ag::apps
