#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/fuzz_*.cpp) with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer in build-fuzz/, and runs each one for FUZZ_SECONDS on a fresh copy
# of its seed corpus (tests/fuzz/corpus/<target>/). Exits non-zero if any target crashes, leaks,
# times out, runs out of memory or prints a sanitizer report; prints executions per target.
#
#   tools/fuzz.sh                      # every target, 60 s each, two at a time
#   tools/fuzz.sh safetensors config   # just these (names without the fuzz_ prefix)
#   FUZZ_SECONDS=600 tools/fuzz.sh     # the long run
#
# Environment:
#   FUZZ_SECONDS    seconds per target (default 60)
#   FUZZ_JOBS       targets run at the same time (default 2; the machines have 2 cores)
#   FUZZ_TIMEOUT    seconds one input may take before it counts as a hang (default 10)
#   FUZZ_RSS_MB     memory limit per target process, MB (default 2048)
#   FUZZ_BUILD_DIR  build folder (default build-fuzz)
#   FUZZ_NO_BUILD=1 reuse the binaries already built
#   FUZZ_DEFINES    exploration only: known bugs to tolerate, e.g.
#                   ADAPTGRAD_FUZZ_TOLERATE_JSON_OUT_OF_RANGE (see tests/fuzz/fuzz_entries.h)
#
# A crash leaves its input in build-fuzz/runs/<target>/crash-* (or leak-*, timeout-*, oom-*);
# minimise it with
#   build-fuzz/fuzz/fuzz_<target> -minimize_crash=1 -runs=10000 -exact_artifact_path=min <input>
# fix the bug, and save the minimised input as tests/fuzz/regressions/<target>/<name>: the
# doctest suite tests/test_fuzz_regressions.cpp replays every file there in the normal build.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
SECONDS_PER_TARGET=${FUZZ_SECONDS:-60}
JOBS=${FUZZ_JOBS:-2}
TIMEOUT=${FUZZ_TIMEOUT:-10}
RSS_MB=${FUZZ_RSS_MB:-2048}
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac

ALL_TARGETS=()
for src in tests/fuzz/fuzz_*.cpp; do
  name=$(basename "$src" .cpp)
  ALL_TARGETS+=("${name#fuzz_}")
