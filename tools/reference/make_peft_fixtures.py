"""Reference fixtures for LoRA / rsLoRA / DoRA, computed by Hugging Face PEFT.

Needs the tiny models from make_model_fixtures.py (run that first). Writes, relative to the repo root:

  tests/fixtures/peft/<model>_<case>.safetensors     model in {distilbert, bert},
                                                     case in {lora_qv, lora_all, rslora_qv, dora_qv, dora_all}
  tests/fixtures/peft/layer_cases.safetensors         single nn.Linear(13 -> 7) wrapped by PEFT
  tests/fixtures/peft/saved-adapter-distilbert/       PeftModel.save_pretrained output (DoRA q,v + classifier)

Adapter tensors are named like PEFT's saved adapter files: the PEFT parameter name without the
leading "base_model.model." and without the adapter name ".default"; the DoRA magnitude is
"...lora_magnitude_vector" (PEFT's own parameter is "...lora_magnitude_vector.default.weight").

Run from the repo root:  . .venv/bin/activate && python tools/reference/make_peft_fixtures.py
"""

import copy
import json
import math
import warnings

import fixture_common as fc  # sets HF_HUB_OFFLINE before transformers is imported

import numpy as np
import torch
from peft import LoraConfig, PeftModel, get_peft_model, get_peft_model_state_dict
from peft.tuners.lora import LoraLayer
from safetensors.torch import load_file
from torch import nn
from transformers import AutoModelForSequenceClassification

SCRIPT = "make_peft_fixtures.py"
OUT = fc.FIXTURES / "peft"

R, ALPHA = 4, 8  # whole-model cases
LAYER_R, LAYER_ALPHA = 3, 6  # layer cases

MODELS = {
    "distilbert": {
        "folder": "tiny-distilbert",
        "qv": ["q_lin", "v_lin"],
        "all": ["q_lin", "k_lin", "v_lin", "out_lin", "lin1", "lin2"],
    },
    "bert": {
        "folder": "tiny-bert",
        "qv": ["query", "value"],
        # PEFT matches a list entry against the end of a module name at a "." boundary, so
        # "output.dense" also matches "attention.output.dense"; bert.pooler.dense matches nothing.
        "all": ["query", "key", "value", "attention.output.dense", "intermediate.dense", "output.dense"],
    },
}

# case name -> (which target list, use_rslora, use_dora)
CASES = {
    "lora_qv": ("qv", False, False),
    "lora_all": ("all", False, False),
    "rslora_qv": ("qv", True, False),
    "dora_qv": ("qv", False, True),
    "dora_all": ("all", False, True),
}


# ----------------------------------------------------------------------------------------------
# helpers


def fixture_name(peft_param_name):
    """PEFT parameter name -> the name used in fixtures (and in PEFT's adapter_model.safetensors)."""
    name = peft_param_name.removeprefix("base_model.model.").replace(".default", "")
    return name.removesuffix(".weight") if name.endswith("lora_magnitude_vector.weight") else name


def load_base(model_key):
    folder = fc.FIXTURES / MODELS[model_key]["folder"]
    return AutoModelForSequenceClassification.from_pretrained(folder, attn_implementation="eager")


def randomize_adapter(peft_model, seed, ab_std):
    """Overwrite lora_A and lora_B (PEFT starts B at 0) with N(0, ab_std^2) values, and multiply
    every DoRA magnitude by (1 + 0.1 N(0,1)), so the magnitudes are no longer ||W + s B A||_row.

    (PEFT computed each magnitude once, at init, from the B = 0 weights, i.e. m = ||W||_row;
    overwriting A and B does not recompute it.)
    """
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in peft_model.named_parameters():  # fixed module order -> deterministic
            if ".lora_A." in name or ".lora_B." in name:
                p.copy_(ab_std * torch.randn(p.shape, generator=gen))
            elif ".lora_magnitude_vector." in name:
                p.mul_(1.0 + 0.1 * torch.randn(p.shape, generator=gen))


def wrapped_module_names(peft_model):
    return [n.removeprefix("base_model.model.") for n, m in peft_model.named_modules() if isinstance(m, LoraLayer)]


def the_scaling(peft_model):
    """The scaling PEFT uses (alpha/r, or alpha/sqrt(r) with rsLoRA); the same for every layer."""
    values = {m.scaling["default"] for m in peft_model.modules() if isinstance(m, LoraLayer)}
    assert len(values) == 1, values
    return values.pop()


