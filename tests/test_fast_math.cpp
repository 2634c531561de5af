// The vectorisable exp and erf against the C library, over the ranges the ops use.
#include <doctest/doctest.h>

#include <cmath>

#include "core/fast_math.h"

TEST_CASE("fast_exp is within 3e-7 relative of std::exp, and exactly 0 far below") {
  double worst = 0.0;
  for (double x = -87.0; x <= 88.0; x += 0.001) {
    const double ref = std::exp(double(float(x)));
    worst = std::max(worst, std::abs(ag::fast_exp(float(x)) - ref) / ref);
  }
  CHECK(worst < 3e-7);
  CHECK(ag::fast_exp(-88.0f) == 0.0f);
  CHECK(ag::fast_exp(-std::numeric_limits<float>::infinity()) == 0.0f);
  CHECK(ag::fast_exp(std::numeric_limits<float>::lowest()) == 0.0f);  // masked attention scores
  CHECK(ag::fast_exp(0.0f) == 1.0f);
}

// A&S 7.1.26 is good to 1.5e-7 in exact arithmetic; evaluating 1 − poly·e^{−x²} in float
// loses a few ulp of 1 (≈ 6e-8 each) near x = 0 where the two terms cancel: bound 5e-7.
TEST_CASE("fast_erf is within 5e-7 absolute of std::erf") {
  double worst = 0.0;
  for (double x = -6.0; x <= 6.0; x += 0.0005)
    worst = std::max(worst, std::abs(ag::fast_erf(float(x)) - std::erf(double(float(x)))));
  CHECK(worst < 5e-7);
  CHECK(ag::fast_erf(0.0f) == 0.0f);
  CHECK(ag::fast_erf(10.0f) == 1.0f);
  CHECK(ag::fast_erf(-10.0f) == -1.0f);
}
