#!/usr/bin/env bash
# Trains and evaluates every GLUE task found in a folder of GLUE's TSV files, then prints a table.
#
#   tools/glue.sh DATA_DIR [--model DIR] [--tokenizer DIR] [--out DIR] [--tasks mrpc,rte,stsb]
#                 [-- more train flags]
#
#   DATA_DIR   GLUE's layout: DATA_DIR/{CoLA,SST-2,MRPC,QQP,STS-B,MNLI,QNLI,RTE,WNLI}/train.tsv
#              and dev.tsv (MNLI: dev_matched.tsv), each with its own columns (train --task knows
#              them: apps/common/glue_task.h). A task whose folder is missing is skipped.
#   --model    default: the all-MiniLM-L6-v2 folder tools/quickstart.sh unpacked (runs/cache/minilm)
#   --out      default: runs/glue; each task writes OUT/<task>/ (replaced on a rerun)
#   --         anything after it goes to every train run (a later flag wins: -- --epochs 1)
#
# The recipe is tools/bench/race.py's glue-<task> (keep the two in step): train --task <task>,
# 10% of train.tsv held out (stratified) to pick the best evaluation, dev.tsv scored once as the
# test set (GLUE's own test labels are not public), LoRA r 8 alpha 16 dropout 0.05 on query and
# value with the head trained, 3 epochs, batch 16, lr 2e-3, max length 128, malformed rows skipped
# and counted. Each task reports its GLUE metric(s): CoLA Matthews correlation, MRPC and QQP
# accuracy and F1, STS-B Pearson and Spearman (regression, MSE loss), the others accuracy.
# The table goes to stdout and OUT/results.md. Exit status 1 if any task failed.
set -euo pipefail

usage() { echo "usage: tools/glue.sh DATA_DIR [--model DIR] [--tokenizer DIR] [--out DIR] [--tasks a,b] [-- train flags]" >&2; exit 1; }
fail() { echo "error: glue: $*" >&2; exit 1; }
absolute() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }

[ $# -ge 1 ] || usage
data="$(absolute "$1")"
shift
model="" tokenizer="" out="" tasks="cola,sst2,mrpc,qqp,stsb,mnli,qnli,rte,wnli"
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model="$(absolute "${2:?--model needs a folder}")"; shift 2 ;;
    --tokenizer) tokenizer="$(absolute "${2:?--tokenizer needs a folder}")"; shift 2 ;;
    --out) out="$(absolute "${2:?--out needs a folder}")"; shift 2 ;;
    --tasks) tasks="${2:?--tasks needs a list}"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    *) usage ;;
  esac
done
cd "$(dirname "$0")/.."
[ -d "$data" ] || fail "$data: no such folder (expected GLUE's folders: MRPC/train.tsv, ...)"
if [ -z "$model" ]; then
  f="$(find runs/cache/minilm -name model.safetensors 2>/dev/null | head -n 1)"
  [ -n "$f" ] && model="$PWD/$(dirname "$f")"
fi
[ -n "$model" ] || fail "no model: run tools/quickstart.sh first or pass --model DIR"
out="${out:-$PWD/runs/glue}"
train="${BUILD_DIR:-build}/bin/train"
[ -x "$train" ] || fail "$train: not built (cmake --build build --target train)"
mkdir -p "$out"

folder_of() {
  case "$1" in
    cola) echo CoLA ;; sst2) echo SST-2 ;; mrpc) echo MRPC ;; qqp) echo QQP ;; stsb) echo STS-B ;;
    mnli) echo MNLI ;; qnli) echo QNLI ;; rte) echo RTE ;; wnli) echo WNLI ;;
    *) fail "--tasks: unknown task '$1' (cola, sst2, mrpc, qqp, stsb, mnli, qnli, rte, wnli)" ;;
  esac
}
metrics_of() {
  case "$1" in
    cola) echo "matthews accuracy" ;; mrpc | qqp) echo "accuracy f1" ;;
    stsb) echo "pearson spearman" ;; *) echo "accuracy" ;;
  esac
}
# A number from summary.json (one "key": value per line, as train writes it).
value_of() { sed -n "s/^ *\"$2\": \([-0-9.eE+]*\),\{0,1\}$/\1/p" "$1" | head -n 1; }

rows=() failed=0 found=0
IFS=',' read -r -a task_list <<< "$tasks"
for task in "${task_list[@]}"; do
  name="$(folder_of "$task")"
  dev="dev.tsv"; [ "$task" = mnli ] && dev="dev_matched.tsv"
  [ -f "$data/$name/train.tsv" ] || { echo "glue: $name: no $data/$name/train.tsv, skipped" >&2; continue; }
  found=$((found + 1))
  if [ ! -f "$data/$name/$dev" ]; then
    rows+=("| $name | no $dev | | | |"); failed=1; continue
  fi
  run="$out/$task"
  args=(--model "$model" --task "$task" --train "$data/$name/train.tsv"
        --test "$data/$name/$dev" --val-split 0.1 --skip-bad-rows --method lora --epochs 3
        --batch-size 16 --r 8 --alpha 16 --dropout 0.05 --targets query,value --max-length 128
        --lr 2e-3 --quiet-params --out "$run")
  [ -n "$tokenizer" ] && args+=(--tokenizer "$tokenizer")
  [ -d "$run" ] && args+=(--overwrite)
  echo "glue: $name: training (log: $run.log)" >&2
  if ! "$train" "${args[@]}" "${extra[@]}" > "$run.log" 2>&1; then
    rows+=("| $name | failed: $(grep '^error:' "$run.log" | tail -n 1 | cut -c1-120) | | | |")
    failed=1; continue
  fi
  summary="$run/summary.json"
  names="" values=""
  for m in $(metrics_of "$task"); do
    key="test_$m"; [ "$m" = accuracy ] && key=test_acc
    names="${names:+$names / }$m"
    values="${values:+$values / }$(value_of "$summary" "$key" | cut -c1-6)"
  done
  first="$(metrics_of "$task" | cut -d' ' -f1)"
  best_key="best_val_$first"; [ "$first" = accuracy ] && best_key=best_val_acc
  rows+=("| $name | $names | $values | $(value_of "$summary" "$best_key" | cut -c1-6) | $(value_of "$summary" steps) | $(value_of "$summary" wall_seconds | cut -d. -f1) |")
done
[ "$found" -gt 0 ] || fail "$data holds none of GLUE's folders (CoLA/train.tsv, SST-2/train.tsv, ...)"

table="$out/results.md"
{
  echo "| task | metric | dev | best validation | steps | wall s |"
  echo "|---|---|---|---|---:|---:|"
  printf '%s\n' "${rows[@]}"
} > "$table.tmp.$$"
mv "$table.tmp.$$" "$table"
cat "$table"
exit "$failed"
