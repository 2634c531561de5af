// The train app behind build/bin/train's main(), so that another main can run it with an
// observer (the tests' build/bin/train_faults, tests/train_faults_main.cpp).
#pragma once

#include "apps/train/run_observer.h"

namespace ag::apps {

// Parses the flags in argv and runs (or resumes) a training run; returns the exit code. Call
// start_app(argv) first. `observer` (not owned; null: none) is called at the run's fixed points.
int run_train_app(int argc, char** argv, RunObserver* observer = nullptr);

}  // namespace ag::apps
