"""The race's report: machine and BLAS description, per-side table, ratios and targets."""

import ctypes
import math
import os
import platform
import statistics
import subprocess


def wilson_interval(correct, n, z=1.96):
    """95% Wilson score interval of a binomial proportion correct / n."""
    if n == 0:
        return (0.0, 1.0)
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - half, centre + half)


def openblas_of(binary):
    """The OpenBLAS `binary` links, loaded here with the same environment: its configuration
    and the kernel family it picks on this CPU (OPENBLAS_CORETYPE is honoured)."""
    try:
        ldd = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
        path = next(l.split("=>")[1].split()[0] for l in ldd.splitlines() if "blas" in l)
        lib = ctypes.CDLL(path)
        lib.openblas_get_corename.restype = ctypes.c_char_p
        lib.openblas_get_config.restype = ctypes.c_char_p
        return (f"{lib.openblas_get_config().decode()}, kernels "
                f"{lib.openblas_get_corename().decode()} ({path})")
    except (OSError, StopIteration, IndexError, AttributeError) as e:
        return f"unknown ({e})"


def mkl_of(python):
    """MKL's own first verbose line in `python`'s torch: its version and the code path it takes
    on this CPU (e.g. "Intel(R) AVX-512 ... enabled processors" or a generic one)."""
    r = subprocess.run([python, "-c", "import torch; torch.ones(64, 64) @ torch.ones(64, 64)"],
                       capture_output=True, text=True, env={**os.environ, "MKL_VERBOSE": "1"})
    line = next((l for l in r.stdout.splitlines() if l.startswith("MKL_VERBOSE oneMKL")), "")
    return line.replace("MKL_VERBOSE ", "") or "no MKL verbose line"


def machine_info(train_bin, python):
    kv = {}
    for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            kv[k.strip()] = v.strip()
    flags = kv.get("Flags", "").split()
    isa = next((f for f in ("avx512f", "avx2", "avx") if f in flags), "no AVX")
    return {"cpu": f"{kv.get('Model name', '?')} ({kv.get('CPU(s)', '?')} logical CPUs, {isa})",
            "os": f"{platform.system()} {platform.release()}",
            "openblas": openblas_of(train_bin), "mkl": mkl_of(python)}


def median(recs, key):
    vals = [r[key] for r in recs if isinstance(r.get(key), (int, float))]
    return statistics.median(vals) if vals else None


def test_key(metric):
    """summary.json's key of a test metric: test_acc for accuracy, else test_<metric>."""
    return "test_acc" if metric == "accuracy" else f"test_{metric}"


def best_key(metric):
    return "best_val_acc" if metric == "accuracy" else f"best_val_{metric}"


def fisher_interval(r, n):
    """95% interval of a correlation r over n pairs: tanh(atanh(r) +- 1.96 / sqrt(n - 3))."""
    z, se = math.atanh(max(-0.999999, min(0.999999, r))), 1.96 / math.sqrt(n - 3)
    return math.tanh(z - se), math.tanh(z + se)


def accuracy_cell(rec):
    """The test metric with its 95% interval: Wilson for accuracy, Fisher-z for a correlation
    (STS-B's Pearson); Matthews and F1 are shown without one."""
    metric = rec.get("metric", "accuracy")
    acc, n = rec.get(test_key(metric)), rec.get("test_examples") or 0
    if acc is None or not n:
        return "n/a", None
    if metric in ("pearson", "spearman") and n > 3:
        lo, hi = fisher_interval(acc, n)
        return f"{acc:.4f} [{lo:.3f}, {hi:.3f}] of {n}", (lo, hi)
    if metric != "accuracy":
        return f"{acc:.4f} of {n}", None
    lo, hi = wilson_interval(round(acc * n), n)
    return f"{100 * acc:.2f}% [{100 * lo:.1f}, {100 * hi:.1f}] of {n}", (lo, hi)


