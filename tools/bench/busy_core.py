#!/usr/bin/env python3
"""The main job on a machine another program keeps busy: train's default thread count against
fixed ones.

    python tools/bench/busy_core.py --steps 150 --repeats 2

Runs the quick start recipe (tools/bench/race.py's "quickstart", capped at --steps optimizer
steps) in three situations:
  quiet     nothing else runs;
  busy      `yes > /dev/null` (one process, one core's worth) runs from before the start;
  busy-mid  the same `yes` starts --mid-seconds after train starts, so that the default has to
            notice it between steps;
each with the default thread count (no --threads: one per core other processes leave free)
and with --threads 1 and --threads <all cores>, alternating the order on every repeat. Prints
examples/s (training steps only, from summary.json) per run, the thread counts the default
chose, and default / best fixed count. Use the environment of the runs you want to describe
(e.g. `env -u OPENBLAS_CORETYPE` for the library's own kernels).
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import threading

from race import default_model, recipe_args

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=150, help="optimizer steps per run")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--mid-seconds", type=float, default=6.0,
                   help="busy-mid: when the busy process starts, after train starts")
    p.add_argument("--situations", default="quiet,busy,busy-mid")
    p.add_argument("--model", default=default_model())
    p.add_argument("--data", default=os.path.join(ROOT, "runs", "data", "polarity",
                                                  "pang_lee_sentence_polarity.csv"))
    p.add_argument("--train-bin", default=os.path.join(ROOT, "build", "bin", "train"))
    p.add_argument("--out", default=os.path.join(ROOT, "runs", "busy_core"))
    a = p.parse_args()
    if not a.model or not os.path.isfile(a.data):
        sys.exit("error: busy_core: run tools/quickstart.sh first (model and data) or pass "
                 "--model and --data")
    if not os.access(a.train_bin, os.X_OK):
        sys.exit(f"error: busy_core: {a.train_bin}: not built")
    return a


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def run_train(a, threads, situation, folder):
    """One capped run; returns its summary.json with the log's thread lines."""
    cmd = [a.train_bin, "--model", a.model] + recipe_args("quickstart", a.data) + [
        "--max-steps", str(a.steps), "--quiet-params", "--overwrite", "--out", folder]
    if threads != "default":
        cmd += ["--threads", threads]
    busy, timer = [], None
    start_busy = lambda: busy.append(subprocess.Popen(["yes"], stdout=subprocess.DEVNULL))
    if situation == "busy":
        start_busy()
    elif situation == "busy-mid":
        timer = threading.Timer(a.mid_seconds, start_busy)
        timer.start()
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    finally:
        if timer:
            timer.cancel()
        for b in busy:
            b.kill()
            b.wait()
    if out.returncode != 0:
        sys.exit(f"error: busy_core: train failed (exit {out.returncode}): {out.stderr.strip()}")
    with open(os.path.join(folder, "summary.json")) as f:
        rec = json.load(f)
    rec["thread_lines"] = [l for l in out.stdout.splitlines() if l.startswith("threads:")]
    return rec


def main():
    a = parse_args()
    cores = len(os.sched_getaffinity(0))
    counts = ["default", "1", str(cores)]
    situations = a.situations.split(",")
    results = {(s, t): [] for s in situations for t in counts}
    for r in range(a.repeats):
        for s in situations:
            for t in (counts if r % 2 == 0 else counts[::-1]):
                rec = run_train(a, t, s, os.path.join(a.out, f"{s}-{t}-{r}"))
                results[(s, t)].append(rec)
                print(f"[{r + 1}/{a.repeats}] {s:8} threads {t:7} "
                      f"{rec['examples_per_second']:6.1f} ex/s  "
                      f"{' | '.join(rec['thread_lines'])}", file=sys.stderr, flush=True)
    print(f"\n{cpu_model()}, {cores} cores; quick start recipe, {a.steps} steps; examples/s "
          f"per run (training steps only)\n")
    print(f"| situation | default (threads chosen) | --threads 1 | --threads {cores} "
          f"| default / best fixed |")
    print("|---|---|---|---|---:|")
    for s in situations:
        cells, medians = [], {}
        for t in counts:
            recs = results[(s, t)]
            speeds = [x["examples_per_second"] for x in recs]
            medians[t] = statistics.median(speeds)
            text = ", ".join(f"{v:.0f}" for v in speeds)
            if t == "default":
                chosen = []
                for x in recs:
                    path = [str(x["threads_at_start"])] + [str(c["threads"])
                                                           for c in x["thread_changes"]]
                    chosen.append("->".join(path))
                text += f" ({', '.join(chosen)})"
            cells.append(text)
        ratio = medians["default"] / max(medians["1"], medians[str(cores)])
        print(f"| {s} | {' | '.join(cells)} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
