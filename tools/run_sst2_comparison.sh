#!/usr/bin/env bash
# LoRA vs DoRA vs full fine-tuning vs head-only on SST-2 with all-MiniLM-L6-v2: the LoRA/DoRA tutorial's
# comparison table, measured here.
#
#   tools/run_sst2_comparison.sh [MODEL_DIR] [SST2_DIR]
#
#   MODEL_DIR  all-MiniLM-L6-v2 folder (default: the one tools/quickstart.sh unpacked under
#              runs/cache/minilm)
#   SST2_DIR   folder with train.tsv and dev.tsv in GLUE's SST-2 format: tab-separated, header
#              sentence<TAB>label, label 1 positive / 0 negative (default: runs/data/sst2)
#
# Each method trains on train.tsv (5% of it, stratified, held out for validation / picking the
# best evaluation), is tested once on dev.tsv, and writes runs/sst2/<method>/. The table goes to
# stdout and runs/sst2/table.md. Environment overrides: METHODS ("lora dora full head"),
# EPOCHS (1), BATCH_SIZE (32), MAX_LENGTH (64), THREADS (0 = all cores), MAX_STEPS (0 = all),
# LR_LORA / LR_DORA (2e-3), LR_FULL (1e-4), LR_HEAD (2e-3), OUT (runs/sst2), BUILD_DIR (build).
set -euo pipefail
cd "$(dirname "$0")/.."

model="${1:-}"
if [ -z "$model" ]; then
  f="$(find runs/cache/minilm -name model.safetensors 2>/dev/null | head -n 1)"
  [ -n "$f" ] && model="$(dirname "$f")"
fi
[ -n "$model" ] && [ -f "$model/model.safetensors" ] ||
  { echo "run_sst2_comparison: no all-MiniLM-L6-v2 folder; run tools/quickstart.sh first or pass MODEL_DIR" >&2; exit 1; }
data="${2:-runs/data/sst2}"
[ -f "$data/train.tsv" ] && [ -f "$data/dev.tsv" ] ||
  { echo "run_sst2_comparison: $data has no train.tsv and dev.tsv: SST-2 is GLUE's; unzip https://dl.fbaipublicfiles.com/glue/data/SST-2.zip (or take the Hugging Face dataset nyu-mll/glue, config sst2) and put train.tsv and dev.tsv there (README: SST-2)" >&2; exit 1; }
build="${BUILD_DIR:-build}"
[ -x "$build/bin/train" ] || { cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null &&
                               cmake --build "$build" -j"$(nproc)" --target train predict; }

out="${OUT:-runs/sst2}"
methods="${METHODS:-lora dora full head}"
mkdir -p "$out"
for method in $methods; do
  case "$method" in
    lora) lr="${LR_LORA:-2e-3}" ;;
    dora) lr="${LR_DORA:-2e-3}" ;;
    full) lr="${LR_FULL:-1e-4}" ;;
    head) lr="${LR_HEAD:-2e-3}" ;;
    *) echo "run_sst2_comparison: unknown method $method" >&2; exit 1 ;;
  esac
  echo "== $method (lr $lr)"
  rm -f "$out/$method/summary.json"
  "$build/bin/train" --model "$model" --train "$data/train.tsv" --test "$data/dev.tsv" \
    --val-split 0.05 --method "$method" --r 8 --alpha 16 --dropout 0.05 --targets query,value \
    --epochs "${EPOCHS:-1}" --lr "$lr" --batch-size "${BATCH_SIZE:-32}" \
    --max-length "${MAX_LENGTH:-64}" --threads "${THREADS:-0}" --max-steps "${MAX_STEPS:-0}" \
    --eval-every 500 --quiet-params --seed 42 --overwrite --out "$out/$method" | grep -v "^step " || true
  [ -f "$out/$method/summary.json" ] || { echo "run_sst2_comparison: $method failed" >&2; exit 1; }
done

python3 - "$out" $methods <<'EOF' | tee "$out/table.md"
import json, sys
out, methods = sys.argv[1], sys.argv[2:]
names = {"lora": "LoRA (r 8, q+v, head)", "dora": "DoRA (r 8, q+v, head)",
         "full": "full fine-tuning", "head": "head only"}
print("| method | trainable params | dev accuracy | time/epoch | peak memory |")
print("|---|---:|---:|---:|---:|")
for m in methods:
    s = json.load(open(f"{out}/{m}/summary.json"))
    t = s["seconds_per_epoch"]
    print(f"| {names[m]} | {s['trainable_params']:,} ({100 * s['trainable_params'] / s['all_params']:.2f}%) "
          f"| {100 * s['test_acc']:.2f}% | {int(t // 60)}m{int(t % 60):02d}s "
          f"| {s['peak_rss_mib'] / 1024:.2f} GiB |")
EOF
