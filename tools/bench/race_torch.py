#!/usr/bin/env python3
"""The PyTorch + transformers + PEFT side of the race: replays an adaptgrad training run.

    python tools/bench/race_torch.py --run runs/race/quickstart/adaptgrad-0 --threads 2

Reads from the adaptgrad run folder (written by `build/bin/train ... --save-data-order`):
  train_config.json   every setting: method, r, alpha, dropout, targets, lr, epochs, batch,
                      weight decay, warm-up, schedule, clipping, evaluation, max steps, seed
  data_order.jsonl    the split, the token ids and every epoch's batches, in order
and trains the same model folder the same way in PyTorch: PEFT LoraConfig with the same r,
alpha, dropout and target modules, the head (pooler + classifier) trained whole through
modules_to_save, AdamW with the same betas, eps and parameter groups (no decay on biases,
LayerNorm weights and DoRA magnitudes), the same warm-up + decay per optimizer step, global
norm clipping, evaluation on the validation split (the best one restored before the test).
The texts are tokenized here with the model folder's tokenizer and must give adaptgrad's ids.

--precision bf16 (default: the precision the run trained in, from its summary.json, else fp32):
the forward and the loss run inside `with torch.autocast("cpu", dtype=torch.bfloat16):`, in
training and in evaluation, with backward, clipping and AdamW outside on the fp32 weights (what
PyTorch users write for mixed precision on CPU).

Prints one JSON line on stdout (progress on stderr): time per epoch (training steps only, as
adaptgrad's summary.json), examples/s, peak RSS, validation and test accuracy.
"""

import argparse
import json
import math
import os
import resource
import sys
import time

from task_metrics import metric_values


def fail(msg):
    print(f"error: race_torch: {msg}", file=sys.stderr)
    sys.exit(1)


def rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--run", required=True, help="adaptgrad run folder (train --save-data-order)")
    p.add_argument("--model", help="model folder (default: the run's --model)")
    p.add_argument("--threads", type=int, help="threads (default: the run's setting)")
    p.add_argument("--max-steps", type=int, help="cap on optimizer steps (default: the run's)")
    p.add_argument("--attn", default="sdpa", choices=["sdpa", "eager"])
    p.add_argument("--precision", choices=["fp32", "bf16"],
                   help="bf16: torch.autocast around forward + loss (default: the run's)")
    return p.parse_args()


def run_precision(folder):
    """The precision the adaptgrad run trained in (summary.json's resolved one), else fp32."""
    try:
        with open(os.path.join(folder, "summary.json")) as f:
            return json.load(f).get("precision", "fp32")
    except OSError:
        return "fp32"


def autocast_region(torch, precision):
    """The region around forward + loss: autocast to bf16, or nothing for fp32."""
    import contextlib
    if precision == "bf16":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def read_run(folder):
    """(settings, header, splits, epochs) of an adaptgrad run folder."""
    cfg_path = os.path.join(folder, "train_config.json")
    order_path = os.path.join(folder, "data_order.jsonl")
    for path in (cfg_path, order_path):
        if not os.path.isfile(path):
            fail(f"{path}: no such file (run build/bin/train with --save-data-order)")
    with open(cfg_path) as f:
        cfg = json.load(f)
    splits = {"train": [], "validation": [], "test": []}
    epochs = []
    with open(order_path) as f:
        header = json.loads(f.readline())
        for n, line in enumerate(f, start=2):
            rec = json.loads(line)
            if "split" in rec:
                splits[rec["split"]].append(rec)
            elif "batches" in rec:
                epochs.append(rec["batches"])
            else:
                fail(f"{order_path}:{n}: neither an example nor an epoch's batches")
    if {k: len(v) for k, v in splits.items()} != header["sizes"] or len(epochs) != cfg["epochs"]:
        fail(f"{order_path}: truncated (the header promises {header['sizes']} and "
             f"{cfg['epochs']} epochs)")
    return cfg, header, splits, epochs


