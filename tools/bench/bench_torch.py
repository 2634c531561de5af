#!/usr/bin/env python3
"""PyTorch + transformers + PEFT side of the adaptgrad benchmark.

Measures one training step (or one eval forward for --method infer) of
DistilBertForSequenceClassification with distilbert-base-uncased shapes and
random weights, on CPU, and prints ONE JSON line on stdout.

    python tools/bench/bench_torch.py --method lora --shape fixed --threads 2
    python tools/bench/bench_torch.py --method lora --precision bf16

--precision fp32 (default): everything in fp32.  --precision bf16: PyTorch's
mixed precision as users write it: the forward and the loss run inside
`with torch.autocast("cpu", dtype=torch.bfloat16):` (so every nn.Linear,
the LoRA/DoRA adapters' included, and the attention matmuls run bf16 x bf16
-> bf16 through oneDNN), backward outside the region (as the PyTorch docs
recommend), master weights, gradients and the AdamW state fp32, optimizer
unchanged.  The first step asserts that the linear layers' outputs inside the
region really are bfloat16 (float32 with --precision fp32).

Run each configuration in its own fresh process (compare.py does), so that the
peak RSS (ru_maxrss) belongs to that configuration alone.

Nothing is downloaded: the model is built from a config with random weights and
HF_HUB_OFFLINE=1 is forced.

------------------------------------------------------------------------------
Batches (identical on both sides of the benchmark)
------------------------------------------------------------------------------
All batches come from one splitmix64 stream seeded with --seed (default 1234),
one batch per step (warm-up steps first, then timed steps), drawn in this order:
  * --shape mixed only: B=32 lengths, len_b = 8 + (x % 57)  (uniform in 8..64);
    the batch is padded to T = max_b len_b.
    --shape fixed: B=16, every len_b = T = 128 (no padding).
  * token ids, row-major over real positions only: id = 1 + (x % 30521)
    (pad id 0 fills the rest; attention_mask is 1 on real tokens, 0 on pads)
  * labels, one per row: label = x % 2
splitmix64:  state += 0x9E3779B97F4A7C15;  z = state;
             z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
             z = (z ^ (z >> 27)) * 0x94D049BB133111EB;  x = z ^ (z >> 31)
(all mod 2^64). Batches are built before timing starts.

------------------------------------------------------------------------------
Model FLOPs (the formula, identical on both sides)
------------------------------------------------------------------------------
Only GEMM FLOPs are counted, on PADDED tokens.  B = batch rows, T = padded
length, M = B*T, d = 768, f = 3072, L = 6 layers, r = 8, 2 labels.
GEMM(m,k,n) = 2*m*k*n.

Forward, per layer:
  q_lin, k_lin, v_lin, out_lin     4 * GEMM(M, d, d)
  ffn lin1, lin2                   GEMM(M, d, f) + GEMM(M, f, d)
  attention scores Q K^T           2*B*T*T*d   (= sum over 12 heads of GEMM(T,64,T))
  attention P V                    2*B*T*T*d
  LoRA (lora/dora), q and v each   GEMM(M, d, r) + GEMM(M, r, d)
  DoRA weight norm, q and v each   GEMM(d, r, d)   (the B·A product, once per step)
Head (on the B [CLS] rows): pre_classifier GEMM(B, d, d), classifier GEMM(B, d, 2).
Infer (merged adapters) = forward of the plain model (no LoRA terms).

Backward: for every GEMM  Y = X·W
  + 1x its forward FLOPs for dX   if X requires grad (something trainable below it),
  + 1x its forward FLOPs for dW   if W is trainable.
So a frozen linear costs 1x forward, a trainable one 2x, and a frozen linear
whose input does not require grad costs 0 (no graph node is needed).  The
attention products are treated the same way per operand (Q, K, V, P).
Which inputs require grad:
  full:       everything (embeddings are trainable).
  lora/dora:  only the adapters (and DoRA magnitudes) train, so the input of
              layer 0 (embedding output) does NOT require grad: in layer 0 the
              frozen q/k/v GEMMs and dK cost nothing in backward, lora_A costs
              only its dW, Q and V (through the adapters) do require grad.
              Layers 1..5 and the head: every GEMM's dX is counted.
  The DoRA weight norm is detached (PEFT and the DoRA paper §4.3), so the B·A
  product has no backward.
Embedding lookups, LayerNorm, softmax, GELU, dropout and the optimizer are not
counted (they are not GEMMs).  model_gflops = model FLOPs of the step / time.
The frozen-linear-with-non-grad-input rule is a small refinement of "frozen
linear = 1x forward in backward" (about 2% of a LoRA step's FLOPs).

------------------------------------------------------------------------------
Output (one JSON line)
------------------------------------------------------------------------------
side, method, shape, threads, attn, ms_per_step (median of timed steps),
tokens_per_s (median over timed steps of real tokens / step time; real tokens =
sum of attention_mask), padded_tokens_per_s (same with B*T), model_gflops
(median over timed steps of model FLOPs / step time, in GFLOP/s), sgemm_gflops
(torch.mm 4096x768 @ 768x768 fp32, median of 10 runs after 2 warm-up runs,
measured after the steps in the same process; sgemm_gflops_max = best of the 10
is an extra key), flops_ratio (= model_gflops /
sgemm_gflops), peak_rss_mib (ru_maxrss in MiB, read BEFORE the sgemm
measurement), torch, transformers, peft (versions), plus extra keys documented
in tools/bench/README.md.
precision ("fp32" / "bf16"), bf16_gemm_gflops (--precision bf16 only, else
null: torch.mm of 4096x768 @ 768x768 bf16 tensors into a bf16 output, same
warm-up and median of 10 as the sgemm, measured right after it;
bf16_gemm_gflops_max = best of the 10), flops_ratio_bf16_gemm (= model_gflops /
bf16_gemm_gflops, null in fp32).  model_gflops counts the same FLOPs in both
precisions.
"""

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time

