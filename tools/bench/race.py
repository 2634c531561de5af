#!/usr/bin/env python3
"""Races build/bin/train against the same recipe in PyTorch + transformers + PEFT.

    python tools/bench/race.py --recipe quickstart --threads 2 --repeats 2
    python tools/bench/race.py --recipe sst2-lora --max-steps 200     # capped timing run
    python tools/bench/race.py --recipe quickstart --precision bf16   # bf16 against autocast
    python tools/bench/race.py --recipe glue-stsb --data GLUE_DIR       # a GLUE task (tools/glue.sh)

Each repeat runs both sides once, in turn (adaptgrad first on even repeats, PyTorch first on
odd ones), each in a fresh process with the same threads. The adaptgrad run writes its split,
token ids and batch order (train --save-data-order), and tools/bench/race_torch.py replays
exactly that run folder: same model folder, data, split, tokenization, batches and order, LoRA
or DoRA settings, AdamW, schedule, head training and evaluation. Prints per side: time per
epoch (training steps only), examples/s, peak RSS, validation and test accuracy with its 95%
(Wilson) interval, then the ratios, the CPU model and the BLAS each side runs.

Recipes (the README's): quickstart = tools/quickstart.sh (all-MiniLM-L6-v2, sentence polarity,
LoRA r 8 alpha 16 dropout 0.05 on query,value + head, 3 epochs, lr 2e-3, batch 16, max length
64, split 0.8/0.1/0.1, seed 42 unless --seed); sst2-lora / sst2-dora = tools/run_sst2_comparison.sh (1 epoch
of SST-2 train.tsv with 5% held out, batch 32, lr 2e-3, evaluation every 500 steps, dev.tsv as
the test set); glue-<task> (cola, sst2, mrpc, qqp, stsb, mnli, qnli, rte, wnli) = tools/glue.sh's
recipe on --data GLUE_DIR (GLUE's folders: MRPC/train.tsv, ...): train --task <task>, 10% of
train.tsv held out for validation, dev.tsv (MNLI: dev_matched.tsv) as the test set, LoRA r 8
alpha 16 dropout 0.05 on query,value + head, 3 epochs, batch 16, lr 2e-3, max length 128. The
task's metric is compared: accuracy (Wilson interval), or for STS-B Pearson's r (Fisher-z
interval); the PyTorch side trains STS-B with problem_type "regression" (MSE loss).

--precision fp32 (default) | bf16: both sides at that precision. train gets `--precision` passed
explicitly (its own default is auto); race_torch.py then runs forward + loss inside
torch.autocast("cpu", dtype=torch.bfloat16) in training and evaluation. The run folder's
summary.json must report the precision asked for, or the race stops.
"""

import argparse
import datetime
import json
import os
import subprocess
import sys
import time

from race_report import machine_info, print_report, test_key

HERE = os.path.dirname(os.path.abspath(__file__))
# GLUE's folder of each task (apps/common/glue_task.cpp), and MNLI's dev file.
GLUE_FOLDERS = {"cola": "CoLA", "sst2": "SST-2", "mrpc": "MRPC", "qqp": "QQP", "stsb": "STS-B",
                "mnli": "MNLI", "qnli": "QNLI", "rte": "RTE", "wnli": "WNLI"}
ROOT = os.path.dirname(os.path.dirname(HERE))
ADAPTER = ["--r", "8", "--alpha", "16", "--dropout", "0.05", "--targets", "query,value",
           "--max-length", "64", "--lr", "2e-3"]


def recipe_args(recipe, data, seed=42):
    adapter = ADAPTER + ["--seed", str(seed)]
    if recipe == "quickstart":
        return ["--data", data, "--format", "polarity", "--split", "0.8,0.1,0.1",
                "--method", "lora", "--epochs", "3", "--batch-size", "16"] + adapter
    if recipe.startswith("glue-"):
        return glue_args(recipe[len("glue-"):], data) + ["--seed", str(seed)]
    method = recipe.split("-")[1]
    return ["--train", os.path.join(data, "train.tsv"), "--test", os.path.join(data, "dev.tsv"),
            "--val-split", "0.05", "--method", method, "--epochs", "1", "--batch-size", "32",
            "--eval-every", "500"] + adapter


def glue_dev_file(task):
    return "dev_matched.tsv" if task == "mnli" else "dev.tsv"


def glue_args(task, glue_dir):
    """tools/glue.sh's recipe for one task (keep the two in step)."""
    folder = os.path.join(glue_dir, GLUE_FOLDERS[task])
    return ["--task", task, "--train", os.path.join(folder, "train.tsv"),
            "--test", os.path.join(folder, glue_dev_file(task)), "--val-split", "0.1",
            "--skip-bad-rows", "--method", "lora", "--epochs", "3", "--batch-size", "16",
            "--r", "8", "--alpha", "16", "--dropout", "0.05", "--targets", "query,value",
            "--max-length", "128", "--lr", "2e-3"]