done
if [ $# -gt 0 ]; then TARGETS=("$@"); else TARGETS=("${ALL_TARGETS[@]}"); fi
for t in "${TARGETS[@]}"; do
  if [ ! -f "tests/fuzz/fuzz_$t.cpp" ]; then
    echo "fuzz.sh: no target '$t' (known: ${ALL_TARGETS[*]})" >&2
    exit 2
  fi
done

# --- build ------------------------------------------------------------------------------------
# The libraries are compiled with the sanitizers and libFuzzer's coverage too, so that a bug
# inside them is caught where it happens (the fuzz targets themselves add -fsanitize=fuzzer).
SAN_FLAGS="-fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
if [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
  # The project's Debian packages, then clang with libFuzzer and the sanitizer runtimes, and
  # clang's OpenMP (libomp), when missing.
  tools/install_deps.sh
  missing=()
  for p in clang libclang-rt-14-dev libomp-dev; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "fuzz.sh: installing ${missing[*]}"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
  # Through the top-level option when it exists; else tests/fuzz/ as its own project, which
  # pulls in the rest of the tree.
  if grep -q "ADAPTGRAD_FUZZ" CMakeLists.txt; then SOURCE="$ROOT"; else SOURCE="$ROOT/tests/fuzz"; fi
  if [ -f "$BUILD/CMakeCache.txt" ] &&
     ! grep -qx "CMAKE_HOME_DIRECTORY:INTERNAL=$SOURCE" "$BUILD/CMakeCache.txt"; then
    echo "fuzz.sh: $BUILD was configured from another source folder; starting it afresh"
    rm -rf "$BUILD"
  fi
  mkdir -p "$BUILD"
  echo "== configure $BUILD (clang, ASan + UBSan + libFuzzer) from ${SOURCE#"$ROOT"}/"
  CC=clang CXX=clang++ cmake -S "$SOURCE" -B "$BUILD" -DADAPTGRAD_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DADAPTGRAD_NATIVE=OFF \
    -DADAPTGRAD_FUZZ_DEFINES="${FUZZ_DEFINES:-}" \
    -DCMAKE_C_FLAGS="$SAN_FLAGS" -DCMAKE_CXX_FLAGS="$SAN_FLAGS" >"$BUILD/configure.log" 2>&1 ||
    { cat "$BUILD/configure.log"; exit 1; }
  echo "== build"
  build_targets=()
  for t in "${TARGETS[@]}"; do build_targets+=(--target "fuzz_$t"); done
  cmake --build "$BUILD" -j "$JOBS" "${build_targets[@]}" >"$BUILD/build.log" 2>&1 ||
    { tail -50 "$BUILD/build.log"; exit 1; }
fi
BIN=$(dirname "$(find "$BUILD" -type f -name "fuzz_${TARGETS[0]}" -perm -u+x | head -1)")
[ -x "$BIN/fuzz_${TARGETS[0]}" ] || { echo "fuzz.sh: fuzz_${TARGETS[0]} was not built" >&2; exit 1; }

# --- dictionaries: the tokens of each format, so that mutations speak it ---------------------
DICTS="$BUILD/dicts"
mkdir -p "$DICTS"
json_tokens=('"{"' '"}"' '"["' '"]"' '":"' '","' '"\""' '"null"' '"true"' '"false"' '"0"' '"-1"'
  '"1e400"' '"-0.0"' '"18446744073709551615"' '"9223372036854775808"' '"\"\\u0000\""'
  '"\"\\ud800\""')
write_dict() {  # name, tokens...
  local name=$1; shift
  : >"$DICTS/$name.dict"
  for token in "$@"; do printf '%s\n' "$token" >>"$DICTS/$name.dict"; done
}
{
  write_dict safetensors "${json_tokens[@]}" '"\"dtype\""' '"\"shape\""' '"\"data_offsets\""' \
    '"\"__metadata__\""' '"\"F64\""' '"\"F32\""' '"\"F16\""' '"\"BF16\""' '"\"I64\""' \
    '"\"I32\""' '"\"I16\""' '"\"I8\""' '"\"U8\""' '"\"BOOL\""' '"\"U32\""' '"\"F8_E4M3\""' \
    '"\x00\x00\x00\x00\x00\x00\x00\x00"' '"\xff\xff\xff\xff\xff\xff\xff\xff"' \
    '"\x00\x00\x00\x00\x00\x01\x00\x00"' '"4611686018427387904"' '"3037000500"'
  write_dict config "${json_tokens[@]}" '"\"model_type\""' '"\"distilbert\""' '"\"bert\""' \
    '"\"vocab_size\""' '"\"dim\""' '"\"n_layers\""' '"\"n_heads\""' '"\"hidden_dim\""' \
    '"\"hidden_size\""' '"\"num_hidden_layers\""' '"\"num_attention_heads\""' \
    '"\"intermediate_size\""' '"\"max_position_embeddings\""' '"\"type_vocab_size\""' \
    '"\"activation\""' '"\"hidden_act\""' '"\"gelu\""' '"\"relu\""' '"\"dropout\""' \
    '"\"attention_dropout\""' '"\"seq_classif_dropout\""' '"\"classifier_dropout\""' \
    '"\"hidden_dropout_prob\""' '"\"attention_probs_dropout_prob\""' '"\"layer_norm_eps\""' \
    '"\"initializer_range\""' '"\"pad_token_id\""' '"\"id2label\""' '"\"num_labels\""' \
    '"\"sinusoidal_pos_embds\""'
  # config_model: the same keys, the ones refused unless at their default, the token ids that
  # index a table, and small sizes (its models are built and run only when tiny).
  config_keys=()
  while IFS= read -r token; do config_keys+=("$token"); done <"$DICTS/config.dict"
  write_dict config_model "${config_keys[@]}" '"\"position_embedding_type\""' '"\"absolute\""' \
    '"\"relative_key\""' '"\"is_decoder\""' '"\"add_cross_attention\""' \
    '"\"is_encoder_decoder\""' '"\"problem_type\""' '"\"pruned_heads\""' \
    '"\"bos_token_id\""' '"\"eos_token_id\""' '"\"sep_token_id\""' '"\"qa_dropout\""' \
    '"1e-38"' '"1e-50"' '"3.5e38"' '"0.5"' '"1"' '"2"' '"3"' '"4"' '"8"' '"127"' '"128"'
  write_dict adapter_config "${json_tokens[@]}" '"\"peft_type\""' '"\"LORA\""' '"\"r\""' \
    '"\"lora_alpha\""' '"\"lora_dropout\""' '"\"target_modules\""' '"\"use_dora\""' \
    '"\"use_rslora\""' '"\"modules_to_save\""' '"\"adaptgrad_magnitude_axis\""' '"\"input\""' \
    '"\"q_lin\""' '"\"classifier\""'
  write_dict adapter_load "${json_tokens[@]}" '"\"dtype\""' '"\"shape\""' '"\"data_offsets\""' \
    '"\"F32\""' '"\"F16\""' '"\"BF16\""' '"\"F64\""' '"\"I64\""' \
    '"base_model.model."' '"distilbert.transformer.layer.0.attention.q_lin."' \
    '"lora_A.weight"' '"lora_B.weight"' '"lora_magnitude_vector"' '"classifier.weight"' \
    '"classifier.bias"' '"pre_classifier.weight"' '"base_layer.weight"'
  write_dict tokenizer_json "${json_tokens[@]}" '"\"model\""' '"\"vocab\""' '"\"normalizer\""' \
    '"\"added_tokens\""' '"\"WordPiece\""' '"\"BertNormalizer\""' '"\"lowercase\""' \
    '"\"strip_accents\""' '"\"handle_chinese_chars\""' '"\"unk_token\""' \
    '"\"continuing_subword_prefix\""' '"\"max_input_chars_per_word\""' '"\"[UNK]\""' \
    '"\"[CLS]\""' '"\"[SEP]\""' '"\"[PAD]\""' '"\"[MASK]\""' '"\"content\""' '"\"id\""'
  write_dict tokenizer_config "${json_tokens[@]}" '"\"do_lower_case\""' '"\"strip_accents\""' \
    '"\"tokenize_chinese_chars\""' '"\"model_max_length\""' '"\"unk_token\""' \
    '"\"sep_token\""' '"\"pad_token\""' '"\"cls_token\""' '"\"mask_token\""' \
    '"\"content\""' '"\"[UNK]\""' '"\"[MASK]\""' '"1e30"' '"-1e300"'
  write_dict tokenizer '"[CLS]"' '"[SEP]"' '"[PAD]"' '"[UNK]"' '"[MASK]"' '"##"' '"\x09"' \
    '"\xc3\xa9"' '"e\xcc\x81"' '"\xe4\xbd\xa0"' '"\xf0\x9f\xab\xa8"' '"\xef\xbf\xbf"' \
    '"\xed\xa0\x80"' '"\xc0\x80"' '"\xf4\x90\x80\x80"' '"\xce\xa3"' '"\xe2\x80\x8b"' \
    '"\xef\xbb\xbf"' '"n\x27t"' '" \x27s"' '"\x00"' '"\x0d\x0a"'
  write_dict tsv '"\x09"' '"\x0a"' '"\x0d\x0a"' '"\x0d"' '"sentence"' '"sentence2"' '"label"' '"\""' \
    '"\xef\xbb\xbf"' '"\xc3\xa9"' '"\xff"' '"-1"' '"+3"'
  write_dict csv '","' '"\x0a"' '"\x0d\x0a"' '"\x0d"' '"text"' '"text_b"' '"label"' '"\""' '"\"\""' \
    '"\xef\xbb\xbf"' '"\xc3\xa9"' '"\xff"' '"-1"' '"+3"'
  write_dict jsonl "${json_tokens[@]}" '"\x0a"' '"\x0d\x0a"' '"\"text\""' '"\"text_pair\""' '"\"label\""' \
    '"\"pos\""' '"\"neg\""' '"\xef\xbb\xbf"' '"\xff"'
  write_dict polarity '","' '"\x0a"' '"\x0d\x0a"' '"\""' '"\"\""' '"-1"' '"1"' '" \x0a\""' '"\xef\xbb\xbf"'
}

# --- run ----------------------------------------------------------------------------------------
RUNS="$BUILD/runs"
# Readers of paths get each input through a file: keep those in memory when possible.
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
# Sanitizer reports are fatal, and UBSan prints a stack.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1:allocator_may_return_null=0:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

run_target() {  # target -> writes $RUNS/<target>/{log,status}
  local t=$1 dir="$RUNS/$1"
  rm -rf "$dir"
  mkdir -p "$dir/corpus"
  cp -r "tests/fuzz/corpus/$t/." "$dir/corpus/"
  local dict=()
  [ -f "$DICTS/$t.dict" ] && dict=(-dict="$DICTS/$t.dict")
  local status=0
  (cd "$dir" && exec "$BIN/fuzz_$t" corpus "${dict[@]}" -max_total_time="$SECONDS_PER_TARGET" \
      -timeout="$TIMEOUT" -rss_limit_mb="$RSS_MB" -malloc_limit_mb="$RSS_MB" \
      -print_final_stats=1 -artifact_prefix="$dir/" >"$dir/log" 2>&1) || status=$?
  # A sanitizer report that did not end the run (it should) still fails it.
  if [ $status -eq 0 ] && grep -qE "ERROR: (Address|Leak|UndefinedBehavior)Sanitizer|runtime error:|==ERROR: libFuzzer" "$dir/log"; then
    status=99
  fi
  echo "$status" >"$dir/status"
  if [ "$status" -ne 0 ]; then
    echo "!! fuzz_$t FAILED (exit $status); log: ${dir#"$ROOT"/}/log"
  else
    echo "   fuzz_$t done"
  fi
}

echo "== run ${#TARGETS[@]} targets, ${SECONDS_PER_TARGET} s each, $JOBS at a time"
running=0
for t in "${TARGETS[@]}"; do
  echo "   fuzz_$t started"
  run_target "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$JOBS" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait || true

# --- report -------------------------------------------------------------------------------------
failed=0
printf '\n%-22s %12s %10s %8s %9s  %s\n' target executions "exec/s" seconds corpus result
for t in "${TARGETS[@]}"; do
  dir="$RUNS/$t"
  status=$(cat "$dir/status" 2>/dev/null || echo 98)
  execs=$(grep -oE "stat::number_of_executed_units: *[0-9]+" "$dir/log" | grep -oE "[0-9]+$" | tail -1 || true)
  [ -n "$execs" ] || execs=$(grep -oE "^#[0-9]+" "$dir/log" | tail -1 | tr -d '#' || true)
  rate=$(grep -oE "stat::average_exec_per_sec: *[0-9]+" "$dir/log" | grep -oE "[0-9]+$" | tail -1 || true)
  secs=$(grep -oE "Done [0-9]+ runs in [0-9]+ second" "$dir/log" | grep -oE "[0-9]+ second" | grep -oE "[0-9]+" | tail -1 || true)
  if [ -z "$secs" ] && [ -n "$rate" ] && [ "$rate" -gt 0 ]; then secs=$(( ${execs:-0} / rate )); fi
  [ -n "$secs" ] || secs="?"
  [ -n "$rate" ] || rate="?"
  corpus=$(find "$dir/corpus" -type f 2>/dev/null | wc -l || true)
  if [ "$status" -eq 0 ]; then
    result=ok
  else
    failed=1
    artifact=$(find "$dir" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'slow-unit-*' \) | head -1 || true)
    result="FAILED (exit $status) ${artifact#"$ROOT"/}"
  fi
  printf '%-22s %12s %10s %8s %9s  %s\n' "fuzz_$t" "${execs:-?}" "$rate" "$secs" "$corpus" "$result"
done
if [ "$failed" -ne 0 ]; then
  echo
  for t in "${TARGETS[@]}"; do
    if [ "$(cat "$RUNS/$t/status" 2>/dev/null || echo 98)" != 0 ]; then
      echo "---- fuzz_$t: end of ${RUNS#"$ROOT"/}/$t/log"
      grep -vE "^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse|RELOAD)" "$RUNS/$t/log" | tail -40
    fi
  done
  echo "fuzz.sh: FAILED"
  exit 1
fi
echo "fuzz.sh: all ${#TARGETS[@]} targets ran ${SECONDS_PER_TARGET} s without a finding"
