#!/usr/bin/env python3
"""Run the adaptgrad and PyTorch+PEFT benchmarks alternately and print a markdown table.

    . .venv/bin/activate
    python tools/bench/compare.py                      # everything (methods x shapes x threads 1,2)
    python tools/bench/compare.py --methods lora,dora --shapes fixed --threads 2 --repeats 3
    python tools/bench/compare.py --methods lora,dora --shapes fixed --precision both

Every measurement is a fresh subprocess (so peak RSS belongs to one configuration).
For each configuration the sides run alternately: adaptgrad, pytorch eager, pytorch sdpa
(order reversed on odd repeats).  With --repeats R each numeric field is the median over
the R runs.  All raw JSON lines go to --out.

--precision fp32 (default) | bf16 | both: both sides run at that precision (adaptgrad
`--precision bf16` = bf16 copies of the linear weights; PyTorch = torch.autocast bf16 around
forward + loss), so every row compares fp32 with fp32 or bf16 with bf16.  With `both` each
configuration runs fp32 then bf16 back to back, and a table of each side's bf16/fp32
speed-up follows the main one.

If build/bin/bench does not exist only the PyTorch columns are filled.  --fake-adaptgrad
fills the adaptgrad columns with the PyTorch (eager) numbers to exercise the table.
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TORCH_BENCH = os.path.join(HERE, "bench_torch.py")
NUMERIC = ("ms_per_step", "tokens_per_s", "padded_tokens_per_s", "model_gflops",
           "sgemm_gflops", "flops_ratio", "peak_rss_mib", "bf16_gemm_gflops",
           "flops_ratio_bf16_gemm")
ADAPTER_METHODS = ("lora", "dora", "dora-branch")


def csv(s):
    return [x for x in s.split(",") if x]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--methods", type=csv, default=["lora", "dora", "dora-branch", "full", "infer"])
    p.add_argument("--shapes", type=csv, default=["fixed", "mixed"])
    p.add_argument("--threads", type=lambda s: [int(x) for x in csv(s)], default=[1, 2])
    p.add_argument("--attn", type=csv, default=["eager", "sdpa"],
                   help="PyTorch attention variants to run (default eager,sdpa)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--steps-full", type=int, default=None,
                   help="--steps for --method full (default: same as --steps)")
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--bench", default=os.path.join(ROOT, "build", "bin", "bench"),
                   help="adaptgrad bench binary (default build/bin/bench)")
    p.add_argument("--python", default=sys.executable, help="python for bench_torch.py")
    p.add_argument("--fake-adaptgrad", action="store_true",
                   help="use the PyTorch eager numbers as adaptgrad's (tests the table)")
    p.add_argument("--out", default="results.jsonl", help="raw JSON lines (appended per run)")
    p.add_argument("--timeout", type=float, default=1800, help="seconds per subprocess")
    p.add_argument("--extra-torch-args", default="", help="extra args for bench_torch.py")
    p.add_argument("--precision", choices=["fp32", "bf16", "both"], default="fp32",
                   help="precision of both sides (default fp32; both: fp32 and bf16 runs)")
    a = p.parse_args()
    a.precisions = ["fp32", "bf16"] if a.precision == "both" else [a.precision]
    for m in a.methods:
        if m not in ("lora", "dora", "dora-branch", "full", "infer"):
            p.error(f"unknown method {m}")
    for s in a.shapes:
        if s not in ("fixed", "mixed"):
            p.error(f"unknown shape {s}")
    for t in a.attn:
        if t not in ("eager", "sdpa"):
            p.error(f"unknown attn {t}")
    return a


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run_json(cmd, env, timeout, precision):
    t0 = time.time()
    try:
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        log(f"  TIMEOUT after {timeout}s: {' '.join(cmd)}")
        return None
    line = next((l for l in reversed(r.stdout.splitlines()) if l.startswith("{")), None)
    if r.returncode != 0 or line is None:
        log(f"  FAILED (rc={r.returncode}): {' '.join(cmd)}")
        log("  stderr tail: " + "\n  ".join(r.stderr.strip().splitlines()[-15:]))
        return None
    rec = json.loads(line)
    ran = rec.get("precision", "fp32")  # a JSON line without the key comes from an fp32-only build
    if ran != precision:
        log(f"  FAILED: asked for {precision}, the JSON line says {ran}: {' '.join(cmd)}")
        return None
    log(f"  {rec.get('side')}/{rec.get('attn', '-')}: {rec['ms_per_step']:.1f} ms/step, "
        f"{rec['peak_rss_mib']:.0f} MiB  ({time.time() - t0:.0f}s wall)")
    return rec


def median_rec(recs):
    recs = [r for r in recs if r]
    if not recs:
        return None
    out = dict(recs[-1])
    for k in NUMERIC:
        vals = [r[k] for r in recs if isinstance(r.get(k), (int, float))]
        if vals:
            out[k] = statistics.median(vals)
    out["repeats"] = len(recs)
    return out


def machine_info():
    model = cores = "?"
    try:
        txt = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        kv = {}
        for l in txt.splitlines():
            if ":" in l:
                k, v = l.split(":", 1)
                kv[k.strip()] = v.strip()
        model = kv.get("Model name", "?")
        cps, sockets = kv.get("Core(s) per socket"), kv.get("Socket(s)")
        cores = f"{int(cps) * int(sockets)} cores" if cps and sockets else f"{kv.get('CPU(s)', '?')} CPUs"
        cores += f", {kv.get('CPU(s)', '?')} logical CPUs"
        flags = kv.get("Flags", "").split()
        isa = "avx512f" if "avx512f" in flags else ("avx2" if "avx2" in flags else "")
        if isa:
            cores += f", {isa}"
    except OSError:
        pass
    return model, cores


def loadavg():
    try:
        return open("/proc/loadavg").read().split()[:3]
    except OSError:
        return ["?"]


def fmt(x, spec="{:.1f}"):
    return "n/a" if x is None else spec.format(x)


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def get(rec, key):
    return None if rec is None else rec.get(key)


def pct(rec, key):
    return None if rec is None or rec.get(key) is None else 100 * rec[key]


def run_configs(a, use_ag):
    """Runs every (method, shape, threads, precision); returns
    {(method, shape, threads, precision): {"adaptgrad": rec, "eager": rec, "sdpa": rec}}."""
    configs = [(m, s, t, p) for m in a.methods for s in a.shapes for t in a.threads
               for p in a.precisions]
    results = {}
    out = open(a.out, "a") if a.out else None
    for i, (m, s, t, p) in enumerate(configs):
        steps = a.steps_full if (m == "full" and a.steps_full) else a.steps
        flags = ["--shape", s, "--threads", str(t), "--warmup", str(a.warmup),
                 "--steps", str(steps), "--precision", p]
        # dora-branch: adaptgrad's DoRA with dropout on the low-rank branch alone, against
        # PEFT's DoRA (which has no such option).
        ag_method = ["--method", "dora", "--dora-dropout", "branch"] if m == "dora-branch" \
            else ["--method", m]
        pt_method = ["--method", "dora" if m == "dora-branch" else m]
        env = dict(os.environ, OMP_NUM_THREADS=str(t), OPENBLAS_NUM_THREADS=str(t),
                   MKL_NUM_THREADS=str(t), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
        log(f"[{i + 1}/{len(configs)}] {m} {s} threads={t} {p} steps={steps}")
        jobs = []
        if use_ag:
            jobs.append(("adaptgrad", [a.bench] + ag_method + flags))
        for at in a.attn:
            jobs.append((at, [a.python, TORCH_BENCH] + pt_method + flags + ["--attn", at]
                         + a.extra_torch_args.split()))
        runs = {k: [] for k, _ in jobs}
        for r in range(a.repeats):
            order = jobs if r % 2 == 0 else list(reversed(jobs))
            for key, cmd in order:
                rec = run_json(cmd, env, a.timeout, p)
                if rec is not None:
                    rec["repeat"] = r
                    runs[key].append(rec)
                    if out:
                        out.write(json.dumps(rec) + "\n")
                        out.flush()
        results[(m, s, t, p)] = {k: median_rec(v) for k, v in runs.items()}
        if a.fake_adaptgrad:
            base = results[(m, s, t, p)].get(a.attn[0])
            if base:
                fake = dict(base, side="adaptgrad (fake = pytorch %s)" % a.attn[0])
                results[(m, s, t, p)]["adaptgrad"] = fake
    if out:
        out.close()
    return results


def print_main_table(a, results):
    bf16 = "bf16" in a.precisions
    P = print
    P("| config | precision | attn (pytorch) | adaptgrad ms/step | pytorch ms/step "
      "| speed ratio (pt/ag) | adaptgrad RSS MiB | pytorch RSS MiB | RSS ratio (ag/pt) "
      "| adaptgrad FLOP/s % sgemm | pytorch FLOP/s % sgemm "
      + ("| adaptgrad FLOP/s % bf16 GEMM | pytorch FLOP/s % bf16 GEMM " if bf16 else "")
      + "| pytorch tokens/s |")
    P("|---|---|---|" + "---:|" * (11 if bf16 else 9))
    for (m, s, t, p), res in results.items():
        ag = res.get("adaptgrad")
        for at in a.attn:
            pt = res.get(at)
            if pt is None and ag is None:
                continue
            P(f"| {m} {s} t{t} | {p} | {at} | {fmt(get(ag, 'ms_per_step'))} "
              f"| {fmt(get(pt, 'ms_per_step'))} "
              f"| {fmt(ratio(get(pt, 'ms_per_step'), get(ag, 'ms_per_step')), '{:.2f}x')} "
              f"| {fmt(get(ag, 'peak_rss_mib'), '{:.0f}')} | {fmt(get(pt, 'peak_rss_mib'), '{:.0f}')} "
              f"| {fmt(ratio(get(ag, 'peak_rss_mib'), get(pt, 'peak_rss_mib')), '{:.2f}')} "
              f"| {fmt(pct(ag, 'flops_ratio'), '{:.0f}%')} "
              f"| {fmt(pct(pt, 'flops_ratio'), '{:.0f}%')} "
              + (f"| {fmt(pct(ag, 'flops_ratio_bf16_gemm'), '{:.0f}%')} "
                 f"| {fmt(pct(pt, 'flops_ratio_bf16_gemm'), '{:.0f}%')} " if bf16 else "")
              + f"| {fmt(get(pt, 'tokens_per_s'), '{:.0f}')} |")
    P()


def print_dora_over_lora(a, results):
    pairs = [(dm, s, t, p) for dm in ("dora", "dora-branch") for s in a.shapes for t in a.threads
             for p in a.precisions
             if ((dm, s, t, p) in results and ("lora", s, t, p) in results)]
    if not pairs:
        return
    print("| DoRA time / LoRA time | precision | adaptgrad | "
          + " | ".join(f"pytorch {at}" for at in a.attn) + " |")
    print("|---|---|---:|" + "---:|" * len(a.attn))
    for dm, s, t, p in pairs:
        d, l = results[(dm, s, t, p)], results[("lora", s, t, p)]
        cells = [fmt(ratio(get(d.get(side), "ms_per_step"), get(l.get(side), "ms_per_step")),
                     "{:.2f}x") for side in ["adaptgrad"] + a.attn]
        print(f"| {dm} {s} t{t} | {p} | " + " | ".join(cells) + " |")
    print()


def print_bf16_speedup(a, results):
    """Each side's fp32 time / bf16 time of the same configuration (--precision both)."""
    rows = [(m, s, t) for (m, s, t, p) in results if p == "bf16" and (m, s, t, "fp32") in results]
    if not rows:
        return
    print("| bf16 speed-up (fp32 time / bf16 time) | adaptgrad | "
          + " | ".join(f"pytorch {at}" for at in a.attn) + " |")
    print("|---|---:|" + "---:|" * len(a.attn))
    for m, s, t in rows:
        f32, b16 = results[(m, s, t, "fp32")], results[(m, s, t, "bf16")]
        cells = [fmt(ratio(get(f32.get(side), "ms_per_step"), get(b16.get(side), "ms_per_step")),
                     "{:.2f}x") for side in ["adaptgrad"] + a.attn]
        print(f"| {m} {s} t{t} | " + " | ".join(cells) + " |")
    print()