def adapter_tensors(peft_model):
    """param.<name> and grad.<name> for every trainable (adapter) tensor."""
    out = {}
    for name, p in peft_model.named_parameters():
        if p.requires_grad:
            assert p.grad is not None, name
            out[f"param.{fixture_name(name)}"] = p
            out[f"grad.{fixture_name(name)}"] = p.grad
    # The names must be exactly the keys PEFT writes when it saves this adapter.
    saved = {k.removeprefix("base_model.model.") for k in get_peft_model_state_dict(peft_model)}
    assert saved == {k.removeprefix("param.") for k in out if k.startswith("param.")}, saved
    return out


# ----------------------------------------------------------------------------------------------
# whole-model cases


def model_case(model_key, case, seed):
    targets_key, use_rslora, use_dora = CASES[case]
    targets = MODELS[model_key][targets_key]
    config = LoraConfig(
        r=R, lora_alpha=ALPHA, lora_dropout=0.0, target_modules=targets,
        use_rslora=use_rslora, use_dora=use_dora, init_lora_weights=True,
    )  # no task_type: nothing is added to modules_to_save, the head stays frozen
    peft_model = get_peft_model(load_base(model_key), config)
    randomize_adapter(peft_model, seed, ab_std=0.2)

    batch = fc.make_batch(with_token_types=(model_key == "bert"))
    peft_model.eval()  # dropout off (lora_dropout is 0 anyway); gradients stay on
    out = peft_model(**fc.model_inputs(batch), labels=batch["labels"])
    out.loss.backward()

    # Merging folds the adapter into the base weights; the merged model must give the same logits.
    merged = copy.deepcopy(peft_model).merge_and_unload()
    merged.eval()
    with torch.no_grad():
        merged_logits = merged(**fc.model_inputs(batch)).logits
    assert torch.allclose(merged_logits, out.logits, atol=1e-5), (merged_logits - out.logits).abs().max()

    # The adapter must visibly change the model, or the fixture would test nothing.
    base_logits = load_file(fc.FIXTURES / MODELS[model_key]["folder"] / "reference.safetensors")["logits"]
    change = (out.logits - base_logits).abs().max().item()
    assert change > 0.05, change

    tensors = dict(batch)
    tensors["logits"] = out.logits
    tensors["loss"] = out.loss  # shape [] (0-dim scalar)
    tensors["merged_logits"] = merged_logits
    tensors.update(adapter_tensors(peft_model))
    meta = fc.fixture_metadata(
        SCRIPT,
        model=model_key,
        case=case,
        base_model=f"tests/fixtures/{MODELS[model_key]['folder']}",
        r=R,
        lora_alpha=ALPHA,
        lora_dropout=0.0,
        use_rslora=use_rslora,
        use_dora=use_dora,
        target_modules=json.dumps(targets),
        wrapped_modules=json.dumps(wrapped_module_names(peft_model)),
        scaling=repr(the_scaling(peft_model)),
        loss_shape="[] (0-dim scalar, CrossEntropyLoss mean over the batch)",
        mode="eval(): dropout off, gradients on; only adapter tensors are trainable",
    )
    fc.write_fixture(OUT / f"{model_key}_{case}.safetensors", tensors, meta)
    print(f"    logits change vs. base model: {change:.3f}")


# ----------------------------------------------------------------------------------------------
# layer cases: one nn.Linear(13 -> 7) wrapped by PEFT


class Holder(nn.Module):
    """PEFT wraps sub-modules by name, so the Linear lives in a one-module container."""

    def __init__(self, lin):
        super().__init__()
        self.lin = lin

    def forward(self, x):
        return self.lin(x)


class FixedMask(nn.Module):
    """Stands in for nn.Dropout: multiplies by a stored mask already scaled by 1/(1-p)."""

    def __init__(self, mask):
        super().__init__()
        self.register_buffer("mask", mask)

    def forward(self, x):
        return x * self.mask


# case -> (bias, use_dora, lora_dropout)
LAYER_CASES = {
    "lora_bias": (True, False, 0.0),
    "lora_nobias": (False, False, 0.0),
    "dora_bias": (True, True, 0.0),
    "dora_nobias": (False, True, 0.0),
    "dora_dropout_bias": (True, True, 0.3),
    "lora_dropout_bias": (True, False, 0.3),
}


