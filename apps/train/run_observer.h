// A seam into a training run: an observer the caller may hand the train app, called at four
// fixed points of the run, which may change the loss the loop sees. build/bin/train runs
// without one; the tests' build/bin/train_faults injects faults through it
// (tests/train_faults_main.cpp: a NaN loss, Ctrl-C, a crash at a chosen step).
#pragma once

#include <cstdint>

namespace ag::apps {

class RunObserver {
 public:
  virtual ~RunObserver() = default;
  // Once the data and tokenizer are loaded, before the model is.
  virtual void before_model_load() {}
  // The global mean loss of a batch of optimizer step `step` (1-based); returns the loss the
  // loop goes on with.
  virtual double batch_loss(int64_t /*step*/, double loss) { return loss; }
  // After optimizer step `step` and its evaluation, before the loop checks for a stop signal.
  virtual void after_step(int64_t /*step*/) {}
  // After step `step`'s checkpoint (if one was due), on rank `rank`.
  virtual void after_checkpoint(int64_t /*step*/, int /*rank*/) {}
};

}  // namespace ag::apps