def check_supported(cfg):
    """Settings this replay implements; anything else would not be the same recipe."""
    wanted = {"grad-accum": 1, "scaling": "alpha-over-r", "init": "kaiming",
              "dora-magnitude": "output", "dora-dropout": "peft", "global-batch-size": 0}
    for key, value in wanted.items():
        if cfg.get(key, value) != value:
            fail(f"train_config.json: {key} {cfg[key]!r} is not replayed (only {value!r})")
    if cfg["method"] not in ("lora", "dora"):
        fail(f"train_config.json: method {cfg['method']!r} is not replayed (lora, dora)")
    if cfg["schedule"] not in ("linear", "cosine", "constant"):
        fail(f"train_config.json: unknown schedule {cfg['schedule']!r}")


def lr_multiplier(step, warmup, total, schedule):
    """adaptgrad's nn::lr_multiplier: linear warm-up, then linear/cosine decay to 0."""
    if step < warmup:
        return step / max(1, warmup)
    if schedule == "constant":
        return 1.0
    progress = (step - warmup) / max(1, total - warmup)
    if schedule == "linear":
        return max(0.0, 1.0 - progress)
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * progress)))


def tokenize_and_check(tokenizer, splits, max_length):
    """Tokenizes every text here and checks the ids are the ones adaptgrad trained on."""
    for name, rows in splits.items():
        texts = [r["text"] for r in rows]
        pairs = [r["text_pair"] for r in rows]
        enc = tokenizer(texts, pairs if any(pairs) else None, truncation=True,
                        max_length=max_length)
        for i, r in enumerate(rows):
            if enc["input_ids"][i] != r["input_ids"]:
                fail(f"{name} example {i} ({r['text'][:60]!r}) tokenizes to "
                     f"{enc['input_ids'][i][:12]}... here, {r['input_ids'][:12]}... in adaptgrad")
            r["token_type_ids"] = enc["token_type_ids"][i]


def make_batch(torch, rows, pad_id, regression=False):
    """Pads to the batch's longest row, as adaptgrad's DataLoader does. A regression's labels
    are floats (transformers then computes MSELoss(logits.squeeze(), labels))."""
    t = max(len(r["input_ids"]) for r in rows)
    ids = torch.full((len(rows), t), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), t), dtype=torch.long)
    types = torch.zeros((len(rows), t), dtype=torch.long)
    for i, r in enumerate(rows):
        n = len(r["input_ids"])
        ids[i, :n] = torch.tensor(r["input_ids"])
        mask[i, :n] = 1
        types[i, :n] = torch.tensor(r["token_type_ids"])
    labels = torch.tensor([r["label"] for r in rows],
                          dtype=torch.float32 if regression else torch.long)
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types, "labels": labels}


def evaluate(torch, model, rows, batch_size, pad_id, precision, task):
    """({metric: value}, mean loss), in length-sorted batches of batch_size (as adaptgrad).
    task: (metric names, regression) from the run's data_order.jsonl header."""
    names, regression = task
    model.eval()
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]["input_ids"]))
    labels, outputs, loss_sum = [], [], 0.0
    with torch.inference_mode(), autocast_region(torch, precision):
        for s in range(0, len(order), batch_size):
            batch = make_batch(torch, [rows[i] for i in order[s:s + batch_size]], pad_id,
                               regression)
            out = model(**batch)
            loss_sum += float(out.loss) * len(batch["labels"])
            labels += batch["labels"].tolist()
            outputs += (out.logits.float().squeeze(-1) if regression
                        else out.logits.argmax(-1)).tolist()
    model.train()
    return metric_values(names, labels, outputs, regression), loss_sum / len(rows)


def param_groups(torch, model, weight_decay):
    """adaptgrad's make_param_groups: no decay on biases, LayerNorm, DoRA magnitudes."""
    no_decay = set()
    for prefix, module in model.named_modules():
        for local, p in module.named_parameters(recurse=False):
            name = f"{prefix}.{local}" if prefix else local
            if isinstance(module, torch.nn.LayerNorm) or local == "bias" \
                    or "lora_magnitude_vector" in name:
                no_decay.add(name)
    decayed, plain = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (plain if name in no_decay else decayed).append(p)
    return [{"params": decayed, "weight_decay": weight_decay},
            {"params": plain, "weight_decay": 0.0}]


