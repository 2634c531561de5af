// A tiny per-op-family profiler for `bench --profile`.
//
// Each op opens a ProfileScope naming its family; backward() times every node the same way.
// When profiling is off (the default) a scope costs one predictable branch.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace ag {

enum class OpFamily { kGemm, kAttention, kNorm, kElementwise, kOptimizer, kOther, kCount };
const char* family_name(OpFamily family);

// An op's name in the autograd graph and its family in the profile, named once: a constant
// beside the op (e.g. kLinearOp in ops_linear.cpp), opened as its ProfileScope and recorded in
// its node, whose backward is then timed in the same family. An op recorded by its name alone
// is elementwise.
struct OpKind {
  const char* name;
  OpFamily family = OpFamily::kElementwise;
};

void set_profiling(bool on);
bool profiling();
void reset_profile();
double profile_seconds(OpFamily family);
void add_profile_time(OpFamily family, double seconds);

class ProfileScope {
 public:
  explicit ProfileScope(OpKind op) : ProfileScope(op.family) {}
  explicit ProfileScope(OpFamily family) : family_(family), on_(profiling()) {
    if (on_) start_ = std::chrono::steady_clock::now();
  }
  ~ProfileScope() {
    if (on_)
      add_profile_time(
          family_,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
  }
  ProfileScope(const ProfileScope&) = delete;
  ProfileScope& operator=(const ProfileScope&) = delete;

 private:
  OpFamily family_;
  bool on_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace ag
