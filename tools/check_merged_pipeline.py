#!/usr/bin/env python3
"""A merged folder in transformers' pipeline() against build/bin/predict on the run it came from.

    . .venv/bin/activate
    build/bin/merge --model BASE --adapter RUN --out MERGED
    python tools/check_merged_pipeline.py --run RUN --merged MERGED [--predict build/bin/predict]

The same sentences (a few movie-review lines, or --input FILE with one per line) go through
`predict --run RUN` (the base model with the adapter, adaptgrad's tokenizer) and through
pipeline("text-classification", model=MERGED) (the merged weights, the tokenizer files and the
id2label that merge wrote, as any transformers user would load them). PASS when every label
is the same and every score agrees to within 2e-4 (predict prints 4 decimals). Exit 0 on PASS.
"""

import argparse
import os
import subprocess
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")

SENTENCES = [
    "a gripping, beautifully acted film",
    "a dull, lifeless mess",
    "the plot was truly wonderful .",
    "the cast was awful .",
    "An uneven but often charming comedy, with a few laughs too many.",
    "I wanted to like it; I did not.",
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", required=True, help="train --out folder (adapter run)")
    parser.add_argument("--merged", required=True, help="merge --out folder")
    parser.add_argument("--predict", default="build/bin/predict")
    parser.add_argument("--input", help="sentences, one per line")
    parser.add_argument("--tolerance", type=float, default=2e-4)
    args = parser.parse_args()
    sentences = SENTENCES
    if args.input:
        with open(args.input, encoding="utf-8") as f:
            sentences = [line.rstrip("\n") for line in f if line.strip()]

    out = subprocess.run([args.predict, "--run", args.run, "--threads", "1"], input="\n".join(sentences) + "\n",
                         capture_output=True, text=True, check=True).stdout
    ours = [(line.split("\t")[0], float(line.split("\t")[1])) for line in out.splitlines()]
    assert len(ours) == len(sentences), out

    from transformers import pipeline  # imported late: slow

    classify = pipeline("text-classification", model=args.merged, device="cpu")
    theirs = [(r["label"], r["score"]) for r in classify(sentences)]

    ok = True
    print(f"{'predict':>22} {'pipeline':>22}  sentence")
    for s, (la, sa), (lb, sb) in zip(sentences, ours, theirs):
        same = la == lb and abs(sa - sb) <= args.tolerance
        ok &= same
        print(f"{la:>13} {sa:.4f} {lb:>13} {sb:.4f}  {'' if same else 'MISMATCH  '}{s}")
    print(f"tokenizer: {type(classify.tokenizer).__name__}, vocab {classify.tokenizer.vocab_size}")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