def peft_targets(targets):
    """adaptgrad's --targets switches as BERT module names (module names pass through)."""
    names = {"query": "query", "key": "key", "value": "value",
             "projection": "attention.output.dense"}
    out = [names.get(t, t) for t in targets.split(",") if t]
    if any(t in ("mlp", "head") for t in out):
        fail("--targets mlp/head are not replayed; pass module names instead")
    return out


def blas_info(torch):
    """The BLAS PyTorch was built with and the CPU kernels it dispatches to."""
    config = torch.__config__.show()
    lib = next((l.strip() for l in config.splitlines()
                if "Math Kernel Library" in l or "OpenBLAS" in l), "").lstrip("- ")
    blas = next((l.split("BLAS_INFO=")[1].split(",")[0] for l in config.splitlines()
                 if "BLAS_INFO=" in l), "?")
    return f"{blas} ({lib}); CPU capability {torch.backends.cpu.get_cpu_capability()}"


def check_logits_dtype(torch, out, precision):
    """The classifier is an nn.Linear: inside the autocast region its output is bf16."""
    want = torch.bfloat16 if precision == "bf16" else torch.float32
    if out.logits.dtype != want:
        fail(f"--precision {precision}: the logits are {out.logits.dtype}, expected {want}")


def train_loop(torch, model, opt, sched, trainable, eval_every, clip, total, splits, epochs,
               pad_id, eval_batch, precision, task):
    """adaptgrad's Trainer::run: the batches in their order, one optimizer step each, evaluation
    when due (every eval_every steps, else at each epoch's end, and after the last step), the
    best validation score's (the task's first metric) trainable tensors restored at the end. Only
    the steps are timed."""
    rows, log_every = splits["train"], max(1, len(epochs[0]) // 20)
    step, train_seconds, loss = 0, 0.0, float("nan")
    best = {"acc": -1.0, "step": 0, "epoch": 0.0, "state": None}
    for epoch, batches in enumerate(epochs):
        for b, indices in enumerate(batches):
            if step >= total:
                break
            start = time.perf_counter()
            batch = make_batch(torch, [rows[i] for i in indices], pad_id, task[1])
            with autocast_region(torch, precision):  # forward and loss
                out = model(**batch)
            if step == 0:
                check_logits_dtype(torch, out, precision)
            out.loss.backward()  # outside the region, as torch.amp's docs recommend
            torch.nn.utils.clip_grad_norm_(trainable, clip)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            step += 1
            train_seconds += time.perf_counter() - start
            loss = out.loss.detach().item()
            if step % log_every == 0:
                print(f"pytorch: step {step}/{total} loss {loss:.4f} "
                      f"{step * len(indices) / train_seconds:.1f} ex/s", file=sys.stderr)
            epoch_end = b == len(batches) - 1
            if (step % eval_every == 0 if eval_every > 0 else epoch_end) or step == total:
                scores, val_loss = evaluate(torch, model, splits["validation"], eval_batch,
                                            pad_id, precision, task)
                acc = scores[task[0][0]]  # the first metric picks the best, as adaptgrad
                position = epoch + (b + 1) / len(batches)
                print(f"pytorch: eval epoch {position:.2f} step {step} val_loss {val_loss:.4f} "
                      + " ".join(f"val_{k} {v:.4f}" for k, v in scores.items()), file=sys.stderr)
                if acc > best["acc"] or best["state"] is None:
                    best = {"acc": acc, "step": step, "epoch": position,
                            "state": [p.detach().clone() for p in trainable]}
    with torch.no_grad():
        for p, saved in zip(trainable, best["state"]):
            p.copy_(saved)
    return {"steps": step, "train_seconds": train_seconds, "last_loss": loss, "best": best}


def main():
    a = parse_args()
    cfg, header, splits, epochs = read_run(a.run)
    check_supported(cfg)
    threads = a.threads or cfg["threads"] or os.cpu_count()
    max_steps = cfg["max-steps"] if a.max_steps is None else a.max_steps
    precision = a.precision or run_precision(a.run)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)  # before torch is imported
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import peft
    import torch
    import transformers
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    transformers.logging.set_verbosity_error()
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    rss_import = rss_mib()

    model_dir = a.model or cfg["model"]
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    tokenize_and_check(tokenizer, splits, header["max_length"])
    torch.manual_seed(cfg["seed"])
    # A regression (GLUE's STS-B): one output and problem_type "regression" (MSE loss).
    regression = header.get("problem_type") == "regression"
    task = (header.get("metrics") or ["accuracy"], regression)
    model = AutoModelForSequenceClassification.from_pretrained(
        model_dir, num_labels=len(header["labels"]), attn_implementation=a.attn,
        dtype=torch.float32,
        problem_type="regression" if regression else "single_label_classification")
    lora = LoraConfig(r=cfg["r"], lora_alpha=cfg["alpha"], lora_dropout=cfg["dropout"],
                      target_modules=peft_targets(cfg["targets"]),
                      modules_to_save=["pooler", "classifier"] if cfg["train-head"] else None,
                      use_dora=cfg["method"] == "dora")
    model = get_peft_model(model, lora)
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    n_trainable, n_all = model.get_nb_trainable_parameters()
    print(f"pytorch: trainable params: {n_trainable:,} || all params: {n_all:,}", file=sys.stderr)

    opt = torch.optim.AdamW(param_groups(torch, model, cfg["weight-decay"]), lr=cfg["lr"],
                            betas=(0.9, 0.999), eps=1e-8)
    steps_per_epoch = len(epochs[0])
    total = steps_per_epoch * cfg["epochs"]
    if max_steps > 0:
        total = min(total, max_steps)
    w = cfg["warmup"]
    warmup = math.ceil(w * total) if w < 1 else int(w)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: lr_multiplier(s, warmup, total, cfg["schedule"]))
    clip = cfg["clip"] if cfg["clip"] > 0 else math.inf
    pad_id, eval_batch = tokenizer.pad_token_id, 2 * header["batch_size"]
    print(f"pytorch: {cfg['epochs']} epochs x {steps_per_epoch} steps, {total} steps, "
          f"warm-up {warmup}, threads {threads}, precision {precision}", file=sys.stderr)

    run = train_loop(torch, model, opt, sched, trainable, cfg["eval-every"], clip, total,
                     splits, epochs, pad_id, eval_batch, precision, task)
    step, train_seconds, best = run["steps"], run["train_seconds"], run["best"]
    train_rows = splits["train"]
    test_scores, test_loss = evaluate(torch, model, splits["test"], eval_batch, pad_id,
                                      precision, task) if splits["test"] else ({}, None)
    metric = task[0][0]
    task_keys = {"metric": metric, ("best_val_acc" if metric == "accuracy" else
                                    f"best_val_{metric}"): best["acc"]}
    task_keys.update({("test_acc" if k == "accuracy" else f"test_{k}"): v
                      for k, v in test_scores.items()})
    print(json.dumps({
        "side": "pytorch", "method": cfg["method"], "threads": threads,
        "attn": a.attn, "precision": precision, "steps": step, "steps_per_epoch": steps_per_epoch,
        "seconds_per_epoch": train_seconds * steps_per_epoch / step,
        "train_seconds": train_seconds,
        "examples_per_second": step / steps_per_epoch * len(train_rows) / train_seconds,
        "peak_rss_mib": rss_mib(), "rss_after_import_mib": rss_import,
        **task_keys, "best_step": best["step"], "best_epoch": best["epoch"],
        "test_loss": test_loss, "test_examples": len(splits["test"]),
        "last_loss": run["last_loss"], "trainable_params": n_trainable, "all_params": n_all,
        "torch": torch.__version__, "transformers": transformers.__version__,
        "peft": peft.__version__, "blas": blas_info(torch)}), flush=True)


if __name__ == "__main__":
    main()
