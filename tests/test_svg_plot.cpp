// curves.svg (apps/train/svg_plot.cpp): what a run's plot shows, read back from the SVG text.
#include <doctest/doctest.h>

#include <string>

#include "apps/train/svg_plot.h"

using namespace ag::apps;

namespace {

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TrainingCurves three_epochs() {
  TrainingCurves c;
  for (int i = 0; i < 30; ++i) c.losses.push_back(0.7f - 0.01f * float(i));
  c.val_loss = {{10, 0.55}, {20, 0.52}, {30, 0.54}};
  c.val_metric = {{1, 0.770}, {2, 0.755}, {3, 0.760}};
  c.best = {{10, 1.0}};
  c.test_metric = 0.8025;
  c.title = {"adaptgrad lora on polarity.csv", "lora r 8 alpha 16 on query,value, lr 0.002"};
  return c;
}

}  // namespace

TEST_CASE("curves.svg: validation loss, the restored best epoch, the test accuracy, the recipe") {
  const TrainingCurves c = three_epochs();
  const std::string svg = render_svg(training_panels(c), c.title);
  CHECK(svg.find(">validation loss</text>") != std::string::npos);
  CHECK(svg.find(">validation accuracy</text>") != std::string::npos);
  CHECK(svg.find(">training loss per step</text>") != std::string::npos);
  // Three evaluations: three dots in each of the loss and accuracy panels.
  CHECK(count(svg, "<circle") == 6);
  CHECK(svg.find(">restored best, epoch 1</text>") != std::string::npos);
  CHECK(svg.find(">test accuracy 80.25%</text>") != std::string::npos);
  CHECK(count(svg, "class=\"mark\"") == 3);  // best in both panels, test in the accuracy one
  CHECK(svg.find(">lora r 8 alpha 16 on query,value, lr 0.002</text>") != std::string::npos);
  CHECK(svg.find(">adaptgrad lora on polarity.csv</text>") != std::string::npos);
}

TEST_CASE("curves.svg: no best mark or test line when there was neither") {
  TrainingCurves c = three_epochs();
  c.best.reset();
  c.test_metric.reset();
  const std::string svg = render_svg(training_panels(c), c.title);
  CHECK(count(svg, "class=\"mark\"") == 0);
  CHECK(svg.find("restored best") == std::string::npos);
}

TEST_CASE("curves.svg: the accuracy axis spans at least 10 points, inside 0..100") {
  const TrainingCurves c = three_epochs();
  const std::vector<Panel> panels = training_panels(c);
  REQUIRE(panels.size() == 2);
  // Data 75.5 .. 80.25 (the test line included): widened to 10 points around 77.875, plus 5%.
  const auto [lo, hi] = y_range(panels[1]);
  CHECK(lo == doctest::Approx(72.875 - 0.5));
  CHECK(hi == doctest::Approx(82.875 + 0.5));
  // Near 100% the span slides down instead of passing 100.
  TrainingCurves high = c;
  high.val_metric = {{1, 0.99}, {2, 1.0}};
  high.test_metric.reset();
  const auto [lo2, hi2] = y_range(training_panels(high)[1]);
  CHECK(lo2 == doctest::Approx(90 - 0.5));
  CHECK(hi2 == doctest::Approx(100 + 0.5));
  // A spread wider than the minimum keeps the data's own range.
  TrainingCurves wide = c;
  wide.val_metric = {{1, 0.5}, {2, 0.9}};
  wide.test_metric.reset();
  const auto [lo3, hi3] = y_range(training_panels(wide)[1]);
  CHECK(lo3 == doctest::Approx(50 - 2));
  CHECK(hi3 == doctest::Approx(90 + 2));
}

TEST_CASE("curves.svg: a regression plots its metric and MSE; a correlation may go below 0") {
  TrainingCurves c = three_epochs();
  c.metric = "pearson", c.loss_name = "MSE";
  c.val_metric = {{1, -0.02}, {2, 0.03}};  // an untrained STS-B model: near 0, either side
  c.test_metric.reset();
  const std::vector<Panel> panels = training_panels(c);
  const std::string svg = render_svg(panels, c.title);
  CHECK(svg.find(">validation pearson</text>") != std::string::npos);
  CHECK(svg.find(">MSE</text>") != std::string::npos);
  CHECK(svg.find("validation accuracy") == std::string::npos);
  // Data -2 .. 3 widened to 10 points around 0.5 (not clipped at 0), plus 5%.
  const auto [lo, hi] = y_range(panels[1]);
  CHECK(lo == doctest::Approx(-4.5 - 0.5));
  CHECK(hi == doctest::Approx(5.5 + 0.5));
}
