#!/usr/bin/env bash
# Runs the commands of README.md, so that none of them rots unnoticed.
#
#   tools/check_readme.sh [README]      (default README.md; needs build/ built: tools/test.sh)
#
# Every fenced block marked ```sh (or ```bash) holds commands only (output goes in ```text
# blocks); each command (a line, with its `\` continuations) either runs here or is listed as
# skipped with a one-line reason. New blocks are picked up as they are added.
#
# Runs are kept cheap and away from the user's runs/: `tools/quickstart.sh` runs first with
# MAX_STEPS=$README_MAX_STEPS (default 20) and OUT in a temporary folder, and every `runs/...`
# path of a command, except the downloaded runs/cache and runs/data, is read from that folder.
# Skipped: commands that need the internet (hf download, pip install), data not present here (a
# file or folder argument that does not exist), placeholders (M, D, DIR, `...`), GLUE's data
# (unless README_GLUE=1), the Python virtual environment, MPI or several machines, benchmarks,
# and the build and test commands CI runs as steps of their own (tools/test.sh, cmake,
# tools/fuzz.sh, tools/build_example.sh). Exit status 1 when a command that ran failed.
# README_DRY_RUN=1 lists what would run and what would be skipped, running nothing.
set -uo pipefail
cd "$(dirname "$0")/.."
readme="${1:-README.md}"
runs="$(mktemp -d "${TMPDIR:-/tmp}/adaptgrad-readme.XXXXXX")"
trap 'rm -rf "$runs"' EXIT
start=$SECONDS
ran=0 skipped=0 failed=0

# The commands of the ```sh / ```bash blocks, one per line (continuations joined), with the
# README line they start on: "LINE<TAB>COMMAND".
extract() {
  awk '
    /^```(sh|bash)[ \t]*$/ { inside = 1; next }
    /^```/ { inside = 0; next }
    inside {
      line = $0
      if (cmd == "") at = NR
      if (line ~ /\\$/) { sub(/\\$/, "", line); cmd = cmd line; next }
      cmd = cmd line
      if (cmd ~ /^[ \t]*$/) { cmd = ""; next }
      print at "\t" cmd
      cmd = ""
    }' "$1"
}