D, F, L, H, VOCAB, MAXPOS, NLABELS = 768, 3072, 6, 12, 30522, 512, 2
MASK64 = (1 << 64) - 1


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--method", choices=["lora", "dora", "full", "infer"], default="lora")
    p.add_argument("--shape", choices=["fixed", "mixed"], default="fixed")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--attn", choices=["eager", "sdpa"], default="eager",
                   help="transformers attention implementation (default eager; sdpa is "
                        "what users get by default)")
    p.add_argument("--dropout", type=float, default=0.05, help="LoRA/DoRA lora_dropout")
    p.add_argument("--rank", type=int, default=8)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--seed", type=int, default=1234, help="batch stream seed")
    p.add_argument("--weight-seed", type=int, default=0, help="torch.manual_seed for weights")
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                   help="bf16: torch.autocast(\"cpu\", dtype=torch.bfloat16) around forward + "
                        "loss, fp32 master weights and optimizer (default fp32)")
    a = p.parse_args(argv)
    if a.threads < 1 or a.steps < 1 or a.warmup < 0:
        p.error("need --threads >= 1, --steps >= 1, --warmup >= 0")
    return a


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK64

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)


def make_batches(shape, n, seed):
    """Returns a list of n (input_ids, attention_mask, labels) as Python lists."""
    rng = SplitMix64(seed)
    out = []
    for _ in range(n):
        if shape == "fixed":
            B = 16
            lens = [128] * B
        else:
            B = 32
            lens = [8 + rng.next() % 57 for _ in range(B)]
        T = max(lens)
        ids = [[0] * T for _ in range(B)]
        mask = [[0] * T for _ in range(B)]
        for b in range(B):
            for t in range(lens[b]):
                ids[b][t] = 1 + rng.next() % (VOCAB - 1)
                mask[b][t] = 1
        labels = [rng.next() % 2 for _ in range(B)]
        out.append((ids, mask, labels))
    return out


def gemm(m, k, n):
    return 2 * m * k * n


def model_flops(method, B, T, r=8):
    """GEMM FLOPs of one step (see module docstring)."""
    M = B * T
    attn_prod = 2 * B * T * T * D  # one of QK^T or PV, all heads
    train = method != "infer"
    adapters = method in ("lora", "dora")
    full = method == "full"
    fwd = bwd = 0
    for layer in range(L):
        # does the layer input require grad?
        x_rg = full or (adapters and layer > 0)
        # forward
        fwd += 4 * gemm(M, D, D) + gemm(M, D, F) + gemm(M, F, D) + 2 * attn_prod
        if adapters:
            fwd += 2 * (gemm(M, D, r) + gemm(M, r, D))
        if method == "dora":
            fwd += 2 * gemm(D, r, D)  # B·A for the (detached) weight norm
        if not train:
            continue
        # backward: q, k, v base linears
        q_rg = x_rg or adapters
        k_rg = x_rg
        v_rg = x_rg or adapters
        for _ in range(3):
            if x_rg:
                bwd += gemm(M, D, D)          # dX
            if full:
                bwd += gemm(M, D, D)          # dW
        if adapters:
            for _ in range(2):                # q and v adapters
                bwd += gemm(M, D, r)          # dA
                if x_rg:
                    bwd += gemm(M, D, r)      # dX through A
                bwd += 2 * gemm(M, r, D)      # dB and d(A x)
        # attention: S = Q K^T, O = P V
        if q_rg:
            bwd += attn_prod                  # dQ
        if k_rg:
            bwd += attn_prod                  # dK
        p_rg = q_rg or k_rg
        if p_rg:
            bwd += attn_prod                  # dP
        if v_rg:
            bwd += attn_prod                  # dV
        o_rg = p_rg or v_rg                   # attention output requires grad
        # out_lin, lin1, lin2: inputs require grad whenever anything below trains
        for k_, n_ in ((D, D), (D, F), (F, D)):
            if o_rg:
                bwd += gemm(M, k_, n_)
            if full:
                bwd += gemm(M, k_, n_)
    # head on the B [CLS] rows
    fwd += gemm(B, D, D) + gemm(B, D, NLABELS)
    if train:
        for k_, n_ in ((D, D), (D, NLABELS)):
            bwd += gemm(B, k_, n_)            # dX (input requires grad in all train methods)
            if full:
                bwd += gemm(B, k_, n_)        # dW
    return fwd + bwd