def print_report(a, runs, info, raw_path):
    P = print
    ag, pt = runs["adaptgrad"], runs["pytorch"]
    P(f"## Race: {a.recipe}, adaptgrad vs PyTorch + transformers + PEFT")
    P()
    P(f"- date: {info['started']}; load average before / after: {info['load']}")
    P(f"- machine: {info['cpu']}; {info['os']}")
    P(f"- precision {a.precision} on both sides"
      + (" (adaptgrad: bf16 copies of the linear layers' weights and bf16 attention products, "
         "oneDNN; PyTorch: "
         "torch.autocast bf16 around forward + loss)" if a.precision == "bf16" else ""))
    P(f"- threads {a.threads}, repeats {a.repeats} (alternating, fresh process each), "
      + (f"capped at {a.max_steps} steps" if a.max_steps else "full epochs")
      + f"; model {a.model}; data {a.data}")
    blas_ag = next((f"{k}: {v}" for k, v in ag[0].items() if "blas" in k.lower()), None)
    P(f"- adaptgrad BLAS: {blas_ag or info['openblas']}; threads {ag[0].get('threads')}")
    P(f"- PyTorch side: torch {pt[0]['torch']}, transformers {pt[0]['transformers']}, "
      f"peft {pt[0]['peft']}, attention {a.attn}; BLAS {pt[0]['blas']}; {info['mkl']}")
    P(f"- trainable params: adaptgrad {ag[0]['trainable_params']:,}, "
      f"PyTorch {pt[0]['trainable_params']:,}")
    P()
    metric = ag[0].get("metric", "accuracy")
    percent = metric == "accuracy"
    P(f"| side | repeat | time/epoch (s) | examples/s | peak RSS (MiB) | steps | best val {metric} "
      f"| test {metric} [95% interval] |")
    P("|---|---:|---:|---:|---:|---:|---:|---|")
    for side, recs in (("adaptgrad", ag), ("PyTorch+PEFT", pt)):
        for r in recs:
            P(f"| {side} | {r['repeat'] + 1} | {r['seconds_per_epoch']:.1f} "
              f"| {r['examples_per_second']:.1f} | {r['peak_rss_mib']:.0f} | {r['steps']} "
              + (f"| {100 * r[best_key(metric)]:.2f}% " if percent
                 else f"| {r[best_key(metric)]:.4f} ")
              + f"| {accuracy_cell(r)[0]} |")
    P()
    t_ag, t_pt = median(ag, "seconds_per_epoch"), median(pt, "seconds_per_epoch")
    m_ag, m_pt = median(ag, "peak_rss_mib"), median(pt, "peak_rss_mib")
    speed = t_pt / t_ag
    P(f"Medians: time/epoch adaptgrad {t_ag:.1f} s, PyTorch {t_pt:.1f} s: **{speed:.2f}x**; "
      f"peak RSS {m_ag:.0f} / {m_pt:.0f} MiB = {m_ag / m_pt:.2f}")
    P(f"- time per epoch at least 2x PyTorch + PEFT: {speed:.2f}x — "
      f"{'PASS' if speed >= 2 else 'MISS'}")
    ag_acc, (lo, hi) = ag[0].get(test_key(metric)), accuracy_cell(pt[0])[1] or (None, None)
    if ag_acc is not None and lo is not None:
        verdict = "PASS" if lo <= ag_acc <= hi else \
            "MISS (above)" if ag_acc > hi else "MISS (below)"
        value, interval = (f"{100 * ag_acc:.2f}%", f"[{100 * lo:.1f}, {100 * hi:.1f}]") \
            if percent else (f"{ag_acc:.4f}", f"[{lo:.3f}, {hi:.3f}]")
        P(f"- adaptgrad test {metric} {value} within PyTorch's 95% interval {interval}: {verdict}"
          + (f" (after {a.max_steps} steps, not the recipe's accuracy)" if a.max_steps else ""))
    P()
    P(f"Raw JSON lines: {raw_path}; logs and run folders next to it.")
