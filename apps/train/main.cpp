// train: fine-tunes a DistilBERT/BERT classifier with LoRA, DoRA, full fine-tuning or the
// head only, evaluates it and saves what it learned (see apps/common/run_outputs.h).
//
//   build/bin/train --model MODEL_DIR --data FILE [--format polarity] --method lora
//   build/bin/train --model MODEL_DIR --train T --validation V --test T2 --method dora
//   build/bin/train --model tiny/config.json --demo           (random init, synthetic data)
//   build/bin/train --resume runs/X                           (after Ctrl-C or a crash)
//   mpirun -np 2 build/bin/train ... (a -DADAPTGRAD_MPI=ON build; data-parallel, rank 0 writes)
//
// The steps are the LoRA/DoRA tutorial's: load, freeze, wrap q/v with adapters, print what trains,
// train with AdamW, evaluate, save. The pieces live in apps/train/ and apps/common/.
#include "apps/common/app_util.h"
#include "apps/train/train_app.h"

int main(int argc, char** argv) {
  ag::apps::start_app(argv);  // before MPI_Init: may restart
  return ag::apps::run_train_app(argc, argv);
}