def autocast_region(torch, precision):
    """The region around forward + loss: autocast to bf16, or nothing for fp32."""
    import contextlib
    if precision == "bf16":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


class LinearOutputDtypes:
    """Forward hooks on every nn.Linear (base layers and adapters) that record the dtype of
    their outputs; check() asserts they are all `expected` and removes the hooks, so that only
    the first step carries them."""

    def __init__(self, torch, model):
        self.seen = {}
        self.handles = [m.register_forward_hook(self._hook(name))
                        for name, m in model.named_modules()
                        if isinstance(m, torch.nn.Linear)]

    def _hook(self, name):
        def hook(module, inputs, output):
            self.seen[name] = output.dtype
        return hook

    def check(self, expected):
        for h in self.handles:
            h.remove()
        wrong = [f"{n}: {d}" for n, d in self.seen.items() if d != expected]
        assert self.seen, "no nn.Linear ran in the first step"
        assert not wrong, (f"expected every nn.Linear output in {expected}, but {len(wrong)} of "
                           f"{len(self.seen)} are not, e.g. " + "; ".join(wrong[:3]))
        return len(self.seen)


def time_mm(torch, a, b, out, warmup=2, runs=10):
    """Seconds of each of `runs` torch.mm(a, b, out=out) after `warmup` untimed ones."""
    for _ in range(warmup):
        torch.mm(a, b, out=out)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        torch.mm(a, b, out=out)
        times.append(time.perf_counter() - t0)
    return times


def rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def main():
    a = parse_args()
    # Thread environment must be in place before torch (and its OpenMP/MKL) loads.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(a.threads)
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    import warnings
    warnings.filterwarnings("ignore", category=FutureWarning)
    import torch
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    import transformers
    import peft
    from transformers import DistilBertConfig, DistilBertForSequenceClassification
    from peft import LoraConfig, get_peft_model
    transformers.logging.set_verbosity_error()

    rss_import = rss_mib()

    torch.manual_seed(a.weight_seed)
    cfg = DistilBertConfig(
        vocab_size=VOCAB, dim=D, n_layers=L, n_heads=H, hidden_dim=F,
        max_position_embeddings=MAXPOS, dropout=0.1, attention_dropout=0.1,
        seq_classif_dropout=0.2, activation="gelu", sinusoidal_pos_embds=False,
        num_labels=NLABELS, pad_token_id=0,
    )
    model = DistilBertForSequenceClassification._from_config(
        cfg, attn_implementation=a.attn, torch_dtype=torch.float32)
    assert model.config._attn_implementation == a.attn, model.config._attn_implementation

    if a.method in ("lora", "dora", "infer"):
        lcfg = LoraConfig(r=a.rank, lora_alpha=16, lora_dropout=a.dropout,
                          target_modules=["q_lin", "v_lin"], use_dora=(a.method == "dora"))
        model = get_peft_model(model, lcfg)  # no task_type: only the adapters train
        if a.method == "infer":
            model = model.merge_and_unload()
    else:  # full
        for p in model.parameters():
            p.requires_grad_(True)

    trainable = [p for p in model.parameters() if p.requires_grad]
    n_trainable = sum(p.numel() for p in trainable)
    n_total = sum(p.numel() for p in model.parameters())

    n_batches = a.warmup + a.steps
    batches = []
    for ids, mask, labels in make_batches(a.shape, n_batches, a.seed):
        batches.append((torch.tensor(ids, dtype=torch.long),
                        torch.tensor(mask, dtype=torch.long),
                        torch.tensor(labels, dtype=torch.long)))

    if a.method == "infer":
        model.eval()
        opt = None

        def step(ids, mask, labels):
            with torch.inference_mode(), autocast_region(torch, a.precision):
                out = model(input_ids=ids, attention_mask=mask)
            return out.logits
    else:
        model.train()
        opt = torch.optim.AdamW(trainable, lr=a.lr)

        def step(ids, mask, labels):
            with autocast_region(torch, a.precision):  # forward and loss
                out = model(input_ids=ids, attention_mask=mask, labels=labels)
            out.loss.backward()  # outside the region, as torch.amp's docs recommend
            opt.step()
            opt.zero_grad(set_to_none=True)
            return out.loss

    rss_before = rss_mib()
    times, real_tok, pad_tok, flops = [], [], [], []
    linear_dtypes = LinearOutputDtypes(torch, model)  # first step only
    for i, (ids, mask, labels) in enumerate(batches):
        t0 = time.perf_counter()
        res = step(ids, mask, labels)
        dt = time.perf_counter() - t0
        if i == 0:
            n_linear_checked = linear_dtypes.check(
                torch.bfloat16 if a.precision == "bf16" else torch.float32)
        if i >= a.warmup:
            B, T = ids.shape
            times.append(dt)
            real_tok.append(int(mask.sum()))
            pad_tok.append(B * T)
            flops.append(model_flops(a.method, B, T, a.rank))
    final = float(res.detach().float().mean()) if a.method != "infer" else float(res.detach().float().abs().mean())
    peak = rss_mib()

    # sgemm reference in the same process (after the steps, after reading the peak RSS)
    ga = torch.randn(4096, D)
    gb = torch.randn(D, D)
    gt = time_mm(torch, ga, gb, torch.empty(4096, D))
    sgemm_gflops = gemm(4096, D, D) / statistics.median(gt) / 1e9
    # bf16 reference (--precision bf16 only): the same product on bf16 tensors, what the
    # autocast region's linears run
    bf16_gemm_gflops = bf16_gemm_gflops_max = None
    if a.precision == "bf16":
        bt = time_mm(torch, ga.bfloat16(), gb.bfloat16(),
                     torch.empty(4096, D, dtype=torch.bfloat16))
        bf16_gemm_gflops = round(gemm(4096, D, D) / statistics.median(bt) / 1e9, 2)
        bf16_gemm_gflops_max = round(gemm(4096, D, D) / min(bt) / 1e9, 2)

    med = statistics.median
    model_gflops = med([f / t for f, t in zip(flops, times)]) / 1e9
    rec = {
        "side": "pytorch",
        "method": a.method,
        "shape": a.shape,
        "threads": a.threads,
        "attn": a.attn,
        "ms_per_step": round(med(times) * 1e3, 3),
        "tokens_per_s": round(med([n / t for n, t in zip(real_tok, times)]), 1),
        "padded_tokens_per_s": round(med([n / t for n, t in zip(pad_tok, times)]), 1),
        "model_gflops": round(model_gflops, 2),
        "sgemm_gflops": round(sgemm_gflops, 2),
        "flops_ratio": round(model_gflops / sgemm_gflops, 4),
        "peak_rss_mib": round(peak, 1),
        "precision": a.precision,
        "bf16_gemm_gflops": bf16_gemm_gflops,
        "flops_ratio_bf16_gemm": None if bf16_gemm_gflops is None
        else round(model_gflops / bf16_gemm_gflops, 4),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        # extras
        "warmup": a.warmup,
        "steps": a.steps,
        "lora_dropout": a.dropout if a.method in ("lora", "dora") else None,
        "seed": a.seed,
        "step_ms": [round(t * 1e3, 2) for t in times],
        "real_tokens_per_step": round(statistics.mean(real_tok), 1),
        "padded_tokens_per_step": round(statistics.mean(pad_tok), 1),
        "model_gflop_per_step": round(statistics.mean(flops) / 1e9, 3),
        "trainable_params": n_trainable if a.method != "infer" else 0,
        "total_params": n_total,
        "sgemm_gflops_max": round(gemm(4096, D, D) / min(gt) / 1e9, 2),
        "bf16_gemm_gflops_max": bf16_gemm_gflops_max,
        "linear_outputs_checked": n_linear_checked,
        "rss_after_import_mib": round(rss_import, 1),
        "rss_before_steps_mib": round(rss_before, 1),
        "peak_rss_minus_import_mib": round(peak - rss_import, 1),
        "torch_num_threads": torch.get_num_threads(),
        "final_loss" if a.method != "infer" else "final_mean_abs_logit": round(final, 6),
        "python": platform.python_version(),
    }
    print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()
