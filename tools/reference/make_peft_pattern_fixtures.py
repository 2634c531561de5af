"""PEFT adapters with rank_pattern and alpha_pattern (per-module r and alpha), saved by PEFT.

Needs the tiny models from make_model_fixtures.py. Writes, relative to the repo root:

  tests/fixtures/peft/patterns-<model>/adapter_config.json, adapter_model.safetensors
      PeftModel.save_pretrained output
  tests/fixtures/peft/patterns-<model>/reference.safetensors
      the fixture batch, PEFT's logits, and merged.<name>.weight: every adapted layer's weight
      after merge_and_unload

PEFT picks a module's r and alpha with get_pattern_key: the first key (in the dict's order) for
which re.match(rf"(.*\\.)?({key})$", module_name) succeeds. The keys below match by suffix at a
"." boundary ("value"), by regex ("layer\\.0\\.attention\\.self\\.(query|key)"), match nothing
("uery": no "." boundary), and two keys match the same module, where the first one wins
("layer.1.attention.self.value" before "value"). PEFT writes adapter_config.json with sorted keys
and reads it back in file order, so the keys are given here in sorted order: the model saved and
the model reloaded then agree.

Run from the repo root:  . .venv/bin/activate && python tools/reference/make_peft_pattern_fixtures.py
"""

import copy
import json
import warnings

import fixture_common as fc  # sets HF_HUB_OFFLINE before transformers is imported

import torch
from make_peft_fixtures import load_base, randomize_adapter, wrapped_module_names
from peft import LoraConfig, PeftModel, get_peft_model
from peft.tuners.lora import LoraLayer

SCRIPT = "make_peft_pattern_fixtures.py"
OUT = fc.FIXTURES / "peft"

CASES = {
    "bert": dict(
        r=4, lora_alpha=8, use_rslora=False, use_dora=False,
        target_modules=["query", "key", "value", "attention.output.dense"],
        rank_pattern={
            "layer.1.attention.self.value": 6,  # before "value", which also matches
            r"layer\.0\.attention\.self\.(query|key)": 3,
            "value": 2,
        },
        alpha_pattern={
            r"layer\.[01]\.attention\.output\.dense": 2,
            "uery": 100,  # no "." boundary: matches nothing
            "value": 64,
        },
    ),
    "distilbert": dict(
        r=4, lora_alpha=8, use_rslora=True, use_dora=True,
        target_modules=["q_lin", "v_lin", "lin1"],
        rank_pattern={"q_lin": 2, r"transformer\.layer\.1\.ffn\.lin1": 6},
        alpha_pattern={"lin1": 3.5, "transformer.layer.1.attention.v_lin": 32},
    ),
}


def layer_settings(peft_model):
    """{module name: (r, alpha, scaling)} as PEFT built each adapted layer."""
    out = {}
    for name, m in peft_model.named_modules():
        if isinstance(m, LoraLayer):
            out[name.removeprefix("base_model.model.")] = (
                m.r["default"], m.lora_alpha["default"], m.scaling["default"])
    return out


def pattern_case(model_key, seed):
    settings = CASES[model_key]
    folder = OUT / f"patterns-{model_key}"
    config = LoraConfig(task_type="SEQ_CLS", lora_dropout=0.05, init_lora_weights=True, **settings)
    model = get_peft_model(load_base(model_key), config)
    randomize_adapter(model, seed, ab_std=0.2)
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():  # the head as if it had been trained
        for name, p in model.named_parameters():
            if ".modules_to_save.default." in name:
                p.add_(0.2 * torch.randn(p.shape, generator=gen))
    layers = layer_settings(model)
    ranks = {r for r, _, _ in layers.values()}
    assert len(ranks) >= 3, layers  # the patterns really give different ranks

    model.peft_config["default"].base_model_name_or_path = f"tiny-{model_key}"
    model.peft_config["default"].target_modules = sorted(model.peft_config["default"].target_modules)
    model.save_pretrained(folder, save_embedding_layers=False)
    (folder / "README.md").unlink(missing_ok=True)
    saved = json.loads((folder / "adapter_config.json").read_text())
    for key in ("rank_pattern", "alpha_pattern"):
        assert list(saved[key]) == list(settings[key]), f"{key}: give the keys in sorted order"

    batch = fc.make_batch(with_token_types=(model_key == "bert"))
    model.eval()
    with torch.no_grad():
        logits = model(**fc.model_inputs(batch)).logits
        reloaded = PeftModel.from_pretrained(load_base(model_key), folder)
        reloaded.eval()
        assert torch.allclose(reloaded(**fc.model_inputs(batch)).logits, logits, atol=1e-6)
        # Without alpha_pattern the logits must differ clearly, or the fixture tests nothing.
        plain = copy.deepcopy(model)
        for name, m in plain.named_modules():
            if isinstance(m, LoraLayer):
                r = m.r["default"]
                m.scaling["default"] = settings["lora_alpha"] / (r**0.5 if settings["use_rslora"] else r)
        change = (plain(**fc.model_inputs(batch)).logits - logits).abs().max().item()
        assert change > 0.05, change
        merged = copy.deepcopy(model).merge_and_unload()
        merged.eval()
        merged_logits = merged(**fc.model_inputs(batch)).logits
        assert torch.allclose(merged_logits, logits, atol=1e-5)
        merged_weights = dict(merged.named_parameters())

    tensors = dict(batch)
    tensors["logits"] = logits
    for name in layers:
        tensors[f"merged.{name}.weight"] = merged_weights[f"{name}.weight"]
    meta = fc.fixture_metadata(
        SCRIPT,
        base_model=f"tests/fixtures/tiny-{model_key}",
        adapter=f"tests/fixtures/peft/patterns-{model_key} (adapter_config.json + adapter_model.safetensors)",
        wrapped_modules=json.dumps(wrapped_module_names(model)),
        layer_r_alpha_scaling=json.dumps(layers),
        logits_change_without_alpha_pattern=f"{change:.3f}",
        mode="eval()",
    )
    fc.write_fixture(folder / "reference.safetensors", tensors, meta)
    print(f"    {model_key}: logits change without alpha_pattern: {change:.3f}")


def main():
    fc.setup_torch()
    warnings.filterwarnings("ignore", category=FutureWarning)
    pattern_case("bert", seed=3000)
    pattern_case("distilbert", seed=3100)


if __name__ == "__main__":
    main()