# The dropout mask of the layer cases is adaptgrad's own (core/rng.h, core/ops_util.h), so that
# the test runs the real layer: after ag::manual_seed(DROPOUT_GENERATOR_SEED) the layer's first
# next_seed() is splitmix64(splitmix64(7)), and element i is kept iff
# (splitmix64(seed ^ splitmix64(i)) >> 40) >= ceil(p * 2^24); kept values are scaled by the
# float32 1 / (1 - p).
DROPOUT_GENERATOR_SEED = 7
U64 = (1 << 64) - 1


def splitmix64(z):
    z = (z + 0x9E3779B97F4A7C15) & U64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & U64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & U64
    return z ^ (z >> 31)


def adaptgrad_dropout_mask(shape, p_drop):
    seed = splitmix64(splitmix64(DROPOUT_GENERATOR_SEED))
    p32 = float(np.float32(p_drop))
    threshold = math.ceil(p32 * 16777216.0)
    n = math.prod(shape)
    keep = [(splitmix64(seed ^ splitmix64(i)) >> 40) >= threshold for i in range(n)]
    factor = np.float32(1.0) / (np.float32(1.0) - np.float32(p_drop))
    return torch.tensor(keep, dtype=torch.float32).reshape(shape) * torch.tensor(factor)


def manual_forward(x, xd, W, b, A, B, m, s, dora):
    """The same layer written out by hand (documents the formula PEFT implements).

    x: input; xd: input after dropout (xd is x when there is no dropout).
    LoRA: y = x W^T + b + s (xd A^T) B^T
    DoRA: n = ||W + s B A||_row (detached);  y = x W^T + b + (m/n - 1) (xd W^T) + (m/n) s (xd A^T) B^T
          which for xd = x is (m/n) (x W^T + s (x A^T) B^T) + b.
    """
    y = x @ W.T + (b if b is not None else 0.0)
    lora = s * (xd @ A.T) @ B.T
    if not dora:
        return y + lora
    n = torch.linalg.norm(W + s * B @ A, dim=1).detach()
    return y + (m / n - 1.0) * (xd @ W.T) + (m / n) * lora


def layer_case(case, seed):
    has_bias, use_dora, p_drop = LAYER_CASES[case]
    torch.manual_seed(seed)
    lin = nn.Linear(13, 7, bias=has_bias)  # PyTorch default init (Kaiming-uniform weight and bias)
    config = LoraConfig(
        r=LAYER_R, lora_alpha=LAYER_ALPHA, lora_dropout=p_drop, target_modules=["lin"],
        use_dora=use_dora, init_lora_weights=True,
    )
    model = get_peft_model(Holder(lin), config)
    randomize_adapter(model, seed + 1, ab_std=0.3)
    layer = model.base_model.model.lin  # the peft.tuners.lora.Linear wrapper
    s = layer.scaling["default"]

    gen = torch.Generator().manual_seed(seed + 2)
    x = torch.randn(5, 13, generator=gen).requires_grad_(True)
    g = torch.randn(5, 7, generator=gen)
    mask = None
    if p_drop > 0:
        mask = adaptgrad_dropout_mask((5, 13), p_drop)
        layer.lora_dropout["default"] = FixedMask(mask)
        model.train()  # PEFT only applies lora_dropout in training mode
    else:
        model.eval()

    y = model(x)
    (y * g).sum().backward()

    W, b = layer.base_layer.weight, layer.base_layer.bias
    A, B = layer.lora_A["default"].weight, layer.lora_B["default"].weight
    m = layer.lora_magnitude_vector["default"].weight if use_dora else None

    # Cross-check PEFT against the hand-written formula, values and gradients.
    x2, A2, B2 = (t.detach().clone().requires_grad_(True) for t in (x, A, B))
    m2 = m.detach().clone().requires_grad_(True) if use_dora else None
    y2 = manual_forward(x2, x2 * mask if mask is not None else x2, W.detach(),
                        b.detach() if b is not None else None, A2, B2, m2, s, use_dora)
    (y2 * g).sum().backward()
    assert torch.allclose(y, y2, atol=1e-5)
    for t, t2 in [(x, x2), (A, A2), (B, B2)] + ([(m, m2)] if use_dora else []):
        assert torch.allclose(t.grad, t2.grad, atol=1e-5)

    p = f"{case}."
    out = {p + "weight": W, p + "lora_A": A, p + "lora_B": B, p + "x": x, p + "g": g, p + "y": y,
           p + "grad_x": x.grad, p + "grad_lora_A": A.grad, p + "grad_lora_B": B.grad}
    if has_bias:
        out[p + "bias"] = b
    if use_dora:
        out[p + "magnitude"] = m
        out[p + "grad_magnitude"] = m.grad
        out[p + "weight_norm"] = torch.linalg.norm(W + s * B @ A, dim=1)  # n, for debugging
    if mask is not None:
        out[p + "dropout_mask"] = mask
    return out, s