# Why a command cannot run here (empty: it can).
reason_to_skip() {
  local cmd="$1"
  case "$cmd" in
    *"tools/test.sh"* | cmake\ * | *" cmake "* | *"ctest "* | *"tools/fuzz.sh"* | \
      *"tools/build_example.sh"*)
      echo "CI runs the build and test commands as steps of their own"; return ;;
    *"hf download"* | *"huggingface-cli"* | *"pip install"* | *"git clone"* | *"curl "* | *"wget "*)
      echo "needs the internet"; return ;;
    *".venv"* | python\ * | python3\ * | *" python "* | *" python3 "*)
      echo "needs the Python virtual environment (torch, transformers, peft)"; return ;;
    *mpirun*) echo "needs the MPI build and mpirun (CI: tools/test.sh --mpi)"; return ;;
    *[Gg][Ll][Uu][Ee]* | *sst2* | *SST-2*)
      # GLUE's data is large and not CI's to download; README_GLUE=1 runs these too.
      if [ -z "${README_GLUE:-}" ]; then echo "needs GLUE data (README_GLUE=1 runs it)"; return; fi ;;
    *"bin/bench "* | *"compare.py"* | *"race.py"* | *"mpi_scaling.sh"*)
      echo "a benchmark (minutes, and meaningless on a busy machine)"; return ;;
  esac
  # Scripts whose data is missing say so in one line; the SST-2 comparison needs GLUE's SST-2.
  case "$cmd" in
    *run_sst2_comparison.sh*)
      [ -f runs/data/sst2/train.tsv ] || { echo "needs GLUE's SST-2 in runs/data/sst2 (README: SST-2)"; return; } ;;
  esac
  # Placeholders: an all-capitals word standing for a path (M, D, DIR, MODEL_DIR), [OPTIONAL]
  # arguments, or "..." for "the rest".
  local word
  for word in $cmd; do
    case "$word" in
      *=*) continue ;;  # VAR=value before a command
      "..." | \[*\]) echo "has a placeholder ($word)"; return ;;
    esac
    if [[ "$word" =~ ^[A-Z][A-Z0-9_]*$ ]]; then echo "has a placeholder ($word)"; return; fi
  done
  # A program that is not here (build-example/fine_tune: its build is one of CI's steps).
  for word in $cmd; do
    case "$word" in *=*) continue ;; esac
    [[ "$word" == */* && ! -e "$word" ]] && { echo "needs $word, which a skipped command builds"; return; }
    break
  done
  # Inputs that are not here: the value of an input flag, or a data file named by extension.
  local previous="" path
  for word in $cmd; do
    path=""
    case "$previous" in
      --model | --train | --validation | --test | --data | --run | --adapter | --input | \
        --tokenizer | --labels) path="$word" ;;
    esac
    case "$word" in *.tsv | *.csv | *.jsonl | *.parquet) path="$word" ;; esac
    case "$word" in runs/data/*) path="$word" ;; esac
    previous="$word"
    [ -z "$path" ] && continue
    path="${path//\'/}" path="${path//\"/}"
    [[ "$path" == runs/* && "$path" != runs/cache* && "$path" != runs/data* ]] &&
      path="$runs/${path#runs/}"
    [ -e "$path" ] && continue
    case "$path" in
      *sst2* | *SST-2* | *glue* | *GLUE*)
        echo "needs GLUE data not present here ($word; README: SST-2)" ;;
      *) echo "needs $word, not present here" ;;
    esac
    return
  done
}

run_command() {
  local at="$1" cmd="$2"
  local log="$runs/command.log"
  # The user's runs/ stays untouched: run folders live in the temporary folder.
  local here="${cmd//runs\/cache/@CACHE@}"
  here="${here//runs\/data/@DATA@}"
  here="${here//runs\//$runs/}"
  here="${here//@CACHE@/runs/cache}"
  here="${here//@DATA@/runs/data}"
  case "$cmd" in
    *tools/quickstart.sh*)
      here="MAX_STEPS=${README_MAX_STEPS:-20} OUT=$runs/quickstart-lora $here" ;;
  esac
  if [ -n "${README_DRY_RUN:-}" ]; then
    echo "would run $readme:$at  $here"
    return
  fi
  local t0=$SECONDS
  if timeout "${README_TIMEOUT:-600}" bash -c "$here" </dev/null >"$log" 2>&1; then
    echo "ran     $readme:$at  $cmd  ($((SECONDS - t0))s)"
    ran=$((ran + 1))
  else
    echo "FAILED  $readme:$at  $cmd  ($((SECONDS - t0))s); its last lines:"
    tail -n 15 "$log" | sed 's/^/        /'
    failed=$((failed + 1))
  fi
}

mapfile -t commands < <(extract "$readme")
[ ${#commands[@]} -gt 0 ] || { echo "check_readme: no \`\`\`sh blocks in $readme" >&2; exit 1; }
# The quick start first: the later commands read its run.
for entry in "${commands[@]}"; do
  [[ "${entry#*$'\t'}" == "tools/quickstart.sh"* ]] && run_command "${entry%%$'\t'*}" "${entry#*$'\t'}"
done
for entry in "${commands[@]}"; do
  at="${entry%%$'\t'*}" cmd="${entry#*$'\t'}"
  cmd="$(sed -E 's/[[:space:]]+#[^'"'"'"]*$//; s/^[[:space:]]+//; s/[[:space:]]+/ /g' <<<"$cmd")"
  [[ "$cmd" == "tools/quickstart.sh"* ]] && continue
  why="$(reason_to_skip "$cmd")"
  if [ -n "$why" ]; then
    echo "skipped $readme:$at  $cmd  -- $why"
    skipped=$((skipped + 1))
  else
    run_command "$at" "$cmd"
  fi
done
echo "check_readme: $ran ran, $failed failed, $skipped skipped ($((SECONDS - start))s)"
[ "$failed" -eq 0 ]