def default_model():
    for dirpath, _, files in os.walk(os.path.join(ROOT, "runs", "cache", "minilm")):
        if {"model.safetensors", "config.json", "vocab.txt"} <= set(files):
            return dirpath
    return None


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--recipe", choices=["quickstart", "sst2-lora", "sst2-dora"]
                   + ["glue-" + t for t in GLUE_FOLDERS],
                   default="quickstart")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--max-steps", type=int, default=0, help="cap on optimizer steps (0: all)")
    p.add_argument("--seed", type=int, default=42,
                   help="the recipe's seed (split, order, initialisation, dropout; both sides)")
    p.add_argument("--model", default=default_model(),
                   help="all-MiniLM-L6-v2 folder (default: the one tools/quickstart.sh unpacked)")
    p.add_argument("--data", help="quickstart: the polarity CSV (default: tools/quickstart.sh's);"
                   " sst2-*: the folder with train.tsv and dev.tsv in GLUE's SST-2 format (default:"
                   " runs/data/sst2)")
    p.add_argument("--train-bin", default=os.path.join(ROOT, "build", "bin", "train"))
    p.add_argument("--python", default=sys.executable, help="python with torch, transformers, peft")
    p.add_argument("--attn", default="sdpa", choices=["sdpa", "eager"], help="PyTorch attention")
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16"],
                   help="both sides: train --precision, and PyTorch autocast bf16 (default fp32)")
    p.add_argument("--out", default=os.path.join(ROOT, "runs", "race"))
    a = p.parse_args()
    if a.data is None:
        a.data = os.path.join("runs", "data", "polarity", "pang_lee_sentence_polarity.csv") \
            if a.recipe == "quickstart" else os.path.join("runs", "data", "glue") \
            if a.recipe.startswith("glue-") else os.path.join("runs", "data", "sst2")
        a.data = os.path.normpath(os.path.join(ROOT, a.data))
    problems = []
    if not a.model or not os.path.isfile(os.path.join(a.model, "model.safetensors")):
        problems.append("no all-MiniLM-L6-v2 folder: run tools/quickstart.sh first or pass --model")
    need = a.data if a.recipe == "quickstart" else os.path.join(a.data, "train.tsv")
    if a.recipe.startswith("glue-"):
        need = os.path.join(a.data, GLUE_FOLDERS[a.recipe[len("glue-"):]], "train.tsv")
    if not os.path.isfile(need):
        problems.append(f"{need}: no such file (pass --data)")
    if not os.access(a.train_bin, os.X_OK):
        problems.append(f"{a.train_bin}: not built (cmake --build build --target train)")
    if a.repeats < 1 or a.threads < 1:
        problems.append("--repeats and --threads must be at least 1")
    if problems:
        sys.exit("error: race: " + "; ".join(problems))
    return a


def run_logged(cmd, log_path):
    """Runs cmd with its output streamed to log_path; returns (the output, seconds)."""
    start = time.time()
    with open(log_path, "w") as log:
        r = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    if r.returncode != 0:
        sys.exit(f"error: race: {' '.join(cmd[:2])} failed (exit {r.returncode}); see {log_path}")
    with open(log_path) as log:
        return log.read(), time.time() - start


def run_adaptgrad(a, folder):
    cmd = [a.train_bin, "--model", a.model] + recipe_args(a.recipe, a.data, a.seed) + [
        "--threads", str(a.threads), "--max-steps", str(a.max_steps), "--quiet-params",
        "--precision", a.precision, "--save-data-order", "--out", folder]
    summary = os.path.join(folder, "summary.json")
    if os.path.exists(summary):
        os.remove(summary)
    _, wall = run_logged(cmd, folder + ".log")
    with open(summary) as f:
        rec = json.load(f)
    if rec.get("precision", "fp32") != a.precision:
        sys.exit(f"error: race: {summary}: precision {rec.get('precision')!r}, asked for "
                 f"{a.precision!r}")
    with open(os.path.join(folder, "metrics.jsonl")) as f:
        test = [json.loads(l) for l in f if '"event":"test"' in l.replace(" ", "")]
    rec.update(side="adaptgrad", process_seconds=wall,
               test_examples=test[-1]["test_examples"] if test else 0)
    return rec


def run_pytorch(a, ag_folder, log_path):
    cmd = [a.python, os.path.join(HERE, "race_torch.py"), "--run", ag_folder, "--model", a.model,
           "--threads", str(a.threads), "--max-steps", str(a.max_steps), "--attn", a.attn,
           "--precision", a.precision]
    out, wall = run_logged(cmd, log_path)
    line = next(l for l in reversed(out.splitlines()) if l.startswith("{"))
    rec = json.loads(line)
    rec["process_seconds"] = wall
    return rec


def main():
    a = parse_args()
    out = os.path.join(a.out, a.recipe)
    os.makedirs(out, exist_ok=True)
    started = datetime.datetime.now().astimezone()
    load_before = os.getloadavg()
    runs = {"adaptgrad": [], "pytorch": []}
    ag_folder = None
    with open(os.path.join(out, "race.jsonl"), "a") as raw:
        for r in range(a.repeats):
            sides = ["adaptgrad", "pytorch"] if r % 2 == 0 else ["pytorch", "adaptgrad"]
            for side in sides:
                print(f"[repeat {r + 1}/{a.repeats}] {side} ...", file=sys.stderr, flush=True)
                if side == "adaptgrad":
                    ag_folder = os.path.join(out, f"adaptgrad-{r}")
                    rec = run_adaptgrad(a, ag_folder)
                else:  # repeat 0 starts with adaptgrad; every run folder has the same order
                    rec = run_pytorch(a, ag_folder, os.path.join(out, f"pytorch-{r}.log"))
                rec["repeat"] = r
                runs[side].append(rec)
                raw.write(json.dumps(rec) + "\n")
                print(f"  {side}: {rec['seconds_per_epoch']:.1f} s/epoch, "
                      f"{rec['examples_per_second']:.1f} ex/s, {rec['peak_rss_mib']:.0f} MiB, "
                      f"test {rec.get('metric', 'accuracy')} "
                      f"{rec.get(test_key(rec.get('metric', 'accuracy')))}",
                      file=sys.stderr, flush=True)
    info = machine_info(a.train_bin, a.python)
    info.update(started=started.strftime("%Y-%m-%d %H:%M %Z"),
                load=f"{' '.join(f'{x:.2f}' for x in load_before)} / "
                     f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print_report(a, runs, info, os.path.join(out, "race.jsonl"))


if __name__ == "__main__":
    main()