def print_targets(a, results):
    P = print
    P("Targets, against the FASTER PyTorch attention variant of each config (at the same "
      "precision):")
    P()

    def best_pt(res):
        c = [res[k] for k in a.attn if res.get(k)]
        return min(c, key=lambda r: r["ms_per_step"]) if c else None

    def line(name, val, ok):
        P(f"- {name}: {val} — {'PASS' if ok else 'MISS'}")

    for (m, s, t, p), res in results.items():
        ag, pt = res.get("adaptgrad"), best_pt(res)
        if not ag or not pt:
            continue
        sp = pt["ms_per_step"] / ag["ms_per_step"]
        rr = ag["peak_rss_mib"] / pt["peak_rss_mib"]
        if p == "bf16":
            if m not in ADAPTER_METHODS:
                continue
            ag32 = results.get((m, s, t, "fp32"), {}).get("adaptgrad")
            if ag32:
                own = ag32["ms_per_step"] / ag["ms_per_step"]
                line(f"{m} bf16 {s} t{t} speed >= 1.6x adaptgrad fp32", f"{own:.2f}x", own >= 1.6)
            else:
                P(f"- {m} bf16 {s} t{t} speed >= 1.6x adaptgrad fp32: n/a "
                  "(needs --precision both)")
            line(f"{m} bf16 {s} t{t} speed >= 1.5x PyTorch bf16 autocast", f"{sp:.2f}x",
                 sp >= 1.5)
            line(f"{m} bf16 {s} t{t} peak RSS <= 0.3x PyTorch bf16", f"{rr:.2f}x", rr <= 0.3)
            continue
        if m == "lora":
            need = 1.5 if t >= 2 else 1.2
            line(f"LoRA {s} t{t} speed >= {need}x", f"{sp:.2f}x", sp >= need)
            line(f"LoRA {s} t{t} peak RSS <= 0.6x", f"{rr:.2f}x", rr <= 0.6)
            if s == "fixed":
                line(f"LoRA fixed t{t} FLOP/s >= 70% of sgemm",
                     f"{100 * ag['flops_ratio']:.0f}%", ag["flops_ratio"] >= 0.7)
        if m == "infer":
            line(f"infer {s} t{t} speed >= 1.3x", f"{sp:.2f}x", sp >= 1.3)
        if m in ("dora", "dora-branch") and ("lora", s, t, p) in results \
                and results[("lora", s, t, p)].get("adaptgrad"):
            dl = ag["ms_per_step"] / results[("lora", s, t, p)]["adaptgrad"]["ms_per_step"]
            line(f"{m}/LoRA {s} t{t} <= 1.05x", f"{dl:.2f}x", dl <= 1.05)
    P()


