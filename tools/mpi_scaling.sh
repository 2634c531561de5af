#!/usr/bin/env bash
# Data-parallel scaling on one machine. The same LoRA training run, distilbert-base
# shapes (random weights), the synthetic demo task, global batch 32, STEPS optimizer steps:
#   1 process  x 1 thread    build-mpi/bin/train ... --threads 1
#   1 process  x 2 threads   build-mpi/bin/train ... --threads 2
#   2 processes x 1 thread   mpirun -np 2 build-mpi/bin/train ... --threads 1
# and prints training examples/s of each (evaluation and saving excluded), their ratio, and
# the gradient bytes each rank sends per step. Needs the MPI build (tools/test.sh --mpi).
#
#   tools/mpi_scaling.sh                 # STEPS=30 by default
#   STEPS=60 BUILD=build-mpi tools/mpi_scaling.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-mpi}
STEPS=${STEPS:-30}
[ -x "$BUILD/bin/train" ] || { echo "mpi_scaling.sh: build $BUILD first (tools/test.sh --mpi)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/config.json" <<'JSON'
{"model_type": "distilbert", "vocab_size": 30522, "dim": 768, "n_layers": 6, "n_heads": 12,
 "hidden_dim": 3072, "max_position_embeddings": 512, "dropout": 0.1, "attention_dropout": 0.1,
 "seq_classif_dropout": 0.2, "pad_token_id": 0}
JSON
common=(--model "$tmp/config.json" --demo --method lora --global-batch-size 32 --epochs 1
        --max-steps "$STEPS" --quiet-params --log-every 10)
field() { sed -n "s/.*\"$2\": \([0-9.e+-]*\).*/\1/p" "$1/summary.json"; }

echo "1 process x 1 thread ..." >&2
"$BUILD/bin/train" "${common[@]}" --threads 1 --out "$tmp/single" > "$tmp/single.log"
echo "1 process x 2 threads ..." >&2
"$BUILD/bin/train" "${common[@]}" --threads 2 --out "$tmp/one" > "$tmp/one.log"
echo "2 processes x 1 thread ..." >&2
mpirun --allow-run-as-root --oversubscribe --bind-to core -np 2 \
  "$BUILD/bin/train" "${common[@]}" --threads 1 --out "$tmp/two" > "$tmp/two.log"

single=$(field "$tmp/single" examples_per_second)
one=$(field "$tmp/one" examples_per_second)
two=$(field "$tmp/two" examples_per_second)
reduce_ms=$(awk -v s="$(field "$tmp/two" allreduce_seconds)" -v n="$STEPS" 'BEGIN{printf "%.1f", 1000*s/n}')
echo "| layout | training examples/s | Allreduce bytes per step and rank | Allreduce ms per step |"
echo "|---|---:|---:|---:|"
printf "| 1 process x 1 thread | %.1f | 0 | 0 |\n" "$single"
printf "| 1 process x 2 threads | %.1f | 0 | 0 |\n" "$one"
printf "| 2 processes x 1 thread | %.1f | %s | %s |\n" "$two" "$(field "$tmp/two" allreduce_bytes_per_step)" "$reduce_ms"
echo "2 processes x 1 thread vs 1 process x 2 threads: $(awk -v a="$two" -v b="$one" 'BEGIN{printf "%.2fx", a/b}'), vs 1 process x 1 thread: $(awk -v a="$two" -v b="$single" 'BEGIN{printf "%.2fx", a/b}') ($STEPS steps)"