def layer_cases():
    tensors, meta = {}, {}
    for i, case in enumerate(LAYER_CASES):
        t, s = layer_case(case, seed=500 + 10 * i)
        tensors.update(t)
        meta[f"{case}.scaling"] = repr(s)
        meta[f"{case}.lora_dropout"] = repr(LAYER_CASES[case][2])
    metadata = fc.fixture_metadata(
        SCRIPT,
        r=LAYER_R,
        lora_alpha=LAYER_ALPHA,
        cases=json.dumps(list(LAYER_CASES)),
        loss="L = sum(y * g); grad_* are dL/d*",
        mode="eval() for cases without dropout; train() with the stored dropout_mask for *_dropout_*",
        dropout_mask=f"adaptgrad's counter-based mask after manual_seed({DROPOUT_GENERATOR_SEED})",
        **meta,
    )
    fc.write_fixture(OUT / "layer_cases.safetensors", tensors, metadata)


# ----------------------------------------------------------------------------------------------
# a PEFT-saved adapter (DoRA on q_lin, v_lin + trained classifier) for the C++ loader


def saved_adapter(seed):
    folder = OUT / "saved-adapter-distilbert"
    config = LoraConfig(
        task_type="SEQ_CLS",  # makes PEFT add the classification head ("classifier") to modules_to_save
        r=R, lora_alpha=ALPHA, lora_dropout=0.0, target_modules=MODELS["distilbert"]["qv"],
        use_dora=True, init_lora_weights=True,
    )
    model = get_peft_model(load_base("distilbert"), config)
    randomize_adapter(model, seed, ab_std=0.2)
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():  # the trainable copy of the head, as if it had been trained
        for name, p in model.named_parameters():
            if ".modules_to_save.default." in name:
                p.add_(0.2 * torch.randn(p.shape, generator=gen))
    model.peft_config["default"].base_model_name_or_path = "tiny-distilbert"
    # PEFT keeps target_modules as a set and writes it in hash order; sort it so that
    # adapter_config.json is identical from run to run.
    model.peft_config["default"].target_modules = sorted(model.peft_config["default"].target_modules)
    model.save_pretrained(folder, save_embedding_layers=False)
    (folder / "README.md").unlink(missing_ok=True)  # PEFT's model-card template; not needed

    batch = fc.make_batch(with_token_types=False)
    model.eval()
    with torch.no_grad():
        out = model(**fc.model_inputs(batch), labels=batch["labels"])
        # Loading the saved adapter onto a fresh base model must reproduce the logits.
        reloaded = PeftModel.from_pretrained(load_base("distilbert"), folder)
        reloaded.eval()
        again = reloaded(**fc.model_inputs(batch)).logits
    assert torch.allclose(again, out.logits, atol=1e-6)

    tensors = dict(batch)
    tensors["logits"] = out.logits
    tensors["loss"] = out.loss  # shape [] (0-dim scalar)
    meta = fc.fixture_metadata(
        SCRIPT,
        base_model="tests/fixtures/tiny-distilbert",
        adapter="tests/fixtures/peft/saved-adapter-distilbert (adapter_config.json + adapter_model.safetensors)",
        scaling=repr(the_scaling(model)),
        loss_shape="[] (0-dim scalar, CrossEntropyLoss mean over the batch)",
        mode="eval()",
    )
    fc.write_fixture(folder / "reference.safetensors", tensors, meta)


def main():
    fc.setup_torch()
    warnings.filterwarnings("ignore", category=FutureWarning)
    seed = 1000
    for model_key in MODELS:
        for case in CASES:
            model_case(model_key, case, seed)
            seed += 1
    layer_cases()
    saved_adapter(seed=2000)


if __name__ == "__main__":
    main()