def main():
    a = parse_args()
    have_bin = os.path.isfile(a.bench) and os.access(a.bench, os.X_OK)
    use_ag = have_bin and not a.fake_adaptgrad
    model, cores = machine_info()
    started = datetime.datetime.now().astimezone()
    la0 = loadavg()
    results = run_configs(a, use_ag)
    la1 = loadavg()

    # ---------------------------------------------------------------- header
    any_pt = next((r[k] for r in results.values() for k in a.attn if r.get(k)), None)
    any_ag = next((r["adaptgrad"] for r in results.values() if r.get("adaptgrad")), None)
    P = print
    P(f"## adaptgrad vs PyTorch + PEFT benchmark")
    P()
    P(f"- date: {started.strftime('%Y-%m-%d %H:%M %Z')}")
    P(f"- machine: {model} ({cores}); {platform.system()} {platform.release()}")
    P(f"- load average before / after: {' '.join(la0)} / {' '.join(la1)} "
      f"(other jobs on the machine make timings noisy)")
    if any_pt:
        P(f"- PyTorch side: torch {any_pt['torch']}, transformers {any_pt['transformers']}, "
          f"peft {any_pt['peft']}, python {any_pt.get('python', '?')}")
    if a.fake_adaptgrad:
        P(f"- adaptgrad side: FAKE (--fake-adaptgrad: PyTorch {a.attn[0]} numbers copied)")
    elif not have_bin:
        P(f"- adaptgrad side: {os.path.relpath(a.bench, ROOT)} not found — PyTorch columns only")
    elif any_ag:
        ver = any_ag.get("version") or any_ag.get("adaptgrad") or ""
        P(f"- adaptgrad side: {os.path.relpath(a.bench, ROOT)} {ver}".rstrip())
    P(f"- warmup {a.warmup}, steps {a.steps}"
      + (f" (full: {a.steps_full})" if a.steps_full else "")
      + f", repeats {a.repeats} (median); ms/step = median step; {' and '.join(a.precisions)}; "
        f"fixed = 16x128 all real, mixed = 32 x U(8..64) padded to batch max")
    if "bf16" in a.precisions:
        P("- bf16: adaptgrad = bf16 copies of the linear layers' weights, their products and "
          "the attention products bf16 x bf16 -> fp32 (oneDNN), adapters, gradients, optimizer "
          "and other ops fp32; "
          "PyTorch = torch.autocast(\"cpu\", dtype=torch.bfloat16) around forward + loss "
          "(every nn.Linear, adapters included, and the matmuls in bf16), backward outside, "
          "fp32 master weights and AdamW. \"% bf16 GEMM\" = model FLOP/s over each side's "
          "bf16 4096x768x768 product")
    P()

    print_main_table(a, results)
    print_dora_over_lora(a, results)
    print_bf16_speedup(a, results)
    if any_ag:
        print_targets(a, results)
    if a.out:
        P(f"Raw JSON lines: {a.out}")


if __name__ == "__main__":
    main()
